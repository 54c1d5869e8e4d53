/** The input of createSupplier. */
import "reflect-metadata";
import { Field, InputType, Int } from "type-graphql";

@InputType()
export class CreateSupplierInput {
  @Field(() => String, { description: "Trimmed, 1 to 200 characters, unique ignoring case." })
  name!: string;

  @Field(() => Int, { nullable: true, description: "0 to 365; null: not known." })
  leadTimeDays?: number | null;
}

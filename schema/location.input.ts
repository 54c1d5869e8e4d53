/** The input of createLocation. */
import "reflect-metadata";
import { Field, InputType, Int } from "type-graphql";

@InputType()
export class CreateLocationInput {
  @Field(() => String, { description: "Unique short code, at most 64 characters." })
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true, description: "Allocation order: lower first. Default 0." })
  priority?: number | null;
}

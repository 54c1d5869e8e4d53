/** The input of scheduleRestock. */
import "reflect-metadata";
import { Field, ID, InputType, Int } from "type-graphql";
import { DateTimeScalar } from "./scalars.js";

@InputType()
export class ScheduleRestockInput {
  @Field(() => ID)
  productId!: string;

  @Field(() => ID, { nullable: true, description: "Default: the default location." })
  locationId?: string | null;

  @Field(() => Int)
  quantity!: number;

  @Field(() => DateTimeScalar)
  expectedAt!: Date;

  @Field(() => String, { nullable: true })
  reference?: string | null;
}

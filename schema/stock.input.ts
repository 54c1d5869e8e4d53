/** The input of adjustStock. */
import "reflect-metadata";
import { Field, ID, InputType, Int } from "type-graphql";

@InputType({ description: "A stock count correction at one location." })
export class AdjustStockInput {
  @Field(() => ID)
  productId!: string;

  @Field(() => ID, { nullable: true, description: "Default: the default location." })
  locationId?: string | null;

  @Field(() => Int, { description: "Change of onHand: positive for units found, negative for units lost." })
  delta!: number;

  @Field(() => String, { description: "Why, at most 500 characters." })
  reason!: string;

  @Field(() => Int, { nullable: true, description: "Also sets the location's safety stock." })
  safetyStock?: number | null;
}

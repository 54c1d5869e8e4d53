/** The input of placeOrder. */
import "reflect-metadata";
import { Field, ID, InputType, Int } from "type-graphql";

@InputType({ description: "One product of an order: by productId or by sku." })
export class PlaceOrderLineInput {
  @Field(() => ID, { nullable: true })
  productId?: string | null;

  @Field(() => String, { nullable: true })
  sku?: string | null;

  @Field(() => Int)
  quantity!: number;
}

@InputType()
export class PlaceOrderInput {
  @Field(() => String, { description: "The customer's identifier, at most 200 characters." })
  customer!: string;

  @Field(() => [PlaceOrderLineInput], { description: "1 to 100 lines." })
  lines!: PlaceOrderLineInput[];

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: "true: a DENY line is cut to what is available (its error still reported); false: any line error rejects the order.",
  })
  allowPartial?: boolean | null;

  @Field(() => String, { nullable: true, description: "Retrying with the same key and input returns the first result." })
  idempotencyKey?: string | null;
}

/** The inputs of createProduct and updateProduct. */
import "reflect-metadata";
import { Field, ID, InputType, Int } from "type-graphql";
import { BackorderPolicy, Fulfillment } from "./enums.js";
import { DecimalScalar } from "./scalars.js";

@InputType()
export class CreateProductInput {
  @Field(() => String, { description: "Unique, at most 64 characters." })
  sku!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DecimalScalar, { description: 'Unit price, e.g. "19.99".' })
  price!: string;

  @Field(() => String, { nullable: true, description: "ISO-4217 code; default USD." })
  currencyCode?: string | null;

  @Field(() => BackorderPolicy, { nullable: true, defaultValue: BackorderPolicy.DENY })
  backorderPolicy?: BackorderPolicy | null;

  @Field(() => Int, { nullable: true, description: "null: no limit." })
  backorderLimit?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 1 })
  minOrderQuantity?: number | null;

  @Field(() => Int, { nullable: true })
  maxOrderQuantity?: number | null;

  @Field(() => Int, { nullable: true })
  leadTimeDays?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "Units whose expected date is further away than this many days are refused with WAIT_TOO_LONG; null: no cap.",
  })
  maxWaitDays?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "Waiting units this many days past their promise (past their placement when no date was promised) are cancelled and refunded by the expiry sweep, unless the customer chose keepWaiting; 1 to 3650, null: never.",
  })
  autoCancelAfterDays?: number | null;

  @Field(() => ID, { nullable: true, description: "A Supplier's id: its restocks record it, its history widens the dates (expectedAtLate)." })
  supplierId?: string | null;

  @Field(() => Fulfillment, {
    nullable: true,
    description: "STOCKED (the default) or DROPSHIP: shipped by its supplier (supplierId required), no stock of ours (initialStock must be 0).",
  })
  fulfillment?: Fulfillment | null;

  @Field(() => Int, { nullable: true, defaultValue: 0, description: "Units on hand at the default location." })
  initialStock?: number | null;
}

@InputType({ description: "Only the fields given change; null clears an optional limit." })
export class UpdateProductInput {
  @Field(() => String, { nullable: true })
  sku?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  price?: string | null;

  @Field(() => String, { nullable: true })
  currencyCode?: string | null;

  @Field(() => BackorderPolicy, { nullable: true })
  backorderPolicy?: BackorderPolicy | null;

  @Field(() => Int, { nullable: true })
  backorderLimit?: number | null;

  @Field(() => Int, { nullable: true })
  minOrderQuantity?: number | null;

  @Field(() => Int, { nullable: true })
  maxOrderQuantity?: number | null;

  @Field(() => Int, { nullable: true })
  leadTimeDays?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "Units whose expected date is further away than this many days are refused with WAIT_TOO_LONG; null: no cap.",
  })
  maxWaitDays?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "Waiting units this many days past their promise (past their placement when no date was promised) are cancelled and refunded by the expiry sweep, unless the customer chose keepWaiting; 1 to 3650, null: never.",
  })
  autoCancelAfterDays?: number | null;

  @Field(() => ID, { nullable: true, description: "A Supplier's id; null: no supplier." })
  supplierId?: string | null;

  @Field(() => Fulfillment, {
    nullable: true,
    description: "DROPSHIP needs a supplier and is refused (INVALID_STATE) while the product has stock, waiting units or open restocks.",
  })
  fulfillment?: Fulfillment | null;
}

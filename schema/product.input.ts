/** The inputs of createProduct and updateProduct. */
import "reflect-metadata";
import { Field, InputType, Int } from "type-graphql";
import { BackorderPolicy } from "./enums.js";
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
}

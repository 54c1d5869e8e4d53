/** An amount of money in a currency. */
import "reflect-metadata";
import { Field, ObjectType } from "type-graphql";
import { DecimalScalar } from "./scalars.js";

@ObjectType()
export class Money {
  @Field(() => DecimalScalar)
  amount!: string;

  @Field(() => String, { description: "ISO-4217 code, e.g. USD." })
  currencyCode!: string;
}

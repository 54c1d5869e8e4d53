/** The replenishment plan: per product, what to order now and by when (docs/ARCHITECTURE.md, "Replenishment plan"). */
import "reflect-metadata";
import { Field, Float, Int, ObjectType } from "type-graphql";
import { connectionOf } from "./connection.js";
import { Product } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

@ObjectType({ description: "One product's line of the replenishment plan." })
export class ReplenishmentLine {
  @Field(() => Product)
  product!: Product;

  @Field(() => Float, {
    description: "Units ordered per day over the window: accepted units of the orders placed in it plus the units refused (lost demand).",
  })
  dailyDemand!: number;

  @Field(() => Int, { description: "Backordered + safety stock - unreserved units on hand - incoming, not below 0." })
  uncoveredUnits!: number;

  @Field(() => Int, {
    description:
      "To order now: the uncovered units plus the demand over the lead time, not below 0, rounded up to a multiple of minOrderQuantity (the pack size).",
  })
  suggestedQuantity!: number;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "The earliest promise (else expected date) among the waiting backorders the supply does not cover; null when none is.",
  })
  neededBy!: Date | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "The backlog supply can serve within maxWaitDays (14 days when unset): restocks expected by then, plus suggestedQuantity when the lead time fits, less the safety stock they refill first. Null when the product denies backorders.",
  })
  suggestedBackorderLimit!: number | null;
}

export const ReplenishmentConnection = connectionOf(ReplenishmentLine, "Replenishment");
export type ReplenishmentConnection = InstanceType<typeof ReplenishmentConnection>;

/** Refunds (docs/ARCHITECTURE.md, "Refunds"): what a cancellation owes the customer, and whether it was paid back. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import {
  enumOf,
  REFUND_REASONS,
  REFUND_STATUSES,
  type RefundReason as RefundReasonValue,
  type RefundStatus as RefundStatusValue,
} from "../drizzle/contract.js";
import { connectionOf, CountPrecision } from "./connection.js";
import { UserError } from "./errors.js";
import { Money } from "./money.type.js";
import { Node } from "./node.js";
import { Order, OrderLine } from "./order.type.js";
import { DateTimeScalar } from "./scalars.js";

export const RefundReason = enumOf(REFUND_REASONS);
export type RefundReason = RefundReasonValue;
export const RefundStatus = enumOf(REFUND_STATUSES);
export type RefundStatus = RefundStatusValue;

registerEnumType(RefundReason, {
  name: "RefundReason",
  description: "Why units were cancelled, and so paid back.",
  valuesConfig: {
    CANCELLED: { description: "cancelOrder or cancelOrderLine." },
    EXPIRED: { description: "A backorder waited past the product's autoCancelAfterDays." },
    SUPPLIER_REJECTED: { description: "The supplier rejected a dropship line." },
  },
});
registerEnumType(RefundStatus, {
  name: "RefundStatus",
  valuesConfig: {
    PENDING: { description: "Owed: the shop's payment system has not confirmed it yet." },
    REFUNDED: { description: "Paid back: markRefunded recorded the payment system's reference." },
  },
});

@ObjectType({ description: "Units of one order line paid back, at the line's unit price." })
export class RefundLine {
  @Field(() => OrderLine)
  orderLine!: OrderLine;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Money, { description: "quantity × the line's unit price, exact." })
  amount!: Money;
}

@ObjectType({ implements: Node, description: "What one cancellation owes the customer: written with the cancellation, in the same transaction." })
export class Refund implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Order)
  order!: Order;

  @Field(() => Money, { description: "The sum of its lines, in the order's currency." })
  amount!: Money;

  @Field(() => RefundReason)
  reason!: RefundReason;

  @Field(() => RefundStatus)
  status!: RefundStatus;

  @Field(() => [RefundLine])
  lines!: RefundLine[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "When markRefunded recorded the payment." })
  refundedAt!: Date | null;

  @Field(() => String, { nullable: true, description: "The payment system's reference for the payment, set by markRefunded." })
  reference!: string | null;
}

@ObjectType()
export class RefundPayload {
  @Field(() => Refund, { nullable: true })
  refund!: Refund | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

export const RefundConnection = connectionOf(Refund, "Refund");
export type RefundConnection = InstanceType<typeof RefundConnection>;

@ObjectType({ description: "Pending refunds of one currency." })
export class RefundDueTotal {
  @Field(() => Money, { description: "What they add up to, exact." })
  amount!: Money;

  @Field(() => Int)
  count!: number;
}

@ObjectType({
  description:
    "What the shop still owes its customers: the PENDING refunds, per currency. Counted over the oldest 10,000 pending refunds at most (countPrecision AT_LEAST past that).",
})
export class RefundsDue {
  @Field(() => [RefundDueTotal], { description: "One per currency, by currency code; empty when nothing is pending." })
  totals!: RefundDueTotal[];

  @Field(() => Int, { description: "Pending refunds; when countPrecision is AT_LEAST, the oldest ones counted before counting stopped." })
  count!: number;

  @Field(() => CountPrecision, { description: "EXACT, or AT_LEAST when more refunds are pending than count (and totals) cover." })
  countPrecision!: CountPrecision;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the oldest pending refund was written; null when nothing is pending." })
  oldestPendingAt!: Date | null;
}

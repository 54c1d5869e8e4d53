/** A backorder: the units of an order line waiting in its product's queue. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { connectionOf } from "./connection.js";
import { BackorderStatus, EtaSource } from "./enums.js";
import { Node } from "./node.js";
import { Order, OrderLine } from "./order.type.js";
import { Product } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

@ObjectType({ implements: Node })
export class Backorder implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Product)
  product!: Product;

  @Field(() => Order)
  order!: Order;

  @Field(() => OrderLine)
  orderLine!: OrderLine;

  @Field(() => Int, { description: "Units that went to the backlog." })
  quantity!: number;

  @Field(() => Int, { description: "Units still waiting." })
  remaining!: number;

  @Field(() => BackorderStatus)
  status!: BackorderStatus;

  @Field(() => Int, { description: "Higher first in the queue; ties in placement order." })
  priority!: number;

  @Field(() => Int, { nullable: true, description: "1-based place in the product's queue while WAITING." })
  position!: number | null;

  @Field(() => Int, { nullable: true, description: "Waiting units ahead of it in the queue, while WAITING." })
  unitsAhead!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  expectedAt!: Date | null;

  @Field(() => EtaSource)
  etaSource!: EtaSource;

  @Field(() => DateTimeScalar, { nullable: true, description: "The expected date when it was placed; never changes." })
  promisedAt!: Date | null;

  @Field(() => Boolean, {
    description: "WAITING and expected later than promised, no longer expected at all, or past its promise.",
  })
  delayed!: boolean;

  @Field(() => Boolean, { description: "The customer chose to wait past the promise: the expiry sweep leaves it alone (keepWaiting)." })
  keepWaiting!: boolean;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      "When the expiry sweep cancels and refunds its waiting units: the product's autoCancelAfterDays after its promise (after its placement when none was made). Null when the product has no autoCancelAfterDays, the customer chose keepWaiting, or it no longer waits.",
  })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  filledAt!: Date | null;
}

export const BackorderConnection = connectionOf(Backorder, "Backorder");
export type BackorderConnection = InstanceType<typeof BackorderConnection>;

/** Orders and their lines. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Backorder } from "./backorder.type.js";
import { connectionOf } from "./connection.js";
import { OrderStatus } from "./enums.js";
import { Money } from "./money.type.js";
import { Node } from "./node.js";
import { Product } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

@ObjectType({ implements: Node })
export class Order implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "The order number shown to the customer, e.g. BO-1001." })
  number!: string;

  @Field(() => String, {
    description:
      "The customer's identifier. READER keys see a stable pseudonym instead (customer- and 10 hex digits), the same for every order of one customer.",
  })
  customer!: string;

  @Field(() => OrderStatus)
  status!: OrderStatus;

  @Field(() => [OrderLine])
  lines!: OrderLine[];

  @Field(() => Money)
  total!: Money;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "The latest date promised for its waiting units." })
  promisedAt!: Date | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "When its last waiting unit is expected; null when none waits or one has no expected date.",
  })
  expectedAt!: Date | null;

  @Field(() => Boolean, { description: "Whether any of its waiting backorders is delayed." })
  delayed!: boolean;

  @Field(() => String, { nullable: true })
  cancelReason!: string | null;
}

@ObjectType({ implements: Node, description: "quantity = allocated + backordered + shipped + cancelled." })
export class OrderLine implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Order)
  order!: Order;

  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Money)
  unitPrice!: Money;

  @Field(() => Int, { description: "Units reserved on the shelf, not yet shipped." })
  allocated!: number;

  @Field(() => Int, { description: "Units still waiting: in the backlog, or at the supplier for a dropship line (supplierOrder)." })
  backordered!: number;

  @Field(() => Int)
  shipped!: number;

  @Field(() => Int)
  cancelled!: number;

  @Field(() => Backorder, { nullable: true, description: "The line's backorder, if any of its units ever waited." })
  backorder!: Backorder | null;
}

export const OrderConnection = connectionOf(Order, "Order");
export type OrderConnection = InstanceType<typeof OrderConnection>;

/**
 * Supplier orders (docs/ARCHITECTURE.md, "Dropship"): a dropship order line at its supplier. What
 * shipping needs (order number, customer, SKU, product name, quantity) are scalar fields of its
 * own, so a SUPPLIER key reads them without reaching Order, OrderLine, Product or Supplier, whose
 * fields it may not read (`orderLine` and `supplier` are refused to it with FORBIDDEN).
 */
import "reflect-metadata";
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { connectionOf } from "./connection.js";
import { SupplierOrderStatus } from "./enums.js";
import { UserError } from "./errors.js";
import { Node } from "./node.js";
import { OrderLine } from "./order.type.js";
import { DateTimeScalar } from "./scalars.js";
import { Supplier } from "./supplier.type.js";

const NOT_FOR_SUPPLIERS = "Refused to SUPPLIER keys (FORBIDDEN): they read this order's scalar fields only.";

@ObjectType({
  implements: Node,
  description: "A dropship order line at its supplier: one per line of a DROPSHIP product, opened with the customer's order.",
})
export class SupplierOrder implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Supplier, { description: `Who ships it. ${NOT_FOR_SUPPLIERS}` })
  supplier!: Supplier;

  @Field(() => OrderLine, { description: `The customer's order line it ships. ${NOT_FOR_SUPPLIERS}` })
  orderLine!: OrderLine;

  @Field(() => String, { description: "The customer's order number, e.g. BO-1001: what the parcel refers to." })
  orderNumber!: string;

  @Field(() => String, { description: "Who it ships to: the order's customer. READER keys see the customer's pseudonym, as on Order." })
  customer!: string;

  @Field(() => String, { description: "The product's SKU." })
  sku!: string;

  @Field(() => String, { description: "The product's name." })
  productName!: string;

  @Field(() => Int, { description: "Units to ship: the order line's whole quantity." })
  quantity!: number;

  @Field(() => SupplierOrderStatus)
  status!: SupplierOrderStatus;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      "When the supplier will ship it, the line's expected date: the date acknowledged, else createdAt plus the supplier's lead time (24-hour days); null without either.",
  })
  expectedShipAt!: Date | null;

  @Field(() => Boolean, {
    description:
      "Late to ship: OPEN or ACKNOWLEDGED, and expectedShipAt (the acknowledged date, else the lead time's) has passed. False without an expectedShipAt, and once closed.",
  })
  late!: boolean;

  @Field(() => String, { nullable: true, description: "The carrier's tracking number given when shipped." })
  trackingNumber!: string | null;

  @Field(() => String, { nullable: true, description: "Why the supplier rejected it." })
  rejectReason!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  acknowledgedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  shippedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it was rejected or cancelled." })
  closedAt!: Date | null;
}

export const SupplierOrderConnection = connectionOf(SupplierOrder, "SupplierOrder");
export type SupplierOrderConnection = InstanceType<typeof SupplierOrderConnection>;

@InputType()
export class SupplierOrderFilter {
  @Field(() => ID, {
    nullable: true,
    description: "A Supplier's id. A SUPPLIER key's list is its own supplier's whatever this says: another supplier's id matches nothing.",
  })
  supplierId?: string | null;

  @Field(() => SupplierOrderStatus, { nullable: true })
  status?: SupplierOrderStatus | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Open orders only (OPEN or ACKNOWLEDGED), listed oldest first, the next to chase at the top: true those late to ship (SupplierOrder.late), false those on time. Null: every order, newest first.",
  })
  late?: boolean | null;
}

@ObjectType()
export class SupplierOrderPayload {
  @Field(() => SupplierOrder, { nullable: true })
  supplierOrder!: SupplierOrder | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

/** What the live subscriptions deliver: one object per event of the log, each with its cursor. */
import "reflect-metadata";
import { Field, Int, ObjectType, registerEnumType } from "type-graphql";
import {
  CHANGE_REASONS,
  type ChangeReason as ChangeReasonValue,
  enumOf,
  ORDER_CHANGE_KINDS,
  type OrderChangeKind as OrderChangeKindValue,
  RESTOCK_CHANGE_KINDS,
  type RestockChangeKind as RestockChangeKindValue,
  SUPPLIER_ORDER_CHANGE_KINDS,
  type SupplierOrderChangeKind as SupplierOrderChangeKindValue,
} from "../drizzle/contract.js";
import { OrderStatus, SupplierOrderStatus } from "./enums.js";
import { Order } from "./order.type.js";
import { Product, StockSummary } from "./product.type.js";
import { Restock } from "./restock.type.js";
import { DateTimeScalar } from "./scalars.js";
import { SupplierOrder } from "./supplier-order.type.js";

export const ChangeReason = enumOf(CHANGE_REASONS);
export type ChangeReason = ChangeReasonValue;
export const RestockChangeKind = enumOf(RESTOCK_CHANGE_KINDS);
export type RestockChangeKind = RestockChangeKindValue;
export const OrderChangeKind = enumOf(ORDER_CHANGE_KINDS);
export type OrderChangeKind = OrderChangeKindValue;
export const SupplierOrderChangeKind = enumOf(SUPPLIER_ORDER_CHANGE_KINDS);
export type SupplierOrderChangeKind = SupplierOrderChangeKindValue;

registerEnumType(ChangeReason, { name: "ChangeReason", description: "The operation that changed a product's stock or backlog." });
registerEnumType(RestockChangeKind, { name: "RestockChangeKind" });
registerEnumType(OrderChangeKind, {
  name: "OrderChangeKind",
  valuesConfig: {
    BACKORDER_FILLED: { description: "Waiting units of the order were allocated from a restock or released stock." },
    DELAYED: { description: "A waiting backorder of the order became late: its expected date passed its promise, or became unknown." },
  },
});
registerEnumType(SupplierOrderChangeKind, {
  name: "SupplierOrderChangeKind",
  valuesConfig: {
    CREATED: { description: "A dropship line was placed: its supplier order opened." },
    ACKNOWLEDGED: { description: "The supplier acknowledged it with a ship date: the line's expected date from then on." },
    CANCELLED: { description: "The customer's order or line was cancelled while the supplier order was open." },
  },
});

/** Every event carries its place in the log. A base of the types below, never in the schema itself. */
@ObjectType()
abstract class LogEntry {
  @Field(() => String, { description: "Pass as `after` to resume right after this event." })
  cursor!: string;

  @Field(() => DateTimeScalar, { description: "When the change committed." })
  at!: Date;
}

/** An event about one product, numbered by the product's version. */
@ObjectType()
abstract class ProductLogEntry extends LogEntry {
  @Field(() => Product)
  product!: Product;

  @Field(() => ChangeReason)
  reason!: ChangeReason;

  @Field(() => Int, { description: "Increases by one with every change of the product: a subscriber can tell it missed none." })
  productVersion!: number;
}

@ObjectType({ description: "A product's quantities changed. `stock` is the state right after this change." })
export class StockChange extends ProductLogEntry {
  @Field(() => StockSummary)
  stock!: StockSummary;
}

@ObjectType({ description: "A product's backlog changed. The figures are the state right after this change." })
export class BacklogChange extends ProductLogEntry {
  @Field(() => Int, { description: "Units waiting in the product's backlog." })
  backordered!: number;

  @Field(() => Int, { description: "Backorders waiting." })
  waitingOrders!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: "The expected date of the backorder first in line." })
  nextExpectedAt!: Date | null;
}

@ObjectType({ description: "A restock was scheduled, moved, received (in part or in full) or cancelled." })
export class RestockChange extends LogEntry {
  @Field(() => Restock)
  restock!: Restock;

  @Field(() => RestockChangeKind, {
    description: "RECEIVED for every receipt, partial or full: `restock.status` (read when the event is delivered) says whether more is expected.",
  })
  kind!: RestockChangeKind;

  @Field(() => Int, { description: "Backordered units this change allocated (RECEIVED)." })
  filledUnits!: number;
}

@ObjectType({ description: "An order was placed, filled, delayed, shipped or cancelled." })
export class OrderChange extends LogEntry {
  @Field(() => Order)
  order!: Order;

  @Field(() => OrderChangeKind)
  kind!: OrderChangeKind;

  @Field(() => OrderStatus, { description: "The order's status right after this change." })
  status!: OrderStatus;
}

@ObjectType({ description: "A dropship line's supplier order was opened, acknowledged, shipped, rejected or cancelled." })
export class SupplierOrderChange extends LogEntry {
  @Field(() => SupplierOrder, {
    description: "The supplier order, read when the event is delivered (its `expectedShipAt` is the acknowledged date after ACKNOWLEDGED).",
  })
  supplierOrder!: SupplierOrder;

  @Field(() => SupplierOrderChangeKind)
  kind!: SupplierOrderChangeKind;

  @Field(() => SupplierOrderStatus, { description: "The supplier order's status right after this change." })
  status!: SupplierOrderStatus;
}

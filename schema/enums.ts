/** The enums of the contract (docs/ARCHITECTURE.md, "The GraphQL contract"); values equal their names. */
import "reflect-metadata";
import { registerEnumType } from "type-graphql";
import {
  BACKORDER_POLICIES,
  BACKORDER_STATUSES,
  enumOf,
  ETA_SOURCES,
  FULFILLMENTS,
  ORDER_STATUSES,
  RESTOCK_STATUSES,
  SUPPLIER_ORDER_STATUSES,
} from "../drizzle/contract.js";
import type {
  BackorderPolicy as BackorderPolicyValue,
  BackorderStatus as BackorderStatusValue,
  EtaSource as EtaSourceValue,
  Fulfillment as FulfillmentValue,
  SupplierOrderStatus as SupplierOrderStatusValue,
  OrderStatus as OrderStatusValue,
  RestockStatus as RestockStatusValue,
} from "../drizzle/contract.js";

// Each enum is a value (what type-graphql registers) and a type of the same name (its values),
// both built from the contract's one list of values.
export const Fulfillment = enumOf(FULFILLMENTS);
export type Fulfillment = FulfillmentValue;
export const SupplierOrderStatus = enumOf(SUPPLIER_ORDER_STATUSES);
export type SupplierOrderStatus = SupplierOrderStatusValue;
export const BackorderPolicy = enumOf(BACKORDER_POLICIES);
export type BackorderPolicy = BackorderPolicyValue;
export const OrderStatus = enumOf(ORDER_STATUSES);
export type OrderStatus = OrderStatusValue;
export const BackorderStatus = enumOf(BACKORDER_STATUSES);
export type BackorderStatus = BackorderStatusValue;
export const RestockStatus = enumOf(RESTOCK_STATUSES);
export type RestockStatus = RestockStatusValue;
export const EtaSource = enumOf(ETA_SOURCES);
export type EtaSource = EtaSourceValue;

registerEnumType(BackorderPolicy, {
  name: "BackorderPolicy",
  description: "What happens to ordered units beyond the available stock.",
  valuesConfig: {
    DENY: { description: "Refused with OUT_OF_STOCK (or cut, with allowPartial)." },
    ALLOW: { description: "Queued as a backorder, up to the product's backorderLimit." },
  },
});
registerEnumType(OrderStatus, {
  name: "OrderStatus",
  description: "Where an order stands; the first that applies wins, in the order listed from CANCELLED up.",
});
registerEnumType(BackorderStatus, { name: "BackorderStatus" });
registerEnumType(RestockStatus, {
  name: "RestockStatus",
  valuesConfig: {
    SCHEDULED: { description: "Expected; nothing received yet." },
    PARTIALLY_RECEIVED: {
      description: "Some units received, the rest still expected: still open (incoming, dates the backlog, can be rescheduled, received or cancelled).",
    },
    RECEIVED: { description: "Every unit received." },
    CANCELLED: { description: "Cancelled; units received before stay on hand." },
  },
});
registerEnumType(EtaSource, {
  name: "EtaSource",
  description: "Where a backorder's expectedAt comes from.",
  valuesConfig: {
    RESTOCK: { description: "A scheduled restock covers it." },
    LEAD_TIME: { description: "Beyond scheduled supply: placed at + the product's lead time." },
    UNKNOWN: { description: "Nothing tells when." },
  },
});
registerEnumType(Fulfillment, {
  name: "Fulfillment",
  description: "How a product reaches the customer.",
  valuesConfig: {
    STOCKED: { description: "From our stock: allocated from the shelf, or backordered in its queue." },
    DROPSHIP: { description: "Shipped by its supplier: no stock of ours; each order line becomes one SupplierOrder." },
  },
});
registerEnumType(SupplierOrderStatus, {
  name: "SupplierOrderStatus",
  description: "Where a dropship line's order at its supplier stands.",
  valuesConfig: {
    OPEN: { description: "Sent to the supplier, not acknowledged yet: dated by the supplier's lead time." },
    ACKNOWLEDGED: { description: "The supplier gave a ship date (expectedShipAt)." },
    SHIPPED: { description: "The supplier shipped it: the line's units are shipped." },
    REJECTED: { description: "The supplier refused it: the line's units are cancelled and refunded (SUPPLIER_REJECTED)." },
    CANCELLED: { description: "The customer's units were cancelled." },
  },
});

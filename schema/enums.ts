/** The enums of the contract (docs/ARCHITECTURE.md, "The GraphQL contract"); values equal their names. */
import "reflect-metadata";
import { registerEnumType } from "type-graphql";
import { BACKORDER_POLICIES, BACKORDER_STATUSES, enumOf, ETA_SOURCES, ORDER_STATUSES, RESTOCK_STATUSES } from "../drizzle/contract.js";
import type {
  BackorderPolicy as BackorderPolicyValue,
  BackorderStatus as BackorderStatusValue,
  EtaSource as EtaSourceValue,
  OrderStatus as OrderStatusValue,
  RestockStatus as RestockStatusValue,
} from "../drizzle/contract.js";

// Each enum is a value (what type-graphql registers) and a type of the same name (its values),
// both built from the contract's one list of values.
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

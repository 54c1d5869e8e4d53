/** The enums of the contract (DESIGN.md section 7); values equal their names. */
import "reflect-metadata";
import { registerEnumType } from "type-graphql";

export enum BackorderPolicy {
  DENY = "DENY",
  ALLOW = "ALLOW",
}

export enum OrderStatus {
  AWAITING_STOCK = "AWAITING_STOCK",
  READY_TO_SHIP = "READY_TO_SHIP",
  PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED",
  SHIPPED = "SHIPPED",
  CANCELLED = "CANCELLED",
}

export enum BackorderStatus {
  WAITING = "WAITING",
  FILLED = "FILLED",
  CANCELLED = "CANCELLED",
}

export enum RestockStatus {
  SCHEDULED = "SCHEDULED",
  RECEIVED = "RECEIVED",
  CANCELLED = "CANCELLED",
}

export enum EtaSource {
  RESTOCK = "RESTOCK",
  LEAD_TIME = "LEAD_TIME",
  UNKNOWN = "UNKNOWN",
}

registerEnumType(BackorderPolicy, {
  name: "BackorderPolicy",
  description: "What happens to ordered units beyond the available stock.",
  valuesConfig: {
    DENY: { description: "Refused with OUT_OF_STOCK (or cut, with allowPartial)." },
    ALLOW: { description: "Queued as a backorder, up to the product's backorderLimit." },
  },
});
registerEnumType(OrderStatus, { name: "OrderStatus", description: "Where an order stands; the first that applies wins, in the order listed from CANCELLED up." });
registerEnumType(BackorderStatus, { name: "BackorderStatus" });
registerEnumType(RestockStatus, { name: "RestockStatus" });
registerEnumType(EtaSource, {
  name: "EtaSource",
  description: "Where a backorder's expectedAt comes from.",
  valuesConfig: {
    RESTOCK: { description: "A scheduled restock covers it." },
    LEAD_TIME: { description: "Beyond scheduled supply: placed at + the product's lead time." },
    UNKNOWN: { description: "Nothing tells when." },
  },
});

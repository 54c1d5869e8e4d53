/**
 * Every list of values the contract fixes, written once (`as const`): the table definitions
 * (drizzle/schema.ts), the services' union types (server/services/types.ts) and the GraphQL enums
 * (schema/) are all derived from these arrays, so a value added here reaches each of them and a
 * value missing from one of them is a type error. It lives at the bottom layer because the tables
 * need it too (docs/ARCHITECTURE.md, "Layers").
 *
 * Also the one way a business rule says no (`DomainError` with an `ErrorCode`), which the paging
 * helpers below the services throw as well.
 */

export const BACKORDER_POLICIES = ["DENY", "ALLOW"] as const;
export type BackorderPolicy = (typeof BACKORDER_POLICIES)[number];

export const ORDER_STATUSES = ["AWAITING_STOCK", "READY_TO_SHIP", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const BACKORDER_STATUSES = ["WAITING", "FILLED", "CANCELLED"] as const;
export type BackorderStatus = (typeof BACKORDER_STATUSES)[number];

/** PARTIALLY_RECEIVED: some units have arrived, the rest are still expected (0 < received < quantity). */
/** Why money is owed back (docs/ARCHITECTURE.md, "Refunds"): units cancelled by the shop or customer, expired, or refused by a supplier. */
export const REFUND_REASONS = ["CANCELLED", "EXPIRED", "SUPPLIER_REJECTED"] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** PENDING until the shop's payment system confirms the payment (`markRefunded`). */
export const REFUND_STATUSES = ["PENDING", "REFUNDED"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export const RESTOCK_STATUSES = ["SCHEDULED", "PARTIALLY_RECEIVED", "RECEIVED", "CANCELLED"] as const;
export type RestockStatus = (typeof RESTOCK_STATUSES)[number];

/**
 * The restock statuses whose outstanding units are still on their way: they count as `incoming`,
 * date the backlog (ETA), give `nextRestockAt`, and may be rescheduled, received or cancelled.
 */
export const OPEN_RESTOCK_STATUSES = ["SCHEDULED", "PARTIALLY_RECEIVED"] as const satisfies readonly RestockStatus[];
export type OpenRestockStatus = (typeof OPEN_RESTOCK_STATUSES)[number];

export const ETA_SOURCES = ["RESTOCK", "LEAD_TIME", "UNKNOWN"] as const;
export type EtaSource = (typeof ETA_SOURCES)[number];

/** How far a connection's `totalCount` can be trusted: counting stops at a bound (drizzle/paging.ts `COUNT_BOUND`). */
export const COUNT_PRECISIONS = ["EXACT", "AT_LEAST"] as const;
export type CountPrecision = (typeof COUNT_PRECISIONS)[number];

/**
 * What an API key may do (docs/ARCHITECTURE.md, "Access and limits"). SUPPLIER: a key bound to one
 * supplier (api_keys.supplier_id), which sees and acts on that supplier's orders only ("Dropship").
 */
export const API_KEY_ROLES = ["ADMIN", "OPERATOR", "STOREFRONT", "READER", "SUPPLIER"] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Why a row of the stock ledger was written. */
export const STOCK_MOVEMENT_KINDS = ["INITIAL", "ADJUSTMENT", "RESTOCK", "SHIPMENT"] as const;
export type StockMovementKind = (typeof STOCK_MOVEMENT_KINDS)[number];

/** The kinds of rows in the event log. */
export const EVENT_TYPES = ["STOCK_CHANGED", "BACKLOG_CHANGED", "RESTOCK_CHANGED", "ORDER_CHANGED", "API_KEY_REVOKED", "SUPPLIER_ORDER_CHANGED"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Why a product's stock or backlog changed. */
export const CHANGE_REASONS = [
  "PRODUCT_CREATED",
  "PRODUCT_UPDATED",
  "ORDER_PLACED",
  "ORDER_CANCELLED",
  "ORDER_SHIPPED",
  "STOCK_ADJUSTED",
  "RESTOCK_SCHEDULED",
  "RESTOCK_RESCHEDULED",
  "RESTOCK_RECEIVED",
  "RESTOCK_CANCELLED",
  "BACKORDER_PRIORITIZED",
  "ETA_CHANGED",
  "BACKORDER_EXPIRED",
] as const;
export type ChangeReason = (typeof CHANGE_REASONS)[number];

export const RESTOCK_CHANGE_KINDS = ["SCHEDULED", "RESCHEDULED", "RECEIVED", "CANCELLED"] as const;
export type RestockChangeKind = (typeof RESTOCK_CHANGE_KINDS)[number];

/** EXPIRED: waiting units cancelled by the expiry sweep, `autoCancelAfterDays` past their promise (docs/ARCHITECTURE.md, "Expiry of stale backorders"). */
export const ORDER_CHANGE_KINDS = ["PLACED", "ALLOCATED", "BACKORDER_FILLED", "DELAYED", "SHIPPED", "CANCELLED", "EXPIRED"] as const;
export type OrderChangeKind = (typeof ORDER_CHANGE_KINDS)[number];

/**
 * What a webhook endpoint can subscribe to (docs/ARCHITECTURE.md, "Webhooks"): the customer-facing changes, mapped
 * from the event log by the delivery worker. Sent as `type` in the lower-case dotted form of
 * Standard Webhooks (`ORDER_DELAYED` → "order.delayed").
 */
export const WEBHOOK_EVENT_TYPES = [
  "ORDER_BACKORDERED",
  "ORDER_DELAYED",
  "ORDER_READY_TO_SHIP",
  "ORDER_SHIPPED",
  "ORDER_CANCELLED",
  "BACKORDER_EXPIRED",
  "REFUND_DUE",
  "RESTOCK_RECEIVED",
  "SUPPLIER_ORDER_CREATED",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** PENDING until a 2xx answer (DELIVERED) or the last attempt failed (FAILED: the dead letter). */
export const DELIVERY_STATUSES = ["PENDING", "DELIVERED", "FAILED"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How a product reaches the customer (docs/ARCHITECTURE.md, "Dropship"): from our stock, or shipped by its supplier (no stock of ours). */
export const FULFILLMENTS = ["STOCKED", "DROPSHIP"] as const;
export type Fulfillment = (typeof FULFILLMENTS)[number];

/**
 * A dropship line's order at its supplier: OPEN until the supplier acknowledges it with a ship
 * date, then SHIPPED, or REJECTED by the supplier, or CANCELLED with the customer's units.
 */
export const SUPPLIER_ORDER_STATUSES = ["OPEN", "ACKNOWLEDGED", "SHIPPED", "REJECTED", "CANCELLED"] as const;
export type SupplierOrderStatus = (typeof SUPPLIER_ORDER_STATUSES)[number];

/** What happened to a supplier order (SUPPLIER_ORDER_CHANGED events). */
export const SUPPLIER_ORDER_CHANGE_KINDS = ["CREATED", "ACKNOWLEDGED", "SHIPPED", "REJECTED", "CANCELLED"] as const;
export type SupplierOrderChangeKind = (typeof SUPPLIER_ORDER_CHANGE_KINDS)[number];

/** Machine-readable reasons a business rule says no (the contract's `ErrorCode`). */
export const ERROR_CODES = [
  "NOT_FOUND",
  "INVALID_INPUT",
  "OUT_OF_STOCK",
  "BACKORDER_LIMIT_EXCEEDED",
  "BELOW_MIN_ORDER_QUANTITY",
  "ABOVE_MAX_ORDER_QUANTITY",
  "WAIT_TOO_LONG",
  "INSUFFICIENT_STOCK",
  "INVALID_STATE",
  "IDEMPOTENCY_KEY_REUSED",
  "DUPLICATE",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The list as an enum-like object (`{ DENY: "DENY", ALLOW: "ALLOW" }`): what type-graphql's
 * `registerEnumType` takes, so the GraphQL enums are built from the lists above.
 */
export function enumOf<const T extends string>(values: readonly T[]): { readonly [K in T]: K } {
  return Object.fromEntries(values.map((value) => [value, value])) as { readonly [K in T]: K };
}

/** One refusal, pointing at the input field it is about (e.g. ["lines", "1", "quantity"]). */
export interface Issue {
  code: ErrorCode;
  message: string;
  field?: string[];
}

/**
 * Thrown by a service when a business rule refuses the whole operation. Thrown inside the
 * transaction, it rolls everything back: a refused operation changes nothing.
 */
export class DomainError extends Error {
  readonly issues: Issue[];
  constructor(issues: Issue | Issue[]) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.message).join("; "));
    this.name = "DomainError";
    this.issues = list;
  }
  get code(): ErrorCode {
    return this.issues[0].code;
  }
}

/** Shorthand for throwing a single-issue DomainError. */
export function refuse(code: ErrorCode, message: string, field?: string[]): never {
  throw new DomainError({ code, message, field });
}

/**
 * The domain's plain data: what services take and return, and what the event log carries.
 * Shared by services, resolvers and subscribers; nothing here knows GraphQL or HTTP.
 */
import type { schema } from "../../drizzle/db.js";

export type LocationRecord = typeof schema.locations.$inferSelect;
export type ProductRecord = typeof schema.products.$inferSelect;
export type StockLevelRecord = typeof schema.stockLevels.$inferSelect;
export type OrderRecord = typeof schema.orders.$inferSelect;
export type OrderLineRecord = typeof schema.orderLines.$inferSelect;
export type BackorderRecord = typeof schema.backorders.$inferSelect;
export type RestockRecord = typeof schema.restocks.$inferSelect;
export type EventRecord = typeof schema.events.$inferSelect;
export type ApiKeyRecord = typeof schema.apiKeys.$inferSelect;

export type BackorderPolicy = ProductRecord["backorderPolicy"];
export type OrderStatus = OrderRecord["status"];
export type BackorderStatus = BackorderRecord["status"];
export type RestockStatus = RestockRecord["status"];
export type EtaSource = BackorderRecord["etaSource"];
/** What an API key may do (DESIGN.md section 9). */
export type ApiKeyRole = ApiKeyRecord["role"];

/** Machine-readable reasons a business rule says no (DESIGN.md section 7, `ErrorCode`). */
export const ERROR_CODES = [
  "NOT_FOUND",
  "INVALID_INPUT",
  "OUT_OF_STOCK",
  "BACKORDER_LIMIT_EXCEEDED",
  "BELOW_MIN_ORDER_QUANTITY",
  "ABOVE_MAX_ORDER_QUANTITY",
  "INSUFFICIENT_STOCK",
  "INVALID_STATE",
  "IDEMPOTENCY_KEY_REUSED",
  "DUPLICATE",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

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

// ---- inputs (plain, validated by the service) ----

export interface CreateLocationInput {
  code: string;
  name: string;
  priority?: number;
}

export interface CreateProductInput {
  sku: string;
  name: string;
  /** Decimal string, e.g. "19.99". */
  price: string;
  currencyCode?: string;
  backorderPolicy?: BackorderPolicy;
  backorderLimit?: number | null;
  minOrderQuantity?: number;
  maxOrderQuantity?: number | null;
  leadTimeDays?: number | null;
  /** Units on hand at the default location. */
  initialStock?: number;
}

export type UpdateProductInput = Partial<Omit<CreateProductInput, "sku" | "initialStock">> & { sku?: string };

export interface AdjustStockInput {
  productId: number;
  locationId?: number;
  /** Change of onHand: positive for found units, negative for lost ones. */
  delta: number;
  reason: string;
  /** Optionally set the location's safety stock at the same time. */
  safetyStock?: number;
}

export interface PlaceOrderLineInput {
  productId?: number;
  sku?: string;
  quantity: number;
}

export interface PlaceOrderInput {
  customer: string;
  lines: PlaceOrderLineInput[];
  /** Default true: a DENY line is cut to what is available, its error still reported. */
  allowPartial?: boolean;
  idempotencyKey?: string;
}

export interface PlaceOrderResult {
  order: OrderRecord;
  /** Issues of lines that were cut (allowPartial); empty when every unit was taken. */
  issues: Issue[];
  /** True when the idempotency key had been seen and the first result is returned. */
  replayed: boolean;
}

export interface ScheduleRestockInput {
  productId: number;
  locationId?: number;
  quantity: number;
  expectedAt: Date;
  reference?: string | null;
}

export interface ReceiveRestockResult {
  restock: RestockRecord;
  /** Backorders that received units from this receipt, in queue order. */
  filledBackorders: BackorderRecord[];
}



// ---- the event log (DESIGN.md section 6): one row per change, written in the change's transaction ----

export type EventType = "STOCK_CHANGED" | "BACKLOG_CHANGED" | "RESTOCK_CHANGED" | "ORDER_CHANGED" | "API_KEY_REVOKED";

/** A product's quantities at the moment of an event (DESIGN.md section 3). */
export interface StockSnapshot {
  onHand: number;
  allocated: number;
  available: number;
  backordered: number;
  incoming: number;
  projected: number;
  /** ISO-8601, or null when no restock is scheduled. */
  nextRestockAt: string | null;
}

/** Why a product's stock or backlog changed. */
export type ChangeReason =
  | "PRODUCT_CREATED"
  | "PRODUCT_UPDATED"
  | "ORDER_PLACED"
  | "ORDER_CANCELLED"
  | "ORDER_SHIPPED"
  | "STOCK_ADJUSTED"
  | "RESTOCK_SCHEDULED"
  | "RESTOCK_RESCHEDULED"
  | "RESTOCK_RECEIVED"
  | "RESTOCK_CANCELLED"
  | "BACKORDER_PRIORITIZED"
  | "ETA_CHANGED";

export interface StockChangedPayload {
  reason: ChangeReason;
  stock: StockSnapshot;
}

export interface BacklogChangedPayload {
  reason: ChangeReason;
  backordered: number;
  waitingOrders: number;
  /** ISO-8601: the earliest expected date among waiting backorders, or null. */
  nextExpectedAt: string | null;
}

export type RestockChangeKind = "SCHEDULED" | "RESCHEDULED" | "RECEIVED" | "CANCELLED";
export interface RestockChangedPayload {
  kind: RestockChangeKind;
  filledUnits: number;
}

export type OrderChangeKind = "PLACED" | "ALLOCATED" | "BACKORDER_FILLED" | "DELAYED" | "SHIPPED" | "CANCELLED";
export interface OrderChangedPayload {
  kind: OrderChangeKind;
  customer: string;
  status: OrderStatus;
}

/** An API key was revoked: every instance closes the key's open subscriptions. */
export interface ApiKeyRevokedPayload {
  apiKeyId: number;
}

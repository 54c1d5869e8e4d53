/**
 * The domain's plain data: what services take and return, and what the event log carries.
 * Shared by services, resolvers and subscribers; nothing here knows GraphQL or HTTP.
 */
import type { schema } from "../../drizzle/db.js";
import type { BackorderPolicy, Fulfillment, Issue } from "../../drizzle/contract.js";

export type LocationRecord = typeof schema.locations.$inferSelect;
export type ProductRecord = typeof schema.products.$inferSelect;
export type StockLevelRecord = typeof schema.stockLevels.$inferSelect;
export type OrderRecord = typeof schema.orders.$inferSelect;
export type OrderLineRecord = typeof schema.orderLines.$inferSelect;
export type BackorderRecord = typeof schema.backorders.$inferSelect;
export type RestockRecord = typeof schema.restocks.$inferSelect;
export type ApiKeyRecord = typeof schema.apiKeys.$inferSelect;
export type SupplierRecord = typeof schema.suppliers.$inferSelect;
export type SupplierOrderRecord = typeof schema.supplierOrders.$inferSelect;

export type {
  ApiKeyRole,
  BackorderPolicy,
  ChangeReason,
  EventType,
  Issue,
  OrderChangeKind,
  OrderStatus,
  RestockChangeKind,
  RestockStatus,
  Fulfillment,
  SupplierOrderChangeKind,
  SupplierOrderStatus,
} from "../../drizzle/contract.js";
export { API_KEY_ROLES, DomainError, refuse } from "../../drizzle/contract.js";

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
  /** Units expected further away than this many days are refused: WAIT_TOO_LONG (null: no cap). */
  maxWaitDays?: number | null;
  /** Waiting units this many days past their promise (or placement) are expired by the sweep (null: never). */
  autoCancelAfterDays?: number | null;
  /** Who supplies it (a supplier's id; null: none). Its restocks record the supplier; the ETA rules do not change. */
  supplierId?: number | null;
  /** STOCKED (the default) or DROPSHIP: no stock of ours, each order line becomes a supplier order (needs a supplier). */
  fulfillment?: Fulfillment;
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
  /**
   * Whose idempotency keys `idempotencyKey` is among: the id of the API key that sent the order
   * (the same string from two API keys places two orders). Absent: the scope of callers without one.
   */
  idempotencyScope?: number | null;
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
  /** The same backorders, each with the units this receipt gave it (its `quantity` is what it ordered in all). */
  fills: RestockFillRecord[];
}

/** One backorder served by a receipt, and how many units that receipt gave it. */
export interface RestockFillRecord {
  backorder: BackorderRecord;
  filledUnits: number;
}

// ---- the event log (docs/ARCHITECTURE.md, "Events and live updates"): one row per change, written in the change's transaction ----

/** A product's quantities at the moment of an event (docs/ARCHITECTURE.md, "The model and its invariants"). */
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

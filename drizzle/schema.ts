/**
 * The tables of the backorder engine. Constraints carry as many of the invariants of docs/ARCHITECTURE.md
 * ("The model and its invariants") as a single row can: quantities are never negative, allocated never exceeds onHand,
 * and every order line's units add up. The rest (sums across rows, FIFO) is checked by the audit.
 */
import {
  API_KEY_ROLES,
  BACKORDER_POLICIES,
  BACKORDER_STATUSES,
  DELIVERY_STATUSES,
  ETA_SOURCES,
  EVENT_TYPES,
  FULFILLMENTS,
  ORDER_STATUSES,
  REFUND_REASONS,
  REFUND_STATUSES,
  RESTOCK_STATUSES,
  STOCK_MOVEMENT_KINDS,
  SUPPLIER_ORDER_STATUSES,
  WEBHOOK_EVENT_TYPES,
} from "./contract.js";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgSequence,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const stamp = (name: string) => timestamp(name, { withTimezone: true, mode: "date" }).notNull().defaultNow();
const createdAt = () => stamp("created_at");
const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const locations = pgTable(
  "locations",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    code: text("code").notNull(),
    name: text("name").notNull(),
    /** Allocation order: lower first. The lowest is the default location. */
    priority: integer("priority").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("locations_code_key").on(t.code)],
);

/** Who makes or ships a product (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): its lead time, and a history of restocks that tells how reliable its dates are. */
export const suppliers = pgTable(
  "suppliers",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    leadTimeDays: integer("lead_time_days"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("suppliers_name_key").on(sql`lower(${t.name})`),
    check("suppliers_lead_time_check", sql`${t.leadTimeDays} IS NULL OR ${t.leadTimeDays} >= 0`),
  ],
);

export const products = pgTable(
  "products",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    sku: text("sku").notNull(),
    name: text("name").notNull(),
    price: numeric("price", { precision: 14, scale: 2 }).notNull(),
    currencyCode: text("currency_code").notNull().default("USD"),
    backorderPolicy: text("backorder_policy", { enum: BACKORDER_POLICIES }).notNull().default("DENY"),
    backorderLimit: integer("backorder_limit"),
    minOrderQuantity: integer("min_order_quantity").notNull().default(1),
    maxOrderQuantity: integer("max_order_quantity"),
    leadTimeDays: integer("lead_time_days"),
    /**
     * The longest wait this product sells: units whose expected date would be more than this many
     * days away are refused with WAIT_TOO_LONG (NULL: no cap). The honest backlog cap.
     */
    maxWaitDays: integer("max_wait_days"),
    /**
     * Waiting units this many days past their promise (past their placement when no date was
     * promised) are cancelled and refunded by the expiry sweep, unless the customer chose to keep
     * waiting (NULL: they wait as long as it takes).
     */
    autoCancelAfterDays: integer("auto_cancel_after_days"),
    /** Who supplies it: its restocks record this supplier, whose history widens the dates (`expectedAtLate`). */
    supplierId: integer("supplier_id").references(() => suppliers.id),
    /** DROPSHIP: no stock of ours; each order line becomes a supplier order (needs a supplier). */
    fulfillment: text("fulfillment", { enum: FULFILLMENTS }).notNull().default("STOCKED"),
    /** Units waiting in this product's backlog: the sum of its waiting backorders' remaining. */
    backordered: integer("backordered").notNull().default(0),
    /** How many backorders wait in this product's backlog: kept beside `backordered` so an event need not count the queue. */
    waitingOrders: integer("waiting_orders").notNull().default(0),
    /**
     * Bumped under this row's lock by every transaction that changes the product's stock,
     * backlog or restocks; events carry it so subscribers can order a product's changes.
     */
    version: bigint("version", { mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
    updatedAt: stamp("updated_at"),
  },
  (t) => [
    uniqueIndex("products_sku_key").on(t.sku),
    index("products_supplier_idx")
      .on(t.supplierId, t.id)
      .where(sql`${t.supplierId} IS NOT NULL`),
    check("products_price_check", sql`${t.price} >= 0`),
    check("products_backordered_check", sql`${t.backordered} >= 0`),
    check("products_waiting_orders_check", sql`${t.waitingOrders} >= 0 AND (${t.waitingOrders} = 0) = (${t.backordered} = 0)`),
    check("products_backorder_limit_check", sql`${t.backorderLimit} IS NULL OR ${t.backorderLimit} >= 0`),
    check("products_min_order_check", sql`${t.minOrderQuantity} >= 1`),
    check("products_max_order_check", sql`${t.maxOrderQuantity} IS NULL OR ${t.maxOrderQuantity} >= ${t.minOrderQuantity}`),
    check("products_lead_time_check", sql`${t.leadTimeDays} IS NULL OR ${t.leadTimeDays} >= 0`),
    check("products_max_wait_check", sql`${t.maxWaitDays} IS NULL OR ${t.maxWaitDays} >= 0`),
    check("products_dropship_supplier_check", sql`${t.fulfillment} <> 'DROPSHIP' OR ${t.supplierId} IS NOT NULL`),
    check("products_auto_cancel_check", sql`${t.autoCancelAfterDays} IS NULL OR ${t.autoCancelAfterDays} >= 1`),
  ],
);

export const stockLevels = pgTable(
  "stock_levels",
  {
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    locationId: integer("location_id")
      .notNull()
      .references(() => locations.id),
    onHand: integer("on_hand").notNull().default(0),
    allocated: integer("allocated").notNull().default(0),
    safetyStock: integer("safety_stock").notNull().default(0),
    updatedAt: stamp("updated_at"),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.locationId] }),
    check("stock_levels_allocated_check", sql`${t.allocated} >= 0 AND ${t.allocated} <= ${t.onHand}`),
    check("stock_levels_safety_check", sql`${t.safetyStock} >= 0`),
  ],
);

export const orderNumberSeq = pgSequence("order_number_seq", { startWith: 1001 });

export const orders = pgTable(
  "orders",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    number: text("number")
      .notNull()
      .default(sql`'BO-' || nextval('order_number_seq')::text`),
    customer: text("customer").notNull(),
    status: text("status", { enum: ORDER_STATUSES }).notNull(),
    total: numeric("total", { precision: 14, scale: 2 }).notNull(),
    currencyCode: text("currency_code").notNull(),
    cancelReason: text("cancel_reason"),
    createdAt: createdAt(),
    updatedAt: stamp("updated_at"),
  },
  (t) => [
    uniqueIndex("orders_number_key").on(t.number),
    index("orders_customer_idx").on(t.customer),
    index("orders_status_idx").on(t.status),
    // A window of orders by placement (backlog-metrics.query.ts): how many, their id range and currencies, from the index alone.
    index("orders_created_idx").on(t.createdAt, t.id, t.currencyCode),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    lineNumber: integer("line_number").notNull(),
    quantity: integer("quantity").notNull(),
    unitPrice: numeric("unit_price", { precision: 14, scale: 2 }).notNull(),
    allocated: integer("allocated").notNull().default(0),
    /** Units still waiting in the backlog. */
    waiting: integer("waiting").notNull().default(0),
    shipped: integer("shipped").notNull().default(0),
    cancelled: integer("cancelled").notNull().default(0),
  },
  (t) => [
    uniqueIndex("order_lines_order_line_key").on(t.orderId, t.lineNumber),
    // With the order id: "orders with a line for this product", newest first, reads this index backwards.
    index("order_lines_product_idx").on(t.productId, t.orderId),
    check(
      "order_lines_units_check",
      sql`${t.quantity} > 0 AND ${t.allocated} >= 0 AND ${t.waiting} >= 0 AND ${t.shipped} >= 0 AND ${t.cancelled} >= 0
        AND ${t.quantity} = ${t.allocated} + ${t.waiting} + ${t.shipped} + ${t.cancelled}`,
    ),
  ],
);

/** Units of an order line reserved at a location; `quantity` is what is still open (not shipped). */
export const allocations = pgTable(
  "allocations",
  {
    orderLineId: integer("order_line_id")
      .notNull()
      .references(() => orderLines.id),
    locationId: integer("location_id")
      .notNull()
      .references(() => locations.id),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    quantity: integer("quantity").notNull(),
    shipped: integer("shipped").notNull().default(0),
    updatedAt: stamp("updated_at"),
  },
  (t) => [
    primaryKey({ columns: [t.orderLineId, t.locationId] }),
    index("allocations_stock_idx").on(t.productId, t.locationId),
    check("allocations_quantity_check", sql`${t.quantity} >= 0 AND ${t.shipped} >= 0`),
  ],
);

export const backorders = pgTable(
  "backorders",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    orderLineId: integer("order_line_id")
      .notNull()
      .references(() => orderLines.id),
    quantity: integer("quantity").notNull(),
    /** Units still waiting. quantity = filled (sum of fills) + remaining + cancelled. */
    remaining: integer("remaining").notNull(),
    cancelled: integer("cancelled").notNull().default(0),
    status: text("status", { enum: BACKORDER_STATUSES }).notNull().default("WAITING"),
    /** Higher first; ties in placement order (id, assigned under the product's lock). */
    priority: integer("priority").notNull().default(0),
    expectedAt: at("expected_at"),
    etaSource: text("eta_source", { enum: ETA_SOURCES }).notNull().default("UNKNOWN"),
    promisedAt: at("promised_at"),
    /** Whether a DELAYED event has been written for this backorder's current lateness. */
    delayed: boolean("delayed").notNull().default(false),
    /** The customer chose to wait past the promise: the expiry sweep leaves this backorder alone. */
    keepWaiting: boolean("keep_waiting").notNull().default(false),
    createdAt: createdAt(),
    filledAt: at("filled_at"),
    cancelledAt: at("cancelled_at"),
  },
  (t) => [
    uniqueIndex("backorders_order_line_key").on(t.orderLineId),
    // `DESC NULLS FIRST` is what `ORDER BY priority DESC` means: only then does the queue's sort
    // read the index in order (with drizzle's default NULLS LAST every queue read sorted the queue).
    index("backorders_queue_idx")
      .on(t.productId, t.priority.desc().nullsFirst(), t.id)
      .where(sql`${t.status} = 'WAITING'`),
    // The whole backlog in queue order (Query.backlog without a product).
    index("backorders_global_queue_idx")
      .on(t.priority.desc().nullsFirst(), t.id)
      .where(sql`${t.status} = 'WAITING'`),
    index("backorders_order_idx").on(t.orderId),
    // The expiry sweep: a product's waiting backorders that may expire, by the instant their wait is
    // counted from (the later of promise and placement: greatest() skips a NULL promise).
    index("backorders_expiry_idx")
      .on(t.productId, sql`(greatest(${t.promisedAt}, ${t.createdAt}))`)
      .where(sql`${t.status} = 'WAITING' AND NOT ${t.keepWaiting}`),
    // The `delayed` filter (backorder-delay.ts `delayedFilter`): when a waiting backorder is (or became) late, a range below now().
    index("backorders_late_idx")
      .on(sql`(coalesce(CASE WHEN ${t.delayed} THEN '-infinity'::timestamptz ELSE ${t.promisedAt} END, 'infinity'::timestamptz))`)
      .where(sql`${t.status} = 'WAITING'`),
    check(
      "backorders_quantity_check",
      sql`${t.quantity} > 0 AND ${t.remaining} >= 0 AND ${t.cancelled} >= 0
        AND ${t.remaining} + ${t.cancelled} <= ${t.quantity}
        AND (${t.status} <> 'WAITING' OR ${t.remaining} > 0)`,
    ),
  ],
);

/** Append-only: which units went to which backorder, from where, and when. The FIFO audit reads it. */
export const backorderFills = pgTable(
  "backorder_fills",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    backorderId: integer("backorder_id")
      .notNull()
      .references(() => backorders.id),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    locationId: integer("location_id")
      .notNull()
      .references(() => locations.id),
    quantity: integer("quantity").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("backorder_fills_backorder_idx").on(t.backorderId), check("backorder_fills_quantity_check", sql`${t.quantity} > 0`)],
);

export const restocks = pgTable(
  "restocks",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    locationId: integer("location_id")
      .notNull()
      .references(() => locations.id),
    quantity: integer("quantity").notNull(),
    receivedQuantity: integer("received_quantity").notNull().default(0),
    expectedAt: at("expected_at").notNull(),
    status: text("status", { enum: RESTOCK_STATUSES }).notNull().default("SCHEDULED"),
    reference: text("reference"),
    receivedAt: at("received_at"),
    /** The product's supplier when the restock was scheduled. */
    supplierId: integer("supplier_id").references(() => suppliers.id),
    /**
     * The date first announced, kept through reschedules: the supplier's lateness is measured
     * against it, since a promise to a customer was made on it (NULL before migration 0017: use expected_at).
     */
    originalExpectedAt: at("original_expected_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("restocks_product_idx").on(t.productId, t.expectedAt),
    // A supplier's history: its received restocks, newest first.
    index("restocks_supplier_received_idx")
      .on(t.supplierId, t.receivedAt)
      .where(sql`${t.supplierId} IS NOT NULL AND ${t.status} = 'RECEIVED'`),
    check("restocks_quantity_check", sql`${t.quantity} > 0 AND ${t.receivedQuantity} >= 0 AND ${t.receivedQuantity} <= ${t.quantity}`),
  ],
);

/** The stock ledger, append-only: onHand at a stock level is the sum of its movements. */
export const stockMovements = pgTable(
  "stock_movements",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    locationId: integer("location_id")
      .notNull()
      .references(() => locations.id),
    delta: integer("delta").notNull(),
    kind: text("kind", { enum: STOCK_MOVEMENT_KINDS }).notNull(),
    reason: text("reason"),
    orderId: integer("order_id").references(() => orders.id),
    restockId: integer("restock_id").references(() => restocks.id),
    createdAt: createdAt(),
  },
  (t) => [
    index("stock_movements_stock_idx").on(t.productId, t.locationId),
    // Log retention (docs/ARCHITECTURE.md, "Growth of the logs"): pruned movements are folded into
    // one opening balance per stock level, a row with a negative id (log-retention.service.ts).
    uniqueIndex("stock_movements_opening_balance_key")
      .on(t.productId, t.locationId)
      .where(sql`${t.id} < 0`),
  ],
);

/**
 * The transactional outbox (docs/ARCHITECTURE.md, "Events and live updates"). Writers append rows inside their transaction;
 * `seq` is stamped afterwards, by one stamper at a time, on rows that have committed, in id order.
 * Readers follow `seq`, which therefore never has a row appear behind a position already read.
 * `txid` records the writing transaction, for audits and debugging.
 */
export const events = pgTable(
  "events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** Delivery position: null until stamped; gap-free and increasing in commit order. */
    seq: bigint("seq", { mode: "number" }),
    txid: bigint("txid", { mode: "bigint" })
      .notNull()
      .default(sql`(pg_current_xact_id()::text)::bigint`),
    type: text("type", { enum: EVENT_TYPES }).notNull(),
    productId: integer("product_id"),
    productVersion: bigint("product_version", { mode: "number" }),
    orderId: integer("order_id"),
    restockId: integer("restock_id"),
    payload: jsonb("payload").notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("events_seq_key").on(t.seq),
    index("events_unstamped_idx")
      .on(t.id)
      .where(sql`${t.seq} IS NULL`),
  ],
);

/**
 * A dropship order line at its supplier (docs/ARCHITECTURE.md, "Dropship"): written with the customer's order, in the
 * same transaction; the line's units wait here (not in the backlog) until the supplier ships them,
 * rejects them, or the customer cancels.
 */
export const supplierOrders = pgTable(
  "supplier_orders",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    supplierId: integer("supplier_id")
      .notNull()
      .references(() => suppliers.id),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    orderLineId: integer("order_line_id")
      .notNull()
      .references(() => orderLines.id),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    quantity: integer("quantity").notNull(),
    status: text("status", { enum: SUPPLIER_ORDER_STATUSES }).notNull().default("OPEN"),
    /** The supplier's ship date (acknowledgement); before it, the supplier's lead time dates the line. */
    expectedShipAt: at("expected_ship_at"),
    trackingNumber: text("tracking_number"),
    rejectReason: text("reject_reason"),
    createdAt: createdAt(),
    acknowledgedAt: at("acknowledged_at"),
    shippedAt: at("shipped_at"),
    /** When it was rejected or cancelled. */
    closedAt: at("closed_at"),
  },
  (t) => [
    uniqueIndex("supplier_orders_order_line_key").on(t.orderLineId),
    index("supplier_orders_order_idx").on(t.orderId),
    // A supplier's orders, newest first, and its open ones (waiting for acknowledgement, late to ship).
    index("supplier_orders_supplier_idx").on(t.supplierId, t.id),
    index("supplier_orders_open_idx")
      .on(t.status, t.createdAt)
      .where(sql`${t.status} IN ('OPEN', 'ACKNOWLEDGED')`),
    check("supplier_orders_quantity_check", sql`${t.quantity} > 0`),
  ],
);

/**
 * Where the shop wants customer-facing changes POSTed (docs/ARCHITECTURE.md, "Webhooks"). `secret` is the endpoint's
 * `whsec_…` signing key: shown once at creation, kept to sign every delivery.
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    url: text("url").notNull(),
    secret: text("secret").notNull(),
    events: text("events", { enum: WEBHOOK_EVENT_TYPES }).array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: stamp("updated_at"),
  },
  (t) => [check("webhook_endpoints_events_check", sql`cardinality(${t.events}) > 0`)],
);

/**
 * One webhook message for one endpoint, from the moment the worker read its event from the log
 * until a 2xx answer or the last attempt. `payload` is the whole body, fixed when queued, so every
 * attempt sends the same bytes under the same `event_id` (the `webhook-id` header receivers
 * dedupe on). `event_seq` is the source event's position in the log (redelivery from a cursor);
 * `order_id` keys the per-order ordering. A worker claims a due delivery by setting `locked_until`
 * (a lease) and attempts it outside any transaction; a lease that lapses (a killed worker) makes
 * it due again.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    endpointId: integer("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull(),
    eventType: text("event_type", { enum: WEBHOOK_EVENT_TYPES }).notNull(),
    eventSeq: bigint("event_seq", { mode: "number" }).notNull(),
    orderId: integer("order_id"),
    payload: jsonb("payload").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: stamp("next_attempt_at"),
    lockedUntil: at("locked_until"),
    lastAttemptAt: at("last_attempt_at"),
    responseStatus: integer("response_status"),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("webhook_deliveries_event_key").on(t.endpointId, t.eventId),
    // An endpoint's due work, oldest first: a claim reads each endpoint's own range, so one
    // endpoint's backlog (a dead receiver's) is never walked to reach another's.
    index("webhook_deliveries_endpoint_due_idx")
      .on(t.endpointId, t.nextAttemptAt, t.id)
      .where(sql`${t.status} = 'PENDING'`),
    // Per-order ordering: an earlier pending delivery of the same order to the same endpoint goes first.
    index("webhook_deliveries_order_idx")
      .on(t.endpointId, t.orderId, t.id)
      .where(sql`${t.status} = 'PENDING'`),
    // An endpoint's dead letters (webhookHealth counts them, WebhookEndpoint.deliveries(status: FAILED) lists them).
    index("webhook_deliveries_failed_idx")
      .on(t.endpointId, t.id)
      .where(sql`${t.status} = 'FAILED'`),
    // An endpoint's deliveries, newest first (WebhookEndpoint.deliveries), and redelivery from a position.
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.eventSeq, t.id),
    check("webhook_deliveries_attempts_check", sql`${t.attempts} >= 0`),
  ],
);

/** How far the webhook worker has read the event log: one row, moved in the transaction that queues the deliveries. */
export const webhookLogPosition = pgTable(
  "webhook_log_position",
  {
    id: smallint("id").primaryKey().default(1),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [check("webhook_log_position_one_row", sql`${t.id} = 1`)],
);

/**
 * A placeOrder idempotency key, scoped to the API key that sent it: two storefronts may use the
 * same string and place two orders. `api_key_id` is NULL for rows written before keys were scoped
 * (migration 0006) and for requests without an API key; NULLS NOT DISTINCT makes NULL one scope.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    key: text("key").notNull(),
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
    requestHash: text("request_hash").notNull(),
    orderId: integer("order_id").references(() => orders.id),
    /** The line issues the first request was answered with, replayed with the order. */
    issues: jsonb("issues").notNull().default([]),
    createdAt: createdAt(),
  },
  (t) => [
    unique("idempotency_keys_scope_key").on(t.apiKeyId, t.key).nullsNotDistinct(),
    // Log retention (docs/ARCHITECTURE.md, "Growth of the logs"): keys are pruned oldest first.
    index("idempotency_keys_created_idx").on(t.createdAt),
  ],
);

/**
 * What an order owes its customer back (docs/ARCHITECTURE.md, "Refunds"): one row per cancellation
 * of paid units, written in the cancelling transaction, its lines below. `amount` is the sum of its
 * lines, exact (numeric); `reference` is the payment system's confirmation, set once by
 * `markRefunded` with `refunded_at`.
 */
export const refunds = pgTable(
  "refunds",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    orderId: integer("order_id")
      .notNull()
      .references(() => orders.id),
    reason: text("reason", { enum: REFUND_REASONS }).notNull(),
    status: text("status", { enum: REFUND_STATUSES }).notNull().default("PENDING"),
    amount: numeric("amount", { precision: 14, scale: 2 }).notNull(),
    currencyCode: text("currency_code").notNull(),
    reference: text("reference"),
    createdAt: createdAt(),
    refundedAt: at("refunded_at"),
  },
  (t) => [
    index("refunds_order_idx").on(t.orderId),
    index("refunds_pending_idx")
      .on(t.createdAt)
      .where(sql`${t.status} = 'PENDING'`),
    check("refunds_amount_check", sql`${t.amount} >= 0`),
    check(
      "refunds_confirmed_check",
      sql`(${t.status} = 'REFUNDED') = (${t.reference} IS NOT NULL) AND (${t.status} = 'REFUNDED') = (${t.refundedAt} IS NOT NULL)`,
    ),
  ],
);

/** The units of one order line a refund pays back, at the line's unit price. */
export const refundLines = pgTable(
  "refund_lines",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    refundId: integer("refund_id")
      .notNull()
      .references(() => refunds.id),
    orderLineId: integer("order_line_id")
      .notNull()
      .references(() => orderLines.id),
    quantity: integer("quantity").notNull(),
    amount: numeric("amount", { precision: 14, scale: 2 }).notNull(),
  },
  (t) => [
    uniqueIndex("refund_lines_refund_line_key").on(t.refundId, t.orderLineId),
    index("refund_lines_order_line_idx").on(t.orderLineId),
    check("refund_lines_quantity_check", sql`${t.quantity} > 0 AND ${t.amount} >= 0`),
  ],
);

/**
 * Demand refused by a DENY policy or a limit, kept for the metrics even when the order was rejected.
 * `idempotency_key` is the refused request's key: a client retrying the same refused order with
 * its key is one customer's demand, recorded once per API key (rows without a key never conflict).
 */
export const lostDemand = pgTable(
  "lost_demand",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    productId: integer("product_id")
      .notNull()
      .references(() => products.id),
    quantity: integer("quantity").notNull(),
    code: text("code").notNull(),
    idempotencyKey: text("idempotency_key"),
    /** The API key that sent `idempotency_key` (NULL: none, or recorded before keys were scoped). */
    apiKeyId: integer("api_key_id").references(() => apiKeys.id),
    createdAt: createdAt(),
  },
  // coalesce: NULL scopes are one scope, while rows without an idempotency key still never conflict.
  (t) => [
    uniqueIndex("lost_demand_scoped_request_key").on(sql`coalesce(${t.apiKeyId}, 0)`, t.idempotencyKey, t.productId, t.code),
    // The demand refused in a window (backlog-metrics.query.ts).
    index("lost_demand_created_idx").on(t.createdAt),
  ],
);

/**
 * API keys (docs/ARCHITECTURE.md, "Access and limits"). Only a SHA-256 hash of the secret is stored: the secret is
 * shown once, at creation. `prefix` is a few characters of the secret, enough to tell keys apart
 * in a list or a log line and far too few to guess the rest.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    name: text("name").notNull(),
    role: text("role", { enum: API_KEY_ROLES }).notNull(),
    prefix: text("prefix").notNull(),
    /** Hex SHA-256 of the whole secret: what a request's key is looked up by. */
    secretHash: text("secret_hash").notNull(),
    createdAt: createdAt(),
    /** Updated at most once a minute per key, not on every request. */
    lastUsedAt: at("last_used_at"),
    revokedAt: at("revoked_at"),
    /** The one supplier a SUPPLIER key acts for (required with that role, NULL with any other). */
    supplierId: integer("supplier_id").references(() => suppliers.id),
  },
  (t) => [
    uniqueIndex("api_keys_secret_hash_key").on(t.secretHash),
    check("api_keys_role_check", sql`${t.role} IN ('ADMIN', 'OPERATOR', 'STOREFRONT', 'READER', 'SUPPLIER')`),
    check("api_keys_supplier_check", sql`(${t.role} = 'SUPPLIER') = (${t.supplierId} IS NOT NULL)`),
  ],
);

/**
 * Random values the server makes once per database and every instance shares, e.g. the key of
 * the customer pseudonyms READER keys see (a keyed hash: a plain hash of an e-mail address could
 * be reversed by hashing guesses).
 */
export const serverSecrets = pgTable("server_secrets", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
  createdAt: createdAt(),
});

/**
 * Each caller's bucket of query cost, shared by every instance (docs/ARCHITECTURE.md, "Access and
 * limits"): instances meter in memory and merge what they spent here a few times a second. `level`
 * is the points in the bucket at `updated_at`; it drains `refill_per_second` points a second.
 * `caller` is the bucket's name (an API key id or a client address), never a secret.
 */
export const costBudgets = pgTable("cost_budgets", {
  caller: text("caller").primaryKey(),
  level: doublePrecision("level").notNull(),
  refillPerSecond: doublePrecision("refill_per_second").notNull(),
  updatedAt: stamp("updated_at"),
});

/**
 * How many orders have each status (docs/ARCHITECTURE.md, "Counting"), so `orders { totalCount }`
 * filtered by status alone reads a few rows instead of counting the table. Kept by triggers on
 * `orders` (migration 0010), in the transaction of the change. Striped: an order counts in slot
 * `id % 16`, so transactions committing new orders at once mostly touch different rows; the count
 * of a status is the sum of its slots.
 */
export const orderCounts = pgTable(
  "order_counts",
  {
    status: text("status", { enum: ORDER_STATUSES }).notNull(),
    slot: smallint("slot").notNull(),
    n: bigint("n", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.status, t.slot] }), check("order_counts_slot_check", sql`${t.slot} >= 0 AND ${t.slot} < 16`)],
);

/**
 * How many orders with a line for each product have each status (docs/ARCHITECTURE.md,
 * "Counting"): `orders(filter: { productId }) { totalCount }`. Kept by triggers on `orders` and
 * `order_lines` (migration 0010). No foreign key: its check would lock the product row at commit,
 * after the business locks, and could wait for a transaction that waits for this one.
 */
export const productOrderCounts = pgTable(
  "product_order_counts",
  {
    productId: integer("product_id").notNull(),
    status: text("status", { enum: ORDER_STATUSES }).notNull(),
    n: bigint("n", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.productId, t.status] })],
);

/**
 * The counter changes of transactions in progress (docs/ARCHITECTURE.md, "Counting"): the
 * triggers append one row per counter a statement changed, and at commit a deferred trigger adds
 * them to `order_counts` (a row without `product_id`, in `slot`) and `product_order_counts` (a row
 * with one) and deletes them. Never holds a committed row; unlogged (migration 0010).
 */
export const orderCountChanges = pgTable("order_count_changes", {
  productId: integer("product_id"),
  status: text("status", { enum: ORDER_STATUSES }).notNull(),
  slot: smallint("slot"),
  n: bigint("n", { mode: "number" }).notNull(),
});

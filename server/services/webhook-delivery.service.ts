/**
 * Webhook deliveries (docs/ARCHITECTURE.md, "Webhooks"): the event log (the outbox) is read in
 * `seq` order into one delivery row per (event, subscribed endpoint), with its whole body fixed at
 * that moment; a worker claims due rows with a lease, POSTs them outside any transaction and
 * records each attempt. At least once: a row is only ever finished by a recorded answer.
 */
import { sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { WebhookEventType } from "../../drizzle/contract.js";
import { type Database, type Executor, PLANNED_EACH_TIME, rows, schema } from "../../drizzle/db.js";
import { intArray, jsonb, toDate } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { queuePlaces } from "./backlog.query.js";
import { shipBySql } from "./supplier-order.query.js";
import { refuse } from "./types.js";
import { requireId } from "./validation.js";
import { encodeGlobalId } from "./global-id.js";

const {
  backorders,
  events,
  orderLines,
  orders,
  products,
  refundLines,
  refunds,
  restocks,
  stockMovements,
  supplierOrders,
  suppliers,
  webhookDeliveries,
  webhookEndpoints,
  webhookLogPosition,
} = schema;

/**
 * Queues every delivery of `endpointId` whose source event is after position `afterSeq` again,
 * whatever its status: PENDING, no attempts, due now, lease cleared. Its `event_id` and body stay,
 * so a receiver that had it dedupes it. Answers how many; NOT_FOUND for an unknown endpoint.
 * A delivery in flight right now keeps its attempt: its lease no longer matches (`attempts`
 * changed), so that attempt's answer is not recorded over the requeued row.
 */
export async function redeliverWebhooks(db: Database, endpointId: number, afterSeq: number): Promise<number> {
  const id = requireId(endpointId, ["endpointId"], "webhook endpoint");
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) refuse("INVALID_INPUT", "after must be an event cursor", ["after"]);
  return inTransaction(db, async (tx) => {
    const [endpoint] = await rows<{ id: number }>(tx, sql`SELECT ${webhookEndpoints.id} FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${id}`);
    if (!endpoint) refuse("NOT_FOUND", "webhook endpoint not found", ["endpointId"]);
    const d = webhookDeliveries;
    const [row] = await rows<{ n: number | string }>(
      tx,
      sql`
      WITH requeued AS (
        UPDATE ${d} SET status = 'PENDING', attempts = 0, next_attempt_at = now(), locked_until = NULL
        WHERE ${d.endpointId} = ${id} AND ${d.eventSeq} > ${afterSeq}
        RETURNING 1
      )
      SELECT count(*) AS n FROM requeued`,
    );
    return Number(row?.n ?? 0);
  });
}

/** Standard Webhooks `type` of each event type: lower-case, dotted after the subject. */
export const WEBHOOK_TYPE_NAMES: Record<WebhookEventType, string> = {
  ORDER_BACKORDERED: "order.backordered",
  ORDER_DELAYED: "order.delayed",
  ORDER_READY_TO_SHIP: "order.ready_to_ship",
  ORDER_SHIPPED: "order.shipped",
  ORDER_CANCELLED: "order.cancelled",
  BACKORDER_EXPIRED: "backorder.expired",
  REFUND_DUE: "refund.due",
  RESTOCK_RECEIVED: "restock.received",
  SUPPLIER_ORDER_CREATED: "supplier_order.created",
};

/** The most events one fan-out pass reads from the log. */
export const FAN_OUT_BATCH = 1000;
/** The longest `last_error` kept: enough to diagnose, never a whole response. */
export const MAX_ERROR_LENGTH = 500;

/** The body of one delivery (Standard Webhooks): the same bytes on every attempt. */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** The global id of a row, as the API shows it. */
const globalId = (type: "Order" | "Refund" | "Restock" | "Product" | "Supplier" | "SupplierOrder", id: number): string => encodeGlobalId(type, id);

const iso = (value: unknown): string | null => toDate(value)?.toISOString() ?? null;
const int = (value: unknown): number => Number(value);

/** One event of the log as the fan-out reads it. */
interface SourceEvent {
  id: number;
  seq: number;
  type: string;
  orderId: number | null;
  restockId: number | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

/** A delivery to queue for every enabled endpoint subscribed to its type. */
interface Message {
  eventId: string;
  type: WebhookEventType;
  seq: number;
  createdAt: string;
  orderId: number | null;
  source: SourceEvent;
  refundId?: number;
  supplierOrderId?: number;
}

/**
 * The webhook types one log event becomes (docs/ARCHITECTURE.md, "Webhooks", the mapping table).
 * `backordered` holds the orders that have backorders: a PLACED order without any is no news to
 * the customer beyond the order confirmation the shop sends itself.
 */
function messagesOf(event: SourceEvent, backordered: ReadonlySet<number>): Message[] {
  const base = { seq: event.seq, createdAt: event.createdAt, orderId: event.orderId, source: event };
  const main = (type: WebhookEventType): Message => ({ ...base, eventId: `evt_${event.id}`, type });
  const refund = (): Message[] => {
    const refundId = event.payload.refundId;
    return typeof refundId === "number" ? [{ ...base, eventId: `evt_${event.id}_refund`, type: "REFUND_DUE", refundId }] : [];
  };
  if (event.type === "RESTOCK_CHANGED") return event.payload.kind === "RECEIVED" && event.restockId !== null ? [main("RESTOCK_RECEIVED")] : [];
  if (event.type === "SUPPLIER_ORDER_CHANGED") {
    // Only the creation is news of its own: what a supplier's later acts mean to the customer
    // (shipped, cancelled, refund due) comes through the order's ORDER_CHANGED events of the same
    // transaction, and an acknowledgement moves only the expected date.
    const supplierOrderId = event.payload.supplierOrderId;
    return event.payload.kind === "CREATED" && event.orderId !== null && typeof supplierOrderId === "number"
      ? [{ ...main("SUPPLIER_ORDER_CREATED"), supplierOrderId }]
      : [];
  }
  if (event.type !== "ORDER_CHANGED" || event.orderId === null) return [];
  switch (event.payload.kind) {
    case "PLACED":
      return backordered.has(event.orderId) ? [main("ORDER_BACKORDERED")] : [];
    case "DELAYED":
      return [main("ORDER_DELAYED")];
    case "ALLOCATED":
    case "BACKORDER_FILLED":
      return event.payload.status === "READY_TO_SHIP" ? [main("ORDER_READY_TO_SHIP")] : [];
    case "SHIPPED":
      return [main("ORDER_SHIPPED")];
    case "CANCELLED":
      return [main("ORDER_CANCELLED"), ...refund()];
    case "EXPIRED":
      return [main("BACKORDER_EXPIRED"), ...refund()];
    default:
      return [];
  }
}

/** What the bodies are built from, read set-based for a whole batch (a few statements, whatever its size). */
interface BatchState {
  orders: Map<number, Record<string, unknown>>;
  lines: Map<number, Record<string, unknown>[]>;
  backorders: Map<number, Record<string, unknown>[]>;
  refunds: Map<number, Record<string, unknown>>;
  restocks: Map<number, Record<string, unknown>>;
  received: Map<number, number>;
  supplierOrders: Map<number, Record<string, unknown>>;
}

function groupBy(found: Record<string, unknown>[], key: string): Map<number, Record<string, unknown>[]> {
  const groups = new Map<number, Record<string, unknown>[]>();
  for (const row of found) {
    const k = int(row[key]);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = []));
    group.push(row);
  }
  return groups;
}

/**
 * Reads, in a handful of statements, the orders (with their lines, backorders and queue places),
 * refunds, restocks and supplier orders the batch's messages describe: their state now, which in
 * normal running is right after the events' commit.
 */
async function readBatchState(
  tx: Executor,
  orderIds: number[],
  refundIds: number[],
  receipts: SourceEvent[],
  supplierOrderIds: number[],
): Promise<BatchState> {
  const state: BatchState = {
    orders: new Map(),
    lines: new Map(),
    backorders: new Map(),
    refunds: new Map(),
    restocks: new Map(),
    received: new Map(),
    supplierOrders: new Map(),
  };
  if (orderIds.length > 0) {
    const [foundOrders, foundLines, foundBackorders] = await Promise.all([
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT id, number, customer, status, total::text AS total, currency_code, cancel_reason, created_at
            FROM ${orders} WHERE id = ANY(${intArray(orderIds)})`,
      ),
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT l.order_id, l.line_number, p.sku, p.name, l.quantity, l.unit_price::text AS unit_price,
                   l.allocated, l.waiting, l.shipped, l.cancelled
            FROM ${orderLines} l JOIN ${products} p ON p.id = l.product_id
            WHERE l.order_id = ANY(${intArray(orderIds)}) ORDER BY l.order_id, l.line_number`,
      ),
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT b.id, b.order_id, l.line_number, p.sku, b.quantity, b.remaining, b.status, b.expected_at, b.promised_at, b.delayed
            FROM ${backorders} b JOIN ${orderLines} l ON l.id = b.order_line_id JOIN ${products} p ON p.id = b.product_id
            WHERE b.order_id = ANY(${intArray(orderIds)}) ORDER BY b.order_id, l.line_number, b.id`,
      ),
    ]);
    const waiting = foundBackorders.filter((row) => row.status === "WAITING").map((row) => int(row.id));
    const places = await queuePlaces(tx, waiting);
    const placeOf = new Map(waiting.map((id, i) => [id, places[i]?.position ?? null]));
    for (const row of foundBackorders) row.position = placeOf.get(int(row.id)) ?? null;
    for (const row of foundOrders) state.orders.set(int(row.id), row);
    state.lines = groupBy(foundLines, "order_id");
    state.backorders = groupBy(foundBackorders, "order_id");
  }
  if (refundIds.length > 0) {
    const [foundRefunds, foundLines] = await Promise.all([
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT id, order_id, reason, status, amount::text AS amount, currency_code, created_at
            FROM ${refunds} WHERE id = ANY(${intArray(refundIds)})`,
      ),
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT rl.refund_id, l.line_number, p.sku, rl.quantity, rl.amount::text AS amount
            FROM ${refundLines} rl JOIN ${orderLines} l ON l.id = rl.order_line_id JOIN ${products} p ON p.id = l.product_id
            WHERE rl.refund_id = ANY(${intArray(refundIds)}) ORDER BY rl.refund_id, l.line_number`,
      ),
    ]);
    const linesOf = groupBy(foundLines, "refund_id");
    for (const row of foundRefunds) state.refunds.set(int(row.id), { ...row, lines: linesOf.get(int(row.id)) ?? [] });
  }
  if (receipts.length > 0) {
    // The units of one receipt: its ledger rows, written by the receiving transaction, share the
    // event's created_at (both the transaction's now()).
    const wanted = receipts.map((event) => ({ event_id: event.id, restock_id: event.restockId }));
    const [foundRestocks, foundReceived] = await Promise.all([
      rows<Record<string, unknown>>(
        tx,
        sql`SELECT r.id, r.product_id, p.sku, p.name, r.quantity, r.received_quantity, r.status, r.expected_at, r.received_at, r.reference
            FROM ${restocks} r JOIN ${products} p ON p.id = r.product_id
            WHERE r.id = ANY(${intArray(receipts.map((event) => event.restockId!))})`,
      ),
      rows<{ event_id: number; units: number | string | null }>(
        tx,
        sql`SELECT w.event_id, (SELECT sum(m.delta) FROM ${stockMovements} m
                                 WHERE m.product_id = r.product_id AND m.location_id = r.location_id
                                   AND m.restock_id = r.id AND m.created_at = ev.created_at) AS units
            FROM jsonb_to_recordset(${jsonb(wanted)}) AS w(event_id bigint, restock_id int)
            JOIN ${events} ev ON ev.id = w.event_id
            JOIN ${restocks} r ON r.id = w.restock_id`,
      ),
    ]);
    for (const row of foundRestocks) state.restocks.set(int(row.id), row);
    for (const row of foundReceived) state.received.set(int(row.event_id), int(row.units ?? 0));
  }
  if (supplierOrderIds.length > 0) {
    // The expected ship date as the API computes it (`shipBySql`): the acknowledged date, else
    // the creation plus the supplier's lead time, else null.
    const so = supplierOrders;
    const found = await rows<Record<string, unknown>>(
      tx,
      sql`SELECT ${so.id} AS id, l.line_number, p.sku, p.name AS product_name, ${so.quantity} AS quantity, ${so.status} AS status,
                 ${shipBySql(so, suppliers)} AS ship_by, ${so.createdAt} AS created_at, ${suppliers.id} AS supplier_id, ${suppliers.name} AS supplier_name
          FROM ${so} JOIN ${suppliers} ON ${suppliers.id} = ${so.supplierId}
          JOIN ${orderLines} l ON l.id = ${so.orderLineId} JOIN ${products} p ON p.id = ${so.productId}
          WHERE ${so.id} = ANY(${intArray(supplierOrderIds)})`,
    );
    for (const row of found) state.supplierOrders.set(int(row.id), row);
  }
  return state;
}

const money = (amount: unknown, currencyCode: unknown) => ({ amount: String(amount), currencyCode: String(currencyCode) });

function orderData(state: BatchState, orderId: number): Record<string, unknown> {
  const order = state.orders.get(orderId);
  if (!order) return { order: { id: globalId("Order", orderId) }, lines: [] };
  return {
    order: {
      id: globalId("Order", orderId),
      number: order.number,
      customer: order.customer,
      status: order.status,
      total: money(order.total, order.currency_code),
      placedAt: iso(order.created_at),
      ...(order.cancel_reason ? { cancelReason: order.cancel_reason } : {}),
    },
    lines: (state.lines.get(orderId) ?? []).map((line) => ({
      lineNumber: int(line.line_number),
      sku: line.sku,
      name: line.name,
      quantity: int(line.quantity),
      unitPrice: money(line.unit_price, order.currency_code),
      allocated: int(line.allocated),
      waiting: int(line.waiting),
      shipped: int(line.shipped),
      cancelled: int(line.cancelled),
    })),
  };
}

function supplierOrderData(state: BatchState, supplierOrderId: number): Record<string, unknown> {
  const found = state.supplierOrders.get(supplierOrderId);
  if (!found) return { id: globalId("SupplierOrder", supplierOrderId) };
  return {
    id: globalId("SupplierOrder", supplierOrderId),
    lineNumber: int(found.line_number),
    sku: found.sku,
    productName: found.product_name,
    quantity: int(found.quantity),
    status: found.status,
    expectedShipAt: iso(found.ship_by),
    createdAt: iso(found.created_at),
    supplier: { id: globalId("Supplier", int(found.supplier_id)), name: found.supplier_name },
  };
}

function refundData(state: BatchState, refundId: number): Record<string, unknown> {
  const refund = state.refunds.get(refundId);
  if (!refund) return { id: globalId("Refund", refundId) };
  return {
    id: globalId("Refund", refundId),
    amount: money(refund.amount, refund.currency_code),
    reason: refund.reason,
    status: refund.status,
    createdAt: iso(refund.created_at),
    lines: (refund.lines as Record<string, unknown>[]).map((line) => ({
      lineNumber: int(line.line_number),
      sku: line.sku,
      quantity: int(line.quantity),
      amount: money(line.amount, refund.currency_code),
    })),
  };
}

/** The `data` of one message, from the batch's state. */
function dataOf(message: Message, state: BatchState): Record<string, unknown> {
  const { source } = message;
  if (message.type === "RESTOCK_RECEIVED") {
    const restock = state.restocks.get(source.restockId!);
    return {
      restock: restock
        ? {
            id: globalId("Restock", int(restock.id)),
            productId: globalId("Product", int(restock.product_id)),
            sku: restock.sku,
            name: restock.name,
            quantity: int(restock.quantity),
            receivedQuantity: int(restock.received_quantity),
            status: restock.status,
            expectedAt: iso(restock.expected_at),
            receivedAt: iso(restock.received_at),
            reference: restock.reference ?? null,
          }
        : { id: globalId("Restock", source.restockId!) },
      unitsReceived: state.received.get(source.id) ?? null,
      unitsToBacklog: int(source.payload.filledUnits ?? 0),
    };
  }
  const data = orderData(state, message.orderId!);
  const backordersOf = state.backorders.get(message.orderId!) ?? [];
  switch (message.type) {
    case "ORDER_BACKORDERED":
      data.backorders = backordersOf.map((b) => ({
        lineNumber: int(b.line_number),
        sku: b.sku,
        quantityBackordered: int(b.quantity),
        quantityWaiting: int(b.remaining),
        queuePosition: b.position ?? null,
        expectedAt: iso(b.expected_at),
        promisedAt: iso(b.promised_at),
      }));
      break;
    case "ORDER_DELAYED":
      data.delays = backordersOf
        .filter((b) => b.status === "WAITING" && (b.delayed === true || b.delayed === "t"))
        .map((b) => ({
          lineNumber: int(b.line_number),
          sku: b.sku,
          quantityWaiting: int(b.remaining),
          queuePosition: b.position ?? null,
          previousDate: iso(b.promised_at),
          newDate: iso(b.expected_at),
        }));
      break;
    case "ORDER_CANCELLED":
    case "BACKORDER_EXPIRED":
    case "REFUND_DUE": {
      const refundId = message.refundId ?? source.payload.refundId;
      if (typeof refundId === "number") data.refund = refundData(state, refundId);
      break;
    }
    case "SUPPLIER_ORDER_CREATED":
      data.supplierOrder = supplierOrderData(state, message.supplierOrderId!);
      break;
    default:
  }
  return data;
}

/** What one fan-out batch did. */
export interface FanOutBatch {
  /** Events read from the log (a full batch: call again). */
  read: number;
  /** Whether an endpoint is enabled (read in the same round trip as the position): without one, the worker has nothing to claim. */
  endpoints: boolean;
}

/**
 * Reads the log after the worker's position into deliveries (docs/ARCHITECTURE.md, "Webhooks"):
 * in one transaction, takes the position row (`FOR UPDATE SKIP LOCKED`: when another instance is
 * at it, reads nothing at once), reads up to `limit` events in `seq` order, maps them to webhook
 * messages, writes one delivery per (message, enabled endpoint subscribed to its type and created
 * no later than the event) with `ON CONFLICT DO NOTHING`, and moves the position past the batch.
 * A crash before the commit leaves everything as it was; the rerun makes the same `event_id`s.
 * The position and the endpoints are read together, and the deliveries and the new position
 * written together (a transaction's statements sent without waiting share a round trip): a
 * fan-out is on the way from an event to its receiver, and every round trip there waits its turn
 * in a busy event loop.
 */
export async function fanOutWebhookBatch(db: Database, { limit = FAN_OUT_BATCH }: { limit?: number } = {}): Promise<FanOutBatch> {
  const batch = Math.max(1, Math.min(Math.trunc(limit) || FAN_OUT_BATCH, 10_000));
  return db.transaction(async (tx) => {
    const [[position], endpoints] = await Promise.all([
      rows<{ seq: number | string }>(tx, sql`SELECT seq FROM ${webhookLogPosition} WHERE id = 1 FOR UPDATE SKIP LOCKED`),
      rows<{ events: string[] | string }>(tx, sql`SELECT events FROM ${webhookEndpoints} WHERE enabled`),
    ]);
    const enabled = endpoints.length > 0;
    if (!position) return { read: 0, endpoints: enabled };
    const after = int(position.seq);
    const subscribed = new Set(endpoints.flatMap((row) => (Array.isArray(row.events) ? row.events : String(row.events).replace(/[{}]/g, "").split(","))));
    if (subscribed.size === 0) {
      // Nobody listens: move past the batch without reading its payloads.
      const [moved] = await rows<{ n: number | string }>(
        tx,
        sql`WITH batch AS (SELECT seq FROM ${events} WHERE seq > ${after} ORDER BY seq LIMIT ${batch}),
                 moved AS (UPDATE ${webhookLogPosition} SET seq = (SELECT max(seq) FROM batch) WHERE id = 1 AND EXISTS (SELECT 1 FROM batch) RETURNING 1)
            SELECT count(*) AS n FROM batch`,
      );
      return { read: int(moved?.n ?? 0), endpoints: enabled };
    }
    const found = await rows<Record<string, unknown>>(
      tx,
      sql`SELECT id, seq, type, order_id, restock_id, payload, created_at FROM ${events}
          WHERE seq > ${after} ORDER BY seq LIMIT ${batch}`,
    );
    if (found.length === 0) return { read: 0, endpoints: enabled };
    const source: SourceEvent[] = found.map((row) => ({
      id: int(row.id),
      seq: int(row.seq),
      type: String(row.type),
      orderId: row.order_id === null ? null : int(row.order_id),
      restockId: row.restock_id === null ? null : int(row.restock_id),
      payload: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>,
      createdAt: toDate(row.created_at)!.toISOString(),
    }));
    const lastSeq = source[source.length - 1].seq;
    const placed = source.filter((e) => e.type === "ORDER_CHANGED" && e.payload.kind === "PLACED" && e.orderId !== null).map((e) => e.orderId!);
    const backordered = new Set<number>();
    if (placed.length > 0 && subscribed.has("ORDER_BACKORDERED")) {
      const withBackorders = await rows<{ order_id: number }>(
        tx,
        sql`SELECT DISTINCT order_id FROM ${backorders} WHERE order_id = ANY(${intArray([...new Set(placed)])})`,
      );
      for (const row of withBackorders) backordered.add(int(row.order_id));
    }
    const messages = source.flatMap((event) => messagesOf(event, backordered)).filter((message) => subscribed.has(message.type));
    const move = () => tx.execute(sql`UPDATE ${webhookLogPosition} SET seq = ${lastSeq} WHERE id = 1`);
    if (messages.length > 0) {
      const orderIds = [...new Set(messages.filter((m) => m.type !== "RESTOCK_RECEIVED").map((m) => m.orderId!))];
      const refundIds = [
        ...new Set(messages.flatMap((m) => (typeof m.source.payload.refundId === "number" && m.orderId !== null ? [m.source.payload.refundId] : []))),
      ];
      const receipts = messages.filter((m) => m.type === "RESTOCK_RECEIVED").map((m) => m.source);
      const supplierOrderIds = [...new Set(messages.flatMap((m) => (m.supplierOrderId === undefined ? [] : [m.supplierOrderId])))];
      const state = await readBatchState(tx, orderIds, refundIds, receipts, supplierOrderIds);
      const queued = messages.map((message, n) => ({
        n,
        source_id: message.source.id,
        event_id: message.eventId,
        event_type: message.type,
        event_seq: message.seq,
        order_id: message.type === "RESTOCK_RECEIVED" ? null : message.orderId,
        payload: { type: WEBHOOK_TYPE_NAMES[message.type], timestamp: message.createdAt, data: dataOf(message, state) } satisfies WebhookBody,
      }));
      // One statement for the whole batch: each message to every endpoint that wants it. Ids are
      // given in the messages' (log) order, which the per-order ordering of the claim relies on.
      const insert = tx.execute(sql`
        INSERT INTO ${webhookDeliveries} (endpoint_id, event_id, event_type, event_seq, order_id, payload)
        SELECT e.id, m.event_id, m.event_type, m.event_seq, m.order_id, m.payload
        FROM jsonb_to_recordset(${jsonb(queued)}) AS m(n int, source_id bigint, event_id text, event_type text, event_seq bigint, order_id int, payload jsonb)
        JOIN ${events} ev ON ev.id = m.source_id
        JOIN ${webhookEndpoints} e ON e.enabled AND m.event_type = ANY(e.events) AND e.created_at <= ev.created_at
        ORDER BY m.n, e.id
        ON CONFLICT (endpoint_id, event_id) DO NOTHING`);
      await Promise.all([insert, move()]);
    } else await move();
    return { read: source.length, endpoints: enabled };
  });
}

/** A delivery claimed for one attempt, with what the attempt needs. */
export interface ClaimedDelivery {
  id: number;
  endpointId: number;
  eventId: string;
  eventType: WebhookEventType;
  orderId: number | null;
  /** The body, serialized once: every attempt sends these bytes. */
  body: string;
  /** This attempt's number (1 for the first). */
  attempts: number;
  /** The claim's token: the lease's end in microseconds; recording checks it. */
  lease: string;
  url: string;
  secret: string;
}

export interface ClaimOptions {
  /** The most deliveries to claim. */
  limit: number;
  /** How long the claim holds a delivery: longer than an attempt can take (its timeout). */
  leaseMs: number;
  /** Attempts each endpoint may have in flight here at once. Default 1. */
  perEndpoint?: number;
  /** Attempts in flight here now, by endpoint: an endpoint gets at most `perEndpoint` minus its load; a full one is skipped. */
  endpointLoad?: ReadonlyMap<number, number>;
}

/**
 * Claims due deliveries in one statement (docs/ARCHITECTURE.md, "Webhooks"): PENDING, due, not
 * leased (or the lease lapsed: a killed worker), no earlier PENDING delivery of the same order to
 * the same endpoint (per-order order: two deliveries of one order are never in flight together),
 * the endpoint enabled and not full; per endpoint at most the slots it has free here, so one
 * endpoint's backlog cannot fill a claim. `FOR UPDATE SKIP LOCKED`: two workers
 * never claim the same row. The claim sets the lease and counts the attempt before it is made, so
 * a crash during the attempt is an attempt spent, and the delivery is due again when the lease lapses.
 */
export async function claimDueDeliveries(
  db: Database,
  { limit, leaseMs, perEndpoint = 1, endpointLoad = new Map() }: ClaimOptions,
): Promise<ClaimedDelivery[]> {
  const n = Math.max(0, Math.min(Math.trunc(limit), 1000));
  if (n === 0) return [];
  const lease = Math.max(1, Math.min(Math.trunc(leaseMs), 86_400_000));
  const slots = Math.max(1, Math.min(Math.trunc(perEndpoint), 100));
  const loaded = [...endpointLoad].filter(([, load]) => load > 0);
  const busyEndpointIds = loaded.filter(([, load]) => load >= slots).map(([id]) => id);
  const load = loaded.filter(([, used]) => used < slots);
  const d = alias(webhookDeliveries, "d");
  const found = await rows<Record<string, unknown>>(
    db,
    sql`${sql.raw(PLANNED_EACH_TIME)}
    WITH used AS (
      SELECT * FROM unnest(${intArray(load.map(([id]) => id))}, ${intArray(load.map(([, used]) => used))}) AS u(endpoint_id, n)
    ), chosen AS (
      -- Per enabled endpoint with a free slot, its own oldest due deliveries (one range of
      -- webhook_deliveries_endpoint_due_idx each: at most 50 endpoints).
      SELECT c.id FROM ${webhookEndpoints} e
      LEFT JOIN used u ON u.endpoint_id = e.id
      CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at FROM ${webhookDeliveries} d
        WHERE d.endpoint_id = e.id AND d.status = 'PENDING' AND d.next_attempt_at <= now()
          AND (d.locked_until IS NULL OR d.locked_until < now())
          -- The oldest PENDING delivery of its order to this endpoint: a min() that only
          -- webhook_deliveries_order_idx answers in one probe, whatever the statistics say (as
          -- NOT EXISTS, a planner that took the table for empty walked the due index instead).
          AND (d.order_id IS NULL OR d.id = (
            SELECT min(p.id) FROM ${webhookDeliveries} p
            WHERE p.status = 'PENDING' AND p.endpoint_id = d.endpoint_id AND p.order_id = d.order_id))
        ORDER BY d.next_attempt_at, d.id
        LIMIT ${slots} - coalesce(u.n, 0)
        FOR UPDATE OF d SKIP LOCKED
      ) c
      WHERE e.enabled AND NOT (e.id = ANY(${intArray(busyEndpointIds)}))
      ORDER BY c.next_attempt_at, c.id
      LIMIT ${n}
    )
    UPDATE ${webhookDeliveries} ${d}
    SET locked_until = now() + ${lease} * interval '1 millisecond', attempts = ${d.attempts} + 1, last_attempt_at = now()
    FROM ${webhookEndpoints} e
    -- By primary key: joined to the CTE, a planner that took the table for empty scanned all of it
    -- once per chosen row (a claim's time grew with the table, 30 to 90 ms within a minute).
    WHERE ${d.id} = ANY(ARRAY(SELECT id FROM chosen)) AND e.id = ${d.endpointId}
    RETURNING ${d.id}, ${d.endpointId}, ${d.eventId}, ${d.eventType}, ${d.orderId}, ${d.payload}::text AS payload, ${d.attempts},
              (extract(epoch FROM ${d.lockedUntil}) * 1000000)::bigint::text AS lease, e.url, e.secret`,
  );
  return found
    .map((row) => ({
      id: int(row.id),
      endpointId: int(row.endpoint_id),
      eventId: String(row.event_id),
      eventType: row.event_type as WebhookEventType,
      orderId: row.order_id === null ? null : int(row.order_id),
      body: typeof row.payload === "string" ? row.payload : JSON.stringify(row.payload),
      attempts: int(row.attempts),
      lease: String(row.lease),
      url: String(row.url),
      secret: String(row.secret),
    }))
    .sort((a, b) => a.id - b.id);
}

/** What one attempt came to: the HTTP status when an answer came, else the error. */
export interface AttemptResult {
  status?: number;
  error?: string;
}

export interface RecordOptions {
  /** Attempts after which a failure is final (FAILED, the dead letter). */
  maxAttempts: number;
  /** Backoff: the first retry waits up to `baseMs`, each next one up to twice as long, never more than `capMs`. */
  baseMs?: number;
  capMs?: number;
  /** The jitter's source, in [0, 1) (tests pin it). */
  random?: () => number;
}

/** The default backoff: up to 1 s before the first retry, doubling, at most an hour. */
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 3_600_000;

/**
 * The wait before the retry after attempt `attempts` (1-based), with full jitter: uniform in
 * [0, min(cap, base × 2^(attempts−1))]. Jitter spreads the retries of many deliveries that failed
 * together (an endpoint back up) instead of sending them again all at once.
 */
export function backoffMs(
  attempts: number,
  { baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS, random = Math.random }: Omit<RecordOptions, "maxAttempts"> = {},
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(ceiling * Math.min(Math.max(random(), 0), 1));
}

/** An error text fit to keep: no control characters, at most {@link MAX_ERROR_LENGTH} characters. */
export function boundedError(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return clean.length > MAX_ERROR_LENGTH ? `${clean.slice(0, MAX_ERROR_LENGTH - 1)}…` : clean;
}

/** How a recorded attempt left its delivery; null when the claim was no longer this worker's. */
export interface RecordedAttempt {
  status: "PENDING" | "DELIVERED" | "FAILED";
  nextAttemptAt: Date;
}

/** One attempt to record: the claim it was made under and what came of it. */
export interface AttemptToRecord {
  claim: Pick<ClaimedDelivery, "id" | "attempts" | "lease">;
  result: AttemptResult;
}

/**
 * Records attempts' outcomes, all in one statement: a 2xx is DELIVERED; anything else is FAILED
 * after the last attempt, else PENDING again after the backoff. The lease is cleared, the answer's
 * status and a bounded error kept. Only while the claim is still this one (same attempt count and
 * lease): a lease that lapsed and was claimed again, or a redelivery, is not overwritten by a late
 * answer. Answers, in the order given, how each delivery was left; null where the claim was no
 * longer this one. One statement for many saves a commit (a flush of the WAL) per attempt: the
 * worker records what finished while its last record was on its way together.
 */
export async function recordDeliveryAttempts(
  db: Database,
  attempts: readonly AttemptToRecord[],
  options: RecordOptions,
): Promise<(RecordedAttempt | null)[]> {
  if (attempts.length === 0) return [];
  const values = attempts.map(({ claim, result }) => {
    const delivered = result.status !== undefined && result.status >= 200 && result.status <= 299;
    const final = !delivered && claim.attempts >= options.maxAttempts;
    const status = delivered ? "DELIVERED" : final ? "FAILED" : "PENDING";
    return {
      id: claim.id,
      attempts: claim.attempts,
      lease: claim.lease,
      status,
      delay: delivered || final ? 0 : backoffMs(claim.attempts, options),
      error: delivered ? null : boundedError(result.error ?? `HTTP ${result.status ?? "no answer"}`),
      response_status: result.status === undefined ? null : Math.trunc(result.status),
    };
  });
  const d = webhookDeliveries;
  const found = await rows<{ id: unknown; attempts: unknown; status: RecordedAttempt["status"]; next_attempt_at: unknown }>(
    db,
    sql`
    UPDATE ${d} SET status = v.status, locked_until = NULL, response_status = v.response_status, last_error = v.error,
      next_attempt_at = CASE WHEN v.status = 'PENDING' THEN now() + v.delay * interval '1 millisecond' ELSE ${d.nextAttemptAt} END
    FROM jsonb_to_recordset(${jsonb(values)}) AS v(id bigint, attempts int, lease text, status text, delay bigint, error text, response_status int)
    WHERE ${d.id} = v.id AND ${d.attempts} = v.attempts
      AND (extract(epoch FROM ${d.lockedUntil}) * 1000000)::bigint::text = v.lease
    RETURNING ${d.id}, ${d.attempts}, ${d.status}, ${d.nextAttemptAt}`,
  );
  // By claim, not by delivery: a delivery claimed again after its lease lapsed may be in one batch
  // twice, and only the claim whose token matched was recorded.
  const claimOf = (id: unknown, attempts: unknown) => `${int(id)}/${int(attempts)}`;
  const recorded = new Map(found.map((row) => [claimOf(row.id, row.attempts), { status: row.status, nextAttemptAt: toDate(row.next_attempt_at)! }]));
  return attempts.map(({ claim }) => recorded.get(claimOf(claim.id, claim.attempts)) ?? null);
}

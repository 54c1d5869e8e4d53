/**
 * The backlog: each product's first-come, first-served queue of waiting backorders, and the one
 * statement that fills it from whatever stock is free.
 */
import { eq, sql } from "drizzle-orm";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { recomputeEta } from "./eta.service.js";
import { freeStock } from "./location.query.js";
import { recordOrderChanges, recordProductChanges } from "./event.service.js";
import { refreshOrderStatuses } from "./order-status.js";
import { lockProduct } from "./product.service.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { type BackorderRecord, refuse } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { backorders } = schema;

export interface FillResult {
  /** Backorders that received units, in queue order. */
  backorderIds: number[];
  /** Their orders. */
  orderIds: number[];
  units: number;
}

/**
 * The most backorders one fill statement takes. A restock that fills more runs several, each
 * starting at the queue's new head: every statement stays far inside the statement timeout
 * (DATABASE_STATEMENT_TIMEOUT_MS, 10 s by default) however large the restock, and the fill still
 * costs one statement per 10,000 backorders, never a round trip per backorder.
 */
export const FILL_CHUNK = 10_000;

/**
 * Fills a product's backlog, FIFO, from the free units of all its locations, in one statement
 * per {@link FILL_CHUNK} backorders. The queue's running totals of waiting units form one line of
 * intervals and the locations' free units (in location priority order) another; each overlap is a
 * fill of that many units from that location. Only as many queue rows as there are free units
 * are read. The caller holds the product's lock; order statuses and events are the caller's to write.
 */
export async function fillBacklog(tx: Executor, productId: number, chunk = FILL_CHUNK): Promise<FillResult> {
  const result: FillResult = { backorderIds: [], orderIds: [], units: 0 };
  const orderIds = new Set<number>();
  for (;;) {
    const filled = await fillHead(tx, productId, chunk);
    for (const row of filled) {
      result.backorderIds.push(Number(row.backorder_id));
      orderIds.add(Number(row.order_id));
      result.units += Number(row.quantity);
    }
    // Fewer than a chunk: the free units ran out, or the queue did.
    if (filled.length < chunk) break;
  }
  result.orderIds = [...orderIds];
  return result;
}

/** One fill statement: at most `chunk` backorders from the head of the queue. */
async function fillHead(tx: Executor, productId: number, chunk: number) {
  return rows<{ backorder_id: number; order_id: number; quantity: number }>(
    tx,
    sql`
    WITH supply AS (${freeStock([productId])}
    ), supply_span AS (
      SELECT location_id, free_through - free AS span_start, free_through AS span_end FROM supply
    ), head AS (
      SELECT id, order_id, order_line_id, remaining, priority
      FROM backorders
      WHERE product_id = ${productId} AND status = 'WAITING'
      ORDER BY priority DESC, id
      LIMIT least(${chunk}::int, (SELECT coalesce(sum(free), 0) FROM supply))
    ), queue_span AS (
      SELECT id, order_id, order_line_id, remaining,
             sum(remaining) OVER w - remaining AS span_start, sum(remaining) OVER w AS span_end,
             row_number() OVER w AS place
      FROM head WINDOW w AS (ORDER BY priority DESC, id)
    ), fills AS (
      SELECT q.id AS backorder_id, q.order_id, q.order_line_id, q.place, s.location_id,
             (least(q.span_end, s.span_end) - greatest(q.span_start, s.span_start))::int AS quantity
      FROM queue_span q JOIN supply_span s ON q.span_start < s.span_end AND s.span_start < q.span_end
    ), per_backorder AS (
      SELECT backorder_id, order_id, order_line_id, min(place) AS place, sum(quantity)::int AS quantity
      FROM fills GROUP BY backorder_id, order_id, order_line_id
    ), per_location AS (
      SELECT location_id, sum(quantity)::int AS quantity FROM fills GROUP BY location_id
    ), filled_backorders AS (
      UPDATE backorders b
      SET remaining = b.remaining - p.quantity,
          status = CASE WHEN b.remaining = p.quantity THEN 'FILLED' ELSE b.status END,
          filled_at = CASE WHEN b.remaining = p.quantity THEN now() ELSE b.filled_at END
      FROM per_backorder p WHERE b.id = p.backorder_id
      RETURNING b.id, b.status
    ), filled_lines AS (
      UPDATE order_lines l SET allocated = l.allocated + p.quantity, waiting = l.waiting - p.quantity
      FROM per_backorder p WHERE l.id = p.order_line_id
      RETURNING l.id
    ), allocated AS (
      INSERT INTO allocations (order_line_id, location_id, product_id, quantity)
      SELECT order_line_id, location_id, ${productId}::int, quantity FROM fills
      ON CONFLICT (order_line_id, location_id)
      DO UPDATE SET quantity = allocations.quantity + excluded.quantity, updated_at = now()
      RETURNING order_line_id
    ), ledger AS (
      INSERT INTO backorder_fills (backorder_id, product_id, location_id, quantity)
      SELECT backorder_id, ${productId}::int, location_id, quantity FROM fills ORDER BY place, location_id
      RETURNING id
    ), stock AS (
      UPDATE stock_levels s SET allocated = s.allocated + p.quantity, updated_at = now()
      FROM per_location p WHERE s.product_id = ${productId} AND s.location_id = p.location_id
      RETURNING s.location_id
    ), backlog AS (
      UPDATE products
      SET backordered = backordered - (SELECT coalesce(sum(quantity), 0) FROM fills),
          waiting_orders = waiting_orders - (SELECT count(*) FROM filled_backorders WHERE status = 'FILLED')::int
      WHERE id = ${productId} AND EXISTS (SELECT 1 FROM fills)
      RETURNING id
    )
    -- Data-modifying CTEs run to completion whether or not the final SELECT reads them.
    SELECT backorder_id, order_id, quantity FROM per_backorder
    ORDER BY place
  `,
  );
}

/**
 * After units came free for a product: fill its backlog, re-date what is left, update the filled
 * orders' statuses and write their BACKORDER_FILLED events. Returns what was filled.
 */
export async function settleBacklog(tx: Executor, productId: number): Promise<FillResult> {
  const fill = await fillBacklog(tx, productId);
  if (fill.units > 0) {
    await recomputeEta(tx, productId);
    await refreshOrderStatuses(tx, fill.orderIds);
    await recordOrderChanges(tx, fill.orderIds, "BACKORDER_FILLED");
  }
  return fill;
}

/**
 * Moves a waiting backorder in its product's queue: higher priority goes first. Units already
 * allocated stay where they are; the backlog is re-dated.
 */
export async function prioritizeBackorder(db: Database, id: number, priority: number): Promise<BackorderRecord> {
  const checks = new Checks();
  checks.int(priority, ["priority"], -LIMITS.priority, LIMITS.priority);
  checks.throwIfAny();
  const backorderId = requireId(id, ["id"], "backorder");
  return inTransaction(db, async (tx) => {
    const [found] = await tx.select({ productId: backorders.productId }).from(backorders).where(eq(backorders.id, backorderId));
    if (!found) refuse("NOT_FOUND", "backorder not found", ["id"]);
    await lockProduct(tx, found.productId, ["id"]);
    const [backorder] = await tx.select().from(backorders).where(eq(backorders.id, backorderId));
    if (backorder.status !== "WAITING") refuse("INVALID_STATE", `backorder is ${backorder.status}, not WAITING`, ["id"]);
    await tx.update(backorders).set({ priority }).where(eq(backorders.id, backorderId));
    await recomputeEta(tx, found.productId);
    await recordProductChanges(tx, [found.productId], "BACKORDER_PRIORITIZED");
    const [updated] = await tx.select().from(backorders).where(eq(backorders.id, backorderId));
    return updated;
  });
}

/**
 * The backlog: each product's first-come, first-served queue of waiting backorders, and the one
 * statement that fills it from whatever stock is free.
 */
import { eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { toRecord } from "../../drizzle/paging.js";
import { recomputeEta } from "./eta.service.js";
import { freeStock } from "./location.query.js";
import { recordOrderChanges, recordProductChanges } from "./event.service.js";
import { refreshOrderStatuses } from "./order-status.js";
import { lockProduct } from "./product.service.js";
import { name, names } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { type BackorderRecord, refuse } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { allocations, backorderFills, backorders, orderLines, products, stockLevels } = schema;

export interface FillResult {
  /** Backorders that received units, in queue order. */
  backorderIds: number[];
  /** The units each of them received, in the same order. */
  filledUnits: number[];
  /** Their orders. */
  orderIds: number[];
  units: number;
  /** With `records`: the same backorders as the fill left them, in the same order. */
  backorders?: BackorderRecord[];
}

export interface FillOptions {
  /**
   * Also return the filled backorders' rows (`FillResult.backorders`), read from the fill
   * statements themselves: a receipt that answers with them need not read them again.
   */
  records?: boolean;
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
export async function fillBacklog(tx: Executor, productId: number, chunk = FILL_CHUNK, options: FillOptions = {}): Promise<FillResult> {
  const result: FillResult = { backorderIds: [], filledUnits: [], orderIds: [], units: 0 };
  if (options.records) result.backorders = [];
  const orderIds = new Set<number>();
  for (;;) {
    const filled = await fillHead(tx, productId, chunk, options.records === true);
    for (const row of filled) {
      const backorderId = Number(row.id);
      const units = Number(row.filled_units);
      // A backorder cut at the end of one chunk is the head of the next: one entry, its units
      // added up, and its row as the later statement left it.
      if (result.backorderIds.at(-1) === backorderId) {
        result.filledUnits[result.filledUnits.length - 1] += units;
        result.backorders?.pop();
      } else {
        result.backorderIds.push(backorderId);
        result.filledUnits.push(units);
      }
      result.backorders?.push(toRecord(backorders, row));
      orderIds.add(Number(row.order_id));
      result.units += units;
    }
    // Fewer than a chunk: the free units ran out, or the queue did.
    if (filled.length < chunk) break;
  }
  result.orderIds = [...orderIds];
  return result;
}

/**
 * One fill statement: at most `chunk` backorders from the head of the queue. Returns each
 * backorder filled (`id`, `order_id`, `filled_units`), in queue order; with `records`, every
 * column of its row after the fill too.
 */
async function fillHead(tx: Executor, productId: number, chunk: number, records: boolean) {
  const b = alias(backorders, "b");
  const l = alias(orderLines, "l");
  const s = alias(stockLevels, "s");
  return rows<Record<string, unknown> & { id: number; order_id: number; filled_units: number }>(
    tx,
    sql`
    WITH supply AS (${freeStock([productId])}
    ), supply_span AS (
      SELECT location_id, free_through - free AS span_start, free_through AS span_end FROM supply
    ), head AS (
      SELECT ${backorders.id}, ${backorders.orderId}, ${backorders.orderLineId}, ${backorders.remaining}, ${backorders.priority}
      FROM ${backorders}
      WHERE ${backorders.productId} = ${productId} AND ${backorders.status} = 'WAITING'
      ORDER BY ${backorders.priority} DESC, ${backorders.id}
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
      UPDATE ${backorders} ${b}
      SET ${name(b.remaining)} = ${b.remaining} - p.quantity,
          ${name(b.status)} = CASE WHEN ${b.remaining} = p.quantity THEN 'FILLED' ELSE ${b.status} END,
          ${name(b.filledAt)} = CASE WHEN ${b.remaining} = p.quantity THEN now() ELSE ${b.filledAt} END
      FROM per_backorder p WHERE ${b.id} = p.backorder_id
      RETURNING ${records ? sql`${b}.*` : sql`${b.id}, ${b.status}`}
    ), filled_lines AS (
      UPDATE ${orderLines} ${l} SET ${name(l.allocated)} = ${l.allocated} + p.quantity, ${name(l.waiting)} = ${l.waiting} - p.quantity
      FROM per_backorder p WHERE ${l.id} = p.order_line_id
      RETURNING ${l.id}
    ), allocated AS (
      INSERT INTO ${allocations} (${names(allocations.orderLineId, allocations.locationId, allocations.productId, allocations.quantity)})
      SELECT order_line_id, location_id, ${productId}::int, quantity FROM fills
      ON CONFLICT (${names(allocations.orderLineId, allocations.locationId)})
      DO UPDATE SET ${name(allocations.quantity)} = ${allocations.quantity} + excluded.${name(allocations.quantity)}, ${name(allocations.updatedAt)} = now()
      RETURNING ${allocations.orderLineId}
    ), ledger AS (
      INSERT INTO ${backorderFills} (${names(backorderFills.backorderId, backorderFills.productId, backorderFills.locationId, backorderFills.quantity)})
      SELECT backorder_id, ${productId}::int, location_id, quantity FROM fills ORDER BY place, location_id
      RETURNING ${backorderFills.id}
    ), stock AS (
      UPDATE ${stockLevels} ${s} SET ${name(s.allocated)} = ${s.allocated} + p.quantity, ${name(s.updatedAt)} = now()
      FROM per_location p WHERE ${s.productId} = ${productId} AND ${s.locationId} = p.location_id
      RETURNING ${s.locationId}
    ), backlog AS (
      UPDATE ${products}
      SET ${name(products.backordered)} = ${products.backordered} - (SELECT coalesce(sum(quantity), 0) FROM fills),
          ${name(products.waitingOrders)} = ${products.waitingOrders} - (SELECT count(*) FROM filled_backorders WHERE status = 'FILLED')::int
      WHERE ${products.id} = ${productId} AND EXISTS (SELECT 1 FROM fills)
      RETURNING ${products.id}
    )
    -- Data-modifying CTEs run to completion whether or not the final SELECT reads them.
    ${
      records
        ? sql`SELECT f.*, p.quantity AS filled_units FROM per_backorder p JOIN filled_backorders f ON f.id = p.backorder_id ORDER BY p.place`
        : sql`SELECT backorder_id AS id, order_id, quantity AS filled_units FROM per_backorder ORDER BY place`
    }
  `,
  );
}

/**
 * After units came free for a product: fill its backlog, re-date what is left, update the filled
 * orders' statuses and write their BACKORDER_FILLED events. Returns what was filled; with
 * `records`, the filled backorders' rows as they are after all of it.
 */
export async function settleBacklog(tx: Executor, productId: number, options: FillOptions = {}): Promise<FillResult> {
  const fill = await fillBacklog(tx, productId, FILL_CHUNK, options);
  if (fill.units > 0) {
    await recomputeEta(tx, productId);
    await refreshOrderStatuses(tx, fill.orderIds);
    await recordOrderChanges(tx, { ids: fill.orderIds, kind: "BACKORDER_FILLED" });
    // Only the last backorder filled can still wait (it got part of its units), and re-dating may
    // have changed its row since the fill read it.
    const last = fill.backorders?.at(-1);
    if (last?.status === "WAITING") {
      const [fresh] = await tx.select().from(backorders).where(eq(backorders.id, last.id));
      fill.backorders![fill.backorders!.length - 1] = fresh;
    }
  }
  return fill;
}

/**
 * Takes the lock of a backorder's product (the backlog's mutex) and answers the backorder as it is
 * under it; NOT_FOUND for an unknown one, INVALID_STATE unless it still waits (at `["id"]`).
 */
export async function lockWaitingBackorder(tx: Executor, backorderId: number): Promise<BackorderRecord> {
  const [found] = await tx.select({ productId: backorders.productId }).from(backorders).where(eq(backorders.id, backorderId));
  if (!found) refuse("NOT_FOUND", "backorder not found", ["id"]);
  await lockProduct(tx, found.productId, ["id"]);
  const [backorder] = await tx.select().from(backorders).where(eq(backorders.id, backorderId));
  if (backorder.status !== "WAITING") refuse("INVALID_STATE", `backorder is ${backorder.status}, not WAITING`, ["id"]);
  return backorder;
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
    const backorder = await lockWaitingBackorder(tx, backorderId);
    await tx.update(backorders).set({ priority }).where(eq(backorders.id, backorderId));
    await recomputeEta(tx, backorder.productId);
    await recordProductChanges(tx, [backorder.productId], "BACKORDER_PRIORITIZED");
    const [updated] = await tx.select().from(backorders).where(eq(backorders.id, backorderId));
    return updated;
  });
}

/**
 * Expected dates (docs/ARCHITECTURE.md, "Expected dates"). A waiting backorder is served by the first scheduled
 * restock whose running total of incoming units covers the running total of waiting units up to
 * and including it. Both running totals are window sums; the match is a running minimum over
 * their union sorted by running total, so a whole backlog is re-dated in one O(n log n) statement.
 */
import { type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { recordOrderChanges } from "./event.service.js";
import { intArray, name } from "../../drizzle/sql.js";
import { delayedCondition, lateCondition } from "./backorder-delay.js";
import { openRestockCondition } from "./open-restocks.js";
import { inTransaction } from "../../drizzle/transaction.js";
import type { QueueOutlook } from "./order-plan.js";

const { backorders, products, restocks } = schema;

export interface RecomputeOptions {
  /**
   * Re-date only the part of the queue from this backorder's place on. Backorders ahead of it
   * cannot change when the change is at or behind it (a new backorder, one that left the queue).
   */
  from?: { priority: number; id: number };
  /** New backorders whose ETA becomes their promise. */
  promise?: number[];
  /**
   * Leave the DELAYED events to the caller (`delayedOrderIds` still lists them): placing an order
   * writes them after the order's PLACED event, so an order's events stay in the order things happened.
   */
  deferDelayedEvents?: boolean;
}

export interface RecomputeResult {
  /** How many backorders got a new date, source or lateness. */
  changed: number;
  /** Orders with a backorder that has just become late. */
  delayedOrderIds: number[];
}

/**
 * Re-dates a product's waiting backorders in one statement, writing only the rows whose date,
 * source or lateness changed, and appends a DELAYED order event for each backorder that has just
 * become late (unless `deferDelayedEvents`). The caller holds the product's lock.
 */
export async function recomputeEta(tx: Executor, productId: number, options: RecomputeOptions = {}): Promise<RecomputeResult> {
  const from = options.from
    ? sql`AND (${backorders.priority} < ${options.from.priority}::int OR (${backorders.priority} = ${options.from.priority}::int AND ${backorders.id} >= ${options.from.id}::int))`
    : sql``;
  const promise = intArray(options.promise ?? []);
  const b = alias(backorders, "b");
  const updated = await rows<{ order_id: number; newly_late: boolean }>(
    tx,
    sql`
    WITH product AS (
      SELECT ${products.leadTimeDays}, ${products.backordered} FROM ${products} WHERE ${products.id} = ${productId}
    ), supply AS (
      SELECT ${restocks.expectedAt}, sum(${restocks.quantity} - ${restocks.receivedQuantity}) OVER (ORDER BY ${restocks.expectedAt}, ${restocks.id}) AS cum
      FROM ${restocks}
      WHERE ${restocks.productId} = ${productId} AND ${openRestockCondition(restocks)} AND ${restocks.receivedQuantity} < ${restocks.quantity}
    ), tail AS (
      SELECT ${backorders.id}, ${backorders.orderId}, ${backorders.priority}, ${backorders.remaining}, ${backorders.createdAt}, ${backorders.promisedAt}, ${backorders.delayed}
      FROM ${backorders}
      WHERE ${backorders.productId} = ${productId} AND ${backorders.status} = 'WAITING' ${from}
    ), queue AS (
      SELECT t.*,
        (SELECT backordered FROM product) - (SELECT coalesce(sum(remaining), 0) FROM tail)
          + sum(remaining) OVER (ORDER BY priority DESC, id) AS cum
      FROM tail t
    ), dated AS (
      -- The backorders' own columns ride along with the merge, so it is not joined back to the
      -- queue by id (two sorts of the whole backlog and a merge join, about a fifth of the time).
      SELECT kind, id, created_at, promised_at, delayed, min(expected_at) OVER (ORDER BY cum DESC, kind ROWS UNBOUNDED PRECEDING) AS eta
      FROM (
        SELECT 0 AS kind, NULL::int AS id, NULL::timestamptz AS created_at, NULL::timestamptz AS promised_at, NULL::boolean AS delayed, cum, expected_at FROM supply
        UNION ALL
        SELECT 1, id, created_at, promised_at, delayed, cum, NULL::timestamptz FROM queue
      ) merged
    ), fresh AS (
      -- A lead time is counted in 24-hour days, not calendar days of the session's time zone
      -- (which move by an hour across a daylight-saving change): expectedFor in order-plan.ts,
      -- the quote's twin of this rule, counts the same.
      SELECT d.id, d.delayed AS was_late,
        CASE WHEN d.id = ANY(${promise}) THEN e.at ELSE d.promised_at END AS promised_at, e.at, e.source
      FROM dated d
      CROSS JOIN product p
      CROSS JOIN LATERAL (SELECT
        CASE WHEN d.eta IS NOT NULL THEN d.eta
             WHEN p.lead_time_days IS NOT NULL THEN d.created_at + p.lead_time_days * interval '24 hours' END AS at,
        CASE WHEN d.eta IS NOT NULL THEN 'RESTOCK'
             WHEN p.lead_time_days IS NOT NULL THEN 'LEAD_TIME' ELSE 'UNKNOWN' END AS source) e
      WHERE d.kind = 1
    ), judged AS (
      SELECT f.*, ${lateCondition({ promisedAt: sql`f.promised_at`, expectedAt: sql`f.at` })} AS late
      FROM fresh f
    )
    UPDATE ${backorders} ${b}
    SET ${name(b.expectedAt)} = j.at, ${name(b.etaSource)} = j.source, ${name(b.promisedAt)} = j.promised_at, ${name(b.delayed)} = j.late
    FROM judged j
    WHERE ${b.id} = j.id
      AND (${b.expectedAt} IS DISTINCT FROM j.at OR ${b.etaSource} <> j.source
           OR ${b.promisedAt} IS DISTINCT FROM j.promised_at OR ${b.delayed} <> j.late)
    RETURNING ${b.orderId}, (j.late AND NOT j.was_late) AS newly_late
  `,
  );
  const delayedOrderIds = [...new Set(updated.filter((row) => row.newly_late).map((row) => Number(row.order_id)))];
  if (!options.deferDelayedEvents) await recordOrderChanges(tx, { ids: delayedOrderIds, kind: "DELAYED" });
  return { changed: updated.length, delayedOrderIds };
}

/**
 * Marks waiting backorders that are delayed at `now` and not marked yet as late (in practice those
 * whose promise has passed: every other cause is marked by the transaction that causes it), and appends a
 * DELAYED event for each of their orders. Run periodically: time passing is the one cause of
 * lateness that no transaction sees.
 */
export async function markOverdueBackorders(db: Database, now: Date = new Date()): Promise<number[]> {
  return inTransaction(db, async (tx) => {
    const late = await rows<{ order_id: number }>(
      tx,
      sql`UPDATE ${backorders} SET ${name(backorders.delayed)} = true
          WHERE NOT ${backorders.delayed} AND ${delayedCondition(backorders, now)}
          RETURNING ${backorders.orderId}`,
    );
    const orderIds = [...new Set(late.map((row) => Number(row.order_id)))];
    await recordOrderChanges(tx, { ids: orderIds, kind: "DELAYED" });
    return orderIds;
  });
}

/** A row of {@link outlookQuery}. */
export interface OutlookRow {
  product_id: number;
  units_ahead: number;
  orders_ahead: number;
  supply: [string, number][];
  now: Date | string;
}

/**
 * The queue a new backorder of each product would join ({@link QueueOutlook}), one row per
 * product: the units and backorders ahead of priority 0, and the open restocks' outstanding units
 * as running totals in the order `recomputeEta` matches them (expected date, then id).
 */
export function outlookQuery(productIds: readonly number[]): SQL {
  const r = alias(restocks, "r");
  const b = alias(backorders, "b");
  return sql`
    SELECT ${products.id} AS product_id,
      ${products.backordered} - behind.units AS units_ahead,
      ${products.waitingOrders} - behind.n AS orders_ahead,
      coalesce((
        SELECT json_agg(json_build_array(s.expected_at, s.cum) ORDER BY s.expected_at, s.id)
        FROM (SELECT ${r.expectedAt} AS expected_at, ${r.id} AS id,
                     sum(${r.quantity} - ${r.receivedQuantity}) OVER (ORDER BY ${r.expectedAt}, ${r.id}) AS cum
              FROM ${restocks} ${r}
              WHERE ${r.productId} = ${products.id} AND ${openRestockCondition(r)} AND ${r.receivedQuantity} < ${r.quantity}) s
      ), '[]'::json) AS supply,
      clock_timestamp() AS now
    FROM ${products}
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(${b.remaining}), 0)::int AS units, count(*)::int AS n
      FROM ${backorders} ${b}
      WHERE ${b.productId} = ${products.id} AND ${b.status} = 'WAITING' AND ${b.priority} < 0
    ) behind
    WHERE ${products.id} = ANY(${intArray(productIds)})`;
}

/** A row of {@link outlookQuery} as a {@link QueueOutlook}. */
export function toOutlook(row: OutlookRow): QueueOutlook {
  return {
    unitsAhead: Number(row.units_ahead),
    ordersAhead: Number(row.orders_ahead),
    supply: row.supply.map(([at, cum]) => ({ expectedAt: new Date(at), cum: Number(cum) })),
    now: new Date(row.now),
  };
}

/** The outlooks of `productIds` ({@link outlookQuery}); `placeOrder` reads them under the products' locks. */
export async function queueOutlooks(tx: Executor, productIds: readonly number[]): Promise<Map<number, QueueOutlook>> {
  if (productIds.length === 0) return new Map();
  const found = await rows<OutlookRow>(tx, outlookQuery(productIds));
  return new Map(found.map((row) => [Number(row.product_id), toOutlook(row)]));
}

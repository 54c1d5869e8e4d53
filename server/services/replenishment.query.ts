/**
 * The replenishment plan (docs/ARCHITECTURE.md, "Replenishment plan"): per product, the demand of
 * a recent window, the units its supply leaves uncovered, what to order now, the date it is needed
 * by and the backlog its supply can serve within its wait cap; only products with something to do,
 * most urgent first. One read-only statement computes every product's figures and cuts the page,
 * so the figures, the order and the total come from one snapshot.
 */
import { type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { decodeCursor, type Page, type PageArgs, pageSize, toPage, toRecord } from "../../drizzle/paging.js";
import { intArray, toDate } from "../../drizzle/sql.js";
import { openRestockCondition } from "./open-restocks.js";
import { DomainError, type ProductRecord } from "./types.js";
import { Checks, LIMITS } from "./validation.js";

const { backorders, lostDemand, orderLines, orders, products, restocks, stockLevels } = schema;
// The tables under the aliases the statement reads them by.
const p = alias(products, "p");
const s = alias(stockLevels, "s");
const r = alias(restocks, "r");
const b = alias(backorders, "b");
const o = alias(orders, "o");
const l = alias(orderLines, "l");
const ld = alias(lostDemand, "ld");

/** The demand window when none is given, in days. */
export const DEFAULT_WINDOW_DAYS = 28;
/** The longest demand window, in days (`lost_demand` is kept 400 days by default). */
export const MAX_WINDOW_DAYS = 365;
/** The horizon of `suggestedBackorderLimit` for a product without `maxWaitDays`, in days. */
export const DEFAULT_WAIT_HORIZON_DAYS = 14;
/** The most products one plan may name. */
export const MAX_PLAN_PRODUCTS = 100;

/** What a plan is asked for. */
export interface ReplenishmentRequest {
  /** Only these products (database ids, at most 100); null or undefined: every product. */
  productIds?: readonly number[] | null;
  /** Days of orders the demand is measured over, 1..365; null or undefined: 28. */
  windowDays?: number | null;
}

/** One product's line of the plan. Quantities are whole units; see the formulas in the module's section. */
export interface ReplenishmentLine {
  productId: number;
  /** The product row, read by the same statement (for the caller's loaders). */
  product: ProductRecord;
  /** Units ordered (accepted and refused) per day over the window. */
  dailyDemand: number;
  /** Backordered + safety stock − unreserved units on hand − incoming, not below 0. */
  uncoveredUnits: number;
  /** Uncovered units plus lead-time demand, not below 0, rounded up to a multiple of minOrderQuantity. */
  suggestedQuantity: number;
  /** The earliest promise (else expected date) of the waiting backorders the supply does not cover; null when none. */
  neededBy: Date | null;
  /** Receipts within the wait horizon, plus the suggested reorder when it lands within it, less the safety stock to refill; null under DENY. */
  suggestedBackorderLimit: number | null;
}

/**
 * A plan cursor is the line's sort key: neededBy in epoch microseconds as decimal text (exact,
 * beyond int4; {@link NO_DATE} when null, so undated lines sort last), uncovered units, product id.
 */
const PLAN_CURSOR = ["text", "int", "int"] as const;
/** The sort key of a line without neededBy: the largest bigint, after every date. */
const NO_DATE = "9223372036854775807";

/** Refuses a bad window or product list with INVALID_INPUT, before anything runs; returns the window in days. */
export function checkReplenishmentRequest(request: ReplenishmentRequest): number {
  const checks = new Checks();
  const windowDays = request.windowDays ?? DEFAULT_WINDOW_DAYS;
  checks.int(windowDays, ["windowDays"], 1, MAX_WINDOW_DAYS);
  const ids = request.productIds;
  if (ids !== null && ids !== undefined) {
    if (ids.length > MAX_PLAN_PRODUCTS) checks.fail(["productIds"], `productIds may name at most ${MAX_PLAN_PRODUCTS} products`);
    else if (!ids.every((id) => Number.isSafeInteger(id) && id > 0 && id <= LIMITS.units)) checks.fail(["productIds"], "product not found", "NOT_FOUND");
  }
  checks.throwIfAny();
  return windowDays;
}

/** Decodes a plan cursor; INVALID_INPUT (field `after`) for one that is not ours. */
function planCursor(after: string | null | undefined): { at: string; uncovered: number; id: number } | null {
  const key = decodeCursor(after, PLAN_CURSOR);
  if (!key) return null;
  const [at, uncovered, id] = key as [string, number, number];
  // The date part is compared as a bigint: only digits that fit one may reach the statement.
  if (!/^-?\d{1,19}$/.test(at) || BigInt(at) > BigInt(NO_DATE) || BigInt(at) < -BigInt(NO_DATE)) {
    throw new DomainError({ code: "INVALID_INPUT", message: "after is not a valid cursor", field: ["after"] });
  }
  return { at, uncovered, id };
}

/**
 * A page of the replenishment plan: the products with uncovered units or a quantity to order,
 * most urgent first (neededBy ascending with undated lines last, then uncovered units descending,
 * then product id). `totalCount` is exact: the statement computes every product's line anyway
 * (a catalogue holds thousands, not millions). INVALID_INPUT for a window outside 1..365, more
 * than 100 products, a bad `first` or cursor; NOT_FOUND (field `productIds`) when a named product
 * does not exist. Writes nothing, takes no lock.
 */
export async function replenishmentPlan(db: Executor, request: ReplenishmentRequest, page: PageArgs): Promise<Page<ReplenishmentLine>> {
  const windowDays = checkReplenishmentRequest(request);
  const limit = pageSize(page.first);
  const after = planCursor(page.after);
  const ids = request.productIds ? [...new Set(request.productIds)] : null;
  if (ids !== null && ids.length === 0) return toPage([], limit, () => [], 0);

  // Every source read for the named products only, so a plan of a few products reads their rows, not the shop's.
  const only = (column: SQL) => (ids ? sql`AND ${column} = ANY(${intArray(ids)})` : sql``);
  const keyset = after
    ? sql`WHERE (lines.sort_at, -lines.uncovered, lines.id) > (${after.at}::bigint, ${-after.uncovered}::int, ${after.id}::int)`
    : sql``;
  // First the window's start and the lowest id of the orders placed since (an index range of orders_created_idx;
  // OFFSET 0 keeps it one: written as a plain min(), the planner walks the primary key up from the oldest order,
  // through the whole history, until one in the window turns up). No order below that id was placed in the window,
  // and ids follow placement, so the plan reads the lines from that id on: the window's range of the line indexes.
  // Its own statement, so the plan's statement is planned knowing the id: a bound the planner cannot see (a
  // subquery's result) makes it guess a third of the table and read every line of the shop's history. Two
  // snapshots, then: an order committed between them with an id below the bound (possible only when the window
  // held no older order) is counted by the next read.
  const [bound] = await rows<{ since: string; first_id: number | null }>(
    db,
    sql`SELECT w.since::text AS since, (SELECT min(placed.id) FROM (SELECT ${o.id} FROM ${orders} ${o} WHERE ${o.createdAt} >= w.since OFFSET 0) placed) AS first_id
          FROM (SELECT now() - make_interval(days => ${windowDays}::int) AS since) w`,
  );
  const since = sql`${bound.since}::timestamptz`;
  const ordered =
    bound.first_id === null
      ? sql`SELECT NULL::int AS product_id, 0 AS quantity WHERE false`
      : sql`SELECT ${l.productId} AS product_id, ${l.quantity} AS quantity
              FROM ${orderLines} ${l} JOIN ${orders} ${o} ON ${o.id} = ${l.orderId}
             WHERE ${l.orderId} >= ${Number(bound.first_id)}::int AND ${o.createdAt} >= ${since} ${only(sql`${l.productId}`)}`;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH levels AS (
        -- free: units on hand not reserved for an order, the safety stock among them.
        -- shortfall: what each level lacks of its safety stock, which a receipt there refills before it reaches the backlog.
        SELECT ${s.productId} AS product_id,
               sum(${s.onHand} - ${s.allocated})::bigint AS free,
               sum(${s.safetyStock})::bigint AS safety,
               sum(greatest(0, ${s.safetyStock} - (${s.onHand} - ${s.allocated})))::bigint AS shortfall
          FROM ${stockLevels} ${s}
         WHERE true ${only(sql`${s.productId}`)}
         GROUP BY ${s.productId}
      ), supply AS (
        -- Open restocks' outstanding units; those expected by the end of the wait horizon (late ones included) apart.
        SELECT ${r.productId} AS product_id,
               sum(${r.quantity} - ${r.receivedQuantity})::bigint AS incoming,
               (sum(${r.quantity} - ${r.receivedQuantity}) FILTER (
                  WHERE ${r.expectedAt} <= now() + make_interval(days => coalesce(${p.maxWaitDays}, ${DEFAULT_WAIT_HORIZON_DAYS}::int))
               ))::bigint AS incoming_in_horizon
          FROM ${restocks} ${r}
          JOIN ${products} ${p} ON ${p.id} = ${r.productId}
         WHERE ${openRestockCondition(r)} ${only(sql`${r.productId}`)}
         GROUP BY ${r.productId}
      ), demand AS (
        -- Units ordered in the window: the accepted units of the orders placed in it, and the units refused (lost demand).
        SELECT units.product_id, sum(units.quantity)::bigint AS units
          FROM (
            ${ordered}
            UNION ALL
            SELECT ${ld.productId}, ${ld.quantity}
              FROM ${lostDemand} ${ld}
             WHERE ${ld.createdAt} >= ${since} ${only(sql`${ld.productId}`)}
          ) units
         GROUP BY units.product_id
      ), figures AS (
        SELECT ${p}.*,
               coalesce(d.units, 0) AS demand_units,
               coalesce(v.shortfall, 0) AS shortfall,
               coalesce(i.incoming_in_horizon, 0) AS incoming_in_horizon,
               coalesce(${p.maxWaitDays}, ${DEFAULT_WAIT_HORIZON_DAYS}::int) AS horizon,
               -- What the backlog can count on: unreserved units beyond the safety stock, plus incoming.
               coalesce(v.free, 0) - coalesce(v.safety, 0) + coalesce(i.incoming, 0) AS backlog_supply,
               -- Demand over the lead time, rounded up to whole units in exact integer arithmetic.
               CASE WHEN ${p.leadTimeDays} IS NULL THEN 0
                    ELSE (coalesce(d.units, 0) * ${p.leadTimeDays} + ${windowDays - 1}::int) / ${windowDays}::int END AS lead_demand
          FROM ${products} ${p}
          LEFT JOIN levels v ON v.product_id = ${p.id}
          LEFT JOIN supply i ON i.product_id = ${p.id}
          LEFT JOIN demand d ON d.product_id = ${p.id}
         WHERE true ${only(sql`${p.id}`)}
      ), needs AS (
        SELECT f.*,
               greatest(0, f.backordered - f.backlog_supply) AS uncovered_exact,
               greatest(0, f.backordered + f.lead_demand - f.backlog_supply) AS need
          FROM figures f
      ), sized AS (
        -- minOrderQuantity is the pack size: a need is ordered in whole packs.
        SELECT n.*,
               CASE WHEN n.min_order_quantity > 1 THEN (n.need + n.min_order_quantity - 1) / n.min_order_quantity * n.min_order_quantity
                    ELSE n.need END AS suggested_exact
          FROM needs n
         WHERE n.need > 0
      ), planned AS (
        SELECT z.*,
               least(z.uncovered_exact, ${LIMITS.units}::bigint)::int AS uncovered,
               least(z.suggested_exact, ${LIMITS.units}::bigint)::int AS suggested,
               CASE WHEN z.backorder_policy = 'DENY' THEN NULL
                    ELSE least(${LIMITS.units}::bigint, greatest(0,
                           z.incoming_in_horizon - z.shortfall
                           + CASE WHEN z.lead_time_days IS NOT NULL AND z.lead_time_days <= z.horizon THEN z.suggested_exact ELSE 0 END))::int
               END AS backorder_limit_suggested
          FROM sized z
      ), lines AS (
        -- neededBy: the product's queue in order (read from the queue index, no sort), each backorder with the running
        -- total of waiting units through it; those past what the backlog can count on are uncovered, and the earliest
        -- of their promises (else expected dates) is when the supply is needed. Only products with uncovered units look.
        SELECT w.*, a.needed_by,
               coalesce((extract(epoch FROM a.needed_by) * 1000000)::bigint, ${NO_DATE}::bigint) AS sort_at
          FROM planned w
          LEFT JOIN LATERAL (
            SELECT min(coalesce(q.promised_at, q.expected_at)) AS needed_by
              FROM (
                SELECT ${b.promisedAt} AS promised_at, ${b.expectedAt} AS expected_at,
                       sum(${b.remaining}) OVER (ORDER BY ${b.priority} DESC, ${b.id} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS through
                  FROM ${backorders} ${b}
                 WHERE ${b.status} = 'WAITING' AND ${b.productId} = w.id AND w.uncovered_exact > 0
              ) q
             WHERE q.through > w.backlog_supply
          ) a ON true
      ), missing AS (
        SELECT count(*)::int AS n
          FROM unnest(${intArray(ids ?? [])}) named(id)
         WHERE NOT EXISTS (SELECT 1 FROM ${products} WHERE ${products.id} = named.id)
      )
      SELECT t.total, m.n AS missing, page.*
        FROM (SELECT count(*)::int AS total FROM lines) t
        CROSS JOIN missing m
        LEFT JOIN LATERAL (
          SELECT lines.*, lines.sort_at::text AS sort_key FROM lines ${keyset}
           ORDER BY lines.sort_at, lines.uncovered DESC, lines.id
           LIMIT ${limit + 1}
        ) page ON true
       ORDER BY page.sort_at, page.uncovered DESC, page.id`,
  );
  if (Number(found[0]?.missing ?? 0) > 0) {
    throw new DomainError({ code: "NOT_FOUND", message: "product not found", field: ["productIds"] });
  }
  const total = Number(found[0]?.total ?? 0);
  const lines = found.filter((row) => row.id !== null && row.id !== undefined).map((row) => toLine(row, windowDays));
  const keyed = toPage(lines, limit, (line) => line.sortKey, total);
  return { ...keyed, items: keyed.items.map(({ sortKey: _sortKey, ...line }) => line) };
}

/** A line as the statement returns it, with its sort key for the cursor. */
function toLine(row: Record<string, unknown>, windowDays: number): ReplenishmentLine & { sortKey: [string, number, number] } {
  const product = toRecord(products, row);
  const uncovered = Number(row.uncovered);
  const limit = row.backorder_limit_suggested;
  return {
    productId: product.id,
    product,
    dailyDemand: Number(row.demand_units) / windowDays,
    uncoveredUnits: uncovered,
    suggestedQuantity: Number(row.suggested),
    neededBy: toDate(row.needed_by),
    suggestedBackorderLimit: limit === null || limit === undefined ? null : Number(limit),
    sortKey: [String(row.sort_key), uncovered, product.id],
  };
}

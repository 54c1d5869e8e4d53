/**
 * Backlog metrics (docs/ARCHITECTURE.md, "Backlog metrics"): what backordering did for the shop
 * over a window of orders, and the backlog as it stands now, computed set-based in a few
 * statements of one read-only snapshot, whatever the window holds.
 *
 * A window is a range of `orders.created_at`. `orders_created_idx` (created_at, id, currency_code)
 * gives, by an index-only scan, how many orders the window holds, their lowest and highest ids and
 * their currencies. Ids are handed out in placement order, so the window's lines and backorders
 * are a range of `order_id` in indexes those tables already have, read without joining the orders
 * back. Not every order in that range need be a window order: one whose transaction began just
 * before `from` (or at `to`) may have taken an id inside it, a "stray". The primary key's count
 * over the range says whether there are any; if so they are listed and left out by id. A window
 * with several currencies joins each backorder to its order, for the currency of its value.
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import { alias, PgTransaction } from "drizzle-orm/pg-core";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { DomainError, type ErrorCode } from "../../drizzle/contract.js";
import { intArray, toDate } from "../../drizzle/sql.js";
import { delayedFilter } from "./backorder-delay.js";
import { Checks, requireId } from "./validation.js";

const { backorders, lostDemand, orderLines, orders, products } = schema;

export interface MoneyAmount {
  /** A decimal string with 2 places. */
  amount: string;
  currencyCode: string;
}

export interface Percentiles {
  p50Hours: number | null;
  p90Hours: number | null;
  maxHours: number | null;
}

export interface LostDemandFigure {
  code: ErrorCode;
  units: number;
  value: MoneyAmount[];
}

export interface BacklogMetricsInput {
  /** Default: `to` − 30 days. */
  from?: Date | null;
  /** Default: now. */
  to?: Date | null;
  /** null/undefined: every product; at most 100. */
  productIds?: readonly number[] | null;
  /** Default 72. */
  atRiskHours?: number | null;
}

export interface BacklogMetricsRecord {
  from: Date;
  to: Date;
  ordersPlaced: number;
  unitsOrdered: number;
  unitsBackordered: number;
  revenueProtected: MoneyAmount[];
  lostDemand: LostDemandFigure[];
  fillRateAtPlacement: number | null;
  timeToFill: Percentiles;
  backlogAge: Percentiles;
  backorderCancelRate: number | null;
  etaAccuracy: number | null;
  waitingUnits: number;
  delayedBackorders: number;
  atRiskBackorders: number;
}

/** The bounds of an input, checked before anything reaches the database. */
export const BACKLOG_METRICS_LIMITS = {
  /** The longest window, in days. */
  windowDays: 400,
  /** The window when `from` is not given, in days before `to`. */
  defaultWindowDays: 30,
  /** Products a request may name. */
  productIds: 100,
  atRiskHours: { min: 1, max: 8760, default: 72 },
  /** Strays (see the file's comment) listed and left out by id; past this many (a backdated import?), lines are joined to their orders. */
  strays: 10_000,
};

const DAY_MS = 86_400_000;
/** work_mem for the metrics' transaction (see `measure`). */
const WORK_MEM = "16MB";

interface CheckedInput {
  from: Date | undefined;
  to: Date | undefined;
  productIds: number[] | null;
  atRiskHours: number;
}

/** INVALID_INPUT (or NOT_FOUND for an id that cannot exist) for what is wrong with the input itself. */
function checkInput(input: BacklogMetricsInput): CheckedInput {
  const checks = new Checks();
  const from = input.from === undefined || input.from === null ? undefined : checks.date(input.from, ["from"]);
  const to = input.to === undefined || input.to === null ? undefined : checks.date(input.to, ["to"]);
  const atRiskHours =
    input.atRiskHours === undefined || input.atRiskHours === null
      ? BACKLOG_METRICS_LIMITS.atRiskHours.default
      : checks.int(input.atRiskHours, ["atRiskHours"], BACKLOG_METRICS_LIMITS.atRiskHours.min, BACKLOG_METRICS_LIMITS.atRiskHours.max);
  const { productIds } = input;
  if (productIds !== undefined && productIds !== null) {
    if (!Array.isArray(productIds)) checks.fail(["productIds"], "productIds must be a list");
    else if (productIds.length > BACKLOG_METRICS_LIMITS.productIds) {
      checks.fail(["productIds"], `productIds may name at most ${BACKLOG_METRICS_LIMITS.productIds} products`);
    }
  }
  if (from && to) checkWindow(checks, from, to);
  checks.throwIfAny();
  const ids = productIds ? [...new Set(productIds.map((id, index) => requireId(id, ["productIds", String(index)], "product")))] : null;
  return { from, to, productIds: ids, atRiskHours: atRiskHours! };
}

function checkWindow(checks: Checks, from: Date, to: Date): void {
  if (from.getTime() >= to.getTime()) checks.fail(["from"], "from must be before to");
  else if (to.getTime() - from.getTime() > BACKLOG_METRICS_LIMITS.windowDays * DAY_MS) {
    checks.fail(["from"], `from and to may be at most ${BACKLOG_METRICS_LIMITS.windowDays} days apart`);
  }
}

/**
 * Every figure of the backlog metrics (docs/ARCHITECTURE.md, "Backlog metrics") over orders placed
 * in [from, to) and, for the backlog now, the waiting backorders, of `productIds` when given.
 * `now` is the database's clock (one snapshot: a read-only REPEATABLE READ transaction, or the
 * caller's transaction). Throws DomainError: INVALID_INPUT (field `from`, `to`, `atRiskHours` or
 * `productIds`) for a bad window, atRiskHours outside 1..8760 or more than 100 products;
 * NOT_FOUND (field `productIds.<i>`) for a product that does not exist. Writes nothing.
 */
export async function backlogMetrics(db: Executor, input: BacklogMetricsInput): Promise<BacklogMetricsRecord> {
  const checked = checkInput(input);
  if (db instanceof PgTransaction) return measure(db, checked, { restoreSettings: true });
  return db.transaction((tx) => measure(tx, checked, { restoreSettings: false }), { isolationLevel: "repeatable read", accessMode: "read only" });
}

async function measure(tx: Executor, input: CheckedInput, { restoreSettings }: { restoreSettings: boolean }): Promise<BacklogMetricsRecord> {
  // Every statement is prepared (drizzle/db.ts), and after five runs PostgreSQL may keep a generic
  // plan, made without the window's values: it takes a range of unknown width for 0.5 % of the
  // orders and would join a million of them by nested loops. Here every plan is made for the
  // values. The window's backorders are hashed once (220,000 rows, 15 MB, at a million orders):
  // with the default 4 MB, the hash join would spill both sides to disk in batches. Both settings
  // last until the transaction ends; a caller's transaction gets its own back.
  const [clock] = await rows<{ now: unknown; found: number[] | string | null; plan_mode: string; work_mem: string }>(
    tx,
    sql`SELECT now() AS now, current_setting('plan_cache_mode') AS plan_mode, current_setting('work_mem') AS work_mem,
               set_config('plan_cache_mode', 'force_custom_plan', true) AS new_plan_mode, set_config('work_mem', ${WORK_MEM}, true) AS new_work_mem,
               ${input.productIds ? sql`ARRAY(SELECT ${products.id} FROM ${products} WHERE ${products.id} = ANY(${intArray(input.productIds)}))` : sql`NULL::int[]`} AS found`,
  );
  try {
    if (input.productIds) checkProductsExist(input.productIds, clock.found);
    const now = toDate(clock.now)!;
    const to = input.to ?? now;
    const from = input.from ?? new Date(to.getTime() - BACKLOG_METRICS_LIMITS.defaultWindowDays * DAY_MS);
    const checks = new Checks();
    checkWindow(checks, from, to);
    checks.throwIfAny();

    const window: Window = { from, to, productIds: input.productIds };
    const bounds = await windowBounds(tx, window);
    const placed = bounds.orders === 0 ? NOTHING_PLACED : await placedFigures(tx, window, bounds);
    const lost = await lostDemandFigures(tx, window);
    const [current] = await rows<BacklogRow>(tx, backlogNow(window, input.atRiskHours));
    const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);
    return {
      from,
      to,
      ordersPlaced: placed.ordersPlaced,
      unitsOrdered: placed.unitsOrdered,
      unitsBackordered: placed.unitsBackordered,
      revenueProtected: placed.revenueProtected,
      lostDemand: lost,
      fillRateAtPlacement: ratio(placed.unitsOrdered - placed.unitsBackordered, placed.unitsOrdered),
      timeToFill: placed.timeToFill,
      backlogAge: percentiles(current),
      backorderCancelRate: ratio(placed.unitsCancelled, placed.unitsBackordered),
      etaAccuracy: ratio(placed.keptPromises, placed.promises),
      waitingUnits: Number(current.waiting_units),
      delayedBackorders: Number(current.delayed),
      atRiskBackorders: Number(current.at_risk),
    };
  } finally {
    // After a database error the caller's transaction is aborted and will roll back with its settings: nothing to restore then.
    if (restoreSettings) {
      await tx
        .execute(sql`SELECT set_config('plan_cache_mode', ${clock.plan_mode}, true), set_config('work_mem', ${clock.work_mem}, true)`)
        .catch(() => undefined);
    }
  }
}

function checkProductsExist(ids: readonly number[], found: number[] | string | null): void {
  // An int[] arrives as numbers from both drivers; as text ("{1,2}") if a driver does not parse it.
  const present = new Set((typeof found === "string" ? found.replace(/[{}]/g, "").split(",").filter(Boolean) : (found ?? [])).map(Number));
  const missing = ids.findIndex((id) => !present.has(id));
  if (missing >= 0) throw new DomainError({ code: "NOT_FOUND", message: "product not found", field: ["productIds", String(missing)] });
}

interface Window {
  from: Date;
  to: Date;
  productIds: number[] | null;
}

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/** `column` within [from, to). */
function inWindow(column: SQL | Column, window: Window): SQL {
  return sql`${column} >= ${at(window.from)} AND ${column} < ${at(window.to)}`;
}

/** `AND column = ANY(productIds)` when the request names products; nothing otherwise. */
function ofProducts(column: Column, window: Window): SQL {
  return window.productIds ? sql` AND ${column} = ANY(${intArray(window.productIds)})` : sql``;
}

/** The window's orders as `orders_created_idx` gives them, and what their ids alone pick out (see the file's comment). */
interface WindowBounds {
  orders: number;
  lowId: number;
  highId: number;
  /** The currencies of the window's orders, sorted. */
  currencies: string[];
  /** Ids in [lowId, highId] of orders placed outside the window; null when there are too many to list. */
  strays: number[] | null;
}

async function windowBounds(tx: Executor, window: Window): Promise<WindowBounds> {
  const o = orders;
  const found = await rows<{ currency: string; n: number | string; low: number; high: number }>(
    tx,
    sql`SELECT ${o.currencyCode} AS currency, count(*) AS n, min(${o.id}) AS low, max(${o.id}) AS high
        FROM ${o} WHERE ${inWindow(o.createdAt, window)} GROUP BY 1 ORDER BY 1`,
  );
  const n = found.reduce((sum, row) => sum + Number(row.n), 0);
  if (n === 0) return { orders: 0, lowId: 0, highId: 0, currencies: [], strays: [] };
  const lowId = Math.min(...found.map((row) => Number(row.low)));
  const highId = Math.max(...found.map((row) => Number(row.high)));
  const range = sql`${o.id} BETWEEN ${lowId}::int AND ${highId}::int`;
  // Statements of their own, planned for the range: the count is an index-only scan of the
  // primary key; only when it finds more orders than the window holds are they read, to list the
  // strays (the created_at of every order in the range, one more pass).
  const [inRange] = await rows<{ n: number | string }>(tx, sql`SELECT count(*) AS n FROM ${o} WHERE ${range}`);
  let strays: number[] | null = [];
  if (Number(inRange.n) > n) {
    const listed = await rows<{ id: number }>(
      tx,
      sql`SELECT ${o.id} AS id FROM ${o} WHERE ${range} AND NOT (${inWindow(o.createdAt, window)}) ORDER BY ${o.id} LIMIT ${BACKLOG_METRICS_LIMITS.strays + 1}`,
    );
    strays = listed.length > BACKLOG_METRICS_LIMITS.strays ? null : listed.map((row) => Number(row.id));
  }
  return { orders: n, lowId, highId, currencies: found.map((row) => row.currency), strays };
}

interface PlacedFigures {
  ordersPlaced: number;
  unitsOrdered: number;
  unitsBackordered: number;
  unitsCancelled: number;
  revenueProtected: MoneyAmount[];
  timeToFill: Percentiles;
  promises: number;
  keptPromises: number;
}

const NOTHING_PLACED: PlacedFigures = {
  ordersPlaced: 0,
  unitsOrdered: 0,
  unitsBackordered: 0,
  unitsCancelled: 0,
  revenueProtected: [],
  timeToFill: { p50Hours: null, p90Hours: null, maxHours: null },
  promises: 0,
  keptPromises: 0,
};

interface PercentileRow {
  p50: number | string | null;
  p90: number | string | null;
  max: number | string | null;
}

interface PlacedRow extends PercentileRow {
  orders: number | string;
  units: number | string;
  backordered: number | string;
  cancelled: number | string;
  promises: number | string;
  kept: number | string;
  /** Per currency of `WindowBounds.currencies`, in that order: `units_<i>` backordered and their `value_<i>`. */
  [perCurrency: string]: number | string | null;
}

function percentiles(row: PercentileRow): Percentiles {
  const hours = (value: number | string | null) => (value === null ? null : Number(value));
  return { p50Hours: hours(row.p50), p90Hours: hours(row.p90), maxHours: hours(row.max) };
}

/** p50, p90 and max of `hours` (an expression) over the rows `filter` keeps. */
function percentileColumns(hours: SQL, filter: SQL): SQL {
  return sql`percentile_cont(0.5) WITHIN GROUP (ORDER BY ${hours}) FILTER (WHERE ${filter}) AS p50,
             percentile_cont(0.9) WITHIN GROUP (ORDER BY ${hours}) FILTER (WHERE ${filter}) AS p90,
             max(${hours}) FILTER (WHERE ${filter}) AS max`;
}

/** Hours from `start` to `end` as a float. */
function hoursBetween(start: SQL | Column, end: SQL | Column): SQL {
  return sql`(extract(epoch FROM ${end} - ${start})::float8 / 3600)`;
}

/**
 * The window's lines, each with its backorder if it has one: units ordered and backordered, the
 * backordered units' value per currency and how many were cancelled since, and promises kept, in
 * one pass over the lines by id range (aggregates PostgreSQL can split between parallel workers);
 * the time to fill over the range's filled backorders alone (an ordered-set aggregate cannot be
 * split, and needs no line). Strays are left out by id. With several currencies each backorder is
 * joined to its order for its currency; with too many strays to list, the lines are joined to
 * their orders.
 */
async function placedFigures(tx: Executor, window: Window, bounds: WindowBounds): Promise<PlacedFigures> {
  const l = orderLines;
  const b = backorders;
  const o = orders;
  const strays = bounds.strays ?? [];
  // The range, less the strays when there are any (a hashed `<> ALL` of their ids).
  const range = (column: Column) =>
    strays.length === 0
      ? sql`${column} BETWEEN ${bounds.lowId}::int AND ${bounds.highId}::int`
      : sql`${column} BETWEEN ${bounds.lowId}::int AND ${bounds.highId}::int AND ${column} <> ALL(${intArray(strays)})`;
  // Too many strays to list: each line (and filled backorder) is joined to its order, placed in the window.
  const placedIn = (orderId: Column) =>
    bounds.strays === null ? sql` JOIN ${o} ON ${o.id} = ${orderId} AND ${inWindow(o.createdAt, window)} AND ${range(o.id)}` : sql``;
  // A backorder's currency is its order's: read only when the window has more than one.
  const several = bounds.currencies.length > 1;
  const orderOfBackorder = alias(orders, "backorder_order");
  const backordered = several
    ? sql`(${b} JOIN ${orders} ${orderOfBackorder} ON ${orderOfBackorder.id} = ${b.orderId} AND ${inWindow(orderOfBackorder.createdAt, window)})`
    : sql`${b}`;
  const ofCurrency = (i: number) => (several ? sql` FILTER (WHERE ${orderOfBackorder.currencyCode} = ${bounds.currencies[i]}::text)` : sql``);
  const perCurrency = bounds.currencies.map(
    (_, i) => sql`coalesce(sum(${b.quantity})${ofCurrency(i)}, 0)::bigint AS ${sql.identifier(`units_${i}`)},
      round(coalesce(sum(${b.quantity} * ${l.unitPrice})${ofCurrency(i)}, 0), 2)::text AS ${sql.identifier(`value_${i}`)}`,
  );
  // With products named, an order counts once however many of its lines are theirs; without, every window order has lines.
  const ordersPlaced = window.productIds ? sql`count(DISTINCT ${l.orderId})` : sql`${bounds.orders}::bigint`;
  const filled = sql`${b.status} = 'FILLED'`;
  const [found] = await rows<PlacedRow>(
    tx,
    sql`SELECT placed.*, filled.*
        FROM (SELECT ${ordersPlaced} AS orders,
                     coalesce(sum(${l.quantity}), 0)::bigint AS units,
                     coalesce(sum(${b.quantity}), 0)::bigint AS backordered,
                     coalesce(sum(${b.cancelled}), 0)::bigint AS cancelled,
                     count(*) FILTER (WHERE ${filled} AND ${b.promisedAt} IS NOT NULL) AS promises,
                     count(*) FILTER (WHERE ${filled} AND ${b.filledAt} <= ${b.promisedAt}) AS kept,
                     ${sql.join(perCurrency, sql`, `)}
              FROM ${l}${placedIn(l.orderId)}
              LEFT JOIN ${backordered} ON ${b.orderLineId} = ${l.id} AND ${range(b.orderId)}${ofProducts(b.productId, window)}
              WHERE ${range(l.orderId)}${ofProducts(l.productId, window)}) placed,
             (SELECT ${percentileColumns(hoursBetween(b.createdAt, b.filledAt), sql`true`)}
              FROM ${b}${placedIn(b.orderId)}
              WHERE ${range(b.orderId)} AND ${filled}${ofProducts(b.productId, window)}) filled`,
  );
  return {
    ordersPlaced: Number(found.orders),
    unitsOrdered: Number(found.units),
    unitsBackordered: Number(found.backordered),
    unitsCancelled: Number(found.cancelled),
    revenueProtected: bounds.currencies
      .map((currencyCode, i) => ({ currencyCode, units: Number(found[`units_${i}`]), amount: String(found[`value_${i}`]) }))
      .filter((one) => one.units > 0)
      .map(({ amount, currencyCode }) => ({ amount, currencyCode })),
    timeToFill: percentiles(found),
    promises: Number(found.promises),
    keptPromises: Number(found.kept),
  };
}

/**
 * Units refused in the window (lost_demand rows created in [from, to)), by code, valued at each
 * product's price today, per currency. One statement through `lost_demand_created_idx`.
 */
async function lostDemandFigures(tx: Executor, window: Window): Promise<LostDemandFigure[]> {
  const d = lostDemand;
  const p = products;
  const found = await rows<{ code: ErrorCode; currency: string | null; total: boolean; units: number | string; value: string }>(
    tx,
    sql`
      SELECT ${d.code} AS code, ${p.currencyCode} AS currency, grouping(${p.currencyCode}) = 1 AS total,
             sum(${d.quantity})::bigint AS units, round(sum(${d.quantity} * ${p.price}), 2)::text AS value
      FROM ${d} JOIN ${p} ON ${p.id} = ${d.productId}
      WHERE ${inWindow(d.createdAt, window)}${ofProducts(d.productId, window)}
      GROUP BY GROUPING SETS ((${d.code}), (${d.code}, ${p.currencyCode}))
      ORDER BY 1, 2`,
  );
  return found
    .filter((row) => row.total)
    .map((row) => ({
      code: row.code,
      units: Number(row.units),
      value: found.filter((one) => !one.total && one.code === row.code).map((one) => ({ amount: one.value, currencyCode: one.currency! })),
    }));
}

interface BacklogRow extends PercentileRow {
  waiting_units: number | string;
  delayed: number | string;
  at_risk: number | string;
}

/**
 * The backlog now, whatever the window: waiting units, how many backorders are delayed (the
 * engine's rule, `delayedFilter`) and how many have waited longer than `atRiskHours`, and the
 * waiting backorders' ages. One pass over the WAITING backorders (partial indexes on that status).
 */
function backlogNow(window: Window, atRiskHours: number): SQL {
  const b = backorders;
  const age = hoursBetween(b.createdAt, sql`now()`);
  return sql`
    SELECT coalesce(sum(${b.remaining}), 0)::bigint AS waiting_units,
           count(*) FILTER (WHERE ${delayedFilter(b)}) AS delayed,
           count(*) FILTER (WHERE ${b.createdAt} < now() - make_interval(hours => ${atRiskHours}::int)) AS at_risk,
           ${percentileColumns(age, sql`true`)}
    FROM ${b}
    WHERE ${b.status} = 'WAITING'${ofProducts(b.productId, window)}`;
}

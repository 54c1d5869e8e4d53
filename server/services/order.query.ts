/**
 * Reading orders: by id or number, their lines, what their waiting units were promised and are
 * expected for, and a filtered list, newest first.
 */
import { and, asc, desc, eq, inArray, lt, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { rowsByKeys } from "../../drizzle/lookup.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { delayedCondition, delayedFilter } from "./backorder-delay.js";
import { countersCountOrders, countOrdersFromCounters } from "./order-counters.js";
import {
  boundedCount,
  boundedResult,
  COUNT_BOUND,
  type Count,
  decodeCursor,
  exactCount,
  lazyCount,
  type Page,
  type PageArgs,
  pageSize,
  toPage,
} from "../../drizzle/paging.js";
import { intArray, toDate } from "../../drizzle/sql.js";
import { shipBySql } from "./supplier-order.query.js";
import type { OrderLineRecord, OrderRecord, OrderStatus } from "./types.js";

const { backorders, orders, orderLines, supplierOrders, suppliers } = schema;
// The tables under the aliases the statements read them by.
const b = alias(backorders, "b");
/** The most delayed backorders read to count delayed orders: twice a bounded count's rows, a backorder being cheaper to read than an order's semi-join. */
const DELAYED_ROWS_READ = 2 * COUNT_BOUND;
const l = alias(orderLines, "l");

export interface OrderFilter {
  status?: OrderStatus[] | null;
  /** Exact customer identifier. */
  customer?: string | null;
  /** Orders with (true) or without (false) a delayed waiting backorder. */
  delayed?: boolean | null;
  /** Orders with a line for this product. */
  productId?: number | null;
}

/** What an order's waiting units look like (docs/ARCHITECTURE.md, "The GraphQL contract", Order). */
export interface OrderWaitingSummary {
  /** The latest promise among its waiting backorders. */
  promisedAt: Date | null;
  /** When its last waiting unit is expected (a dropship line: its supplier order's ship date); null when any of them has no date, or none waits. */
  expectedAt: Date | null;
  /** Whether any waiting backorder is delayed. */
  delayed: boolean;
}

/** The orders with these ids, in the ids' order; null where none exists. */
export const ordersByIds = (db: Executor, ids: readonly number[]) => rowsByKeys(db, orders, "id", ids);

/** Each order's lines in line-number order, in the ids' order; [] for an unknown order. */
export async function orderLinesByOrders(db: Executor, orderIds: readonly number[]): Promise<OrderLineRecord[][]> {
  if (orderIds.length === 0) return [];
  const found = await db
    .select()
    .from(orderLines)
    .where(inArray(orderLines.orderId, [...orderIds]))
    .orderBy(asc(orderLines.orderId), asc(orderLines.lineNumber));
  const byOrder = new Map<number, OrderLineRecord[]>();
  for (const line of found) {
    const list = byOrder.get(line.orderId) ?? [];
    list.push(line);
    byOrder.set(line.orderId, list);
  }
  return orderIds.map((id) => byOrder.get(id) ?? []);
}

/** The waiting-units summary of each order, in the ids' order, in one statement. */
export async function orderWaitingSummaries(db: Executor, orderIds: readonly number[]): Promise<OrderWaitingSummary[]> {
  if (orderIds.length === 0) return [];
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT order_id,
             max(promised_at) AS promised_at,
             CASE WHEN bool_or(expected_at IS NULL) THEN NULL ELSE max(expected_at) END AS expected_at,
             bool_or(delayed) AS delayed
        FROM (
          SELECT ${b.orderId} AS order_id, ${b.promisedAt} AS promised_at, ${b.expectedAt} AS expected_at, ${delayedCondition(b)} AS delayed
            FROM ${backorders} ${b}
           WHERE ${b.orderId} = ANY(${intArray(orderIds)}) AND ${b.status} = 'WAITING'
          UNION ALL
          -- A dropship line waits at its supplier ("Dropship"): its date is the supplier order's ship date.
          SELECT ${supplierOrders.orderId}, NULL, ${shipBySql(supplierOrders, suppliers)}, false
            FROM ${supplierOrders} JOIN ${suppliers} ON ${suppliers.id} = ${supplierOrders.supplierId}
           WHERE ${supplierOrders.orderId} = ANY(${intArray(orderIds)}) AND ${supplierOrders.status} IN ('OPEN', 'ACKNOWLEDGED')
        ) waiting
       GROUP BY order_id`,
  );
  const byOrder = new Map<number, OrderWaitingSummary>(
    found.map((row) => [
      Number(row.order_id),
      { promisedAt: toDate(row.promised_at), expectedAt: toDate(row.expected_at), delayed: row.delayed === true || row.delayed === "t" },
    ]),
  );
  return orderIds.map((id) => byOrder.get(id) ?? { promisedAt: null, expectedAt: null, delayed: false });
}

/**
 * A page of orders matching `filter`, newest first. Its total comes from the order counters when
 * the filter is statuses and a product at most, else it is counted up to COUNT_BOUND
 * (docs/ARCHITECTURE.md, "Counting"). INVALID_INPUT for a bad `first` or cursor.
 */
export async function listOrders(db: Executor, filter: OrderFilter | null | undefined, page: PageArgs): Promise<Page<OrderRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const conditions: SQL[] = [];
  if (filter?.status) conditions.push(filter.status.length > 0 ? inArray(orders.status, filter.status) : sql`false`);
  if (filter?.customer !== undefined && filter?.customer !== null) conditions.push(eq(orders.customer, filter.customer));
  if (filter?.delayed !== undefined && filter?.delayed !== null) {
    const exists = sql`EXISTS (SELECT 1 FROM ${backorders} ${b} WHERE ${b.orderId} = ${orders.id} AND ${delayedFilter(b)})`;
    conditions.push(filter.delayed ? exists : sql`NOT ${exists}`);
  }
  if (filter?.productId !== undefined && filter?.productId !== null) {
    conditions.push(sql`EXISTS (SELECT 1 FROM ${orderLines} ${l} WHERE ${l.orderId} = ${orders.id} AND ${l.productId} = ${filter.productId}::int)`);
  }
  const keyset = after ? [lt(orders.id, after[0] as number)] : [];
  const fetched = await db
    .select()
    .from(orders)
    .where(and(...conditions, ...keyset))
    .orderBy(desc(orders.id))
    .limit(limit + 1);
  // Statuses and a product: the counters, exact. Anything else: counted up to the bound.
  const count = lazyCount(async () =>
    countersCountOrders(filter)
      ? exactCount(await countOrdersFromCounters(db, filter?.status, filter?.productId))
      : onlyDelayed(filter)
        ? countDelayedOrders(db)
        : boundedCount(
            db,
            db
              .select({ one: sql`1` })
              .from(orders)
              .where(and(...conditions)),
          ),
  );
  return toPage(fetched, limit, (row) => [row.id], count);
}

/** Whether the filter is `delayed: true` and nothing else: {@link countDelayedOrders} counts it. */
function onlyDelayed(filter: OrderFilter | null | undefined): boolean {
  if (filter?.delayed !== true) return false;
  return Object.entries(filter).every(([key, value]) => key === "delayed" || value === undefined || value === null);
}

/**
 * The orders with a delayed backorder, counted from the delayed backorders alone (every backorder
 * has its order): an index range of `backorders_late_idx` and the distinct order ids among its
 * rows, instead of a look-up of each order (a third of the time at 10,000,000 orders). It reads at
 * most {@link DELAYED_ROWS_READ} backorders, the same order of work as any bounded count; past
 * that, the orders found so far are a lower bound (AT_LEAST), as past COUNT_BOUND orders.
 */
async function countDelayedOrders(db: Executor): Promise<Count> {
  const [row] = await rows<{ orders: number; read: number }>(
    db,
    sql`SELECT count(DISTINCT late.order_id)::int AS orders, count(*)::int AS read
        FROM (SELECT ${b.orderId} FROM ${backorders} ${b} WHERE ${delayedFilter(b)} LIMIT ${sql.raw(String(DELAYED_ROWS_READ + 1))}) late`,
  );
  if (row.read > DELAYED_ROWS_READ) return { value: Math.min(row.orders, COUNT_BOUND), precision: "AT_LEAST" };
  return boundedResult(row.orders);
}

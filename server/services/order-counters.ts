/**
 * The order counters (docs/ARCHITECTURE.md, "Counting"): how many orders have each status, and how
 * many with a line for each product have each status. Triggers keep them in the transaction of
 * every change (migration 0010); this file reads them, says which order filters they answer, and
 * rebuilds them from the orders.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { names } from "../../drizzle/sql.js";
import type { OrderStatus } from "./types.js";

const { orderCounts, orderLines, orders, productOrderCounts } = schema;

/** The stripes of `order_counts`: an order counts in slot `id % ORDER_COUNT_SLOTS` (the triggers say 16 too). */
export const ORDER_COUNT_SLOTS = 16;

/** The deferred trigger that adds a transaction's counter changes at its commit (migration 0010). */
const ORDER_COUNT_CHANGES_TRIGGER = "order_count_changes_apply";

/** An order filter as far as counting is concerned: which fields are set, whatever their values. */
export interface OrderCountFilter {
  status?: unknown;
  customer?: unknown;
  delayed?: unknown;
  productId?: unknown;
}

const isSet = (value: unknown) => value !== undefined && value !== null;

/**
 * Whether the counters answer the count of orders matching `filter`: any statuses, a product, both
 * or neither; not a customer or delay. The query cost (server/graphql/limits/query-cost.ts) prices
 * `orders { totalCount }` by the same rule.
 */
export function countersCountOrders(filter: OrderCountFilter | null | undefined): boolean {
  return !isSet(filter?.customer) && !isSet(filter?.delayed);
}

/**
 * The number of orders with one of `statuses` (any status when null), with a line for `productId`
 * when given, read from the counters: a few rows, however many orders there are.
 */
export async function countOrdersFromCounters(
  db: Executor,
  statuses: readonly OrderStatus[] | null | undefined,
  productId?: number | null,
): Promise<number> {
  if (statuses && statuses.length === 0) return 0;
  const [row] =
    productId === undefined || productId === null
      ? await db
          .select({ n: sql<string>`coalesce(sum(${orderCounts.n}), 0)` })
          .from(orderCounts)
          .where(statuses ? inArray(orderCounts.status, [...statuses]) : undefined)
      : await db
          .select({ n: sql<string>`coalesce(sum(${productOrderCounts.n}), 0)` })
          .from(productOrderCounts)
          .where(and(eq(productOrderCounts.productId, productId), statuses ? inArray(productOrderCounts.status, [...statuses]) : undefined));
  return Number(row.n);
}

/**
 * Adds the changes this transaction made to orders and lines to the counters now instead of at
 * commit, so that a read later in the same transaction (the audit, given a transaction) sees them;
 * they stay deferred for what the transaction does next. Nothing to do outside a transaction.
 */
export async function flushOrderCountChanges(tx: Executor): Promise<void> {
  // SET CONSTRAINTS … IMMEDIATE runs the deferred trigger for what is pending, at once.
  await tx.execute(sql`SET CONSTRAINTS ${sql.identifier(ORDER_COUNT_CHANGES_TRIGGER)} IMMEDIATE`);
  await tx.execute(sql`SET CONSTRAINTS ${sql.identifier(ORDER_COUNT_CHANGES_TRIGGER)} DEFERRED`);
}

/** What a rebuild wrote. */
export interface RebuiltCounters {
  /** Rows of `order_counts` (status and slot). */
  orderCounts: number;
  /** Rows of `product_order_counts` (product and status). */
  productOrderCounts: number;
}

/**
 * Recomputes both counters from the orders and their lines, in one transaction: for loads that
 * bypassed the triggers (`session_replication_role = replica`, disabled triggers) and for repair
 * after the audit reported a `counter.*` violation. Holds off every write to orders and lines
 * while it runs (SHARE lock: writers wait, readers do not), so nothing commits between the full
 * counts and the new counters; a full count of both tables, so minutes at tens of millions.
 */
export async function rebuildOrderCounters(db: Database): Promise<RebuiltCounters> {
  return inTransaction(db, async (tx) => {
    // Writers already under way finish first (their changes reach the counters at their commit);
    // later ones wait for this commit.
    await tx.execute(sql`LOCK TABLE ${orders}, ${orderLines} IN SHARE MODE`);
    await tx.execute(sql`DELETE FROM ${orderCounts}`);
    await tx.execute(sql`DELETE FROM ${productOrderCounts}`);
    const byStatus = await rows<{ n: unknown }>(
      tx,
      sql`WITH written AS (
            INSERT INTO ${orderCounts} (${names(orderCounts.status, orderCounts.slot, orderCounts.n)})
            SELECT ${orders.status}, ${orders.id} % ${sql.raw(String(ORDER_COUNT_SLOTS))}, count(*) FROM ${orders} GROUP BY 1, 2
            RETURNING 1)
          SELECT count(*)::int AS n FROM written`,
    );
    const byProduct = await rows<{ n: unknown }>(
      tx,
      sql`WITH written AS (
            INSERT INTO ${productOrderCounts} (${names(productOrderCounts.productId, productOrderCounts.status, productOrderCounts.n)})
            SELECT ${orderLines.productId}, ${orders.status}, count(DISTINCT ${orders.id})
            FROM ${orderLines} JOIN ${orders} ON ${orders.id} = ${orderLines.orderId}
            GROUP BY 1, 2
            RETURNING 1)
          SELECT count(*)::int AS n FROM written`,
    );
    return { orderCounts: Number(byStatus[0].n), productOrderCounts: Number(byProduct[0].n) };
  });
}

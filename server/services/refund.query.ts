/**
 * Reading refunds (docs/ARCHITECTURE.md, "Refunds") for the DataLoaders: the refunds of a page of
 * orders, their totals, and the lines of a batch of refunds, one statement each; and for the
 * shop's payment desk (the dashboard, `watch`): the list of refunds and what is still due.
 */
import { asc, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { CountPrecision, RefundStatus } from "../../drizzle/contract.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import {
  boundedCount,
  boundedResult,
  COUNT_BOUND,
  decodeCursor,
  lazyCount,
  type Page,
  type PageArgs,
  pageSize,
  toPage,
  toRecord,
} from "../../drizzle/paging.js";
import { intArray, cursorInstant } from "../../drizzle/sql.js";
import type { RefundLineRecord, RefundRecord } from "./refund.service.js";

const { refundLines, refunds } = schema;

/** A refund line with its refund's currency (its amount is money in that currency). */
export type RefundLineView = RefundLineRecord & { currencyCode: string };

/** The refunds of each order, oldest first, in the ids' order. */
export async function refundsByOrders(db: Executor, orderIds: readonly number[]): Promise<RefundRecord[][]> {
  if (orderIds.length === 0) return [];
  const found = await db
    .select()
    .from(refunds)
    .where(inArray(refunds.orderId, [...orderIds]))
    .orderBy(asc(refunds.orderId), asc(refunds.id));
  return groupBy(orderIds, found, (refund) => refund.orderId);
}

/**
 * What each order pays back in all (pending and refunded), as an exact decimal string, in the ids'
 * order; "0.00" for an order without refunds. Summed by PostgreSQL over numeric amounts.
 */
export async function refundTotals(db: Executor, orderIds: readonly number[]): Promise<string[]> {
  if (orderIds.length === 0) return [];
  const found = await rows<{ order_id: number; amount: string }>(
    db,
    sql`SELECT ${refunds.orderId}, sum(${refunds.amount})::numeric(14, 2)::text AS amount
        FROM ${refunds} WHERE ${refunds.orderId} = ANY(${intArray(orderIds)}) GROUP BY ${refunds.orderId}`,
  );
  const byOrder = new Map(found.map((row) => [Number(row.order_id), String(row.amount)]));
  return orderIds.map((id) => byOrder.get(id) ?? "0.00");
}

/** The lines of each refund, by order line, with the refund's currency, in the ids' order. */
export async function refundLinesByRefunds(db: Executor, refundIds: readonly number[]): Promise<RefundLineView[][]> {
  if (refundIds.length === 0) return [];
  const found = await db
    .select({ line: refundLines, currencyCode: refunds.currencyCode })
    .from(refundLines)
    .innerJoin(refunds, eq(refunds.id, refundLines.refundId))
    .where(inArray(refundLines.refundId, [...refundIds]))
    .orderBy(asc(refundLines.refundId), asc(refundLines.orderLineId));
  return groupBy(
    refundIds,
    found.map((row) => ({ ...row.line, currencyCode: row.currencyCode })),
    (line) => line.refundId,
  );
}

/**
 * Pending refunds are listed oldest first, the order the shop pays them in, by (created_at, id)
 * through the partial index `refunds_pending_idx`; every other list newest first by id (the
 * primary key). The cursor carries what its list compares: (created_at as exact UTC text, id) or (id).
 */
const PENDING_CURSOR = ["text", "int"] as const;
const NEWEST_CURSOR = ["int"] as const;
const SORT_AT = cursorInstant(refunds.createdAt);

type SortedRefund = RefundRecord & { sortAt: string };

/**
 * A page of refunds, of one `status` or all: PENDING oldest first (the next to pay at the top),
 * the others newest first. INVALID_INPUT for a bad `first` or cursor (a cursor of the other order
 * included). `totalCount` is counted lazily, up to COUNT_BOUND.
 */
export async function listRefunds(db: Executor, status: RefundStatus | null | undefined, page: PageArgs): Promise<Page<RefundRecord>> {
  const limit = pageSize(page.first);
  const pending = status === "PENDING";
  const after = decodeCursor(page.after, pending ? PENDING_CURSOR : NEWEST_CURSOR);
  const where: SQL = status ? sql`${refunds.status} = ${status}` : sql`true`;
  let keyset = sql``;
  if (after) {
    keyset = pending
      ? sql`AND (${refunds.createdAt}, ${refunds.id}) > (${after[0]}::timestamptz, ${after[1]}::int)`
      : sql`AND ${refunds.id} < ${after[0]}::int`;
  }
  const order = pending ? sql`${refunds.createdAt}, ${refunds.id}` : sql`${refunds.id} DESC`;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`SELECT ${SORT_AT} AS sort_at, ${refunds}.* FROM ${refunds} WHERE ${where} ${keyset} ORDER BY ${order} LIMIT ${limit + 1}`,
  );
  const sorted: SortedRefund[] = found.map((row) => ({ ...toRecord(refunds, row), sortAt: String(row.sort_at) }));
  const keyOf = (refund: SortedRefund) => (pending ? [refund.sortAt, refund.id] : [refund.id]);
  const count = lazyCount(() => boundedCount(db, sql`SELECT 1 FROM ${refunds} WHERE ${where}`));
  const cut = toPage(sorted, limit, keyOf, count);
  return { ...cut, items: cut.items.map(({ sortAt: _sortAt, ...refund }) => refund) };
}

/** Pending refunds of one currency: how many, and what they add up to (an exact decimal string). */
export interface RefundsDueTotal {
  currencyCode: string;
  amount: string;
  count: number;
}

/** What the shop still owes: pending refunds per currency, how many, and since when. */
export interface RefundsDue {
  /** One per currency, by currency code; none when nothing is pending. */
  totals: RefundsDueTotal[];
  /** Pending refunds, or COUNT_BOUND with AT_LEAST when there are more. */
  count: number;
  /** AT_LEAST when more than COUNT_BOUND refunds are pending: `count` and `totals` then cover the oldest COUNT_BOUND. */
  countPrecision: CountPrecision;
  /** When the oldest pending refund was written; null when nothing is pending. */
  oldestPendingAt: Date | null;
}

/**
 * The refunds due, in one statement: the oldest COUNT_BOUND + 1 pending refunds, one range of
 * `refunds_pending_idx`, summed per currency over the first COUNT_BOUND. The work stays that of a
 * bounded count however long the shop leaves refunds unpaid; past the bound the figures say
 * AT_LEAST and cover the oldest COUNT_BOUND (the ones the shop pays first).
 */
export async function refundsDue(db: Executor): Promise<RefundsDue> {
  const found = await rows<{ currency_code: string; amount: string; count: number; oldest: unknown; seen: number }>(
    db,
    sql`WITH oldest AS (
          SELECT ${refunds.amount} AS amount, ${refunds.currencyCode} AS currency_code, ${refunds.createdAt} AS created_at,
                 row_number() OVER (ORDER BY ${refunds.createdAt}, ${refunds.id}) AS n
            FROM ${refunds}
           WHERE ${refunds.status} = 'PENDING'
           ORDER BY ${refunds.createdAt}, ${refunds.id}
           LIMIT ${sql.raw(String(COUNT_BOUND + 1))})
        SELECT currency_code, sum(amount)::text AS amount, count(*)::int AS count, min(created_at) AS oldest,
               (SELECT count(*)::int FROM oldest) AS seen
          FROM oldest
         WHERE n <= ${sql.raw(String(COUNT_BOUND))}
         GROUP BY currency_code
         ORDER BY currency_code`,
  );
  const counted = boundedResult(found.length === 0 ? 0 : Number(found[0].seen));
  const oldest = found.map((row) => new Date(row.oldest as string | Date)).sort((a, b) => a.getTime() - b.getTime())[0];
  return {
    totals: found.map((row) => ({ currencyCode: String(row.currency_code), amount: String(row.amount), count: Number(row.count) })),
    count: counted.value,
    countPrecision: counted.precision,
    oldestPendingAt: oldest ?? null,
  };
}

function groupBy<T>(keys: readonly number[], items: readonly T[], keyOf: (item: T) => number): T[][] {
  const byKey = new Map<number, T[]>();
  for (const item of items) {
    const list = byKey.get(keyOf(item)) ?? [];
    list.push(item);
    byKey.set(keyOf(item), list);
  }
  return keys.map((key) => byKey.get(key) ?? []);
}

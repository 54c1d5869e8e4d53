/**
 * Reading refunds (docs/ARCHITECTURE.md, "Refunds") for the DataLoaders: the refunds of a page of
 * orders, their totals, and the lines of a batch of refunds, one statement each.
 */
import { asc, eq, inArray, sql } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { intArray } from "../../drizzle/sql.js";
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

function groupBy<T>(keys: readonly number[], items: readonly T[], keyOf: (item: T) => number): T[][] {
  const byKey = new Map<number, T[]>();
  for (const item of items) {
    const list = byKey.get(keyOf(item)) ?? [];
    list.push(item);
    byKey.set(keyOf(item), list);
  }
  return keys.map((key) => byKey.get(key) ?? []);
}

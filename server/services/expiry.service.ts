/**
 * Expiry of stale backorders (docs/ARCHITECTURE.md, "Expiry of stale backorders"): the sweep that
 * cancels and refunds the waiting units of backorders `autoCancelAfterDays` past their promise,
 * and `keepWaiting`, the customer's choice to wait past it. The rule itself is in
 * `backorder-expiry.ts`.
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { intArray } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { expiredCondition, waitCountedFrom } from "./backorder-expiry.js";
import { lockWaitingBackorder } from "./backlog.service.js";
import { type CancelCause, cancelUnits } from "./order.service.js";
import { lockProducts } from "./product.service.js";
import type { BackorderRecord } from "./types.js";
import { requireId } from "./validation.js";

const { backorders, orders, products } = schema;

/**
 * The most backorders one pass of the sweep expires: one transaction, one cancelling statement
 * and one refund statement for all of them. Small enough that a pass holds its products' locks
 * briefly (placing orders for them waits that long), large enough that a backlog of thousands
 * expiring at once is a few passes.
 */
export const EXPIRY_BATCH = 500;

/** An expiry: its waiting units cancelled, refund EXPIRED, events BACKORDER_EXPIRED / EXPIRED. */
const EXPIRED: CancelCause = { refund: "EXPIRED", change: "BACKORDER_EXPIRED", kind: "EXPIRED" };

/** What one run of the sweep expired. */
export interface ExpiredBackorders {
  /** The backorders cancelled, by pass, in product then expiry order. */
  backorderIds: number[];
  /** Their orders, each once. */
  orderIds: number[];
  /** The refunds written, one per order and pass. */
  refundIds: number[];
}

interface Expiring {
  id: number;
  order_id: number;
  order_line_id: number;
  product_id: number;
  remaining: number;
}

/**
 * Up to `batch` expired backorders at `now` (of `productIds` when given), by product id, then
 * the instant their wait is counted from. Per product one range of `backorders_expiry_idx`; only
 * products with `auto_cancel_after_days` are visited.
 */
function expiring(now: Date, batch: number, productIds?: readonly number[]): SQL {
  const b = alias(backorders, "b");
  const p = alias(products, "p");
  const only = productIds ? sql`AND ${p.id} = ANY(${intArray(productIds)})` : sql``;
  return sql`
    SELECT x.id, x.order_id, x.order_line_id, ${p.id} AS product_id, x.remaining
    FROM ${products} ${p}
    CROSS JOIN LATERAL (
      SELECT ${b.id}, ${b.orderId}, ${b.orderLineId}, ${b.remaining}, ${waitCountedFrom(b)} AS since
      FROM ${backorders} ${b}
      WHERE ${b.productId} = ${p.id} AND ${expiredCondition(b, p.autoCancelAfterDays, now)}
      ORDER BY ${waitCountedFrom(b)}, ${b.id}
      LIMIT ${batch}::int
    ) x
    WHERE ${p.autoCancelAfterDays} IS NOT NULL ${only}
    ORDER BY ${p.id}, x.since, x.id
    LIMIT ${batch}::int`;
}

/**
 * One pass, in the caller's transaction: finds up to `batch` expired backorders, locks their
 * products (id order), reads them again under the locks (a receipt, a cancel or `keepWaiting`
 * that committed meanwhile has changed them, and another instance's sweep may have expired them),
 * locks their orders (id order: "Locking order"), and cancels their remaining units with
 * {@link cancelUnits}: lines, backorders CANCELLED, product counters, the queues behind re-dated,
 * order statuses, one EXPIRED refund per order, events with reason BACKORDER_EXPIRED and kind
 * EXPIRED naming each order's refund. `found` is what the first read saw.
 */
async function expirePass(tx: Executor, now: Date, batch: number): Promise<ExpiredBackorders & { found: number }> {
  const seen = await rows<Expiring>(tx, expiring(now, batch));
  const none = { found: seen.length, backorderIds: [], orderIds: [], refundIds: [] };
  if (seen.length === 0) return none;
  const productIds = [...new Set(seen.map((row) => Number(row.product_id)))].sort((x, y) => x - y);
  await lockProducts(tx, productIds);
  const due = await rows<Expiring>(tx, expiring(now, batch, productIds));
  if (due.length === 0) return none;
  const orderIds = [...new Set(due.map((row) => Number(row.order_id)))].sort((x, y) => x - y);
  // The orders after their products. FOR NO KEY UPDATE, as refreshOrderStatuses takes them: the
  // refunds and events written below reference these rows, which FOR UPDATE would not stop, but
  // other transactions' inserts referencing them need not wait for this one either.
  await rows(
    tx,
    sql`SELECT count(*) FROM (SELECT ${orders.id} FROM ${orders} WHERE ${orders.id} = ANY(${intArray(orderIds)}) ORDER BY ${orders.id} FOR NO KEY UPDATE) locked`,
  );
  const refunds = await cancelUnits(
    tx,
    due.map((row) => ({ orderId: Number(row.order_id), lineId: Number(row.order_line_id), waiting: Number(row.remaining), allocated: 0 })),
    EXPIRED,
  );
  return {
    found: seen.length,
    backorderIds: due.map((row) => Number(row.id)),
    orderIds,
    refundIds: refunds.map((refund) => refund.id),
  };
}

/**
 * The expiry sweep: cancels the remaining units of every backorder expired at `now`
 * (`backorder-expiry.ts`), in passes of at most `batch` backorders, one transaction each, until a
 * pass finds fewer than `batch`. Every instance runs it periodically (`http/app.ts`); two at once
 * only wait for each other's product locks, and the second finds nothing left to expire.
 */
export async function expireBackorders(db: Database, now: Date = new Date(), { batch = EXPIRY_BATCH } = {}): Promise<ExpiredBackorders> {
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000) throw new RangeError(`an expiry batch is 1 to 10000 backorders, not ${batch}`);
  const expired: ExpiredBackorders = { backorderIds: [], orderIds: [], refundIds: [] };
  const orderIds = new Set<number>();
  for (;;) {
    const pass = await inTransaction(db, (tx) => expirePass(tx, now, batch));
    expired.backorderIds.push(...pass.backorderIds);
    expired.refundIds.push(...pass.refundIds);
    for (const id of pass.orderIds) orderIds.add(id);
    if (pass.found < batch) break;
  }
  expired.orderIds = [...orderIds];
  return expired;
}

/**
 * The customer chose to wait past the promise: the sweep leaves this WAITING backorder alone from
 * now on (its `expiresAt` is null). Idempotent. INVALID_STATE for a filled or cancelled backorder,
 * NOT_FOUND for an unknown one; nothing changes then.
 *
 * It takes the product's lock, as the sweep does, so the two are ordered: a sweep that expired the
 * backorder first makes this INVALID_STATE, and one that comes after reads the choice. No event is
 * written: nothing any event carries changes (no units, dates, place or order status), no
 * order-change kind names it, and the customer, who asked, needs no notification.
 */
export async function keepWaiting(db: Database, id: number): Promise<BackorderRecord> {
  const backorderId = requireId(id, ["id"], "backorder");
  return inTransaction(db, async (tx) => {
    const backorder = await lockWaitingBackorder(tx, backorderId);
    if (backorder.keepWaiting) return backorder;
    const [updated] = await tx.update(backorders).set({ keepWaiting: true }).where(eq(backorders.id, backorderId)).returning();
    return updated;
  });
}

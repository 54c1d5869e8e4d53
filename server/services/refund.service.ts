/**
 * Refunds (docs/ARCHITECTURE.md, "Refunds"): what a cancellation of paid units owes the customer,
 * written by the cancelling transaction itself, and the shop's confirmation that it was paid back.
 * Money is numeric from end to end: amounts are computed by PostgreSQL from the lines' unit
 * prices and travel as decimal strings ("59.97"), never as JavaScript numbers.
 */
import { eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { RefundReason } from "../../drizzle/contract.js";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { toRecord } from "../../drizzle/paging.js";
import { jsonb, names } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { refuse } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { orderLines, orders, refundLines, refunds } = schema;
// The tables under the aliases the statement reads them by.
const l = alias(orderLines, "l");
const o = alias(orders, "o");

export type RefundRecord = typeof schema.refunds.$inferSelect;
export type RefundLineRecord = typeof schema.refundLines.$inferSelect;

/** A refund as {@link recordRefunds} wrote it, with its lines (by order line id). */
export type RecordedRefund = RefundRecord & { lines: RefundLineRecord[] };

/** Units of one order line to pay back. */
export interface RefundUnits {
  orderLineId: number;
  quantity: number;
}

/**
 * Records what cancelling `lines` owes the customers, in the caller's transaction, in one
 * statement: one PENDING refund per order the lines belong to, for `reason`, with a line per order
 * line (units × the line's unit price) and the sum as its amount, in the order's currency. Lines
 * naming the same order line are added up; lines of no units are left out, and no units at all
 * writes nothing. For a cancellation that spans orders (expiry, a sweep) as for one that does not.
 *
 * The caller has just cancelled these units, under the order's lock, in the same transaction: the
 * refund commits with the cancellation or not at all (the audit's `refund.*` checks hold the two
 * together). With `orderId`, every line must be of that order. Throws (a bug, not a refusal)
 * when a line names an order line that does not exist or is of another order.
 */
export async function recordRefunds(
  tx: Executor,
  reason: RefundReason,
  lines: readonly RefundUnits[],
  { orderId }: { orderId?: number } = {},
): Promise<RecordedRefund[]> {
  const wanted = lines.filter((line) => line.quantity > 0);
  if (wanted.length === 0) return [];
  for (const line of wanted) {
    if (!Number.isSafeInteger(line.orderLineId) || !Number.isSafeInteger(line.quantity)) throw new TypeError(`not whole units: ${JSON.stringify(line)}`);
  }
  const ofOrder = orderId === undefined ? sql`true` : sql`${l.orderId} = ${orderId}::int`;
  const found = await rows<Record<string, unknown>>(
    tx,
    sql`
    WITH requested AS (
      SELECT r.order_line_id, sum(r.quantity)::int AS quantity
      FROM jsonb_to_recordset(${jsonb(wanted.map((line) => ({ order_line_id: line.orderLineId, quantity: line.quantity })))})
        AS r(order_line_id int, quantity int)
      GROUP BY r.order_line_id
    ), priced AS (
      -- int × numeric(14,2) is exact numeric: the amounts never pass through a float.
      SELECT ${l.orderId}, ${l.id} AS order_line_id, q.quantity, q.quantity * ${l.unitPrice} AS amount
      FROM requested q JOIN ${orderLines} ${l} ON ${l.id} = q.order_line_id
      WHERE ${ofOrder}
    ), refunded AS (
      INSERT INTO ${refunds} (${names(refunds.orderId, refunds.reason, refunds.amount, refunds.currencyCode)})
      SELECT ${o.id}, ${reason}::text, t.amount, ${o.currencyCode}
      FROM (SELECT order_id, sum(amount) AS amount FROM priced GROUP BY order_id) t JOIN ${orders} ${o} ON ${o.id} = t.order_id
      ORDER BY ${o.id}
      RETURNING *
    ), refunded_lines AS (
      INSERT INTO ${refundLines} (${names(refundLines.refundId, refundLines.orderLineId, refundLines.quantity, refundLines.amount)})
      SELECT r.id, p.order_line_id, p.quantity, p.amount FROM refunded r JOIN priced p ON p.order_id = r.order_id
      RETURNING *
    )
    SELECT r.*, x.lines
    FROM refunded r
    JOIN (SELECT refund_id, jsonb_agg(jsonb_build_object('id', id, 'refund_id', refund_id, 'order_line_id', order_line_id,
                                                         'quantity', quantity, 'amount', amount::text) ORDER BY order_line_id) AS lines
          FROM refunded_lines GROUP BY refund_id) x ON x.refund_id = r.id
    ORDER BY r.order_id`,
  );
  const recorded = found.map((row) => {
    const written = (typeof row.lines === "string" ? JSON.parse(row.lines) : row.lines) as Record<string, unknown>[];
    return { ...toRecord(refunds, row), lines: written.map((line) => toRecord(refundLines, line)) };
  });
  const requested = new Set(wanted.map((line) => line.orderLineId)).size;
  const written = recorded.reduce((sum, refund) => sum + refund.lines.length, 0);
  if (written !== requested) {
    throw new Error(
      `refund of ${requested} order lines wrote ${written}: a line does not exist${orderId === undefined ? "" : ` or is not of order ${orderId}`}`,
    );
  }
  return recorded;
}

/**
 * Records what cancelling `lines` of order `orderId` owes its customer: {@link recordRefunds} for
 * one order. Null when no units are given.
 */
export async function recordRefund(tx: Executor, orderId: number, reason: RefundReason, lines: readonly RefundUnits[]): Promise<RecordedRefund | null> {
  const [refund] = await recordRefunds(tx, reason, lines, { orderId });
  return refund ?? null;
}

/**
 * Records that the shop's payment system paid refund `id` back: REFUNDED, with its `reference`
 * (trimmed, 1 to 200 characters) and the time. Idempotent: the same reference again answers the
 * refund unchanged (a retried confirmation). A refund already confirmed with another reference is
 * INVALID_STATE, an unknown one NOT_FOUND; bad input INVALID_INPUT, before anything is read.
 */
export async function markRefunded(db: Database, id: number, reference: string): Promise<RefundRecord> {
  const refundId = requireId(id, ["id"], "refund");
  const checks = new Checks();
  const confirmation = checks.text(reference, ["reference"], LIMITS.reference);
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    // The row lock orders two confirmations of one refund: the second sees the first's reference.
    const [refund] = await tx.select().from(refunds).where(eq(refunds.id, refundId)).for("update");
    if (!refund) refuse("NOT_FOUND", "refund not found", ["id"]);
    if (refund.status === "REFUNDED") {
      if (refund.reference === confirmation) return refund;
      refuse("INVALID_STATE", `refund ${refund.id} was already marked refunded with another reference`, ["reference"]);
    }
    const [confirmed] = await tx
      .update(refunds)
      .set({ status: "REFUNDED", reference: confirmation, refundedAt: sql`now()` })
      .where(eq(refunds.id, refund.id))
      .returning();
    return confirmed;
  });
}

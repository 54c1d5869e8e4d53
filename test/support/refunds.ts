/** Refunds for tests that write cancelled units with plain SQL, as a bulk load would (docs/ARCHITECTURE.md, "Refunds"). */
import { sql } from "drizzle-orm";
import { type Executor, rows } from "../../drizzle/db.js";
import { type RecordedRefund, recordRefunds } from "../../server/services/refund.service.js";

/**
 * Writes the refunds that cancelled units written without the services lack, through the engine's
 * own `recordRefunds`: one PENDING refund per order for every line whose cancelled units exceed
 * what its refunds pay back. Run it in the loading transaction, so the audit finds them together.
 */
export async function refundCancelledUnits(tx: Executor): Promise<RecordedRefund[]> {
  const missing = await rows<{ order_line_id: number; quantity: number }>(
    tx,
    sql`SELECT l.id AS order_line_id, l.cancelled - coalesce(r.quantity, 0) AS quantity
        FROM order_lines l
        LEFT JOIN (SELECT order_line_id, sum(quantity)::int AS quantity FROM refund_lines GROUP BY order_line_id) r ON r.order_line_id = l.id
        WHERE l.cancelled > coalesce(r.quantity, 0)`,
  );
  return recordRefunds(
    tx,
    "CANCELLED",
    missing.map((row) => ({ orderLineId: Number(row.order_line_id), quantity: Number(row.quantity) })),
  );
}

/** Deletes the refunds of `customer`'s orders, for a test that deletes those orders afterwards (refunds refer to them). */
export async function deleteRefundsOf(db: Executor, customer: string): Promise<void> {
  await db.execute(
    sql`DELETE FROM refund_lines WHERE refund_id IN (SELECT r.id FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.customer = ${customer})`,
  );
  await db.execute(sql`DELETE FROM refunds WHERE order_id IN (SELECT id FROM orders WHERE customer = ${customer})`);
}

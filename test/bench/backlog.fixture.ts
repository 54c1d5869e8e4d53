/**
 * A deep backlog made fast: `count` waiting backorders for one product, written by three set-based
 * statements in one transaction, the way placeOrder would leave them (an order with one line of 1
 * to 3 units each, every unit waiting, products.backordered the sum), so the invariant audit finds
 * nothing to object to. Placing 100,000 orders one by one would take minutes; this takes seconds.
 */
import { sql } from "drizzle-orm";
import { type Database, rows } from "../../drizzle/db.js";
import { inTransaction } from "../../drizzle/transaction.js";

export interface Backlog {
  productId: number;
  backorders: number;
  /** Waiting units. */
  units: number;
}

/**
 * Queues `count` backorders behind product `productId`'s backlog (which must have no free stock:
 * stock never waits beside a queue). Order i asks for 1 + i % 3 units.
 */
export async function queueBackorders(db: Database, productId: number, count: number): Promise<Backlog> {
  return inTransaction(db, async (tx) => {
    await tx.execute(sql`SELECT id FROM products WHERE id = ${productId} FOR UPDATE`);
    // The order's customer carries its index, so the lines can be matched to their orders.
    await tx.execute(sql`
      INSERT INTO orders (customer, status, total, currency_code)
      SELECT 'backlog-' || ${productId}::int || '-' || g, 'AWAITING_STOCK', p.price * (1 + g % 3), p.currency_code
      FROM generate_series(1, ${count}::int) g CROSS JOIN products p
      WHERE p.id = ${productId}
      ORDER BY g`);
    await tx.execute(sql`
      INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, allocated, waiting)
      SELECT o.id, p.id, 1, q.units, p.price, 0, q.units
      FROM orders o
      CROSS JOIN LATERAL (SELECT 1 + split_part(o.customer, '-', 3)::int % 3 AS units) q
      JOIN products p ON p.id = ${productId}
      WHERE o.customer LIKE ${`backlog-${productId}-%`}
      ORDER BY o.id`);
    const [queued] = await rows<{ backorders: number; units: number }>(
      tx,
      sql`
      WITH queued AS (
        INSERT INTO backorders (product_id, order_id, order_line_id, quantity, remaining)
        SELECT l.product_id, l.order_id, l.id, l.waiting, l.waiting
        FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE l.product_id = ${productId} AND o.customer LIKE ${`backlog-${productId}-%`}
        ORDER BY l.order_id
        RETURNING remaining
      ), totals AS (
        SELECT count(*)::int AS backorders, coalesce(sum(remaining), 0)::int AS units FROM queued
      ), backlog AS (
        UPDATE products
        SET backordered = backordered + (SELECT units FROM totals), waiting_orders = waiting_orders + (SELECT backorders FROM totals)
        WHERE id = ${productId}
      )
      SELECT backorders, units FROM totals`,
    );
    return { productId, backorders: queued.backorders, units: queued.units };
  });
}

/**
 * Schedules restocks for a product directly (no re-dating: the caller times that): `quantities[i]`
 * units arriving `days[i]` days from now, at `locationId`. Returns their ids.
 */
export async function scheduleSupply(db: Database, productId: number, locationId: number, supply: { units: number; days: number }[]): Promise<number[]> {
  return inTransaction(db, async (tx) => {
    await tx.execute(sql`
      INSERT INTO stock_levels (product_id, location_id) VALUES (${productId}, ${locationId})
      ON CONFLICT DO NOTHING`);
    const created = await rows<{ id: number }>(
      tx,
      sql`
      INSERT INTO restocks (product_id, location_id, quantity, expected_at, reference)
      SELECT ${productId}::int, ${locationId}::int, s.units, now() + s.days * interval '1 day', 'bench'
      FROM jsonb_to_recordset(${JSON.stringify(supply)}::jsonb) AS s(units int, days int)
      RETURNING id`,
    );
    return created.map((row) => Number(row.id));
  });
}

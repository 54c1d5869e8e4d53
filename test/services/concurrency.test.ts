/**
 * Races, on PostgreSQL only: PGlite is one connection, so nothing there ever waits for a lock.
 * Each test fires real concurrent transactions through a pool of its own.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { daysFromNow, newProduct, stockOf } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";

describeOnPostgres("concurrent operations on PostgreSQL", () => {
  const database = useFreshDatabase();
  let pool: Connection;

  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 24 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("gives 200 concurrent single-unit orders against 50 units exactly 50 allocations and a 150-deep queue", async () => {
    const product = await newProduct(pool.db, { initialStock: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => placeOrder(pool.db, { customer: `racer${i}`, lines: [{ productId: product.id, quantity: 1 }] })),
    );
    expect(results.filter((r) => r.order.status === "READY_TO_SHIP")).toHaveLength(50);
    expect(results.filter((r) => r.order.status === "AWAITING_STOCK")).toHaveLength(150);
    expect(await stockOf(pool.db, product.id)).toEqual({ onHand: 50, allocated: 50, backordered: 150 });
    const queue = await rows<{ position: number; remaining: number }>(
      pool.db,
      sql`SELECT row_number() OVER (ORDER BY priority DESC, id)::int AS position, remaining
          FROM backorders WHERE product_id = ${product.id} AND status = 'WAITING' ORDER BY priority DESC, id`,
    );
    expect(queue.map((q) => Number(q.position))).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(queue.every((q) => q.remaining === 1)).toBe(true);
  });

  it("lets two-line orders naming the same products in opposite order all succeed", async () => {
    const first = await newProduct(pool.db, { initialStock: 30 });
    const second = await newProduct(pool.db, { initialStock: 30 });
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => {
        const pair = [
          { productId: first.id, quantity: 1 },
          { productId: second.id, quantity: 1 },
        ];
        return placeOrder(pool.db, { customer: `pair${i}`, lines: i % 2 ? pair : pair.reverse() });
      }),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(await stockOf(pool.db, first.id)).toEqual({ onHand: 30, allocated: 30, backordered: 30 });
    expect(await stockOf(pool.db, second.id)).toEqual({ onHand: 30, allocated: 30, backordered: 30 });
  });

  it("places one order for many racing requests with one idempotency key", async () => {
    const product = await newProduct(pool.db, { initialStock: 100 });
    const input = { customer: "retry", lines: [{ productId: product.id, quantity: 3 }], idempotencyKey: `race-${product.id}` };
    const results = await Promise.all(Array.from({ length: 12 }, () => placeOrder(pool.db, input)));
    expect(new Set(results.map((r) => r.order.id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await stockOf(pool.db, product.id)).toMatchObject({ allocated: 3 });
  });

  it("keeps every count right while orders, cancels and receipts race on one product", async () => {
    const product = await newProduct(pool.db, { initialStock: 5 });
    const restocks = await Promise.all(
      [1, 2, 3, 4].map((d) => scheduleRestock(pool.db, { productId: product.id, quantity: 10, expectedAt: daysFromNow(d) })),
    );
    const placed = await Promise.all(
      Array.from({ length: 40 }, (_, i) => placeOrder(pool.db, { customer: `mix${i}`, lines: [{ productId: product.id, quantity: 2 }] })),
    );
    await Promise.all([
      ...restocks.map((r) => receiveRestock(pool.db, r.id)),
      ...placed.filter((_, i) => i % 3 === 0).map((p) => cancelOrder(pool.db, p.order.id)),
      ...Array.from({ length: 20 }, (_, i) => placeOrder(pool.db, { customer: `late${i}`, lines: [{ productId: product.id, quantity: 1 }] })),
    ]);
    const stock = await stockOf(pool.db, product.id);
    expect(stock.onHand).toBe(45);
    // Free stock and a waiting queue never coexist: either everything is allocated or nobody waits.
    expect(stock.allocated === stock.onHand || stock.backordered === 0).toBe(true);
  });

  it("stamps backorders in queue order: createdAt never goes backwards along a queue, however the orders race", async () => {
    const products = await Promise.all([1, 2, 3].map(() => newProduct(pool.db)));
    // 32 clients at a time, multi-line orders in both product orders, so transactions start long before they get the locks.
    await Promise.all(
      Array.from({ length: 32 }, async (_, client) => {
        for (let i = 0; i < 6; i++) {
          const lines = products.map((product) => ({ productId: product.id, quantity: 1 }));
          await placeOrder(pool.db, { customer: `stamp${client}-${i}`, lines: (client + i) % 2 ? lines : lines.reverse() });
        }
      }),
    );
    for (const product of products) {
      // Equal priority: position order is id order.
      const queue = await rows<{ id: number; created_at: string }>(
        pool.db,
        sql`SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS created_at
            FROM backorders WHERE product_id = ${product.id} AND status = 'WAITING' ORDER BY priority DESC, id`,
      );
      expect(queue).toHaveLength(32 * 6);
      const backwards = queue.filter((row, i) => i > 0 && row.created_at < queue[i - 1].created_at);
      expect(backwards, `product ${product.id}: backorders stamped earlier than the one ahead of them`).toEqual([]);
    }
  });
});

/**
 * The order counters (docs/ARCHITECTURE.md, "Counting"): kept by statement triggers in the
 * transaction of every change to orders and lines, equal to full counts after the services'
 * placements, cancellations, shipments and fills, after bulk statements, and after rolled-back
 * savepoints; checked by the audit, which reports a counter that differs; rebuilt from scratch by
 * rebuildOrderCounters. And the bounded count the other filters use. On PostgreSQL also under
 * concurrent writers, which must never deadlock on the counters.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection, type Database, migrationsFolder, rows, schema } from "../../drizzle/db.js";
import { boundedCount, COUNT_BOUND } from "../../drizzle/paging.js";
import { auditInvariants, type Violation } from "../../server/services/audit.service.js";
import { countOrdersFromCounters, rebuildOrderCounters } from "../../server/services/order-counters.js";
import { listOrders } from "../../server/services/order.query.js";
import { cancelOrder, cancelOrderLine, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { DomainError, type OrderStatus } from "../../server/services/types.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { describeOnPostgres, onPostgres, rolledBack, useFreshDatabase } from "../support/database.js";
import { deleteRefundsOf, refundCancelledUnits } from "../support/refunds.js";

const database = useFreshDatabase();

/** The counters as rows, next to full counts of the same figures; equal when the counters are right. */
async function countersAndFullCounts(db: Database) {
  const [row] = await rows<Record<string, unknown>>(
    db,
    sql`SELECT
      (SELECT coalesce(jsonb_object_agg(status || '/' || slot, n), '{}') FROM order_counts WHERE n <> 0) AS kept_by_status,
      (SELECT coalesce(jsonb_object_agg(status || '/' || slot, n), '{}')
         FROM (SELECT status, id % 16 AS slot, count(*) AS n FROM orders GROUP BY 1, 2) c) AS full_by_status,
      (SELECT coalesce(jsonb_object_agg(product_id || '/' || status, n), '{}') FROM product_order_counts WHERE n <> 0) AS kept_by_product,
      (SELECT coalesce(jsonb_object_agg(product_id || '/' || status, n), '{}')
         FROM (SELECT l.product_id, o.status, count(DISTINCT o.id) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id GROUP BY 1, 2) c) AS full_by_product`,
  );
  const parse = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value) as Record<string, number>;
  return {
    kept: { byStatus: parse(row.kept_by_status), byProduct: parse(row.kept_by_product) },
    full: { byStatus: parse(row.full_by_status), byProduct: parse(row.full_by_product) },
  };
}

async function expectCountersRight(db: Database): Promise<void> {
  const { kept, full } = await countersAndFullCounts(db);
  expect(kept).toEqual(full);
}

const counterViolations = (violations: Violation[]) => violations.filter((violation) => violation.invariant.startsWith("counter."));

/** A total through listOrders, with its precision. */
async function total(db: Database, filter: Parameters<typeof listOrders>[1]) {
  const page = await listOrders(db, filter, { first: 0 });
  const value = typeof page.totalCount === "function" ? await page.totalCount() : page.totalCount;
  const precision = typeof page.totalCountPrecision === "function" ? await page.totalCountPrecision() : page.totalCountPrecision;
  return { value, precision };
}

/**
 * 10,001 one-line orders of `customer` for `productId`, every unit cancelled (a consistent order
 * needs no stock for that), written by two set-based statements as a bulk load would.
 */
async function loadCancelledOrders(db: Database, customer: string, productId: number, count: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      INSERT INTO orders (customer, status, total, currency_code)
      SELECT ${customer}, 'CANCELLED', 10, 'USD' FROM generate_series(1, ${count}::int)`);
    await tx.execute(sql`
      INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled)
      SELECT o.id, ${productId}::int, 1, 1, 10, 1 FROM orders o
      WHERE o.customer = ${customer} AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)`);
    await refundCancelledUnits(tx);
  });
}

describe("the counters follow every change", () => {
  it("equal full counts after placing, cancelling, shipping and filling orders through the services", async () => {
    const scarce = await newProduct(database.db, { initialStock: 3 });
    const plenty = await newProduct(database.db, { initialStock: 100 });
    const placed = [];
    for (let i = 0; i < 12; i++) {
      const lines = [{ productId: scarce.id, quantity: 1 + (i % 2) }];
      if (i % 3 !== 0) lines.push({ productId: plenty.id, quantity: 2 });
      placed.push((await placeOrder(database.db, { customer: `mix-${i}`, lines })).order);
    }
    await expectCountersRight(database.db);

    // Cancel some (releasing units that fill the queue behind them), cut a line, ship the ready ones.
    await cancelOrder(database.db, placed[0].id, "changed my mind");
    await cancelOrder(database.db, placed[5].id);
    const [line] = await rows<{ id: number }>(database.db, sql`SELECT id FROM order_lines WHERE order_id = ${placed[7].id} ORDER BY line_number LIMIT 1`);
    await cancelOrderLine(database.db, Number(line.id), 1);
    for (const order of placed) {
      const [row] = await rows<{ status: OrderStatus; allocated: number }>(
        database.db,
        sql`SELECT o.status, (SELECT sum(allocated) FROM order_lines WHERE order_id = o.id)::int AS allocated FROM orders o WHERE o.id = ${order.id}`,
      );
      if (Number(row.allocated) > 0 && row.status !== "CANCELLED") await shipOrder(database.db, order.id);
    }
    await expectCountersRight(database.db);

    // A restock fills the queue: orders move from AWAITING_STOCK to READY_TO_SHIP or PARTIALLY_SHIPPED.
    const restock = await scheduleRestock(database.db, { productId: scarce.id, quantity: 8, expectedAt: daysFromNow(2) });
    await receiveRestock(database.db, restock.id, 5);
    await receiveRestock(database.db, restock.id);
    await expectCountersRight(database.db);
    expect(counterViolations(await auditInvariants(database.db))).toEqual([]);

    // And listOrders reads its totals from them, exactly.
    const statuses = await rows<{ status: OrderStatus; n: number }>(database.db, sql`SELECT status, count(*)::int AS n FROM orders GROUP BY 1`);
    for (const { status, n } of statuses) {
      expect(await total(database.db, { status: [status] })).toEqual({ value: Number(n), precision: "EXACT" });
    }
    const [withScarce] = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(DISTINCT order_id)::int AS n FROM order_lines WHERE product_id = ${scarce.id}`,
    );
    expect(await total(database.db, { productId: scarce.id })).toEqual({ value: Number(withScarce.n), precision: "EXACT" });
    expect(await total(database.db, { productId: plenty.id, status: [] })).toEqual({ value: 0, precision: "EXACT" });
  });

  it("counts a bulk INSERT … SELECT with one aggregate per statement, and a bulk status change", async () => {
    const product = await newProduct(database.db);
    await loadCancelledOrders(database.db, "bulk-a", product.id, 2_500);
    await expectCountersRight(database.db);
    expect(await countOrdersFromCounters(database.db, ["CANCELLED"], product.id)).toBe(2_500);
    // A status change of many orders in one statement (not one the engine makes: only the counters are the point).
    await database.db.execute(sql`UPDATE orders SET status = 'SHIPPED' WHERE customer = 'bulk-a' AND id % 2 = 0`);
    await expectCountersRight(database.db);
    await database.db.execute(sql`UPDATE orders SET status = 'CANCELLED' WHERE customer = 'bulk-a'`);
    await expectCountersRight(database.db);
    expect(await countOrdersFromCounters(database.db, ["CANCELLED"], product.id)).toBe(2_500);
  });

  it("drops the changes of a rolled-back savepoint and of a rolled-back transaction", async () => {
    const product = await newProduct(database.db, { initialStock: 10 });
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO orders (customer, status, total, currency_code) VALUES ('kept', 'CANCELLED', 10, 'USD')`);
      await tx.execute(sql`
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled)
        SELECT id, ${product.id}::int, 1, 1, 10, 1 FROM orders WHERE customer = 'kept'`);
      await refundCancelledUnits(tx);
      await tx
        .transaction(async (savepoint) => {
          await savepoint.execute(sql`UPDATE orders SET status = 'SHIPPED' WHERE customer = 'kept'`);
          savepoint.rollback();
        })
        .catch(() => {});
    });
    await rolledBack(database.db, async (tx) => {
      await tx.execute(sql`UPDATE orders SET status = 'SHIPPED' WHERE customer = 'kept'`);
    });
    expect(await countOrdersFromCounters(database.db, ["CANCELLED"], product.id)).toBe(1);
    expect(await countOrdersFromCounters(database.db, ["SHIPPED"], product.id)).toBe(0);
    await expectCountersRight(database.db);
  });

  it("keeps counts right when a line moves to another order or product, and when lines and orders are deleted", async () => {
    const first = await newProduct(database.db);
    const second = await newProduct(database.db);
    await loadCancelledOrders(database.db, "moving", first.id, 3);
    await database.db.execute(
      sql`UPDATE order_lines SET product_id = ${second.id} WHERE order_id = (SELECT min(id) FROM orders WHERE customer = 'moving')`,
    );
    await expectCountersRight(database.db);
    await deleteRefundsOf(database.db, "moving");
    await database.db.execute(sql`DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE customer = 'moving')`);
    await database.db.execute(sql`DELETE FROM orders WHERE customer = 'moving'`);
    await expectCountersRight(database.db);
    expect(await countOrdersFromCounters(database.db, null, second.id)).toBe(0);
  });

  it("answers only statuses and a product from the counters: a customer or delay is counted up to the bound", async () => {
    const product = await newProduct(database.db);
    await loadCancelledOrders(database.db, "many", product.id, COUNT_BOUND + 1);
    expect(await total(database.db, { customer: "many" })).toEqual({ value: COUNT_BOUND, precision: "AT_LEAST" });
    expect(await total(database.db, { customer: "many", status: ["SHIPPED"] })).toEqual({ value: 0, precision: "EXACT" });
    expect(await total(database.db, { productId: product.id })).toEqual({ value: COUNT_BOUND + 1, precision: "EXACT" });
    expect(await total(database.db, { productId: product.id, status: ["CANCELLED", "SHIPPED"] })).toEqual({ value: COUNT_BOUND + 1, precision: "EXACT" });
    const all = await total(database.db, {});
    expect(all.precision).toBe("EXACT");
    expect(all.value).toBeGreaterThan(COUNT_BOUND);
    await deleteRefundsOf(database.db, "many");
    await database.db.execute(sql`DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE customer = 'many')`);
    await database.db.execute(sql`DELETE FROM orders WHERE customer = 'many'`);
  });

  it("answers a page's totalCount and totalCountPrecision with one statement, run only when asked for", async () => {
    const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
    const original = session.prepareQuery;
    let statements = 0;
    session.prepareQuery = function (this: unknown, ...args: unknown[]) {
      statements += 1;
      return original.apply(this, args);
    };
    try {
      for (const filter of [{ customer: "nobody" }, { status: ["SHIPPED" as const] }]) {
        statements = 0;
        const page = await listOrders(database.db, filter, { first: 1 });
        expect(statements, "the page alone").toBe(1);
        const [value, precision, again] = await Promise.all([
          (page.totalCount as () => Promise<number>)(),
          (page.totalCountPrecision as () => Promise<string>)(),
          (page.totalCount as () => Promise<number>)(),
        ]);
        expect([precision, again]).toEqual(["EXACT", value]);
        expect(statements, "the page and one count").toBe(2);
      }
    } finally {
      session.prepareQuery = original;
    }
  });

  it("a bounded count is exact up to its bound and the bound, AT_LEAST, beyond it", async () => {
    for (let i = 0; i < 3; i++) await newProduct(database.db);
    const [{ n }] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM products`);
    const products = sql`SELECT 1 FROM products`;
    expect(await boundedCount(database.db, products, Number(n))).toEqual({ value: Number(n), precision: "EXACT" });
    expect(await boundedCount(database.db, products, Number(n) - 1)).toEqual({ value: Number(n) - 1, precision: "AT_LEAST" });
  });
});

describe("the audit checks the counters", () => {
  it("reports a status counter that differs from a full count, then finds nothing once rebuilt", async () => {
    const product = await newProduct(database.db, { initialStock: 5 });
    const { order } = await placeOrder(database.db, { customer: "audited", lines: [{ productId: product.id, quantity: 2 }] });
    const slot = order.id % 16;
    await database.db.execute(sql`UPDATE order_counts SET n = n + 1 WHERE status = 'READY_TO_SHIP' AND slot = ${slot}`);
    expect(counterViolations(await auditInvariants(database.db))).toEqual([
      expect.objectContaining({ invariant: "counter.orders-by-status", ids: { status: "READY_TO_SHIP", slot } }),
    ]);
    await rebuildOrderCounters(database.db);
    expect(counterViolations(await auditInvariants(database.db))).toEqual([]);
  });

  it("reports a product counter that differs from a full count, and one that is missing", async () => {
    const product = await newProduct(database.db, { initialStock: 5 });
    await placeOrder(database.db, { customer: "audited-product", lines: [{ productId: product.id, quantity: 1 }] });
    await rolledBack(database.db, async (tx) => {
      await tx.execute(sql`UPDATE product_order_counts SET n = n - 1 WHERE product_id = ${product.id} AND status = 'READY_TO_SHIP'`);
      await tx.execute(sql`INSERT INTO product_order_counts (product_id, status, n) VALUES (${product.id}, 'SHIPPED', 2)`);
      const found = counterViolations(await auditInvariants(tx));
      expect(found.map((violation) => [violation.invariant, violation.ids])).toEqual([
        ["counter.orders-by-product", { productId: product.id, status: "READY_TO_SHIP" }],
        ["counter.orders-by-product", { productId: product.id, status: "SHIPPED" }],
      ]);
      expect(found[0].message).toContain("1 READY_TO_SHIP orders with a line for the product, the counter says 0");
    });
  });

  it("judges a transaction it is given with that transaction's own changes counted", async () => {
    const product = await newProduct(database.db);
    await rolledBack(database.db, async (tx) => {
      await tx.execute(sql`INSERT INTO orders (customer, status, total, currency_code) VALUES ('in-tx', 'CANCELLED', 10, 'USD')`);
      await tx.execute(sql`
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled)
        SELECT id, ${product.id}::int, 1, 1, 10, 1 FROM orders WHERE customer = 'in-tx'`);
      expect(counterViolations(await auditInvariants(tx))).toEqual([]);
      // Still deferred afterwards: the next change waits for commit (here: for nothing, rolled back).
      await tx.execute(sql`UPDATE orders SET status = 'SHIPPED' WHERE customer = 'in-tx'`);
      const [pending] = await rows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM order_count_changes`);
      expect(Number(pending.n)).toBeGreaterThan(0);
    });
  });

  it("rebuildOrderCounters recomputes both counters after a load that bypassed the triggers", async () => {
    const product = await newProduct(database.db);
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL session_replication_role = replica`);
      await tx.execute(
        sql`INSERT INTO orders (customer, status, total, currency_code) SELECT 'bypass', 'CANCELLED', 10, 'USD' FROM generate_series(1, 40)`,
      );
      await tx.execute(sql`
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled)
        SELECT id, ${product.id}::int, 1, 1, 10, 1 FROM orders WHERE customer = 'bypass'`);
      await refundCancelledUnits(tx);
    });
    expect(counterViolations(await auditInvariants(database.db)).map((violation) => violation.invariant)).toContain("counter.orders-by-product");
    const rebuilt = await rebuildOrderCounters(database.db);
    expect(rebuilt.orderCounts).toBeGreaterThan(0);
    expect(rebuilt.productOrderCounts).toBeGreaterThan(0);
    expect(counterViolations(await auditInvariants(database.db))).toEqual([]);
    expect(await countOrdersFromCounters(database.db, ["CANCELLED"], product.id)).toBe(40);
    await expectCountersRight(database.db);
  });
});

describe("migration 0010", () => {
  // The migrations are the same SQL on both databases; the upgrade runs once, on its own PGlite.
  it.skipIf(onPostgres)("starts the counters from the orders of an existing database", async () => {
    const folder = mkdtempSync(path.join(tmpdir(), "migrations-"));
    const client = new PGlite();
    try {
      cpSync(migrationsFolder, folder, { recursive: true });
      const journalPath = path.join(folder, "meta", "_journal.json");
      const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
      journal.entries = journal.entries.slice(
        0,
        journal.entries.findIndex((entry) => entry.tag === "0010_order_counters"),
      );
      writeFileSync(journalPath, JSON.stringify(journal));
      const db = drizzle(client, { schema });
      await migrate(db, { migrationsFolder: folder });
      // Before: three orders of two products, one with a line for each.
      await client.exec(`
        INSERT INTO products (sku, name, price, backorder_policy) VALUES ('A', 'A', 1, 'ALLOW'), ('B', 'B', 1, 'ALLOW');
        INSERT INTO orders (customer, status, total, currency_code) VALUES ('a', 'CANCELLED', 2, 'USD'), ('b', 'CANCELLED', 1, 'USD'), ('c', 'SHIPPED', 1, 'USD');
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled, shipped) VALUES
          (1, 1, 1, 1, 1, 1, 0), (1, 2, 2, 1, 1, 1, 0), (2, 1, 1, 1, 1, 1, 0), (3, 2, 1, 1, 1, 0, 1);
      `);

      await migrate(drizzle(client), { migrationsFolder });
      const counted = db as unknown as Database;

      expect(await countOrdersFromCounters(counted, ["CANCELLED"])).toBe(2);
      expect(await countOrdersFromCounters(counted, null, 2)).toBe(2);
      expect(await countOrdersFromCounters(counted, ["CANCELLED"], 1)).toBe(2);
      await expectCountersRight(counted);
      // And kept from now on.
      await client.exec(`UPDATE orders SET status = 'SHIPPED' WHERE id = 2`);
      expect(await countOrdersFromCounters(counted, ["SHIPPED"], 1)).toBe(1);
    } finally {
      await client.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describeOnPostgres("the counters under concurrent writers", () => {
  let pool: Connection;

  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 16 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("stay equal to full counts while orders of shared products are placed, cancelled, shipped and filled at once", async () => {
    const products = await Promise.all([0, 1, 2].map(() => newProduct(pool.db, { initialStock: 20 })));
    const placed = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        placeOrder(pool.db, {
          customer: `race-${i}`,
          lines: [
            { productId: products[i % 3].id, quantity: 1 },
            { productId: products[(i + 1) % 3].id, quantity: 1 },
          ],
        }),
      ),
    );
    const restocks = await Promise.all(
      products.map((product) => scheduleRestock(pool.db, { productId: product.id, quantity: 30, expectedAt: daysFromNow(1) })),
    );
    // Cancels release units that fill other orders' lines while receipts fill them too: statuses
    // of orders spanning two products change in transactions holding different product locks.
    const results = await Promise.allSettled([
      ...placed.filter((_, i) => i % 4 === 0).map((p) => cancelOrder(pool.db, p.order.id)),
      ...placed.filter((_, i) => i % 4 === 1).map((p) => shipOrder(pool.db, p.order.id)),
      ...restocks.map((restock) => receiveRestock(pool.db, restock.id)),
    ]);
    // shipOrder may find nothing allocated (INVALID_STATE): a business refusal; nothing else may fail.
    const failures = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    expect(failures.filter((failure) => !(failure instanceof DomainError && failure.code === "INVALID_STATE")).map(String)).toEqual([]);
    await expectCountersRight(pool.db);
    expect(counterViolations(await auditInvariants(pool.db))).toEqual([]);
  });
});

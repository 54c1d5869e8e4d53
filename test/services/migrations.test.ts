/**
 * Upgrading a database that already holds data: migrations are applied to the state the previous
 * ones left, not only to an empty database. Here: products.waiting_orders (0004) is backfilled
 * from the queues before its check constraint holds it to them, and an idempotency key written
 * before keys were scoped per API key (0006) still replays after, and a restock partly received
 * before PARTIALLY_RECEIVED existed (0008) becomes PARTIALLY_RECEIVED.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, expect, it } from "vitest";
import { migrationsFolder, schema } from "../../drizzle/db.js";
import { placeOrder } from "../../server/services/order.service.js";
import { onPostgres } from "../support/database.js";

// The migrations are the same SQL on both databases; this upgrade runs once, on its own PGlite.
if (onPostgres) console.log("skipped on the postgres project: the upgrade test runs on its own embedded database in the pglite project");

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A copy of the migrations folder whose journal stops before the migration tagged `tag`. */
function migrationsBefore(tag: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), "migrations-"));
  folders.push(folder);
  cpSync(migrationsFolder, folder, { recursive: true });
  const journalPath = path.join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const stop = journal.entries.findIndex((entry) => entry.tag === tag);
  expect(stop, `no migration ${tag}`).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, stop);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

it.skipIf(onPostgres)("backfills products.waiting_orders from the waiting backorders of an existing database", async () => {
  const client = new PGlite();
  const db = drizzle(client);
  try {
    await migrate(db, { migrationsFolder: migrationsBefore("0004_products_waiting_orders") });
    // Before: a product with three backorders, two still waiting (3 + 2 units), and one without any.
    await client.exec(`
      INSERT INTO products (sku, name, price, backorder_policy, backordered) VALUES ('DEEP', 'Deep', 1, 'ALLOW', 5), ('NONE', 'None', 1, 'ALLOW', 0);
      INSERT INTO orders (customer, status, total, currency_code) VALUES ('a', 'AWAITING_STOCK', 0, 'USD'), ('b', 'AWAITING_STOCK', 0, 'USD'), ('c', 'READY_TO_SHIP', 0, 'USD');
      INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, allocated, waiting) VALUES
        (1, 1, 1, 3, 1, 0, 3), (2, 1, 1, 2, 1, 0, 2), (3, 1, 1, 4, 1, 4, 0);
      INSERT INTO backorders (product_id, order_id, order_line_id, quantity, remaining, status) VALUES
        (1, 1, 1, 3, 3, 'WAITING'), (1, 2, 2, 2, 2, 'WAITING'), (1, 3, 3, 4, 0, 'FILLED');
    `);

    await migrate(db, { migrationsFolder });

    const { rows } = await client.query<{ sku: string; waiting_orders: number }>("SELECT sku, waiting_orders FROM products ORDER BY sku");
    expect(rows).toEqual([
      { sku: "DEEP", waiting_orders: 2 },
      { sku: "NONE", waiting_orders: 0 },
    ]);
    // And the counter is held to the backlog from now on.
    await expect(client.query("UPDATE products SET waiting_orders = 0 WHERE sku = 'DEEP'")).rejects.toThrow(/products_waiting_orders_check/);
  } finally {
    await client.close();
  }
});

it.skipIf(onPostgres)("replays an order whose idempotency key was written before keys were scoped per API key, to any key", async () => {
  const client = new PGlite();
  const db = drizzle(client, { schema });
  try {
    await migrate(db, { migrationsFolder: migrationsBefore("0006_scoped_idempotency_keys") });
    // Before: an order placed with idempotency key "retry-me" (the hash is what placeOrder stores for its input).
    const input = { customer: "early", lines: [{ productId: 1, quantity: 2 }], allowPartial: true };
    const requestHash = createHash("sha256")
      .update(JSON.stringify([input.customer, input.lines, input.allowPartial]))
      .digest("hex");
    await client.exec(`
      INSERT INTO locations (code, name) VALUES ('MAIN', 'Main');
      INSERT INTO products (sku, name, price, backorder_policy) VALUES ('EARLY', 'Early', 1, 'ALLOW');
      INSERT INTO stock_levels (product_id, location_id, on_hand, allocated) VALUES (1, 1, 2, 2);
      INSERT INTO orders (customer, status, total, currency_code) VALUES ('early', 'READY_TO_SHIP', 2, 'USD');
      INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, allocated) VALUES (1, 1, 1, 2, 1, 2);
      INSERT INTO allocations (order_line_id, location_id, product_id, quantity) VALUES (1, 1, 1, 2);
      INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ('retry-me', '${requestHash}', 1);
      INSERT INTO api_keys (name, role, prefix, secret_hash) VALUES ('shop a', 'STOREFRONT', 'a', 'ha'), ('shop b', 'STOREFRONT', 'b', 'hb');
    `);

    await migrate(db, { migrationsFolder });

    // We cannot tell which key sent a row from before the upgrade: every key's retry replays it.
    for (const idempotencyScope of [1, 2]) {
      const retry = await placeOrder(db, { ...input, idempotencyKey: "retry-me", idempotencyScope });
      expect([retry.replayed, retry.order.id]).toEqual([true, 1]);
    }
    // New keys are scoped: the same new string from two API keys places two orders.
    const first = await placeOrder(db, { ...input, idempotencyKey: "new-key", idempotencyScope: 1 });
    const second = await placeOrder(db, { ...input, idempotencyKey: "new-key", idempotencyScope: 2 });
    expect([first.replayed, second.replayed]).toEqual([false, false]);
    expect(second.order.id).not.toBe(first.order.id);
    const { rows } = await client.query<{ key: string; api_key_id: number | null }>(
      "SELECT key, api_key_id FROM idempotency_keys ORDER BY key, api_key_id",
    );
    expect(rows).toEqual([
      { key: "new-key", api_key_id: 1 },
      { key: "new-key", api_key_id: 2 },
      { key: "retry-me", api_key_id: null },
    ]);
  } finally {
    await client.close();
  }
});

it.skipIf(onPostgres)("marks restocks partly received before PARTIALLY_RECEIVED existed as PARTIALLY_RECEIVED, and no others", async () => {
  const client = new PGlite();
  const db = drizzle(client);
  try {
    await migrate(db, { migrationsFolder: migrationsBefore("0008_restocks_partially_received") });
    // Before: a partial receipt left its restock SCHEDULED. One restock of each other kind beside it.
    await client.exec(`
      INSERT INTO locations (code, name) VALUES ('MAIN', 'Main');
      INSERT INTO products (sku, name, price, backorder_policy) VALUES ('PART', 'Part', 1, 'ALLOW');
      INSERT INTO restocks (product_id, location_id, quantity, received_quantity, expected_at, status, reference) VALUES
        (1, 1, 10, 4, now() + interval '1 day', 'SCHEDULED', 'partly'),
        (1, 1, 10, 0, now() + interval '2 days', 'SCHEDULED', 'none yet'),
        (1, 1, 10, 10, now() - interval '1 day', 'RECEIVED', 'all'),
        (1, 1, 10, 3, now() + interval '3 days', 'CANCELLED', 'cancelled after a part');
    `);

    await migrate(db, { migrationsFolder });

    const { rows } = await client.query<{ reference: string; status: string }>("SELECT reference, status FROM restocks ORDER BY id");
    expect(rows).toEqual([
      { reference: "partly", status: "PARTIALLY_RECEIVED" },
      { reference: "none yet", status: "SCHEDULED" },
      { reference: "all", status: "RECEIVED" },
      { reference: "cancelled after a part", status: "CANCELLED" },
    ]);
  } finally {
    await client.close();
  }
});

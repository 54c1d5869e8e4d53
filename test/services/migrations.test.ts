/**
 * Upgrading a database that already holds data: migrations are applied to the state the previous
 * ones left, not only to an empty database. Here: products.waiting_orders (0004) is backfilled
 * from the queues before its check constraint holds it to them.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, expect, it } from "vitest";
import { migrationsFolder } from "../../drizzle/db.js";
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
    expect(rows).toEqual([{ sku: "DEEP", waiting_orders: 2 }, { sku: "NONE", waiting_orders: 0 }]);
    // And the counter is held to the backlog from now on.
    await expect(client.query("UPDATE products SET waiting_orders = 0 WHERE sku = 'DEEP'")).rejects.toThrow(/products_waiting_orders_check/);
  } finally {
    await client.close();
  }
});

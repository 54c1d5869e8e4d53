/** Supplier fixtures: a history of received restocks, built by hand for figures computed by hand. */
import { sql } from "drizzle-orm";
import { type Database, schema } from "../../drizzle/db.js";
import type { ProductRecord } from "../../server/services/types.js";
import { newProduct } from "./catalogue.js";

/**
 * `lateDays.length` restocks received in full, of a new product of `supplierId`, inserted directly
 * in one statement (months of history): 40 days apart, the first the oldest, each received
 * `lateDays` (negative: early) after the date first announced for it. 40 days is more than any
 * lateness the tests use, so receipts come in the order announced.
 */
export async function supplierHistory(db: Database, supplierId: number, lateDays: number[]): Promise<ProductRecord> {
  const product = await newProduct(db, { supplierId });
  const [location] = await db.select().from(schema.locations).limit(1);
  await db.execute(sql`
    INSERT INTO restocks (product_id, location_id, quantity, received_quantity, status, supplier_id, expected_at, original_expected_at, received_at)
    SELECT ${product.id}, ${location.id}, 1, 1, 'RECEIVED', ${supplierId}, d.first_at, d.first_at, d.first_at + d.late * interval '24 hours'
      FROM (SELECT now() - (${lateDays.length} - n) * interval '40 days' AS first_at, (${JSON.stringify(lateDays)}::jsonb ->> (n - 1)::int)::float8 AS late
              FROM generate_series(1, ${lateDays.length}) AS n) d`);
  return product;
}

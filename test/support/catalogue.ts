/** Test fixtures built through the real services: products, restocks and orders with unique names. */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { type Database, rows, schema } from "../../drizzle/db.js";
import { createProduct } from "../../server/services/product.service.js";
import type { CreateProductInput, ProductRecord } from "../../server/services/types.js";

let counter = 0;

/** A unique SKU, so tests sharing a database never collide. */
export function uniqueSku(prefix = "SKU"): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(2).toString("hex")}`;
}

/** Creates a product (ALLOW, price 10.00, no stock unless given). */
export function newProduct(db: Database, overrides: Partial<CreateProductInput> = {}): Promise<ProductRecord> {
  return createProduct(db, { sku: uniqueSku(), name: "Test product", price: "10.00", backorderPolicy: "ALLOW", ...overrides });
}

/** Days from now, as a Date. */
export function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

/** The product's waiting backorders in queue order, with what the tests look at. */
export async function waitingQueue(db: Database, productId: number) {
  return db
    .select()
    .from(schema.backorders)
    .where(sql`${schema.backorders.productId} = ${productId} AND ${schema.backorders.status} = 'WAITING'`)
    .orderBy(sql`priority DESC, id`);
}

/** The backorder of an order line. */
export async function backorderOfOrder(db: Database, orderId: number) {
  const [row] = await db.select().from(schema.backorders).where(eq(schema.backorders.orderId, orderId));
  return row;
}

/** A product's quantities summed over its locations. */
export async function stockOf(db: Database, productId: number) {
  const [row] = await rows<{ on_hand: number; allocated: number; backordered: number }>(
    db,
    sql`SELECT coalesce(sum(s.on_hand), 0)::int AS on_hand, coalesce(sum(s.allocated), 0)::int AS allocated,
               (SELECT backordered FROM products WHERE id = ${productId}) AS backordered
        FROM stock_levels s WHERE s.product_id = ${productId}`,
  );
  return { onHand: Number(row.on_hand), allocated: Number(row.allocated), backordered: Number(row.backordered) };
}

/** Row counts of the tables a refused operation must not touch. */
export async function tableCounts(db: Database) {
  const [row] = await rows<Record<string, number>>(
    db,
    sql`SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM order_lines)::int AS lines,
               (SELECT count(*) FROM backorders)::int AS backorders, (SELECT count(*) FROM allocations)::int AS allocations,
               (SELECT count(*) FROM restocks)::int AS restocks, (SELECT count(*) FROM stock_movements)::int AS movements,
               (SELECT count(*) FROM events)::int AS events,
               (SELECT coalesce(sum(allocated), 0) FROM stock_levels)::bigint AS allocated,
               (SELECT coalesce(sum(on_hand), 0) FROM stock_levels)::bigint AS on_hand,
               (SELECT coalesce(sum(backordered), 0) FROM products)::bigint AS backordered`,
  );
  // Sums over products are bigint: each product stays within integer range, all of them need not (test/security/value-bounds.test.ts).
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/**
 * The three backlog reads (a product's backlog pages, the whole backlog's pages, a backorder's
 * place) count places from the queue index instead of numbering whole queues. Here they are held
 * to the definition itself: one window numbering every product's whole WAITING queue (priority
 * first, then placement), over queues shaped by priorities, partial fills and cancellations, paged
 * with every page size from 1 to 4 and through a cursor whose backorder left the queue.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../drizzle/db.js";
import { backlogPages, listBacklog, queuePlaces } from "../../server/services/backlog.query.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { encodeCursor } from "../../drizzle/paging.js";
import { intArray } from "../../drizzle/sql.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { backorderOfOrder, daysFromNow, newProduct } from "../support/catalogue.js";
import { rolledBack, useFreshDatabase } from "../support/database.js";
import { seededRandom } from "../support/random.js";

const database = useFreshDatabase();

interface Place {
  id: number;
  productId: number;
  position: number | null;
  unitsAhead: number | null;
}

/** The definition: every WAITING backorder numbered within its product's whole queue, in global queue order. */
async function definition(): Promise<Place[]> {
  const found = await rows<Record<string, unknown>>(
    database.db,
    sql`SELECT id, product_id,
               row_number() OVER w AS position, (sum(remaining) OVER w - remaining)::int AS units_ahead
          FROM backorders WHERE status = 'WAITING'
        WINDOW w AS (PARTITION BY product_id ORDER BY priority DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY priority DESC, id`,
  );
  return found.map((row) => ({
    id: Number(row.id),
    productId: Number(row.product_id),
    position: Number(row.position),
    unitsAhead: Number(row.units_ahead),
  }));
}

const place = (b: { id: number; productId: number; position: number | null; unitsAhead: number | null }) => ({
  id: b.id,
  productId: b.productId,
  position: b.position,
  unitsAhead: b.unitsAhead,
});

let productIds: number[] = [];
let leftQueue: { priority: number; id: number };

beforeAll(async () => {
  const { db } = database;
  const random = seededRandom(20261126);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  productIds = [];
  for (let p = 0; p < 3; p += 1) productIds.push((await newProduct(db, { backorderPolicy: "ALLOW" })).id);
  const orders: number[] = [];
  for (let i = 0; i < 60; i += 1) {
    const { order } = await placeOrder(db, { customer: `reader-${i}`, lines: [{ productId: pick(productIds), quantity: 1 + Math.floor(random() * 4) }] });
    orders.push(order.id);
  }
  // Priorities in three bands, some shared, some moved back below zero.
  for (const orderId of orders.filter(() => random() < 0.3)) {
    const backorder = await backorderOfOrder(db, orderId);
    await prioritizeBackorder(db, backorder.id, pick([-2, 1, 1, 5]));
  }
  // Part of every queue filled (one backorder partly), a few orders cancelled.
  for (const productId of productIds) {
    const restock = await scheduleRestock(db, { productId, quantity: 7, expectedAt: daysFromNow(3) });
    await receiveRestock(db, restock.id);
  }
  for (const orderId of orders.filter(() => random() < 0.15)) await cancelOrder(db, orderId).catch(() => undefined);
  // A cursor naming a backorder that has left the queue: the next still-waiting one follows it.
  const [gone] = await rows<{ priority: number; id: number }>(
    db,
    sql`
    SELECT priority, id FROM backorders WHERE status <> 'WAITING' AND product_id = ${productIds[0]} ORDER BY id DESC LIMIT 1`,
  );
  leftQueue = { priority: Number(gone.priority), id: Number(gone.id) };
  const bands = await rows<{ n: number }>(db, sql`SELECT count(DISTINCT priority)::int AS n FROM backorders WHERE status = 'WAITING'`);
  expect(bands[0].n, "the queues should mix priorities").toBeGreaterThanOrEqual(3);
});

describe("backlog reads agree with the whole-queue definition", () => {
  it("queuePlaces: every backorder's place, and none for one that does not wait", async () => {
    const expected = await definition();
    const notWaiting = await rows<{ id: number }>(database.db, sql`SELECT id FROM backorders WHERE status <> 'WAITING' LIMIT 1`);
    const ids = [...expected.map((p) => p.id), Number(notWaiting[0].id)];
    const places = await queuePlaces(database.db, ids);
    expect(places.slice(0, -1)).toEqual(expected.map(({ position, unitsAhead }) => ({ position, unitsAhead })));
    expect(places.at(-1)).toBeNull();
  });

  it.each([1, 2, 3, 4])("backlogPages: each product's queue, page by page (first: %i)", async (first) => {
    const expected = await definition();
    for (const productId of productIds) {
      const pages: Place[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 100; guard += 1) {
        const [page] = await backlogPages(database.db, [{ productId, first, after }]);
        pages.push(...page.items.map(place));
        expect(page.totalCount).toBe(expected.filter((p) => p.productId === productId).length);
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(pages).toEqual(expected.filter((p) => p.productId === productId));
    }
  });

  it("backlogPages: several products in one statement, each after its own cursor", async () => {
    const expected = await definition();
    const cursor = encodeCursor([leftQueue.priority, leftQueue.id]);
    const pages = await backlogPages(database.db, [
      { productId: productIds[0], first: 100, after: cursor },
      { productId: productIds[1], first: 2 },
      { productId: productIds[2], first: 0 },
    ]);
    const behind = expected.filter((p) => p.productId === productIds[0] && isAfter(p.id, leftQueue));
    expect(behind.length).toBeGreaterThan(0);
    expect(pages[0].items.map(place)).toEqual(behind);
    expect(pages[1].items.map(place)).toEqual(expected.filter((p) => p.productId === productIds[1]).slice(0, 2));
    expect(pages[2].items).toEqual([]);
  });

  it.each(["the whole backlog", "the first product", "waiting longer than an hour (none)", "not delayed"] as const)(
    "listBacklog: %s, page by page, places within each product's queue",
    async (which) => {
      const expected = await definition();
      const filter = {
        "the whole backlog": {},
        "the first product": { productId: productIds[0] },
        "waiting longer than an hour (none)": { olderThanHours: 1 },
        // Nothing here was promised a date it will miss: this filter keeps every backorder.
        "not delayed": { delayed: false },
      }[which];
      const wanted = which === "the first product" ? expected.filter((p) => p.productId === productIds[0]) : which.startsWith("waiting") ? [] : expected;
      for (const first of [1, 3, 7]) {
        const pages: Place[] = [];
        let after: string | null = null;
        for (let guard = 0; guard < 200; guard += 1) {
          const page = await listBacklog(database.db, filter, { first, after });
          pages.push(...page.items.map(place));
          // Counted from the products' counters, or from the queue when a filter picks among the waiting.
          expect(typeof page.totalCount === "number" ? page.totalCount : await page.totalCount()).toBe(wanted.length);
          if (!page.hasNextPage) break;
          after = page.endCursor;
        }
        expect(pages, `first: ${first}`).toEqual(wanted);
      }
    },
  );

  it("listBacklog: rows a filter skips between a product's rows do not shift their places", async () => {
    const expected = await definition();
    // Every other backorder of the first product made to look delayed: a promise already passed.
    const marked = expected.filter((p) => p.productId === productIds[0]).filter((_, i) => i % 2 === 0);
    const page = await rolledBack(database.db, async (tx) => {
      await tx.execute(sql`UPDATE backorders SET promised_at = now() - interval '1 day' WHERE id = ANY(${intArray(marked.map((p) => p.id))})`);
      return listBacklog(tx, { delayed: true }, { first: 100 });
    });
    expect(page.items.map(place)).toEqual(marked);
  });
});

/** Whether backorder `id` comes after queue key `key` in queue order. */
function isAfter(id: number, key: { priority: number; id: number }): boolean {
  const row = byId.get(id)!;
  return row.priority < key.priority || (row.priority === key.priority && row.id > key.id);
}
const byId = new Map<number, { priority: number; id: number }>();
beforeAll(async () => {
  for (const row of await rows<{ id: number; priority: number }>(database.db, sql`SELECT id, priority FROM backorders`)) {
    byId.set(Number(row.id), { id: Number(row.id), priority: Number(row.priority) });
  }
});

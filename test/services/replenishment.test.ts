/**
 * The replenishment plan through the services (docs/ARCHITECTURE.md, "Replenishment plan"): each
 * formula on a case computed by hand, states built with placeOrder, scheduleRestock, adjustStock
 * and friends; the urgency order and its pages; the product filter and refused requests.
 *
 * Orders are placed "in the past" by moving `orders.created_at` (and `lost_demand.created_at`) back
 * in SQL: placeOrder stamps its transaction's now() and no service places an order at another
 * time, while the demand window is about when orders were placed. Nothing else reads those two
 * columns (the audit's FIFO check reads backorders' and fills' times, which stay as written).
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, schema } from "../../drizzle/db.js";
import { encodeCursor } from "../../drizzle/paging.js";
import { createLocation } from "../../server/services/location.service.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { updateProduct } from "../../server/services/product.service.js";
import { type ReplenishmentLine, type ReplenishmentRequest, replenishmentPlan } from "../../server/services/replenishment.query.js";
import { cancelRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import type { ProductRecord } from "../../server/services/types.js";
import { daysFromNow, newProduct, stockOf, waitingQueue } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();

/** The plan's lines for these products (one page of up to 100), by product id. */
async function planOf(db: Database, products: ProductRecord[], request: Omit<ReplenishmentRequest, "productIds"> = {}) {
  const page = await replenishmentPlan(db, { ...request, productIds: products.map((product) => product.id) }, { first: 100 });
  return new Map(page.items.map((line) => [line.productId, line]));
}

/** The figures of a line without the product row. */
function figures(line: ReplenishmentLine | undefined) {
  if (!line) return undefined;
  const { product: _product, ...rest } = line;
  return rest;
}

/** Moves an order's placement `days` into the past. */
async function placedDaysAgo(db: Database, orderId: number, days: number): Promise<void> {
  await db.execute(sql`UPDATE ${schema.orders} SET created_at = now() - make_interval(days => ${days}::int) WHERE id = ${orderId}`);
}

describe("the formulas, on a hand-computed backlog", () => {
  it("gives demand, uncovered units, the pack-rounded quantity, neededBy and the backorder limit", async () => {
    const { db } = database;
    // ALLOW, lead time 10 days, sold in packs of 4, no wait cap (horizon 14 days); 9 on hand, safety stock 3.
    const product = await newProduct(db, { leadTimeDays: 10, minOrderQuantity: 4, initialStock: 9 });
    await adjustStock(db, { productId: product.id, delta: 0, safetyStock: 3, reason: "safety stock" });
    // 6 units allocated by an order placed 40 days ago: outside a 28-day window.
    const old = await placeOrder(db, { customer: "old", lines: [{ productId: product.id, quantity: 6 }] });
    await placedDaysAgo(db, old.order.id, 40);
    await scheduleRestock(db, { productId: product.id, quantity: 4, expectedAt: daysFromNow(5) });
    await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(30) });
    // 7 wait for the restocks (promised in 30 days), 5 beyond them (promised at the lead time, 10 days).
    await placeOrder(db, { customer: "first", lines: [{ productId: product.id, quantity: 7 }] });
    await placeOrder(db, { customer: "second", lines: [{ productId: product.id, quantity: 5 }] });
    expect(await stockOf(db, product.id)).toEqual({ onHand: 9, allocated: 6, backordered: 12 });
    const [first, second] = await waitingQueue(db, product.id);
    expect(second.promisedAt!.getTime()).toBeLessThan(first.promisedAt!.getTime());

    const line = (await planOf(db, [product])).get(product.id);
    // free 9 - 6 = 3, safety 3, incoming 4 + 6 = 10, backordered 12.
    // dailyDemand = (7 + 5) / 28; uncovered = 12 + 3 - 3 - 10 = 2.
    // Lead-time demand = ceil(12 x 10 / 28) = ceil(4.29) = 5; need = 2 + 5 = 7; packs of 4: 8.
    // The backlog can count on 3 - 3 + 10 = 10 units: the first backorder (7) is covered, the second (7 + 5 = 12) is not: its promise.
    // Limit: restocks within 14 days 4, the reorder of 8 lands in 10 ≤ 14 days, no safety stock to refill: 4 + 8 - 0 = 12.
    expect(figures(line)).toEqual({
      productId: product.id,
      dailyDemand: 12 / 28,
      uncoveredUnits: 2,
      suggestedQuantity: 8,
      neededBy: second.promisedAt,
      suggestedBackorderLimit: 12,
    });
    expect(line!.product).toMatchObject({ id: product.id, sku: product.sku });

    // A 50-day window takes the old order in: (6 + 7 + 5) / 50 a day, lead-time demand ceil(18 x 10 / 50) = 4,
    // need 2 + 4 = 6, packs of 4: 8 again; the other figures do not depend on the window.
    expect(figures((await planOf(db, [product], { windowDays: 50 })).get(product.id))).toMatchObject({
      dailyDemand: 18 / 50,
      uncoveredUnits: 2,
      suggestedQuantity: 8,
    });
    // Without the pack size (1): the need itself, 7.
    await updateProduct(db, product.id, { minOrderQuantity: 1 });
    expect((await planOf(db, [product])).get(product.id)?.suggestedQuantity).toBe(7);
  });
});

describe("dailyDemand", () => {
  it("counts the accepted units of orders placed in the window and the units refused in it, over the window's days", async () => {
    const { db } = database;
    const product = await newProduct(db, { backorderPolicy: "DENY", initialStock: 10, leadTimeDays: 7 });
    const old = await placeOrder(db, { customer: "old", lines: [{ productId: product.id, quantity: 6 }] });
    await placedDaysAgo(db, old.order.id, 30);
    // 4 of 8 in stock: 4 accepted, 4 refused (OUT_OF_STOCK, lost demand).
    const cut = await placeOrder(db, { customer: "cut", lines: [{ productId: product.id, quantity: 8 }] });
    expect(cut.issues.map((issue) => issue.code)).toEqual(["OUT_OF_STOCK"]);
    // Refused whole: 5 units of lost demand, no order.
    await refusal(placeOrder(db, { customer: "refused", allowPartial: false, lines: [{ productId: product.id, quantity: 5 }] }));
    // Refused 40 days ago: outside both windows.
    await refusal(placeOrder(db, { customer: "long ago", allowPartial: false, lines: [{ productId: product.id, quantity: 9 }] }));
    await db.execute(sql`
      UPDATE ${schema.lostDemand} SET created_at = now() - interval '40 days' WHERE product_id = ${product.id} AND quantity = 9`);

    // 28 days: 4 accepted + 4 + 5 refused = 13. Nothing waits, nothing is on hand or coming: uncovered 0;
    // lead-time demand ceil(13 x 7 / 28) = ceil(3.25) = 4 to order. DENY: no backorder limit.
    expect(figures((await planOf(db, [product])).get(product.id))).toEqual({
      productId: product.id,
      dailyDemand: 13 / 28,
      uncoveredUnits: 0,
      suggestedQuantity: 4,
      neededBy: null,
      suggestedBackorderLimit: null,
    });
    // 31 days: the order placed 30 days ago too, 19 units; ceil(19 x 7 / 31) = ceil(4.29) = 5.
    expect((await planOf(db, [product], { windowDays: 31 })).get(product.id)).toMatchObject({ dailyDemand: 19 / 31, suggestedQuantity: 5 });
  });

  it("counts cancelled units as ordered: the customer wanted them when ordering", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 28 });
    const { order } = await placeOrder(db, { customer: "changed mind", lines: [{ productId: product.id, quantity: 3 }] });
    await cancelOrder(db, order.id);
    // 3 units in 28 days, lead time 28: 3 to order; nothing waits.
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ dailyDemand: 3 / 28, uncoveredUnits: 0, suggestedQuantity: 3 });
  });
});

describe("uncoveredUnits", () => {
  it("counts the safety stock each location lacks, and unreserved units above it elsewhere against it", async () => {
    const { db } = database;
    const other = await createLocation(db, { code: `REPL-${Date.now()}`, name: "Second", priority: 50 });
    const product = await newProduct(db, { initialStock: 2 });
    // Default location: 2 on hand, safety 5 (lacks 3). Second: 1 on hand, safety 0.
    await adjustStock(db, { productId: product.id, delta: 0, safetyStock: 5, reason: "safety stock" });
    await adjustStock(db, { productId: product.id, locationId: other.id, delta: 1, reason: "count" });
    // uncovered = backordered 0 + safety 5 - free (2 + 1) - incoming 0 = 2; nothing waits: no date.
    // No lead time: the need is the uncovered units. ALLOW, no restocks, no lead time: the limit is 0 - 3 (the
    // safety stock a receipt at the default location refills first) floored at 0.
    expect(figures((await planOf(db, [product])).get(product.id))).toEqual({
      productId: product.id,
      dailyDemand: 0,
      uncoveredUnits: 2,
      suggestedQuantity: 2,
      neededBy: null,
      suggestedBackorderLimit: 0,
    });
    // A restock of 2 covers it: nothing to do, no line.
    await scheduleRestock(db, { productId: product.id, quantity: 2, expectedAt: daysFromNow(3) });
    expect((await planOf(db, [product])).has(product.id)).toBe(false);
  });
});

describe("neededBy", () => {
  it("is the earliest promise among the uncovered backorders, not the first uncovered one's", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 10 });
    await placeOrder(db, { customer: "early", lines: [{ productId: product.id, quantity: 3 }] });
    // A shorter lead time: the next customer is promised sooner than the one ahead of them.
    await updateProduct(db, product.id, { leadTimeDays: 3 });
    await placeOrder(db, { customer: "late", lines: [{ productId: product.id, quantity: 3 }] });
    const [ahead, behind] = await waitingQueue(db, product.id);
    expect(behind.promisedAt!.getTime()).toBeLessThan(ahead.promisedAt!.getTime());
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ uncoveredUnits: 6, neededBy: behind.promisedAt });
  });

  it("leaves out the promises of backorders the supply covers", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 3 });
    await placeOrder(db, { customer: "soon", lines: [{ productId: product.id, quantity: 3 }] });
    await updateProduct(db, product.id, { leadTimeDays: 10 });
    await placeOrder(db, { customer: "later", lines: [{ productId: product.id, quantity: 3 }] });
    // 3 incoming cover the head of the queue (through 3 ≤ 3); the second (through 6) is uncovered.
    await scheduleRestock(db, { productId: product.id, quantity: 3, expectedAt: daysFromNow(2) });
    const [covered, uncovered] = await waitingQueue(db, product.id);
    expect(covered.promisedAt!.getTime()).toBeLessThan(uncovered.promisedAt!.getTime());
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ uncoveredUnits: 3, neededBy: uncovered.promisedAt });
  });

  it("takes the expected date of a backorder without a promise, and is null when nothing dates it", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await placeOrder(db, { customer: "undated", lines: [{ productId: product.id, quantity: 2 }] });
    const [undated] = await waitingQueue(db, product.id);
    expect(undated).toMatchObject({ promisedAt: null, expectedAt: null });
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ uncoveredUnits: 2, neededBy: null });
    // A lead time dates the queue (placement + 5 days); the promise stays what it was: none.
    await updateProduct(db, product.id, { leadTimeDays: 5 });
    const [dated] = await waitingQueue(db, product.id);
    expect(dated.promisedAt).toBeNull();
    expect(dated.expectedAt).not.toBeNull();
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ uncoveredUnits: 2, neededBy: dated.expectedAt });
  });
});

describe("suggestedBackorderLimit", () => {
  it("is the receipts within maxWaitDays, plus the reorder when its lead time fits, less the safety stock to refill", async () => {
    const { db } = database;
    // Lead time 25 days, wait cap 20 days, nothing on hand, safety stock 2.
    const product = await newProduct(db, { leadTimeDays: 25, maxWaitDays: 20 });
    await adjustStock(db, { productId: product.id, delta: 0, safetyStock: 2, reason: "safety stock" });
    await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(10) });
    await scheduleRestock(db, { productId: product.id, quantity: 7, expectedAt: daysFromNow(25) });
    await placeOrder(db, { customer: "a", lines: [{ productId: product.id, quantity: 4 }] });
    // Only 1 more unit can be expected within 20 days (the first restock): 9 refused, WAIT_TOO_LONG (lost demand).
    const capped = await placeOrder(db, { customer: "b", lines: [{ productId: product.id, quantity: 10 }] });
    expect(capped.issues.map((issue) => issue.code)).toEqual(["WAIT_TOO_LONG"]);
    expect(await stockOf(db, product.id)).toMatchObject({ backordered: 5 });

    // Demand 4 + 1 + 9 = 14 in 28 days. The backlog counts on 0 - 2 + 12 = 10 of its 5: uncovered 0.
    // Lead-time demand ceil(14 x 25 / 28) = ceil(12.5) = 13; need = 5 + 13 - 10 = 8.
    // Limit: 5 within 20 days (the 25-day restock is not), the lead time 25 > 20 brings nothing in time, 2 to refill: 3.
    expect(figures((await planOf(db, [product])).get(product.id))).toEqual({
      productId: product.id,
      dailyDemand: 14 / 28,
      uncoveredUnits: 0,
      suggestedQuantity: 8,
      neededBy: null,
      suggestedBackorderLimit: 3,
    });

    // Lead time 15 ≤ 20: lead-time demand ceil(14 x 15 / 28) = ceil(7.5) = 8, need 5 + 8 - 10 = 3; limit 5 + 3 - 2 = 6.
    await updateProduct(db, product.id, { leadTimeDays: 15 });
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ suggestedQuantity: 3, suggestedBackorderLimit: 6 });
    // A wait cap of exactly the lead time still counts the reorder (15 ≤ 15): 6.
    await updateProduct(db, product.id, { maxWaitDays: 15 });
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ suggestedQuantity: 3, suggestedBackorderLimit: 6 });
    // No wait cap: the horizon is 14 days, the lead time 15 does not fit: 5 - 2 = 3.
    await updateProduct(db, product.id, { maxWaitDays: null });
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ suggestedQuantity: 3, suggestedBackorderLimit: 3 });
    // A product that denies backorders has none to limit.
    await updateProduct(db, product.id, { backorderPolicy: "DENY" });
    expect((await planOf(db, [product])).get(product.id)).toMatchObject({ suggestedBackorderLimit: null });
  });
});

describe("the order and its pages", () => {
  it("puts the earliest neededBy first, then more uncovered units, then the product id; undated lines last", async () => {
    const { db } = database;
    const at = daysFromNow(5);
    const earlier = daysFromNow(4);
    /** A product whose `units` waiting units were promised `date` by a restock since cancelled: uncovered, needed by then. */
    const promisedThenCancelled = async (units: number, date: Date) => {
      const product = await newProduct(db);
      const restock = await scheduleRestock(db, { productId: product.id, quantity: units, expectedAt: date });
      await placeOrder(db, { customer: "waiting", lines: [{ productId: product.id, quantity: units }] });
      await cancelRestock(db, restock.id);
      return product;
    };
    const lacking = async (safety: number) => {
      const product = await newProduct(db);
      await adjustStock(db, { productId: product.id, delta: 0, safetyStock: safety, reason: "safety stock" });
      return product;
    };
    const fewAt = await promisedThenCancelled(2, at);
    const someAt = await promisedThenCancelled(3, at);
    const manyAt = await promisedThenCancelled(5, at);
    const oneEarlier = await promisedThenCancelled(1, earlier);
    const lackingFour = await lacking(4);
    const lackingFourToo = await lacking(4);
    // Nothing uncovered, but lead-time demand to order: 2 units in 28 days, lead time 14: 1.
    const demandOnly = await newProduct(db, { backorderPolicy: "DENY", leadTimeDays: 14 });
    await refusal(placeOrder(db, { customer: "refused", allowPartial: false, lines: [{ productId: demandOnly.id, quantity: 2 }] }));
    const nothingToDo = await newProduct(db, { initialStock: 50 });
    const all = [nothingToDo, demandOnly, lackingFourToo, lackingFour, oneEarlier, manyAt, someAt, fewAt];

    const whole = await replenishmentPlan(db, { productIds: all.map((product) => product.id) }, { first: 100 });
    expect(whole.items.map((line) => [line.productId, line.uncoveredUnits, line.neededBy])).toEqual([
      [oneEarlier.id, 1, earlier],
      [manyAt.id, 5, at],
      [someAt.id, 3, at],
      [fewAt.id, 2, at],
      [lackingFour.id, 4, null],
      [lackingFourToo.id, 4, null],
      [demandOnly.id, 0, null],
    ]);
    expect(whole.items.at(-1)?.suggestedQuantity).toBe(1);
    expect(whole).toMatchObject({ totalCount: 7, totalCountPrecision: "EXACT", hasNextPage: false });

    // Pages of 1, 2 and 4 walk the same order: every line once, none missed, the total on every page.
    for (const size of [1, 2, 4]) {
      const walked: number[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await replenishmentPlan(db, { productIds: all.map((product) => product.id) }, { first: size, after });
        expect(page.totalCount).toBe(7);
        walked.push(...page.items.map((line) => line.productId));
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(walked).toEqual(whole.items.map((line) => line.productId));
    }
  });

  it("answers first: 0 with the total and no lines", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await adjustStock(db, { productId: product.id, delta: 0, safetyStock: 1, reason: "safety stock" });
    const page = await replenishmentPlan(db, { productIds: [product.id] }, { first: 0 });
    expect(page).toMatchObject({ items: [], totalCount: 1, hasNextPage: true });
  });
});

describe("which products", () => {
  it("lists only the named products, every product without a filter, and none for an empty list", async () => {
    const { db } = database;
    const a = await newProduct(db);
    const b = await newProduct(db);
    for (const product of [a, b]) await placeOrder(db, { customer: "c", lines: [{ productId: product.id, quantity: 1 }] });
    const named = await replenishmentPlan(db, { productIds: [b.id, b.id] }, { first: 100 });
    expect(named.items.map((line) => line.productId)).toEqual([b.id]);
    expect(named.totalCount).toBe(1);
    const every = await replenishmentPlan(db, {}, { first: 100 });
    expect(every.items.map((line) => line.productId)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(new Set(every.items.map((line) => line.productId)).size).toBe(every.items.length);
    expect(await replenishmentPlan(db, { productIds: [] }, { first: 100 })).toMatchObject({ items: [], totalCount: 0 });
  });

  it("refuses an unknown product, more than 100, a window outside 1..365, a bad first or cursor, with the field", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const cases: [ReplenishmentRequest, { first?: number; after?: string }, string, string][] = [
      [{ productIds: [product.id, 2_000_000_000] }, {}, "NOT_FOUND", "productIds"],
      [{ productIds: [-1] }, {}, "NOT_FOUND", "productIds"],
      [{ productIds: Array.from({ length: 101 }, (_, i) => i + 1) }, {}, "INVALID_INPUT", "productIds"],
      [{ windowDays: 0 }, {}, "INVALID_INPUT", "windowDays"],
      [{ windowDays: 366 }, {}, "INVALID_INPUT", "windowDays"],
      [{ windowDays: 1.5 }, {}, "INVALID_INPUT", "windowDays"],
      [{}, { first: 101 }, "INVALID_INPUT", "first"],
      [{}, { after: "not a cursor" }, "INVALID_INPUT", "after"],
      [{}, { after: encodeCursor(["2025-01-01", 1, 1]) }, "INVALID_INPUT", "after"],
      [{}, { after: encodeCursor(["99999999999999999999", 1, 1]) }, "INVALID_INPUT", "after"],
    ];
    for (const [request, page, code, field] of cases) {
      const error = await refusal(replenishmentPlan(db, request, page));
      expect({ code: error.code, field: error.issues[0].field }).toEqual({ code, field: [field] });
    }
  });
});

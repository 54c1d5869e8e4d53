/**
 * Quotes and the wait cap through the services (docs/ARCHITECTURE.md, "Quotes and the wait cap"):
 * a quote is what the `placeOrder` that follows it on the same state does, over many random states
 * (a seeded property test), and WAIT_TOO_LONG cuts exactly at the cap.
 *
 * Runs: `QUOTE_RUNS` (default 60) random states from `QUOTE_SEED` (default below): run i uses
 * seed QUOTE_SEED + i, printed with any failure, so `QUOTE_SEED=<that seed> QUOTE_RUNS=1` replays it.
 *
 * Time: restocks are expected whole days plus 1 to 23 and a half hours from now, never within
 * half an hour of a whole number of days, so the milliseconds between a quote and its order never
 * carry a restock across a cap (which counts from the database's clock when each reads).
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { queuePlaces } from "../../server/services/backlog.query.js";
import { createLocation, getDefaultLocation } from "../../server/services/location.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { updateProduct } from "../../server/services/product.service.js";
import { type Quote, quoteOrderLines } from "../../server/services/quote.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { DomainError, type PlaceOrderResult, type ProductRecord, type UpdateProductInput } from "../../server/services/types.js";
import { backorderOfOrder, newProduct, tableCounts, waitingQueue } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { seededRandom } from "../support/random.js";

const database = useFreshDatabase();

const RUNS = Math.max(1, Number(process.env.QUOTE_RUNS ?? 60));
const SEED = Number(process.env.QUOTE_SEED ?? 1_302_026);
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/**
 * How much later than its quote an order's lead-time date may be: the quote counts the lead time
 * from its own statement's clock, the order from the moment its backorder joins the queue, a few
 * statements later. Never earlier, and far less than this.
 */
const LEAD_TIME_SLACK_MS = 10_000;
/** Codes that refuse a line before stock is looked at: no lost demand. */
const REJECTIONS = new Set(["BELOW_MIN_ORDER_QUANTITY", "ABOVE_MAX_ORDER_QUANTITY", "INVALID_INPUT"]);

/** The one quote of `quantity` units of a product; fails on a DomainError. */
async function quoteOf(productId: number, quantity: number): Promise<Quote> {
  const [quote] = await quoteOrderLines(database.db, [{ productId, quantity }]);
  if (quote instanceof DomainError) throw new Error(`quote refused with ${quote.code}: ${quote.message}`);
  return quote;
}

type Outcome = { ok: true; value: PlaceOrderResult } | { ok: false; codes: string[] };

/** placeOrder's result, or the codes it refused with (anything but a DomainError is rethrown). */
async function place(productId: number, quantity: number, allowPartial: boolean): Promise<Outcome> {
  try {
    return { ok: true, value: await placeOrder(database.db, { customer: "quoted", lines: [{ productId, quantity }], allowPartial }) };
  } catch (error) {
    if (error instanceof DomainError) return { ok: false, codes: error.issues.map((issue) => issue.code) };
    throw error;
  }
}

/** The product's lost-demand rows after row `afterId`, in the order written. */
async function lostSince(productId: number, afterId: number) {
  return rows<{ id: number; quantity: number; code: string }>(
    database.db,
    sql`SELECT id::int, quantity, code FROM lost_demand WHERE product_id = ${productId} AND id > ${afterId} ORDER BY id`,
  );
}

async function lastLostId(): Promise<number> {
  const [row] = await rows<{ id: number }>(database.db, sql`SELECT coalesce(max(id), 0)::int AS id FROM lost_demand`);
  return row.id;
}

/** The order's one line. */
async function lineOf(orderId: number) {
  const [line] = await database.db
    .select()
    .from(schema.orderLines)
    .where(sql`${schema.orderLines.orderId} = ${orderId}`);
  return line;
}

/**
 * Checks an order (or a refusal) against the quote taken just before it on the same state, and
 * the lost demand it recorded. `strict`: placed without allowPartial.
 */
async function expectAsQuoted(quote: Quote, outcome: Outcome, lost: { quantity: number; code: string }[], strict: boolean): Promise<void> {
  const taken = quote.allocatable + quote.backorderable;
  expect(taken + quote.refused).toBe(quote.quantity);
  expect(quote.code === null).toBe(quote.refused === 0);
  // Refused units are lost demand, whether the order was cut or refused, unless the line was rejected outright.
  if (quote.code !== null && !REJECTIONS.has(quote.code)) {
    expect(lost.reduce((sum, row) => sum + row.quantity, 0)).toBe(quote.refused);
    expect(lost[0].code).toBe(quote.code);
  } else {
    expect(lost).toEqual([]);
  }
  if (taken === 0 || (strict && quote.refused > 0)) {
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.codes[0]).toBe(quote.code);
    expect(outcome.codes).toEqual(REJECTIONS.has(quote.code!) ? [quote.code] : lost.map((row) => row.code));
    return;
  }
  expect(outcome.ok).toBe(true);
  if (!outcome.ok) return;
  const { order, issues } = outcome.value;
  expect(issues.map((issue) => issue.code)).toEqual(lost.map((row) => row.code));
  expect(await lineOf(order.id)).toMatchObject({ quantity: taken, allocated: quote.allocatable, waiting: quote.backorderable });
  const backorder = await backorderOfOrder(database.db, order.id);
  if (quote.backorderable === 0) {
    expect(backorder).toBeUndefined();
    expect(quote).toMatchObject({ position: null, expectedAt: null, etaSource: null });
    return;
  }
  expect(backorder).toMatchObject({ remaining: quote.backorderable, etaSource: quote.etaSource });
  const [place] = await queuePlaces(database.db, [backorder.id]);
  expect(place?.position).toBe(quote.position);
  expect(backorder.promisedAt).toEqual(backorder.expectedAt);
  if (quote.etaSource === "LEAD_TIME") {
    // Counted from the quote's clock and from the backorder's createdAt: the order's is a little later.
    const leadTimeDays = (await productOf(backorder.productId)).leadTimeDays!;
    expect(backorder.expectedAt!.getTime()).toBe(backorder.createdAt.getTime() + leadTimeDays * DAY_MS);
    const late = backorder.expectedAt!.getTime() - quote.expectedAt!.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(LEAD_TIME_SLACK_MS);
  } else {
    expect(backorder.expectedAt).toEqual(quote.expectedAt);
  }
}

async function productOf(id: number): Promise<ProductRecord> {
  const [product] = await database.db
    .select()
    .from(schema.products)
    .where(sql`${schema.products.id} = ${id}`);
  return product;
}

describe("a quote is what placeOrder then does", () => {
  /** Locations allocated from after the default one (priority 0), in this order. */
  const extra: number[] = [];
  beforeAll(async () => {
    await getDefaultLocation(database.db); // MAIN, priority 0, made before the others so it stays the default
    extra.push((await createLocation(database.db, { code: "NEAR", name: "Near", priority: 3 })).id);
    extra.push((await createLocation(database.db, { code: "FAR", name: "Far", priority: 5 })).id);
  });

  /** Builds a random product and state from `random`, logging each step into `log`. */
  async function randomState(random: () => number, log: string[]): Promise<ProductRecord> {
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const chance = (p: number) => random() < p;
    const { db } = database;
    const initialStock = chance(0.5) ? int(1, 4) : 0;
    const product = await newProduct(db, { initialStock });
    log.push(`product ${product.id}, ${initialStock} on hand`);
    const pid = product.id;
    for (const locationId of extra) {
      if (!chance(0.3)) continue;
      const delta = int(1, 3);
      await adjustStock(db, { productId: pid, locationId, delta, reason: "count" });
      log.push(`+${delta} at location ${locationId}`);
    }
    // A backlog (orders past the stock), restocks, partial receipts, priorities, safety stock.
    const steps = int(0, 10);
    const restockIds: number[] = [];
    for (let step = 0; step < steps; step++) {
      const kind = int(0, 6);
      if (kind <= 1) {
        const quantity = int(1, 5);
        await placeOrder(db, { customer: "backlog", lines: [{ productId: pid, quantity }] });
        log.push(`order ${quantity}`);
      } else if (kind <= 3) {
        const days = int(0, 20);
        const hours = int(1, 23) + 0.5;
        const quantity = int(1, 6);
        const locationId = chance(0.3) ? extra[int(0, 1)] : undefined;
        const restock = await scheduleRestock(db, {
          productId: pid,
          quantity,
          locationId,
          expectedAt: new Date(Date.now() + days * DAY_MS + hours * 3_600_000),
        });
        restockIds.push(restock.id);
        log.push(`restock ${quantity} in ${days}d ${hours}h`);
      } else if (kind === 4 && restockIds.length > 0) {
        const id = restockIds[int(0, restockIds.length - 1)];
        const [restock] = await db
          .select()
          .from(schema.restocks)
          .where(sql`${schema.restocks.id} = ${id}`);
        const outstanding = restock.quantity - restock.receivedQuantity;
        if (restock.status === "RECEIVED" || outstanding < 2) continue;
        const quantity = int(1, outstanding - 1);
        await receiveRestock(db, id, quantity);
        log.push(`receive ${quantity} of restock ${id}`);
      } else if (kind === 5) {
        const queue = await waitingQueue(db, pid);
        if (queue.length === 0) continue;
        const backorder = queue[int(0, queue.length - 1)];
        const priority = [-2, -1, -1, 1, 2][int(0, 4)];
        await prioritizeBackorder(db, backorder.id, priority);
        log.push(`backorder ${backorder.id} priority ${priority}`);
      } else if (kind === 6) {
        const delta = int(1, 3);
        const safetyStock = int(0, 2);
        await adjustStock(db, { productId: pid, delta, safetyStock, reason: "count" });
        log.push(`+${delta} at the default location, safety stock ${safetyStock}`);
      }
    }
    // The rules last: a backlog built under ALLOW stays when the policy or a limit tightens.
    const minOrderQuantity = chance(0.8) ? 1 : int(2, 3);
    const rules: UpdateProductInput = {
      backorderPolicy: chance(0.75) ? "ALLOW" : "DENY",
      backorderLimit: chance(0.6) ? null : int(0, 12),
      minOrderQuantity,
      maxOrderQuantity: chance(0.8) ? null : int(minOrderQuantity, minOrderQuantity + 12),
      leadTimeDays: chance(0.5) ? null : int(0, 30),
      maxWaitDays: chance(0.5) ? null : int(0, 20),
    };
    log.push(`rules ${JSON.stringify(rules)}`);
    return updateProduct(db, pid, rules);
  }

  /** What the runs reached, so a generator that stopped reaching a case fails the test. */
  const reached = new Map<string, number>();
  const saw = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);

  it(`over ${RUNS} random states from seed ${SEED}, with and without allowPartial`, { timeout: Math.max(60_000, RUNS * 3_000) }, async () => {
    for (let run = 0; run < RUNS; run++) {
      const seed = SEED + run;
      const random = seededRandom(seed);
      const log: string[] = [];
      try {
        const product = await randomState(random, log);
        const quantity = 1 + Math.floor(random() * 12);
        log.push(`quote and order ${quantity}`);
        const quote = await quoteOf(product.id, quantity);
        log.push(`quote ${JSON.stringify(quote)}`);
        saw(`code ${quote.code}`);
        saw(`source ${quote.etaSource}`);
        if ((quote.position ?? 0) > 1) saw("behind others");
        if (quote.allocatable > 0 && quote.backorderable > 0) saw("split");
        if (quote.code === "WAIT_TOO_LONG" && quote.backorderable > 0) saw("cut to the cap");
        if (quote.position !== null && quote.position <= product.waitingOrders) saw("ahead of deprioritized");
        if (log.some((step) => step.startsWith("receive"))) saw("partly received");

        // Without allowPartial: refused exactly when the quote refuses units.
        let lostFrom = await lastLostId();
        const strict = await place(product.id, quantity, false);
        log.push(`strict ${strict.ok ? "accepted" : `refused ${strict.codes.join(",")}`}`);
        await expectAsQuoted(quote, strict, await lostSince(product.id, lostFrom), true);
        if (strict.ok) continue;

        // The refusal changed nothing but lost demand: the quote stands, and allowPartial takes what it says.
        const again = await quoteOf(product.id, quantity);
        expect(again).toEqual({ ...quote, expectedAt: again.etaSource === "LEAD_TIME" ? again.expectedAt : quote.expectedAt });
        if (again.etaSource === "LEAD_TIME") {
          // A lead time counts from each quote's own clock.
          const later = again.expectedAt!.getTime() - quote.expectedAt!.getTime();
          expect(later).toBeGreaterThanOrEqual(0);
          expect(later).toBeLessThan(LEAD_TIME_SLACK_MS);
        }
        lostFrom = await lastLostId();
        const partial = await place(product.id, quantity, true);
        log.push(`partial ${partial.ok ? "accepted" : `refused ${partial.codes.join(",")}`}`);
        await expectAsQuoted(again, partial, await lostSince(product.id, lostFrom), false);
      } catch (error) {
        throw new Error(`seed ${seed} (QUOTE_SEED=${seed} QUOTE_RUNS=1 replays it):\n  ${log.join("\n  ")}\n${String(error)}`, { cause: error });
      }
    }
    // QUOTE_STATS=1 prints how often each case was reached.
    if (process.env.QUOTE_STATS) console.log(Object.fromEntries(reached));
    if (RUNS >= 60) {
      for (const what of [
        "code null",
        "code OUT_OF_STOCK",
        "code BACKORDER_LIMIT_EXCEEDED",
        "code WAIT_TOO_LONG",
        "code BELOW_MIN_ORDER_QUANTITY",
        "code ABOVE_MAX_ORDER_QUANTITY",
        "source RESTOCK",
        "source LEAD_TIME",
        "source UNKNOWN",
        "behind others",
        "split",
        "cut to the cap",
        "ahead of deprioritized",
        "partly received",
      ]) {
        expect(reached.get(what) ?? 0, `runs that reached "${what}" (${JSON.stringify(Object.fromEntries(reached))})`).toBeGreaterThan(0);
      }
    }
  });
});

describe("the wait cap (WAIT_TOO_LONG)", () => {
  /** A restock of `quantity` units expected `ms` from now. */
  const restockIn = (productId: number, quantity: number, ms: number) =>
    scheduleRestock(database.db, { productId, quantity, expectedAt: new Date(Date.now() + ms) });

  /** The order's line and backorder, for an order that must have been accepted. */
  async function placed(outcome: Outcome) {
    if (!outcome.ok) throw new Error(`refused with ${outcome.codes.join(",")}`);
    return { ...outcome.value, line: await lineOf(outcome.value.order.id), backorder: await backorderOfOrder(database.db, outcome.value.order.id) };
  }

  it("accepts units a restock brings a minute inside the cap and cuts those of a restock a minute past it", async () => {
    const inside = await newProduct(database.db, { maxWaitDays: 7 });
    const restock = await restockIn(inside.id, 5, 7 * DAY_MS - MINUTE_MS);
    expect(await quoteOf(inside.id, 3)).toEqual({
      quantity: 3,
      allocatable: 0,
      backorderable: 3,
      refused: 0,
      code: null,
      position: 1,
      expectedAt: restock.expectedAt,
      etaSource: "RESTOCK",
    });
    const { line, backorder, issues } = await placed(await place(inside.id, 3, false));
    expect(issues).toEqual([]);
    expect(line).toMatchObject({ allocated: 0, waiting: 3 });
    expect(backorder).toMatchObject({ remaining: 3, expectedAt: restock.expectedAt, etaSource: "RESTOCK" });

    const past = await newProduct(database.db, { maxWaitDays: 7 });
    await restockIn(past.id, 5, 7 * DAY_MS + MINUTE_MS);
    expect(await quoteOf(past.id, 3)).toMatchObject({
      allocatable: 0,
      backorderable: 0,
      refused: 3,
      code: "WAIT_TOO_LONG",
      position: null,
      expectedAt: null,
    });
    const from = await lastLostId();
    expect(await place(past.id, 3, true)).toEqual({ ok: false, codes: ["WAIT_TOO_LONG"] });
    expect(await lostSince(past.id, from)).toEqual([{ id: expect.any(Number), quantity: 3, code: "WAIT_TOO_LONG" }]);
  });

  it("accepts a lead time equal to the cap and refuses one a day longer", async () => {
    const equal = await newProduct(database.db, { maxWaitDays: 10, leadTimeDays: 10 });
    const quote = await quoteOf(equal.id, 2);
    expect(quote).toMatchObject({ backorderable: 2, refused: 0, code: null, etaSource: "LEAD_TIME" });
    const { backorder } = await placed(await place(equal.id, 2, false));
    expect(backorder).toMatchObject({ remaining: 2, etaSource: "LEAD_TIME" });
    expect(backorder.expectedAt!.getTime()).toBe(backorder.createdAt.getTime() + 10 * DAY_MS);

    const longer = await newProduct(database.db, { maxWaitDays: 10, leadTimeDays: 11 });
    expect(await quoteOf(longer.id, 2)).toMatchObject({ backorderable: 0, refused: 2, code: "WAIT_TOO_LONG", etaSource: null });
    expect(await place(longer.id, 2, true)).toEqual({ ok: false, codes: ["WAIT_TOO_LONG"] });
  });

  it("refuses waiting units of a capped product that nothing dates (no restock, no lead time), but sells what is in stock", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 30, initialStock: 2 });
    expect(await quoteOf(product.id, 2)).toMatchObject({ allocatable: 2, backorderable: 0, refused: 0, code: null });
    expect(await quoteOf(product.id, 5)).toMatchObject({ allocatable: 2, backorderable: 0, refused: 3, code: "WAIT_TOO_LONG" });
    // Uncapped, the same units would wait with no date.
    const uncapped = await newProduct(database.db, { initialStock: 2 });
    expect(await quoteOf(uncapped.id, 5)).toMatchObject({
      allocatable: 2,
      backorderable: 3,
      refused: 0,
      code: null,
      expectedAt: null,
      etaSource: "UNKNOWN",
    });
  });

  it("without allowPartial refuses the whole order and changes nothing but the lost demand", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 30, initialStock: 2 });
    const before = await tableCounts(database.db);
    const from = await lastLostId();
    expect(await place(product.id, 5, false)).toEqual({ ok: false, codes: ["WAIT_TOO_LONG"] });
    expect(await tableCounts(database.db)).toEqual(before);
    expect(await lostSince(product.id, from)).toEqual([{ id: expect.any(Number), quantity: 3, code: "WAIT_TOO_LONG" }]);
    expect(await quoteOf(product.id, 5)).toMatchObject({ allocatable: 2, refused: 3, code: "WAIT_TOO_LONG" });
  });

  it("with allowPartial cuts the line to what can be expected in time and records the rest as lost demand", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 10, initialStock: 1 });
    const soon = await restockIn(product.id, 4, 3 * DAY_MS);
    await restockIn(product.id, 10, 30 * DAY_MS);
    // Two units already wait for the first restock: two of its four are left for a new order.
    await placeOrder(database.db, { customer: "ahead", lines: [{ productId: product.id, quantity: 3 }] });
    const quote = await quoteOf(product.id, 8);
    expect(quote).toEqual({
      quantity: 8,
      allocatable: 0,
      backorderable: 2,
      refused: 6,
      code: "WAIT_TOO_LONG",
      position: 2,
      expectedAt: soon.expectedAt,
      etaSource: "RESTOCK",
    });
    const from = await lastLostId();
    const { line, backorder, issues } = await placed(await place(product.id, 8, true));
    expect(issues).toEqual([expect.objectContaining({ code: "WAIT_TOO_LONG", field: ["input", "lines", "0", "quantity"] })]);
    expect(issues[0].message).toContain("only 2 of 8 can be expected within 10 days");
    expect(line).toMatchObject({ quantity: 2, allocated: 0, waiting: 2 });
    expect(backorder).toMatchObject({ remaining: 2, expectedAt: soon.expectedAt, etaSource: "RESTOCK" });
    expect(await lostSince(product.id, from)).toEqual([{ id: expect.any(Number), quantity: 6, code: "WAIT_TOO_LONG" }]);
  });

  it("cuts by the backorder limit first, then by the cap, and the quote names the first", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 5, backorderLimit: 6 });
    await restockIn(product.id, 2, 2 * DAY_MS);
    expect(await quoteOf(product.id, 8)).toMatchObject({ backorderable: 2, refused: 6, code: "BACKORDER_LIMIT_EXCEEDED" });
    const from = await lastLostId();
    const { issues, line } = await placed(await place(product.id, 8, true));
    expect(issues.map((issue) => issue.code)).toEqual(["BACKORDER_LIMIT_EXCEEDED", "WAIT_TOO_LONG"]);
    expect(line).toMatchObject({ waiting: 2 });
    expect((await lostSince(product.id, from)).map(({ quantity, code }) => ({ quantity, code }))).toEqual([
      { quantity: 2, code: "BACKORDER_LIMIT_EXCEEDED" },
      { quantity: 4, code: "WAIT_TOO_LONG" },
    ]);
  });

  it("with maxWaitDays 0 sells stock, accepts a lead time of 0 days and refuses anything a restock brings later", async () => {
    const stocked = await newProduct(database.db, { maxWaitDays: 0, initialStock: 3 });
    expect(await quoteOf(stocked.id, 3)).toMatchObject({ allocatable: 3, backorderable: 0, refused: 0, code: null });
    const sameDay = await newProduct(database.db, { maxWaitDays: 0, leadTimeDays: 0 });
    expect(await quoteOf(sameDay.id, 2)).toMatchObject({ backorderable: 2, code: null, etaSource: "LEAD_TIME" });
    const { backorder } = await placed(await place(sameDay.id, 2, false));
    expect(backorder.expectedAt).toEqual(backorder.createdAt);
    const later = await newProduct(database.db, { maxWaitDays: 0, leadTimeDays: 0 });
    await restockIn(later.id, 5, MINUTE_MS);
    // The restock dates these units, a minute away: past a cap of 0 days, though the lead time alone would do.
    expect(await quoteOf(later.id, 2)).toMatchObject({ backorderable: 0, refused: 2, code: "WAIT_TOO_LONG" });
    expect(await place(later.id, 2, false)).toEqual({ ok: false, codes: ["WAIT_TOO_LONG"] });
  });

  it("keeps the most units that can be expected in time when a lead time comes sooner than the last restock", async () => {
    // 3 units in 2 days, 3 more in 40; beyond those 6, the lead time: 5 days. Cap: 10 days.
    const product = await newProduct(database.db, { maxWaitDays: 10, leadTimeDays: 5 });
    const soon = await restockIn(product.id, 3, 2 * DAY_MS);
    await restockIn(product.id, 3, 40 * DAY_MS);
    // 4 units: the fourth is the late restock's, 40 days: cut to the 3 the first restock brings.
    expect(await quoteOf(product.id, 4)).toMatchObject({ backorderable: 3, refused: 1, code: "WAIT_TOO_LONG", expectedAt: soon.expectedAt });
    // 6 units end exactly at the late restock: cut to 3 as well.
    expect(await quoteOf(product.id, 6)).toMatchObject({ backorderable: 3, refused: 3, code: "WAIT_TOO_LONG" });
    // 7 units go beyond all scheduled supply: dated by the lead time, 5 days, all within the cap.
    const seven = await quoteOf(product.id, 7);
    expect(seven).toMatchObject({ backorderable: 7, refused: 0, code: null, etaSource: "LEAD_TIME" });
    // And that is the date the queue gives the backorder, so the cap judged the date the customer gets.
    const { backorder } = await placed(await place(product.id, 7, false));
    expect(backorder).toMatchObject({ remaining: 7, etaSource: "LEAD_TIME" });
    expect(backorder.expectedAt!.getTime() - seven.expectedAt!.getTime()).toBeLessThan(LEAD_TIME_SLACK_MS);
    // Behind those 7 (past all supply), anything more is dated by the lead time too.
    expect(await quoteOf(product.id, 1)).toMatchObject({ backorderable: 1, refused: 0, position: 2, etaSource: "LEAD_TIME" });
  });

  it("counts the units ahead: a deprioritized backorder is behind a new one, a prioritized one ahead", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 10 });
    const soon = await restockIn(product.id, 4, 3 * DAY_MS);
    await restockIn(product.id, 10, 30 * DAY_MS);
    const { order } = await placeOrder(database.db, { customer: "later", lines: [{ productId: product.id, quantity: 4 }] });
    // 4 units ahead take the whole first restock: nothing more in time.
    expect(await quoteOf(product.id, 2)).toMatchObject({ backorderable: 0, refused: 2, code: "WAIT_TOO_LONG" });
    const waiting = await backorderOfOrder(database.db, order.id);
    await prioritizeBackorder(database.db, waiting.id, -1);
    // Deprioritized, they go behind a new backorder: the first restock is the new one's.
    expect(await quoteOf(product.id, 2)).toMatchObject({ backorderable: 2, refused: 0, position: 1, expectedAt: soon.expectedAt });
    const { backorder } = await placed(await place(product.id, 2, false));
    expect((await queuePlaces(database.db, [backorder.id, waiting.id])).map((place) => place?.position)).toEqual([1, 2]);
    expect(backorder.expectedAt).toEqual(soon.expectedAt);
  });

  it("counts a partly received restock's outstanding units only", async () => {
    const product = await newProduct(database.db, { maxWaitDays: 10 });
    const restock = await restockIn(product.id, 5, 4 * DAY_MS);
    await restockIn(product.id, 5, 20 * DAY_MS);
    await placeOrder(database.db, { customer: "ahead", lines: [{ productId: product.id, quantity: 3 }] });
    await receiveRestock(database.db, restock.id, 3); // fills the 3 waiting; 2 units still to come in 4 days
    expect(await quoteOf(product.id, 4)).toMatchObject({
      backorderable: 2,
      refused: 2,
      code: "WAIT_TOO_LONG",
      position: 1,
      expectedAt: restock.expectedAt,
    });
  });
});

describe("quoteOrderLines", () => {
  it("refuses, as placeOrder does, a line whose total an order cannot hold", async () => {
    // 1,000,000 units at 1,000,000.00 are 10^12, past numeric(14,2): placeOrder refuses the order outright.
    const product = await newProduct(database.db, { price: "1000000.00" });
    const quote = await quoteOf(product.id, 1_000_000);
    const from = await lastLostId();
    expect(await place(product.id, 1_000_000, true)).toEqual({ ok: false, codes: ["INVALID_INPUT"] });
    expect(await lostSince(product.id, from)).toEqual([]);
    expect(quote).toMatchObject({ allocatable: 0, backorderable: 0, refused: 1_000_000, code: "INVALID_INPUT", position: null, expectedAt: null });
    // One unit fewer than the limit is 999,999,000,000.00: it fits, and both take it.
    expect(await quoteOf(product.id, 999_999)).toMatchObject({ backorderable: 999_999, refused: 0, code: null });
  });

  it("answers many requests in one statement, each in its place: quotes, unknown products and bad quantities", async () => {
    const a = await newProduct(database.db, { initialStock: 2 });
    const b = await newProduct(database.db, { backorderPolicy: "DENY", initialStock: 1 });
    const answers = await quoteOrderLines(database.db, [
      { productId: a.id, quantity: 3 },
      { productId: 2_000_000_000, quantity: 1 },
      { productId: b.id, quantity: 2 },
      { productId: a.id, quantity: 0 },
      { productId: a.id, quantity: 1 },
      { productId: -1, quantity: 1 },
    ]);
    expect(answers[0]).toMatchObject({ quantity: 3, allocatable: 2, backorderable: 1, refused: 0 });
    expect(answers[1]).toBeInstanceOf(DomainError);
    expect((answers[1] as DomainError).issues).toEqual([expect.objectContaining({ code: "NOT_FOUND", field: ["productId"] })]);
    expect(answers[2]).toMatchObject({ quantity: 2, allocatable: 1, backorderable: 0, refused: 1, code: "OUT_OF_STOCK" });
    expect((answers[3] as DomainError).issues).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["quantity"] })]);
    expect(answers[4]).toMatchObject({ quantity: 1, allocatable: 1 });
    expect((answers[5] as DomainError).issues).toEqual([expect.objectContaining({ code: "NOT_FOUND", field: ["productId"] })]);
  });
});

/**
 * backlogMetrics (docs/ARCHITECTURE.md, "Backlog metrics") against a history built through the
 * services, every figure computed by hand.
 *
 * The services stamp orders and backorders with the database's clock, so a history spread over
 * days, and orders exactly on a window's edges, are made by moving timestamps with SQL after the
 * fact: orders.created_at with its backorders' created_at (a backorder joins its queue when its
 * order is placed), a fill's filled_at, a refusal's lost_demand.created_at. Nothing the audit
 * checks depends on those instants (the FIFO check leaves a backorder it cannot date unjudged).
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Database, rows } from "../../drizzle/db.js";
import { BACKLOG_METRICS_LIMITS, type BacklogMetricsRecord, backlogMetrics } from "../../server/services/backlog-metrics.query.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { daysFromNow, newProduct, tableCounts } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The history's day 0: every instant below is T0 + something. */
const T0 = new Date(Math.floor((Date.now() - 20 * DAY) / HOUR) * HOUR);
const at = (days: number, hours = 0) => new Date(T0.getTime() + days * DAY + hours * HOUR);

/** Moves an order, and the backorders it put in queues, to `when`. */
async function placedAt(db: Database, orderId: number, when: Date): Promise<void> {
  await db.execute(sql`UPDATE orders SET created_at = ${when.toISOString()}::timestamptz WHERE id = ${orderId}`);
  await db.execute(sql`UPDATE backorders SET created_at = ${when.toISOString()}::timestamptz WHERE order_id = ${orderId}`);
}

async function backorderOf(db: Database, orderId: number, productId: number) {
  const [row] = await rows<{ id: number; status: string; promised_at: string | null }>(
    db,
    sql`SELECT id, status, promised_at FROM backorders WHERE order_id = ${orderId} AND product_id = ${productId}`,
  );
  return row;
}

/**
 * The history (real order of calls; ids follow it), with where each order is moved:
 *   A  ALLOW 10.00 USD, 2 on hand, a restock of 4 (promise: its date)     o1 A×5 → 2 now, 3 wait (b1)   T0+1d
 *   B  ALLOW  4.00 USD, none                                               o5 B×2 (b5)                    T0−1h (before the window, its id inside)
 *                                                                          o2 B×4 (b2), cancelled later   T0+2d
 *                                                                          o3 A×1 (b3a) + B×2 (b3b)       T0+3d
 *   D  DENY   7.00 USD, 1 on hand                                          o4 D×3 → 1, 2 refused          T0+4d
 *                                                                          o7 B×1 (b7)                    T0 (on `from`)
 *   E  ALLOW  5.50 EUR, none                                               oE E×2 (bE)                    T0+5d
 *                                                                          o6 B×3 (b6)                    T0+10d (on `to`)
 *   F  ALLOW  3.00 USD, none, backorder limit 1                            oF F×3 → 1 waits, 2 refused    T0+6d
 *   G  ALLOW  2.00 USD, none, a restock of 1 later rescheduled (delayed)   oG G×1 (bG)                    T0+7d
 *   D again: D×5 refused whole (OUT_OF_STOCK), its lost demand moved to T0−1d.
 * Then A's restock arrives: b1 filled 10 h after placement (promise kept), b3a 30 h after (its
 * promise moved an hour before the fill: kept late). o2 is cancelled: its 4 backordered units.
 */
const history = {} as Record<"A" | "B" | "D" | "E" | "F" | "G", number> & { orders: Record<string, number> };

beforeAll(async () => {
  const { db } = database;
  const A = await newProduct(db, { price: "10.00", initialStock: 2 });
  const B = await newProduct(db, { price: "4.00" });
  const D = await newProduct(db, { price: "7.00", backorderPolicy: "DENY", initialStock: 1 });
  const E = await newProduct(db, { price: "5.50", currencyCode: "EUR" });
  const F = await newProduct(db, { price: "3.00", backorderLimit: 1 });
  const G = await newProduct(db, { price: "2.00" });
  const restockA = await scheduleRestock(db, { productId: A.id, quantity: 4, expectedAt: daysFromNow(5) });
  const restockG = await scheduleRestock(db, { productId: G.id, quantity: 1, expectedAt: daysFromNow(2) });
  const place = async (...lines: [number, number][]) =>
    (await placeOrder(db, { customer: "metrics", lines: lines.map(([productId, quantity]) => ({ productId, quantity })) })).order.id;
  const orders = {
    o1: await place([A.id, 5]),
    o5: await place([B.id, 2]),
    o2: await place([B.id, 4]),
    o3: await place([A.id, 1], [B.id, 2]),
    o4: await place([D.id, 3]),
    o7: await place([B.id, 1]),
    oE: await place([E.id, 2]),
    o6: await place([B.id, 3]),
    oF: await place([F.id, 3]),
    oG: await place([G.id, 1]),
  };
  await refusal(placeOrder(db, { customer: "metrics", lines: [{ productId: D.id, quantity: 5 }] }));
  await rescheduleRestock(db, restockG.id, daysFromNow(4));
  await cancelOrder(db, orders.o2);
  const b1 = await backorderOf(db, orders.o1, A.id);
  const b3a = await backorderOf(db, orders.o3, A.id);
  await receiveRestock(db, restockA.id);

  const moves: [number, Date][] = [
    [orders.o1, at(1)],
    [orders.o5, at(0, -1)],
    [orders.o2, at(2)],
    [orders.o3, at(3)],
    [orders.o4, at(4)],
    [orders.o7, at(0)],
    [orders.oE, at(5)],
    [orders.o6, at(10)],
    [orders.oF, at(6)],
    [orders.oG, at(7)],
  ];
  for (const [id, when] of moves) await placedAt(db, id, when);
  await db.execute(sql`UPDATE backorders SET filled_at = ${at(1, 10).toISOString()}::timestamptz WHERE id = ${b1.id}`);
  await db.execute(sql`UPDATE backorders SET filled_at = ${at(3, 30).toISOString()}::timestamptz,
                                             promised_at = ${at(3, 29).toISOString()}::timestamptz WHERE id = ${b3a.id}`);
  // D's cut line (2 units) was refused at o4's placement; the whole refusal (5 units) a day before the window.
  await db.execute(sql`UPDATE lost_demand SET created_at = CASE WHEN quantity = 2 THEN ${at(4).toISOString()}::timestamptz
                                                                 ELSE ${at(-1).toISOString()}::timestamptz END
                       WHERE product_id = ${D.id}`);
  await db.execute(sql`UPDATE lost_demand SET created_at = ${at(6).toISOString()}::timestamptz WHERE product_id = ${F.id}`);
  Object.assign(history, { A: A.id, B: B.id, D: D.id, E: E.id, F: F.id, G: G.id, orders });
});

const money = (amount: string, currencyCode = "USD") => ({ amount, currencyCode });
const hours = (from: Date, to: Date) => (to.getTime() - from.getTime()) / HOUR;

describe("backlogMetrics over a hand-built history", () => {
  it("gives every figure of a window with two currencies, a stray order id, and orders on both edges", async () => {
    const started = new Date();
    const metrics = await backlogMetrics(database.db, { from: at(0), to: at(10) });
    const finished = new Date();
    // In the window: o7 (on from), o1, o2 (cancelled: still counted), o3, o4, oE, oF, oG. Out: o5 (before), o6 (on to).
    expect(metrics).toMatchObject({
      from: at(0),
      to: at(10),
      ordersPlaced: 8,
      // o7 1 + o1 5 + o2 4 + o3 3 + o4 1 (cut to what D had) + oE 2 + oF 1 (cut at the limit) + oG 1
      unitsOrdered: 18,
      // o7 1 + o1 3 + o2 4 + o3 1 + 2 + oE 2 + oF 1 + oG 1
      unitsBackordered: 15,
      // USD: 1×4 + 3×10 + 4×4 + 1×10 + 2×4 + 1×3 + 1×2; EUR: 2×5.50
      revenueProtected: [money("11.00", "EUR"), money("73.00")],
      lostDemand: [
        { code: "BACKORDER_LIMIT_EXCEEDED", units: 2, value: [money("6.00")] },
        { code: "OUT_OF_STOCK", units: 2, value: [money("14.00")] },
      ],
      // b1 10 h and b3a 30 h: p50 the midpoint, p90 = 10 + 0.9 × 20
      timeToFill: { p50Hours: 20, p90Hours: 28, maxHours: 30 },
      // Filled with a promise: b1 (kept) and b3a (an hour late).
      etaAccuracy: 0.5,
      // Whatever the window: B 2 + 1 + 2 + 3, E 2, F 1, G 1.
      waitingUnits: 12,
      delayedBackorders: 1,
      atRiskBackorders: 7,
    });
    expect(metrics.fillRateAtPlacement).toBeCloseTo((18 - 15) / 18, 12);
    expect(metrics.backorderCancelRate).toBeCloseTo(4 / 15, 12);
    // Waiting now, youngest first: b6 (T0+10d), bG (7d), bF (6d), bE (5d), b3b (3d), b7 (T0), b5 (T0−1h).
    // Seven ages: p50 the 4th (bE); p90 at 0.9 × 6 = 5.4, between b7 and b5; max b5.
    const expectAge = (actual: number | null, at: (now: Date) => number) => {
      expect(actual).not.toBeNull();
      expect(actual!).toBeGreaterThanOrEqual(at(started) - 1e-9);
      expect(actual!).toBeLessThanOrEqual(at(finished) + 1e-9);
    };
    expectAge(metrics.backlogAge.p50Hours, (now) => hours(at(5), now));
    expectAge(metrics.backlogAge.p90Hours, (now) => hours(at(0), now) + 0.4);
    expectAge(metrics.backlogAge.maxHours, (now) => hours(at(0, -1), now));
  });

  it("reads the window by ids alone when it has one currency and no strays, with the same meaning", async () => {
    // [T0+2d, T0+5d): o2, o3, o4, whose ids are consecutive (the refused order took none that stayed).
    const metrics = await backlogMetrics(database.db, { from: at(2), to: at(5) });
    expect(metrics).toMatchObject({
      ordersPlaced: 3,
      unitsOrdered: 8,
      unitsBackordered: 7,
      revenueProtected: [money("34.00")],
      lostDemand: [{ code: "OUT_OF_STOCK", units: 2, value: [money("14.00")] }],
      timeToFill: { p50Hours: 30, p90Hours: 30, maxHours: 30 },
      etaAccuracy: 0,
    });
    expect(metrics.fillRateAtPlacement).toBeCloseTo(1 / 8, 12);
    expect(metrics.backorderCancelRate).toBeCloseTo(4 / 7, 12);
  });

  it("leaves out an order placed before the window whose id lies inside it", async () => {
    // [T0, T0+2d+1h): o7, o1, o2; o5 (T0−1h) was placed between o1 and o2.
    const metrics = await backlogMetrics(database.db, { from: at(0), to: at(2, 1) });
    expect(metrics).toMatchObject({
      ordersPlaced: 3,
      unitsOrdered: 10,
      unitsBackordered: 8,
      revenueProtected: [money("50.00")],
      lostDemand: [],
      timeToFill: { p50Hours: 10, p90Hours: 10, maxHours: 10 },
      etaAccuracy: 1,
      backorderCancelRate: 0.5,
    });
  });

  it("gives the same figures when there are too many strays to list and the lines are joined to their orders", async () => {
    // [T0, T0+10d): two currencies, strays o5 and o6; [T0, T0+4d+1h): one currency, stray o5.
    const windows = [
      { from: at(0), to: at(10) },
      { from: at(0), to: at(4, 1) },
    ];
    const listed = await Promise.all(windows.map((window) => backlogMetrics(database.db, window)));
    expect(listed[1]).toMatchObject({ ordersPlaced: 5, unitsOrdered: 14, unitsBackordered: 11, revenueProtected: [money("68.00")] });
    const limits = BACKLOG_METRICS_LIMITS as { strays: number };
    const limit = limits.strays;
    limits.strays = 0;
    try {
      for (const [i, window] of windows.entries()) {
        expect(await backlogMetrics(database.db, window)).toEqual({ ...listed[i], backlogAge: expect.any(Object) });
      }
    } finally {
      limits.strays = limit;
    }
  });

  it("counts an order placed at from and not one placed at to: [from, to)", async () => {
    const onFrom = await backlogMetrics(database.db, { from: at(0), to: at(0, 1), productIds: [history.B] });
    expect(onFrom).toMatchObject({ ordersPlaced: 1, unitsOrdered: 1 });
    const beforeTo = await backlogMetrics(database.db, { from: at(9), to: at(10), productIds: [history.B] });
    expect(beforeTo).toMatchObject({ ordersPlaced: 0, unitsOrdered: 0 });
    const fromTo = await backlogMetrics(database.db, { from: at(10), to: at(11), productIds: [history.B] });
    expect(fromTo).toMatchObject({ ordersPlaced: 1, unitsOrdered: 3 });
  });

  it("narrows every figure to the products named, an order counting once", async () => {
    const ofA = await backlogMetrics(database.db, { from: at(0), to: at(10), productIds: [history.A, history.A] });
    expect(ofA).toEqual<BacklogMetricsRecord>({
      from: at(0),
      to: at(10),
      ordersPlaced: 2,
      unitsOrdered: 6,
      unitsBackordered: 4,
      revenueProtected: [money("40.00")],
      lostDemand: [],
      fillRateAtPlacement: 2 / 6,
      timeToFill: { p50Hours: 20, p90Hours: 28, maxHours: 30 },
      backlogAge: { p50Hours: null, p90Hours: null, maxHours: null },
      backorderCancelRate: 0,
      etaAccuracy: 0.5,
      waitingUnits: 0,
      delayedBackorders: 0,
      atRiskBackorders: 0,
    });
    // o3 has a line of A and one of B: one order.
    const ofAandB = await backlogMetrics(database.db, { from: at(0), to: at(10), productIds: [history.A, history.B] });
    expect(ofAandB).toMatchObject({ ordersPlaced: 4, unitsOrdered: 13, unitsBackordered: 11, waitingUnits: 8 });
    const ofNone = await backlogMetrics(database.db, { from: at(0), to: at(10), productIds: [] });
    expect(ofNone).toMatchObject({ ordersPlaced: 0, unitsOrdered: 0, revenueProtected: [], lostDemand: [], waitingUnits: 0, delayedBackorders: 0 });
    const ofDandG = await backlogMetrics(database.db, { from: at(0), to: at(10), productIds: [history.D, history.G] });
    expect(ofDandG).toMatchObject({
      ordersPlaced: 2,
      lostDemand: [{ code: "OUT_OF_STOCK", units: 2, value: [money("14.00")] }],
      waitingUnits: 1,
      delayedBackorders: 1,
    });
  });

  it("counts at risk the backorders that have waited longer than atRiskHours", async () => {
    // Waiting for 10, 13, 14, 15, 17, 20 days and 20 days and an hour.
    const count = async (days: number) => (await backlogMetrics(database.db, { atRiskHours: days * 24 })).atRiskBackorders;
    expect(await count(1)).toBe(7);
    expect(await count(11)).toBe(6);
    expect(await count(16)).toBe(3);
    expect(await count(365)).toBe(0);
  });

  it("answers zeros and nulls for a window without orders", async () => {
    const metrics = await backlogMetrics(database.db, { from: at(-30), to: at(-29) });
    expect(metrics).toMatchObject({
      ordersPlaced: 0,
      unitsOrdered: 0,
      unitsBackordered: 0,
      revenueProtected: [],
      lostDemand: [],
      fillRateAtPlacement: null,
      timeToFill: { p50Hours: null, p90Hours: null, maxHours: null },
      backorderCancelRate: null,
      etaAccuracy: null,
    });
  });

  it("defaults to the 30 days before now, and from to 30 days before a given to", async () => {
    const before = Date.now();
    const metrics = await backlogMetrics(database.db, {});
    expect(metrics.to.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(metrics.to.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(metrics.to.getTime() - metrics.from.getTime()).toBe(30 * DAY);
    // The last 30 days hold every order of the history, o5 included (T0 is 20 days ago).
    expect(metrics.ordersPlaced).toBe(10);
    const given = await backlogMetrics(database.db, { to: at(3) });
    expect(given.from).toEqual(new Date(at(3).getTime() - 30 * DAY));
  });
});

describe("backlogMetrics refuses bad input", () => {
  const cases: [string, Parameters<typeof backlogMetrics>[1], string, string[]][] = [
    ["from after to", { from: at(2), to: at(1) }, "INVALID_INPUT", ["from"]],
    ["from equal to to", { from: at(2), to: at(2) }, "INVALID_INPUT", ["from"]],
    ["a window over 400 days", { from: at(-400), to: at(0, 1) }, "INVALID_INPUT", ["from"]],
    ["from after now, without to", { from: daysFromNow(1) }, "INVALID_INPUT", ["from"]],
    ["an invalid date", { from: new Date(Number.NaN) }, "INVALID_INPUT", ["from"]],
    ["atRiskHours 0", { atRiskHours: 0 }, "INVALID_INPUT", ["atRiskHours"]],
    ["atRiskHours past a year", { atRiskHours: 8761 }, "INVALID_INPUT", ["atRiskHours"]],
    ["a fractional atRiskHours", { atRiskHours: 1.5 }, "INVALID_INPUT", ["atRiskHours"]],
    ["101 products", { productIds: Array.from({ length: 101 }, (_, i) => i + 1) }, "INVALID_INPUT", ["productIds"]],
    ["a product id that cannot exist", { productIds: [0] }, "NOT_FOUND", ["productIds", "0"]],
    ["a product that does not exist", { productIds: [1, 999_999] }, "NOT_FOUND", ["productIds", "1"]],
  ];
  for (const [name, input, code, field] of cases) {
    it(`refuses ${name} with ${code} on ${field.join(".")} and changes nothing`, async () => {
      const before = await tableCounts(database.db);
      const error = await refusal(backlogMetrics(database.db, input));
      expect(error.issues[0]).toMatchObject({ code, field });
      expect(await tableCounts(database.db)).toEqual(before);
    });
  }

  it("accepts a window of exactly 400 days and 100 products", async () => {
    const window = BACKLOG_METRICS_LIMITS.windowDays * DAY;
    const metrics = await backlogMetrics(database.db, { from: new Date(at(10).getTime() - window), to: at(10), productIds: [history.A] });
    expect(metrics.ordersPlaced).toBe(2);
    expect(BACKLOG_METRICS_LIMITS.productIds).toBe(100);
  });

  it("runs inside a caller's transaction and gives it its settings back", async () => {
    const { db } = database;
    const mode = await db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL work_mem = '5MB'`);
      const metrics = await backlogMetrics(tx, { from: at(0), to: at(10) });
      expect(metrics.ordersPlaced).toBe(8);
      const [settings] = await rows<{ plan: string; work_mem: string }>(
        tx,
        sql`SELECT current_setting('plan_cache_mode') AS plan, current_setting('work_mem') AS work_mem`,
      );
      return settings;
    });
    expect(mode).toEqual({ plan: "auto", work_mem: "5MB" });
  });
});

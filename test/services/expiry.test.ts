/**
 * Expiry of stale backorders through the services, on a real database (docs/ARCHITECTURE.md,
 * "Expiry of stale backorders"): the boundary to the millisecond, keepWaiting, what an expiry
 * cancels, refunds, re-dates and announces, batches, and races with receipts and cancels on
 * PostgreSQL. `useFreshDatabase` audits every invariant after the file.
 *
 * The sweep expires every product's backorders, not only a test's own: each test looks only at
 * its own products and orders, and sweeps at instants that leave the earlier tests' assertions done.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection, type Database, rows, schema } from "../../drizzle/db.js";
import { intArray } from "../../drizzle/sql.js";
import { expiresAt } from "../../server/services/backorder-expiry.js";
import { expireBackorders, keepWaiting } from "../../server/services/expiry.service.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { updateProduct } from "../../server/services/product.service.js";
import { refundLinesByRefunds, refundsByOrders } from "../../server/services/refund.query.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import type { BackorderRecord, ProductRecord } from "../../server/services/types.js";
import { expectCleanAudit } from "../support/audit.js";
import { backorderOfOrder, daysFromNow, newProduct, tableCounts } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();
const DAY_MS = 86_400_000;
const { backorders, events, orderLines, orders } = schema;

async function backorder(db: Database, id: number): Promise<BackorderRecord> {
  const [row] = await db.select().from(backorders).where(eq(backorders.id, id));
  return row;
}

async function product(db: Database, id: number): Promise<ProductRecord> {
  const [row] = await db.select().from(schema.products).where(eq(schema.products.id, id));
  return row;
}

/** When the backorder expires, by the rule as the API reads it. */
async function expiryOf(db: Database, id: number): Promise<Date> {
  const row = await backorder(db, id);
  const at = expiresAt(row, (await product(db, row.productId)).autoCancelAfterDays);
  if (!at) throw new Error(`backorder ${id} does not expire`);
  return at;
}

/** An order of `quantity` units of `productId` (nothing on the shelf: all of them wait) and its backorder. */
async function waitingOrder(db: Database, productId: number, quantity: number, customer = "expiry-customer") {
  const { order } = await placeOrder(db, { customer, lines: [{ productId, quantity }] });
  return { order, backorder: await backorderOfOrder(db, order.id) };
}

/** A product that expires waiting units after `days`, with a restock of `units` expected at `at`: backorders it covers are promised `at`. */
async function promisingProduct(db: Database, days: number, at: Date, units = 100, price = "10.00") {
  const created = await newProduct(db, { autoCancelAfterDays: days, price });
  const restock = await scheduleRestock(db, { productId: created.id, quantity: units, expectedAt: at });
  return { product: created, restock };
}

describe("the boundary", () => {
  it("expires a backorder autoCancelAfterDays after its promise: not one millisecond before, at that instant yes", async () => {
    const promise = daysFromNow(2);
    const { product: p } = await promisingProduct(database.db, 3, promise);
    const { order, backorder: b } = await waitingOrder(database.db, p.id, 4);
    expect(b.promisedAt).toEqual(promise);
    const at = await expiryOf(database.db, b.id);
    expect(at).toEqual(new Date(promise.getTime() + 3 * DAY_MS));

    const early = await expireBackorders(database.db, new Date(at.getTime() - 1));
    expect(early.backorderIds).not.toContain(b.id);
    expect(await backorder(database.db, b.id)).toMatchObject({ status: "WAITING", remaining: 4 });

    const due = await expireBackorders(database.db, at);
    expect(due.backorderIds).toContain(b.id);
    expect(due.orderIds).toContain(order.id);
    expect(await backorder(database.db, b.id)).toMatchObject({ status: "CANCELLED", remaining: 0, cancelled: 4, cancelledAt: expect.any(Date) });
    const [line] = await database.db.select().from(orderLines).where(eq(orderLines.orderId, order.id));
    expect(line).toMatchObject({ waiting: 0, cancelled: 4 });
    expect(await product(database.db, p.id)).toMatchObject({ backordered: 0, waitingOrders: 0 });
    const [stored] = await database.db.select().from(orders).where(eq(orders.id, order.id));
    expect(stored.status).toBe("CANCELLED");
  });

  it("never expires a backorder whose customer chose keepWaiting, and keepWaiting is idempotent", async () => {
    const { product: p } = await promisingProduct(database.db, 1, daysFromNow(1));
    const { backorder: b } = await waitingOrder(database.db, p.id, 2);
    const at = await expiryOf(database.db, b.id);

    const kept = await keepWaiting(database.db, b.id);
    expect(kept).toMatchObject({ id: b.id, status: "WAITING", keepWaiting: true });
    expect(expiresAt(kept, 1)).toBeNull();
    const before = await tableCounts(database.db);
    expect(await keepWaiting(database.db, b.id)).toEqual(kept);
    expect(await tableCounts(database.db), "keepWaiting again changes nothing, writes no event").toEqual(before);

    for (const now of [at, new Date(at.getTime() + 400 * DAY_MS)]) {
      expect((await expireBackorders(database.db, now)).backorderIds).not.toContain(b.id);
    }
    expect(await backorder(database.db, b.id)).toMatchObject({ status: "WAITING", remaining: 2, keepWaiting: true });
  });

  it("counts from placement when no date was ever promised, to the millisecond the API shows", async () => {
    // No restock and no lead time: nothing is promised.
    const p = await newProduct(database.db, { autoCancelAfterDays: 2 });
    const { backorder: b } = await waitingOrder(database.db, p.id, 1);
    expect(b.promisedAt).toBeNull();
    // created_at has microseconds (clock_timestamp()); the API shows milliseconds. Make them the
    // last microsecond of the millisecond shown: the rule counts from the millisecond, so the
    // instant shown is still the instant it expires, not a microsecond later.
    await database.db.execute(
      sql`UPDATE backorders SET created_at = date_trunc('milliseconds', created_at) + interval '999 microseconds' WHERE id = ${b.id}`,
    );
    const [{ micros }] = await rows<{ micros: string }>(database.db, sql`SELECT to_char(created_at, 'US') AS micros FROM backorders WHERE id = ${b.id}`);
    expect(Number(micros) % 1000).toBe(999);
    const at = await expiryOf(database.db, b.id);
    expect(at).toEqual(new Date(b.createdAt.getTime() + 2 * DAY_MS));

    expect((await expireBackorders(database.db, new Date(at.getTime() - 1))).backorderIds).not.toContain(b.id);
    expect((await expireBackorders(database.db, at)).backorderIds).toContain(b.id);
    expect(await backorder(database.db, b.id)).toMatchObject({ status: "CANCELLED" });
  });

  it("counts from placement when the promise was already past at placement (an overdue restock dated the queue)", async () => {
    const { product: p } = await promisingProduct(database.db, 2, daysFromNow(1));
    const { backorder: b } = await waitingOrder(database.db, p.id, 1);
    // The restock it was promised by is overdue: the promise lies 5 days before the placement.
    await database.db.execute(sql`UPDATE backorders SET promised_at = created_at - interval '5 days' WHERE id = ${b.id}`);
    const at = await expiryOf(database.db, b.id);
    expect(at).toEqual(new Date(b.createdAt.getTime() + 2 * DAY_MS));

    expect((await expireBackorders(database.db, new Date(at.getTime() - 1))).backorderIds, "not 2 days after the past promise").not.toContain(b.id);
    expect((await expireBackorders(database.db, at)).backorderIds).toContain(b.id);
  });

  it("does not expire the backorders of a product without autoCancelAfterDays, nor after it is cleared", async () => {
    const { product: p } = await promisingProduct(database.db, 1, daysFromNow(1));
    const { backorder: b } = await waitingOrder(database.db, p.id, 1);
    const at = await expiryOf(database.db, b.id);
    await updateProduct(database.db, p.id, { autoCancelAfterDays: null });
    expect(expiresAt(await backorder(database.db, b.id), null)).toBeNull();
    expect((await expireBackorders(database.db, new Date(at.getTime() + 10 * DAY_MS))).backorderIds).not.toContain(b.id);
    expect(await backorder(database.db, b.id)).toMatchObject({ status: "WAITING" });
    // Set again (a product update like any other): the backorder expires by the new days.
    await updateProduct(database.db, p.id, { autoCancelAfterDays: 5 });
    const later = await expiryOf(database.db, b.id);
    expect(later.getTime() - at.getTime()).toBe(4 * DAY_MS);
    expect((await expireBackorders(database.db, later)).backorderIds).toContain(b.id);
  });
});

describe("what an expiry does", () => {
  it("cancels only the expired line of a multi-line order and refunds its remaining units × unit price, reason EXPIRED", async () => {
    // Expiring: 5 wait, promised by lead time; a receipt then fills 2 of them, 3 remain.
    const expiring = await newProduct(database.db, { autoCancelAfterDays: 2, leadTimeDays: 5, price: "19.99" });
    const partial = await scheduleRestock(database.db, { productId: expiring.id, quantity: 2, expectedAt: daysFromNow(1) });
    const forever = await newProduct(database.db, { price: "5.10" });
    const shelf = await newProduct(database.db, { price: "3.00", initialStock: 10 });
    const { order } = await placeOrder(database.db, {
      customer: "multi-line",
      lines: [
        { productId: expiring.id, quantity: 5 },
        { productId: forever.id, quantity: 2 },
        { productId: shelf.id, quantity: 1 },
      ],
    });
    await receiveRestock(database.db, partial.id);
    const b = await backorder(
      database.db,
      (
        await database.db
          .select()
          .from(backorders)
          .where(and(eq(backorders.orderId, order.id), eq(backorders.productId, expiring.id)))
      )[0].id,
    );
    expect(b).toMatchObject({ remaining: 3, etaSource: "LEAD_TIME" });
    const at = await expiryOf(database.db, b.id);
    expect(at).toEqual(new Date(b.promisedAt!.getTime() + 2 * DAY_MS));

    const swept = await expireBackorders(database.db, at);
    expect(swept.backorderIds).toContain(b.id);
    const lines = new Map((await database.db.select().from(orderLines).where(eq(orderLines.orderId, order.id))).map((l) => [l.productId, l]));
    expect(lines.get(expiring.id)).toMatchObject({ quantity: 5, allocated: 2, waiting: 0, cancelled: 3 });
    expect(lines.get(forever.id)).toMatchObject({ waiting: 2, cancelled: 0 });
    expect(lines.get(shelf.id)).toMatchObject({ allocated: 1, cancelled: 0 });
    const [stored] = await database.db.select().from(orders).where(eq(orders.id, order.id));
    expect(stored.status).toBe("AWAITING_STOCK");

    const [refunds] = await refundsByOrders(database.db, [order.id]);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ reason: "EXPIRED", status: "PENDING", amount: "59.97", currencyCode: "USD" });
    expect(swept.refundIds).toContain(refunds[0].id);
    const [refundLines] = await refundLinesByRefunds(database.db, [refunds[0].id]);
    expect(refundLines.map((l) => [l.orderLineId, l.quantity, l.amount])).toEqual([[lines.get(expiring.id)!.id, 3, "59.97"]]);
    await expectCleanAudit(database.db);
  });

  it("re-dates the backorders behind an expired one: they move up to the supply it released", async () => {
    const p = await newProduct(database.db, { autoCancelAfterDays: 1 });
    const soon = daysFromNow(2);
    const late = daysFromNow(30);
    await scheduleRestock(database.db, { productId: p.id, quantity: 2, expectedAt: soon });
    await scheduleRestock(database.db, { productId: p.id, quantity: 2, expectedAt: late });
    const first = await waitingOrder(database.db, p.id, 2);
    const behind = await waitingOrder(database.db, p.id, 2);
    expect(first.backorder.expectedAt).toEqual(soon);
    expect(behind.backorder).toMatchObject({ expectedAt: late, promisedAt: late });

    const swept = await expireBackorders(database.db, await expiryOf(database.db, first.backorder.id));
    expect(swept.backorderIds).toContain(first.backorder.id);
    expect(swept.backorderIds).not.toContain(behind.backorder.id);
    // Its promise stays what was said at placement; its date is now the first restock's.
    expect(await backorder(database.db, behind.backorder.id)).toMatchObject({ status: "WAITING", expectedAt: soon, promisedAt: late });
  });

  it("writes the events: products' changes with reason BACKORDER_EXPIRED, the order's with kind EXPIRED naming its refund", async () => {
    const { product: p } = await promisingProduct(database.db, 1, daysFromNow(1));
    const { order, backorder: b } = await waitingOrder(database.db, p.id, 1);
    const swept = await expireBackorders(database.db, await expiryOf(database.db, b.id));
    const [[refund]] = await refundsByOrders(database.db, [order.id]);
    expect(swept.refundIds).toContain(refund.id);

    const orderEvents = await database.db.select().from(events).where(eq(events.orderId, order.id)).orderBy(events.id);
    expect(orderEvents.map((e) => (e.payload as { kind: string }).kind)).toEqual(["PLACED", "EXPIRED"]);
    expect(orderEvents[1]).toMatchObject({ type: "ORDER_CHANGED", payload: { kind: "EXPIRED", status: "CANCELLED", refundId: refund.id } });

    const [last] = await database.db
      .select()
      .from(events)
      .where(eq(events.productId, p.id))
      .orderBy(sql`${events.id} DESC`)
      .limit(1);
    const productEvents = await database.db
      .select()
      .from(events)
      .where(and(eq(events.productId, p.id), eq(events.productVersion, last.productVersion!)));
    expect(productEvents.map((e) => [e.type, (e.payload as { reason: string }).reason]).sort()).toEqual([
      ["BACKLOG_CHANGED", "BACKORDER_EXPIRED"],
      ["STOCK_CHANGED", "BACKORDER_EXPIRED"],
    ]);
    expect(productEvents.find((e) => e.type === "BACKLOG_CHANGED")!.payload).toMatchObject({ backordered: 0, waitingOrders: 0 });
  });
});

describe("batches", () => {
  it("expires two products' backorders in one pass: an order with a line of each gets one refund with both lines", async () => {
    const at = daysFromNow(3);
    const a = await promisingProduct(database.db, 2, at, 100, "2.50");
    const b = await promisingProduct(database.db, 2, at, 100, "4.00");
    const { order } = await placeOrder(database.db, {
      customer: "two-products",
      lines: [
        { productId: a.product.id, quantity: 2 },
        { productId: b.product.id, quantity: 3 },
      ],
    });
    const other = await waitingOrder(database.db, b.product.id, 1, "other-order");
    const swept = await expireBackorders(database.db, new Date(at.getTime() + 2 * DAY_MS));
    expect(swept.orderIds).toEqual(expect.arrayContaining([order.id, other.order.id]));
    const [refunds, otherRefunds] = await refundsByOrders(database.db, [order.id, other.order.id]);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ reason: "EXPIRED", amount: "17.00" });
    expect((await refundLinesByRefunds(database.db, [refunds[0].id]))[0]).toHaveLength(2);
    expect(otherRefunds).toMatchObject([{ reason: "EXPIRED", amount: "4.00" }]);
    const [stored] = await database.db.select().from(orders).where(eq(orders.id, order.id));
    expect(stored.status).toBe("CANCELLED");
  });

  it("works through more backorders than a batch holds, pass after pass, and a second run does nothing", async () => {
    const at = daysFromNow(4);
    const { product: p } = await promisingProduct(database.db, 1, at);
    const placed = [];
    for (let i = 0; i < 7; i++) placed.push(await waitingOrder(database.db, p.id, 1, `batch-${i}`));
    const now = new Date(at.getTime() + DAY_MS);
    const swept = await expireBackorders(database.db, now, { batch: 2 });
    expect(swept.backorderIds).toEqual(expect.arrayContaining(placed.map((x) => x.backorder.id)));
    expect(await product(database.db, p.id)).toMatchObject({ backordered: 0, waitingOrders: 0 });
    // One refund per order, however the passes cut them.
    const refunds = await refundsByOrders(
      database.db,
      placed.map((x) => x.order.id),
    );
    expect(refunds.map((r) => r.length)).toEqual(Array(7).fill(1));

    const before = await tableCounts(database.db);
    const again = await expireBackorders(database.db, now, { batch: 2 });
    expect(again).toEqual({ backorderIds: [], orderIds: [], refundIds: [] });
    expect(await tableCounts(database.db)).toEqual(before);
  });

  it("refuses a batch size outside 1 to 10000 before touching anything", async () => {
    await expect(expireBackorders(database.db, new Date(), { batch: 0 })).rejects.toThrow(RangeError);
    await expect(expireBackorders(database.db, new Date(), { batch: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe("keepWaiting refuses", () => {
  it("a cancelled or filled backorder with INVALID_STATE, an unknown or impossible id with NOT_FOUND, changing nothing", async () => {
    const { product: p, restock } = await promisingProduct(database.db, 3, daysFromNow(2), 1);
    const cancelled = await waitingOrder(database.db, p.id, 1);
    await cancelOrder(database.db, cancelled.order.id);
    const filled = await waitingOrder(database.db, p.id, 1);
    await receiveRestock(database.db, restock.id);
    expect(await backorder(database.db, filled.backorder.id)).toMatchObject({ status: "FILLED" });

    const before = await tableCounts(database.db);
    for (const id of [cancelled.backorder.id, filled.backorder.id]) {
      const error = await refusal(keepWaiting(database.db, id));
      expect(error.issues).toEqual([{ code: "INVALID_STATE", message: expect.any(String), field: ["id"] }]);
      expect(await backorder(database.db, id)).toMatchObject({ keepWaiting: false });
    }
    for (const id of [2_000_000_000, -1]) {
      expect((await refusal(keepWaiting(database.db, id))).issues).toMatchObject([{ code: "NOT_FOUND", field: ["id"] }]);
    }
    expect(await tableCounts(database.db)).toEqual(before);
  });
});

describeOnPostgres("races on PostgreSQL", () => {
  let pool: Connection;
  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 12 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  /** `count` orders of one unit each, all expired at the returned instant, and a restock that covers them. */
  async function expiredQueue(count: number) {
    const at = daysFromNow(1);
    const { product: p, restock } = await promisingProduct(pool.db, 1, at, count);
    const placed = [];
    for (let i = 0; i < count; i++) placed.push(await waitingOrder(pool.db, p.id, 1, `race-${i}`));
    return { p, restock, placed, now: new Date(at.getTime() + DAY_MS) };
  }

  /** Each order's units were cancelled once, by one side: one refund at most, and every unit filled or refunded. */
  async function expectEachUnitOnce(orderIds: number[]) {
    const lines = await pool.db
      .select()
      .from(orderLines)
      .where(sql`${orderLines.orderId} = ANY(${intArray(orderIds)})`);
    const refunds = await refundsByOrders(pool.db, orderIds);
    lines.forEach((line) => {
      expect(line.allocated + line.cancelled + line.waiting).toBe(1);
      expect(line.waiting).toBe(0);
    });
    refunds.forEach((list, i) => expect(list.length, `order ${orderIds[i]}`).toBe(lines.find((l) => l.orderId === orderIds[i])!.cancelled));
    await expectCleanAudit(pool.db);
  }

  it("a sweep racing a restock receipt: every unit is filled or expired, never both, and the audit is clean", async () => {
    for (let round = 0; round < 3; round++) {
      const { restock, placed, now } = await expiredQueue(20);
      const [swept, received] = await Promise.all([expireBackorders(pool.db, now, { batch: 7 }), receiveRestock(pool.db, restock.id)]);
      expect(swept.backorderIds.length + received.filledBackorders.length).toBe(20);
      await expectEachUnitOnce(placed.map((x) => x.order.id));
    }
  });

  it("a sweep racing cancels and a second sweep: each order cancelled once, refunded once, CANCELLED or EXPIRED", async () => {
    for (let round = 0; round < 3; round++) {
      const { placed, now } = await expiredQueue(16);
      const settled = await Promise.allSettled([
        expireBackorders(pool.db, now, { batch: 5 }),
        expireBackorders(pool.db, now, { batch: 5 }),
        ...placed.filter((_, i) => i % 2 === 0).map((x) => cancelOrder(pool.db, x.order.id)),
      ]);
      const [first, second] = settled.slice(0, 2).map((r) => {
        if (r.status !== "fulfilled") throw r.reason;
        return r.value as Awaited<ReturnType<typeof expireBackorders>>;
      });
      const cancels = settled.slice(2);
      for (const r of cancels) if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("INVALID_STATE");
      const expired = [...first.backorderIds, ...second.backorderIds];
      expect(new Set(expired).size, "no backorder expired twice").toBe(expired.length);
      const cancelledByHand = cancels.filter((r) => r.status === "fulfilled").length;
      expect(expired.length + cancelledByHand).toBe(16);
      const refunds = (
        await refundsByOrders(
          pool.db,
          placed.map((x) => x.order.id),
        )
      ).flat();
      expect(refunds).toHaveLength(16);
      expect(refunds.filter((r) => r.reason === "EXPIRED")).toHaveLength(expired.length);
      await expectEachUnitOnce(placed.map((x) => x.order.id));
    }
  });

  it("keepWaiting racing a sweep: either it is kept and waits, or it expired and keepWaiting is INVALID_STATE", async () => {
    const { placed, now } = await expiredQueue(12);
    const settled = await Promise.allSettled([expireBackorders(pool.db, now, { batch: 3 }), ...placed.map((x) => keepWaiting(pool.db, x.backorder.id))]);
    for (const [i, x] of placed.entries()) {
      const kept = settled[i + 1];
      const row = await backorder(pool.db, x.backorder.id);
      if (kept.status === "fulfilled") expect(row).toMatchObject({ status: "WAITING", keepWaiting: true });
      else {
        expect((kept.reason as { code?: string }).code).toBe("INVALID_STATE");
        expect(row).toMatchObject({ status: "CANCELLED", keepWaiting: false });
      }
    }
    await expectCleanAudit(pool.db);
  });
});

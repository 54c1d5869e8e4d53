/** The backlog: FIFO fills from restocks, priorities, expected dates and lateness (docs/ARCHITECTURE.md, "The rules" and "Expected dates"). */
import { describe, expect, it } from "vitest";
import { eq, inArray, sql } from "drizzle-orm";
import { rows, schema } from "../../drizzle/db.js";
import { fillBacklog, prioritizeBackorder } from "../../server/services/backlog.service.js";
import { markOverdueBackorders } from "../../server/services/eta.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { updateProduct } from "../../server/services/product.service.js";
import { cancelRestock, receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { DomainError } from "../../server/services/types.js";
import { backorderOfOrder, daysFromNow, newProduct, stockOf, waitingQueue } from "../support/catalogue.js";
import { rolledBack, useFreshDatabase } from "../support/database.js";

const database = useFreshDatabase();

async function orderUnits(productId: number, ...quantities: number[]) {
  const ids = [];
  for (const [i, quantity] of quantities.entries()) {
    const { order } = await placeOrder(database.db, { customer: `c${i}`, lines: [{ productId, quantity }] });
    ids.push(order.id);
  }
  return ids;
}

describe("filling the backlog", () => {
  it("fills some backorders and part of the next from one restock, first come first served", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const [a, b, c] = await orderUnits(product.id, 2, 3, 4);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(2) });
    const { filledBackorders, restock: received } = await receiveRestock(db, restock.id);
    expect(received).toMatchObject({ status: "RECEIVED", receivedQuantity: 6 });
    expect(filledBackorders.map((f) => [f.orderId, f.remaining, f.status])).toEqual([
      [a, 0, "FILLED"],
      [b, 0, "FILLED"],
      [c, 3, "WAITING"],
    ]);
    expect(await stockOf(db, product.id)).toEqual({ onHand: 6, allocated: 6, backordered: 3 });
    const statuses = await Promise.all([a, b, c].map(async (id) => (await db.select().from(schema.orders).where(eq(schema.orders.id, id)))[0].status));
    expect(statuses).toEqual(["READY_TO_SHIP", "READY_TO_SHIP", "AWAITING_STOCK"]);
  });

  it("fills in queue order across partial receipts and priorities", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const [a, b, c] = await orderUnits(product.id, 2, 2, 2);
    await prioritizeBackorder(db, (await backorderOfOrder(db, c)).id, 5);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(1) });
    const first = await receiveRestock(db, restock.id, 3);
    expect(first.restock).toMatchObject({ status: "PARTIALLY_RECEIVED", receivedQuantity: 3 });
    expect(first.filledBackorders.map((f) => [f.orderId, f.remaining])).toEqual([
      [c, 0],
      [a, 1],
    ]);
    expect(first.fills.map((f) => [f.backorder.orderId, f.filledUnits])).toEqual([
      [c, 2],
      [a, 1],
    ]);
    const second = await receiveRestock(db, restock.id, 2);
    expect(second.restock).toMatchObject({ status: "PARTIALLY_RECEIVED", receivedQuantity: 5 });
    expect(second.filledBackorders.map((f) => [f.orderId, f.remaining])).toEqual([
      [a, 0],
      [b, 1],
    ]);
    expect(second.fills.map((f) => [f.backorder.orderId, f.filledUnits])).toEqual([
      [a, 1],
      [b, 1],
    ]);
    expect((await waitingQueue(db, product.id)).map((q) => q.orderId)).toEqual([b]);
    const tooMany = await receiveRestock(db, restock.id, 2).catch((e: DomainError) => e);
    expect((tooMany as DomainError).code).toBe("INVALID_INPUT");
  });

  it("fills the same backorders with the same units when a large fill runs in several statements", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await orderUnits(product.id, 2, 1, 3, 1, 2, 2, 1);
    await prioritizeBackorder(db, (await waitingQueue(db, product.id)).at(-1)!.id, 3);
    // 9 free units: the prioritized one and four more, and part of the sixth. Each fill is tried in a transaction
    // that is rolled back, so both start from the same queue.
    const fillWith = (chunk?: number) =>
      rolledBack(db, async (tx) => {
        await tx.execute(sql`UPDATE stock_levels SET on_hand = on_hand + 9 WHERE product_id = ${product.id}`);
        const result = await fillBacklog(tx, product.id, chunk);
        const left = await rows(tx, sql`SELECT id, remaining, status FROM backorders WHERE product_id = ${product.id} ORDER BY id`);
        return { result, left };
      });
    const whole = await fillWith();
    expect(whole.result.units).toBe(9);
    expect(whole.result.backorderIds).toHaveLength(6);
    for (const chunk of [1, 2, 3, 6, 7]) expect(await fillWith(chunk), `chunks of ${chunk}`).toEqual(whole);
  });

  it("returns each filled backorder's row as the fill left it, whatever the statements' size", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await orderUnits(product.id, 2, 1, 3, 1, 2, 2, 1);
    await prioritizeBackorder(db, (await waitingQueue(db, product.id)).at(-1)!.id, 3);
    for (const chunk of [undefined, 1, 2, 3, 6, 7]) {
      const { filled, stored } = await rolledBack(db, async (tx) => {
        await tx.execute(sql`UPDATE stock_levels SET on_hand = on_hand + 9 WHERE product_id = ${product.id}`);
        const result = await fillBacklog(tx, product.id, chunk, { records: true });
        const found = await tx.select().from(schema.backorders).where(inArray(schema.backorders.id, result.backorderIds));
        return { filled: result.backorders, stored: result.backorderIds.map((id) => found.find((row) => row.id === id)) };
      });
      expect(filled, `chunks of ${chunk}`).toHaveLength(6);
      expect(filled, `chunks of ${chunk}`).toEqual(stored);
    }
  });

  it("answers a receipt with the filled backorders as they are after it, the one still waiting re-dated", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const soon = daysFromNow(2);
    const later = daysFromNow(5);
    const [a, b, c] = await orderUnits(product.id, 2, 3, 4);
    await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: soon });
    const second = await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: later });
    expect((await backorderOfOrder(db, c)).expectedAt).toEqual(later);
    // The later restock arrives first: c keeps 3 units waiting, now covered by the sooner one.
    const { filledBackorders, fills } = await receiveRestock(db, second.id);
    const stored = await db.select().from(schema.backorders).where(eq(schema.backorders.productId, product.id)).orderBy(schema.backorders.id);
    expect(filledBackorders.map((f) => f.orderId)).toEqual([a, b, c]);
    expect(filledBackorders.at(-1)).toMatchObject({ remaining: 3, status: "WAITING", expectedAt: soon });
    expect(filledBackorders).toEqual(stored);
    expect(fills.map((f) => [f.backorder, f.filledUnits])).toEqual([
      [stored[0], 2],
      [stored[1], 3],
      [stored[2], 1],
    ]);
  });

  it("appends one BACKORDER_FILLED event per filled order, carrying the status the fill gave it", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const [a, b, c] = await orderUnits(product.id, 2, 3, 4);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(2) });
    const [{ last }] = await rows<{ last: number }>(db, sql`SELECT coalesce(max(id), 0)::int AS last FROM events`);
    await receiveRestock(db, restock.id);
    const events = await rows<{ order_id: number; kind: string; status: string }>(
      db,
      sql`SELECT order_id, payload->>'kind' AS kind, payload->>'status' AS status FROM events
          WHERE id > ${last} AND type = 'ORDER_CHANGED' ORDER BY id`,
    );
    expect(events.map((e) => [Number(e.order_id), e.kind, e.status])).toEqual([
      [a, "BACKORDER_FILLED", "READY_TO_SHIP"],
      [b, "BACKORDER_FILLED", "READY_TO_SHIP"],
      [c, "BACKORDER_FILLED", "AWAITING_STOCK"],
    ]);
  });

  it("refuses to receive a cancelled or fully received restock", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(1) });
    await cancelRestock(db, restock.id);
    const error = await receiveRestock(db, restock.id).catch((e: DomainError) => e);
    expect((error as DomainError).code).toBe("INVALID_STATE");
  });
});

describe("expected dates", () => {
  it("dates backorders against two restocks by running totals", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const soon = daysFromNow(3);
    const later = daysFromNow(10);
    await scheduleRestock(db, { productId: product.id, quantity: 4, expectedAt: later });
    await scheduleRestock(db, { productId: product.id, quantity: 3, expectedAt: soon });
    const [a, b, c, d] = await orderUnits(product.id, 2, 1, 3, 5);
    const dates = await Promise.all([a, b, c, d].map((id) => backorderOfOrder(db, id)));
    // Running totals 2, 3, 6, 11 against supply 3 (soon) and 7 (later).
    expect(dates.map((x) => x.expectedAt?.toISOString() ?? null)).toEqual([soon.toISOString(), soon.toISOString(), later.toISOString(), null]);
    expect(dates.map((x) => x.etaSource)).toEqual(["RESTOCK", "RESTOCK", "RESTOCK", "UNKNOWN"]);
    expect(dates.map((x) => x.promisedAt?.toISOString() ?? null)).toEqual([soon.toISOString(), soon.toISOString(), later.toISOString(), null]);
  });

  it("falls back to the lead time beyond scheduled supply", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 14 });
    const restockAt = daysFromNow(2);
    await scheduleRestock(db, { productId: product.id, quantity: 1, expectedAt: restockAt });
    const [covered, beyond] = await orderUnits(product.id, 1, 1);
    expect(await backorderOfOrder(db, covered)).toMatchObject({ etaSource: "RESTOCK", expectedAt: restockAt });
    const fallback = await backorderOfOrder(db, beyond);
    expect(fallback.etaSource).toBe("LEAD_TIME");
    expect(fallback.expectedAt!.getTime() - fallback.createdAt.getTime()).toBe(14 * 86_400_000);
    // The first date given is the one promised.
    expect(fallback.promisedAt).toEqual(fallback.expectedAt);
  });

  it("re-dates the backlog when the lead time changes", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const [id] = await orderUnits(product.id, 1);
    expect((await backorderOfOrder(db, id)).etaSource).toBe("UNKNOWN");
    await updateProduct(db, product.id, { leadTimeDays: 7 });
    const redated = await backorderOfOrder(db, id);
    expect(redated.etaSource).toBe("LEAD_TIME");
    expect(redated.expectedAt!.getTime() - redated.createdAt.getTime()).toBe(7 * 86_400_000);
  });

  it("marks backorders delayed and writes DELAYED events when a restock is rescheduled later", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(2) });
    const [id] = await orderUnits(product.id, 2);
    expect((await backorderOfOrder(db, id)).delayed).toBe(false);
    await rescheduleRestock(db, restock.id, daysFromNow(9));
    const late = await backorderOfOrder(db, id);
    expect(late.delayed).toBe(true);
    expect(late.promisedAt!.getTime()).toBeLessThan(late.expectedAt!.getTime());
    const events = await rows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM events WHERE type = 'ORDER_CHANGED' AND order_id = ${id} AND payload->>'kind' = 'DELAYED'`,
    );
    expect(Number(events[0].n)).toBe(1);
    // Moving the restock back in time, even before the promise, makes the promise good again; the promise stays.
    const sooner = daysFromNow(1);
    await rescheduleRestock(db, restock.id, sooner);
    expect(await backorderOfOrder(db, id)).toMatchObject({ delayed: false, expectedAt: sooner, promisedAt: late.promisedAt });
  });

  it("makes a promise unknown and late when its restock is cancelled", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(2) });
    const [id] = await orderUnits(product.id, 1);
    await cancelRestock(db, restock.id);
    const late = await backorderOfOrder(db, id);
    expect(late).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, delayed: true });
  });

  it("marks backorders whose promised date has passed", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(2) });
    const [id] = await orderUnits(product.id, 1);
    expect(await markOverdueBackorders(db, daysFromNow(1))).not.toContain(id);
    expect(await markOverdueBackorders(db, daysFromNow(3))).toContain(id);
    expect((await backorderOfOrder(db, id)).delayed).toBe(true);
    // Once marked, a later sweep does not announce it again.
    expect(await markOverdueBackorders(db, daysFromNow(4))).not.toContain(id);
  });

  it("re-dates a deep backlog in one statement per product", async () => {
    const { db } = database;
    const product = await newProduct(db);
    // 300 single-unit orders, then a restock covering the first 150.
    for (let i = 0; i < 300; i++) await placeOrder(db, { customer: `bulk${i}`, lines: [{ productId: product.id, quantity: 1 }] });
    const at = daysFromNow(4);
    await scheduleRestock(db, { productId: product.id, quantity: 150, expectedAt: at });
    const queue = await waitingQueue(db, product.id);
    expect(queue.slice(0, 150).every((b) => b.expectedAt?.getTime() === at.getTime())).toBe(true);
    expect(queue.slice(150).every((b) => b.etaSource === "UNKNOWN")).toBe(true);
  });
});

/** After an order is placed, over real HTTP: cancelling orders and lines, shipping, and prioritizing backorders. */
import { describe, expect, it } from "vitest";
import { daysFromNow } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import {
  ADJUST_STOCK,
  CANCEL_ORDER,
  CANCEL_ORDER_LINE,
  CANCEL_RESTOCK,
  expectRefusal,
  mutationClient,
  PRIORITIZE_BACKORDER,
  RECEIVE_RESTOCK,
  RESCHEDULE_RESTOCK,
  SHIP_ORDER,
} from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { mutation, ok, createProduct, placeOne, scheduleRestock, readOrder, readProduct, readBackorder, databaseState } = mutationClient(database, server);

describe("cancelling, shipping and prioritizing", () => {
  // Which waiting backorder released units go to (the oldest) is proved in test/services/orders.test.ts.
  it("answers cancelOrder with the cancelled order and its reason; a backorder its units filled shows FILLED, out of the queue", async () => {
    const product = await createProduct({ initialStock: 1 });
    const holder = (await placeOne(product.id, 1)).order;
    const waiting = (await placeOne(product.id, 1)).order;
    const { order: cancelled } = await ok(CANCEL_ORDER, { id: holder.id, reason: "changed my mind" });
    expect(cancelled).toMatchObject({ status: "CANCELLED", cancelReason: "changed my mind", lines: [{ allocated: 0, cancelled: 1, backordered: 0 }] });
    expect(await readOrder(waiting.id)).toMatchObject({
      status: "READY_TO_SHIP",
      lines: [{ allocated: 1, backordered: 0, backorder: { status: "FILLED", remaining: 0, position: null } }],
    });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 1, allocated: 1, backordered: 0 });
  });

  it("cancels an order's waiting units out of the queue, moving those behind it up", async () => {
    const product = await createProduct();
    const ahead = (await placeOne(product.id, 3)).order;
    const behind = (await placeOne(product.id, 1)).order;
    const { order } = await ok(CANCEL_ORDER, { id: ahead.id });
    expect(order.lines[0]).toMatchObject({ cancelled: 3, backordered: 0, backorder: { status: "CANCELLED", remaining: 0, position: null } });
    expect((await readOrder(behind.id)).lines[0].backorder).toMatchObject({ position: 1, unitsAhead: 0 });
    expect((await readProduct(product.id)).stock.backordered).toBe(1);
  });

  // Waiting units go first, and released ones to the next waiting backorder: test/services/orders.test.ts.
  it("answers cancelOrderLine with the whole order: the line's counts, and its backorder CANCELLED once no unit waits", async () => {
    const product = await createProduct({ initialStock: 3 });
    const big = (await placeOne(product.id, 5)).order;
    const { order } = await ok(CANCEL_ORDER_LINE, { id: big.lines[0].id, quantity: 3 });
    expect(order).toMatchObject({
      id: big.id,
      status: "READY_TO_SHIP",
      lines: [{ quantity: 5, allocated: 2, backordered: 0, cancelled: 3, backorder: { status: "CANCELLED" } }],
    });
  });

  it("cancels every open unit of a line when no quantity is given", async () => {
    const product = await createProduct({ initialStock: 1 });
    const { order: placed } = await placeOne(product.id, 3);
    const { order } = await ok(CANCEL_ORDER_LINE, { id: placed.lines[0].id });
    expect(order).toMatchObject({ status: "CANCELLED", lines: [{ allocated: 0, backordered: 0, cancelled: 3 }] });
  });

  it("ships the allocated units (PARTIALLY_SHIPPED), then the filled rest (SHIPPED)", async () => {
    const product = await createProduct({ initialStock: 3 });
    const { order: placed } = await placeOne(product.id, 5);
    const { order: part } = await ok(SHIP_ORDER, { id: placed.id });
    expect(part).toMatchObject({ status: "PARTIALLY_SHIPPED", lines: [{ shipped: 3, allocated: 0, backordered: 2 }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 0, allocated: 0, backordered: 2 });
    // A count that finds two units fills the waiting rest.
    await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 2, reason: "found in returns" } });
    expect((await readOrder(placed.id)).lines[0]).toMatchObject({ allocated: 2, backordered: 0 });
    const { order: done } = await ok(SHIP_ORDER, { id: placed.id });
    expect(done).toMatchObject({ status: "SHIPPED", lines: [{ shipped: 5, allocated: 0, backordered: 0 }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 0, allocated: 0, backordered: 0 });
  });

  it("refuses to ship an order with nothing allocated as INVALID_STATE and changes nothing", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 2);
    const before = await databaseState();
    expectRefusal(await mutation(SHIP_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to receive a cancelled restock as INVALID_STATE and changes nothing", async () => {
    const product = await createProduct();
    await placeOne(product.id, 1);
    const restock = await scheduleRestock(product.id, 4, daysFromNow(2));
    await ok(CANCEL_RESTOCK, { id: restock.id });
    const before = await databaseState();
    expectRefusal(await mutation(RECEIVE_RESTOCK, { id: restock.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to cancel an order twice as INVALID_STATE", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    await ok(CANCEL_ORDER, { id: order.id });
    const before = await databaseState();
    expectRefusal(await mutation(CANCEL_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to cancel a shipped order, or reschedule a received restock, as INVALID_STATE", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 1, daysFromNow(2));
    const { order } = await placeOne(product.id, 1);
    await ok(RECEIVE_RESTOCK, { id: restock.id });
    await ok(SHIP_ORDER, { id: order.id });
    const before = await databaseState();
    expectRefusal(await mutation(CANCEL_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(CANCEL_ORDER_LINE, { id: order.lines[0].id }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: daysFromNow(9).toISOString() }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(CANCEL_RESTOCK, { id: restock.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("moves a prioritized backorder to the head of its queue, the others behind it in placement order", async () => {
    const product = await createProduct();
    const placed = [];
    for (const quantity of [1, 2, 3]) placed.push((await placeOne(product.id, quantity)).order.lines[0].backorder);
    expect(placed.map((b) => b.position)).toEqual([1, 2, 3]);
    const { backorder } = await ok(PRIORITIZE_BACKORDER, { id: placed[2].id, priority: 5 });
    expect(backorder).toMatchObject({ id: placed[2].id, priority: 5, position: 1, unitsAhead: 0 });
    const [first, second] = await Promise.all([readBackorder(placed[0].id), readBackorder(placed[1].id)]);
    expect([first.position, first.unitsAhead, second.position, second.unitsAhead]).toEqual([2, 3, 3, 4]);
  });

  it("refuses to prioritize a filled backorder as INVALID_STATE", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 1, reason: "found" } });
    const before = await databaseState();
    expectRefusal(await mutation(PRIORITIZE_BACKORDER, { id: order.lines[0].backorder.id, priority: 3 }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });
});

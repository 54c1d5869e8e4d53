/** Restocks over real HTTP: the payloads of scheduling, rescheduling, receiving and cancelling, and what orders and stock then show. */
import { describe, expect, it } from "vitest";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { CANCEL_RESTOCK, CREATE_LOCATION, mutationClient, RECEIVE_RESTOCK, RESCHEDULE_RESTOCK, SCHEDULE_RESTOCK } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { mutation, ok, createProduct, placeOne, scheduleRestock, readOrder, readProduct } = mutationClient(database, server);

describe("restocks", () => {
  it("schedules a restock that shows as incoming and as the next restock date", async () => {
    const product = await createProduct();
    const expectedAt = daysFromNow(6).toISOString();
    const restock = await scheduleRestock(product.id, 8, new Date(expectedAt), { reference: "PO-77" });
    expect(restock).toMatchObject({
      quantity: 8,
      receivedQuantity: 0,
      expectedAt,
      status: "SCHEDULED",
      reference: "PO-77",
      receivedAt: null,
      product: { id: product.id },
    });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 8, projected: 8, nextRestockAt: expectedAt });
  });

  it("reads an expected date with any ISO-8601 offset, and a bare date as midnight UTC", async () => {
    const product = await createProduct();
    const given = {
      "2031-03-01T10:00:00Z": "2031-03-01T10:00:00.000Z",
      "2031-03-01T10:00:00.250+05:30": "2031-03-01T04:30:00.250Z",
      "2031-03-01T10:00:00-0700": "2031-03-01T17:00:00.000Z",
      "2031-03-01T10:00:00+05": "2031-03-01T05:00:00.000Z",
      "2031-03-01": "2031-03-01T00:00:00.000Z",
    };
    for (const [text, instant] of Object.entries(given)) {
      const payload = await mutation(SCHEDULE_RESTOCK, { input: { productId: product.id, quantity: 1, expectedAt: text } });
      expect([text, payload.userErrors, payload.restock?.expectedAt]).toEqual([text, [], instant]);
    }
  });

  // Which backorders a receipt fills, and in what order, is proved in test/services/backlog.test.ts.
  it("answers a partial receipt with the restock's received quantity and each backorder it filled, whole or in part", async () => {
    const product = await createProduct();
    const orders = [];
    for (const quantity of [2, 3]) orders.push((await placeOne(product.id, quantity)).order);
    const restock = await scheduleRestock(product.id, 7, daysFromNow(3));
    const received = await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 4 });
    expect(received.restock).toMatchObject({
      id: restock.id,
      status: "PARTIALLY_RECEIVED",
      quantity: 7,
      receivedQuantity: 4,
      receivedAt: expect.any(String),
    });
    expect(
      received.filledBackorders.map((b: { order: { id: string }; status: string; remaining: number }) => [b.order.id, b.status, b.remaining]),
    ).toEqual([
      [orders[0].id, "FILLED", 0],
      [orders[1].id, "WAITING", 1],
    ]);
    expect(received.filledBackorders.map((b: { filledAt: string | null }) => b.filledAt)).toEqual([expect.any(String), null]);
    const partly = await readOrder(orders[1].id);
    expect(partly).toMatchObject({ status: "AWAITING_STOCK", lines: [{ allocated: 2, backordered: 1, backorder: { position: 1, unitsAhead: 0 } }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 4, allocated: 4, backordered: 1, incoming: 3 });
  });

  it("lists with each filled backorder the units this receipt gave it, not what it ordered", async () => {
    const product = await createProduct();
    for (const quantity of [2, 25]) await placeOne(product.id, quantity);
    const restock = await scheduleRestock(product.id, 40, daysFromNow(3));
    const received = await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 25 });
    const ids = received.filledBackorders.map((b: { id: string }) => b.id);
    expect(received.filledBackorders.map((b: { quantity: number }) => b.quantity)).toEqual([2, 25]);
    expect(received.fills).toEqual([
      { backorder: { id: ids[0] }, filledUnits: 2 },
      { backorder: { id: ids[1] }, filledUnits: 23 },
    ]);
    // The next receipt gives the second one its last 2 units.
    const rest = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(rest.fills).toEqual([{ backorder: { id: ids[1] }, filledUnits: 2 }]);
    expect(rest.restock).toMatchObject({ status: "RECEIVED", receivedQuantity: 40 });
  });

  it("keeps a partly received restock open: incoming, dating the backlog, and open to reschedule and cancel", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 5, daysFromNow(3));
    await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 2 });
    const { order } = await placeOne(product.id, 4);
    // 2 units on hand go to the order; its other 2 wait for the 3 still expected.
    expect(order.lines[0]).toMatchObject({ allocated: 2, backordered: 2, backorder: { etaSource: "RESTOCK", expectedAt: restock.expectedAt } });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 3, nextRestockAt: restock.expectedAt });
    const later = daysFromNow(5).toISOString();
    const { restock: moved } = await ok(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: later });
    expect(moved).toMatchObject({ status: "PARTIALLY_RECEIVED", expectedAt: later });
    const { restock: cancelled } = await ok(CANCEL_RESTOCK, { id: restock.id });
    expect(cancelled).toMatchObject({ status: "CANCELLED", receivedQuantity: 2 });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 2, incoming: 0, nextRestockAt: null });
  });

  it("refuses to schedule or reschedule a restock in the past with INVALID_INPUT and changes nothing", async () => {
    const product = await createProduct();
    const past = new Date(Date.now() - 5 * 60_000).toISOString();
    const scheduled = await mutation(SCHEDULE_RESTOCK, { input: { productId: product.id, quantity: 3, expectedAt: past } });
    expect(scheduled).toMatchObject({ restock: null, userErrors: [{ code: "INVALID_INPUT", field: ["input", "expectedAt"] }] });
    const restock = await scheduleRestock(product.id, 3, daysFromNow(2));
    const moved = await mutation(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: past });
    expect(moved).toMatchObject({ restock: null, userErrors: [{ code: "INVALID_INPUT", field: ["expectedAt"] }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 3, nextRestockAt: restock.expectedAt });
  });

  it("receives the rest of a restock without a quantity, completing it and filling on in queue order", async () => {
    const product = await createProduct();
    const first = (await placeOne(product.id, 2)).order;
    const second = (await placeOne(product.id, 5)).order;
    const restock = await scheduleRestock(product.id, 6, daysFromNow(3));
    await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 1 });
    const rest = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(rest.restock).toMatchObject({ status: "RECEIVED", receivedQuantity: 6 });
    expect(rest.filledBackorders.map((b: { order: { id: string }; status: string; remaining: number }) => [b.order.id, b.status, b.remaining])).toEqual([
      [first.id, "FILLED", 0],
      [second.id, "WAITING", 1],
    ]);
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 6, allocated: 6, backordered: 1, incoming: 0 });
  });

  it("receives a restock at another location and fills the backlog from there", async () => {
    const product = await createProduct();
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("DOCK"), name: "Dock", priority: 50 } });
    const { order } = await placeOne(product.id, 2);
    const restock = await scheduleRestock(product.id, 3, daysFromNow(1), { locationId: location.id });
    expect(restock.location).toEqual({ id: location.id, code: location.code });
    const received = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(received.filledBackorders.map((b: { order: { id: string } }) => b.order.id)).toEqual([order.id]);
    const level = (await readProduct(product.id)).stockLevels.find((each: { location: { code: string } }) => each.location.code === location.code);
    expect(level).toMatchObject({ onHand: 3, allocated: 2, available: 1 });
  });

  // When a backorder is late, and that moving a restock earlier makes it good again: test/services/backlog.test.ts.
  it("answers rescheduleRestock with the moved restock; an order it dated shows the new date, its promise and delayed", async () => {
    const product = await createProduct();
    const promised = daysFromNow(3).toISOString();
    const restock = await scheduleRestock(product.id, 5, new Date(promised));
    const { order } = await placeOne(product.id, 2);
    expect(order).toMatchObject({ delayed: false, promisedAt: promised });
    const later = daysFromNow(12).toISOString();
    const { restock: moved } = await ok(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: later });
    expect(moved).toMatchObject({ id: restock.id, expectedAt: later, status: "SCHEDULED" });
    const after = await readOrder(order.id);
    expect(after).toMatchObject({ delayed: true, promisedAt: promised, expectedAt: later });
    expect(after.lines[0].backorder).toMatchObject({ delayed: true, promisedAt: promised, expectedAt: later, etaSource: "RESTOCK" });
  });

  it("cancels a restock: no longer incoming, and the backorders it dated lose their date and are delayed", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 5, daysFromNow(3));
    const { order } = await placeOne(product.id, 2);
    const { restock: cancelled } = await ok(CANCEL_RESTOCK, { id: restock.id });
    expect(cancelled).toMatchObject({ id: restock.id, status: "CANCELLED", receivedQuantity: 0 });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 0, nextRestockAt: null, backordered: 2 });
    const after = await readOrder(order.id);
    expect(after.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, delayed: true, promisedAt: order.promisedAt });
    expect(after.delayed).toBe(true);
  });
});

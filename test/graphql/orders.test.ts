/** placeOrder over real HTTP: allocation, backorders, limits, partial orders and idempotency, each refusal a coded userError that changes nothing. */
import { describe, expect, it } from "vitest";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import {
  ADJUST_STOCK,
  CREATE_LOCATION,
  expectRefusal,
  mutationClient,
  PLACE_ORDER,
  type UserError,
} from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { data } = server;
const { mutation, ok, createProduct, placeOne, scheduleRestock, readProduct, databaseState } = mutationClient(database, server);

describe("placing orders", () => {
  it("allocates what is on the shelf and backorders the rest, dated by the scheduled restock", async () => {
    const product = await createProduct({ initialStock: 3, leadTimeDays: 10 });
    const expectedAt = daysFromNow(5).toISOString();
    await scheduleRestock(product.id, 4, new Date(expectedAt));
    const { order, replayed, userErrors } = await placeOne(product.id, 5, { customer: "alice" });
    expect([replayed, userErrors]).toEqual([false, []]);
    expect(order).toMatchObject({ customer: "alice", status: "AWAITING_STOCK", delayed: false, promisedAt: expectedAt, expectedAt });
    expect(order.total).toEqual({ amount: "50.00", currencyCode: "USD" });
    expect(order.number).toMatch(/\S/);
    const [line] = order.lines;
    expect(line).toMatchObject({ quantity: 5, allocated: 3, backordered: 2, shipped: 0, cancelled: 0, product: { id: product.id } });
    expect(line.backorder).toMatchObject({
      quantity: 2,
      remaining: 2,
      status: "WAITING",
      priority: 0,
      position: 1,
      unitsAhead: 0,
      expectedAt,
      etaSource: "RESTOCK",
      promisedAt: expectedAt,
      delayed: false,
      filledAt: null,
      order: { id: order.id },
      orderLine: { id: line.id },
    });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 3, allocated: 3, available: 0, backordered: 2, incoming: 4, projected: 2 });
  });

  it("queues a later order behind the first and dates it by lead time beyond scheduled supply", async () => {
    const product = await createProduct({ leadTimeDays: 10 });
    const expectedAt = daysFromNow(4).toISOString();
    await scheduleRestock(product.id, 3, new Date(expectedAt));
    const first = (await placeOne(product.id, 2)).order.lines[0].backorder;
    const second = (await placeOne(product.id, 3)).order.lines[0].backorder;
    expect(first).toMatchObject({ position: 1, unitsAhead: 0, etaSource: "RESTOCK", expectedAt });
    // 2 + 3 waiting units outrun the 3 incoming: the second falls back to its lead time.
    expect(second).toMatchObject({ position: 2, unitsAhead: 2, etaSource: "LEAD_TIME" });
    const leadTimeAt = Date.parse(second.createdAt) + 10 * 86_400_000;
    expect(Math.abs(Date.parse(second.expectedAt) - leadTimeAt)).toBeLessThanOrEqual(3_600_000);
    expect(second.promisedAt).toBe(second.expectedAt);
  });

  it("leaves a backorder with neither restock nor lead time UNKNOWN, with no date", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    expect(order.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, promisedAt: null, delayed: false });
    expect(order).toMatchObject({ expectedAt: null, promisedAt: null, delayed: false });
  });

  it("splits a line across locations in priority order when the first cannot cover it", async () => {
    const product = await createProduct({ initialStock: 2 });
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("SPLIT"), name: "Second store", priority: 40 } });
    await ok(ADJUST_STOCK, { input: { productId: product.id, locationId: location.id, delta: 5, reason: "opening count" } });
    const { order } = await ok(PLACE_ORDER, { input: { customer: "split", lines: [{ productId: product.id, quantity: 4 }] } });
    expect(order.lines[0]).toMatchObject({ allocated: 4, backordered: 0 });
    const levels = (await readProduct(product.id)).stockLevels;
    const byCode = Object.fromEntries(levels.map((level: { location: { code: string }; allocated: number }) => [level.location.code, level.allocated]));
    const { locations } = await data(`{ locations { code } }`);
    expect(byCode).toEqual({ [locations[0].code]: 2, [location.code]: 2 });
  });

  it("refuses an order mixing currencies with INVALID_INPUT and changes nothing", async () => {
    const dollars = await createProduct({ initialStock: 1 });
    const euros = await createProduct({ initialStock: 1, currencyCode: "EUR" });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "mixed-money", lines: [{ productId: dollars.id, quantity: 1 }, { productId: euros.id, quantity: 1 }] },
    });
    expectRefusal(payload, "INVALID_INPUT", ["input", "lines"]);
    expect(await databaseState()).toEqual(before);
  });

  it("takes a line named by SKU and sums the total over lines", async () => {
    const kettle = await createProduct({ initialStock: 5, price: "3.25" });
    const mug = await createProduct({ initialStock: 5, price: "1.10" });
    const { order } = await ok(PLACE_ORDER, {
      input: { customer: "sku-buyer", lines: [{ sku: kettle.sku, quantity: 2 }, { productId: mug.id, quantity: 3 }] },
    });
    expect(order.status).toBe("READY_TO_SHIP");
    expect(order.total.amount).toBe("9.80");
    expect(order.lines.map((line: { product: { sku: string }; allocated: number }) => [line.product.sku, line.allocated])).toEqual([
      [kettle.sku, 2],
      [mug.sku, 3],
    ]);
  });

  it("replays a repeated idempotency key with the same order and replayed: true, placing nothing more", async () => {
    const product = await createProduct({ initialStock: 10 });
    const input = { customer: "retry", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey: uniqueSku("KEY") };
    const first = await ok(PLACE_ORDER, { input });
    expect(first.replayed).toBe(false);
    const before = await databaseState();
    const again = await ok(PLACE_ORDER, { input });
    expect(again.replayed).toBe(true);
    expect(again.order.id).toBe(first.order.id);
    expect(again.order.number).toBe(first.order.number);
    expect(await databaseState()).toEqual(before);
    expect((await readProduct(product.id)).stock.allocated).toBe(2);
  });

  it("replays a cut order's userErrors with it", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 1 });
    const input = { customer: "retry-cut", lines: [{ productId: denied.id, quantity: 3 }], idempotencyKey: uniqueSku("KEY") };
    const first = await mutation(PLACE_ORDER, { input });
    const again = await mutation(PLACE_ORDER, { input });
    expect(first.userErrors.map((error: UserError) => error.code)).toEqual(["OUT_OF_STOCK"]);
    expect([again.replayed, again.order.id, again.userErrors]).toEqual([true, first.order.id, first.userErrors]);
  });

  it("refuses an idempotency key reused for another order with IDEMPOTENCY_KEY_REUSED and changes nothing", async () => {
    const product = await createProduct({ initialStock: 10 });
    const idempotencyKey = uniqueSku("KEY");
    await ok(PLACE_ORDER, { input: { customer: "retry", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey } });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, { input: { customer: "retry", lines: [{ productId: product.id, quantity: 3 }], idempotencyKey } });
    expectRefusal(payload, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"]);
    expect(payload.replayed).toBe(false);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a whole order with OUT_OF_STOCK when a DENY line is short and allowPartial is false, changing no stock", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 2 });
    const allowed = await createProduct({ initialStock: 5 });
    const stockBefore = [await readProduct(denied.id), await readProduct(allowed.id)];
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "strict", allowPartial: false, lines: [{ productId: allowed.id, quantity: 1 }, { productId: denied.id, quantity: 3 }] },
    });
    expectRefusal(payload, "OUT_OF_STOCK", ["input", "lines", "1", "quantity"]);
    expect([await readProduct(denied.id), await readProduct(allowed.id)]).toEqual(stockBefore);
    expect(await databaseState()).toEqual(before);
  });

  it("cuts a short DENY line to what is available with allowPartial, returning the order and the OUT_OF_STOCK error", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 2 });
    const payload = await mutation(PLACE_ORDER, { input: { customer: "lenient", lines: [{ productId: denied.id, quantity: 5 }] } });
    expect(payload.userErrors).toEqual([{ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    expect(payload.order).toMatchObject({ status: "READY_TO_SHIP", lines: [{ quantity: 2, allocated: 2, backordered: 0, backorder: null }] });
    expect((await readProduct(denied.id)).stock).toMatchObject({ onHand: 2, allocated: 2, available: 0, backordered: 0 });
  });

  it("drops a DENY line with nothing available from a multi-line order with allowPartial, keeping the others", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY" });
    const allowed = await createProduct({ initialStock: 1 });
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "mixed", lines: [{ productId: denied.id, quantity: 2 }, { productId: allowed.id, quantity: 1 }] },
    });
    expect(payload.userErrors).toEqual([{ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    expect(payload.order.lines).toEqual([expect.objectContaining({ quantity: 1, allocated: 1, product: { id: allowed.id, sku: allowed.sku } })]);
  });

  it("refuses an order whose every line would be cut to nothing, even with allowPartial", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY" });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, { input: { customer: "empty-shelf", lines: [{ productId: denied.id, quantity: 1 }] } });
    expectRefusal(payload, "OUT_OF_STOCK", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses units beyond the backorder limit with BACKORDER_LIMIT_EXCEEDED and changes nothing", async () => {
    const product = await createProduct({ backorderLimit: 3 });
    await ok(PLACE_ORDER, { input: { customer: "first", lines: [{ productId: product.id, quantity: 2 }] } });
    const before = await databaseState();
    const payload = await placeOne(product.id, 2, { allowPartial: false });
    expectRefusal(payload, "BACKORDER_LIMIT_EXCEEDED", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
    expect((await readProduct(product.id)).stock.backordered).toBe(2);
  });

  it("cuts a line to the backorder limit's room with allowPartial, reporting BACKORDER_LIMIT_EXCEEDED", async () => {
    const product = await createProduct({ backorderLimit: 3 });
    await ok(PLACE_ORDER, { input: { customer: "first", lines: [{ productId: product.id, quantity: 2 }] } });
    const payload = await placeOne(product.id, 4);
    expect(payload.userErrors.map((error: UserError) => error.code)).toEqual(["BACKORDER_LIMIT_EXCEEDED"]);
    expect(payload.order.lines[0]).toMatchObject({ quantity: 1, backordered: 1 });
    expect((await readProduct(product.id)).stock.backordered).toBe(3);
  });

  it("refuses a quantity below the product's minimum with BELOW_MIN_ORDER_QUANTITY and changes nothing", async () => {
    const product = await createProduct({ initialStock: 20, minOrderQuantity: 2, maxOrderQuantity: 5 });
    const before = await databaseState();
    expectRefusal(await placeOne(product.id, 1), "BELOW_MIN_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a quantity above the product's maximum with ABOVE_MAX_ORDER_QUANTITY and changes nothing", async () => {
    const product = await createProduct({ initialStock: 20, minOrderQuantity: 2, maxOrderQuantity: 5 });
    const before = await databaseState();
    expectRefusal(await placeOne(product.id, 6), "ABOVE_MAX_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });
});

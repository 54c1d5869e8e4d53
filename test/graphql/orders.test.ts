/**
 * placeOrder over real HTTP: the order, its lines and backorders in the payload, replays, and each refusal as a
 * coded userError at its field that changes nothing. The rules themselves are proved in test/services/orders.test.ts.
 */
import { describe, expect, it } from "vitest";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { expectRefusal, mutationClient, PLACE_ORDER, type UserError } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
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

  it("leaves a backorder with neither restock nor lead time UNKNOWN, with no date", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    expect(order.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, promisedAt: null, delayed: false });
    expect(order).toMatchObject({ expectedAt: null, promisedAt: null, delayed: false });
  });

  it("refuses an order mixing currencies with INVALID_INPUT and changes nothing", async () => {
    const dollars = await createProduct({ initialStock: 1 });
    const euros = await createProduct({ initialStock: 1, currencyCode: "EUR" });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, {
      input: {
        customer: "mixed-money",
        lines: [
          { productId: dollars.id, quantity: 1 },
          { productId: euros.id, quantity: 1 },
        ],
      },
    });
    expectRefusal(payload, "INVALID_INPUT", ["input", "lines"]);
    expect(await databaseState()).toEqual(before);
  });

  it("takes a line named by SKU and sums the total over lines", async () => {
    const kettle = await createProduct({ initialStock: 5, price: "3.25" });
    const mug = await createProduct({ initialStock: 5, price: "1.10" });
    const { order } = await ok(PLACE_ORDER, {
      input: {
        customer: "sku-buyer",
        lines: [
          { sku: kettle.sku, quantity: 2 },
          { productId: mug.id, quantity: 3 },
        ],
      },
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
      input: {
        customer: "strict",
        allowPartial: false,
        lines: [
          { productId: allowed.id, quantity: 1 },
          { productId: denied.id, quantity: 3 },
        ],
      },
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
      input: {
        customer: "mixed",
        lines: [
          { productId: denied.id, quantity: 2 },
          { productId: allowed.id, quantity: 1 },
        ],
      },
    });
    expect(payload.userErrors).toEqual([{ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    expect(payload.order.lines).toEqual([expect.objectContaining({ quantity: 1, allocated: 1, product: { id: allowed.id, sku: allowed.sku } })]);
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

  it("refuses a quantity below the minimum or above the maximum as BELOW_MIN_ORDER_QUANTITY or ABOVE_MAX_ORDER_QUANTITY at the line's quantity, changing nothing", async () => {
    const product = await createProduct({ initialStock: 20, minOrderQuantity: 2, maxOrderQuantity: 5 });
    const before = await databaseState();
    expectRefusal(await placeOne(product.id, 1), "BELOW_MIN_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expectRefusal(await placeOne(product.id, 6), "ABOVE_MAX_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });
});

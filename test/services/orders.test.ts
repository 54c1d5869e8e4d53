/** placeOrder, cancel and ship through the services, on a real database (docs/ARCHITECTURE.md, "The rules"). */
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { schema } from "../../drizzle/db.js";
import { createLocation } from "../../server/services/location.service.js";
import { cancelOrder, cancelOrderLine, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { backorderOfOrder, newProduct, stockOf, tableCounts, waitingQueue } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();

describe("placeOrder", () => {
  it("allocates what is in stock and backorders the rest under ALLOW", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 3 });
    const { order, issues } = await placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 5 }] });
    expect(issues).toEqual([]);
    expect(order.status).toBe("AWAITING_STOCK");
    expect(order.total).toBe("50.00");
    const [line] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, order.id));
    expect(line).toMatchObject({ quantity: 5, allocated: 3, waiting: 2, shipped: 0, cancelled: 0 });
    expect(await stockOf(db, product.id)).toEqual({ onHand: 3, allocated: 3, backordered: 2 });
    expect((await backorderOfOrder(db, order.id)).remaining).toBe(2);
  });

  it("splits an allocation across locations in ascending priority", async () => {
    const { db } = database;
    const near = await createLocation(db, { code: `NEAR-${Date.now()}`, name: "Near", priority: -100 });
    const far = await createLocation(db, { code: `FAR-${Date.now()}`, name: "Far", priority: 100 });
    const product = await newProduct(db);
    await adjustStock(db, { productId: product.id, locationId: far.id, delta: 5, reason: "count" });
    await adjustStock(db, { productId: product.id, locationId: near.id, delta: 2, reason: "count" });
    const { order } = await placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 4 }] });
    const allocations = await db.select().from(schema.allocations).where(eq(schema.allocations.productId, product.id));
    const byLocation = Object.fromEntries(allocations.map((a) => [a.locationId, a.quantity]));
    expect(byLocation).toEqual({ [near.id]: 2, [far.id]: 2 });
    expect(order.status).toBe("READY_TO_SHIP");
    const [line] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, order.id));
    expect(line).toMatchObject({ quantity: 4, allocated: 4, waiting: 0 });
  });

  it("never lets a new order take stock while others wait", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 1 });
    await placeOrder(db, { customer: "first", lines: [{ productId: product.id, quantity: 3 }] });
    // A count finds one unit: it must go to the waiting customer, not to the next order.
    await adjustStock(db, { productId: product.id, delta: 1, reason: "found one" });
    const { order } = await placeOrder(db, { customer: "second", lines: [{ productId: product.id, quantity: 1 }] });
    expect(order.status).toBe("AWAITING_STOCK");
    expect(await stockOf(db, product.id)).toEqual({ onHand: 2, allocated: 2, backordered: 2 });
  });

  it("refuses a DENY shortfall without allowPartial and changes nothing", async () => {
    const { db } = database;
    const product = await newProduct(db, { backorderPolicy: "DENY", initialStock: 2 });
    const before = await tableCounts(db);
    const error = await refusal(placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 3 }], allowPartial: false }));
    expect(error.issues).toEqual([expect.objectContaining({ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"] })]);
    expect(await tableCounts(db)).toEqual(before);
  });

  it("cuts a DENY line to what is available with allowPartial and still reports it", async () => {
    const { db } = database;
    const denied = await newProduct(db, { backorderPolicy: "DENY", initialStock: 2 });
    const allowed = await newProduct(db, { initialStock: 0 });
    const { order, issues } = await placeOrder(db, {
      customer: "ann",
      lines: [
        { productId: allowed.id, quantity: 1 },
        { productId: denied.id, quantity: 5 },
      ],
    });
    expect(issues.map((i) => i.code)).toEqual(["OUT_OF_STOCK"]);
    const lines = await db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, order.id));
    expect(lines.find((l) => l.productId === denied.id)).toMatchObject({ quantity: 2, allocated: 2, waiting: 0 });
    expect(lines.find((l) => l.productId === allowed.id)).toMatchObject({ quantity: 1, waiting: 1 });
  });

  it("refuses the whole order when every line is cut to nothing", async () => {
    const { db } = database;
    const denied = await newProduct(db, { backorderPolicy: "DENY" });
    const before = await tableCounts(db);
    const error = await refusal(placeOrder(db, { customer: "ann", lines: [{ productId: denied.id, quantity: 1 }] }));
    expect(error.code).toBe("OUT_OF_STOCK");
    expect(error.issues).toEqual([expect.objectContaining({ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"] })]);
    expect(await tableCounts(db)).toEqual(before);
  });

  it("records refused units as lost demand, once per idempotency key however often the request is retried", async () => {
    const { db } = database;
    const denied = await newProduct(db, { backorderPolicy: "DENY", initialStock: 1 });
    const lostRows = () =>
      db
        .select({ quantity: schema.lostDemand.quantity, code: schema.lostDemand.code })
        .from(schema.lostDemand)
        .where(eq(schema.lostDemand.productId, denied.id));
    const keyed = { customer: "ann", lines: [{ productId: denied.id, quantity: 4 }], allowPartial: false, idempotencyKey: `lost-${denied.id}` };
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await refusal(placeOrder(db, keyed))).code).toBe("OUT_OF_STOCK");
    expect(await lostRows()).toEqual([{ quantity: 3, code: "OUT_OF_STOCK" }]);

    // Without a key, nothing tells two requests apart: each is counted.
    const { idempotencyKey: _, ...unkeyed } = keyed;
    await refusal(placeOrder(db, unkeyed));
    await refusal(placeOrder(db, unkeyed));
    expect((await lostRows()).length).toBe(3);
  });

  it("holds the backlog to backorderLimit", async () => {
    const { db } = database;
    const product = await newProduct(db, { backorderLimit: 5 });
    await placeOrder(db, { customer: "a", lines: [{ productId: product.id, quantity: 4 }] });
    const before = await tableCounts(db);
    const error = await refusal(placeOrder(db, { customer: "b", lines: [{ productId: product.id, quantity: 2 }], allowPartial: false }));
    expect(error.issues).toEqual([expect.objectContaining({ code: "BACKORDER_LIMIT_EXCEEDED", field: ["input", "lines", "0", "quantity"] })]);
    expect(await tableCounts(db)).toEqual(before);
    // With allowPartial the line is cut to the one unit of room left.
    const cut = await placeOrder(db, { customer: "c", lines: [{ productId: product.id, quantity: 3 }] });
    expect(cut.issues.map((i) => i.code)).toEqual(["BACKORDER_LIMIT_EXCEEDED"]);
    const [line] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, cut.order.id));
    expect(line).toMatchObject({ quantity: 1, allocated: 0, waiting: 1 });
    expect(await stockOf(db, product.id)).toMatchObject({ backordered: 5 });
  });

  it("checks minOrderQuantity and maxOrderQuantity first, whatever the stock", async () => {
    const { db } = database;
    const product = await newProduct(db, { minOrderQuantity: 2, maxOrderQuantity: 4, initialStock: 100 });
    const before = await tableCounts(db);
    const below = await refusal(placeOrder(db, { customer: "a", lines: [{ productId: product.id, quantity: 1 }] }));
    expect(below.issues[0]).toMatchObject({ code: "BELOW_MIN_ORDER_QUANTITY", field: ["input", "lines", "0", "quantity"] });
    const above = await refusal(placeOrder(db, { customer: "a", lines: [{ productId: product.id, quantity: 5 }] }));
    expect(above.issues[0]).toMatchObject({ code: "ABOVE_MAX_ORDER_QUANTITY", field: ["input", "lines", "0", "quantity"] });
    expect(await tableCounts(db)).toEqual(before);
  });

  it("replays the first result for a repeated idempotency key and refuses it for other input", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 10 });
    const input = { customer: "ann", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey: `key-${product.id}` };
    const first = await placeOrder(db, input);
    expect(first.replayed).toBe(false);
    const before = await tableCounts(db);
    const again = await placeOrder(db, input);
    expect(again.replayed).toBe(true);
    expect(again.order.id).toBe(first.order.id);
    expect(await tableCounts(db)).toEqual(before);
    expect(await stockOf(db, product.id)).toMatchObject({ allocated: 2 });
    const reused = await refusal(placeOrder(db, { ...input, lines: [{ productId: product.id, quantity: 3 }] }));
    expect(reused.issues).toEqual([expect.objectContaining({ code: "IDEMPOTENCY_KEY_REUSED", field: ["input", "idempotencyKey"] })]);
    expect(await tableCounts(db)).toEqual(before);
  });

  it("refuses bad input with INVALID_INPUT or NOT_FOUND and changes nothing", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 10 });
    const before = await tableCounts(db);
    const cases = [
      { customer: "", lines: [{ productId: product.id, quantity: 1 }] },
      { customer: "a", lines: [] },
      { customer: "a", lines: [{ productId: product.id, quantity: 0 }] },
      { customer: "a", lines: [{ productId: product.id, quantity: -1 }] },
      { customer: "a", lines: [{ productId: product.id, quantity: 1.5 }] },
      { customer: "a", lines: [{ productId: product.id, quantity: 10_000_001 }] },
      { customer: "a", lines: [{ productId: 999_999, quantity: 1 }] },
      { customer: "a", lines: [{ sku: "NO-SUCH-SKU", quantity: 1 }] },
      {
        customer: "a",
        lines: [
          { productId: product.id, quantity: 1 },
          { productId: product.id, quantity: 1 },
        ],
      },
      { customer: "x".repeat(201), lines: [{ productId: product.id, quantity: 1 }] },
    ];
    for (const input of cases) {
      const error = await refusal(placeOrder(db, input));
      expect(["INVALID_INPUT", "NOT_FOUND"]).toContain(error.code);
      expect(error.issues[0].field?.[0]).toBe("input");
    }
    expect(await tableCounts(db)).toEqual(before);
  });
});

describe("cancel and ship", () => {
  it("releases cancelled allocated units to the oldest waiting backorder", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 2 });
    const holder = await placeOrder(db, { customer: "holder", lines: [{ productId: product.id, quantity: 2 }] });
    const older = await placeOrder(db, { customer: "older", lines: [{ productId: product.id, quantity: 1 }] });
    const newer = await placeOrder(db, { customer: "newer", lines: [{ productId: product.id, quantity: 1 }] });
    const newest = await placeOrder(db, { customer: "newest", lines: [{ productId: product.id, quantity: 1 }] });
    const cancelled = await cancelOrder(db, holder.order.id, "changed mind");
    expect(cancelled).toMatchObject({ status: "CANCELLED", cancelReason: "changed mind" });
    // Two units released, three waiting: the two oldest get them, the newest keeps waiting.
    expect((await backorderOfOrder(db, older.order.id)).status).toBe("FILLED");
    expect((await backorderOfOrder(db, newer.order.id)).status).toBe("FILLED");
    expect((await backorderOfOrder(db, newest.order.id)).status).toBe("WAITING");
    const [o1] = await db.select().from(schema.orders).where(eq(schema.orders.id, older.order.id));
    expect(o1.status).toBe("READY_TO_SHIP");
    expect(await stockOf(db, product.id)).toEqual({ onHand: 2, allocated: 2, backordered: 1 });
  });

  it("cancels waiting units before allocated ones on a line, releasing the allocated ones to the next waiting backorder", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 2 });
    const { order } = await placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 5 }] });
    const behind = await placeOrder(db, { customer: "behind", lines: [{ productId: product.id, quantity: 1 }] });
    const [line] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, order.id));
    await cancelOrderLine(db, line.id, 2);
    const [after] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.id, line.id));
    expect(after).toMatchObject({ allocated: 2, waiting: 1, cancelled: 2 });
    await cancelOrderLine(db, line.id, 2);
    const [last] = await db.select().from(schema.orderLines).where(eq(schema.orderLines.id, line.id));
    expect(last).toMatchObject({ allocated: 1, waiting: 0, cancelled: 4 });
    expect((await backorderOfOrder(db, order.id)).status).toBe("CANCELLED");
    // The allocated unit cancelled last went to the order waiting behind.
    expect((await backorderOfOrder(db, behind.order.id)).status).toBe("FILLED");
    expect(await stockOf(db, product.id)).toEqual({ onHand: 2, allocated: 2, backordered: 0 });
    const tooMany = await refusal(cancelOrderLine(db, line.id, 2));
    expect(tooMany.code).toBe("INVALID_INPUT");
  });

  it("ships allocated units, moving onHand and allocated together", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 3 });
    const { order } = await placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 5 }] });
    const partly = await shipOrder(db, order.id);
    expect(partly.status).toBe("PARTIALLY_SHIPPED");
    expect(await stockOf(db, product.id)).toEqual({ onHand: 0, allocated: 0, backordered: 2 });
    const nothing = await refusal(shipOrder(db, order.id));
    expect(nothing.code).toBe("INVALID_STATE");
    await adjustStock(db, { productId: product.id, delta: 2, reason: "found" });
    expect((await shipOrder(db, order.id)).status).toBe("SHIPPED");
    const shipped = await refusal(cancelOrder(db, order.id));
    expect(shipped.code).toBe("INVALID_STATE");
  });

  it("refuses to count stock below what is allocated", async () => {
    const { db } = database;
    const product = await newProduct(db, { initialStock: 3 });
    await placeOrder(db, { customer: "ann", lines: [{ productId: product.id, quantity: 2 }] });
    const error = await refusal(adjustStock(db, { productId: product.id, delta: -2, reason: "broken" }));
    expect(error.code).toBe("INSUFFICIENT_STOCK");
    expect(await stockOf(db, product.id)).toMatchObject({ onHand: 3, allocated: 2 });
  });

  it("answers unknown ids with NOT_FOUND", async () => {
    const { db } = database;
    expect((await refusal(cancelOrder(db, 987_654))).code).toBe("NOT_FOUND");
    expect((await refusal(shipOrder(db, -1))).code).toBe("NOT_FOUND");
    expect((await refusal(cancelOrderLine(db, 987_654))).code).toBe("NOT_FOUND");
    expect((await refusal(adjustStock(db, { productId: 987_654, delta: 1, reason: "x" }))).code).toBe("NOT_FOUND");
  });

  it("keeps queue order for waiting backorders", async () => {
    const { db } = database;
    const product = await newProduct(db);
    for (const customer of ["a", "b", "c"]) await placeOrder(db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    const queue = await waitingQueue(db, product.id);
    expect(queue.map((b) => b.id)).toEqual([...queue.map((b) => b.id)].sort((x, y) => x - y));
  });
});

/**
 * Dropship through the services, on a real database (docs/ARCHITECTURE.md, "Dropship"): a DROPSHIP
 * line becomes one supplier order in the placing transaction and never touches stock or the
 * backlog; the supplier acknowledges, ships or rejects it; cancelling the customer's order cancels
 * it; mixed orders take both paths. `useFreshDatabase` audits after the file (supplier-order.matches-line).
 */
import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { auditInvariants } from "../../server/services/audit.service.js";
import { cancelOrder, cancelOrderLine, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { orderWaitingSummaries } from "../../server/services/order.query.js";
import { createProduct, updateProduct } from "../../server/services/product.service.js";
import { quoteOrderLines } from "../../server/services/quote.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { supplierOrdersByIds, listSupplierOrders } from "../../server/services/supplier-order.query.js";
import { acknowledgeSupplierOrder, rejectSupplierOrder, shipSupplierOrder } from "../../server/services/supplier-order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { daysFromNow, newProduct, stockOf, tableCounts, uniqueSku } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();
const db = () => database.db;
const DAY_MS = 86_400_000;

async function supplier(leadTimeDays: number | null = 5) {
  return createSupplier(db(), { name: uniqueSku("Supplier"), leadTimeDays });
}

async function dropshipProduct(supplierId: number, price = "25.00") {
  return newProduct(db(), { fulfillment: "DROPSHIP", supplierId, price });
}

async function supplierOrdersOf(orderId: number) {
  return db().select().from(schema.supplierOrders).where(eq(schema.supplierOrders.orderId, orderId)).orderBy(asc(schema.supplierOrders.id));
}

async function lineOf(orderId: number, productId: number) {
  const lines = await db().select().from(schema.orderLines).where(eq(schema.orderLines.orderId, orderId));
  return lines.find((line) => line.productId === productId)!;
}

async function orderOf(orderId: number) {
  const [order] = await db().select().from(schema.orders).where(eq(schema.orders.id, orderId));
  return order;
}

/** The SUPPLIER_ORDER_CHANGED events of an order, oldest first: their payloads. */
async function supplierEvents(orderId: number) {
  const found = await rows<{ payload: Record<string, unknown> }>(
    db(),
    sql`SELECT payload FROM events WHERE type = 'SUPPLIER_ORDER_CHANGED' AND order_id = ${orderId} ORDER BY id`,
  );
  return found.map((row) => (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload));
}

/** The ORDER_CHANGED events of an order, oldest first: their payloads. */
async function orderEvents(orderId: number) {
  const found = await rows<{ payload: Record<string, unknown> }>(
    db(),
    sql`SELECT payload FROM events WHERE type = 'ORDER_CHANGED' AND order_id = ${orderId} ORDER BY id`,
  );
  return found.map((row) => (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload));
}

describe("placing a dropship line", () => {
  it("opens one supplier order, waits the whole line at the supplier, and touches no stock, backlog or backorder", async () => {
    const acme = await supplier(5);
    const product = await dropshipProduct(acme.id);
    const before = await tableCounts(db());
    const { order } = await placeOrder(db(), { customer: "drop@example.com", lines: [{ productId: product.id, quantity: 3 }] });
    expect(order.status).toBe("AWAITING_STOCK");
    const line = await lineOf(order.id, product.id);
    expect(line).toMatchObject({ quantity: 3, allocated: 0, waiting: 3, shipped: 0, cancelled: 0 });
    const [supplierOrder, ...others] = await supplierOrdersOf(order.id);
    expect(others).toEqual([]);
    expect(supplierOrder).toMatchObject({
      supplierId: acme.id,
      orderLineId: line.id,
      productId: product.id,
      quantity: 3,
      status: "OPEN",
      expectedShipAt: null,
    });
    const after = await tableCounts(db());
    expect(after.backorders).toBe(before.backorders);
    expect(after.allocations).toBe(before.allocations);
    expect(after.movements).toBe(before.movements);
    expect(await stockOf(db(), product.id)).toEqual({ onHand: 0, allocated: 0, backordered: 0 });
    const [{ waiting_orders }] = await rows<{ waiting_orders: number }>(db(), sql`SELECT waiting_orders FROM products WHERE id = ${product.id}`);
    expect(Number(waiting_orders)).toBe(0);
    expect(await supplierEvents(order.id)).toEqual([
      { kind: "CREATED", supplierOrderId: supplierOrder.id, supplierId: acme.id, orderId: order.id, status: "OPEN" },
    ]);
    // Dated by the supplier's lead time from the supplier order's creation, until acknowledged.
    const [view] = await supplierOrdersByIds(db(), [supplierOrder.id]);
    expect(view!.shipBy!.getTime()).toBe(supplierOrder.createdAt.getTime() + 5 * DAY_MS);
    expect(view).toMatchObject({ orderNumber: order.number, customer: "drop@example.com", sku: product.sku });
    const [summary] = await orderWaitingSummaries(db(), [order.id]);
    expect(summary.expectedAt?.getTime()).toBe(view!.shipBy!.getTime());
  });

  it("has no date without a supplier lead time", async () => {
    const slow = await supplier(null);
    const product = await dropshipProduct(slow.id);
    const { order } = await placeOrder(db(), { customer: "undated", lines: [{ productId: product.id, quantity: 1 }] });
    const [supplierOrder] = await supplierOrdersOf(order.id);
    expect((await supplierOrdersByIds(db(), [supplierOrder.id]))[0]!.shipBy).toBeNull();
  });

  it("quotes a dropship line as its order will be: all waiting at the supplier, dated by its lead time, no place in the queue", async () => {
    const acme = await supplier(6);
    const product = await dropshipProduct(acme.id);
    const [quote] = await quoteOrderLines(db(), [{ productId: product.id, quantity: 4 }]);
    expect(quote).toMatchObject({ allocatable: 0, backorderable: 4, refused: 0, code: null, position: null, etaSource: "LEAD_TIME" });
    const at = (quote as { expectedAt: Date }).expectedAt.getTime();
    expect(at).toBeGreaterThan(daysFromNow(6).getTime() - 60_000);
    expect(at).toBeLessThanOrEqual(daysFromNow(6).getTime());
  });

  it("ignores the stock policy, limit and wait cap: those are about our supply", async () => {
    const acme = await supplier(30);
    const product = await newProduct(db(), { fulfillment: "DROPSHIP", supplierId: acme.id, backorderPolicy: "DENY", backorderLimit: 0, maxWaitDays: 1 });
    const { order, issues } = await placeOrder(db(), { customer: "policy", lines: [{ productId: product.id, quantity: 4 }] });
    expect(issues).toEqual([]);
    expect(await lineOf(order.id, product.id)).toMatchObject({ waiting: 4 });
  });
});

describe("the supplier's acts", () => {
  it("place → acknowledge → ship: the line ships, the order is SHIPPED, every step has its events", async () => {
    const acme = await supplier(5);
    const product = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), { customer: "ship@example.com", lines: [{ productId: product.id, quantity: 2 }] });
    const [opened] = await supplierOrdersOf(order.id);
    const shipAt = daysFromNow(3);
    const acknowledged = await acknowledgeSupplierOrder(db(), opened.id, shipAt);
    expect(acknowledged).toMatchObject({ status: "ACKNOWLEDGED", expectedShipAt: shipAt });
    expect(acknowledged.acknowledgedAt).toBeInstanceOf(Date);
    expect(acknowledged.shipBy).toEqual(shipAt);
    expect((await orderWaitingSummaries(db(), [order.id]))[0].expectedAt).toEqual(shipAt);

    const shipped = await shipSupplierOrder(db(), opened.id, "1Z999AA10123456784");
    expect(shipped).toMatchObject({ status: "SHIPPED", trackingNumber: "1Z999AA10123456784" });
    expect(shipped.shippedAt).toBeInstanceOf(Date);
    expect(await lineOf(order.id, product.id)).toMatchObject({ waiting: 0, shipped: 2 });
    expect((await orderOf(order.id)).status).toBe("SHIPPED");
    expect((await supplierEvents(order.id)).map((event) => [event.kind, event.status])).toEqual([
      ["CREATED", "OPEN"],
      ["ACKNOWLEDGED", "ACKNOWLEDGED"],
      ["SHIPPED", "SHIPPED"],
    ]);
    expect((await orderEvents(order.id)).map((event) => [event.kind, event.status])).toEqual([
      ["PLACED", "AWAITING_STOCK"],
      ["SHIPPED", "SHIPPED"],
    ]);
    expect(await auditInvariants(db())).toEqual([]);
  });

  it("ships an OPEN order without an acknowledgement, and without a tracking number", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), { customer: "quick", lines: [{ productId: product.id, quantity: 1 }] });
    const [opened] = await supplierOrdersOf(order.id);
    expect(await shipSupplierOrder(db(), opened.id)).toMatchObject({ status: "SHIPPED", trackingNumber: null });
  });

  it("place → reject: the line's units are cancelled with a SUPPLIER_REJECTED refund, and the order's event names it", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id, "12.50");
    const { order } = await placeOrder(db(), { customer: "reject@example.com", lines: [{ productId: product.id, quantity: 3 }] });
    const [opened] = await supplierOrdersOf(order.id);
    await acknowledgeSupplierOrder(db(), opened.id, daysFromNow(2));
    const { supplierOrder, refund } = await rejectSupplierOrder(db(), opened.id, "  discontinued by the maker  ");
    expect(supplierOrder).toMatchObject({ status: "REJECTED", rejectReason: "discontinued by the maker" });
    expect(supplierOrder.closedAt).toBeInstanceOf(Date);
    expect(refund).toMatchObject({ orderId: order.id, reason: "SUPPLIER_REJECTED", amount: "37.50", status: "PENDING" });
    expect(refund.lines).toMatchObject([{ quantity: 3, amount: "37.50" }]);
    expect(await lineOf(order.id, product.id)).toMatchObject({ waiting: 0, cancelled: 3 });
    expect((await orderOf(order.id)).status).toBe("CANCELLED");
    expect((await orderEvents(order.id)).at(-1)).toEqual({ kind: "CANCELLED", customer: "reject@example.com", status: "CANCELLED", refundId: refund.id });
    expect((await supplierEvents(order.id)).map((event) => event.kind)).toEqual(["CREATED", "ACKNOWLEDGED", "REJECTED"]);
  });

  it("cancelling the customer's order cancels its open supplier order, with its event and the refund", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), { customer: "changed-mind", lines: [{ productId: product.id, quantity: 2 }] });
    const [opened] = await supplierOrdersOf(order.id);
    const cancelled = await cancelOrder(db(), order.id);
    expect(cancelled.status).toBe("CANCELLED");
    const [closed] = await supplierOrdersOf(order.id);
    expect(closed).toMatchObject({ id: opened.id, status: "CANCELLED" });
    expect(closed.closedAt).toBeInstanceOf(Date);
    expect((await supplierEvents(order.id)).at(-1)).toEqual({
      kind: "CANCELLED",
      supplierOrderId: opened.id,
      supplierId: acme.id,
      orderId: order.id,
      status: "CANCELLED",
    });
    const [refund] = await db().select().from(schema.refunds).where(eq(schema.refunds.orderId, order.id));
    expect(refund).toMatchObject({ reason: "CANCELLED", amount: "50.00" });
  });

  it("cancels a dropship line whole, and refuses to cancel part of it", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), { customer: "partial", lines: [{ productId: product.id, quantity: 3 }] });
    const line = await lineOf(order.id, product.id);
    const before = await tableCounts(db());
    const error = await refusal(cancelOrderLine(db(), line.id, 1));
    expect(error.issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["quantity"] });
    expect(await tableCounts(db())).toEqual(before);
    expect((await supplierOrdersOf(order.id))[0].status).toBe("OPEN");
    await cancelOrderLine(db(), line.id);
    expect((await supplierOrdersOf(order.id))[0].status).toBe("CANCELLED");
  });
});

describe("mixed orders", () => {
  it("a stocked line and a dropship line each take their path; the status derives from both", async () => {
    const acme = await supplier(4);
    const stocked = await newProduct(db(), { initialStock: 5 });
    const dropship = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), {
      customer: "mixed@example.com",
      lines: [
        { productId: stocked.id, quantity: 2 },
        { productId: dropship.id, quantity: 1 },
      ],
    });
    expect(order.status).toBe("AWAITING_STOCK");
    expect(await lineOf(order.id, stocked.id)).toMatchObject({ allocated: 2, waiting: 0 });
    expect(await lineOf(order.id, dropship.id)).toMatchObject({ allocated: 0, waiting: 1 });
    expect(await supplierOrdersOf(order.id)).toHaveLength(1);

    // Our shelf ships first: the dropship line still waits.
    expect((await shipOrder(db(), order.id)).status).toBe("PARTIALLY_SHIPPED");
    const [opened] = await supplierOrdersOf(order.id);
    await shipSupplierOrder(db(), opened.id, "TRACK-1");
    expect((await orderOf(order.id)).status).toBe("SHIPPED");

    // The other way round: the supplier ships first, our shelf is still to ship.
    const second = await placeOrder(db(), {
      customer: "mixed@example.com",
      lines: [
        { productId: stocked.id, quantity: 1 },
        { productId: dropship.id, quantity: 2 },
      ],
    });
    const [secondOpened] = await supplierOrdersOf(second.order.id);
    await shipSupplierOrder(db(), secondOpened.id);
    expect((await orderOf(second.order.id)).status).toBe("PARTIALLY_SHIPPED");
    expect((await shipOrder(db(), second.order.id)).status).toBe("SHIPPED");

    // A rejected dropship line leaves the stocked line to ship.
    const third = await placeOrder(db(), {
      customer: "mixed@example.com",
      lines: [
        { productId: stocked.id, quantity: 1 },
        { productId: dropship.id, quantity: 1 },
      ],
    });
    const [thirdOpened] = await supplierOrdersOf(third.order.id);
    await rejectSupplierOrder(db(), thirdOpened.id, "out of stock at the maker");
    expect((await orderOf(third.order.id)).status).toBe("READY_TO_SHIP");
    expect(await auditInvariants(db())).toEqual([]);
  });

  it("a waiting stocked line and a dropship line: the order's expected date is the later of the two", async () => {
    const acme = await supplier(2);
    const stocked = await newProduct(db(), { leadTimeDays: 10 });
    const dropship = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), {
      customer: "dates",
      lines: [
        { productId: stocked.id, quantity: 1 },
        { productId: dropship.id, quantity: 1 },
      ],
    });
    const [summary] = await orderWaitingSummaries(db(), [order.id]);
    expect(summary.expectedAt!.getTime()).toBeGreaterThan(daysFromNow(9).getTime());
    const [opened] = await supplierOrdersOf(order.id);
    await acknowledgeSupplierOrder(db(), opened.id, daysFromNow(20));
    const [later] = await orderWaitingSummaries(db(), [order.id]);
    expect(later.expectedAt!.getTime()).toBeGreaterThan(daysFromNow(19).getTime());
  });
});

describe("refusals: a coded error, nothing changed", () => {
  it("refuses stock of ours on a DROPSHIP product: initial stock, adjustments, restocks", async () => {
    const acme = await supplier();
    const initial = await refusal(
      createProduct(db(), { sku: uniqueSku(), name: "x", price: "1.00", fulfillment: "DROPSHIP", supplierId: acme.id, initialStock: 3 }),
    );
    expect(initial.issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["input", "initialStock"] });
    const noSupplier = await refusal(createProduct(db(), { sku: uniqueSku(), name: "x", price: "1.00", fulfillment: "DROPSHIP" }));
    expect(noSupplier.issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["input", "supplierId"] });
    const product = await dropshipProduct(acme.id);
    const before = await tableCounts(db());
    const adjusted = await refusal(adjustStock(db(), { productId: product.id, delta: 5, reason: "found some" }));
    expect(adjusted.issues[0]).toMatchObject({ code: "INVALID_STATE", field: ["input", "productId"] });
    const restocked = await refusal(scheduleRestock(db(), { productId: product.id, quantity: 5, expectedAt: daysFromNow(3) }));
    expect(restocked.issues[0]).toMatchObject({ code: "INVALID_STATE", field: ["input", "productId"] });
    const cleared = await refusal(updateProduct(db(), product.id, { supplierId: null }));
    expect(cleared.issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["input", "supplierId"] });
    expect(await tableCounts(db())).toEqual(before);
  });

  it("refuses to make a product with stock, a backlog or an open restock DROPSHIP, and allows it when it holds nothing", async () => {
    const acme = await supplier();
    const withStock = await newProduct(db(), { initialStock: 1, supplierId: acme.id });
    expect((await refusal(updateProduct(db(), withStock.id, { fulfillment: "DROPSHIP" }))).issues[0]).toMatchObject({
      code: "INVALID_STATE",
      field: ["input", "fulfillment"],
    });
    const withBacklog = await newProduct(db(), { supplierId: acme.id });
    await placeOrder(db(), { customer: "waits", lines: [{ productId: withBacklog.id, quantity: 1 }] });
    expect((await refusal(updateProduct(db(), withBacklog.id, { fulfillment: "DROPSHIP" }))).issues[0].code).toBe("INVALID_STATE");
    const withRestock = await newProduct(db(), { supplierId: acme.id });
    await scheduleRestock(db(), { productId: withRestock.id, quantity: 2, expectedAt: daysFromNow(2) });
    expect((await refusal(updateProduct(db(), withRestock.id, { fulfillment: "DROPSHIP" }))).issues[0].code).toBe("INVALID_STATE");
    const empty = await newProduct(db(), { supplierId: acme.id });
    expect((await updateProduct(db(), empty.id, { fulfillment: "DROPSHIP" })).fulfillment).toBe("DROPSHIP");
  });

  it("refuses acting twice, a past or far ship date, bad tracking numbers and reasons, and another supplier's order", async () => {
    const acme = await supplier();
    const other = await supplier();
    const product = await dropshipProduct(acme.id);
    const { order } = await placeOrder(db(), { customer: "twice", lines: [{ productId: product.id, quantity: 1 }] });
    const [opened] = await supplierOrdersOf(order.id);
    const before = await tableCounts(db());
    const past = await refusal(acknowledgeSupplierOrder(db(), opened.id, new Date(Date.now() - DAY_MS)));
    expect(past.issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["expectedShipAt"] });
    expect((await refusal(acknowledgeSupplierOrder(db(), opened.id, daysFromNow(800)))).issues[0].field).toEqual(["expectedShipAt"]);
    expect((await refusal(shipSupplierOrder(db(), opened.id, "x".repeat(201)))).issues[0]).toMatchObject({
      code: "INVALID_INPUT",
      field: ["trackingNumber"],
    });
    expect((await refusal(rejectSupplierOrder(db(), opened.id, "   "))).issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["reason"] });
    expect((await refusal(rejectSupplierOrder(db(), opened.id, "y".repeat(501)))).issues[0].field).toEqual(["reason"]);
    // Another supplier's key: NOT_FOUND, as for an id of nothing.
    for (const act of [
      () => acknowledgeSupplierOrder(db(), opened.id, daysFromNow(1), { supplierId: other.id }),
      () => shipSupplierOrder(db(), opened.id, null, { supplierId: other.id }),
      () => rejectSupplierOrder(db(), opened.id, "not ours", { supplierId: other.id }),
      () => shipSupplierOrder(db(), 999_999),
    ]) {
      expect((await refusal(act())).issues[0]).toMatchObject({ code: "NOT_FOUND", field: ["id"] });
    }
    expect(await tableCounts(db())).toEqual(before);

    await acknowledgeSupplierOrder(db(), opened.id, daysFromNow(1), { supplierId: acme.id });
    const again = await refusal(acknowledgeSupplierOrder(db(), opened.id, daysFromNow(4)));
    expect(again.issues[0]).toMatchObject({ code: "INVALID_STATE", field: ["id"] });
    await shipSupplierOrder(db(), opened.id, "T-1", { supplierId: acme.id });
    const afterShip = await tableCounts(db());
    expect((await refusal(shipSupplierOrder(db(), opened.id, "T-2"))).code).toBe("INVALID_STATE");
    expect((await refusal(rejectSupplierOrder(db(), opened.id, "late"))).code).toBe("INVALID_STATE");
    expect((await refusal(acknowledgeSupplierOrder(db(), opened.id, daysFromNow(2)))).code).toBe("INVALID_STATE");
    expect((await refusal(cancelOrder(db(), order.id))).code).toBe("INVALID_STATE");
    expect(await tableCounts(db())).toEqual(afterShip);
  });
});

describe("listing", () => {
  it("lists newest first, by supplier and status, in pages", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id);
    const ids: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { order } = await placeOrder(db(), { customer: `list-${i}`, lines: [{ productId: product.id, quantity: 1 }] });
      ids.push((await supplierOrdersOf(order.id))[0].id);
    }
    await shipSupplierOrder(db(), ids[1]);
    const first = await listSupplierOrders(db(), { supplierId: acme.id }, { first: 2 });
    expect(first.items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    expect(first.hasNextPage).toBe(true);
    const second = await listSupplierOrders(db(), { supplierId: acme.id }, { first: 2, after: first.endCursor });
    expect(second.items.map((item) => item.id)).toEqual([ids[0]]);
    const open = await listSupplierOrders(db(), { supplierId: acme.id, status: "OPEN" }, {});
    expect(open.items.map((item) => item.id)).toEqual([ids[2], ids[0]]);
    expect(typeof open.totalCount === "function" ? await open.totalCount() : open.totalCount).toBe(2);
  });
});

describeOnPostgres("concurrency", () => {
  it("ship and the customer's cancel race on one order: exactly one wins, the audit is clean", async () => {
    const acme = await supplier();
    const product = await dropshipProduct(acme.id);
    for (let round = 0; round < 6; round += 1) {
      const { order } = await placeOrder(db(), { customer: `race-${round}`, lines: [{ productId: product.id, quantity: 2 }] });
      const [opened] = await supplierOrdersOf(order.id);
      const [shipped, cancelled] = await Promise.allSettled([shipSupplierOrder(db(), opened.id, `R-${round}`), cancelOrder(db(), order.id)]);
      expect([shipped.status, cancelled.status].sort(), `round ${round}`).toEqual(["fulfilled", "rejected"]);
      const loser = (shipped.status === "rejected" ? shipped : cancelled) as PromiseRejectedResult;
      expect(loser.reason.code).toBe("INVALID_STATE");
      const [after] = await supplierOrdersOf(order.id);
      expect(after.status).toBe(shipped.status === "fulfilled" ? "SHIPPED" : "CANCELLED");
      expect((await orderOf(order.id)).status).toBe(shipped.status === "fulfilled" ? "SHIPPED" : "CANCELLED");
    }
    expect(await auditInvariants(db())).toEqual([]);
  });
});

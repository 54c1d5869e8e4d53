/**
 * Webhook deliveries end to end (docs/ARCHITECTURE.md, "Webhooks"): business changes made through
 * the services reach a real HTTP receiver on 127.0.0.1, which verifies every request with the
 * `standardwebhooks` package as a shop would. Each change arrives as its type with the data a shop
 * writes to its customer; failures are retried with the backoff and in order per order; a delivery
 * without an answer ends FAILED and can be redelivered under the same webhook-id; a dead endpoint
 * does not hold up a healthy one. Small timeouts, backoff and attempts keep the file short.
 */
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { expireBackorders } from "../../server/services/expiry.service.js";
import { cancelOrderWithRefund, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { supplierOrdersByIds } from "../../server/services/supplier-order.query.js";
import { acknowledgeSupplierOrder, rejectSupplierOrder, shipSupplierOrder } from "../../server/services/supplier-order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { backoffMs, fanOutWebhookBatch, redeliverWebhooks, WEBHOOK_TYPE_NAMES } from "../../server/services/webhook-delivery.service.js";
import { signWebhook } from "../../server/services/webhook-signature.js";
import { Webhook } from "standardwebhooks";
import type { WebhookEventType } from "../../drizzle/contract.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { refusal } from "../support/refusal.js";
import { newWebhookSecret, type ReceivedRequest, startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

// Generous for PGlite: it runs in this process's thread, and a busy moment delays reading an
// answer that came in time (the attempt then counts as failed and is sent again: a duplicate with the same id).
const TIMEOUT_MS = 1000;
const MAX_ATTEMPTS = 4;
const BASE_MS = 100;
const database = useFreshDatabase();
const server = useTestServer(database, {
  live: { pollMs: 200 },
  // random 1: every backoff is its ceiling, so the test can check the spacing exactly.
  // Few slots (2 per endpoint, 4 in all), so that a dead endpoint holding its own would starve another without the per-endpoint cap.
  webhooks: {
    // The receivers are on 127.0.0.1 (test/live/webhook-ssrf.test.ts has the guard on).
    allowPrivateUrls: true,
    timeoutMs: TIMEOUT_MS,
    maxAttempts: MAX_ATTEMPTS,
    pollMs: 100,
    perEndpoint: 2,
    maxInFlight: 4,
    backoff: { baseMs: BASE_MS, capMs: 2000, random: () => 1 },
  },
});

const ALL = Object.keys(WEBHOOK_TYPE_NAMES) as WebhookEventType[];
const receivers: WebhookReceiver[] = [];
afterAll(async () => {
  await database.db.execute(sql`UPDATE ${schema.webhookEndpoints} SET enabled = false`);
  for (const receiver of receivers) await receiver.close();
});

/** A receiver and an endpoint pointing at it, as the API would create it. */
async function endpoint(events: WebhookEventType[] = ALL, answer?: Parameters<typeof startWebhookReceiver>[1]) {
  const secret = newWebhookSecret();
  const receiver = await startWebhookReceiver(secret, answer);
  receivers.push(receiver);
  const [row] = await database.db.insert(schema.webhookEndpoints).values({ url: receiver.url, secret, events }).returning();
  return { receiver, secret, id: row.id };
}

async function disable(id: number) {
  await database.db.execute(sql`UPDATE ${schema.webhookEndpoints} SET enabled = false WHERE id = ${id}`);
}

async function deliveriesOf(endpointId: number) {
  return rows<{
    id: number;
    event_id: string;
    event_type: string;
    status: string;
    attempts: number;
    last_error: string | null;
    response_status: number | null;
    order_id: number | null;
  }>(
    database.db,
    sql`SELECT id, event_id, event_type, status, attempts, last_error, response_status, order_id FROM ${schema.webhookDeliveries} WHERE endpoint_id = ${endpointId} ORDER BY id`,
  );
}

async function until(predicate: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The first 2xx of each webhook-id, in arrival order (a duplicate has the same id: receivers dedupe on it). */
function firstDeliveries(receiver: WebhookReceiver): ReceivedRequest[] {
  const seen = new Set<string>();
  return receiver.delivered().filter((r) => !seen.has(r.id) && seen.add(r.id));
}

/** Requests by webhook-id, in arrival order. */
function byId(requests: ReceivedRequest[]): Map<string, ReceivedRequest[]> {
  const groups = new Map<string, ReceivedRequest[]>();
  for (const request of requests) groups.set(request.id, [...(groups.get(request.id) ?? []), request]);
  return groups;
}

/** Every id came with one body: attempts and redeliveries send the same bytes. */
function expectStableBodies(requests: ReceivedRequest[]) {
  const bodies = new Map<string, string>();
  for (const request of requests) {
    expect(request.verified, request.id).toBe(true);
    expect(bodies.get(request.id) ?? request.raw, request.id).toBe(request.raw);
    bodies.set(request.id, request.raw);
  }
}

describe("signing", () => {
  it("signs as Standard Webhooks says, so standardwebhooks verifies it and rejects a tampered body", () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: "order.shipped", timestamp: new Date().toISOString(), data: { n: 1 } });
    const headers = signWebhook(secret, "evt_1", Date.now() / 1000, body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("1", "2"), { ...headers })).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it("backs off exponentially with full jitter, within the cap", () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, { baseMs: 100, capMs: 500, random: () => 1 }))).toEqual([100, 200, 400, 500]);
    expect(backoffMs(3, { baseMs: 100, capMs: 500, random: () => 0 })).toBe(0);
    expect(backoffMs(3, { baseMs: 100, capMs: 500, random: () => 0.5 })).toBe(200);
    expect(backoffMs(60)).toBeLessThanOrEqual(3_600_000);
  });
});

describe("what each change delivers", () => {
  it("a backorder, a delay, a fill, a receipt, a shipment and a cancellation with its refund, each as its type with its data", async () => {
    const { receiver, secret, id } = await endpoint();
    const { db } = database;
    const product = await newProduct(db, { price: "4.35" });
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(3) });
    const { order } = await placeOrder(db, { customer: "ada@example.com", lines: [{ productId: product.id, quantity: 2 }] });
    expect(order.status).toBe("AWAITING_STOCK");
    await receiver.until((r) => r.some((x) => x.body.type === "order.backordered"));
    await rescheduleRestock(db, restock.id, daysFromNow(6));
    await receiver.until((r) => r.some((x) => x.body.type === "order.delayed"));
    await receiveRestock(db, restock.id);
    await receiver.until((r) => r.some((x) => x.body.type === "order.ready_to_ship") && r.some((x) => x.body.type === "restock.received"));
    await shipOrder(db, order.id);
    // An order served from stock is no backorder: it gets no order.backordered, but its cancellation and refund.
    const { order: second } = await placeOrder(db, { customer: "bob@example.com", lines: [{ productId: product.id, quantity: 3 }] });
    const { refund } = await cancelOrderWithRefund(db, second.id, "changed my mind");
    await receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 7);
    await server.app.webhooks!.settled();

    const got = firstDeliveries(receiver);
    // In log order per order; orders (and the restock, which has none) may interleave.
    const typesOf = (orderId: number) => got.filter((r) => r.body.data.order?.id === toGlobalId("Order", orderId)).map((r) => r.body.type);
    expect(typesOf(order.id)).toEqual(["order.backordered", "order.delayed", "order.ready_to_ship", "order.shipped"]);
    expect(typesOf(second.id)).toEqual(["order.cancelled", "refund.due"]);
    expect(got.map((r) => r.body.type).sort()).toEqual(
      [...Object.values(WEBHOOK_TYPE_NAMES)].filter((t) => !["backorder.expired", "supplier_order.created"].includes(t)).sort(),
    );
    const data = (type: string) => got.find((r) => r.body.type === type)!.body.data;
    expectStableBodies(receiver.requests);
    for (const request of got) {
      expect(request.raw).not.toContain(secret);
      expect(request.raw).not.toContain("whsec_");
      expect(Date.parse(request.body.timestamp)).not.toBeNaN();
      expect(request.id).toMatch(/^evt_\d+(_refund)?$/);
    }
    const [placed, delayed, ready, shipped, cancelled, refundDue, received] = [
      "order.backordered",
      "order.delayed",
      "order.ready_to_ship",
      "order.shipped",
      "order.cancelled",
      "refund.due",
      "restock.received",
    ].map(data);
    const orderPart = { id: toGlobalId("Order", order.id), number: order.number, customer: "ada@example.com" };
    expect(placed.order).toMatchObject({ ...orderPart, total: { amount: "8.70", currencyCode: "USD" } });
    expect(placed.lines).toEqual([
      expect.objectContaining({ lineNumber: 1, sku: product.sku, quantity: 2, unitPrice: { amount: "4.35", currencyCode: "USD" } }),
    ]);
    expect(placed.backorders).toEqual([
      expect.objectContaining({
        sku: product.sku,
        quantityWaiting: 2,
        queuePosition: 1,
        expectedAt: restock.expectedAt.toISOString(),
        promisedAt: restock.expectedAt.toISOString(),
      }),
    ]);
    expect(delayed.order).toMatchObject(orderPart);
    expect(delayed.delays).toEqual([
      expect.objectContaining({ sku: product.sku, quantityWaiting: 2, previousDate: restock.expectedAt.toISOString(), newDate: expect.any(String) }),
    ]);
    expect(Date.parse(delayed.delays[0].newDate)).toBeGreaterThan(Date.parse(delayed.delays[0].previousDate));
    expect(ready.order).toMatchObject(orderPart);
    expect(received).toMatchObject({
      restock: { id: toGlobalId("Restock", restock.id), sku: product.sku, quantity: 5, receivedQuantity: 5 },
      unitsReceived: 5,
      unitsToBacklog: 2,
    });
    expect(shipped.order).toMatchObject({ ...orderPart, status: "SHIPPED" });
    expect(shipped.lines[0]).toMatchObject({ shipped: 2, waiting: 0 });
    // 3 × 4.35 is 13.05 exactly, a decimal string (as a float it would be 13.049999999999999).
    const refundPart = { id: toGlobalId("Refund", refund!.id), amount: { amount: "13.05", currencyCode: "USD" }, reason: "CANCELLED", status: "PENDING" };
    expect(cancelled.order).toMatchObject({
      id: toGlobalId("Order", second.id),
      customer: "bob@example.com",
      status: "CANCELLED",
      cancelReason: "changed my mind",
    });
    expect(cancelled.refund).toMatchObject(refundPart);
    expect(refundDue.refund).toMatchObject({
      ...refundPart,
      lines: [{ lineNumber: 1, sku: product.sku, quantity: 3, amount: { amount: "13.05", currencyCode: "USD" } }],
    });
    expect(got.find((r) => r.body.type === "refund.due")!.id).toBe(`${got.find((r) => r.body.type === "order.cancelled")!.id}_refund`);
    await disable(id);
  });

  it("an expiry: backorder.expired, then refund.due for its units, the expiry's refund", async () => {
    const { receiver, id } = await endpoint(["BACKORDER_EXPIRED", "REFUND_DUE"]);
    const product = await newProduct(database.db, { autoCancelAfterDays: 1, price: "2.50" });
    const { order } = await placeOrder(database.db, { customer: "dee@example.com", lines: [{ productId: product.id, quantity: 3 }] });
    // Nothing promised: it expires a day after its placement.
    const expiry = await expireBackorders(database.db, daysFromNow(2));
    expect(expiry.orderIds).toContain(order.id);
    const mine = (r: ReceivedRequest) => r.body.data.order?.id === toGlobalId("Order", order.id);
    await receiver.until((r) => r.filter((x) => mine(x) && x.answered === 200).length >= 2);
    const got = firstDeliveries(receiver).filter(mine);
    expect(got.map((r) => r.body.type)).toEqual(["backorder.expired", "refund.due"]);
    const [expired, due] = got;
    expect(expired.body.data.order).toMatchObject({ customer: "dee@example.com", status: "CANCELLED" });
    const refundPart = { amount: { amount: "7.50", currencyCode: "USD" }, reason: "EXPIRED", status: "PENDING" };
    expect(expired.body.data.refund).toMatchObject(refundPart);
    expect(due.body.data.refund).toMatchObject({
      ...refundPart,
      lines: [{ lineNumber: 1, sku: product.sku, quantity: 3, amount: { amount: "7.50", currencyCode: "USD" } }],
    });
    expect(due.id).toBe(`${expired.id}_refund`);
    await disable(id);
  });

  it("queues only the types an endpoint subscribed to, and a rerun of the fan-out makes no second delivery", async () => {
    const { receiver, id } = await endpoint(["ORDER_CANCELLED"]);
    const product = await newProduct(database.db);
    const { order } = await placeOrder(database.db, { customer: "cy@example.com", lines: [{ productId: product.id, quantity: 1 }] });
    await cancelOrderWithRefund(database.db, order.id);
    await receiver.until((r) => r.some((x) => x.answered === 200));
    await server.app.webhooks!.settled();
    const before = await deliveriesOf(id);
    expect(before.map((d) => [d.event_type, d.status])).toEqual([["ORDER_CANCELLED", "DELIVERED"]]);
    // As after a crash between the inserts and a later pass: read the same events again.
    const [first] = await rows<{ seq: number }>(database.db, sql`SELECT min(seq) AS seq FROM ${schema.events} WHERE order_id = ${order.id}`);
    await server.app.webhooks!.settled();
    await database.db.execute(sql`UPDATE ${schema.webhookLogPosition} SET seq = ${Number(first.seq) - 1}`);
    await fanOutWebhookBatch(database.db);
    expect(await deliveriesOf(id)).toEqual(before);
    await disable(id);
  });
});

describe("dropship", () => {
  it("a dropship line: supplier_order.created with its supplier order; rejected: order.cancelled and refund.due; shipped: order.shipped", async () => {
    const all = await endpoint();
    const only = await endpoint(["SUPPLIER_ORDER_CREATED"]);
    const { db } = database;
    const acme = await createSupplier(db, { name: uniqueSku("Acme"), leadTimeDays: 5 });
    const product = await newProduct(db, { fulfillment: "DROPSHIP", supplierId: acme.id, price: "25.00" });
    const { order: rejected } = await placeOrder(db, { customer: "rae@example.com", lines: [{ productId: product.id, quantity: 2 }] });
    const { order: shipped } = await placeOrder(db, { customer: "sam@example.com", lines: [{ productId: product.id, quantity: 1 }] });
    const supplierOrderOf = async (orderId: number) => {
      const [row] = await db
        .select()
        .from(schema.supplierOrders)
        .where(sql`${schema.supplierOrders.orderId} = ${orderId}`);
      return row;
    };
    const [toReject, toShip] = [await supplierOrderOf(rejected.id), await supplierOrderOf(shipped.id)];
    // The bodies are fixed when queued: wait for both creations before the supplier acts.
    await only.receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 2);
    await rejectSupplierOrder(db, toReject.id, "discontinued by the maker");
    await acknowledgeSupplierOrder(db, toShip.id, daysFromNow(2));
    await shipSupplierOrder(db, toShip.id, "1Z999AA10123456784");
    await all.receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 5);
    await server.app.webhooks!.settled();

    expectStableBodies([...all.receiver.requests, ...only.receiver.requests]);
    const got = firstDeliveries(all.receiver);
    const ofOrder = (orderId: number) => got.filter((r) => r.body.data.order?.id === toGlobalId("Order", orderId));
    // A dropship line has no backorder: no order.backordered; an acknowledgement is no webhook.
    expect(ofOrder(rejected.id).map((r) => r.body.type)).toEqual(["supplier_order.created", "order.cancelled", "refund.due"]);
    expect(ofOrder(shipped.id).map((r) => r.body.type)).toEqual(["supplier_order.created", "order.shipped"]);
    expect(got).toHaveLength(5);
    // The other endpoint subscribed to the creations only: the same two, the same bytes.
    const created = firstDeliveries(only.receiver);
    expect(created.map((r) => r.body.type)).toEqual(["supplier_order.created", "supplier_order.created"]);
    expect(created.map((r) => r.raw).sort()).toEqual(
      ofOrder(rejected.id)
        .concat(ofOrder(shipped.id))
        .filter((r) => r.body.type === "supplier_order.created")
        .map((r) => r.raw)
        .sort(),
    );

    const [view] = await supplierOrdersByIds(db, [toReject.id]);
    const createdOf = ofOrder(rejected.id)[0];
    expect(createdOf.id).toMatch(/^evt_\d+$/);
    expect(createdOf.body.data).toEqual({
      order: expect.objectContaining({
        id: toGlobalId("Order", rejected.id),
        number: rejected.number,
        customer: "rae@example.com",
        status: "AWAITING_STOCK",
        total: { amount: "50.00", currencyCode: "USD" },
      }),
      lines: [
        expect.objectContaining({ lineNumber: 1, sku: product.sku, name: product.name, quantity: 2, allocated: 0, waiting: 2, shipped: 0, cancelled: 0 }),
      ],
      supplierOrder: {
        id: toGlobalId("SupplierOrder", toReject.id),
        lineNumber: 1,
        sku: product.sku,
        productName: product.name,
        quantity: 2,
        status: "OPEN",
        // Not acknowledged yet: the creation plus the supplier's 5 days, as the API computes it.
        expectedShipAt: view!.shipBy!.toISOString(),
        createdAt: toReject.createdAt.toISOString(),
        supplier: { id: toGlobalId("Supplier", acme.id), name: acme.name },
      },
    });
    expect(Date.parse(createdOf.body.data.supplierOrder.expectedShipAt) - toReject.createdAt.getTime()).toBeCloseTo(5 * 86_400_000, -1);

    const [cancelled, due] = ofOrder(rejected.id).slice(1);
    const refundPart = { amount: { amount: "50.00", currencyCode: "USD" }, reason: "SUPPLIER_REJECTED", status: "PENDING" };
    expect(cancelled.body.data.order).toMatchObject({ id: toGlobalId("Order", rejected.id), status: "CANCELLED" });
    expect(cancelled.body.data.lines[0]).toMatchObject({ waiting: 0, cancelled: 2 });
    expect(cancelled.body.data.refund).toMatchObject(refundPart);
    expect(due.body.data.refund).toMatchObject({
      ...refundPart,
      lines: [{ lineNumber: 1, sku: product.sku, quantity: 2, amount: { amount: "50.00", currencyCode: "USD" } }],
    });
    expect(due.id).toBe(`${cancelled.id}_refund`);

    const [, shippedBody] = ofOrder(shipped.id);
    expect(shippedBody.body.data.order).toMatchObject({ id: toGlobalId("Order", shipped.id), customer: "sam@example.com", status: "SHIPPED" });
    expect(shippedBody.body.data.lines).toEqual([expect.objectContaining({ sku: product.sku, quantity: 1, waiting: 0, shipped: 1 })]);

    // Queued with the order's id, so the claim keeps them in order with the order's other deliveries.
    const queued = await deliveriesOf(all.id);
    expect(queued.filter((d) => d.event_type === "SUPPLIER_ORDER_CREATED").map((d) => d.order_id)).toEqual([rejected.id, shipped.id]);
    expect(queued.every((d) => d.status === "DELIVERED")).toBe(true);
    await disable(all.id);
    await disable(only.id);
  });
});

describe("failures", () => {
  it("a receiver failing three times then recovering gets every event, in order per order, retries spaced by the backoff", async () => {
    const { receiver, id } = await endpoint(ALL, (_request, n) => (n < 3 ? 500 : 200));
    const product = await newProduct(database.db);
    const orders = [];
    for (const customer of ["dee@example.com", "eve@example.com"]) {
      const { order } = await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
      orders.push(order);
    }
    for (const order of orders) await cancelOrderWithRefund(database.db, order.id);
    await receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 6);
    await server.app.webhooks!.settled();
    expectStableBodies(receiver.requests);
    const got = firstDeliveries(receiver);
    expect(got).toHaveLength(6);
    for (const order of orders) {
      const gid = toGlobalId("Order", order.id);
      const ofOrder = got.filter((r) => r.body.data.order.id === gid);
      expect(ofOrder.map((r) => r.body.type)).toEqual(["order.backordered", "order.cancelled", "refund.due"]);
      // No event of an order was sent before the one before it had its 2xx.
      const sent = receiver.requests.filter((r) => r.body.data.order.id === gid);
      for (let k = 1; k < ofOrder.length; k++) {
        const first = sent.findIndex((r) => r.id === ofOrder[k].id);
        expect(first, ofOrder[k].id).toBeGreaterThan(sent.indexOf(ofOrder[k - 1]));
      }
    }
    expect(receiver.requests.filter((r) => r.answered === 500)).toHaveLength(3);
    for (const attempts of byId(receiver.requests).values()) {
      // Attempt k + 1 waits for the backoff after attempt k's answer (random pinned to 1: the ceiling).
      for (let k = 1; k < attempts.length; k++) expect(attempts[k].at - attempts[k - 1].at).toBeGreaterThanOrEqual(BASE_MS * 2 ** (k - 1) - 2);
    }
    const rowsNow = await deliveriesOf(id);
    expect(rowsNow.every((d) => d.status === "DELIVERED" && d.response_status === 200 && d.last_error === null)).toBe(true);
    await disable(id);
  });

  it("a receiver that never answers in time: FAILED after the last attempt, then redelivered under the same webhook-id", async () => {
    const { receiver, id } = await endpoint(["ORDER_BACKORDERED"], () => "hang");
    const [{ seq }] = await rows<{ seq: number }>(database.db, sql`SELECT coalesce(max(seq), 0) AS seq FROM ${schema.events}`);
    const product = await newProduct(database.db);
    await placeOrder(database.db, { customer: "fay@example.com", lines: [{ productId: product.id, quantity: 1 }] });
    await until(async () => (await deliveriesOf(id))[0]?.status === "FAILED");
    const [failed] = await deliveriesOf(id);
    expect(failed).toMatchObject({ attempts: MAX_ATTEMPTS, response_status: null, last_error: `no answer within ${TIMEOUT_MS} ms` });
    expect(receiver.requests).toHaveLength(MAX_ATTEMPTS);
    expect(new Set(receiver.requests.map((r) => r.id))).toEqual(new Set([failed.event_id]));

    receiver.answer(() => 200);
    expect((await refusal(redeliverWebhooks(database.db, 2_000_000_000, 0))).issues).toEqual([
      expect.objectContaining({ code: "NOT_FOUND", field: ["endpointId"] }),
    ]);
    expect(await redeliverWebhooks(database.db, id, Number(seq))).toBe(1);
    await receiver.until((r) => r.some((x) => x.answered === 200));
    await server.app.webhooks!.settled();
    const [again] = await deliveriesOf(id);
    expect(again).toMatchObject({ status: "DELIVERED", attempts: 1, response_status: 200 });
    expect(receiver.delivered()[0].id).toBe(failed.event_id);
    expectStableBodies(receiver.requests);
    expect(receiver.maxConcurrentPerId()).toBe(1);
    await disable(id);
  });

  it("a dead endpoint does not hold up a healthy one", async () => {
    const dead = await endpoint(["ORDER_BACKORDERED"], () => "hang");
    const healthy = await endpoint(["ORDER_BACKORDERED"]);
    const product = await newProduct(database.db);
    for (let k = 0; k < 6; k++) await placeOrder(database.db, { customer: `g${k}@example.com`, lines: [{ productId: product.id, quantity: 1 }] });
    await healthy.receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 6);
    // While the healthy endpoint got all six, the dead one held at most its two slots, and none of its deliveries was settled.
    expect(dead.receiver.maxOpen()).toBeLessThanOrEqual(2);
    const deadRows = await deliveriesOf(dead.id);
    expect(deadRows).toHaveLength(6);
    expect(deadRows.every((d) => d.status === "PENDING")).toBe(true);
    await until(async () => (await deliveriesOf(healthy.id)).every((d) => d.status === "DELIVERED"));
    await disable(dead.id);
    await disable(healthy.id);
  });
});

/**
 * The subscriber client (client/subscriber.ts) against a real server over real WebSockets: each
 * subscription and its filter, and resuming with nothing lost or doubled across a dropped
 * network, a server restart and a "too slow" close. Every check of "exactly once" compares what
 * the user received with the event log itself.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../drizzle/db.js";
import { fromEventCursor } from "../../server/services/event-cursor.js";
import { SUBSCRIBER_TOO_SLOW } from "../../server/live/event-hub.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { pruneEvents, stampEvents } from "../../server/services/event-log.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import {
  type CloseInfo,
  type ConnectionStatus,
  createSubscriber,
  CursorExpiredError,
  type OrderChange,
  type RestockChange,
  retryDelay,
  type BacklogChange,
  type StockChange,
  type Subscriber,
  type SubscriberOptions,
  type SubscriptionError,
} from "../../client/node.js";
import { EventCursorDocument } from "../../client/generated/graphql.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { TEST_ADMIN_KEY } from "../support/http.js";
import { waitFor } from "../support/live.js";
import { type RestartableServer, startRestartableServer } from "./restartable-server.js";

const database = useFreshDatabase();
let server: RestartableServer;
const disposables: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRestartableServer(database.connection);
  disposables.push(() => server.stop());
});

afterAll(async () => {
  for (const dispose of disposables.reverse()) await dispose();
});

interface Watched {
  subscriber: Subscriber;
  statuses: ConnectionStatus[];
  closes: CloseInfo[];
  errors: SubscriptionError[];
}

/** A subscriber with quick retries that records its statuses, closes and errors; disposed after the file. */
function watch(url = server.wsUrl, options: Partial<SubscriberOptions> = {}): Watched {
  const watched: Omit<Watched, "subscriber"> = { statuses: [], closes: [], errors: [] };
  const subscriber = createSubscriber({
    url,
    authorization: `Bearer ${TEST_ADMIN_KEY}`,
    retry: { minMs: 20, maxMs: 200 },
    onStatus: (status, close) => {
      watched.statuses.push(status);
      if (close) watched.closes.push(close);
    },
    onError: (error) => watched.errors.push(error),
    ...options,
  });
  disposables.push(() => subscriber.dispose());
  return { subscriber, ...watched };
}

async function product(initialStock = 0) {
  const record = await newProduct(database.db, { initialStock });
  return { ...record, globalId: toGlobalId("Product", record.id) };
}

const order = (productId: number, quantity = 1, customer = "client@example.com") =>
  placeOrder(database.db, { customer, lines: [{ productId, quantity }] }).then((result) => result.order);

/** Positions in the event log of `type` for one product (or order), after `after`, once all are stamped. */
async function logged(type: string, column: "product_id" | "order_id", id: number, after: string): Promise<number[]> {
  const afterSeq = fromEventCursor(after)!;
  const column_ = sql.raw(column);
  let positions: number[] = [];
  await waitFor(async () => {
    const found = await rows<{ seq: string | number | null }>(
      database.db,
      sql`SELECT seq FROM events WHERE type = ${type} AND ${column_} = ${id} AND (seq IS NULL OR seq > ${afterSeq}) ORDER BY seq`,
    );
    positions = found.map((row) => Number(row.seq));
    return found.every((row) => row.seq !== null);
  }, "every event to be stamped");
  return positions;
}

const positions = (events: { cursor: string }[]) => events.map((event) => fromEventCursor(event.cursor)!);

describe("each subscription", () => {
  it("stockChanged delivers the stock of the products asked for, from the moment it started", async () => {
    const watched = await product(3);
    const other = await product(3);
    await order(watched.id, 1); // before the subscription: not delivered
    const { subscriber, errors } = watch();
    const events: StockChange[] = [];
    const sub = subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => events.push(event));
    const start = await sub.started;
    await order(other.id, 1);
    await order(watched.id, 4);
    await waitFor(() => events.length >= 1, "a stock event");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: "ORDER_PLACED",
      product: { id: watched.globalId, sku: watched.sku },
      stock: { onHand: 3, allocated: 3, available: 0, backordered: 2 },
    });
    expect(sub.cursor).toBe(events[0].cursor);
    expect(positions(events)).toEqual(await logged("STOCK_CHANGED", "product_id", watched.id, start));
    expect(errors).toEqual([]);
  });

  it("backlogChanged reports units and orders waiting and the first expected date", async () => {
    const watched = await product(0);
    await scheduleRestock(database.db, { productId: watched.id, quantity: 10, expectedAt: daysFromNow(2) });
    const { subscriber } = watch();
    const events: BacklogChange[] = [];
    await subscriber.backlogChanged({ productIds: [watched.globalId] }, (event) => events.push(event)).started;
    await order(watched.id, 2);
    await order(watched.id, 1);
    await waitFor(() => events.length >= 2, "two backlog events");
    expect(events.map((event) => [event.product.sku, event.backordered, event.waitingOrders])).toEqual([
      [watched.sku, 2, 1],
      [watched.sku, 3, 2],
    ]);
    expect(Date.parse(events[1].nextExpectedAt!)).toBeGreaterThan(Date.now());
  });

  it("restockChanged reports scheduling and a receipt with the units it filled, for its products only", async () => {
    const watched = await product(0);
    const other = await product(0);
    const { subscriber } = watch();
    const events: RestockChange[] = [];
    await subscriber.restockChanged({ productIds: [watched.globalId] }, (event) => events.push(event)).started;
    await order(watched.id, 4);
    await scheduleRestock(database.db, { productId: other.id, quantity: 1, expectedAt: daysFromNow(1) });
    const restock = await scheduleRestock(database.db, { productId: watched.id, quantity: 3, expectedAt: daysFromNow(3), reference: "PO-7" });
    await receiveRestock(database.db, restock.id);
    await waitFor(() => events.length >= 2, "two restock events");
    expect(events.map((event) => [event.kind, event.filledUnits])).toEqual([
      ["SCHEDULED", 0],
      ["RECEIVED", 3],
    ]);
    expect(events[1].restock).toMatchObject({
      id: toGlobalId("Restock", restock.id),
      reference: "PO-7",
      status: "RECEIVED",
      receivedQuantity: 3,
      product: { sku: watched.sku },
    });
  });

  it("orderChanged follows a customer's orders or the orders asked for, delays included", async () => {
    const stocked = await product(0);
    const restock = await scheduleRestock(database.db, { productId: stocked.id, quantity: 10, expectedAt: daysFromNow(2) });
    const { subscriber } = watch();
    const byCustomer: OrderChange[] = [];
    const start = await subscriber.orderChanged({ customer: "watched@example.com" }, (event) => byCustomer.push(event)).started;
    const mine = await order(stocked.id, 1, "watched@example.com");
    await order(stocked.id, 1, "someone-else@example.com");
    await waitFor(() => byCustomer.length >= 1, "the PLACED event");
    // From before `mine` was placed: its PLACED event is replayed, the delay arrives live.
    const byId: OrderChange[] = [];
    await subscriber.orderChanged({ orderIds: [toGlobalId("Order", mine.id)], after: start }, (event) => byId.push(event)).started;
    await rescheduleRestock(database.db, restock.id, daysFromNow(9));
    await waitFor(() => byCustomer.length >= 2 && byId.length >= 2, "the DELAYED events");
    for (const events of [byCustomer, byId]) {
      expect(events.map((event) => [event.kind, event.order.number, event.status])).toEqual([
        ["PLACED", mine.number, "AWAITING_STOCK"],
        ["DELAYED", mine.number, "AWAITING_STOCK"],
      ]);
    }
    expect(byCustomer[1].order.delayed).toBe(true);
  });

  it("replays from a given cursor, then goes on live", async () => {
    const watched = await product(10);
    const { subscriber: first } = watch();
    const start = await first.query(EventCursorDocument, {});
    for (let i = 0; i < 3; i++) await order(watched.id, 1);
    const { subscriber } = watch();
    const events: StockChange[] = [];
    subscriber.stockChanged({ productIds: [watched.globalId], after: start.eventCursor }, (event) => events.push(event));
    await waitFor(() => events.length >= 3, "three replayed events");
    await order(watched.id, 1);
    await waitFor(() => events.length >= 4, "a live event");
    expect(events.map((event) => event.stock.allocated)).toEqual([1, 2, 3, 4]);
    expect(positions(events)).toEqual(await logged("STOCK_CHANGED", "product_id", watched.id, start.eventCursor));
  });

  it("stops a subscription whose cursor the server refuses, and tells why; the others carry on", async () => {
    const watched = await product(5);
    const { subscriber, errors } = watch();
    const healthy: StockChange[] = [];
    await subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => healthy.push(event)).started;
    const refused = subscriber.backlogChanged({ after: "not-a-cursor" }, () => {});
    await waitFor(() => errors.length > 0, "the refusal");
    expect(errors[0]).toMatchObject({ operation: "BacklogChanged", retrying: false });
    expect(errors[0].errors[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(refused.active).toBe(false);
    await order(watched.id, 1);
    await waitFor(() => healthy.length === 1, "the healthy subscription still delivering");
  });

  it("stops for good, without retrying, when the server refuses its key", async () => {
    const { subscriber, errors } = watch(server.wsUrl, { authorization: "Bearer not-a-key" });
    const sub = subscriber.stockChanged({}, () => {});
    await expect(sub.started).rejects.toMatchObject({ retrying: false, close: { code: 4401 } });
    expect(sub.active).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: "StockChanged", retrying: false });
  });

  it("reports a callback that throws and goes on delivering", async () => {
    const watched = await product(5);
    const { subscriber, errors } = watch();
    const events: StockChange[] = [];
    await subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => {
      events.push(event);
      if (events.length === 1) throw new Error("dashboard bug");
    }).started;
    await order(watched.id, 1);
    await order(watched.id, 1);
    await waitFor(() => events.length === 2, "both events");
    expect(errors.map((error) => [error.retrying, error.message])).toEqual([[true, "the event callback threw: dashboard bug"]]);
  });
});

describe("resume", () => {
  it("delivers every event exactly once, in order, across a dropped network with changes made while it was down", async () => {
    const watched = await product(100);
    const { subscriber, statuses } = watch();
    const events: StockChange[] = [];
    const sub = subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => events.push(event));
    const start = await sub.started;
    for (let i = 0; i < 3; i++) await order(watched.id, 1);
    await waitFor(() => events.length === 3, "the first events");

    server.cut();
    await waitFor(() => subscriber.status !== "connected", "the client to notice");
    for (let i = 0; i < 5; i++) await order(watched.id, 1);
    expect(subscriber.status).not.toBe("connected");
    server.restore();

    await waitFor(() => events.length >= 8, "the events made while disconnected");
    await order(watched.id, 1);
    await waitFor(() => events.at(-1)?.stock.allocated === 9, "a live event after resuming");
    expect(events.map((event) => event.stock.allocated)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const versions = events.map((event) => event.productVersion);
    expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
    expect(positions(events)).toEqual(await logged("STOCK_CHANGED", "product_id", watched.id, start));
    expect(statuses.slice(statuses.indexOf("connected"))).toEqual(expect.arrayContaining(["disconnected", "connecting", "connected"]));
  });

  it("loses nothing when the connection drops before the first event: it started from the log's end", async () => {
    const watched = await product(0);
    const { subscriber } = watch();
    const events: BacklogChange[] = [];
    const start = await subscriber.backlogChanged({ productIds: [watched.globalId] }, (event) => events.push(event)).started;
    server.cut();
    await waitFor(() => subscriber.status !== "connected", "the client to notice");
    await order(watched.id, 2);
    await order(watched.id, 3);
    server.restore();
    await waitFor(() => events.length >= 2, "both backlog events");
    expect(events.map((event) => event.backordered)).toEqual([2, 5]);
    expect(positions(events)).toEqual(await logged("BACKLOG_CHANGED", "product_id", watched.id, start));
  });

  it("carries on across a server restart on the same port, with what changed while it was down", async () => {
    const restarting = await startRestartableServer(database.connection);
    disposables.push(() => restarting.stop());
    const watched = await product(50);
    const { subscriber, statuses } = watch(restarting.wsUrl);
    const stock: StockChange[] = [];
    const orders: OrderChange[] = [];
    const start = await subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => stock.push(event)).started;
    await subscriber.orderChanged({ customer: "restart@example.com", after: start }, (event) => orders.push(event)).started;
    await order(watched.id, 1, "restart@example.com");
    await order(watched.id, 1, "restart@example.com");
    await waitFor(() => stock.length === 2 && orders.length === 2, "the first events");

    await restarting.stop();
    await waitFor(() => subscriber.status !== "connected", "the client to notice the restart");
    for (let i = 0; i < 3; i++) await order(watched.id, 1, "restart@example.com");
    await restarting.start();

    await order(watched.id, 1, "restart@example.com");
    await waitFor(() => stock.length >= 6 && orders.length >= 6, "every event, those of the downtime first");
    expect(stock.map((event) => event.stock.allocated)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(positions(stock)).toEqual(await logged("STOCK_CHANGED", "product_id", watched.id, start));
    expect(orders.map((event) => event.kind)).toEqual(Array(6).fill("PLACED"));
    expect(new Set(orders.map((event) => event.order.number)).size).toBe(6);
    expect(statuses.filter((status) => status === "connected").length).toBeGreaterThanOrEqual(2);
  });

  it("resumes after the server closes it as too slow (4413), delivering each event once", async () => {
    const strict = await startRestartableServer(database.connection, { live: { maxQueue: 3 } });
    disposables.push(() => strict.stop());
    const watched = await product(0);
    for (let i = 0; i < 12; i++) await order(watched.id, 1, `slow-${i}@example.com`);
    const restock = await scheduleRestock(database.db, { productId: watched.id, quantity: 12, expectedAt: daysFromNow(2) });
    const { subscriber, closes } = watch(strict.wsUrl);
    const events: OrderChange[] = [];
    const start = await subscriber.orderChanged({}, (event) => events.push(event)).started;
    // Live on the server, not replaying: the burst goes through the bounded queue.
    await waitFor(() => strict.app.hub.subscriberCount === 1, "the subscription on the server");
    const shelf = await product(10);
    await order(shelf.id, 1, "before@example.com");
    await order(shelf.id, 1, "before@example.com");
    await waitFor(() => events.length === 2, "two events delivered before the burst");
    // One receipt fills twelve orders: twelve events at once, more than the server queues.
    await receiveRestock(database.db, restock.id);
    await waitFor(() => events.length >= 14, "all twelve fills");
    expect(closes.map((close) => close.code)).toContain(SUBSCRIBER_TOO_SLOW);
    expect(events.map((event) => event.kind)).toEqual([...Array(2).fill("PLACED"), ...Array(12).fill("BACKORDER_FILLED")]);
    expect(new Set(events.map((event) => event.order.number)).size).toBe(14);
    const [{ n }] = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM events WHERE type = 'ORDER_CHANGED' AND seq > ${fromEventCursor(start)!}`,
    );
    expect(events).toHaveLength(Number(n));
  });

  it("stops delivering and closes the connection when disposed", async () => {
    const watched = await product(5);
    const { subscriber, statuses } = watch();
    const events: StockChange[] = [];
    const sub = subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => events.push(event));
    await sub.started;
    await waitFor(() => subscriber.status === "connected", "the connection");
    await subscriber.dispose();
    expect(sub.active).toBe(false);
    expect(subscriber.status).toBe("disconnected");
    expect(statuses.at(-1)).toBe("disconnected");
    await order(watched.id, 1);
    // A later subscription on another client sees the event; the disposed one never does.
    const { subscriber: other } = watch();
    const seen: StockChange[] = [];
    other.stockChanged({ productIds: [watched.globalId], after: sub.cursor }, (event) => seen.push(event));
    await waitFor(() => seen.length === 1, "the event on a live client");
    expect(events).toEqual([]);
  });
});

describe("expired cursors", () => {
  /** What a retention would do to a log this old: every event but the newest pruned. */
  async function pruneAllButNewest(): Promise<void> {
    await stampEvents(database.db, { wait: true });
    await pruneEvents(database.db, new Date(Date.now() + 60_000));
  }

  it("stops with a CursorExpiredError, without retrying, when the events after its cursor were pruned", async () => {
    const watched = await product(5);
    const { subscriber, errors } = watch();
    const { eventCursor: expired } = await subscriber.query(EventCursorDocument, {});
    await order(watched.id, 1);
    await order(watched.id, 1);
    await pruneAllButNewest();
    const events: StockChange[] = [];
    const sub = subscriber.stockChanged({ productIds: [watched.globalId], after: expired }, (event) => events.push(event));
    await waitFor(() => errors.length > 0, "the expiry");
    expect(errors[0]).toBeInstanceOf(CursorExpiredError);
    expect(errors[0]).toMatchObject({ code: "CURSOR_EXPIRED", cursor: expired, operation: "StockChanged", retrying: false });
    expect(errors[0].errors[0].extensions?.code).toBe("CURSOR_EXPIRED");
    expect(sub.active).toBe(false);
    // Started again after the current cursor, as the error says, it is live; the expired one stays stopped.
    const { eventCursor } = await subscriber.query(EventCursorDocument, {});
    subscriber.stockChanged({ productIds: [watched.globalId], after: eventCursor }, (event) => events.push(event));
    await order(watched.id, 1);
    await waitFor(() => events.length === 1, "the live event");
    expect(events[0].stock.allocated).toBe(3);
    expect(errors).toHaveLength(1);
  });

  it("reports the expiry instead of resuming after an outage longer than the server keeps events", async () => {
    const watched = await product(50);
    const { subscriber, errors } = watch();
    const events: StockChange[] = [];
    const sub = subscriber.stockChanged({ productIds: [watched.globalId] }, (event) => events.push(event));
    await sub.started;
    await order(watched.id, 1);
    await waitFor(() => events.length === 1, "the first event");

    server.cut();
    await waitFor(() => subscriber.status !== "connected", "the client to notice");
    await order(watched.id, 1);
    await order(watched.id, 1);
    await pruneAllButNewest();
    server.restore();

    await waitFor(() => errors.some((error) => error instanceof CursorExpiredError), "the expiry after reconnecting");
    expect(errors.filter((error) => !(error instanceof CursorExpiredError))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ cursor: events[0].cursor, retrying: false });
    expect(sub.active).toBe(false);
    expect(events).toHaveLength(1);
  });
});

describe("retryDelay", () => {
  it("grows from minMs to maxMs, randomly within each step", () => {
    const retry = { minMs: 100, maxMs: 1000 };
    expect(retryDelay(0, retry, () => 0.5)).toBe(100);
    expect(retryDelay(1, retry, () => 0)).toBe(100);
    expect(retryDelay(1, retry, () => 1)).toBe(200);
    expect(retryDelay(3, retry, () => 1)).toBe(800);
    expect(retryDelay(4, retry, () => 1)).toBe(1000);
    expect(retryDelay(500, retry, () => 1)).toBe(1000);
  });
});

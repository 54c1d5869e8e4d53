/** Subscriptions over real WebSockets to a real server (docs/ARCHITECTURE.md, "Events and live updates" and "The GraphQL contract", issue 3). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { type App, createApp } from "../../server/http/app.js";
import { fromEventCursor, toEventCursor } from "../../server/services/event-cursor.js";
import { SUBSCRIBER_TOO_SLOW } from "../../server/live/event-hub.js";
import { latestSeq, pruneEvents, stampEvents } from "../../server/services/event-log.service.js";
import { createLogger } from "../../server/logger.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { postGraphQL, useTestServer } from "../support/http.js";
import { collect, type Collected, waitFor } from "../support/live.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const open: Collected[] = [];

afterAll(async () => {
  await Promise.all(open.map((c) => c.dispose()));
});

async function subscribe(query: string, variables: Record<string, unknown> = {}, url = server.url) {
  const collected = await collect(url, query, variables);
  open.push(collected);
  return collected;
}

async function cursorNow(url = server.url): Promise<string> {
  return (await postGraphQL(url, "{ eventCursor }")).body.data.eventCursor;
}

async function newProduct(stock = 0, sku = `LIVE-${Math.random().toString(36).slice(2, 8)}`): Promise<{ id: string; sku: string }> {
  const data = await server.data(
    `mutation($sku: String!, $stock: Int!) { createProduct(input: { sku: $sku, name: "Live", price: "5.00", backorderPolicy: ALLOW, initialStock: $stock }) { product { id sku } } }`,
    { sku, stock },
  );
  return data.createProduct.product;
}

async function order(productId: string, quantity: number, customer = "live@example.com"): Promise<{ id: string; number: string }> {
  const data = await server.data(
    `mutation($p: ID!, $q: Int!, $c: String!) { placeOrder(input: { customer: $c, lines: [{ productId: $p, quantity: $q }] }) { order { id number } userErrors { code } } }`,
    { p: productId, q: quantity, c: customer },
  );
  return data.placeOrder.order;
}

async function scheduleRestock(productId: string, quantity: number, days = 3): Promise<string> {
  const data = await server.data(
    `mutation($p: ID!, $q: Int!, $at: DateTime!) { scheduleRestock(input: { productId: $p, quantity: $q, expectedAt: $at }) { restock { id } } }`,
    { p: productId, q: quantity, at: new Date(Date.now() + days * 86_400_000).toISOString() },
  );
  return data.scheduleRestock.restock.id;
}

describe("each subscription", () => {
  it("stockChanged delivers the stock of the products asked for, right after each change", async () => {
    const watched = await newProduct(3);
    const other = await newProduct(3);
    const sub = await subscribe(
      `subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { reason productVersion cursor at product { sku } stock { onHand allocated available backordered } } }`,
      { ids: [watched.id], after: await cursorNow() },
    );
    await order(other.id, 1);
    await order(watched.id, 5);
    await waitFor(() => sub.events.length >= 1, "a stock event");
    expect(sub.events).toHaveLength(1);
    expect(sub.events[0]).toMatchObject({
      reason: "ORDER_PLACED",
      product: { sku: watched.sku },
      stock: { onHand: 3, allocated: 3, available: 0, backordered: 2 },
    });
    expect(typeof sub.events[0].cursor).toBe("string");
  });

  it("backlogChanged reports units and orders waiting and the next expected date", async () => {
    const product = await newProduct(0);
    await scheduleRestock(product.id, 10, 2);
    const sub = await subscribe(
      `subscription($ids: [ID!], $after: String) { backlogChanged(productIds: $ids, after: $after) { reason backordered waitingOrders nextExpectedAt } }`,
      { ids: [product.id], after: await cursorNow() },
    );
    await order(product.id, 2);
    await order(product.id, 1);
    await waitFor(() => sub.events.length >= 2, "two backlog events");
    expect(sub.events.map((e) => [e.backordered, e.waitingOrders])).toEqual([
      [2, 1],
      [3, 2],
    ]);
    expect(new Date(sub.events[1].nextExpectedAt).getTime()).toBeGreaterThan(Date.now());
  });

  it("restockChanged reports scheduling and receipts with the units they filled", async () => {
    const product = await newProduct(0);
    const sub = await subscribe(
      `subscription($ids: [ID!], $after: String) { restockChanged(productIds: $ids, after: $after) { kind filledUnits restock { id status receivedQuantity } } }`,
      { ids: [product.id], after: await cursorNow() },
    );
    await order(product.id, 4);
    const restockId = await scheduleRestock(product.id, 3);
    await server.data(`mutation($id: ID!) { receiveRestock(id: $id) { restock { id } } }`, { id: restockId });
    await waitFor(() => sub.events.length >= 2, "two restock events");
    expect(sub.events.map((e) => [e.kind, e.filledUnits])).toEqual([
      ["SCHEDULED", 0],
      ["RECEIVED", 3],
    ]);
    expect(sub.events[1].restock).toMatchObject({ id: restockId, status: "RECEIVED", receivedQuantity: 3 });
  });

  it("orderChanged follows the orders or the customer asked for, and tells when one is delayed", async () => {
    const product = await newProduct(0);
    const restockId = await scheduleRestock(product.id, 10, 2);
    const after = await cursorNow();
    const byCustomer = await subscribe(
      `subscription($c: String, $after: String) { orderChanged(customer: $c, after: $after) { kind status order { number } } }`,
      { c: "watched@example.com", after },
    );
    const mine = await order(product.id, 1, "watched@example.com");
    await order(product.id, 1, "someone-else@example.com");
    const byId = await subscribe(
      `subscription($ids: [ID!], $after: String) { orderChanged(orderIds: $ids, after: $after) { kind status order { number } } }`,
      { ids: [mine.id], after },
    );
    await server.data(`mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) { restock { id } } }`, {
      id: restockId,
      at: new Date(Date.now() + 9 * 86_400_000).toISOString(),
    });
    await waitFor(() => byCustomer.events.length >= 2 && byId.events.length >= 2, "placed and delayed events");
    for (const sub of [byCustomer, byId]) {
      expect(sub.events.map((e) => [e.kind, e.order.number])).toEqual([
        ["PLACED", mine.number],
        ["DELAYED", mine.number],
      ]);
    }
  });
});

describe("resume and errors", () => {
  it("replays every event after a cursor in order, once, then goes on live", async () => {
    const product = await newProduct(10);
    const start = await cursorNow();
    for (let i = 0; i < 3; i++) await order(product.id, 1);
    const sub = await subscribe(
      `subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { productVersion cursor stock { allocated } } }`,
      { ids: [product.id], after: start },
    );
    await waitFor(() => sub.events.length >= 3, "three replayed events");
    await order(product.id, 1);
    await waitFor(() => sub.events.length >= 4, "a live event after the replay");
    expect(sub.events.map((e) => e.stock.allocated)).toEqual([1, 2, 3, 4]);
    const versions = sub.events.map((e) => e.productVersion);
    expect(versions).toEqual([versions[0], versions[0] + 1, versions[0] + 2, versions[0] + 3]);
    const positions = sub.events.map((e) => fromEventCursor(e.cursor)!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it("replays the last N events from eventCursor(back: N), and refuses a back out of range", async () => {
    const product = await newProduct(10);
    for (let i = 0; i < 3; i++) await order(product.id, 1);
    const newest = fromEventCursor(await cursorNow())!;
    const back = (await postGraphQL(server.url, "{ eventCursor(back: 4) }")).body.data.eventCursor;
    expect(fromEventCursor(back)).toBe(newest - 4);
    const sub = await subscribe(`subscription($after: String) { stockChanged(after: $after) { cursor stock { allocated } } }`, { after: back });
    await waitFor(() => sub.events.length >= 1, "a replayed event");
    expect(sub.events.every((e) => fromEventCursor(e.cursor)! > newest - 4)).toBe(true);
    for (const bad of [-1, 10_001]) {
      const refused = await postGraphQL(server.url, `{ eventCursor(back: ${bad}) }`);
      expect(refused.body.errors?.[0]?.extensions?.code, refused.text).toBe("BAD_USER_INPUT");
    }
  });

  it("misses nothing when resuming from the last cursor received", async () => {
    const product = await newProduct(100);
    const query = `subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { cursor stock { allocated } } }`;
    const first = await subscribe(query, { ids: [product.id], after: await cursorNow() });
    await order(product.id, 1);
    await waitFor(() => first.events.length === 1, "the first event");
    await first.dispose();
    // Changes while nobody listens.
    await order(product.id, 1);
    await order(product.id, 1);
    const second = await subscribe(query, { ids: [product.id], after: first.events[0].cursor });
    await order(product.id, 1);
    await waitFor(() => second.events.length >= 3, "the missed events and a live one");
    expect([...first.events, ...second.events].map((e) => e.stock.allocated)).toEqual([1, 2, 3, 4]);
  });

  it("refuses a malformed cursor, a cursor from beyond the log and unknown ids on that subscription only", async () => {
    const product = await newProduct(1);
    const healthy = await subscribe(
      `subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { stock { allocated } } }`,
      { ids: [product.id], after: await cursorNow() },
    );
    const cases: [string, Record<string, unknown>][] = [
      ['subscription { stockChanged(after: "not-a-cursor") { reason } }', {}],
      ["subscription($a: String) { backlogChanged(after: $a) { reason } }", { a: Buffer.from("ev:999999999").toString("base64url") }],
      ['subscription { restockChanged(productIds: ["UHJvZHVjdDo5OTk5OTk"]) { kind } }', {}],
      ["subscription($ids: [ID!]) { orderChanged(orderIds: $ids) { kind } }", { ids: [product.id] }],
    ];
    for (const [query, variables] of cases) {
      const bad = await subscribe(query, variables);
      await bad.ended;
      expect(bad.errors.length, query).toBeGreaterThan(0);
      expect(JSON.stringify(bad.errors)).toContain("BAD_USER_INPUT");
    }
    await order(product.id, 1);
    await waitFor(() => healthy.events.length === 1, "the healthy subscription still delivering");
  });

  it("closes a subscriber that falls too far behind with a clear code, and it can resume", async () => {
    const logs: string[] = [];
    const small = await createApp({
      port: 0,
      connection: database.connection,
      migrate: false,
      live: { maxQueue: 3 },
      logger: createLogger({ write: (line) => logs.push(line) }),
    });
    try {
      const product = await newProduct(0);
      for (let i = 0; i < 12; i++) await order(product.id, 1, `slow${i}@example.com`);
      const restockId = await scheduleRestock(product.id, 12);
      const after = await cursorNow();
      const query = `subscription($after: String) { orderChanged(after: $after) { kind cursor order { number lines { product { sku stock { onHand } } } } } }`;
      const slow = await subscribe(query, { after }, small.url);
      // One receipt fills twelve orders: twelve events arrive at once, more than the queue holds.
      await server.data(`mutation($id: ID!) { receiveRestock(id: $id) { restock { id } } }`, { id: restockId });
      await waitFor(() => slow.closed !== null, "the slow subscriber to be closed");
      expect(slow.closed).toMatchObject({ code: SUBSCRIBER_TOO_SLOW });
      expect(slow.closed!.reason).toContain("resume");
      expect((await fetch(small.url.replace("/graphql", "/healthz"))).status).toBe(200);
      const resumed = await subscribe(query, { after: slow.events.at(-1)?.cursor ?? after });
      await waitFor(() => slow.events.length + resumed.events.length >= 12, "the rest of the events after resuming");
      const kinds = [...slow.events, ...resumed.events].map((e) => e.kind);
      expect(kinds).toEqual(Array(12).fill("BACKORDER_FILLED"));
    } finally {
      await small.close();
    }
  });
});

describe("expired cursors", () => {
  const DAY_MS = 86_400_000;
  const stockQuery = `subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { cursor stock { allocated } } }`;

  /** Prunes every event up to and including position `upTo` (a month old now), as a week's retention would. */
  async function pruneUpTo(upTo: number): Promise<void> {
    // The stamper numbers committed events in the background: wait until it has passed `upTo`,
    // or the newest event (never pruned) could still be `upTo` itself.
    await waitFor(async () => (await latestSeq(database.db)) > upTo, `events stamped past position ${upTo}`);
    await database.db.execute(sql`UPDATE events SET created_at = created_at - interval '30 days' WHERE seq <= ${upTo}`);
    await pruneEvents(database.db, new Date(Date.now() - 7 * DAY_MS));
    const [{ oldest }] = await rows<{ oldest: number }>(database.db, sql`SELECT min(seq) AS oldest FROM events`);
    expect(Number(oldest)).toBe(upTo + 1);
  }

  it("fails a subscription whose cursor's next events were pruned with CURSOR_EXPIRED and nothing else; the connection stays", async () => {
    const product = await newProduct(10);
    const expired = await cursorNow();
    await order(product.id, 1);
    await order(product.id, 1);
    await pruneUpTo(fromEventCursor(expired)! + 1);
    const sub = await subscribe(stockQuery, { ids: [product.id], after: expired });
    await waitFor(() => sub.errors.length > 0, "the refusal");
    await sub.ended;
    expect(sub.events).toEqual([]);
    expect(sub.errors).toHaveLength(1);
    expect(sub.errors[0]).toMatchObject({
      message: expect.stringContaining("load a snapshot, read Query.eventCursor and subscribe with after set to it"),
      extensions: { code: "CURSOR_EXPIRED" },
    });
    expect(sub.closed).toBeNull();
    // The same connection serves a new subscription after the current cursor.
    const events: unknown[] = [];
    sub.client.subscribe(
      { query: stockQuery, variables: { ids: [product.id], after: await cursorNow() } },
      {
        next: (value) => void events.push(value.data),
        error: () => {},
        complete: () => {},
      },
    );
    await waitFor(() => server.app.hub.subscriberCount > 0, "the new subscription");
    await order(product.id, 1);
    await waitFor(() => events.length === 1, "a live event on the same connection");
  });

  it("replays exactly the events still kept after a cursor right before the oldest one", async () => {
    const product = await newProduct(10);
    await order(product.id, 1);
    const boundary = fromEventCursor(await cursorNow())!;
    await order(product.id, 1);
    await order(product.id, 1);
    await pruneUpTo(boundary);
    const sub = await subscribe(stockQuery, { ids: [product.id], after: toEventCursor(boundary) });
    await waitFor(() => sub.events.length >= 2, "the two events kept");
    await order(product.id, 1);
    await waitFor(() => sub.events.length >= 3, "a live event after them");
    expect(sub.events.map((e) => e.stock.allocated)).toEqual([2, 3, 4]);
    expect(sub.errors).toEqual([]);
  });

  it("prunes events older than the retention on the app's timer and clock, keeping the newest", async () => {
    const product = await newProduct(10);
    await order(product.id, 1);
    await stampEvents(database.db, { wait: true });
    const newest = await latestSeq(database.db);
    const pruning = await createApp({
      port: 0,
      connection: database.connection,
      migrate: false,
      delaySweepMs: 0,
      eventRetentionHours: 24,
      eventPruneMs: 20,
      // Two days later: every event is older than a day.
      clock: () => new Date(Date.now() + 2 * DAY_MS),
      logger: createLogger({ level: "silent" }),
    });
    try {
      await waitFor(async () => {
        const [{ n }] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM events WHERE seq IS NOT NULL`);
        return Number(n) === 1;
      }, "the timer to prune all but the newest event");
      expect(await latestSeq(database.db)).toBe(newest);
    } finally {
      await pruning.close();
    }
  });

  it("keeps every event with a retention of 0", async () => {
    const product = await newProduct(10);
    await order(product.id, 1);
    const app = await createApp({
      port: 0,
      connection: database.connection,
      migrate: false,
      delaySweepMs: 0,
      eventRetentionHours: 0,
      clock: () => new Date(Date.now() + 365 * DAY_MS),
      logger: createLogger({ level: "silent" }),
    });
    try {
      expect(await app.pruneEvents()).toBe(0);
      const [{ n }] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM events WHERE seq IS NOT NULL`);
      expect(Number(n)).toBeGreaterThan(1);
    } finally {
      await app.close();
    }
  });

  it("ends a live subscription with CURSOR_EXPIRED when its instance finds events pruned before it read them", async () => {
    const logs: string[] = [];
    // Its hub reads the log only when woken: it falls behind while events are written and pruned.
    const stalled = await createApp({
      port: 0,
      connection: database.connection,
      migrate: false,
      delaySweepMs: 0,
      eventPruneMs: 0,
      live: { pollMs: 600_000 },
      logger: createLogger({ write: (line) => logs.push(line) }),
    });
    try {
      const product = await newProduct(10);
      const sub = await subscribe(stockQuery, { ids: [product.id], after: await cursorNow() }, stalled.url);
      await waitFor(() => stalled.hub.subscriberCount === 1, "the subscription on the stalled instance");
      // Written by a tool that wakes no hub, of a type nobody subscribes to.
      for (let i = 0; i < 3; i++) await database.db.execute(sql`INSERT INTO events (type, payload) VALUES ('PRUNE_TEST', '{}')`);
      await stampEvents(database.db, { wait: true });
      // The other instance has read them; only the stalled one is behind.
      server.app.hub.wake();
      await server.app.hub.settled();
      expect(server.app.hub.position).toBe(await latestSeq(database.db));
      await pruneEvents(database.db, new Date(Date.now() + DAY_MS));
      stalled.hub.wake();
      // Generous: a full parallel suite on 2 cores once took more than 5 s to get here.
      await waitFor(() => sub.errors.length > 0, "the subscription to fail", 20_000);
      await sub.ended;
      expect(sub.events).toEqual([]);
      // Found while it was live: graphql-ws's error message, which carries the list of errors.
      expect(sub.errors.flat()).toMatchObject([{ extensions: { code: "CURSOR_EXPIRED" } }]);
      expect(logs.join("\n")).toContain("events were pruned before it read them");
    } finally {
      await stalled.close();
    }
  });
});

describeOnPostgres("two instances on one PostgreSQL", () => {
  let second: App;
  let secondConnection: Connection;
  beforeAll(async () => {
    secondConnection = await connect({ databaseUrl: database.url });
    second = await createApp({ port: 0, connection: secondConnection, migrate: false, logger: createLogger({ level: "silent" }) });
  });
  afterAll(async () => {
    await second?.close();
    await secondConnection?.close();
  });

  it("delivers a change made on one instance to a subscriber of the other within a second", async () => {
    const product = await newProduct(0);
    const sub = await subscribe(
      `subscription($ids: [ID!], $after: String) { backlogChanged(productIds: $ids, after: $after) { backordered } }`,
      { ids: [product.id], after: await cursorNow(second.url) },
      second.url,
    );
    const started = Date.now();
    await order(product.id, 2);
    await waitFor(() => sub.events.length === 1, "the event on the other instance", 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sub.events[0].backordered).toBe(2);
  });

  it("delivers every event of concurrent writers on both instances exactly once, in log order", async () => {
    const products = await Promise.all([0, 1, 2].map(() => newProduct(5)));
    const after = await cursorNow();
    const sub = await subscribe(
      `subscription($after: String) { stockChanged(after: $after) { cursor productVersion product { id } } }`,
      { after },
      second.url,
    );
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        postGraphQL(
          i % 2 ? server.url : second.url,
          `mutation($p: ID!) { placeOrder(input: { customer: "c", lines: [{ productId: $p, quantity: 1 }] }) { order { id } } }`,
          { p: products[i % 3].id },
        ),
      ),
    );
    const [{ n }] = await rows<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM events WHERE type = 'STOCK_CHANGED' AND seq > ${fromEventCursor(after)!}`,
    );
    await waitFor(() => sub.events.length >= Number(n), `${n} stock events`, 5000);
    await waitFor(async () => {
      const [{ total }] = await rows<{ total: number }>(
        database.db,
        sql`SELECT count(*)::int AS total FROM events WHERE type = 'STOCK_CHANGED' AND (seq IS NULL OR seq > ${fromEventCursor(after)!})`,
      );
      return sub.events.length === Number(total);
    }, "every stock event, none twice");
    const positions = sub.events.map((e) => fromEventCursor(e.cursor)!);
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    for (const product of products) {
      const versions = sub.events.filter((e) => e.product.id === product.id).map((e) => e.productVersion);
      expect(versions).toHaveLength(20);
      expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
    }
  });
});

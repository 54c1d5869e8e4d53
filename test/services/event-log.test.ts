/** The event log: stamping committed events, reading them in order, and the outbox gap (docs/ARCHITECTURE.md, "Events and live updates"). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import {
  latestSeq,
  type LoggedEvent,
  MAX_EVENTS_BACK,
  positionBack,
  pruneEvents,
  readEvents,
  stampEvents,
} from "../../server/services/event-log.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";

const database = useFreshDatabase();

/** Stamps and reads everything after `after`, as a hub does. */
async function drain(after: number): Promise<LoggedEvent[]> {
  await stampEvents(database.db);
  return readEvents(database.db, after, 100_000);
}

describe("the event log", () => {
  it("stamps committed events with gap-free positions in the order they were written", async () => {
    const start = (await drain(0)).at(-1)?.seq ?? 0;
    const product = await newProduct(database.db, { initialStock: 1 });
    await placeOrder(database.db, { customer: "ann", lines: [{ productId: product.id, quantity: 2 }] });
    const events = await drain(start);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => start + i + 1));
    expect(events.map((e) => e.type)).toEqual([
      "STOCK_CHANGED",
      "BACKLOG_CHANGED", // product created
      "STOCK_CHANGED",
      "BACKLOG_CHANGED",
      "ORDER_CHANGED", // order placed
    ]);
    const backlog = events.filter((e) => e.type === "BACKLOG_CHANGED").at(-1)!;
    expect(backlog.payload).toMatchObject({ reason: "ORDER_PLACED", backordered: 1, waitingOrders: 1 });
    expect(events.at(-1)!.payload).toMatchObject({ kind: "PLACED", customer: "ann", status: "AWAITING_STOCK" });
  });

  it("writes an order's PLACED event first, also when its backorder is late from the moment it is placed", async () => {
    const product = await newProduct(database.db);
    const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(1) });
    // The restock's date passes while it is still expected (nobody received it): a promise made
    // from it now is already broken, so the new backorder is delayed at once.
    await database.db.execute(sql`UPDATE restocks SET expected_at = now() - interval '1 hour' WHERE id = ${restock.id}`);
    const start = (await drain(0)).at(-1)?.seq ?? 0;
    const { order } = await placeOrder(database.db, { customer: "late", lines: [{ productId: product.id, quantity: 2 }] });
    const kinds = (await drain(start)).filter((e) => e.type === "ORDER_CHANGED" && e.orderId === order.id).map((e) => e.payload.kind);
    expect(kinds).toEqual(["PLACED", "DELAYED"]);
  });

  it("stamps nothing twice", async () => {
    await drain(0);
    expect(await stampEvents(database.db)).toBe(0);
  });
});

describe("pruning the event log", () => {
  const DAY_MS = 86_400_000;
  const weekAgo = () => new Date(Date.now() - 7 * DAY_MS);

  /** Makes the stamped events matching `where` a month old. */
  async function age(where: ReturnType<typeof sql>): Promise<void> {
    await database.db.execute(sql`UPDATE events SET created_at = created_at - interval '30 days' WHERE seq IS NOT NULL AND (${where})`);
  }

  /** Positions and ids left in the log; unstamped events have a null position. */
  async function remaining(): Promise<{ seq: number | null; id: number }[]> {
    const found = await rows<{ seq: string | number | null; id: string | number }>(
      database.db,
      sql`SELECT seq, id FROM events ORDER BY seq NULLS LAST, id`,
    );
    return found.map((row) => ({ seq: row.seq === null ? null : Number(row.seq), id: Number(row.id) }));
  }

  /** Some events: a product and `orders` orders of it, stamped. Returns the newest position. */
  async function someEvents(orders = 2): Promise<number> {
    const product = await newProduct(database.db, { initialStock: 1 });
    for (let i = 0; i < orders; i++) await placeOrder(database.db, { customer: `prune${i}`, lines: [{ productId: product.id, quantity: 1 }] });
    await drain(0);
    return latestSeq(database.db);
  }

  it("deletes the stamped events older than the cutoff in bounded batches, keeping the newest and every unstamped one", async () => {
    const newest = await someEvents(3);
    // Written a month ago and not stamped yet (its transaction had not been seen by a stamper).
    const [{ id: unstampedId }] = await rows<{ id: number }>(
      database.db,
      sql`INSERT INTO events (type, payload, created_at) VALUES ('ORDER_CHANGED', '{"kind":"late"}', now() - interval '30 days') RETURNING id`,
    );
    await age(sql`true`);
    const stamped = (await remaining()).filter((row) => row.seq !== null).length;
    expect(stamped).toBeGreaterThan(5);

    expect(await pruneEvents(database.db, weekAgo(), { batch: 2 })).toBe(stamped - 1);
    expect(await remaining()).toEqual([
      { seq: newest, id: expect.any(Number) },
      { seq: null, id: Number(unstampedId) },
    ]);
    expect(await pruneEvents(database.db, new Date(Date.now() + DAY_MS))).toBe(0);
  });

  it("gives the position N events back, so reading after it gives the last N; never before the oldest kept", async () => {
    const newest = await someEvents(2);
    expect(await positionBack(database.db, 0)).toBe(newest);
    const back = await positionBack(database.db, 3);
    expect(back).toBe(newest - 3);
    expect((await readEvents(database.db, back, 100)).map((e) => e.seq)).toEqual([newest - 2, newest - 1, newest]);
    await pruneEvents(database.db, new Date(Date.now() + DAY_MS));
    // Only the newest is left: reaching further back stops just before it.
    expect(await positionBack(database.db, 5)).toBe(newest - 1);
    expect(await positionBack(database.db, MAX_EVENTS_BACK + 1)).toBe(newest - 1);
  });

  it("continues positions after the newest once pruned: none is given twice", async () => {
    const newest = await someEvents(1);
    await pruneEvents(database.db, new Date(Date.now() + DAY_MS), { batch: 3 });
    expect((await remaining()).filter((row) => row.seq !== null).map((row) => row.seq)).toEqual([newest]);
    const product = await newProduct(database.db, { initialStock: 1 });
    const events = await drain(newest);
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => newest + i + 1));
    expect(events.every((e) => e.productId === product.id)).toBe(true);
  });

  it("deletes by age from the oldest up, and stops at the first event that is not old enough", async () => {
    const oldEnd = await someEvents(1);
    const youngEnd = await someEvents(1);
    const newest = await someEvents(1);
    // Old up to oldEnd; young up to youngEnd; old again after it, the newest included.
    await age(sql`seq <= ${oldEnd} OR seq > ${youngEnd}`);
    const before = await remaining();
    const oldCount = before.filter((row) => row.seq !== null && row.seq <= oldEnd).length;

    expect(await pruneEvents(database.db, weekAgo(), { batch: 2 })).toBe(oldCount);
    const left = (await remaining()).map((row) => row.seq);
    // An unbroken run up to the newest: the old events after young ones wait for them.
    expect(left).toEqual(Array.from({ length: newest - oldEnd }, (_, i) => oldEnd + 1 + i));
    expect(await pruneEvents(database.db, weekAgo())).toBe(0);
  });
});

describeOnPostgres("the outbox gap on PostgreSQL", () => {
  let pool: Connection;
  let raw: postgres.Sql;
  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 16 });
    raw = postgres(database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await pool?.close();
    await raw?.end({ timeout: 5 });
  });

  it("gives a row that commits late a position after those already read, never skipping it", async () => {
    const before = (await drain(0)).at(-1)?.seq ?? 0;
    const late = await raw.reserve();
    try {
      await late`BEGIN`;
      const [{ id: lateId }] = await late`INSERT INTO events (type, payload) VALUES ('ORDER_CHANGED', '{"kind":"late"}') RETURNING id`;
      await raw`INSERT INTO events (type, payload) VALUES ('ORDER_CHANGED', '{"kind":"early"}')`;
      const first = await drain(before);
      expect(first.map((e) => e.payload.kind)).toEqual(["early"]);
      await late`COMMIT`;
      const second = await drain(first.at(-1)!.seq);
      expect(second.map((e) => e.payload.kind)).toEqual(["late"]);
      expect(second[0].seq).toBe(first[0].seq + 1);
      expect(Number(lateId)).toBeLessThan(Number((await rows<{ id: number }>(database.db, sql`SELECT max(id) AS id FROM events`))[0].id));
    } finally {
      late.release();
    }
  });

  it("delivers every event of concurrent writers exactly once, each product's in version order", async () => {
    const products = await Promise.all([1, 2, 3].map(() => newProduct(pool.db, { initialStock: 20 })));
    let cursor = (await drain(0)).at(-1)?.seq ?? 0;
    const delivered: LoggedEvent[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        await stampEvents(pool.db);
        const batch = await readEvents(pool.db, cursor, 10_000);
        delivered.push(...batch);
        if (batch.length) cursor = batch.at(-1)!.seq;
      }
    })();
    await Promise.all(
      Array.from({ length: 120 }, (_, i) => placeOrder(pool.db, { customer: `w${i}`, lines: [{ productId: products[i % 3].id, quantity: 1 + (i % 2) }] })),
    );
    writing = false;
    await reader;
    await stampEvents(pool.db);
    delivered.push(...(await readEvents(pool.db, cursor, 10_000)));

    const seqs = delivered.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // 120 orders: a PLACED event each, and a stock and a backlog event per order's product.
    expect(delivered.filter((e) => e.type === "ORDER_CHANGED")).toHaveLength(120);
    for (const product of products) {
      const versions = delivered.filter((e) => e.productId === product.id && e.type === "STOCK_CHANGED").map((e) => e.productVersion!);
      expect(versions).toHaveLength(40);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(40);
    }
    const [{ unstamped }] = await rows<{ unstamped: number }>(pool.db, sql`SELECT count(*)::int AS unstamped FROM events WHERE seq IS NULL`);
    expect(Number(unstamped)).toBe(0);
  });
});

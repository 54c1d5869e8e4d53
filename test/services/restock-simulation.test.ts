/**
 * simulateRestock through the services (docs/ARCHITECTURE.md, "Restock simulation"): it predicts
 * exactly what the real restock then does, and leaves nothing behind (no row, event, version or
 * commit signal), on random states and on the cases that matter (delays mended, the cap of 100,
 * bad input). On PostgreSQL: another transaction never sees the simulated rows while it runs.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, rows } from "../../drizzle/db.js";
import { onCommit } from "../../drizzle/transaction.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { createLocation } from "../../server/services/location.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { MAX_AFFECTED, type RestockSimulation, simulateRestock, type SimulateRestockRequest } from "../../server/services/restock-simulation.service.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { DomainError } from "../../server/services/types.js";
import { LIMITS } from "../../server/services/validation.js";
import { databaseDigest } from "../support/access.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { waitFor } from "../support/live.js";
import { seededRandom } from "../support/random.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();

/** A backorder of the product as the comparison reads it, lateness by the engine's rule at this statement's now(). */
interface Observed {
  id: number;
  remaining: number;
  status: string;
  expectedAt: number | null;
  delayed: boolean;
}

/** Every backorder of the product (any status), by id. */
async function backorderStates(db: Database, productId: number): Promise<Map<number, Observed>> {
  const found = await rows<{ id: number; remaining: number; status: string; expected_at: string | Date | null; delayed: boolean }>(
    db,
    sql`SELECT id, remaining, status, expected_at,
               (status = 'WAITING' AND promised_at IS NOT NULL AND (expected_at IS NULL OR expected_at > promised_at OR promised_at < now())) AS delayed
        FROM backorders WHERE product_id = ${productId} ORDER BY priority DESC, id`,
  );
  return new Map(
    found.map((row) => [
      Number(row.id),
      {
        id: Number(row.id),
        remaining: Number(row.remaining),
        status: row.status,
        expectedAt: row.expected_at === null ? null : new Date(row.expected_at).getTime(),
        delayed: row.delayed,
      },
    ]),
  );
}

/** The waiting backorders of `before` as the simulation says the restock leaves them. */
function predicted(before: Map<number, Observed>, simulation: RestockSimulation): Observed[] {
  const affected = new Map(simulation.affected.map((entry) => [entry.backorderId, entry]));
  return [...before.values()]
    .filter((was) => was.status === "WAITING")
    .map((was) => {
      const change = affected.get(was.id);
      if (!change) return was;
      const remaining = was.remaining - change.filledUnits;
      return {
        id: was.id,
        remaining,
        status: remaining === 0 ? "FILLED" : "WAITING",
        expectedAt: remaining === 0 ? null : (change.expectedAtAfter?.getTime() ?? null),
        delayed: change.delayedAfter,
      };
    });
}

/** The same backorders as they really are now (a filled one's stale date left out, as the prediction has none). */
function observed(before: Map<number, Observed>, after: Map<number, Observed>): Observed[] {
  return [...before.values()]
    .filter((was) => was.status === "WAITING")
    .map((was) => {
      const now = after.get(was.id)!;
      return now.status === "WAITING" ? now : { ...now, expectedAt: null };
    });
}

const count = (states: Iterable<Observed>, test: (state: Observed) => boolean) => [...states].filter(test).length;

/**
 * Simulates `request`, then does it for real (scheduled, or scheduled and received at once), and
 * checks that every waiting backorder and every total came out as simulated.
 */
async function expectSimulationToMatch(db: Database, request: SimulateRestockRequest): Promise<RestockSimulation> {
  const before = await backorderStates(db, request.productId);
  const simulation = await simulateRestock(db, request);
  // Only backorders that change are listed, in queue order, with their state before as it was.
  const queue = [...before.values()].filter((b) => b.status === "WAITING").map((b) => b.id);
  expect(simulation.affected.map((a) => a.backorderId)).toEqual(queue.filter((id) => simulation.affected.some((a) => a.backorderId === id)));
  for (const entry of simulation.affected) {
    const was = before.get(entry.backorderId)!;
    expect({ expectedAt: entry.expectedAtBefore?.getTime() ?? null, delayed: entry.delayedBefore }).toEqual({
      expectedAt: was.expectedAt,
      delayed: was.delayed,
    });
    const changes =
      entry.filledUnits > 0 || entry.expectedAtAfter?.getTime() !== entry.expectedAtBefore?.getTime() || entry.delayedAfter !== entry.delayedBefore;
    expect(changes, `backorder ${entry.backorderId} is listed without a change`).toBe(true);
  }
  // Nothing of the simulation stayed: the real restock starts from the same state.
  expect(await backorderStates(db, request.productId)).toEqual(before);
  const restock = await scheduleRestock(db, {
    productId: request.productId,
    locationId: request.locationId ?? undefined,
    quantity: request.quantity,
    expectedAt: request.expectedAt ?? new Date(),
  });
  const receipt = request.receiveNow ? await receiveRestock(db, restock.id) : undefined;
  const after = await backorderStates(db, request.productId);
  expect(predicted(before, simulation)).toEqual(observed(before, after));
  const [product] = await rows<{ backordered: number }>(db, sql`SELECT backordered FROM products WHERE id = ${request.productId}`);
  expect(simulation).toMatchObject({
    productId: request.productId,
    filledUnits: receipt ? receipt.fills.reduce((sum, fill) => sum + fill.filledUnits, 0) : 0,
    filledBackorders: receipt ? receipt.fills.length : 0,
    remainingBackordered: Number(product.backordered),
    delayedBefore: count(before.values(), (b) => b.delayed),
    delayedAfter: count(after.values(), (b) => b.delayed),
  });
  return simulation;
}

/** A product with a random backlog: lead time or not, stock at two locations, restocks on several dates, some rescheduled late, priorities. */
async function randomBacklog(db: Database, seed: number, secondLocation: number) {
  const random = seededRandom(seed);
  const pick = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const product = await newProduct(db, { leadTimeDays: random() < 0.5 ? null : pick(5, 40), initialStock: pick(0, 3) });
  if (random() < 0.3)
    await adjustStock(db, { productId: product.id, locationId: secondLocation, delta: pick(1, 3), reason: "stock at the second location" });
  const restocks = [];
  for (let i = pick(0, 3); i > 0; i--) {
    restocks.push(await scheduleRestock(db, { productId: product.id, quantity: pick(1, 8), expectedAt: daysFromNow(pick(1, 30)) }));
  }
  const backorderIds: number[] = [];
  for (let i = pick(3, 14); i > 0; i--) {
    const { order } = await placeOrder(db, { customer: `seed-${seed}`, lines: [{ productId: product.id, quantity: pick(1, 5) }] });
    const [backorder] = await rows<{ id: number }>(db, sql`SELECT id FROM backorders WHERE order_id = ${order.id}`);
    if (backorder) backorderIds.push(Number(backorder.id));
  }
  // Promises broken: a restock moved later than the dates it was promised on.
  for (const restock of restocks) if (random() < 0.4) await rescheduleRestock(db, restock.id, daysFromNow(pick(31, 60)));
  for (const id of backorderIds) if (random() < 0.2) await prioritizeBackorder(db, id, pick(1, 3));
  return { product, pick, random };
}

describe("simulateRestock predicts the real restock", () => {
  it("on random backlogs, scheduled and received now, at the default location or another", async () => {
    const { db } = database;
    const second = await createLocation(db, { code: `SIM-${Date.now()}`, name: "Second", priority: 50 });
    let changedSomething = 0;
    for (let seed = 1; seed <= 8; seed++) {
      for (const receiveNow of [false, true]) {
        const { product, pick, random } = await randomBacklog(db, seed * 2 + Number(receiveNow), second.id);
        const simulation = await expectSimulationToMatch(db, {
          productId: product.id,
          quantity: pick(1, 25),
          expectedAt: receiveNow && random() < 0.5 ? undefined : daysFromNow(pick(1, 45)),
          receiveNow,
          locationId: random() < 0.3 ? second.id : undefined,
        });
        if (simulation.affected.length > 0) changedSomething++;
      }
    }
    // The states were not trivial: most simulations changed some backorder.
    expect(changedSomething).toBeGreaterThan(8);
  });

  it("fills the head of the queue in priority order and re-dates the rest against what is left", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 30 });
    const later = await scheduleRestock(db, { productId: product.id, quantity: 4, expectedAt: daysFromNow(20) });
    const ids: number[] = [];
    for (const quantity of [2, 3, 4]) {
      const { order } = await placeOrder(db, { customer: "queue", lines: [{ productId: product.id, quantity }] });
      const [row] = await rows<{ id: number }>(db, sql`SELECT id FROM backorders WHERE order_id = ${order.id}`);
      ids.push(Number(row.id));
    }
    // Queue: #3 (priority 1, 4 units), #1 (2 units), #2 (3 units); the restock of 4 serves #3 only.
    await prioritizeBackorder(db, ids[2], 1);
    const simulation = await expectSimulationToMatch(db, { productId: product.id, quantity: 5, receiveNow: true });
    expect(simulation).toMatchObject({ filledUnits: 5, filledBackorders: 2, remainingBackordered: 4 });
    expect(simulation.affected.map((a) => [a.backorderId, a.filledUnits])).toEqual([
      [ids[2], 4],
      [ids[0], 1],
      [ids[1], 0],
    ]);
    // #1 keeps 1 unit waiting: now covered by the restock of 4 (day 20); #2 moves from lead time to the restock too.
    expect(simulation.affected[1].expectedAtAfter).toEqual(later.expectedAt);
    expect(simulation.affected[2].expectedAtAfter).toEqual(later.expectedAt);
    expect(simulation.affected[0]).toMatchObject({ expectedAtAfter: null, delayedAfter: false });
  });
});

describe("delays", () => {
  it("counts the delayed backorders a restock would mend, before and after", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(3) });
    for (let i = 0; i < 3; i++) await placeOrder(db, { customer: "promised", lines: [{ productId: product.id, quantity: 2 }] });
    // Promised for day 3; the supplier now says day 20: all three are late.
    await rescheduleRestock(db, restock.id, daysFromNow(20));
    const scheduled = await expectSimulationToMatch(db, { productId: product.id, quantity: 4, expectedAt: daysFromNow(2) });
    // Four units on day 2 keep two promises; the third backorder still waits for day 20.
    expect(scheduled).toMatchObject({ delayedBefore: 3, delayedAfter: 1, filledUnits: 0, remainingBackordered: 6 });
    expect(scheduled.affected.map((a) => [a.delayedBefore, a.delayedAfter])).toEqual([
      [true, false],
      [true, false],
    ]);
  });

  it("counts a receipt that fills late backorders as mending them", async () => {
    const { db } = database;
    const product = await newProduct(db);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(3) });
    for (let i = 0; i < 5; i++) await placeOrder(db, { customer: "promised", lines: [{ productId: product.id, quantity: 1 }] });
    await rescheduleRestock(db, restock.id, daysFromNow(20));
    const received = await expectSimulationToMatch(db, { productId: product.id, quantity: 3, receiveNow: true });
    expect(received).toMatchObject({ delayedBefore: 5, delayedAfter: 2, filledUnits: 3, filledBackorders: 3, remainingBackordered: 2 });
    expect(received.affected).toHaveLength(3);
  });

  it("brings a lead-time date closer without counting anyone as mended who was not late", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 10 });
    for (let i = 0; i < 2; i++) await placeOrder(db, { customer: "lead", lines: [{ productId: product.id, quantity: 1 }] });
    // Promised by lead time (day 10); one unit on day 5 dates the first backorder earlier, the second keeps its lead time.
    const sooner = await expectSimulationToMatch(db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(5) });
    expect(sooner).toMatchObject({ delayedBefore: 0, delayedAfter: 0 });
    expect(sooner.affected).toHaveLength(1);
  });

  it("counts the backorders a restock would make late: one dated after their lead-time promise takes them over", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 7 });
    for (let i = 0; i < 2; i++) await placeOrder(db, { customer: "lead", lines: [{ productId: product.id, quantity: 1 }] });
    // Promised by lead time (day 7); a scheduled restock dates them, even when it comes later.
    const later = await expectSimulationToMatch(db, { productId: product.id, quantity: 2, expectedAt: daysFromNow(20) });
    expect(later).toMatchObject({ delayedBefore: 0, delayedAfter: 2 });
    expect(later.affected.map((a) => [a.delayedBefore, a.delayedAfter])).toEqual([
      [false, true],
      [false, true],
    ]);
  });
});

describe("the cap on affected", () => {
  it(`lists the first ${MAX_AFFECTED} changed backorders in queue order and counts all of them`, async () => {
    const { db } = database;
    const product = await newProduct(db);
    const ids: number[] = [];
    for (let i = 0; i < MAX_AFFECTED + 30; i++) {
      const { order } = await placeOrder(db, { customer: "many", lines: [{ productId: product.id, quantity: 1 }] });
      const [row] = await rows<{ id: number }>(db, sql`SELECT id FROM backorders WHERE order_id = ${order.id}`);
      ids.push(Number(row.id));
    }
    // The last placed goes first in the queue.
    await prioritizeBackorder(db, ids.at(-1)!, 5);
    const queue = [ids.at(-1)!, ...ids.slice(0, -1)];
    const received = await simulateRestock(db, { productId: product.id, quantity: MAX_AFFECTED + 30, receiveNow: true });
    expect(received.affected.map((a) => a.backorderId)).toEqual(queue.slice(0, MAX_AFFECTED));
    expect(received).toMatchObject({ filledUnits: MAX_AFFECTED + 30, filledBackorders: MAX_AFFECTED + 30, remainingBackordered: 0 });
    const scheduled = await simulateRestock(db, { productId: product.id, quantity: 120, expectedAt: daysFromNow(4) });
    // 120 units date the first 120 backorders; the list stops at 100 of them.
    expect(scheduled.affected).toHaveLength(MAX_AFFECTED);
    expect(scheduled.affected.map((a) => a.backorderId)).toEqual(queue.slice(0, MAX_AFFECTED));
    expect(scheduled.remainingBackordered).toBe(MAX_AFFECTED + 30);
  });
});

describe("leaving no trace", () => {
  async function eventPositions(db: Database) {
    const [row] = await rows<{ id: number | null; seq: number | null }>(db, sql`SELECT max(id) AS id, max(seq) AS seq FROM events`);
    return row;
  }

  it("changes no row of any table, no event, no product version, and signals no commit", async () => {
    const { db } = database;
    const product = await newProduct(db, { leadTimeDays: 7 });
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 3, expectedAt: daysFromNow(3) });
    for (let i = 0; i < 4; i++) await placeOrder(db, { customer: "trace", lines: [{ productId: product.id, quantity: 2 }] });
    await rescheduleRestock(db, restock.id, daysFromNow(15));
    const digest = await databaseDigest(db);
    const positions = await eventPositions(db);
    let commits = 0;
    const stop = onCommit(db, () => commits++);
    try {
      const received = await simulateRestock(db, { productId: product.id, quantity: 5, receiveNow: true });
      const scheduled = await simulateRestock(db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(1) });
      // They did change something, inside the transaction that was rolled back.
      expect(received.filledUnits).toBe(5);
      expect(scheduled.affected.length).toBeGreaterThan(0);
    } finally {
      stop();
    }
    expect(commits).toBe(0);
    expect(await eventPositions(db)).toEqual(positions);
    // Every table, products.version, backorders, restocks, stock and the ledger included.
    expect(await databaseDigest(db)).toEqual(digest);
    // The listener works: a real change does signal.
    const stopReal = onCommit(db, () => commits++);
    await scheduleRestock(db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(30) });
    stopReal();
    expect(commits).toBe(1);
  });

  it("leaves nothing behind when it refuses, either", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await placeOrder(db, { customer: "trace", lines: [{ productId: product.id, quantity: 2 }] });
    const digest = await databaseDigest(db);
    await expect(simulateRestock(db, { productId: product.id, quantity: 1, receiveNow: true, locationId: 999_999 })).rejects.toThrow(DomainError);
    expect(await databaseDigest(db)).toEqual(digest);
  });
});

describe("bad input", () => {
  async function refused(request: SimulateRestockRequest) {
    const error = await refusal(simulateRestock(database.db, request));
    return error.issues.map((issue) => ({ code: issue.code, field: issue.field }));
  }

  it("refuses quantities outside 1..1,000,000, missing or past dates, unknown products and locations with a coded error", async () => {
    const { db } = database;
    const product = await newProduct(db);
    await placeOrder(db, { customer: "bad", lines: [{ productId: product.id, quantity: 2 }] });
    const digest = await databaseDigest(db);
    const at = daysFromNow(3);
    const input = (field: string) => [{ code: "INVALID_INPUT", field: ["input", field] }];
    for (const quantity of [0, -4, 1_000_001, 1.5, Number.NaN]) {
      expect(await refused({ productId: product.id, quantity, expectedAt: at })).toEqual(input("quantity"));
    }
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: daysFromNow(-1) })).toEqual(input("expectedAt"));
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: daysFromNow(-1), receiveNow: true })).toEqual(input("expectedAt"));
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: new Date(Number.NaN) })).toEqual(input("expectedAt"));
    expect(await refused({ productId: product.id, quantity: 1 })).toEqual(input("expectedAt"));
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: null, receiveNow: false })).toEqual(input("expectedAt"));
    // Every problem at once.
    expect(await refused({ productId: product.id, quantity: 0 })).toEqual([...input("quantity"), ...input("expectedAt")]);
    expect(await refused({ productId: 999_999, quantity: 1, expectedAt: at })).toEqual([{ code: "NOT_FOUND", field: ["input", "productId"] }]);
    expect(await refused({ productId: -1, quantity: 1, expectedAt: at })).toEqual([{ code: "NOT_FOUND", field: ["input", "productId"] }]);
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: at, locationId: 999_999 })).toEqual([
      { code: "NOT_FOUND", field: ["input", "locationId"] },
    ]);
    expect(await databaseDigest(db)).toEqual(digest);
  });

  it("refuses units past the product's capacity as scheduleRestock does", async () => {
    const { db } = database;
    const product = await newProduct(db);
    // The product full to its unit capacity with incoming units (written directly: no restock the API takes is this large).
    await db.execute(sql`
      INSERT INTO restocks (product_id, location_id, quantity, expected_at)
      SELECT ${product.id}::int, (SELECT id FROM locations ORDER BY priority, id LIMIT 1), ${LIMITS.units}::int, now() + interval '30 days'`);
    const real = await scheduleRestock(db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(3) }).then(
      () => undefined,
      (e: unknown) => (e as DomainError).issues,
    );
    expect(real).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "quantity"] })]);
    expect(await refused({ productId: product.id, quantity: 1, expectedAt: daysFromNow(3) })).toEqual([
      { code: "INVALID_INPUT", field: ["input", "quantity"] },
    ]);
    await db.execute(sql`UPDATE restocks SET status = 'CANCELLED' WHERE product_id = ${product.id}`);
  });
});

describeOnPostgres("isolation", () => {
  it("keeps its rows from every other transaction while it runs, and holds the product's lock until it ends", async () => {
    const { db } = database;
    const product = await newProduct(db);
    for (let i = 0; i < 3; i++) await placeOrder(db, { customer: "isolated", lines: [{ productId: product.id, quantity: 2 }] });
    const [level] = await rows<{ location_id: number }>(db, sql`SELECT location_id FROM stock_levels WHERE product_id = ${product.id}`);
    const [{ version, events }] = await rows<{ version: number; events: number }>(
      db,
      sql`SELECT (SELECT version FROM products WHERE id = ${product.id}) AS version, (SELECT coalesce(max(id), 0) FROM events) AS events`,
    );
    // A transaction holding the stock level stops the simulation at its receipt, after it has
    // inserted the restock, re-dated the backlog and written its events.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const blocker = db.transaction(async (tx) => {
      await tx.execute(sql`SELECT 1 FROM stock_levels WHERE product_id = ${product.id} AND location_id = ${level.location_id} FOR UPDATE`);
      holding();
      await released;
    });
    await held;
    const simulation = simulateRestock(db, { productId: product.id, quantity: 4, receiveNow: true });
    try {
      await waitFor(async () => {
        const [waiting] = await rows<{ n: number }>(
          db,
          sql`SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE "stock_levels"%'`,
        );
        return Number(waiting.n) === 1;
      }, "the simulation to wait at its receipt");
      // Another transaction sees none of it: no restock, no event, no new version, no new date.
      const [seen] = await rows<{ restocks: number; events: number; version: number; dated: number }>(
        db,
        sql`SELECT (SELECT count(*) FROM restocks WHERE product_id = ${product.id})::int AS restocks,
                   (SELECT coalesce(max(id), 0) FROM events) AS events,
                   (SELECT version FROM products WHERE id = ${product.id}) AS version,
                   (SELECT count(*) FROM backorders WHERE product_id = ${product.id} AND expected_at IS NOT NULL)::int AS dated`,
      );
      expect({ ...seen, events: Number(seen.events) }).toEqual({ restocks: 0, events: Number(events), version, dated: 0 });
      // And cannot write the product: the simulation holds its lock, as the real restock would.
      const locked = await db.execute(sql`SELECT 1 FROM products WHERE id = ${product.id} FOR UPDATE NOWAIT`).then(
        () => "free",
        (error: { cause?: { code?: string }; code?: string }) => error.cause?.code ?? error.code,
      );
      expect(locked).toBe("55P03");
    } finally {
      release();
      await blocker;
    }
    expect((await simulation).filledUnits).toBe(4);
    const [after] = await rows<{ restocks: number; version: number }>(
      db,
      sql`SELECT (SELECT count(*) FROM restocks WHERE product_id = ${product.id})::int AS restocks, (SELECT version FROM products WHERE id = ${product.id}) AS version`,
    );
    expect(after).toEqual({ restocks: 0, version });
  });
});

/**
 * Retention of the stock ledger, the idempotency keys, the lost demand and the delivered webhooks
 * (docs/ARCHITECTURE.md, "Growth of the logs"): old movements are folded into opening balances so
 * that every invariant the audit checks still holds, old keys, lost demand and deliveries are
 * deleted in batches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql, type SQL } from "drizzle-orm";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { auditInvariants } from "../../server/services/audit.service.js";
import { createLocation } from "../../server/services/location.service.js";
import {
  OPENING_BALANCE_REASON,
  pruneIdempotencyKeys,
  pruneLogs,
  pruneLostDemand,
  pruneStockMovements,
  pruneWebhookDeliveries,
} from "../../server/services/log-retention.service.js";
import { cancelOrder, cancelOrderLine, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { expectCleanAudit } from "../support/audit.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { startTestServer } from "../support/http.js";

const database = useFreshDatabase();

/** A year and a bit ago: what the default stock movement and lost demand retentions cut at. */
const cutoff = () => daysFromNow(-400);

/** Makes the stock movements matching `where` 500 days old (balances, with negative ids, never). */
async function ageMovements(where: SQL = sql`true`): Promise<void> {
  await database.db.execute(sql`UPDATE stock_movements SET created_at = created_at - interval '500 days' WHERE id > 0 AND (${where})`);
}

/** Every stock level's onHand and allocated, and its ledger's sum, by `product:location`. */
async function stockAndLedger(): Promise<Record<string, { onHand: number; allocated: number; ledger: number }>> {
  const found = await rows<{ product_id: number; location_id: number; on_hand: number; allocated: number; ledger: string | number | null }>(
    database.db,
    sql`SELECT s.product_id, s.location_id, s.on_hand, s.allocated,
               (SELECT sum(m.delta) FROM stock_movements m WHERE m.product_id = s.product_id AND m.location_id = s.location_id) AS ledger
        FROM stock_levels s ORDER BY s.product_id, s.location_id`,
  );
  return Object.fromEntries(
    found.map((row) => [`${row.product_id}:${row.location_id}`, { onHand: row.on_hand, allocated: row.allocated, ledger: Number(row.ledger ?? 0) }]),
  );
}

/** The ledger's rows, oldest id first (balances first). */
async function movements(where: SQL = sql`true`) {
  const found = await rows<{
    id: string | number;
    product_id: number;
    location_id: number;
    delta: number;
    kind: string;
    reason: string | null;
    old: boolean;
  }>(
    database.db,
    sql`SELECT id, product_id, location_id, delta, kind, reason, created_at < now() - interval '400 days' AS old
        FROM stock_movements WHERE ${where} ORDER BY id`,
  );
  return found.map((row) => ({ ...row, id: Number(row.id) }));
}

/**
 * A shop's history through the services: stock at two locations, orders that allocate, wait,
 * ship and are cancelled, a restock received in two parts, adjustments, refused demand.
 */
async function someHistory(tag: string) {
  // The product first: on an empty database it makes MAIN, the default location.
  const product = await newProduct(database.db, { initialStock: 5 });
  const second = await createLocation(database.db, { code: uniqueSku(`LOC-${tag}`), name: "Second", priority: 5 });
  const denied = await newProduct(database.db, { backorderPolicy: "DENY", initialStock: 2 });
  await adjustStock(database.db, { productId: product.id, locationId: second.id, delta: 3, reason: "found" });
  const shipped = await placeOrder(database.db, { customer: `${tag}-a`, lines: [{ productId: product.id, quantity: 4 }] });
  const waiting = await placeOrder(database.db, { customer: `${tag}-b`, lines: [{ productId: product.id, quantity: 7 }] });
  await placeOrder(database.db, {
    customer: `${tag}-c`,
    lines: [{ productId: denied.id, quantity: 5 }],
    idempotencyKey: `${tag}-refused`,
  });
  await shipOrder(database.db, shipped.order.id);
  const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 10, expectedAt: daysFromNow(3) });
  await receiveRestock(database.db, restock.id, 4);
  const behind = await placeOrder(database.db, { customer: `${tag}-d`, lines: [{ productId: product.id, quantity: 3 }], idempotencyKey: `${tag}-d` });
  const [line] = await rows<{ id: number }>(database.db, sql`SELECT id FROM order_lines WHERE order_id = ${behind.order.id}`);
  await cancelOrderLine(database.db, line.id, 1);
  await cancelOrder(database.db, waiting.order.id, "changed their mind");
  await adjustStock(database.db, { productId: product.id, delta: -1, reason: "damaged" });
  await receiveRestock(database.db, restock.id);
  await shipOrder(database.db, behind.order.id);
  return { product, denied, second };
}

describe("pruning the stock ledger", () => {
  let first: Awaited<ReturnType<typeof someHistory>>;

  it("folds old movements into one opening balance per stock level: onHand, the ledger's sums and the audit stay as they were", async () => {
    first = await someHistory("h1");
    await ageMovements();
    await someHistory("h2"); // young: stays
    const before = await stockAndLedger();
    const young = await movements(sql`created_at >= now() - interval '400 days'`);
    const oldLevels = new Set((await movements(sql`created_at < now() - interval '400 days'`)).map((m) => `${m.product_id}:${m.location_id}`));
    expect(oldLevels.size).toBeGreaterThan(2);

    const deleted = await pruneStockMovements(database.db, cutoff(), { batch: 3 });

    expect(deleted).toBeGreaterThan(oldLevels.size);
    expect(await auditInvariants(database.db)).toEqual([]);
    expect(await stockAndLedger()).toEqual(before);
    const balances = await movements(sql`id < 0`);
    expect(balances.map((b) => `${b.product_id}:${b.location_id}`).sort()).toEqual([...oldLevels].sort());
    expect(balances.every((b) => b.kind === "INITIAL" && b.reason === OPENING_BALANCE_REASON)).toBe(true);
    expect(await movements(sql`id > 0`)).toEqual(young);
    expect(await pruneStockMovements(database.db, cutoff())).toBe(0);
  });

  it("adds later folds to the same balance rows, and the engine works on over them", async () => {
    const level = sql`product_id = ${first.product.id} AND location_id = ${first.second.id}`;
    const [balance] = await movements(sql`id < 0 AND ${level}`);
    await adjustStock(database.db, { productId: first.product.id, locationId: first.second.id, delta: 5, reason: "found more" });
    const { product } = await someHistory("h3");
    await ageMovements();
    const before = await stockAndLedger();

    await pruneStockMovements(database.db, cutoff(), { batch: 4 });

    expect(await movements(sql`id > 0`)).toEqual([]);
    expect(await stockAndLedger()).toEqual(before);
    expect(await movements(sql`id < 0 AND ${level}`)).toEqual([{ ...balance, delta: balance.delta + 5 }]);
    const balances = await movements(sql`id < 0`);
    expect(new Set(balances.map((b) => `${b.product_id}:${b.location_id}`)).size).toBe(balances.length);
    await expectCleanAudit(database.db);

    // Business as usual over a pruned ledger.
    await adjustStock(database.db, { productId: product.id, delta: 2, reason: "recount" });
    const { order } = await placeOrder(database.db, { customer: "after", lines: [{ productId: product.id, quantity: 3 }] });
    await shipOrder(database.db, order.id);
    await expectCleanAudit(database.db);
  });

  it("goes up the ledger and stops at the first movement that is not old enough", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    await adjustStock(database.db, { productId: product.id, delta: 1, reason: "young" });
    await adjustStock(database.db, { productId: product.id, delta: 1, reason: "old, after a young one" });
    await ageMovements(sql`reason IS DISTINCT FROM 'young'`);
    const before = await stockAndLedger();

    await pruneStockMovements(database.db, cutoff(), { batch: 2 });

    expect((await movements(sql`id > 0`)).map((m) => m.reason)).toEqual(["young", "old, after a young one"]);
    expect(await stockAndLedger()).toEqual(before);
    await expectCleanAudit(database.db);
  });
});

describe("pruning idempotency keys", () => {
  it("deletes keys past the retention; recent ones still replay, a pruned one places a new order", async () => {
    const product = await newProduct(database.db, { initialStock: 10 });
    const request = (key: string) => ({ customer: `idem-${key}`, lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: key });
    const kept = await placeOrder(database.db, request("kept"));
    const pruned = await placeOrder(database.db, request("pruned"));
    await database.db.execute(sql`UPDATE idempotency_keys SET created_at = now() - interval '8 days' WHERE key <> 'kept'`);

    expect(await pruneIdempotencyKeys(database.db, daysFromNow(-7), { batch: 1 })).toBeGreaterThanOrEqual(1);

    const keys = await rows<{ key: string }>(database.db, sql`SELECT key FROM idempotency_keys ORDER BY key`);
    expect(keys.map((k) => k.key)).toEqual(["kept"]);
    const replay = await placeOrder(database.db, request("kept"));
    expect(replay).toMatchObject({ replayed: true, order: { id: kept.order.id } });
    const again = await placeOrder(database.db, request("pruned"));
    expect(again.replayed).toBe(false);
    expect(again.order.id).not.toBe(pruned.order.id);
    // And that new order's key replays from now on.
    expect(await placeOrder(database.db, request("pruned"))).toMatchObject({ replayed: true, order: { id: again.order.id } });
  });
});

describe("pruning lost demand", () => {
  it("deletes refused demand past the retention and keeps the rest", async () => {
    const denied = await newProduct(database.db, { backorderPolicy: "DENY" });
    // Refused whole, nothing in stock: recorded all the same.
    await expect(placeOrder(database.db, { customer: "lost-old", lines: [{ productId: denied.id, quantity: 3 }] })).rejects.toThrow("in stock");
    await database.db.execute(sql`UPDATE lost_demand SET created_at = now() - interval '500 days'`);
    await expect(placeOrder(database.db, { customer: "lost-new", lines: [{ productId: denied.id, quantity: 2 }] })).rejects.toThrow("in stock");
    const before = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM lost_demand`);

    expect(await pruneLostDemand(database.db, cutoff(), { batch: 1 })).toBe(before[0].n - 1);

    const left = await rows<{ product_id: number; quantity: number }>(database.db, sql`SELECT product_id, quantity FROM lost_demand`);
    expect(left).toEqual([{ product_id: denied.id, quantity: 2 }]);
  });
});

describe("pruning delivered webhooks", () => {
  it("deletes deliveries delivered before the cutoff, in batches, and keeps dead letters and pending ones whatever their age", async () => {
    const [endpoint] = await rows<{ id: number }>(
      database.db,
      sql`INSERT INTO webhook_endpoints (url, secret, events) VALUES ('http://127.0.0.1:9/hook', 'whsec_dGVzdA==', '{ORDER_SHIPPED}') RETURNING id`,
    );
    const kinds = [
      ["old-1", "DELIVERED", 40],
      ["old-2", "DELIVERED", 35],
      ["old-3", "DELIVERED", 31],
      ["recent", "DELIVERED", 2],
      ["dead", "FAILED", 90],
      ["waiting", "PENDING", 90],
    ] as const;
    for (const [eventId, status, age] of kinds) {
      await database.db.execute(sql`
        INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, event_seq, payload, status, attempts, last_attempt_at)
        VALUES (${endpoint.id}, ${eventId}, 'ORDER_SHIPPED', 1, '{}', ${status}, 1, now() - make_interval(days => ${age}::int))`);
    }
    const left = () =>
      rows<{ event_id: string }>(database.db, sql`SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ${endpoint.id} ORDER BY id`);

    expect(await pruneWebhookDeliveries(database.db, daysFromNow(-30), { batch: 2 })).toBe(3);
    expect((await left()).map((row) => row.event_id)).toEqual(["recent", "dead", "waiting"]);
    expect(await pruneWebhookDeliveries(database.db, daysFromNow(-30))).toBe(0);
  });
});

describe("pruneLogs", () => {
  it("keeps every row of a log whose retention is 0", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    await placeOrder(database.db, { customer: "forever", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey: "forever" });
    await ageMovements();
    await database.db.execute(sql`UPDATE idempotency_keys SET created_at = now() - interval '500 days'`);
    const counts = sql`SELECT (SELECT count(*) FROM stock_movements)::int AS movements, (SELECT count(*) FROM idempotency_keys)::int AS keys`;
    const before = await rows(database.db, counts);

    expect(await pruneLogs(database.db, { stockMovementDays: 0, idempotencyKeyHours: 0, lostDemandDays: 0, webhookDeliveryDays: 0 })).toEqual({
      stockMovements: 0,
      idempotencyKeys: 0,
      lostDemand: 0,
      webhookDeliveries: 0,
    });
    expect(await rows(database.db, counts)).toEqual(before);
  });

  it("is what the server's timer runs, with the server's retentions and clock", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    await placeOrder(database.db, { customer: "timer", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: "timer" });
    const app = await startTestServer(database.connection, [], {
      eventPruneMs: 0,
      delaySweepMs: 0,
      idempotencyKeyRetentionHours: 24,
      stockMovementRetentionDays: 0,
      clock: () => daysFromNow(2),
    });
    try {
      const pruned = await app.pruneLogs();
      expect(pruned.idempotencyKeys).toBeGreaterThanOrEqual(1);
      expect(pruned.stockMovements).toBe(0);
      expect(await rows(database.db, sql`SELECT key FROM idempotency_keys`)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describeOnPostgres("pruning the stock ledger while the shop runs", () => {
  let pool: Connection;
  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 12 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("never lets the audit see a torn ledger, and two instances pruning at once fold each movement once", async () => {
    const products = await Promise.all([1, 2, 3].map(() => newProduct(pool.db, { initialStock: 30 })));
    for (let i = 0; i < 30; i++) {
      await adjustStock(pool.db, { productId: products[i % 3].id, delta: 1, reason: `pre ${i}` });
    }
    await ageMovements();
    let running = true;
    const audits: number[] = [];
    const auditor = (async () => {
      while (running) audits.push((await auditInvariants(pool.db)).length);
    })();
    const shop = Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const productId = products[i % 3].id;
        if (i % 4 === 0) return adjustStock(pool.db, { productId, delta: 2, reason: `during ${i}` });
        const { order } = await placeOrder(pool.db, { customer: `busy${i}`, lines: [{ productId, quantity: 1 }] });
        if (i % 4 === 1) await shipOrder(pool.db, order.id);
      }),
    );
    const pruners = Promise.all([pruneStockMovements(pool.db, cutoff(), { batch: 5 }), pruneStockMovements(pool.db, cutoff(), { batch: 5 })]);
    await Promise.all([shop, pruners]);
    // Whatever one pruner gave way on, a later run folds.
    await pruneStockMovements(pool.db, cutoff(), { batch: 5 });
    running = false;
    await auditor;

    expect(audits.length).toBeGreaterThan(0);
    expect(audits.every((n) => n === 0)).toBe(true);
    expect(await movements(sql`id > 0 AND created_at < now() - interval '400 days'`)).toEqual([]);
    const ledger = await stockAndLedger();
    expect(Object.values(ledger).every((level) => level.ledger === level.onHand)).toBe(true);
  });
});

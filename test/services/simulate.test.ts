/**
 * `npm run simulate` (docs/ARCHITECTURE.md, "Simulating a month"): a seeded month played through
 * the services on a fresh embedded database under a virtual clock. The runs here are the command's
 * own (`simulate`), each on a PGlite of its own: the virtual clock works through PGlite's clock, so
 * there is nothing to run on PostgreSQL.
 */
import { spawn } from "node:child_process";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Database, rows, schema } from "../../drizzle/db.js";
import { auditInvariants, type Violation } from "../../server/services/audit.service.js";
import { simulate, type SimulateOptions, type SimulationResult } from "../../server/cli/simulation-run.js";
import { createScenario, DAY, DEFAULT_START, type ScenarioOptions, type SimulationKind } from "../../server/cli/simulation-scenario.js";
import { formatSimulation } from "../../server/cli/simulation-table.js";
import { onPostgres, rolledBack } from "../support/database.js";
import { formatViolations } from "../support/audit.js";

const { backorders, events, locations, orders } = schema;

/** What a run's database showed at its end, read before it was closed. */
interface Seen {
  /** now(), clock_timestamp() and statement_timestamp() at the end of the month, and a column default written then. */
  clock: { now: number; clockTimestamp: number; statementTimestamp: number; columnDefault: number };
  /** Every order's created_at (a column default), in id order. */
  orderTimes: number[];
  /** Backorders that waited past their promise, each with whether its order has a DELAYED event. */
  slipped: { id: number; orderId: number; hasDelayedEvent: boolean }[];
  /** Promises kept and filled backorders with a promise, counted straight from the table. */
  kept: number;
  promised: number;
  violations: Violation[];
}

interface Run {
  options: ScenarioOptions;
  result: SimulationResult;
  table: string;
  seen: Seen;
}

const ms = (value: unknown): number => new Date(value as string | Date).getTime();

/** What the test reads from a run's database before `simulate` closes it. */
async function look(db: Database): Promise<Seen> {
  const [clock] = await rows<{ now: string; clock: string; statement: string }>(
    db,
    sql`SELECT now() AS now, clock_timestamp() AS clock, statement_timestamp() AS statement`,
  );
  // A row written only to read its default, rolled back: the audit below sees the month as it ended.
  const [location] = await rolledBack(db, (tx) => tx.insert(locations).values({ code: "CLOCK-PROBE", name: "clock probe" }).returning());
  const orderTimes = (await db.select({ createdAt: orders.createdAt }).from(orders).orderBy(orders.id)).map((row) => row.createdAt.getTime());
  const b = backorders;
  const slipped = await rows<{ id: number; order_id: number; has_delayed_event: boolean }>(
    db,
    sql`SELECT ${b.id} AS id, ${b.orderId} AS order_id,
               EXISTS (SELECT 1 FROM ${events} WHERE ${events.type} = 'ORDER_CHANGED' AND ${events.orderId} = ${b.orderId}
                                                 AND ${events.payload}->>'kind' = 'DELAYED') AS has_delayed_event
        FROM ${b}
        WHERE ${b.promisedAt} IS NOT NULL
          AND ((${b.status} = 'FILLED' AND ${b.filledAt} > ${b.promisedAt})
               OR (${b.status} = 'CANCELLED' AND ${b.cancelledAt} > ${b.promisedAt})
               OR (${b.status} = 'WAITING' AND (${b.expectedAt} IS NULL OR ${b.expectedAt} > ${b.promisedAt} OR ${b.promisedAt} < now())))
        ORDER BY ${b.id}`,
  );
  const [promises] = await rows<{ kept: number; promised: number }>(
    db,
    sql`SELECT count(*) FILTER (WHERE ${b.filledAt} <= ${b.promisedAt})::int AS kept, count(*)::int AS promised
        FROM ${b} WHERE ${b.status} = 'FILLED' AND ${b.promisedAt} IS NOT NULL`,
  );
  return {
    clock: { now: ms(clock.now), clockTimestamp: ms(clock.clock), statementTimestamp: ms(clock.statement), columnDefault: location.createdAt.getTime() },
    orderTimes,
    slipped: slipped.map((row) => ({ id: Number(row.id), orderId: Number(row.order_id), hasDelayedEvent: row.has_delayed_event })),
    kept: Number(promises.kept),
    promised: Number(promises.promised),
    violations: await auditInvariants(db),
  };
}

async function run(kind: SimulationKind, overrides: Partial<SimulateOptions> = {}): Promise<Run> {
  const options: ScenarioOptions = { seed: 1, days: 30, kind, products: 6, start: DEFAULT_START, ...overrides };
  let seen: Seen | undefined;
  const result = await simulate({
    ...options,
    inspect: async (db) => {
      seen = await look(db);
    },
  });
  return { options, result, table: formatSimulation(result), seen: seen! };
}

describe.skipIf(onPostgres)("npm run simulate (on the embedded database only: its clock is the one the simulation moves)", () => {
  let onTime: Run;
  let late: Run;
  beforeAll(async () => {
    // Two default months (30 days, 6 products), one after the other: the clock is the process's.
    onTime = await run("on-time");
    late = await run("late");
  }, 300_000);

  it("moves the database's clock: now(), clock_timestamp(), statement_timestamp() and column defaults read the virtual instant", () => {
    const end = DEFAULT_START + 30 * DAY;
    for (const { seen } of [onTime, late]) {
      expect(seen.clock).toEqual({ now: end, clockTimestamp: end, statementTimestamp: end, columnDefault: end });
    }
    // Each order's created_at (DEFAULT now()) is the instant its customer arrived in the scenario.
    const arrivals = new Set(createScenario(onTime.options).arrivals.map((arrival) => arrival.at));
    expect(onTime.seen.orderTimes).toHaveLength(onTime.result.counts.orders);
    expect(onTime.seen.orderTimes.every((at) => arrivals.has(at))).toBe(true);
    expect(new Set(onTime.seen.orderTimes).size).toBe(onTime.seen.orderTimes.length);
    // And the real clock is back.
    expect(Math.abs(Date.now() - performance.timeOrigin - performance.now())).toBeLessThan(60_000);
  });

  it("keeps etaAccuracy at 0.95 or more when every restock comes on time or early", () => {
    const { metrics, counts } = onTime.result;
    expect(counts.restocksReceived.late).toBe(0);
    expect(counts.restocksReceived.early + counts.restocksReceived["on-time"]).toBeGreaterThan(10);
    expect(onTime.seen.promised).toBeGreaterThan(50);
    expect(metrics.etaAccuracy).toBeGreaterThanOrEqual(0.95);
    // The metric is the share of kept promises among filled backorders, counted here from the table.
    expect(metrics.etaAccuracy).toBeCloseTo(onTime.seen.kept / onTime.seen.promised, 10);
  });

  it("lowers etaAccuracy when restocks come late, and every backorder that slipped has a DELAYED event for its order", () => {
    const { metrics, counts } = late.result;
    expect(counts.restocksReceived.late).toBeGreaterThan(5);
    expect(counts.restocksRescheduled).toBeGreaterThan(0);
    expect(metrics.etaAccuracy).not.toBeNull();
    expect(metrics.etaAccuracy!).toBeLessThan(0.95);
    expect(metrics.etaAccuracy!).toBeLessThan(onTime.result.metrics.etaAccuracy!);
    expect(metrics.etaAccuracy).toBeCloseTo(late.seen.kept / late.seen.promised, 10);
    expect(late.seen.slipped.length).toBeGreaterThan(10);
    expect(late.seen.slipped.filter((backorder) => !backorder.hasDelayedEvent)).toEqual([]);
    expect(counts.delayedEvents).toBeGreaterThanOrEqual(new Set(late.seen.slipped.map((backorder) => backorder.orderId)).size);
  });

  it("ends each month with a clean audit", () => {
    for (const { seen } of [onTime, late]) {
      if (seen.violations.length > 0) throw new Error(formatViolations(seen.violations));
    }
  });

  it("prints the same table for the same seed, and the scenario depends on the seed", { timeout: 240_000 }, async () => {
    const first = await run("mixed", { seed: 7, days: 12 });
    const second = await run("mixed", { seed: 7, days: 12 });
    expect(second.table).toBe(first.table);
    expect(first.result.counts.orders).toBeGreaterThan(20);
    expect(first.table).toContain("etaAccuracy");
    const options = { seed: 7, days: 12, kind: "mixed" as const, products: 6, start: DEFAULT_START };
    expect(createScenario(options)).toEqual(createScenario(options));
    expect(createScenario({ ...options, seed: 8 }).arrivals).not.toEqual(createScenario(options).arrivals);
  });

  it("draws DENY and capped products and refuses their units with OUT_OF_STOCK, BACKORDER_LIMIT_EXCEEDED and WAIT_TOO_LONG", () => {
    const roles = createScenario(onTime.options).products.map((product) => product.role);
    expect(new Set(roles)).toEqual(new Set(["open", "limited", "deny", "wait-capped"]));
    const codes = new Set([...onTime.result.metrics.lostDemand, ...late.result.metrics.lostDemand].map((figure) => figure.code));
    expect(codes).toEqual(new Set(["OUT_OF_STOCK", "BACKORDER_LIMIT_EXCEEDED", "WAIT_TOO_LONG"]));
  });

  it("refuses bad options with exit code 2 and the usage, before opening a database", async () => {
    for (const args of [
      ["--days", "0"],
      ["--scenario", "sometimes"],
      ["--seed", "x"],
      ["--products", "101"],
      ["--speed", "1"],
    ]) {
      const child = spawn(process.execPath, ["--import", "tsx", "server/cli/simulate.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toContain("usage: npm run simulate");
    }
  }, 60_000);
});

/**
 * Cost buckets shared by every instance (cost_budgets): the merge statement on the real database,
 * and two servers on one PostgreSQL where a key that spent its budget on one is throttled on the
 * other (docs/ARCHITECTURE.md, "Access and limits").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../drizzle/db.js";
import type { App } from "../../server/http/app.js";
import { mergeCostBudgets, pruneCostBudgets } from "../../server/services/cost-budget.service.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { postGraphQL, startTestServer } from "../support/http.js";

const database = useFreshDatabase();

describe("the shared cost buckets", () => {
  it("adds each instance's spending to one bucket per caller, drained at its rate", async () => {
    const first = await mergeCostBudgets(database.db, [{ caller: "key:a", spent: 30, refillPerSecond: 0.001 }]);
    expect(first.get("key:a")?.level).toBeCloseTo(30, 1);
    const both = await mergeCostBudgets(database.db, [
      { caller: "key:a", spent: 20, refillPerSecond: 0.001 },
      { caller: "key:b", spent: 5, refillPerSecond: 0.001 },
    ]);
    expect(both.get("key:a")?.level).toBeCloseTo(50, 1);
    expect(both.get("key:b")?.level).toBeCloseTo(5, 1);
    // Another instance that spent nothing still hears every bucket that is not empty.
    expect((await mergeCostBudgets(database.db, [])).get("key:a")?.level).toBeCloseTo(50, 1);
    // A refund takes points out, never below empty; an empty bucket is not listed.
    expect((await mergeCostBudgets(database.db, [{ caller: "key:b", spent: -50, refillPerSecond: 0.001 }])).get("key:b")?.level).toBe(0);
    expect((await mergeCostBudgets(database.db, [])).has("key:b")).toBe(false);
  });

  it("drains a bucket by the time passed, and prunes the empty ones", async () => {
    await mergeCostBudgets(database.db, [{ caller: "key:fast", spent: 10, refillPerSecond: 1_000_000 }]);
    await mergeCostBudgets(database.db, [{ caller: "key:slow", spent: 10, refillPerSecond: 0.001 }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await mergeCostBudgets(database.db, [{ caller: "key:fast", spent: 0, refillPerSecond: 1_000_000 }])).get("key:fast")?.level).toBe(0);
    expect(await pruneCostBudgets(database.db)).toBeGreaterThanOrEqual(1);
    expect((await mergeCostBudgets(database.db, [{ caller: "key:slow", spent: 0, refillPerSecond: 0.001 }])).get("key:slow")?.level).toBeCloseTo(10, 1);
  });
});

describeOnPostgres("two instances on one PostgreSQL", () => {
  // A READER bucket of 20 points that barely refills: each `{ __typename }` pays the minimum, 1.
  const limits = { READER: { capacity: 20, refillPerSecond: 0.01, maxCost: 20 } };
  const connections: Connection[] = [];
  const apps: App[] = [];
  let key: string;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const connection = await connect({ databaseUrl: database.url });
      connections.push(connection);
      apps.push(await startTestServer(connection, [], { limits, budgetSyncMs: 50 }));
    }
    key = (await createApiKey(database.db, { name: "shared budget reader", role: "READER" })).secret;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const connection of connections) await connection.close();
  });

  const ask = (app: App) => postGraphQL(app.url, "{ __typename }", {}, { key });

  it("throttles on one instance a key that spent its budget on the other", async () => {
    const [a, b] = apps as [App, App];
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await ask(a)).status);
    expect(answers.filter((status) => status === 200)).toHaveLength(20);
    expect(answers.at(-1)).toBe(429);
    // One merge each, as their timers do: A's spending goes in, B takes the shared levels back.
    await a.syncBudgets();
    await b.syncBudgets();
    const refused = await ask(b);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("THROTTLED");
  });

  it("merges on its timer: what a key spent on one instance reaches the shared bucket by itself", async () => {
    const [a] = apps as [App, App];
    const other = await createApiKey(database.db, { name: "timer reader", role: "READER" });
    for (let i = 0; i < 5; i++) expect((await postGraphQL(a.url, "{ __typename }", {}, { key: other.secret })).status).toBe(200);
    const deadline = Date.now() + 5_000;
    let level = 0;
    while (level < 4.9 && Date.now() < deadline) {
      level = (await mergeCostBudgets(database.db, [])).get(`key:${other.apiKey.id}`)?.level ?? 0;
      if (level < 4.9) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(level).toBeGreaterThanOrEqual(4.9);
  });
});

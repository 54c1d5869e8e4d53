/**
 * Issue 10's attacks replayed against the real server in a child process (test/support/server-process.ts),
 * on PostgreSQL, with the default query limits (`DEFAULT_QUERY_LIMITS`: READER 5,000 points, 250 a
 * second, 5,000 a request, 10 connections, 100 operations a connection). While each attack runs,
 * the test watches the server from outside (test/support/outside-probe.ts, a worker thread):
 *
 *  - `/healthz`, asked every 20 ms on a new connection, answers within {@link HEALTHZ_P99_MS} at
 *    the 99th percentile and never fails;
 *  - the server's resident memory stays under its baseline plus {@link RSS_HEADROOM_BYTES};
 *  - an honest client with a key of its own gets its answers all along;
 *  - the attacker ends refused or throttled with coded errors (never an internal error, never an
 *    answer beyond what its budget pays for), the server logs no error, and, where the attack
 *    may write nothing, the database is as it was.
 *
 * Each attack runs for a few seconds ({@link ATTACK_MS}); the file prints one line of figures per
 * attack. Value bounds (attack g) are covered in test/security/value-bounds.test.ts.
 */
import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { countReturnedObjects } from "../../server/graphql/limits/query-cost.js";
import { DEFAULT_QUERY_LIMITS } from "../../server/graphql/limits/query-limits.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import type { ApiKeyRole, ProductRecord } from "../../server/services/types.js";
import { databaseDigest } from "../support/access.js";
import { newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { waitFor } from "../support/live.js";
import { percentile, type ProbeReport, residentBytes, startProbe } from "../support/outside-probe.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { type Connection, connectWith as connect, type ErrorBody, type Run, runOperation as run } from "../support/ws-client.js";

/** The bound: /healthz answers within this at the 99th percentile while an attack runs. */
const HEALTHZ_P99_MS = 250;
/**
 * Memory the server may gain over its resident size before the attacks (measured at about 200 MB
 * after start and seeding): a flood of 850 KB bodies peaked about 100 MB above it. 300 MB leaves
 * room for the garbage collector's timing without letting anything grow per request.
 */
const RSS_HEADROOM_BYTES = 300 * 1024 * 1024;
/** How long each attack floods. */
const ATTACK_MS = 3_000;
const READER = DEFAULT_QUERY_LIMITS.READER;

const ADMIN_KEY = `bo_attacks_${randomBytes(18).toString("base64url")}`;
/** Orders of 100 lines, each line on its own product: every product is in all of them. */
const ORDERS = 40;
const LINES = 100;

/** Issue 10 (a): 1 order → 100 lines → their order → 100 lines → their order → 100 lines. */
const AMPLIFICATION =
  "query($p: ID) { orders(first: 1, filter: { productId: $p }) { nodes { lines { order { lines { order { lines { quantity } } } } } } } }";
/** The costliest page a READER may ask for: 40 orders of up to 100 lines, 4,040 points, and as many objects here. */
const HEAVIEST = "query($p: ID) { orders(first: 40, filter: { productId: $p }) { nodes { lines { quantity } } } }";
/** What the honest client asks, again and again: 3 points. */
const HONEST = "{ orders(first: 2) { nodes { number } } }";

interface CostBody {
  requested: number;
  actual?: number;
  charged: number;
  budget: { remaining: number; capacity: number; refillPerSecond: number };
}
interface Answer {
  status: number;
  data?: unknown;
  errors?: ErrorBody[];
  cost?: CostBody;
  retryAfter: string | null;
}

async function post(url: string, key: string, body: string): Promise<Answer> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body });
  const parsed = (await response.json()) as { data?: unknown; errors?: ErrorBody[]; extensions?: { cost?: CostBody } };
  return {
    status: response.status,
    data: parsed.data,
    errors: parsed.errors,
    cost: parsed.extensions?.cost,
    retryAfter: response.headers.get("retry-after"),
  };
}

function body(query: string, variables: Record<string, unknown> = {}): string {
  return JSON.stringify({ query, variables });
}

/** `status code` of an answer: "200 ok" when it has data and no error. */
function outcome(answer: Answer): string {
  return `${answer.status} ${answer.errors?.length ? String(answer.errors[0].extensions?.code) : "ok"}`;
}

/** How many of each outcome. */
class Tally {
  readonly counts = new Map<string, number>();
  add(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }
  get(what: string): number {
    return this.counts.get(what) ?? 0;
  }
  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }
  toString(): string {
    return [...this.counts].map(([what, n]) => `${what}: ${n}`).join(", ");
  }
}

/** Runs `clients` loops of `step` until `ms` have passed; resolves when every loop has stopped. */
async function flood(clients: number, ms: number, step: (client: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < deadline) await step(client);
    }),
  );
  return performance.now() - started;
}

/** The code of a run's first error, or "ok". */
function runOutcome(result: Run): string {
  return result.errors.length ? String(result.errors[0].extensions?.code) : "ok";
}

/** Starts a subscription on `client` that hands each data payload to `onData`; returns its disposer. */
function listen(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: unknown) => void,
  onError: (errors: ErrorBody[]) => void = () => {},
): () => void {
  return client.subscribe(
    { query, variables },
    {
      next: (value) => {
        if (value.data) onData(value.data);
        if (value.errors) onError(value.errors as ErrorBody[]);
      },
      error: (error) => onError(Array.isArray(error) ? (error as ErrorBody[]) : [{ message: String(error), extensions: { code: "CONNECTION_CLOSED" } }]),
      complete: () => {},
    },
  );
}

describeOnPostgres("issue 10's attacks against a server process", () => {
  const database = useFreshDatabase();
  let server: ServerProcess;
  let productId = "";
  /** Every product's global id: the honest writer's orders have a line on each. */
  let productIds: string[] = [];
  let oldCursor = "";
  let baselineRss = 0;
  const figures: string[] = [];

  const newKey = async (role: ApiKeyRole, name: string) => (await createApiKey(database.db, { name, role })).secret;
  const dataDigest = async () => Object.fromEntries(Object.entries(await databaseDigest(database.db)).filter(([table]) => table !== "cost_budgets"));

  beforeAll(async () => {
    const products: ProductRecord[] = [];
    for (let i = 0; i < LINES; i += 1) products.push(await newProduct(database.db, { initialStock: 1 }));
    productIds = products.map((product) => toGlobalId("Product", product.id));
    productId = productIds[0];
    server = await startServerProcess({ databaseUrl: database.url!, adminKey: ADMIN_KEY });
    oldCursor = ((await post(server.url, ADMIN_KEY, body("{ eventCursor }"))).data as { eventCursor: string }).eventCursor;
    // Four at a time: every order locks the same 100 products, so more would only queue.
    for (let i = 0; i < ORDERS; i += 4) {
      await Promise.all(
        Array.from({ length: Math.min(4, ORDERS - i) }, (_, j) =>
          placeOrder(database.db, { customer: `attacks-${i + j}`, lines: products.map((product) => ({ productId: product.id, quantity: 1 })) }),
        ),
      );
    }
    // Warm the server up (tsx compiled it; the first queries load the schema's paths), then measure its memory.
    const warm = await newKey("OPERATOR", "warm-up");
    for (let i = 0; i < 5; i += 1) await post(server.url, warm, body(HEAVIEST, { p: productId }));
    baselineRss = residentBytes(server.pid);
  }, 120_000);

  afterAll(async () => {
    for (const line of figures) console.log(line);
    await server?.stop();
  });

  /** What {@link underAttack} measured: asserted by {@link expectHealthy} after the attack's own assertions. */
  interface Health {
    name: string;
    report: ProbeReport;
    honest: Tally;
  }

  /**
   * Runs `attack` while the probe watches the server and an honest client of its own key
   * (`honestKey`, made before any digest of the database is taken) asks {@link HONEST} every
   * 50 ms; records the figures under `name` and hands back what `attack` returned and the health.
   */
  async function underAttack<T>(name: string, honestKey: string, attack: () => Promise<T>): Promise<{ result: T; health: Health }> {
    const probe = startProbe({ port: server.port, pid: server.pid });
    const honest = new Tally();
    const honestLatencies: number[] = [];
    let attacking = true;
    const honestLoop = (async () => {
      while (attacking) {
        const sent = performance.now();
        const answer = await post(server.url, honestKey, body(HONEST));
        honestLatencies.push(performance.now() - sent);
        honest.add(outcome(answer));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    let result: T;
    let report: ProbeReport;
    try {
      result = await attack();
    } finally {
      attacking = false;
      await honestLoop;
      report = await probe.stop();
    }
    figures.push(
      `attack ${name}: /healthz p99 ${percentile(report.latencies, 99).toFixed(1)} ms, max ${Math.max(...report.latencies).toFixed(1)} ms ` +
        `over ${report.latencies.length} probes (${report.failures} failed); RSS max ${(Math.max(...report.rss) / 2 ** 20).toFixed(0)} MB ` +
        `(baseline ${(baselineRss / 2 ** 20).toFixed(0)} MB); honest client ${honest} (p99 ${percentile(honestLatencies, 99).toFixed(0)} ms)`,
    );
    return { result: result!, health: { name, report, honest } };
  }

  /** The server stayed healthy through the attack, and the honest client was served all along. */
  function expectHealthy({ name, report, honest }: Health): void {
    expect(report.failures, `/healthz probes that failed during attack ${name}`).toBe(0);
    expect(report.latencies.length).toBeGreaterThan(50);
    expect(percentile(report.latencies, 99), `/healthz p99 during attack ${name}`).toBeLessThanOrEqual(HEALTHZ_P99_MS);
    expect(Math.max(...report.rss), `resident memory during attack ${name}`).toBeLessThan(baselineRss + RSS_HEADROOM_BYTES);
    expect(honest.get("200 ok"), `the honest client's answers during attack ${name}: ${honest}`).toBe(honest.total);
    expect(honest.total, `the honest client's answers during attack ${name}`).toBeGreaterThanOrEqual(5);
    expect(server.errorLines(), "the server logged no error").toEqual([]);
  }

  it("(a) the nested-lines amplification from 4 clients is refused at its full cost, cheaply; the heaviest page allowed is throttled", async () => {
    const attacker = await newKey("READER", "attacker a");
    // The heaviest page is asked with a fresh key: the flood's minimums may have drained the first one.
    const pager = await newKey("READER", "attacker a pages");
    const honestKey = await newKey("READER", "honest a");
    const before = await dataDigest();
    const amplification = body(AMPLIFICATION, { p: productId });
    const heaviest = body(HEAVIEST, { p: productId });
    const refused = new Tally();
    const paged = new Tally();
    let pagedMs = 0;
    let charged = 0;
    const { health } = await underAttack("(a) amplification", honestKey, async () => {
      await flood(4, ATTACK_MS, async () => {
        const answer = await post(server.url, attacker, amplification);
        refused.add(outcome(answer));
        expect(answer.data).toBeUndefined();
        if (answer.status === 400) expect(answer.errors?.[0].extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: 1_020_202, maxCost: 5_000 });
      });
      // A key that asks the most it may: 4,040 points a page, 250 points a second of refill.
      pagedMs = await flood(4, ATTACK_MS, async () => {
        const answer = await post(server.url, pager, heaviest);
        paged.add(outcome(answer));
        if (answer.status === 200) {
          expect(answer.cost!.charged).toBeGreaterThanOrEqual(countReturnedObjects(answer.data));
          charged += answer.cost!.charged;
        } else {
          expect(answer.errors?.[0].extensions).toMatchObject({ code: "THROTTLED", retryAfterSeconds: expect.any(Number) });
          expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
        }
      });
    });
    figures.push(`  (a) amplification answers: ${refused}; heaviest page: ${paged}`);
    // Every amplification is refused (QUERY_TOO_COSTLY, or THROTTLED once its minimums drained the bucket).
    expect(refused.get("400 QUERY_TOO_COSTLY") + refused.get("429 THROTTLED")).toBe(refused.total);
    expect(refused.total).toBeGreaterThan(20);
    // What the key was served is what its bucket paid for: its capacity, plus the refill.
    expect(paged.get("200 ok")).toBeGreaterThan(0);
    expect(charged).toBeLessThanOrEqual(READER.capacity + READER.refillPerSecond * (pagedMs / 1000 + 1));
    expect(paged.get("429 THROTTLED")).toBeGreaterThan(paged.get("200 ok"));
    expect(paged.get("200 ok") + paged.get("429 THROTTLED")).toBe(paged.total);
    expect(await dataDigest()).toEqual(before);
    expectHealthy(health);
  });
  it("(b) the amplification inside orderChanged is refused at subscribe; the costliest subscriptions allowed are charged per event and closed with 4413", async () => {
    const attacker = await newKey("READER", "attacker b");
    const honestKey = await newKey("READER", "honest b");
    const watcherKey = await newKey("READER", "watcher b");
    const amplification = "subscription { orderChanged { order { lines { order { lines { order { lines { quantity } } } } } } } }";
    // 1 + 1 + 100 lines + 100 products + 2,000 stock levels at most: 2,202 points, within the limit; about 300 objects an event here.
    const costliest = "subscription { orderChanged { order { lines { quantity product { stockLevels { onHand } } } } } }";
    const connections = await Promise.all(Array.from({ length: 4 }, () => connect(server.wsUrl, attacker)));
    const watcher = await connect(server.wsUrl, watcherKey);
    const refused = new Tally();
    const attackerErrors = new Tally();
    let attackerEvents = 0;
    let attackerObjects = 0;
    const watched = new Set<string>();
    const placed: string[] = [];
    const disposers: (() => void)[] = [];
    let elapsed = 0;
    let health: Health | undefined;
    try {
      disposers.push(
        listen(watcher.client, "subscription { orderChanged { cursor kind order { number } } }", {}, (data) => {
          watched.add((data as { orderChanged: { order: { number: string } } }).orderChanged.order.number);
        }),
      );
      for (const connection of connections) {
        for (let i = 0; i < 20; i += 1) {
          disposers.push(
            listen(
              connection.client,
              costliest,
              {},
              (data) => {
                attackerEvents += 1;
                attackerObjects += countReturnedObjects(data);
              },
              (errors) => attackerErrors.add(String(errors[0]?.extensions?.code)),
            ),
          );
        }
      }
      // The 80 subscriptions are admitted (a query behind them on each connection answers).
      for (const connection of connections) expect(runOutcome(await run(connection.client, "{ eventCursor }"))).toBe("ok");
      const placeOrderText = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code } } }";
      ({ health } = await underAttack("(b) amplified subscriptions", honestKey, async () => {
        const started = performance.now();
        await Promise.all([
          // The attacker subscribes the amplification again and again on each connection.
          ...connections.map(async (connection) => {
            while (performance.now() - started < ATTACK_MS && !connection.closed) refused.add(runOutcome(await run(connection.client, amplification)));
          }),
          // Meanwhile orders are placed, each of 100 lines.
          (async () => {
            let n = 0;
            while (performance.now() - started < ATTACK_MS) {
              const input = { customer: `attacks-b-${n++}`, lines: productIds.map((id) => ({ productId: id, quantity: 1 })) };
              const answer = await post(server.url, ADMIN_KEY, body(placeOrderText, { input }));
              expect(outcome(answer)).toBe("200 ok");
              placed.push((answer.data as { placeOrder: { order: { number: string } } }).placeOrder.order.number);
            }
          })(),
        ]);
        elapsed = performance.now() - started;
        // The watcher with a key of its own hears of every order placed.
        await waitFor(() => placed.every((number) => watched.has(number)), "the watcher to hear of every order placed", 10_000);
      }));
    } finally {
      for (const dispose of disposers) dispose();
      for (const connection of [...connections, watcher]) await connection.client.dispose();
    }
    const closes = new Tally();
    for (const connection of connections) closes.add(connection.closed ? String(connection.closed.code) : "open");
    figures.push(
      `  (b) amplified subscribes: ${refused}; ${placed.length} orders placed; 80 costliest subscriptions got ${attackerEvents} events, ` +
        `${attackerObjects} objects; their errors: ${attackerErrors}; connections: ${closes}`,
    );
    expect(refused.total).toBeGreaterThan(4);
    for (const [code] of refused.counts) expect(["QUERY_TOO_COSTLY", "THROTTLED", "CONNECTION_CLOSED"]).toContain(code);
    expect(refused.get("QUERY_TOO_COSTLY")).toBeGreaterThan(0);
    expect(placed.length).toBeGreaterThan(2);
    // What the attacker received is what its bucket paid for, give or take one event per subscription.
    expect(attackerObjects).toBeLessThanOrEqual(READER.capacity + READER.refillPerSecond * (elapsed / 1000 + 10) + 80 * 310);
    // And far from what it asked for: 80 subscriptions × every order placed.
    expect(attackerEvents).toBeLessThan(80 * placed.length);
    // Out of budget for longer than the server waits: closed with 4413 and the cursor to resume from.
    expect(closes.get("4413")).toBeGreaterThan(0);
    for (const connection of connections) if (connection.closed) expect(connection.closed.reason).toMatch(/^over the cost budget: resume with/);
    expectHealthy(health!);
  });

  it("(c) queries and mutations sent as WebSocket subscribe messages in a loop spend the same budget: throttled, mutations forbidden, nothing written", async () => {
    const attacker = await newKey("READER", "attacker c");
    const honestKey = await newKey("READER", "honest c");
    const before = await dataDigest();
    const mutations = [
      `mutation($p: ID!) { adjustStock(input: { productId: $p, delta: 1000, reason: "attack" }) { userErrors { code } } }`,
      `mutation($p: ID!) { placeOrder(input: { customer: "attack-c", lines: [{ productId: $p, quantity: 1 }] }) { order { number } userErrors { code } } }`,
      `mutation { createProduct(input: { sku: "ATTACK-C", name: "attack", price: "1.00" }) { product { id } } }`,
    ];
    const connections = await Promise.all(Array.from({ length: 2 }, () => connect(server.wsUrl, attacker)));
    const queries = new Tally();
    const writes = new Tally();
    let served = 0;
    let elapsed = 0;
    let health: Health | undefined;
    try {
      ({ health } = await underAttack("(c) operations over WebSocket", honestKey, async () => {
        // 10 operations in flight on each connection, for ATTACK_MS.
        elapsed = await flood(20, ATTACK_MS, async (client) => {
          const connection = connections[client % 2];
          const query = await run(connection.client, HEAVIEST, { p: productId });
          queries.add(runOutcome(query));
          if (query.errors.length === 0) served += countReturnedObjects(query.data[0]);
          const mutation = await run(connection.client, mutations[client % mutations.length], { p: productId });
          writes.add(runOutcome(mutation));
          expect(mutation.data.every((data) => Object.values(data as object).every((value) => value === null))).toBe(true);
        });
      }));
      // The same bucket over HTTP: out of budget there too.
      const overHttp = await post(server.url, attacker, body(HEAVIEST, { p: productId }));
      expect(outcome(overHttp)).toBe("429 THROTTLED");
    } finally {
      for (const connection of connections) await connection.client.dispose();
    }
    figures.push(`  (c) queries: ${queries}; mutations: ${writes}; objects served ${served}`);
    for (const [code] of queries.counts) expect(["ok", "THROTTLED"]).toContain(code);
    for (const [code] of writes.counts) expect(["FORBIDDEN", "THROTTLED"]).toContain(code);
    expect(writes.get("FORBIDDEN")).toBeGreaterThan(0);
    expect(queries.get("THROTTLED")).toBeGreaterThan(queries.get("ok"));
    expect(served).toBeLessThanOrEqual(READER.capacity + READER.refillPerSecond * (elapsed / 1000 + 1));
    expect(await dataDigest()).toEqual(before);
    expectHealthy(health!);
  });

  it("(d) a flood of 1,100 aliased fields with 838 KB of unused variables from 4 clients is refused before validation", async () => {
    const attacker = await newKey("READER", "attacker d");
    const honestKey = await newKey("READER", "honest d");
    const before = await dataDigest();
    const variables = Object.fromEntries(Array.from({ length: 838 }, (_, i) => [`v${i}`, "x".repeat(1_000 - `v${i}`.length - 6)]));
    const bodies = [
      // Fields and aliases past their limits: refused before validation.
      body(`{ nothing ${Array.from({ length: 1100 }, (_, i) => `a${i}: eventCursor`).join(" ")} }`, variables),
      // As the issue sent them, with arguments: past the token limit, refused while parsing.
      body(`{ ${Array.from({ length: 1100 }, (_, i) => `a${i}: product(sku: "S${i}") { id }`).join(" ")} }`, variables),
    ];
    expect(bodies[0].length).toBeGreaterThan(838_000);
    expect(bodies[0].length).toBeLessThan(1_000_000);
    const answers = new Tally();
    let elapsed = 0;
    const { health } = await underAttack("(d) aliases and variables", honestKey, async () => {
      let n = 0;
      elapsed = await flood(4, ATTACK_MS, async () => {
        const answer = await post(server.url, attacker, bodies[n++ % 2]);
        answers.add(outcome(answer));
        expect(answer.data).toBeUndefined();
        if (answer.status !== 429) expect(answer.cost?.charged).toBe(READER.minimumCost);
      });
    });
    figures.push(`  (d) answers: ${answers} in ${(elapsed / 1000).toFixed(1)} s`);
    for (const [what] of answers.counts) expect(["400 GRAPHQL_VALIDATION_FAILED", "400 GRAPHQL_PARSE_FAILED", "429 THROTTLED"]).toContain(what);
    expect(answers.total).toBeGreaterThan(20);
    // Each refusal is charged the minimum: the key is never served more than its bucket holds and refills.
    expect(answers.total - answers.get("429 THROTTLED")).toBeLessThanOrEqual(
      (READER.capacity + READER.refillPerSecond * (elapsed / 1000 + 1)) / READER.minimumCost,
    );
    expect(await dataDigest()).toEqual(before);
    expectHealthy(health);
  });

  it("(e) five orderChanged replays from an old cursor over thousands of events are charged every event and slowed to the key's refill", async () => {
    const attacker = await newKey("READER", "attacker e");
    const honestKey = await newKey("READER", "honest e");
    const [{ events, orderChanges }] = (await database.connection.db.execute(
      sql`SELECT count(*)::int AS events, count(*) FILTER (WHERE type = 'ORDER_CHANGED')::int AS "orderChanges" FROM events`,
    )) as unknown as { events: number; orderChanges: number }[];
    expect(events).toBeGreaterThan(2_000);
    const before = await dataDigest();
    const replay = "subscription($after: String) { orderChanged(after: $after) { cursor kind order { number lines { quantity } } } }";
    const connections = await Promise.all(Array.from({ length: 5 }, () => connect(server.wsUrl, attacker)));
    const honest = await connect(server.wsUrl, honestKey);
    let attackerEvents = 0;
    let attackerObjects = 0;
    let honestEvents = 0;
    const errors = new Tally();
    const disposers: (() => void)[] = [];
    let elapsed = 0;
    let health: Health | undefined;
    try {
      ({ health } = await underAttack("(e) replays", honestKey, async () => {
        const started = performance.now();
        for (const connection of connections) {
          disposers.push(
            listen(
              connection.client,
              replay,
              { after: oldCursor },
              (data) => {
                attackerEvents += 1;
                attackerObjects += countReturnedObjects(data);
              },
              (found) => errors.add(String(found[0]?.extensions?.code)),
            ),
          );
        }
        // The honest key replays the same log, with a small selection: it gets all of it at once.
        disposers.push(
          listen(
            honest.client,
            "subscription($after: String) { orderChanged(after: $after) { cursor kind } }",
            { after: oldCursor },
            () => (honestEvents += 1),
          ),
        );
        await waitFor(() => honestEvents >= orderChanges, "the honest replay", ATTACK_MS);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, ATTACK_MS + 1_000 - (performance.now() - started))));
        elapsed = performance.now() - started;
      }));
    } finally {
      for (const dispose of disposers) dispose();
      for (const connection of [...connections, honest]) await connection.client.dispose();
    }
    figures.push(
      `  (e) log of ${events} events (${orderChanges} orderChanged): 5 replays got ${attackerEvents} events, ${attackerObjects} objects in ` +
        `${(elapsed / 1000).toFixed(1)} s (errors: ${errors}); the honest replay got ${honestEvents}`,
    );
    expect(honestEvents).toBeGreaterThanOrEqual(orderChanges);
    expect(attackerEvents).toBeGreaterThan(0);
    // About 102 objects an event: the bucket and its refill, plus one event of overshoot per replay.
    expect(attackerObjects).toBeLessThanOrEqual(READER.capacity + READER.refillPerSecond * (elapsed / 1000 + 1) + 5 * 110);
    expect(attackerEvents).toBeLessThan(5 * orderChanges);
    expect(await dataDigest()).toEqual(before);
    expectHealthy(health!);
  });

  it("(f) 5,000 subscriptions on one connection, again and again, and 30 connections for one key: the caps hold, coded", async () => {
    const attacker = await newKey("READER", "attacker f");
    const crowd = await newKey("READER", "attacker f connections");
    const honestKey = await newKey("READER", "honest f");
    const before = await dataDigest();
    const ROUNDS = 3;
    const refusals = new Tally();
    const floods: Connection[] = [];
    const opened: Connection[] = [];
    const closes = new Tally();
    const disposers: (() => void)[] = [];
    let health: Health | undefined;
    const started = performance.now();
    try {
      ({ health } = await underAttack("(f) subscriptions and connections", honestKey, async () => {
        // A flooding client reconnects and floods again: each connection is closed once it has been
        // refused as many operations as the cap, so the server parses and answers a bounded number.
        for (let round = 0; round < ROUNDS; round += 1) {
          const connection = await connect(server.wsUrl, attacker);
          floods.push(connection);
          for (let i = 0; i < 5_000; i += 1) {
            disposers.push(
              listen(
                connection.client,
                "subscription { restockChanged { cursor } }",
                {},
                () => {},
                (errors) => refusals.add(String(errors[0]?.extensions?.code)),
              ),
            );
          }
          await waitFor(() => connection.closed !== null, "the flooding connection to be closed", 10_000);
          await connection.client.dispose();
        }
        const settled = await Promise.allSettled(Array.from({ length: 30 }, () => connect(server.wsUrl, crowd)));
        for (const result of settled) {
          if (result.status === "fulfilled") {
            opened.push(result.value);
            closes.add("open");
          } else closes.add(String((result.reason as { close?: { code: number } }).close?.code));
        }
      }));
      // The key's other connections stay open.
      expect(opened.every((open) => open.closed === null)).toBe(true);
    } finally {
      for (const dispose of disposers) dispose();
      for (const open of [...floods, ...opened]) await open.client.dispose();
    }
    const { cost } = await post(server.url, attacker, body("{ eventCursor }"));
    const seconds = (performance.now() - started) / 1000;
    figures.push(`  (f) ${ROUNDS} × 5,000 subscribes: ${refusals}; 30 connections: ${closes}; the key's budget left after: ${cost?.budget.remaining}`);
    for (const flood of floods) {
      expect(flood.closed?.code, "a flooding connection is closed with 4429").toBe(4429);
      expect(flood.closed?.reason).toMatch(/^Too many operations/);
    }
    // Every subscription was refused: over the cap, or ended by the close (the close may overtake the
    // refusals the server was about to send). None ran.
    expect(refusals.get("TOO_MANY_SUBSCRIPTIONS") + refusals.get("CONNECTION_CLOSED")).toBe(ROUNDS * 5_000);
    expect(closes.get("open")).toBe(READER.maxConnectionsPerKey);
    expect(closes.get("4429")).toBe(30 - READER.maxConnectionsPerKey);
    expect(await dataDigest()).toEqual(before);
    // docs/ARCHITECTURE.md, "Access and limits": every operation costs at least a minimum, refused
    // ones too: each round paid for the cap's operations and as many refusals before it was closed.
    expect(cost!.budget.remaining, "the key's budget after the floods").toBeLessThanOrEqual(
      READER.capacity - ROUNDS * 2 * READER.maxSubscriptionsPerConnection * READER.minimumCost + READER.refillPerSecond * seconds,
    );
    expectHealthy(health!);
  });
});

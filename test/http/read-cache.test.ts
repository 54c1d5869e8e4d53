/**
 * The read cache (docs/ARCHITECTURE.md, "The read cache"), over real HTTP against the test file's
 * database: an answer is served again only while the database has committed nothing since it was
 * read, whoever wrote (the API, another connection as another instance or psql would), for at
 * most its maximum age, per key, and charged as its execution was. Hits and misses are read from
 * GET /metrics.
 */
import { sql } from "drizzle-orm";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { CommitClock } from "../../drizzle/commit-clock.js";
import { isCacheableQuery } from "../../server/graphql/read-cache.js";
import { createRoleKeys } from "../support/access.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type TestServer, useTestServer } from "../support/http.js";
import { PLACE_ORDER } from "../support/mutations.js";

const database = useFreshDatabase();
// Nothing in the background writes (budget sync, sweeps, pruning): every commit here is the test's.
const QUIET = { budgetSyncMs: 0, delaySweepMs: 0, expirySweepMs: 0, eventPruneMs: 0, webhooks: { enabled: false } } as const;
const server = useTestServer(database, QUIET);
const shortLived = useTestServer(database, { ...QUIET, readCacheMaxAgeMs: 150 });
const off = useTestServer(database, { ...QUIET, readCacheMaxAgeMs: 0 });

const PRODUCT = `query Page($sku: String!) { product(sku: $sku) { id name stock { available backordered } } }`;

/** The read cache's counters of `of`, from GET /metrics. */
async function lookups(of: TestServer): Promise<{ hit: number; miss: number }> {
  const text = await fetch(of.url.replace(/\/graphql$/, "/metrics")).then((response) => response.text());
  const count = (outcome: string) =>
    Number(new RegExp(`^backorder_read_cache_requests_total\\{outcome="${outcome}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { hit: count("hit"), miss: count("miss") };
}

/** What `run` adds to the counters. */
async function counted(of: TestServer, run: () => Promise<unknown>): Promise<{ hit: number; miss: number }> {
  const before = await lookups(of);
  await run();
  const after = await lookups(of);
  return { hit: after.hit - before.hit, miss: after.miss - before.miss };
}

/**
 * Sends `request` until the read cache answers it (at most 50 times) and returns that answer. On
 * PostgreSQL the other test files commit in their own databases all the time, and a commit
 * anywhere in the cluster ends every kept answer: a hit comes between two of them.
 */
async function untilHit<T>(of: TestServer, request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let answer: T | undefined;
    const outcome = await counted(of, async () => void (answer = await request()));
    if (outcome.hit === 1) return answer as T;
    expect(outcome).toEqual({ hit: 0, miss: 1 });
  }
  throw new Error("the read cache never answered in 50 requests");
}

async function stockedProduct(onHand = 5) {
  const sku = uniqueSku("CACHE");
  const product = await newProduct(database.db, { sku, name: "Cached lamp", initialStock: onHand, backorderPolicy: "ALLOW" });
  return { sku, product };
}

describe("the commit clock", () => {
  it("reads the same while nothing commits and moves with a commit on any connection", async () => {
    const clock = new CommitClock(database.db);
    // Two readings in a row agree, but for a commit elsewhere in the cluster (other test files on PostgreSQL).
    let agreed = false;
    for (let attempt = 0; attempt < 50 && !agreed; attempt++) agreed = (await clock.now()) === (await clock.now());
    expect(agreed).toBe(true);
    await database.db.execute(sql`CREATE TABLE IF NOT EXISTS clock_probe (n int)`);
    const first = await clock.now();
    await database.db.execute(sql`INSERT INTO clock_probe VALUES (1)`);
    expect(await clock.now()).not.toBe(first);
  });

  it("takes a reading after the call that asked for it, even with another reading on its way", async () => {
    const clock = new CommitClock(database.db);
    for (let i = 0; i < 5; i++) {
      const before = await clock.now();
      const onItsWay = clock.now();
      await database.db.execute(sql`INSERT INTO clock_probe VALUES (${i})`);
      // Asked after the commit: whether it shares the reading on its way or not, it sees the commit.
      const after = clock.now();
      const [first, second] = await Promise.all([onItsWay, after]);
      expect(second).not.toBe(before);
      expect([before, second]).toContain(first);
    }
  });

  it("shares one reading among callers that ask together", async () => {
    // The test's own database, its statements counted on their way (each still runs there).
    let statements = 0;
    const counted = new Proxy(database.db, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== "execute" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          statements += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const clock = new CommitClock(counted);
    // The first sends a reading; the seven asking while it is on its way share the next one.
    const readings = await Promise.all(Array.from({ length: 8 }, () => clock.now()));
    expect(statements).toBe(2);
    expect(readings.slice(2).every((reading) => reading === readings[1])).toBe(true);
    // Asked once both have answered: a statement of its own.
    await clock.now();
    expect(statements).toBe(3);
  });
});

describe("which queries are kept", () => {
  const cacheable = (query: string) => {
    const document = parse(query);
    const operation = document.definitions.find((d) => d.kind === "OperationDefinition");
    return isCacheableQuery(document, operation as never);
  };
  it("keeps reads of the catalogue and the backlog, through fragments", () => {
    expect(cacheable(`{ products(first: 2) { nodes { sku } } }`)).toBe(true);
    expect(cacheable(`query { __typename ...F } fragment F on Query { product(sku: "A") { sku } backlog { totalCount } }`)).toBe(true);
    expect(cacheable(`{ ... on Query { orders { totalCount } } }`)).toBe(true);
  });
  it("keeps no mutation, no `__typename` alone and no read outside the list", () => {
    expect(cacheable(`{ __typename }`)).toBe(false);
    expect(cacheable(`mutation { __typename }`)).toBe(false);
    expect(cacheable(`{ products { totalCount } webhookHealth { failing } }`)).toBe(false);
    expect(cacheable(`{ eventCursor }`)).toBe(false);
    expect(cacheable(`query { ...F } fragment F on Query { apiKeys { totalCount } }`)).toBe(false);
    expect(cacheable(`{ __schema { queryType { name } } }`)).toBe(false);
  });
});

describe("over HTTP", () => {
  it("serves the same answer again while nothing is committed, charged as its execution was", async () => {
    const { sku } = await stockedProduct();
    const first = await server.gql(PRODUCT, { sku });
    const second = await untilHit(server, () => server.gql(PRODUCT, { sku }));
    expect(second.body.data).toEqual(first.body.data);
    expect(second.body.data.product.stock.available).toBe(5);
    const cost = (response: typeof first) =>
      (response.body as { extensions: { cost: { requested: number; actual: number; charged: number } } }).extensions.cost;
    expect(cost(second).actual).toBe(cost(first).actual);
    expect(cost(second).charged).toBe(cost(first).charged);
    expect(cost(second).requested).toBe(cost(first).requested);
  });

  it("answers from the database after an order placed through the API", async () => {
    const { sku, product } = await stockedProduct();
    const before = await server.data(PRODUCT, { sku });
    expect(before.product.stock.available).toBe(5);
    const placed = await server.data(PLACE_ORDER, { input: { customer: "cache-1", lines: [{ productId: before.product.id, quantity: 2 }] } });
    expect(placed.placeOrder.userErrors).toEqual([]);
    const outcome = await counted(server, async () => {
      const after = await server.data(PRODUCT, { sku });
      expect(after.product.stock.available).toBe(3);
    });
    expect(outcome).toEqual({ hit: 0, miss: 1 });
    expect(product.id).toBeGreaterThan(0);
  });

  it("answers from the database after a write on another connection, as another instance or psql makes it", async () => {
    const { sku, product } = await stockedProduct();
    expect((await server.data(PRODUCT, { sku })).product.name).toBe("Cached lamp");
    expect((await untilHit(server, () => server.data(PRODUCT, { sku }))).product.name).toBe("Cached lamp");
    await database.db.execute(sql`UPDATE products SET name = 'Renamed lamp' WHERE id = ${product.id}`);
    expect((await server.data(PRODUCT, { sku })).product.name).toBe("Renamed lamp");
  });

  it("keeps answers per key: another key's first request runs", async () => {
    const keys = await createRoleKeys(database.db, "cache");
    const { sku } = await stockedProduct();
    await server.data(PRODUCT, { sku });
    const reader = await counted(server, () => server.data(PRODUCT, { sku }, { key: keys.READER.secret }));
    expect(reader).toEqual({ hit: 0, miss: 1 });
    await untilHit(server, () => server.data(PRODUCT, { sku }, { key: keys.READER.secret }));
  });

  it("keeps no answer with errors, and none of a query outside the list", async () => {
    const wrong = `{ products(first: -5) { totalCount } }`;
    const outcome = await counted(server, async () => {
      for (let i = 0; i < 2; i++) expect((await server.gql(wrong)).body.errors?.length).toBeGreaterThan(0);
    });
    expect(outcome).toEqual({ hit: 0, miss: 2 });
    const outside = await counted(server, async () => {
      for (let i = 0; i < 2; i++) await server.data(`{ webhookHealth { failed } }`);
    });
    expect(outside).toEqual({ hit: 0, miss: 0 });
  });

  it("serves no answer older than its maximum age, even with nothing committed", async () => {
    const { sku } = await stockedProduct();
    await shortLived.data(PRODUCT, { sku });
    await untilHit(shortLived, () => shortLived.data(PRODUCT, { sku }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await counted(shortLived, () => shortLived.data(PRODUCT, { sku }))).toEqual({ hit: 0, miss: 1 });
  });

  it("runs one execution for requests that arrive together and serves it to the others", async () => {
    // The first runs; those whose reading matches it wait for it (a reading on its way may split
    // them in two). On PostgreSQL a commit elsewhere can split them more: a burst without one comes.
    let shared = false;
    for (let attempt = 0; attempt < 20 && !shared; attempt++) {
      const { sku } = await stockedProduct();
      let answers: { product: { name: string } }[] = [];
      const outcome = await counted(server, async () => {
        answers = await Promise.all(Array.from({ length: 10 }, () => server.data(PRODUCT, { sku })));
      });
      expect(outcome.hit + outcome.miss).toBe(10);
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0].product.name).toBe("Cached lamp");
      shared = outcome.miss <= 2;
    }
    expect(shared).toBe(true);
  });

  it("is off at READ_CACHE_MAX_AGE_MS=0", async () => {
    const { sku } = await stockedProduct();
    const outcome = await counted(off, async () => {
      for (let i = 0; i < 3; i++) await off.data(PRODUCT, { sku });
    });
    expect(outcome).toEqual({ hit: 0, miss: 0 });
  });
});

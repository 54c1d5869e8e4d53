/**
 * Query limits over real HTTP and WebSocket (issue 5, items 2 and 6): depth and cost are refused
 * before anything runs, with the limit and the computed value; each key's leaky bucket throttles a
 * burst with THROTTLED, retryAfterSeconds and Retry-After, and recovers; every response carries
 * `extensions.cost`. The bucket tests run on a server of their own with small limits.
 */
import { createClient } from "graphql-ws";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_QUERY_LIMITS, type QueryLimitsOverride, type RoleLimits } from "../../server/graphql/limits/query-limits.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { newProduct, tableCounts } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { authorizationHeader, type GraphQLBody, useTestServer } from "../support/http.js";
import { wsUrl } from "../support/live.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });

/** 30 products; the first 3 have two backorders each, from two orders of three lines. */
const skus: string[] = [];
const backlogged: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 30; i += 1) skus.push((await newProduct(database.db, { initialStock: 0 })).sku);
  backlogged.push(...skus.slice(0, 3));
  for (const customer of ["limits-a", "limits-b"]) {
    await placeOrder(database.db, { customer, lines: backlogged.map((sku) => ({ sku, quantity: 2 })) });
  }
});

/** A new key of `role` (its own bucket). */
async function keyOf(role: ApiKeyRole): Promise<string> {
  return (await createApiKey(database.db, { name: `limits ${role}`, role })).secret;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: GraphQLBody & { extensions?: { cost?: CostBody } };
}

interface CostBody {
  requested: number;
  actual?: number;
  budget: { remaining: number; capacity: number; refillPerSecond: number };
}

/** Posts with the given key and keeps the headers (the helpers' responses have none). */
async function post(url: string, query: string, variables: Record<string, unknown> = {}, key?: string): Promise<RawResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader(key) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as RawResponse["body"] };
}

/** A valid query exactly `depth` levels deep: product → backlog(first: 1) → nodes → product → … */
function nested(depth: number): string {
  const chain = ["product(sku: $sku)"];
  const cycle = ["backlog(first: 1)", "nodes", "product"];
  while (chain.length < depth - 1) chain.push(cycle[(chain.length - 1) % 3]);
  const leaf = chain.at(-1)!.startsWith("backlog") ? "totalCount" : "id";
  return `query($sku: String) { ${chain.map((field) => `${field} { `).join("")}${leaf}${" }".repeat(chain.length)} }`;
}

/** products → backlog → order → lines, n to a page: 1 + n × (2 + n × 102) points (an order has up to 100 lines). */
const NESTED = `query($n: Int, $skus: [String!]) {
  products(first: $n, filter: { skus: $skus }) { nodes { backlog(first: $n) { nodes { order { lines { id } } } } } }
}`;

function errorOf(response: RawResponse) {
  expect(response.body.errors, JSON.stringify(response.body)).toHaveLength(1);
  return response.body.errors![0];
}

describe("depth", () => {
  const limit = DEFAULT_QUERY_LIMITS.ADMIN.maxDepth;

  it(`answers a query exactly ${limit} levels deep`, async () => {
    const response = await post(server.url, nested(limit), { sku: backlogged[0] });
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.body.data.product.backlog.nodes).toHaveLength(1);
  });

  it(`refuses a query ${limit + 1} levels deep with QUERY_TOO_DEEP, the limit and the depth, HTTP 400`, async () => {
    const response = await post(server.url, nested(limit + 1), { sku: backlogged[0] });
    expect(response.status).toBe(400);
    const error = errorOf(response);
    expect(error.extensions).toEqual({ code: "QUERY_TOO_DEEP", depth: limit + 1, maxDepth: limit });
    expect(error.message).toContain(`${limit + 1} levels deep`);
    expect(response.body.data).toBeUndefined();
  });

  it("refuses a query 50 levels deep", async () => {
    const response = await post(server.url, nested(50), { sku: backlogged[0] });
    expect(response.status).toBe(400);
    expect(errorOf(response).extensions).toMatchObject({ code: "QUERY_TOO_DEEP", depth: 50 });
  });

  it("refuses a query 1,000 levels deep with a coded error, not an internal one", async () => {
    const response = await post(server.url, nested(1000), { sku: backlogged[0] });
    expect(response.status).toBe(400);
    expect(errorOf(response).extensions).toMatchObject({ code: "QUERY_TOO_DEEP", depth: 1000 });
  });
});

describe("width", () => {
  it("refuses 1,000 aliases of one field before it runs", async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: eventCursor`).join(" ")} }`;
    const response = await post(server.url, query);
    expect(response.status).toBe(400);
    const error = errorOf(response);
    // server/graphql/limits/request-guards.ts counts aliases for every caller, before the cost is computed.
    expect(error.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(error.message).toMatch(/1000 aliases/);
  });
});

describe("cost per request", () => {
  const limit = DEFAULT_QUERY_LIMITS.ADMIN.maxCost;
  // 1 + 49 × (1 + 1 + 100) + 1 = 5,000 points.
  const atLimit = `{ products(first: 49) { nodes { backlog(first: 100) { nodes { id } } } } product(sku: "none") { id } }`;
  const overLimit = atLimit.replace("product(sku", 'other: product(sku: "none") { id } product(sku');

  it(`answers a query that may cost exactly ${limit} points`, async () => {
    const response = await post(server.url, atLimit);
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    expect(response.body.extensions?.cost?.requested).toBe(limit);
  });

  it(`refuses a query that may cost ${limit + 1} points with QUERY_TOO_COSTLY, the limit and the cost, HTTP 400`, async () => {
    const response = await post(server.url, overLimit);
    expect(response.status).toBe(400);
    const error = errorOf(response);
    expect(error.extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: limit + 1, maxCost: limit });
    expect(error.message).toContain(`${limit + 1} points`);
    expect(response.body.extensions?.cost?.requested).toBe(limit + 1);
  });

  it("costs products → backlog → order → lines 925 points at first 3 and counts what came back as actual", async () => {
    const response = await post(server.url, NESTED, { n: 3, skus: backlogged });
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    const cost = response.body.extensions!.cost!;
    expect(cost.requested).toBe(1 + 3 * (2 + 3 * 102));
    // 1 connection + 3 products + 3 backlogs + 6 backorders + 6 orders + 18 lines.
    expect(cost.actual).toBe(37);
  });

  it.each([
    [10, 10_221],
    [100, 1_020_201],
  ])("refuses products → backlog → order → lines at first %i: it may cost %i points", async (n, points) => {
    const response = await post(server.url, NESTED, { n, skus: backlogged });
    expect(response.status).toBe(400);
    expect(errorOf(response).extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: points, maxCost: limit });
  });

  it("admits the standard introspection query (what explorers send) for a READER key", async () => {
    const { getIntrospectionQuery } = await import("graphql");
    const response = await post(server.url, getIntrospectionQuery(), {}, await keyOf("READER"));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.extensions?.cost?.requested).toBeLessThan(100);
  });
});

describe("extensions.cost", () => {
  it("is on every response: data, refusals, validation and syntax errors, mutations", async () => {
    const responses = await Promise.all([
      post(server.url, "{ locations { id } }"),
      post(server.url, "{ warehouses { id } }"),
      post(server.url, "{ locations { id "),
      post(server.url, nested(30), { sku: backlogged[0] }),
      post(server.url, 'mutation { shipOrder(id: "T3JkZXI6OTk5OTk") { order { id } userErrors { code } } }'),
    ]);
    for (const response of responses) {
      const cost = response.body.extensions?.cost;
      expect(cost, JSON.stringify(response.body)).toBeDefined();
      expect(cost!.budget).toEqual({
        remaining: expect.any(Number),
        capacity: DEFAULT_QUERY_LIMITS.ADMIN.capacity,
        refillPerSecond: DEFAULT_QUERY_LIMITS.ADMIN.refillPerSecond,
      });
    }
    const [data, invalid, syntax, deep, mutation] = responses.map((response) => response.body.extensions!.cost!);
    expect(data).toMatchObject({ requested: 20, actual: 1, charged: 1 });
    // Not measured (it did not validate or parse), not run: it costs the minimum.
    expect(invalid).toEqual({ requested: 0, charged: 1, budget: expect.anything() });
    expect(syntax).toEqual({ requested: 0, charged: 1, budget: expect.anything() });
    // Measured and refused: nothing ran, so no actual.
    expect(deep.requested).toBeGreaterThan(0);
    expect(deep.actual).toBeUndefined();
    // The payload, no order, one user error.
    expect(mutation).toMatchObject({ requested: 1 + 1 + 110, actual: 2 });
  });

  it("reports each role's budget: a READER key's is smaller than an ADMIN key's", async () => {
    const response = await post(server.url, "{ eventCursor }", {}, await keyOf("READER"));
    const { capacity, refillPerSecond } = DEFAULT_QUERY_LIMITS.READER;
    // Nothing returned, but every request costs the minimum (drained again in 4 ms at 250 a second).
    expect(response.body.extensions?.cost).toEqual({
      requested: 0,
      actual: 0,
      charged: 1,
      budget: { remaining: expect.any(Number), capacity, refillPerSecond },
    });
    expect(response.body.extensions!.cost!.budget.remaining).toBeGreaterThanOrEqual(capacity - 1);
  });
});

describe("the cost budget (a leaky bucket per key)", () => {
  const small: RoleLimits = { ...DEFAULT_QUERY_LIMITS.OPERATOR, maxDepth: 12, maxCost: 100, capacity: 100, refillPerSecond: 40 };
  const limits: QueryLimitsOverride = {
    ...Object.fromEntries(["ADMIN", "OPERATOR", "STOREFRONT", "READER", "ANONYMOUS"].map((role) => [role, small])),
    READER: { ...small, maxCost: 20 },
    // Drains slowly: what these keys spend stays spent however slow the machine is.
    STOREFRONT: { ...small, refillPerSecond: 1 },
  };
  const throttling = useTestServer(database, { delaySweepMs: 0, limits });
  /** 31 points requested and 31 returned: nothing is given back. */
  const PAGE = "query($skus: [String!]) { products(first: 30, filter: { skus: $skus }) { nodes { id } } }";

  it("throttles a burst over the capacity with THROTTLED, retryAfterSeconds and Retry-After (HTTP 429), then recovers", async () => {
    const key = await keyOf("OPERATOR");
    let refused: RawResponse | undefined;
    for (let i = 0; i < 10 && !refused; i += 1) {
      const response = await post(throttling.url, PAGE, { skus }, key);
      if (response.status === 429) refused = response;
      else expect(response.body.extensions?.cost).toMatchObject({ requested: 31, actual: 31 });
    }
    expect(refused, "a burst of 10 × 31 points into a bucket of 100 is throttled").toBeDefined();
    const error = errorOf(refused!);
    expect(error.extensions?.code).toBe("THROTTLED");
    const retryAfterSeconds = error.extensions?.retryAfterSeconds as number;
    expect(retryAfterSeconds).toBeGreaterThan(0);
    expect(retryAfterSeconds).toBeLessThanOrEqual(31 / small.refillPerSecond);
    expect(Number(refused!.headers.get("retry-after"))).toBe(Math.ceil(retryAfterSeconds));
    expect(refused!.body.data).toBeUndefined();
    expect(refused!.body.extensions?.cost?.budget).toMatchObject({ capacity: 100, refillPerSecond: 40 });
    expect(refused!.body.extensions!.cost!.budget.remaining).toBeLessThan(31);

    // A client that honours retryAfterSeconds gets through (one that keeps asking pays the minimum each time).
    await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds * 1000 + 50));
    const recovered = await post(throttling.url, PAGE, { skus }, key);
    expect(recovered.status).toBe(200);
    expect(recovered.body.data.products.nodes).toHaveLength(30);
  });

  it("runs nothing of a throttled mutation", async () => {
    const key = await keyOf("STOREFRONT");
    for (let i = 0; i < 3; i += 1) await post(throttling.url, PAGE, { skus }, key);
    // 93 + 5 points spent, draining 1 a second: a mutation of 3 points does not fit.
    await post(throttling.url, "{ products(first: 4) { nodes { id } } }", {}, key);
    const before = await tableCounts(database.db);
    const response = await post(throttling.url, 'mutation { cancelOrder(id: "T3JkZXI6MQ") { order { id total { amount } } } }', {}, key);
    expect(response.status).toBe(429);
    expect(errorOf(response).extensions?.code).toBe("THROTTLED");
    expect(await tableCounts(database.db)).toEqual(before);
  });

  it("gives back what a request did not use: requested minus actual", async () => {
    const key = await keyOf("OPERATOR");
    const response = await post(throttling.url, '{ products(first: 90, filter: { skus: ["none"] }) { nodes { id } } }', {}, key);
    expect(response.body.extensions?.cost).toMatchObject({ requested: 91, actual: 1 });
    // Without the refund 9 would be left.
    expect(response.body.extensions!.cost!.budget.remaining).toBeGreaterThanOrEqual(99);
  });

  it("applies each role's own limits, to a subscription too", async () => {
    const [reader, operator] = [await keyOf("READER"), await keyOf("OPERATOR")];
    // 1 product + 20 stock levels (one per location) × (1 + 1 location) = 41 points, + 1 for the page or the event: over READER's 20.
    const query = "query($s: [String!]) { products(first: 1, filter: { skus: $s }) { nodes { stockLevels { location { id } } } } }";
    const overReader = await post(throttling.url, query, { s: skus.slice(0, 1) }, reader);
    expect(overReader.status).toBe(400);
    expect(errorOf(overReader).extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: 42, maxCost: 20 });
    expect((await post(throttling.url, query, { s: skus.slice(0, 1) }, operator)).status).toBe(200);

    const { eventCursor } = (await post(throttling.url, "{ eventCursor }", {}, operator)).body.data;
    await post(throttling.url, 'mutation { createProduct(input: { sku: "LIMITS-WS", name: "WS", price: "1.00" }) { product { id } } }', {}, operator);
    const subscription = "subscription($after: String) { stockChanged(after: $after) { product { stockLevels { location { id } } } } }";
    const refused = await subscribeOnce(throttling.url, reader, subscription, { after: eventCursor });
    expect(refused.errors).toEqual([expect.objectContaining({ extensions: { code: "QUERY_TOO_COSTLY", cost: 42, maxCost: 20 } })]);
    const admitted = await subscribeOnce(throttling.url, operator, subscription, { after: eventCursor });
    expect(admitted.errors).toEqual([]);
    expect(admitted.data).toHaveLength(1);
  });

  it("keeps a bucket per key: another key is not throttled by the first one's burst", async () => {
    const [first, second] = [await keyOf("STOREFRONT"), await keyOf("STOREFRONT")];
    for (let i = 0; i < 5; i += 1) await post(throttling.url, PAGE, { skus }, first);
    expect((await post(throttling.url, PAGE, { skus }, first)).status).toBe(429);
    expect((await post(throttling.url, PAGE, { skus }, second)).status).toBe(200);
  });
});

describe("subscriptions over WebSocket", () => {
  it("refuses a subscription over the depth or cost limit on that subscription only; the connection keeps serving", async () => {
    const client = createClient({
      url: wsUrl(server.url),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: authorizationHeader().authorization },
    });
    const run = (query: string, variables: Record<string, unknown> = {}) =>
      new Promise<{ errors: unknown[]; data: unknown[] }>((resolve) => {
        const result = { errors: [] as unknown[], data: [] as unknown[] };
        client.subscribe(
          { query, variables },
          {
            next: (value) => {
              if (value.errors) result.errors.push(...value.errors);
              if (value.data) result.data.push(value.data);
            },
            error: (error) => {
              result.errors.push(...(Array.isArray(error) ? error : [error]));
              resolve(result);
            },
            complete: () => resolve(result),
          },
        );
      });
    try {
      const costly = await run(
        "subscription { stockChanged { product { backlog(first: 100) { nodes { order { lines { product { stockLevels { onHand } } } } } } } } }",
      );
      // The event, its product, the backlog, then 100 × (backorder + order + 100 lines × (line + product + 20 stock levels)).
      const cost = 3 + 100 * (2 + 100 * (2 + 20));
      expect(costly.errors).toEqual([expect.objectContaining({ extensions: { code: "QUERY_TOO_COSTLY", cost, maxCost: 5_000 } })]);
      const deep = await run(`subscription { stockChanged { product { ${"backlog(first: 1) { nodes { product { ".repeat(5)}id${" } } }".repeat(5)} } } }`);
      expect(deep.errors).toEqual([expect.objectContaining({ extensions: { code: "QUERY_TOO_DEEP", depth: 18, maxDepth: 12 } })]);
      const query = await run("{ eventCursor }");
      expect(query.errors).toEqual([]);
      expect(query.data).toEqual([{ eventCursor: expect.any(String) }]);
    } finally {
      await client.dispose();
    }
  });
});

/** Subscribes with `key` and resolves at the first event, error or completion. */
async function subscribeOnce(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ errors: unknown[]; data: unknown[] }> {
  const client = createClient({ url: wsUrl(url), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` } });
  try {
    return await new Promise((resolve) => {
      const result = { errors: [] as unknown[], data: [] as unknown[] };
      client.subscribe(
        { query, variables },
        {
          next: (value) => {
            if (value.errors) result.errors.push(...value.errors);
            if (value.data) result.data.push(value.data);
            resolve(result);
          },
          error: (error) => {
            result.errors.push(...(Array.isArray(error) ? error : [error]));
            resolve(result);
          },
          complete: () => resolve(result),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

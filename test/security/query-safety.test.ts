/**
 * Query safety (issue 10, items 1-3) over real HTTP and real WebSockets: costs are upper bounds of
 * the work (order lines at their 100, nested lists multiplied), a response past the object cap is
 * stopped with RESPONSE_TOO_LARGE, queries, mutations and subscription events over WebSocket spend
 * the same budget as HTTP, the WebSocket caps hold, and documents are bounded before validation
 * with every request paying a minimum.
 */
import { createClient, type Client } from "graphql-ws";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { countReturnedObjects } from "../../server/graphql/limits/query-cost.js";
import { REQUEST_LIMITS, variablesError, variablesTooLarge } from "../../server/graphql/limits/request-guards.js";
import { DEFAULT_QUERY_LIMITS, type RoleLimits } from "../../server/graphql/limits/query-limits.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { authorizationHeader, type GraphQLBody, postGraphQL, useTestServer } from "../support/http.js";
import { collect, waitFor, wsUrl } from "../support/live.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });

/** The first product's global id; two orders of 100 lines, each line on its own product. */
let productId = "";
let orderNumber = "";
const skus: string[] = [];
/** A cursor from before any of the data was made: replaying from it yields hundreds of events. */
let oldCursor = "";

beforeAll(async () => {
  oldCursor = (await server.data("{ eventCursor }")).eventCursor;
  for (let i = 0; i < 100; i += 1) skus.push((await newProduct(database.db, { initialStock: 1 })).sku);
  const first = await server.data(`{ product(sku: "${skus[0]}") { id } }`);
  productId = first.product.id;
  for (const customer of ["safety-a", "safety-b"]) {
    const placed = await placeOrder(database.db, { customer, lines: skus.map((sku) => ({ sku, quantity: 1 })) });
    orderNumber = placed.order.number;
  }
}, 60_000);

async function keyOf(role: ApiKeyRole): Promise<string> {
  return (await createApiKey(database.db, { name: `safety ${role}`, role })).secret;
}

interface CostBody {
  requested: number;
  actual?: number;
  charged: number;
  budget: { remaining: number; capacity: number; refillPerSecond: number };
}
type Body = GraphQLBody & { extensions?: { cost?: CostBody } };

async function post(url: string, query: string, variables: Record<string, unknown> = {}, key?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader(key) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
}

/** The amplification of issue 10: 1 order → 100 lines → their order → 100 lines → … */
const AMPLIFICATION = `query($p: ID) { orders(first: 1, filter: { productId: $p }) { nodes { lines { order { lines { order { lines { quantity } } } } } } } }`;

describe("cost is an upper bound of the work", () => {
  it("refuses the nested-lines amplification before it runs, at its full cost of 1,020,202 points, within a second", async () => {
    const reader = await keyOf("READER");
    const started = performance.now();
    const response = await post(server.url, AMPLIFICATION, { p: productId }, reader);
    const elapsed = performance.now() - started;
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].extensions).toEqual({ code: "QUERY_TOO_COSTLY", cost: 1_020_202, maxCost: 5_000 });
    expect(response.body.data).toBeUndefined();
    expect(elapsed).toBeLessThan(1_000);
  });

  it.each([
    [
      "an order's lines' products' stock levels",
      "query($p: ID) { orders(first: 1, filter: { productId: $p }) { nodes { lines { product { stockLevels { location { id } } } } } } }",
    ],
    [
      "an order's lines back to their order",
      "query($p: ID) { orders(first: 2, filter: { productId: $p }) { nodes { total { amount } lines { order { id } unitPrice { amount } } } } }",
    ],
    ["products → backlog → order → lines", "{ products(first: 9) { nodes { backlog(first: 5) { nodes { order { lines { quantity } } } } } } }"],
    [
      "an order by number, with its lines' products",
      `{ order(number: "NUMBER") { lines { product { price { amount } stock { onHand } } backorder { id } } } }`,
    ],
    [
      "a node's lines",
      `query($p: ID!) { node(id: $p) { ... on Product { stockLevels { location { name } } backlog(first: 3) { nodes { order { lines { id } } } } } } }`,
    ],
    ["locations and products' pages", "{ locations { id } products(first: 40) { edges { node { id price { amount } } } pageInfo { hasNextPage } } }"],
  ])("estimates %s at no less than the objects it returns", async (_name, text) => {
    const response = await post(server.url, text.replace("NUMBER", orderNumber), { p: productId });
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    const cost = response.body.extensions!.cost!;
    const returned = countReturnedObjects(response.body.data);
    expect(returned).toBeGreaterThan(0);
    expect(cost.actual).toBe(returned);
    expect(cost.requested).toBeGreaterThanOrEqual(cost.actual!);
  });
});

describe("the object cap", () => {
  const capped = useTestServer(database, { delaySweepMs: 0, limits: { ADMIN: { maxObjects: 150 } } });

  it("stops a response past the cap with RESPONSE_TOO_LARGE and charges what was resolved", async () => {
    // 1 + 2 × (1 + 100 lines) = 203 points: within the cost limit, past the cap of 150 objects.
    const query = "query($p: ID) { orders(first: 2, filter: { productId: $p }) { nodes { lines { id } } } }";
    const response = await post(capped.url, query, { p: productId });
    expect(response.body.errors).toEqual([
      { message: expect.stringMatching(/more than 150 objects/), extensions: { code: "RESPONSE_TOO_LARGE", maxObjects: 150 } },
    ]);
    expect(response.body.data).toBeNull();
    const cost = response.body.extensions!.cost!;
    expect(cost.actual).toBeGreaterThan(150);
    expect(cost.charged).toBeGreaterThanOrEqual(cost.actual!);
  });

  it("answers the same query within the cap", async () => {
    const response = await post(capped.url, "query($p: ID) { orders(first: 1, filter: { productId: $p }) { nodes { lines { id } } } }", { p: productId });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.orders.nodes[0].lines).toHaveLength(100);
  });
});

/** Runs one operation on `client` and resolves with everything it answered. */
function run(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{
    data: unknown[];
    errors: { message: string; extensions?: Record<string, unknown> }[];
    extensions: (Record<string, unknown> | undefined)[];
  }>((resolve) => {
    const result = {
      data: [] as unknown[],
      errors: [] as { message: string; extensions?: Record<string, unknown> }[],
      extensions: [] as (Record<string, unknown> | undefined)[],
    };
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.data) result.data.push(value.data);
          if (value.errors) result.errors.push(...(value.errors as typeof result.errors));
          result.extensions.push(value.extensions as Record<string, unknown> | undefined);
        },
        error: (error) => {
          result.errors.push(...(Array.isArray(error) ? error : [{ message: String(error) }]));
          resolve(result);
        },
        complete: () => resolve(result),
      },
    );
  });
}

function wsClient(url: string, key: string): Client {
  return createClient({ url: wsUrl(url), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${key}` } });
}

describe("one pipeline for HTTP and WebSocket", () => {
  const small: Partial<RoleLimits> = { maxCost: 100, capacity: 100, refillPerSecond: 1 };
  const limited = useTestServer(database, {
    delaySweepMs: 0,
    limits: { OPERATOR: small, READER: { ...small, maxSubscriptionsPerConnection: 3, maxConnectionsPerKey: 2 } },
    live: { maxBudgetWaitMs: 200 },
  });
  const PAGE = "query($skus: [String!]) { products(first: 30, filter: { skus: $skus }) { nodes { id } } }";

  it("charges a query over WebSocket to the key's budget: the key is throttled over HTTP and WebSocket alike", async () => {
    const key = await keyOf("OPERATOR");
    const client = wsClient(limited.url, key);
    try {
      const first = await run(client, PAGE, { skus: skus.slice(0, 30) });
      expect(first.errors).toEqual([]);
      expect(first.extensions[0]).toMatchObject({ cost: { requested: 31, actual: 30 + 1, charged: 31 } });
      let refused: Awaited<ReturnType<typeof run>> | undefined;
      for (let i = 0; i < 5 && !refused; i += 1) {
        const next = await run(client, PAGE, { skus: skus.slice(0, 30) });
        if (next.errors.length > 0) refused = next;
      }
      expect(refused?.errors[0].extensions).toMatchObject({ code: "THROTTLED", retryAfterSeconds: expect.any(Number) });
      const overHttp = await post(limited.url, PAGE, { skus: skus.slice(0, 30) }, key);
      expect(overHttp.status).toBe(429);
    } finally {
      await client.dispose();
    }
  });

  it("charges a mutation over WebSocket like one over HTTP", async () => {
    const key = await keyOf("OPERATOR");
    const client = wsClient(limited.url, key);
    try {
      const created = await run(client, 'mutation($sku: String!) { createProduct(input: { sku: $sku, name: "WS", price: "1.00" }) { product { id } } }', {
        sku: `WS-${Date.now()}`,
      });
      expect(created.errors).toEqual([]);
      expect(created.extensions[0]).toMatchObject({ cost: { requested: 2, actual: 2, charged: 2 } });
      const cost = (created.extensions[0] as { cost: CostBody }).cost;
      expect(cost.budget.remaining).toBeLessThanOrEqual(98);
    } finally {
      await client.dispose();
    }
  });

  it("refuses a NUL and a lone surrogate in WebSocket variables with BAD_USER_INPUT", async () => {
    const client = wsClient(limited.url, await keyOf("OPERATOR"));
    try {
      for (const text of ["a\u0000b", "a\ud800b"]) {
        const answer = await run(client, "query($s: String) { products(first: 1, filter: { search: $s }) { totalCount } }", { s: text });
        expect(answer.data).toEqual([]);
        expect(answer.errors).toEqual([expect.objectContaining({ extensions: { code: "BAD_USER_INPUT" } })]);
      }
    } finally {
      await client.dispose();
    }
  });

  it("charges every subscription event, replayed ones included, and closes a subscriber out of budget with 4413 and a cursor to resume from", async () => {
    const key = await keyOf("OPERATOR");
    const { body: before } = await post(limited.url, "{ eventCursor }", {}, key);
    const sub = await collect(
      limited.url,
      "subscription($after: String) { stockChanged(after: $after) { cursor product { id } stock { onHand } } }",
      { after: oldCursor },
      { key },
    );
    try {
      await waitFor(() => sub.closed !== null, "the subscriber to run out of budget", 10_000);
      expect(sub.closed!.code).toBe(4413);
      expect(sub.closed!.reason).toMatch(/over the cost budget: resume with after=\S+/);
      // 3 points an event from a bucket of about 99: it stopped after about 33 of the hundreds replayable.
      expect(sub.events.length).toBeGreaterThan(20);
      expect(sub.events.length).toBeLessThan(40);
      const { body: after } = await post(limited.url, "{ eventCursor }", {}, key);
      expect(after.extensions!.cost!.budget.remaining).toBeLessThan(before.extensions!.cost!.budget.remaining - 3 * 20);
    } finally {
      await sub.dispose();
    }
  });

  it("caps the operations of one connection: the next fails with TOO_MANY_SUBSCRIPTIONS, the others keep running", async () => {
    const key = await keyOf("READER");
    const client = wsClient(limited.url, key);
    // No restock happens in this file: these subscriptions hold their place and cost nothing.
    const query = "subscription { restockChanged { cursor } }";
    const disposers: (() => void)[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        disposers.push(client.subscribe({ query }, { next: () => {}, error: () => {}, complete: () => {} }));
        // A round trip behind the first two: each has been admitted by the time the query answers.
        if (i < 2) expect((await run(client, "{ eventCursor }")).errors).toEqual([]);
      }
      let refused: Awaited<ReturnType<typeof run>> | undefined;
      await waitFor(
        async () => {
          refused = await run(client, "{ eventCursor }");
          return refused.errors.length > 0;
        },
        "the fourth operation to be refused",
        5_000,
      );
      expect(refused!.errors).toEqual([expect.objectContaining({ extensions: { code: "TOO_MANY_SUBSCRIPTIONS", maxSubscriptionsPerConnection: 3 } })]);
      disposers.pop()!();
      // One was completed: there is room again (a query runs and returns).
      await waitFor(async () => (await run(client, "{ eventCursor }")).errors.length === 0, "room for another operation", 5_000);
    } finally {
      for (const dispose of disposers) dispose();
      await client.dispose();
    }
  });

  it("caps the connections of one key: the next is closed with 4429", async () => {
    const key = await keyOf("READER");
    const open = [
      await collect(limited.url, "subscription { restockChanged { cursor } }", {}, { key }),
      await collect(limited.url, "subscription { restockChanged { cursor } }", {}, { key }),
    ];
    try {
      const third = collect(limited.url, "subscription { restockChanged { cursor } }", {}, { key });
      await expect(third).rejects.toMatchObject({ close: { code: 4429, reason: expect.stringMatching(/at most 2/) } });
    } finally {
      for (const sub of open) await sub.dispose();
    }
  });
});

describe("bounded parsing and validation, and a minimum cost", () => {
  const limited = useTestServer(database, { delaySweepMs: 0, limits: { READER: { capacity: 20, maxCost: 20, refillPerSecond: 1 } } });

  it("refuses 1,100 aliased fields before validation (no other error is found), with one error, charged the minimum", async () => {
    const reader = await keyOf("READER");
    // `nothing` is no field: had the document been validated, that would be reported too.
    const query = `{ nothing ${Array.from({ length: 1100 }, (_, i) => `a${i}: product { id }`).join(" ")} }`;
    const started = performance.now();
    const response = await post(server.url, query, {}, reader);
    const elapsed = performance.now() - started;
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ message: "The operation selects 2201 fields; the limit is 1000.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
    ]);
    expect(response.body.extensions?.cost).toMatchObject({ requested: 0, charged: DEFAULT_QUERY_LIMITS.READER.minimumCost });
    expect(elapsed).toBeLessThan(1_000);

    const aliases = await post(server.url, `{ nothing ${Array.from({ length: 500 }, (_, i) => `a${i}: eventCursor`).join(" ")} }`, {}, reader);
    expect(aliases.body.errors).toEqual([
      expect.objectContaining({ message: "The operation uses 500 aliases; the limit is 100.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
    ]);
    // As the issue sent them, with arguments: past the token limit, refused while parsing.
    const withSkus = await post(server.url, `{ ${Array.from({ length: 1100 }, (_, i) => `a${i}: product(sku: "S${i}") { id }`).join(" ")} }`, {}, reader);
    expect(withSkus.body.errors?.[0].extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(withSkus.body.extensions?.cost?.charged).toBe(1);
  });

  it("refuses 1,100 aliased fields over WebSocket the same way", async () => {
    const client = wsClient(server.url, await keyOf("READER"));
    try {
      const query = `{ nothing ${Array.from({ length: 1100 }, (_, i) => `a${i}: eventCursor`).join(" ")} }`;
      const answer = await run(client, query);
      expect(answer.errors).toEqual([
        expect.objectContaining({ message: "The operation selects 1101 fields; the limit is 1000.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("charges 800 KB of unused variables the minimum, and answers quickly", async () => {
    const padding = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`v${i}`, "x".repeat(1_000)]));
    const started = performance.now();
    const response = await post(server.url, "{ eventCursor }", padding, await keyOf("READER"));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(response.body.extensions?.cost?.charged).toBe(1);
  });

  it("refuses variables over the size limit with BAD_USER_INPUT, without walking all of them", () => {
    const limits = { ...REQUEST_LIMITS, maxVariablesBytes: 1_000 };
    expect(variablesError({ a: "x".repeat(900) }, limits)).toBeUndefined();
    expect(variablesError({ a: "x".repeat(900), b: "y".repeat(200) }, limits)?.extensions.code).toBe("BAD_USER_INPUT");
    expect(variablesError({ a: "a\u0000b" }, limits)?.message).toMatch(/NUL/);
    const huge = Array.from({ length: 1_000_000 }, () => 1);
    const started = performance.now();
    expect(variablesTooLarge(huge, 1_000)).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("throttles a flood of invalid documents with THROTTLED and Retry-After", async () => {
    const key = await keyOf("READER");
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 50 && !refused; i += 1) {
      const response = await post(limited.url, `{ nothing${i} }`, {}, key);
      if (response.status === 429) refused = response;
      else expect(response.body.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    expect(refused, "20 points at 1 each, refilled at 1 a second: throttled within 50 requests").toBeDefined();
    expect(refused!.body.errors).toEqual([expect.objectContaining({ extensions: { code: "THROTTLED", retryAfterSeconds: expect.any(Number) } })]);
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Syntax errors too, and a valid query: the key is out of budget whatever it sends.
    expect((await post(limited.url, "{ nothing", {}, key)).status).toBe(429);
    expect((await postGraphQL(limited.url, "{ eventCursor }", {}, { key })).status).toBe(429);
  });
});

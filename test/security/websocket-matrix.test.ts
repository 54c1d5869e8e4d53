/**
 * The WebSocket matrix of issue 10: query, mutation and subscription sent over graphql-ws with a
 * key of each role (ADMIN, OPERATOR, STOREFRONT, READER), under budget and over it.
 *
 *  - Under budget: each role may run what docs/ARCHITECTURE.md, "Access and limits" gives it (the same
 *    rules as over HTTP, test/security/roles.test.ts): every role queries and subscribes (and the
 *    subscription delivers), ADMIN and OPERATOR create products, STOREFRONT only places orders
 *    (among these), READER mutates nothing; a refused mutation is one FORBIDDEN error on its own
 *    operation, the connection stays open and nothing changes in the database.
 *  - Over budget (a server whose buckets hold 20 points and barely refill): once the key's
 *    budget is spent, over WebSocket or HTTP, a query, a mutation (allowed or not) and a new
 *    subscription are each refused with THROTTLED on their own operation, nothing written; a
 *    running subscription whose next event the budget cannot pay within `maxBudgetWaitMs` is
 *    closed with 4413 and the cursor to resume from; one that can pay within it waits for the
 *    refill and then receives the event.
 */
import type { Client } from "graphql-ws";
import { beforeAll, describe, expect, it } from "vitest";
import type { RoleLimits } from "../../server/graphql/limits/query-limits.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { databaseDigest, ROLES } from "../support/access.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL, type TestServer, useTestServer } from "../support/http.js";
import { waitFor, wsUrl } from "../support/live.js";
import { type Connection, connectWith, type ErrorBody, runOperation as run } from "../support/ws-client.js";

const database = useFreshDatabase();
/** The default limits: every operation here is well within them. */
const server = useTestServer(database, { delaySweepMs: 0 });
/** 20 points a key, refilled at one point every 100 s: spent, it stays spent for the test. */
const TINY: Partial<RoleLimits> = { capacity: 20, maxCost: 20, refillPerSecond: 0.01 };
const tiny = useTestServer(database, {
  delaySweepMs: 0,
  limits: { ADMIN: TINY, OPERATOR: TINY, STOREFRONT: TINY, READER: TINY },
  live: { maxBudgetWaitMs: 200 },
});
/** 20 points refilled at 2 a second, and a subscriber may wait up to 10 s: it waits. */
const SLOW: Partial<RoleLimits> = { capacity: 20, maxCost: 20, refillPerSecond: 2 };
const slow = useTestServer(database, { delaySweepMs: 0, limits: { READER: SLOW, STOREFRONT: SLOW }, live: { maxBudgetWaitMs: 10_000 } });

/** The product the subscriptions watch and the orders are placed on (plenty of stock). */
let productDbId = 0;
let productId = "";

beforeAll(async () => {
  const product = await newProduct(database.db, { initialStock: 1_000 });
  productDbId = product.id;
  productId = toGlobalId("Product", product.id);
  // Enough products that a page returns all it may: its estimate is then what it is charged.
  for (let i = 0; i < 20; i += 1) await newProduct(database.db);
});

const MUTATION_ROLES: Record<"createProduct" | "placeOrder", readonly ApiKeyRole[]> = {
  createProduct: ["ADMIN", "OPERATOR"],
  placeOrder: ["ADMIN", "OPERATOR", "STOREFRONT"],
};
type MutationName = keyof typeof MUTATION_ROLES;

/** The mutation `name` with fresh input; `lean`: without `userErrors` (priced at 110), to fit a tiny `maxCost`. */
function mutation(name: MutationName, lean = false): { query: string; variables: Record<string, unknown> } {
  const errors = lean ? "" : " userErrors { code }";
  return name === "createProduct"
    ? {
        query: `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { sku }${errors} } }`,
        variables: { input: { sku: uniqueSku("WSM"), name: "matrix", price: "2.00" } },
      }
    : {
        query: `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number }${errors} } }`,
        variables: { input: { customer: "ws-matrix", lines: [{ productId, quantity: 1 }] } },
      };
}

/** A page of 9 products: 10 points, about half the tiny bucket. */
const QUERY = "{ products(first: 9) { nodes { sku } } }";
const SUBSCRIPTION = "subscription($ids: [ID!]) { stockChanged(productIds: $ids) { cursor stock { onHand } } }";

/** A connection of its own with `key`. */
function connect(server: TestServer, key: string): Promise<Connection> {
  return connectWith(wsUrl(server.url), key);
}

/** A running subscription: what it received, and whether it has ended. */
interface Listening {
  events: Record<string, unknown>[];
  errors: ErrorBody[];
  ended: boolean;
  dispose(): void;
}

function listen(client: Client, query: string, variables: Record<string, unknown>): Listening {
  const listening: Listening = { events: [], errors: [], ended: false, dispose: () => {} };
  listening.dispose = client.subscribe(
    { query, variables },
    {
      next: (value) => {
        if (value.data) listening.events.push(value.data as Record<string, unknown>);
        if (value.errors) listening.errors.push(...(value.errors as ErrorBody[]));
      },
      error: (error) => {
        listening.errors.push(
          ...(Array.isArray(error) ? (error as ErrorBody[]) : [{ message: String(error), extensions: { code: "CONNECTION_CLOSED" } }]),
        );
        listening.ended = true;
      },
      complete: () => (listening.ended = true),
    },
  );
  return listening;
}

/** Every table but the shared cost buckets, which every request moves. */
async function dataDigest(): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await databaseDigest(database.db)).filter(([table]) => table !== "cost_budgets"));
}

async function keyOf(role: ApiKeyRole, name: string): Promise<string> {
  return (await createApiKey(database.db, { name: `${name} ${role}`, role })).secret;
}

/** Admitted: a query sent behind it on the same connection has answered. */
async function admitted(client: Client): Promise<void> {
  expect((await run(client, "{ eventCursor }")).errors).toEqual([]);
}

/** A stock change of the watched product, through the service as an operator would make it. */
async function changeStock(): Promise<void> {
  await adjustStock(database.db, { productId: productDbId, delta: 1, reason: "ws matrix" });
}

describe.each(ROLES)("%s over WebSocket, under budget", (role) => {
  it("queries", async () => {
    const connection = await connect(server, await keyOf(role, "query"));
    try {
      const answer = await run(connection.client, QUERY);
      expect(answer.errors).toEqual([]);
      expect((answer.data[0].products as { nodes: unknown[] }).nodes.length).toBeGreaterThan(0);
    } finally {
      await connection.client.dispose();
    }
  });

  it.each(Object.keys(MUTATION_ROLES) as MutationName[])(`mutates with %s as its role allows`, async (name) => {
    const connection = await connect(server, await keyOf(role, name));
    try {
      const { query, variables } = mutation(name);
      const before = await dataDigest();
      const answer = await run(connection.client, query, variables);
      if (MUTATION_ROLES[name].includes(role)) {
        expect(answer.errors).toEqual([]);
        expect(answer.data[0][name]).toMatchObject({ userErrors: [] });
      } else {
        expect(answer.errors).toEqual([expect.objectContaining({ path: [name], extensions: { code: "FORBIDDEN" } })]);
        expect(answer.errors[0].message).toContain(role);
        expect(answer.data.every((data) => data[name] === null || data[name] === undefined)).toBe(true);
        expect(await dataDigest()).toEqual(before);
        // Refused on its own operation: the connection stays open and answers the next one.
        expect(connection.closed).toBeNull();
        await admitted(connection.client);
      }
    } finally {
      await connection.client.dispose();
    }
  });

  it("subscribes and receives the events", async () => {
    const connection = await connect(server, await keyOf(role, "subscribe"));
    const listening = listen(connection.client, SUBSCRIPTION, { ids: [productId] });
    try {
      await admitted(connection.client);
      await changeStock();
      await waitFor(() => listening.events.length > 0, `${role}'s stockChanged event`);
      expect(listening.errors).toEqual([]);
      expect(listening.events[0]).toMatchObject({ stockChanged: { cursor: expect.any(String), stock: { onHand: expect.any(Number) } } });
    } finally {
      listening.dispose();
      await connection.client.dispose();
    }
  });
});

describe.each(ROLES)("%s over WebSocket, over budget", (role) => {
  it("is THROTTLED for queries, mutations and new subscriptions; a running subscription it cannot pay for is closed with 4413 and a cursor", async () => {
    const key = await keyOf(role, "over budget");
    const connection = await connect(tiny, key);
    // Admitted while the bucket is full: it paid the minimum; its events are charged as delivered.
    const running = listen(connection.client, SUBSCRIPTION, { ids: [productId] });
    try {
      await admitted(connection.client);
      // Spend the bucket: 10-point pages until one is refused.
      const answers: string[] = [];
      for (let i = 0; i < 5 && !answers.includes("THROTTLED"); i += 1) {
        const answer = await run(connection.client, QUERY);
        answers.push(answer.errors.length ? String(answer.errors[0].extensions?.code) : "ok");
      }
      expect(answers[0]).toBe("ok");
      expect(answers.at(-1)).toBe("THROTTLED");
      // Then what is left, a point at a time.
      let left = 0;
      while ((await run(connection.client, "{ eventCursor }")).errors.length === 0) expect((left += 1)).toBeLessThan(20);
      // The same bucket over HTTP.
      expect((await postGraphQL(tiny.url, QUERY, {}, { key })).status).toBe(429);

      const before = await dataDigest();
      const query = await run(connection.client, QUERY);
      expect(query.errors).toEqual([expect.objectContaining({ extensions: { code: "THROTTLED", retryAfterSeconds: expect.any(Number) } })]);
      expect(query.data).toEqual([]);
      for (const name of Object.keys(MUTATION_ROLES) as MutationName[]) {
        // Allowed or not, it is refused for its budget before anything else is looked at.
        const { query: text, variables } = mutation(name, true);
        const answer = await run(connection.client, text, variables);
        expect(answer.errors, name).toEqual([expect.objectContaining({ extensions: { code: "THROTTLED", retryAfterSeconds: expect.any(Number) } })]);
        expect(answer.data, name).toEqual([]);
      }
      const subscription = await run(connection.client, SUBSCRIPTION, { ids: [productId] });
      expect(subscription.errors).toEqual([expect.objectContaining({ extensions: { code: "THROTTLED", retryAfterSeconds: expect.any(Number) } })]);
      expect(await dataDigest()).toEqual(before);
      expect(connection.closed).toBeNull();

      // An event for the running subscription: the bucket cannot pay for it within 200 ms.
      await changeStock();
      await waitFor(() => connection.closed !== null, "the connection to be closed for its budget");
      expect(connection.closed!.code).toBe(4413);
      expect(connection.closed!.reason).toMatch(/^over the cost budget: resume with after=\S+/);
      expect(running.events).toEqual([]);
    } finally {
      running.dispose();
      await connection.client.dispose();
    }
  });
});

describe.each(["STOREFRONT", "READER"] as const)("%s over WebSocket, briefly over budget", (role) => {
  it("waits for the refill, then receives the event, on the same connection", async () => {
    const key = await keyOf(role, "waits");
    const connection = await connect(slow, key);
    const running = listen(connection.client, SUBSCRIPTION, { ids: [productId] });
    try {
      await admitted(connection.client);
      // The minimum of the subscription and the query above, and this page's 18: the whole bucket,
      // so the event's objects put it in debt.
      const spend = await run(connection.client, "{ products(first: 17) { nodes { sku } } }");
      expect(spend.errors).toEqual([]);
      const changed = performance.now();
      await changeStock();
      await waitFor(() => running.events.length > 0, "the event, after the wait", 10_000);
      const waited = performance.now() - changed;
      // In debt by about 3 points refilled at 2 a second (less what drained since the page).
      expect(waited).toBeGreaterThan(300);
      expect(connection.closed).toBeNull();
      expect(running.errors).toEqual([]);
    } finally {
      running.dispose();
      await connection.client.dispose();
    }
  });
});

/**
 * READER keys see orders without the customer identifier (docs/ARCHITECTURE.md, "Access and limits"): a stable
 * pseudonym instead, over HTTP and over WebSocket, and no filter by customer that could tell
 * them who ordered. Every other role sees the customer.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { customerPseudonym } from "../../server/services/customer-pseudonym.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL, startTestServer, useTestServer } from "../support/http.js";
import { collect, waitFor } from "../support/live.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });
let keys: Record<ApiKeyRole, RoleKey>;
const ANN = `ann.${uniqueSku("c").toLowerCase()}@example.com`;
const BOB = `bob.${uniqueSku("c").toLowerCase()}@example.com`;
let orderIds: string[];

beforeAll(async () => {
  keys = await createRoleKeys(database.db, "privacy");
  const product = await newProduct(database.db, { initialStock: 1 });
  orderIds = [];
  for (const customer of [ANN, BOB, ANN]) {
    const { order } = await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    orderIds.push(toGlobalId("Order", order.id));
  }
});

const ORDERS = `query($id: ID!) { a: node(id: $id) { ... on Order { customer } } }`;
const EVERYWHERE = `query($id: ID!) {
  order(id: $id) { customer lines { order { customer } backorder { order { customer } } } }
  node(id: $id) { ... on Order { customer } }
  orders(first: 100) { nodes { customer } }
  backlog(first: 100) { nodes { order { customer } } }
}`;

describe("a READER key", () => {
  it("sees a stable pseudonym wherever an order's customer appears, never the customer", async () => {
    const response = await postGraphQL(server.url, EVERYWHERE, { id: orderIds[0] }, { key: keys.READER.secret });
    expect(response.body.errors, response.text).toBeUndefined();
    expect(response.text).not.toContain("ann.");
    expect(response.text).not.toContain("bob.");
    const { order, node, orders } = response.body.data;
    expect(order.customer).toMatch(/^customer-[0-9a-f]{10}$/);
    expect(node.customer).toBe(order.customer);
    expect(order.lines[0].order.customer).toBe(order.customer);
    const pseudonyms = orders.nodes.map((o: { customer: string }) => o.customer);
    for (const pseudonym of pseudonyms) expect(pseudonym).toMatch(/^customer-[0-9a-f]{10}$/);
  });

  it("gives one customer one pseudonym and two customers two", async () => {
    const read = async (id: string) => (await postGraphQL(server.url, ORDERS, { id }, { key: keys.READER.secret })).body.data.a.customer as string;
    const [ann1, bob, ann2] = [await read(orderIds[0]), await read(orderIds[1]), await read(orderIds[2])];
    expect(ann1).toBe(ann2);
    expect(bob).not.toBe(ann1);
    expect(await read(orderIds[0])).toBe(ann1);
    expect(ann1).toBe(await customerPseudonym(database.db, ANN));
  });

  it("gets a pseudonym that a plain hash of a guessed customer does not reproduce", async () => {
    const pseudonym = (await postGraphQL(server.url, ORDERS, { id: orderIds[0] }, { key: keys.READER.secret })).body.data.a.customer;
    expect(pseudonym).not.toBe(`customer-${createHash("sha256").update(ANN).digest("hex").slice(0, 10)}`);
  });

  it("gets the same pseudonym from another server on the same database", async () => {
    const other = await startTestServer(database.connection, [], { delaySweepMs: 0 });
    try {
      const here = (await postGraphQL(server.url, ORDERS, { id: orderIds[1] }, { key: keys.READER.secret })).body.data.a.customer;
      const there = (await postGraphQL(other.url, ORDERS, { id: orderIds[1] }, { key: keys.READER.secret })).body.data.a.customer;
      expect(there).toBe(here);
    } finally {
      await other.close();
    }
  });

  it("may not filter orders by customer: FORBIDDEN, whether or not the customer exists", async () => {
    for (const customer of [ANN, "nobody@example.com"]) {
      const before = await databaseDigest(database.db);
      const response = await postGraphQL(
        server.url,
        `query($c: String) { orders(filter: { customer: $c }) { totalCount nodes { number } } }`,
        { c: customer },
        { key: keys.READER.secret },
      );
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors![0].extensions?.code).toBe("FORBIDDEN");
      expect(response.text).not.toContain('totalCount":');
      expect(await databaseDigest(database.db)).toEqual(before);
    }
  });

  it("may not subscribe to a customer's orders: FORBIDDEN", async () => {
    const sub = await collect(server.url, `subscription($c: String) { orderChanged(customer: $c) { kind } }`, { c: ANN }, { key: keys.READER.secret });
    try {
      await sub.ended;
      expect(sub.events).toEqual([]);
      expect(sub.errors).toHaveLength(1);
      expect(sub.errors[0]).toMatchObject({ extensions: { code: "FORBIDDEN" } });
    } finally {
      await sub.dispose();
    }
  });

  it("sees pseudonyms in the orders its subscriptions deliver", async () => {
    const after = (await server.data("{ eventCursor }")).eventCursor;
    const sub = await collect(
      server.url,
      `subscription($after: String) { orderChanged(after: $after) { kind order { customer } } }`,
      { after },
      {
        key: keys.READER.secret,
      },
    );
    try {
      const product = await newProduct(database.db, { initialStock: 3 });
      await placeOrder(database.db, { customer: ANN, lines: [{ productId: product.id, quantity: 1 }] });
      await waitFor(() => sub.events.length > 0, "the order event");
      expect(sub.errors).toEqual([]);
      expect(sub.events[0].order.customer).toBe(await customerPseudonym(database.db, ANN));
    } finally {
      await sub.dispose();
    }
  });
});

describe("the other roles", () => {
  it.each(["ADMIN", "OPERATOR", "STOREFRONT"] as const)("%s sees the customer and may filter and subscribe by it", async (role) => {
    const response = await postGraphQL(
      server.url,
      `query($id: ID!, $c: String) { order(id: $id) { customer } orders(filter: { customer: $c }) { totalCount } }`,
      { id: orderIds[0], c: ANN },
      { key: keys[role].secret },
    );
    expect(response.body.errors, response.text).toBeUndefined();
    expect(response.body.data.order.customer).toBe(ANN);
    expect(response.body.data.orders.totalCount).toBeGreaterThanOrEqual(2);
    const after = (await server.data("{ eventCursor }")).eventCursor;
    const sub = await collect(
      server.url,
      `subscription($c: String, $after: String) { orderChanged(customer: $c, after: $after) { order { customer } } }`,
      {
        c: BOB,
        after,
      },
      { key: keys[role].secret },
    );
    try {
      const product = await newProduct(database.db, { initialStock: 3 });
      await placeOrder(database.db, { customer: BOB, lines: [{ productId: product.id, quantity: 1 }] });
      await waitFor(() => sub.events.length > 0 || sub.errors.length > 0, "the order event");
      expect(sub.errors).toEqual([]);
      expect(sub.events[0].order.customer).toBe(BOB);
    } finally {
      await sub.dispose();
    }
  });
});

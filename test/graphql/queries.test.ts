/**
 * The read side of the API over real HTTP (docs/ARCHITECTURE.md, "The GraphQL contract"): connections and their paging,
 * filters, queue positions, derived stock and dates, global ids, the error model of queries, and
 * the DataLoaders keeping a nested query's statement count flat whatever the page size.
 */
import { describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { backorderOfOrder, daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
// The event hub reads the log after commits and on a 500 ms poll; those reads must not land in
// countStatements' window. Nothing here subscribes, so it polls rarely, and each count first waits
// for the hub to finish what earlier commits started.
// The DataLoader test asks for a nested page whose upper bound (12,205 points: 100 lines an order) is over the default
// per-request limit; it measures statements, not limits.
const server = useTestServer(database, { live: { pollMs: 3_600_000 }, limits: { ADMIN: { maxCost: 20_000, capacity: 50_000 } } });
const { gql, data, logLines } = server;

/** Counts the SQL statements the server runs while `work` runs (every statement goes through prepareQuery). */
async function countStatements(work: () => Promise<unknown>): Promise<number> {
  await server.app.hub.settled();
  const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
  const original = session.prepareQuery;
  let count = 0;
  session.prepareQuery = function (this: unknown, ...args: unknown[]) {
    count += 1;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    session.prepareQuery = original;
  }
  return count;
}

describe("products", () => {
  it("pages through a filtered list with cursors, each product once, with the total", async () => {
    const prefix = uniqueSku("PAGE");
    for (let i = 0; i < 5; i++) await newProduct(database.db, { sku: `${prefix}-${i}` });
    const query = `query($after: String) { products(filter: { search: "${prefix}" }, first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { sku } } nodes { sku } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const { products } = await data(query, { after });
      expect(products.totalCount).toBe(5);
      expect(products.nodes).toEqual(products.edges.map((edge: { node: unknown }) => edge.node));
      expect(products.pageInfo.endCursor).toBe(products.edges.at(-1).cursor);
      seen.push(...products.nodes.map((node: { sku: string }) => node.sku));
      expect(products.pageInfo.hasNextPage).toBe(page < 2);
      after = products.pageInfo.endCursor;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
  });

  it("filters by SKUs, backlog and policy", async () => {
    const waiting = await newProduct(database.db, { backorderPolicy: "ALLOW" });
    const denied = await newProduct(database.db, { backorderPolicy: "DENY", initialStock: 2 });
    await placeOrder(database.db, { customer: "filter", lines: [{ productId: waiting.id, quantity: 1 }] });
    const skus = [waiting.sku, denied.sku];
    const result = await data(
      `query($skus: [String!]) {
        withBacklog: products(filter: { skus: $skus, hasBacklog: true }) { nodes { sku } }
        without: products(filter: { skus: $skus, hasBacklog: false }) { nodes { sku } }
        deny: products(filter: { skus: $skus, backorderPolicy: DENY }) { nodes { sku } }
      }`,
      { skus },
    );
    expect(result.withBacklog.nodes).toEqual([{ sku: waiting.sku }]);
    expect(result.without.nodes).toEqual([{ sku: denied.sku }]);
    expect(result.deny.nodes).toEqual([{ sku: denied.sku }]);
  });

  it("treats % and _ in a search as plain characters", async () => {
    const plain = await newProduct(database.db, { name: "Mug 100% cotton" });
    const result = await data(`{ products(filter: { search: "100%" }) { nodes { sku } } }`);
    expect(result.products.nodes.map((node: { sku: string }) => node.sku)).toContain(plain.sku);
    const none = await data(`{ products(filter: { search: "1_0%_" }) { totalCount } }`);
    expect(none.products.totalCount).toBe(0);
  });

  it("derives the stock summary from levels, backlog and scheduled restocks", async () => {
    const product = await newProduct(database.db, { initialStock: 3 });
    await placeOrder(database.db, { customer: "stock", lines: [{ productId: product.id, quantity: 7 }] });
    const early = daysFromNow(3);
    await scheduleRestock(database.db, { productId: product.id, quantity: 2, expectedAt: daysFromNow(9) });
    await scheduleRestock(database.db, { productId: product.id, quantity: 1, expectedAt: early });
    const { product: found } = await data(
      `query($id: ID!) { product(id: $id) { stock { onHand allocated available backordered incoming projected nextRestockAt }
        stockLevels { onHand allocated available safetyStock location { code } } } }`,
      { id: toGlobalId("Product", product.id) },
    );
    expect(found.stock).toEqual({
      onHand: 3,
      allocated: 3,
      available: 0,
      backordered: 4,
      incoming: 3,
      projected: -1,
      nextRestockAt: early.toISOString(),
    });
    expect(found.stockLevels).toEqual([expect.objectContaining({ onHand: 3, allocated: 3, available: 0, safetyStock: 0 })]);
  });
});

describe("global ids", () => {
  it("resolves every id through node and the typed lookups", async () => {
    const product = await newProduct(database.db);
    const { order } = await placeOrder(database.db, { customer: "node", lines: [{ productId: product.id, quantity: 2 }] });
    const result = await data(
      `query($product: ID!, $order: ID!, $sku: String!, $number: String!) {
        node(id: $product) { __typename id ... on Product { sku } }
        orderNode: node(id: $order) { __typename ... on Order { number lines { id backorder { id } } } }
        product(sku: $sku) { id }
        order(number: $number) { id }
      }`,
      { product: toGlobalId("Product", product.id), order: toGlobalId("Order", order.id), sku: product.sku, number: order.number },
    );
    expect(result.node).toEqual({ __typename: "Product", id: toGlobalId("Product", product.id), sku: product.sku });
    expect(result.orderNode.number).toBe(order.number);
    expect(result.product.id).toBe(toGlobalId("Product", product.id));
    expect(result.order.id).toBe(toGlobalId("Order", order.id));
    const backorderId = result.orderNode.lines[0].backorder.id;
    const { node } = await data(`query($id: ID!) { node(id: $id) { __typename ... on Backorder { remaining position } } }`, { id: backorderId });
    expect(node).toEqual({ __typename: "Backorder", remaining: 2, position: 1 });
  });

  it("returns null for unknown, malformed and wrong-type ids", async () => {
    const product = await newProduct(database.db);
    const result = await data(
      `query($wrong: ID!, $unknown: ID!) {
        a: node(id: "not-an-id") { id }
        b: node(id: $unknown) { id }
        c: product(id: $wrong) { id }
        d: order(id: $wrong) { id }
        e: product(sku: "no-such-sku") { id }
        f: order(number: "BO-0") { id }
      }`,
      { wrong: toGlobalId("Location", product.id), unknown: toGlobalId("Product", 2_000_000_000) },
    );
    expect(result).toEqual({ a: null, b: null, c: null, d: null, e: null, f: null });
  });
});

describe("the backlog", () => {
  it("numbers a product's queue by priority then placement, with the units ahead, across pages", async () => {
    const product = await newProduct(database.db);
    const orders = [];
    for (const quantity of [2, 3, 4]) {
      orders.push((await placeOrder(database.db, { customer: "queue", lines: [{ productId: product.id, quantity }] })).order);
    }
    await prioritizeBackorder(database.db, (await backorderOfOrder(database.db, orders[2].id)).id, 5);
    const query = `query($id: ID!, $after: String) { product(id: $id) { backlog(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { position unitsAhead remaining order { number } } } } }`;
    const first = (await data(query, { id: toGlobalId("Product", product.id) })).product.backlog;
    expect(first.totalCount).toBe(3);
    expect(first.nodes).toEqual([
      { position: 1, unitsAhead: 0, remaining: 4, order: { number: orders[2].number } },
      { position: 2, unitsAhead: 4, remaining: 2, order: { number: orders[0].number } },
    ]);
    const second = (await data(query, { id: toGlobalId("Product", product.id), after: first.pageInfo.endCursor })).product.backlog;
    expect(second.nodes).toEqual([{ position: 3, unitsAhead: 6, remaining: 3, order: { number: orders[1].number } }]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it("lists the global backlog with positions within each product's queue, filtered by product", async () => {
    const product = await newProduct(database.db);
    await placeOrder(database.db, { customer: "global-1", lines: [{ productId: product.id, quantity: 1 }] });
    await placeOrder(database.db, { customer: "global-2", lines: [{ productId: product.id, quantity: 5 }] });
    const { backlog } = await data(
      `query($id: ID!) { backlog(filter: { productId: $id }) { totalCount nodes { position unitsAhead order { customer } product { sku } } } }`,
      { id: toGlobalId("Product", product.id) },
    );
    expect(backlog).toEqual({
      totalCount: 2,
      nodes: [
        { position: 1, unitsAhead: 0, order: { customer: "global-1" }, product: { sku: product.sku } },
        { position: 2, unitsAhead: 1, order: { customer: "global-2" }, product: { sku: product.sku } },
      ],
    });
  });

  it("shows a backorder, its order and the delayed filters as delayed once its restock moves past the promise", async () => {
    const product = await newProduct(database.db);
    const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(2) });
    const { order } = await placeOrder(database.db, { customer: uniqueSku("late"), lines: [{ productId: product.id, quantity: 2 }] });
    const query = `query($id: ID!, $product: ID!, $customer: String!) {
      order(id: $id) { delayed promisedAt expectedAt lines { backorder { delayed etaSource } } }
      backlog(filter: { productId: $product, delayed: true }) { totalCount }
      orders(filter: { customer: $customer, delayed: true }) { totalCount }
    }`;
    const variables = { id: toGlobalId("Order", order.id), product: toGlobalId("Product", product.id), customer: order.customer };
    const before = await data(query, variables);
    expect(before.order).toMatchObject({ delayed: false, lines: [{ backorder: { delayed: false, etaSource: "RESTOCK" } }] });
    expect(before.order.promisedAt).toBe(before.order.expectedAt);
    expect([before.backlog.totalCount, before.orders.totalCount]).toEqual([0, 0]);

    const later = daysFromNow(10);
    await rescheduleRestock(database.db, restock.id, later);
    const after = await data(query, variables);
    expect(after.order).toMatchObject({ delayed: true, expectedAt: later.toISOString(), lines: [{ backorder: { delayed: true } }] });
    expect([after.backlog.totalCount, after.orders.totalCount]).toEqual([1, 1]);
  });
});

describe("orders and restocks", () => {
  it("lists orders newest first, filtered by status, customer and product", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    const customer = uniqueSku("customer");
    const ready = await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    const waiting = await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    const { all, awaiting, byProduct } = await data(
      `query($customer: String!, $product: ID!) {
        all: orders(filter: { customer: $customer }) { totalCount nodes { number status } }
        awaiting: orders(filter: { customer: $customer, status: [AWAITING_STOCK] }) { nodes { number } }
        byProduct: orders(filter: { productId: $product }) { nodes { number } }
      }`,
      { customer, product: toGlobalId("Product", product.id) },
    );
    expect(all).toEqual({
      totalCount: 2,
      nodes: [
        { number: waiting.order.number, status: "AWAITING_STOCK" },
        { number: ready.order.number, status: "READY_TO_SHIP" },
      ],
    });
    expect(awaiting.nodes).toEqual([{ number: waiting.order.number }]);
    expect(byProduct.nodes).toEqual([{ number: waiting.order.number }, { number: ready.order.number }]);
  });

  it("lists restocks by expected date, per product and filtered by status", async () => {
    const product = await newProduct(database.db);
    const late = await scheduleRestock(database.db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(8), reference: "late" });
    await scheduleRestock(database.db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(4), reference: "early" });
    const result = await data(
      `query($id: ID!) {
        product(id: $id) { restocks(first: 1) { totalCount pageInfo { hasNextPage } nodes { reference } }
                           cancelled: restocks(status: CANCELLED) { totalCount } }
        restocks(filter: { productId: $id, status: SCHEDULED }) { nodes { reference product { sku } location { code } } }
      }`,
      { id: toGlobalId("Product", product.id) },
    );
    expect(result.product.restocks).toEqual({ totalCount: 2, pageInfo: { hasNextPage: true }, nodes: [{ reference: "early" }] });
    expect(result.product.cancelled.totalCount).toBe(0);
    expect(result.restocks.nodes.map((node: { reference: string }) => node.reference)).toEqual(["early", "late"]);
    expect(result.restocks.nodes[0].product.sku).toBe(product.sku);
    expect(late.status).toBe("SCHEDULED");
  });
});

describe("the error model of queries", () => {
  it("refuses first above 100 or below 0 and a foreign cursor with BAD_USER_INPUT", async () => {
    for (const args of ["first: 101", "first: -1", `after: "bm90IG91cnM"`]) {
      const response = await gql(`{ products(${args}) { totalCount } }`);
      expect(response.body.errors?.[0].extensions?.code, args).toBe("BAD_USER_INPUT");
    }
    const nested = await gql(`{ products(first: 1) { nodes { backlog(first: 500) { totalCount } } } }`);
    expect(nested.body.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("masks an unexpected failure as INTERNAL_SERVER_ERROR and logs it in full with the request id", async () => {
    await database.connection.raw("ALTER TABLE locations RENAME TO locations_hidden");
    let response: GraphQLResponse;
    try {
      response = await gql(`query Broken { locations { code } }`);
    } finally {
      await database.connection.raw("ALTER TABLE locations_hidden RENAME TO locations");
    }
    expect(response.body.errors).toEqual([{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
    const logged = logLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === "unexpected error" && entry.operationName === "Broken");
    expect(logged).toMatchObject({ level: "error", path: "locations" });
    expect(typeof logged.requestId).toBe("string");
    expect(JSON.stringify(logged.error)).toContain("locations");
  });
});

describe("DataLoaders", () => {
  it("keeps the statement count of a nested query flat as the page grows", async () => {
    const prefix = uniqueSku("FLAT");
    const shared = await newProduct(database.db, { sku: `${prefix}-shared` });
    for (let i = 0; i < 12; i++) {
      const product = await newProduct(database.db, { sku: `${prefix}-${String(i).padStart(2, "0")}` });
      for (let j = 0; j < 2; j++) {
        await placeOrder(database.db, {
          customer: `flat-${i}-${j}`,
          lines: [
            { productId: product.id, quantity: 1 },
            { productId: shared.id, quantity: 1 },
          ],
        });
      }
    }
    const query = `query($first: Int) { products(filter: { search: "${prefix}-" }, first: $first) { nodes {
      sku backlog(first: 5) { nodes { position order { number lines { product { sku } } } product { sku } } } } } }`;
    const counts: number[] = [];
    for (const first of [1, 4, 12]) {
      counts.push(
        await countStatements(async () => {
          const result = await data(query, { first });
          expect(result.products.nodes).toHaveLength(first);
          expect(result.products.nodes.at(-1).backlog.nodes.length).toBeGreaterThan(0);
        }),
      );
    }
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[2]).toBeLessThanOrEqual(counts[0]);
    expect(counts[1]).toBeLessThanOrEqual(counts[0]);
  });
});

describe("health", () => {
  it("answers /healthz and /readyz", async () => {
    const health = await fetch(server.url.replace(/\/graphql$/, "/healthz"));
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    const ready = await fetch(server.url.replace(/\/graphql$/, "/readyz"));
    expect(ready.status).toBe(200);
  });
});

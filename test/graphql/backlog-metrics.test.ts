/**
 * Query.backlogMetrics over real HTTP (docs/ARCHITECTURE.md, "Backlog metrics"): the service's
 * figures for every role (READER included: they hold no customer data), products named by global
 * id, each bad argument refused as BAD_USER_INPUT naming it with nothing changed, and the field's
 * price in the cost estimate.
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { FIELD_WORK } from "../../server/graphql/limits/query-cost.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { backlogMetrics } from "../../server/services/backlog-metrics.query.js";
import { placeOrder, shipOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, ROLES, type RoleKey } from "../support/access.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
// The lists of BacklogMetrics (revenueProtected, lostDemand and its values) have no maximum the
// cost rules know yet, so each is priced at a page of 100 and a full selection passes the default
// 5,000 points; these tests are about the answers, so the limits are raised (the price is the
// last test's subject).
const roomy = { maxCost: 1_000_000, capacity: 1_000_000, refillPerSecond: 1_000_000 };
const server = useTestServer(database, {
  live: { pollMs: 3_600_000 },
  limits: { ADMIN: roomy, OPERATOR: roomy, STOREFRONT: roomy, READER: roomy },
});
const { gql, data } = server;

const PERCENTILES = "p50Hours p90Hours maxHours";
const METRICS = `from to ordersPlaced unitsOrdered unitsBackordered revenueProtected { amount currencyCode }
  lostDemand { code units value { amount currencyCode } } fillRateAtPlacement timeToFill { ${PERCENTILES} }
  backlogAge { ${PERCENTILES} } backorderCancelRate etaAccuracy waitingUnits delayedBackorders atRiskBackorders`;
const QUERY = `query Metrics($from: DateTime, $to: DateTime, $productIds: [ID!], $atRiskHours: Int) {
  backlogMetrics(from: $from, to: $to, productIds: $productIds, atRiskHours: $atRiskHours) { ${METRICS} } }`;

let keys: Record<ApiKeyRole, RoleKey>;
const product = { stocked: 0, waiting: 0 };
const window = { from: "", to: "" };

beforeAll(async () => {
  const { db } = database;
  keys = await createRoleKeys(db, "metrics");
  // One product with 2 on hand and a restock: an order of 5 takes 2 and waits for 3, is filled and shipped.
  const stocked = await newProduct(db, { price: "12.50", initialStock: 2 });
  const restock = await scheduleRestock(db, { productId: stocked.id, quantity: 3, expectedAt: daysFromNow(3) });
  const first = await placeOrder(db, { customer: "someone@example.com", lines: [{ productId: stocked.id, quantity: 5 }] });
  await receiveRestock(db, restock.id);
  await shipOrder(db, first.order.id);
  // One DENY product refusing 4 of 5 and one ALLOW product with 2 waiting.
  const denied = await newProduct(db, { price: "3.00", backorderPolicy: "DENY", initialStock: 1 });
  const waiting = await newProduct(db, { price: "8.00" });
  await placeOrder(db, {
    customer: "someone-else@example.com",
    lines: [
      { productId: denied.id, quantity: 5 },
      { productId: waiting.id, quantity: 2 },
    ],
  });
  product.stocked = stocked.id;
  product.waiting = waiting.id;
  window.from = new Date(Date.now() - 3_600_000).toISOString();
  window.to = new Date(Date.now() + 60_000).toISOString();
});

/** What the service answers, as JSON would carry it (dates as ISO strings). */
async function expected(input: Parameters<typeof backlogMetrics>[1]) {
  return JSON.parse(JSON.stringify(await backlogMetrics(database.db, input)));
}

/** The backlog's ages move with the clock between two reads: compared to the minute. */
function withoutAges<T extends { backlogAge: unknown }>(metrics: T) {
  return { ...metrics, backlogAge: null };
}

describe("Query.backlogMetrics", () => {
  it("answers every figure to each role, READER included, as the service computes them", async () => {
    const want = await expected({ from: new Date(window.from), to: new Date(window.to) });
    expect(want).toMatchObject({
      ordersPlaced: 2,
      unitsOrdered: 8,
      unitsBackordered: 5,
      revenueProtected: [{ amount: "53.50", currencyCode: "USD" }],
      lostDemand: [{ code: "OUT_OF_STOCK", units: 4, value: [{ amount: "12.00", currencyCode: "USD" }] }],
      waitingUnits: 2,
      etaAccuracy: 1,
    });
    for (const role of ROLES) {
      const { backlogMetrics: got } = await data(QUERY, window, { key: keys[role].secret });
      expect(withoutAges(got), role).toEqual(withoutAges(want));
      expect(got.backlogAge.maxHours).toBeCloseTo(want.backlogAge.maxHours, 1);
    }
  });

  it("takes products as global ids and narrows every figure to them", async () => {
    const productIds = [toGlobalId("Product", product.waiting)];
    const { backlogMetrics: got } = await data(QUERY, { ...window, productIds }, { key: keys.READER.secret });
    expect(withoutAges(got)).toEqual(withoutAges(await expected({ from: new Date(window.from), to: new Date(window.to), productIds: [product.waiting] })));
    expect(got).toMatchObject({ ordersPlaced: 1, unitsOrdered: 2, unitsBackordered: 2, waitingUnits: 2, lostDemand: [] });
  });

  it("defaults to the last 30 days and atRiskHours 72", async () => {
    const { backlogMetrics: got } = await data(`{ backlogMetrics { from to ordersPlaced atRiskBackorders } }`);
    expect(Date.parse(got.to) - Date.parse(got.from)).toBe(30 * 86_400_000);
    expect(Math.abs(Date.parse(got.to) - Date.now())).toBeLessThan(60_000);
    expect(got).toMatchObject({ ordersPlaced: 2, atRiskBackorders: 0 });
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ["from after to", { from: "2025-03-02T00:00:00Z", to: "2025-03-01T00:00:00Z" }, "from"],
    ["from equal to to", { from: "2025-03-01T00:00:00Z", to: "2025-03-01T00:00:00Z" }, "from"],
    ["a window longer than 400 days", { from: "2024-01-01T00:00:00Z", to: "2025-03-01T00:00:00Z" }, "from"],
    ["an impossible date", { from: "2025-02-30T00:00:00Z" }, "from"],
    ["atRiskHours 0", { atRiskHours: 0 }, "atRiskHours"],
    ["atRiskHours 8761", { atRiskHours: 8761 }, "atRiskHours"],
    ["101 products", { productIds: Array.from({ length: 101 }, (_, i) => toGlobalId("Product", i + 1)) }, "productIds"],
    ["a malformed product id", { productIds: ["not-an-id"] }, "productIds.0"],
    ["an id of another type", { productIds: [toGlobalId("Order", 1)] }, "productIds.0"],
    ["a product that does not exist", { productIds: [toGlobalId("Product", 1), toGlobalId("Product", 999_999)] }, "productIds.1"],
  ];
  for (const [name, variables, argument] of refusals) {
    it(`refuses ${name} as BAD_USER_INPUT on ${argument}, changing nothing`, async () => {
      const before = await databaseDigest(database.db);
      const response = await gql(QUERY, variables, { key: keys.READER.secret });
      expect(response.status).toBe(200);
      expect(response.body.data).toBeNull();
      expect(response.body.errors).toEqual([expect.objectContaining({ path: ["backlogMetrics"], extensions: { code: "BAD_USER_INPUT", argument } })]);
      expect(await databaseDigest(database.db)).toEqual(before);
    });
  }

  it("refuses a DateTime that is not ISO-8601 before anything runs", async () => {
    const response = await gql(QUERY, { from: "yesterday" }, { key: keys.READER.secret });
    expect(response.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(response.body.data ?? null).toBeNull();
  });

  it("refuses a window holding more units than an Int carries instead of failing to serialize", async () => {
    // No call records 4 billion refused units (a line is at most 1,000,000): two rows written
    // directly, in 2001, a window no other test reads.
    await database.db.execute(sql`
      INSERT INTO lost_demand (product_id, quantity, code, created_at)
      VALUES (${product.stocked}, 2000000000, 'OUT_OF_STOCK', '2001-06-01T00:00:00Z'), (${product.stocked}, 2000000000, 'OUT_OF_STOCK', '2001-06-02T00:00:00Z')`);
    const response = await gql(QUERY, { from: "2001-05-01T00:00:00Z", to: "2001-07-01T00:00:00Z" }, { key: keys.READER.secret });
    expect(response.body.errors).toEqual([expect.objectContaining({ extensions: { code: "BAD_USER_INPUT", argument: "from" } })]);
    const narrower = await data(QUERY, { from: "2001-05-01T00:00:00Z", to: "2001-06-01T12:00:00Z" });
    expect(narrower.backlogMetrics.lostDemand).toEqual([
      { code: "OUT_OF_STOCK", units: 2_000_000_000, value: [{ amount: "25000000000.00", currencyCode: "USD" }] },
    ]);
  });

  it("is priced in the cost estimate at its objects and its work (FIELD_WORK)", async () => {
    const requested = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: { requested?: number } } }).extensions?.cost?.requested;
    const args = { atRiskHours: 24 };
    const plain = await gql(`{ __typename }`);
    const priced = await gql(`{ backlogMetrics(atRiskHours: 24) { ordersPlaced timeToFill { p50Hours } } }`);
    expect(priced.body.errors).toBeUndefined();
    const work = FIELD_WORK["Query.backlogMetrics"]?.((name) => (args as Record<string, unknown>)[name]) ?? 0;
    // BacklogMetrics and its Percentiles are an object each.
    expect(requested(priced)! - requested(plain)!).toBe(2 + work);
  });
});

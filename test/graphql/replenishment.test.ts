/**
 * `Query.replenishmentPlan` over real HTTP (docs/ARCHITECTURE.md, "Replenishment plan"): the
 * figures and the product of a hand-computed line, for OPERATOR and ADMIN keys; pages in urgency
 * order; bad arguments answered BAD_USER_INPUT with nothing changed; other roles refused.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { daysFromNow, newProduct, waitingQueue } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { gql, data } = server;

let keys: Record<ApiKeyRole, RoleKey>;
beforeAll(async () => {
  keys = await createRoleKeys(database.db, "replenishment");
});

const PLAN = `
  query($productIds: [ID!], $windowDays: Int, $first: Int, $after: String) {
    replenishmentPlan(productIds: $productIds, windowDays: $windowDays, first: $first, after: $after) {
      totalCount
      totalCountPrecision
      pageInfo { hasNextPage endCursor }
      edges { cursor node { product { id } } }
      nodes {
        product { id sku stock { backordered incoming } }
        dailyDemand uncoveredUnits suggestedQuantity neededBy suggestedBackorderLimit
      }
    }
  }`;

describe("the plan", () => {
  it("answers a hand-computed line with its product to OPERATOR and ADMIN keys", async () => {
    const { db } = database;
    // Lead time 7 days, packs of 2 (minOrderQuantity), nothing on hand, safety stock 1.
    const product = await newProduct(db, { leadTimeDays: 7, minOrderQuantity: 2 });
    await adjustStock(db, { productId: product.id, delta: 0, safetyStock: 1, reason: "safety stock" });
    await scheduleRestock(db, { productId: product.id, quantity: 3, expectedAt: daysFromNow(4) });
    await placeOrder(db, { customer: "a", lines: [{ productId: product.id, quantity: 2 }] });
    await placeOrder(db, { customer: "b", lines: [{ productId: product.id, quantity: 4 }] });
    const [, second] = await waitingQueue(db, product.id);
    const id = toGlobalId("Product", product.id);
    // Demand 6 in 28 days. The backlog counts on 0 - 1 + 3 = 2 of its 6: uncovered 4; the first backorder (2) is
    // covered, the second (2 + 4) is not. Lead-time demand ceil(6 x 7 / 28) = 2; need 4 + 2 = 6, three packs of 2.
    // Limit: 3 within 14 days + the reorder of 6 in 7 days - 1 to refill = 8.
    const expected = {
      product: { id, sku: product.sku, stock: { backordered: 6, incoming: 3 } },
      dailyDemand: 6 / 28,
      uncoveredUnits: 4,
      suggestedQuantity: 6,
      neededBy: second.promisedAt!.toISOString(),
      suggestedBackorderLimit: 8,
    };
    for (const role of ["OPERATOR", "ADMIN"] as const) {
      const { replenishmentPlan } = await data(PLAN, { productIds: [id] }, { key: keys[role].secret });
      expect(replenishmentPlan.nodes).toEqual([expected]);
      expect(replenishmentPlan).toMatchObject({ totalCount: 1, totalCountPrecision: "EXACT", pageInfo: { hasNextPage: false } });
      expect(replenishmentPlan.edges.map((edge: { node: { product: { id: string } } }) => edge.node.product.id)).toEqual([id]);
    }
    // windowDays given explicitly as null is the default window.
    const { replenishmentPlan } = await data(PLAN, { productIds: [id], windowDays: null });
    expect(replenishmentPlan.nodes[0].dailyDemand).toBe(6 / 28);
  });

  it("walks the whole plan page by page in urgency order, every line once", async () => {
    const { db } = database;
    // Lines without a date, uncovered 1..5 (safety stock lacking), and two dated by a promise.
    for (const lacking of [3, 1, 5, 2, 4]) {
      const product = await newProduct(db);
      await adjustStock(db, { productId: product.id, delta: 0, safetyStock: lacking, reason: "safety stock" });
    }
    for (const days of [9, 6]) {
      const product = await newProduct(db, { leadTimeDays: days });
      await placeOrder(db, { customer: "waits", lines: [{ productId: product.id, quantity: 1 }] });
    }
    const whole = (await data(PLAN, { first: 100 })).replenishmentPlan;
    expect(whole.totalCount).toBe(whole.nodes.length);
    expect(whole.totalCount).toBeGreaterThanOrEqual(8);
    type Line = { neededBy: string | null; uncoveredUnits: number; product: { id: string } };
    const lines = whole.nodes as Line[];
    // neededBy ascending, undated last; then uncovered units descending.
    const key = (line: Line) => [line.neededBy === null ? Infinity : Date.parse(line.neededBy), -line.uncoveredUnits] as const;
    for (let i = 1; i < lines.length; i += 1) {
      const [a, b] = [key(lines[i - 1]), key(lines[i])];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]), JSON.stringify([lines[i - 1], lines[i]])).toBe(true);
    }

    const walked: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages += 1) {
      const page: { nodes: Line[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } = (
        await data(PLAN, { first: 3, after })
      ).replenishmentPlan;
      expect(page.totalCount).toBe(whole.totalCount);
      walked.push(...page.nodes.map((line) => line.product.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(walked).toEqual(lines.map((line) => line.product.id));
  });
});

describe("refusals", () => {
  it.each([
    ["a window of 0 days", { windowDays: 0 }, "windowDays"],
    ["a window of 366 days", { windowDays: 366 }, "windowDays"],
    ["first above 100", { first: 101 }, "first"],
    ["a negative first", { first: -1 }, "first"],
    ["a cursor that is not ours", { after: "bm90IGEgY3Vyc29y" }, "after"],
    ["a malformed product id", { productIds: ["nope"] }, "productIds"],
    ["an id of another type", { productIds: [toGlobalId("Order", 1)] }, "productIds"],
    ["an unknown product", { productIds: [toGlobalId("Product", 2_000_000_000)] }, "productIds"],
    ["101 products", { productIds: Array.from({ length: 101 }, (_, i) => toGlobalId("Product", i + 1)) }, "productIds"],
  ])("answers %s with BAD_USER_INPUT and changes nothing", async (_name, variables, argument) => {
    await newProduct(database.db);
    const before = await databaseDigest(database.db);
    const response = await gql(PLAN, variables);
    expect(response.status, response.text).toBe(200);
    expect(response.body.errors, response.text).toHaveLength(1);
    expect(response.body.errors![0]).toMatchObject({ path: ["replenishmentPlan"], extensions: { code: "BAD_USER_INPUT", argument } });
    expect(response.body.data ?? null).toBeNull();
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it.each(["READER", "STOREFRONT"] as const)("refuses a %s key with FORBIDDEN and changes nothing", async (role) => {
    const before = await databaseDigest(database.db);
    const response = await gql(PLAN, { first: 5 }, { key: keys[role].secret });
    expect(response.body.errors, response.text).toHaveLength(1);
    expect(response.body.errors![0]).toMatchObject({ path: ["replenishmentPlan"], extensions: { code: "FORBIDDEN" } });
    expect(response.body.data ?? null).toBeNull();
    expect(await databaseDigest(database.db)).toEqual(before);
  });
});

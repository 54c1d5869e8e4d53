/**
 * Refunds over real HTTP (docs/ARCHITECTURE.md, "Refunds"): the cancel payloads answer the refund
 * they wrote, orders list theirs with the total, `node(id:)` finds one, and `markRefunded` is for
 * OPERATOR and ADMIN keys, refusing bad ids and a second reference as userErrors. A page of orders
 * with its refunds and their lines costs the same statements whatever its size.
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { markRefunded } from "../../server/services/refund.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
// The hub's poll must not land in countStatements' window (see test/graphql/queries.test.ts); the
// statement count asks for nested lists priced far above the default per-request cost.
// The read cache off: the statements counted are one execution's (docs/ARCHITECTURE.md, "The read cache").
const server = useTestServer(database, {
  live: { pollMs: 3_600_000 },
  limits: { ADMIN: { maxCost: 5_000_000, capacity: 10_000_000 } },
  readCacheMaxAgeMs: 0,
});
const { gql, data } = server;

let keys: Record<ApiKeyRole, RoleKey>;
beforeAll(async () => {
  keys = await createRoleKeys(database.db, "refunds");
});

const REFUND = `{ id order { id } amount { amount currencyCode } reason status createdAt refundedAt reference
  lines { orderLine { id } quantity amount { amount currencyCode } } }`;
const CANCEL_LINE = `mutation($id: ID!, $quantity: Int) { cancelOrderLine(id: $id, quantity: $quantity) {
  order { id status } refund ${REFUND} userErrors { code field message } } }`;
const CANCEL_ORDER = `mutation($id: ID!) { cancelOrder(id: $id) { order { id status } refund ${REFUND} userErrors { code field message } } }`;
const MARK = `mutation($id: ID!, $reference: String!) { markRefunded(id: $id, reference: $reference) {
  refund { id status reference refundedAt amount { amount } } userErrors { code field message } } }`;

/** An order of 3 units at 19.99 (1 on the shelf) and 2 at 0.10 (none), with its global ids. */
async function placed(customer = "http-refunds") {
  const dear = await newProduct(database.db, { price: "19.99", initialStock: 1 });
  const cheap = await newProduct(database.db, { price: "0.10" });
  const { order } = await placeOrder(database.db, {
    customer,
    lines: [
      { productId: dear.id, quantity: 3 },
      { productId: cheap.id, quantity: 2 },
    ],
  });
  const { order: view } = await data(`query($id: ID!) { order(id: $id) { id lines { id product { id } } } }`, { id: toGlobalId("Order", order.id) });
  const lineOf = (productId: number) => view.lines.find((line: { product: { id: string } }) => line.product.id === toGlobalId("Product", productId)).id;
  return { order, orderId: view.id as string, dearLine: lineOf(dear.id) as string, cheapLine: lineOf(cheap.id) as string };
}

describe("the cancel payloads", () => {
  it("answer cancelOrderLine and cancelOrder with the refund each wrote, PENDING, at the lines' unit prices", async () => {
    const { orderId, dearLine, cheapLine } = await placed();
    const first = (await data(CANCEL_LINE, { id: dearLine, quantity: 2 }, { key: keys.STOREFRONT.secret })).cancelOrderLine;
    expect(first.userErrors).toEqual([]);
    expect(first.refund).toMatchObject({
      order: { id: orderId },
      amount: { amount: "39.98", currencyCode: "USD" },
      reason: "CANCELLED",
      status: "PENDING",
      refundedAt: null,
      reference: null,
      lines: [{ orderLine: { id: dearLine }, quantity: 2, amount: { amount: "39.98", currencyCode: "USD" } }],
    });
    expect(Date.parse(first.refund.createdAt)).not.toBeNaN();

    const rest = (await data(CANCEL_ORDER, { id: orderId }, { key: keys.STOREFRONT.secret })).cancelOrder;
    expect(rest.order.status).toBe("CANCELLED");
    expect(rest.refund.amount).toEqual({ amount: "20.19", currencyCode: "USD" });
    expect(
      rest.refund.lines.map((line: { orderLine: { id: string }; quantity: number; amount: { amount: string } }) => [
        line.orderLine.id,
        line.quantity,
        line.amount.amount,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [dearLine, 1, "19.99"],
        [cheapLine, 2, "0.20"],
      ]),
    );
    expect(rest.refund.id).not.toBe(first.refund.id);
  });

  it("answers a refused cancellation with a null refund and the userError", async () => {
    const { orderId, dearLine } = await placed();
    const refused = (await data(CANCEL_LINE, { id: dearLine, quantity: 4 })).cancelOrderLine;
    expect(refused).toEqual({ order: null, refund: null, userErrors: [expect.objectContaining({ code: "INVALID_INPUT", field: ["quantity"] })] });
    expect((await data(`query($id: ID!) { order(id: $id) { refunds { id } } }`, { id: orderId })).order.refunds).toEqual([]);
    await data(CANCEL_ORDER, { id: orderId });
  });

  it("leaves the refund null on placeOrder and shipOrder", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    const { placeOrder: placedOrder } = await data(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } refund { id } userErrors { code } } }`,
      { input: { customer: "no-refund", lines: [{ productId: toGlobalId("Product", product.id), quantity: 1 }] } },
    );
    expect(placedOrder).toMatchObject({ refund: null, userErrors: [] });
    const { shipOrder } = await data(`mutation($id: ID!) { shipOrder(id: $id) { refund { id } userErrors { code } } }`, { id: placedOrder.order.id });
    expect(shipOrder).toEqual({ refund: null, userErrors: [] });
  });
});

describe("Order.refunds and refundTotal", () => {
  it("list an order's refunds oldest first and add them up exactly; an order without any totals 0.00 in its currency", async () => {
    const { orderId, dearLine, cheapLine } = await placed();
    const ids: string[] = [];
    ids.push((await data(CANCEL_LINE, { id: cheapLine, quantity: 1 })).cancelOrderLine.refund.id);
    ids.push((await data(CANCEL_LINE, { id: dearLine, quantity: 3 })).cancelOrderLine.refund.id);
    const query = `query($id: ID!) { order(id: $id) { refunds { id amount { amount } status } refundTotal { amount currencyCode } } }`;
    const { order } = await data(query, { id: orderId }, { key: keys.READER.secret });
    expect(order).toEqual({
      refunds: [
        { id: ids[0], amount: { amount: "0.10" }, status: "PENDING" },
        { id: ids[1], amount: { amount: "59.97" }, status: "PENDING" },
      ],
      refundTotal: { amount: "60.07", currencyCode: "USD" },
    });
    await data(CANCEL_ORDER, { id: orderId });

    const untouched = await placed("no-refunds-yet");
    expect((await data(query, { id: untouched.orderId })).order).toEqual({ refunds: [], refundTotal: { amount: "0.00", currencyCode: "USD" } });
    await data(CANCEL_ORDER, { id: untouched.orderId });
  });
});

describe("node(id:)", () => {
  it("finds a Refund by its global id, and answers null for one that does not exist", async () => {
    const { orderId } = await placed();
    const { refund } = (await data(CANCEL_ORDER, { id: orderId })).cancelOrder;
    const query = `query($id: ID!) { node(id: $id) { __typename id ... on Refund { amount { amount currencyCode } order { id } lines { quantity } } } }`;
    const { node } = await data(query, { id: refund.id }, { key: keys.READER.secret });
    expect(node).toEqual({
      __typename: "Refund",
      id: refund.id,
      amount: refund.amount,
      order: { id: orderId },
      lines: [{ quantity: 3 }, { quantity: 2 }],
    });
    expect((await data(query, { id: toGlobalId("Refund", 2_000_000_000) })).node).toBeNull();
  });
});

describe("markRefunded", () => {
  async function pendingRefund(): Promise<string> {
    const { orderId } = await placed();
    return (await data(CANCEL_ORDER, { id: orderId })).cancelOrder.refund.id;
  }

  it("records the payment for OPERATOR and ADMIN keys; the same reference again answers it unchanged", async () => {
    for (const role of ["OPERATOR", "ADMIN"] as const) {
      const id = await pendingRefund();
      const first = (await data(MARK, { id, reference: ` pay-${role} ` }, { key: keys[role].secret })).markRefunded;
      expect(first).toMatchObject({ refund: { id, status: "REFUNDED", reference: `pay-${role}`, amount: { amount: "60.17" } }, userErrors: [] });
      expect(Date.parse(first.refund.refundedAt)).not.toBeNaN();
      const again = (await data(MARK, { id, reference: `pay-${role}` }, { key: keys[role].secret })).markRefunded;
      expect(again).toEqual(first);
    }
  });

  it("is FORBIDDEN to READER and STOREFRONT keys, and changes nothing", async () => {
    const id = await pendingRefund();
    for (const role of ["READER", "STOREFRONT"] as const) {
      const before = await databaseDigest(database.db);
      const response = await gql(MARK, { id, reference: "pay-x" }, { key: keys[role].secret });
      expect(response.body.errors?.[0], response.text).toMatchObject({ path: ["markRefunded"], extensions: { code: "FORBIDDEN" } });
      expect(response.body.data ?? null).toBeNull();
      expect(await databaseDigest(database.db)).toEqual(before);
    }
    expect((await data(`query($id: ID!) { node(id: $id) { ... on Refund { status } } }`, { id })).node).toEqual({ status: "PENDING" });
  });

  it("answers another reference with INVALID_STATE, bad ids and references with INVALID_INPUT or NOT_FOUND, as userErrors", async () => {
    const id = await pendingRefund();
    await data(MARK, { id, reference: "pay-first" });
    const before = await databaseDigest(database.db);
    const cases: [Record<string, unknown>, string, string[]][] = [
      [{ id, reference: "pay-second" }, "INVALID_STATE", ["reference"]],
      [{ id: "xyz", reference: "pay" }, "INVALID_INPUT", ["id"]],
      [{ id: "", reference: "pay" }, "INVALID_INPUT", ["id"]],
      // A global id of another type names no refund.
      [{ id: toGlobalId("Order", 1), reference: "pay" }, "NOT_FOUND", ["id"]],
      [{ id: toGlobalId("Refund", 2_000_000_000), reference: "pay" }, "NOT_FOUND", ["id"]],
      [{ id, reference: "  " }, "INVALID_INPUT", ["reference"]],
      [{ id, reference: "r".repeat(201) }, "INVALID_INPUT", ["reference"]],
    ];
    for (const [variables, code, field] of cases) {
      const { markRefunded } = await data(MARK, variables);
      expect(markRefunded, JSON.stringify(variables)).toEqual({ refund: null, userErrors: [{ code, field, message: expect.any(String) }] });
    }
    expect(await databaseDigest(database.db)).toEqual(before);
    expect((await data(`query($id: ID!) { node(id: $id) { ... on Refund { reference } } }`, { id })).node).toEqual({ reference: "pay-first" });
  });
});

describe("DataLoaders", () => {
  /** The SQL statements the server runs for `work` (counted as test/graphql/queries.test.ts counts them). */
  async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
    await server.app.hub.settled();
    const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
    const original = session.prepareQuery;
    const statements: string[] = [];
    session.prepareQuery = function (this: unknown, ...args: unknown[]) {
      const text = (args[0] as { sql?: string }).sql ?? "";
      // The instance's own timer (the cost budgets' merge every 250 ms) is not the request's.
      if (!text.includes("cost_budgets")) statements.push(text.replace(/\s+/g, " ").slice(0, 120));
      return original.apply(this, args);
    };
    try {
      await work();
    } finally {
      session.prepareQuery = original;
    }
    return statements;
  }

  it("read a page of orders' refunds, their lines and totals in the same number of statements for 1, 4 and 12 orders", async () => {
    const customer = uniqueSku("flat-refunds");
    for (let i = 0; i < 12; i++) {
      const { orderId, dearLine } = await placed(customer);
      await data(CANCEL_LINE, { id: dearLine, quantity: 1 });
      await data(CANCEL_ORDER, { id: orderId });
    }
    const query = `query($first: Int, $customer: String) { orders(first: $first, filter: { customer: $customer }) { nodes {
      number refundTotal { amount } refunds { id amount { amount } lines { quantity amount { amount } orderLine { product { sku } } } } } } }`;
    const runs: string[][] = [];
    for (const first of [1, 4, 12]) {
      runs.push(
        await statementsOf(async () => {
          const { orders } = await data(query, { first, customer });
          expect(orders.nodes).toHaveLength(first);
          for (const order of orders.nodes) {
            expect(order.refunds).toHaveLength(2);
            expect(order.refundTotal.amount).toBe("60.17");
          }
        }),
      );
    }
    // The page, the totals, the refunds, their lines, the order lines, the products.
    expect(runs[0]).toHaveLength(6);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe("Query.refunds and Query.refundsDue", () => {
  const DUE = `{ refundsDue { count countPrecision oldestPendingAt totals { amount { amount currencyCode } count } } }`;
  const LIST = `query($status: RefundStatus, $first: Int, $after: String) { refunds(status: $status, first: $first, after: $after) {
    totalCount totalCountPrecision pageInfo { hasNextPage endCursor } nodes { id status createdAt amount { amount currencyCode } order { number } } } }`;

  /** Pays every refund still pending (earlier tests of this file left some), so the figures below are this describe's alone. */
  async function payEverything() {
    const pending = await rows<{ id: number }>(database.db, sql`SELECT id FROM refunds WHERE status = 'PENDING'`);
    for (const { id } of pending) await markRefunded(database.db, Number(id), `paid-${id}`);
  }

  /** Cancels an order of `quantity` units at `price` in `currencyCode`; the refund's global id. */
  async function refunded(price: string, quantity: number, currencyCode = "USD"): Promise<string> {
    const product = await newProduct(database.db, { price, currencyCode });
    const { order } = await placeOrder(database.db, { customer: "due", lines: [{ productId: product.id, quantity }] });
    const { cancelOrder } = await data(CANCEL_ORDER, { id: toGlobalId("Order", order.id) });
    expect(cancelOrder.userErrors).toEqual([]);
    return cancelOrder.refund.id;
  }

  it("answers a shop that owes nothing with a count of 0, no totals and no oldest date, to a READER key", async () => {
    await payEverything();
    expect((await data(DUE, {}, { key: keys.READER.secret })).refundsDue).toEqual({
      count: 0,
      countPrecision: "EXACT",
      oldestPendingAt: null,
      totals: [],
    });
  });

  it("sums the pending refunds per currency exactly, counts them and dates the oldest; a refund paid leaves the figures", async () => {
    await payEverything();
    const first = await refunded("0.10", 3);
    await refunded("0.20", 1);
    await refunded("19.99", 2, "EUR");
    const due = (await data(DUE, {}, { key: keys.READER.secret })).refundsDue;
    expect(due.totals).toEqual([
      { amount: { amount: "39.98", currencyCode: "EUR" }, count: 1 },
      { amount: { amount: "0.50", currencyCode: "USD" }, count: 2 },
    ]);
    expect(due).toMatchObject({ count: 3, countPrecision: "EXACT" });
    const [oldest] = (await data(LIST, { status: "PENDING", first: 1 })).refunds.nodes;
    expect(oldest.id).toBe(first);
    expect(due.oldestPendingAt).toBe(oldest.createdAt);

    expect((await data(MARK, { id: first, reference: "pay-due" })).markRefunded.userErrors).toEqual([]);
    const after = (await data(DUE)).refundsDue;
    expect(after.totals).toEqual([
      { amount: { amount: "39.98", currencyCode: "EUR" }, count: 1 },
      { amount: { amount: "0.20", currencyCode: "USD" }, count: 1 },
    ]);
    expect(after.count).toBe(2);
    expect(Date.parse(after.oldestPendingAt)).toBeGreaterThanOrEqual(Date.parse(due.oldestPendingAt));
  });

  it("pages the PENDING refunds oldest first and every refund newest first, with totals, over keyset cursors", async () => {
    await payEverything();
    const made: string[] = [];
    for (let i = 1; i <= 5; i++) made.push(await refunded(`${i}.00`, 1));
    await data(MARK, { id: made[2], reference: "pay-middle" });
    const pendingIds = [made[0], made[1], made[3], made[4]];

    const seen: string[] = [];
    let after: string | null = null;
    do {
      const { refunds: page }: { refunds: any } = await data(LIST, { status: "PENDING", first: 3, after }, { key: keys.READER.secret });
      expect(page.totalCount).toBe(4);
      expect(page.totalCountPrecision).toBe("EXACT");
      for (const node of page.nodes) expect(node.status).toBe("PENDING");
      seen.push(...page.nodes.map((node: { id: string }) => node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(pendingIds);

    const newest = (await data(LIST, { first: 2 })).refunds;
    expect(newest.nodes.map((node: { id: string }) => node.id)).toEqual([made[4], made[3]]);
    const next = (await data(LIST, { first: 2, after: newest.pageInfo.endCursor })).refunds;
    expect(next.nodes.map((node: { id: string }) => node.id)).toEqual([made[2], made[1]]);
    const paid = (await data(LIST, { status: "REFUNDED", first: 1 })).refunds;
    expect(paid.nodes[0]).toMatchObject({ id: made[2], status: "REFUNDED", amount: { amount: "3.00" } });
    expect(paid.nodes[0].order.number).toEqual(expect.any(String));
  });

  it("refuses a page size outside 0..100, a cursor that is not ours and a cursor of the other order with BAD_USER_INPUT", async () => {
    await refunded("1.00", 1);
    const pendingCursor = (await data(LIST, { status: "PENDING", first: 1 })).refunds.pageInfo.endCursor;
    const newestCursor = (await data(LIST, { first: 1 })).refunds.pageInfo.endCursor;
    const cases: [Record<string, unknown>, string][] = [
      [{ first: 101 }, "first"],
      [{ first: -1 }, "first"],
      [{ after: "not a cursor" }, "after"],
      [{ status: "PENDING", after: newestCursor }, "after"],
      [{ after: pendingCursor }, "after"],
    ];
    for (const [variables, argument] of cases) {
      const { body } = await gql(LIST, variables);
      expect(body.data ?? null, JSON.stringify(variables)).toBeNull();
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument });
    }
  });

  it("reads the PENDING page through refunds_pending_idx from the cursor's created_at on", async () => {
    // A plan for the first page of PENDING refunds as the service sends it; seq scans off so the
    // planner shows whether the index serves this order at all (the table is small here).
    const plan = await database.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL enable_seqscan = off`);
      return rows<Record<string, string>>(
        tx,
        sql`EXPLAIN SELECT * FROM refunds WHERE status = 'PENDING' AND (created_at, id) > (now() - interval '1 day', 0) ORDER BY created_at, id LIMIT 21`,
      );
    });
    const text = plan.map((row) => Object.values(row)[0]).join("\n");
    // The range starts at the cursor's created_at in the index: a page reads from there on, not the
    // whole pending set. (Whether ties are sorted incrementally or the few rows are sorted whole is
    // the planner's estimate on a table this small: PGlite shows the first, PostgreSQL 15 the second.)
    expect(text).toMatch(/Index Scan using refunds_pending_idx/);
    expect(text).toMatch(/Index Cond: \(created_at >=/);
  });
});

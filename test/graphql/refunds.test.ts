/**
 * Refunds over real HTTP (docs/ARCHITECTURE.md, "Refunds"): the cancel payloads answer the refund
 * they wrote, orders list theirs with the total, `node(id:)` finds one, and `markRefunded` is for
 * OPERATOR and ADMIN keys, refusing bad ids and a second reference as userErrors. A page of orders
 * with its refunds and their lines costs the same statements whatever its size.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
// The hub's poll must not land in countStatements' window (see test/graphql/queries.test.ts); the
// statement count asks for nested lists priced far above the default per-request cost.
const server = useTestServer(database, { live: { pollMs: 3_600_000 }, limits: { ADMIN: { maxCost: 5_000_000, capacity: 10_000_000 } } });
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

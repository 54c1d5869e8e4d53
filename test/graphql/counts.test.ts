/**
 * Connection totals over HTTP (docs/ARCHITECTURE.md, "Counting"): every connection says how far
 * its totalCount goes; orders by status and product are counted exactly from the counters however
 * many there are, other filters up to 10,000 (AT_LEAST beyond); the cost estimate prices the
 * count by the work it may do.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { COUNT_BOUND } from "../../drizzle/paging.js";
import { BOUNDED_COUNT_COST } from "../../server/graphql/limits/query-cost.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";
import { refundCancelledUnits } from "../support/refunds.js";

const database = useFreshDatabase();
const server = useTestServer(database, { live: { pollMs: 3_600_000 } });
const { gql, data } = server;

/** The cost estimate the server reported for a response. */
const requestedCost = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: { requested?: number } } }).extensions?.cost?.requested;

describe("totalCountPrecision", () => {
  it("is on every connection, EXACT for lists under the bound", async () => {
    const product = await newProduct(database.db, { initialStock: 1 });
    await placeOrder(database.db, { customer: "few", lines: [{ productId: product.id, quantity: 3 }] });
    await scheduleRestock(database.db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(3) });
    const id = toGlobalId("Product", product.id);
    const result = await data(
      `query($id: ID!) {
        products(first: 0) { totalCount totalCountPrecision }
        restocks(first: 0) { totalCount totalCountPrecision }
        apiKeys(first: 0) { totalCount totalCountPrecision }
        backlog(first: 0) { totalCount totalCountPrecision }
        delayed: backlog(first: 0, filter: { productId: $id, delayed: false }) { totalCount totalCountPrecision }
        orders(first: 0, filter: { customer: "few" }) { totalCount totalCountPrecision }
        product(id: $id) {
          backlog(first: 0) { totalCount totalCountPrecision }
          restocks(first: 0) { totalCount totalCountPrecision }
        }
      }`,
      { id },
    );
    const exact = (totalCount: number) => ({ totalCount, totalCountPrecision: "EXACT" });
    expect(result).toEqual({
      products: exact(1),
      restocks: exact(1),
      apiKeys: exact(1),
      backlog: exact(1),
      delayed: exact(1),
      orders: exact(1),
      product: { backlog: exact(1), restocks: exact(1) },
    });
  });

  it("is EXACT on the empty answer to a filter naming an id of another type", async () => {
    const { orders } = await data(`query($id: ID!) { orders(filter: { productId: $id }) { totalCount totalCountPrecision } }`, {
      id: toGlobalId("Order", 1),
    });
    expect(orders).toEqual({ totalCount: 0, totalCountPrecision: "EXACT" });
  });
});

describe("past the bound", () => {
  it("counts a customer's orders to 10,000 and says AT_LEAST, while statuses and a product stay exact from the counters", async () => {
    const product = await newProduct(database.db);
    // 10,001 one-line orders, every unit cancelled (consistent without stock, with their refunds), loaded in a few statements.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`
        INSERT INTO orders (customer, status, total, currency_code)
        SELECT 'big-customer', 'CANCELLED', 10, 'USD' FROM generate_series(1, ${COUNT_BOUND + 1}::int)`);
      await tx.execute(sql`
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, cancelled)
        SELECT id, ${product.id}::int, 1, 1, 10, 1 FROM orders WHERE customer = 'big-customer'`);
      await refundCancelledUnits(tx);
    });
    const id = toGlobalId("Product", product.id);
    const customer = await gql(`{ orders(first: 0, filter: { customer: "big-customer" }) { totalCount totalCountPrecision } }`);
    expect(customer.body.data.orders).toEqual({ totalCount: COUNT_BOUND, totalCountPrecision: "AT_LEAST" });
    expect(requestedCost(customer)).toBe(1 + BOUNDED_COUNT_COST);

    const byProduct = await gql(
      `query($id: ID!) { orders(first: 0, filter: { productId: $id, status: [CANCELLED] }) { totalCount totalCountPrecision } }`,
      {
        id,
      },
    );
    expect(byProduct.body.data.orders).toEqual({ totalCount: COUNT_BOUND + 1, totalCountPrecision: "EXACT" });
    expect(requestedCost(byProduct)).toBe(2);

    const { products } = await data(`{ products(first: 0, filter: { hasBacklog: false }) { totalCount totalCountPrecision } }`);
    expect(products.totalCountPrecision).toBe("EXACT");
  });
});

describe("delayed orders", () => {
  it("counts the orders with a delayed backorder as the page lists them", async () => {
    const product = await newProduct(database.db);
    const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 3, expectedAt: daysFromNow(2) });
    for (const customer of ["late-1", "late-2", "late-3"]) {
      await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    }
    // Two-line orders count once, and orders without a promise (beyond the restock) not at all.
    const other = await newProduct(database.db);
    await scheduleRestock(database.db, { productId: other.id, quantity: 5, expectedAt: daysFromNow(2) });
    await placeOrder(database.db, {
      customer: "late-4",
      lines: [
        { productId: product.id, quantity: 1 },
        { productId: other.id, quantity: 1 },
      ],
    });
    await rescheduleRestock(database.db, restock.id, daysFromNow(6));
    const { orders } = await data(`{ orders(first: 100, filter: { delayed: true }) { totalCount totalCountPrecision nodes { customer } } }`);
    expect(orders.nodes.map((node: { customer: string }) => node.customer).sort()).toEqual(["late-1", "late-2", "late-3"]);
    expect(orders).toMatchObject({ totalCount: 3, totalCountPrecision: "EXACT" });
  });
});

describe("delayed orders, many", () => {
  /** `orders` more orders of 3 lines each (one per product), every line a waiting backorder flagged delayed. */
  async function delayedOrders(productIds: number[], orders: number, customer: string) {
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`
        INSERT INTO orders (customer, status, total, currency_code)
        SELECT ${customer}, 'AWAITING_STOCK', 30, 'USD' FROM generate_series(1, ${orders}::int)`);
      await tx.execute(sql`
        INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, waiting)
        SELECT o.id, p.id, p.n, 1, 10, 1 FROM orders o, unnest(${sql.raw(`ARRAY[${productIds.join(",")}]`)}::int[]) WITH ORDINALITY AS p(id, n)
        WHERE o.customer = ${customer}`);
      await tx.execute(sql`
        INSERT INTO backorders (product_id, order_id, order_line_id, quantity, remaining, status, delayed)
        SELECT l.product_id, l.order_id, l.id, 1, 1, 'WAITING', true FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.customer = ${customer}`);
      // The products' backlog counters, as the engine keeps them (the audit checks them).
      await tx.execute(sql`
        UPDATE products SET backordered = backordered + ${orders}::int, waiting_orders = waiting_orders + ${orders}::int
        WHERE id IN (${sql.raw(productIds.join(","))})`);
    });
  }

  it("counts them from their backorders: exact while the backorders read stay under the bound, a lower bound (AT_LEAST) past it", async () => {
    const products = [await newProduct(database.db), await newProduct(database.db), await newProduct(database.db)];
    const ids = products.map((product) => product.id);
    const query = `{ orders(first: 2, filter: { delayed: true }) { totalCount totalCountPrecision nodes { customer } } }`;
    const before = (await data(query)).orders.totalCount as number; // the tests above left a few
    expect(before).toBeLessThan(10);
    await delayedOrders(ids, 6_000, "many-late"); // 18,000 delayed backorders and a few: all read
    const exact = await gql(query);
    expect(exact.body.data.orders).toMatchObject({ totalCount: before + 6_000, totalCountPrecision: "EXACT" });
    expect(requestedCost(exact)).toBe(3 + BOUNDED_COUNT_COST);

    await delayedOrders(ids, 1_000, "more-late"); // 21,000: reading stops at 2 × COUNT_BOUND
    const { orders } = await data(query);
    expect(orders.totalCountPrecision).toBe("AT_LEAST");
    // 20,001 backorders, at most 3 per order, are at least 6,667 orders, and there are 7,000 and a few.
    expect(orders.totalCount).toBeGreaterThanOrEqual(6_667);
    expect(orders.totalCount).toBeLessThanOrEqual(before + 7_000);
    expect(orders.nodes).toHaveLength(2);
  });
});

/**
 * Supplier orders for dashboards over real HTTP (docs/ARCHITECTURE.md, "Supplier dashboard"):
 * `SupplierOrder.late` and `supplierOrders(filter: { late })` (open orders only, oldest first,
 * late against the acknowledged date or else the supplier's lead time, never without a date),
 * their paging and bounded count; the list read with a READER key, customers pseudonymised as on
 * orders; a SUPPLIER key still sees only its own supplier's. Lateness is made by moving the rows'
 * dates back with SQL, as time would.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { schema } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { acknowledgeSupplierOrder, shipSupplierOrder } from "../../server/services/supplier-order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });
const { gql, data } = server;
const gid = toGlobalId;

const LIST = `query($filter: SupplierOrderFilter, $first: Int, $after: String) {
  supplierOrders(filter: $filter, first: $first, after: $after) {
    totalCount totalCountPrecision
    nodes { id orderNumber customer status late expectedShipAt createdAt }
    pageInfo { hasNextPage endCursor } } }`;

/** A supplier with `leadTimeDays` and a DROPSHIP product of it. */
async function dropshipSupplier(leadTimeDays: number | null) {
  const supplier = await createSupplier(database.db, { name: uniqueSku("Late supplier"), leadTimeDays });
  const product = await newProduct(database.db, { fulfillment: "DROPSHIP", supplierId: supplier.id, price: "5.00" });
  return { supplier, product };
}

/** An order of one unit of `productId`; its supplier order's id. */
async function supplierOrderOf(productId: number, customer = "late@example.com"): Promise<number> {
  const { order } = await placeOrder(database.db, { customer, lines: [{ productId, quantity: 1 }] });
  const [row] = await database.db.select().from(schema.supplierOrders).where(eq(schema.supplierOrders.orderId, order.id));
  return row.id;
}

/** Moves a supplier order's dates back by `days` (its creation, and its acknowledged date if any), as time passing would. */
async function age(supplierOrderId: number, days: number, shipDateDays = days): Promise<void> {
  await database.db.execute(sql`
    UPDATE supplier_orders SET created_at = created_at - ${days} * interval '1 day',
                               expected_ship_at = expected_ship_at - ${shipDateDays} * interval '1 day'
     WHERE id = ${supplierOrderId}`);
}

const ids = (list: { nodes: { id: string }[] }) => list.nodes.map((node) => node.id);
const so = (id: number) => gid("SupplierOrder", id);

describe("late supplier orders", () => {
  it("is late when OPEN past the lead time or ACKNOWLEDGED past its date; the filter lists them oldest first, the rest on time", async () => {
    const { supplier, product } = await dropshipSupplier(5);
    // OPEN, ordered 6 days ago with a 5-day lead time: late by a day.
    const openLate = await supplierOrderOf(product.id);
    await age(openLate, 6);
    // OPEN, ordered today: due in 5 days.
    const openOnTime = await supplierOrderOf(product.id);
    // ACKNOWLEDGED for tomorrow, then two days pass: late by a day (ordered 2 days ago).
    const ackLate = await supplierOrderOf(product.id);
    await acknowledgeSupplierOrder(database.db, ackLate, daysFromNow(1));
    await age(ackLate, 2);
    // ACKNOWLEDGED for 20 days ahead, though ordered 10 days ago (past the lead time): the acknowledged date counts.
    const ackOnTime = await supplierOrderOf(product.id);
    await acknowledgeSupplierOrder(database.db, ackOnTime, daysFromNow(20));
    await age(ackOnTime, 10, 0);
    // SHIPPED, long ago: closed, never late.
    const shipped = await supplierOrderOf(product.id);
    await age(shipped, 30);
    await shipSupplierOrder(database.db, shipped, "T-1");

    const supplierId = gid("Supplier", supplier.id);
    const late = (await data(LIST, { filter: { supplierId, late: true } })).supplierOrders;
    expect(ids(late)).toEqual([so(openLate), so(ackLate)]);
    expect(late).toMatchObject({ totalCount: 2, totalCountPrecision: "EXACT" });
    expect(late.nodes.map((node: { late: boolean; status: string }) => [node.status, node.late])).toEqual([
      ["OPEN", true],
      ["ACKNOWLEDGED", true],
    ]);
    // The lead time's date: created 6 days ago plus 5 days, in the past.
    expect(new Date(late.nodes[0].expectedShipAt).getTime()).toBeCloseTo(daysFromNow(-1).getTime(), -5);

    const onTime = (await data(LIST, { filter: { supplierId, late: false } })).supplierOrders;
    expect(ids(onTime)).toEqual([so(ackOnTime), so(openOnTime)]);
    expect(onTime.totalCount).toBe(2);
    expect(onTime.nodes.every((node: { late: boolean }) => !node.late)).toBe(true);

    // With a status: only that status's open orders; a closed status matches nothing.
    const ackedLate = (await data(LIST, { filter: { supplierId, late: true, status: "ACKNOWLEDGED" } })).supplierOrders;
    expect(ids(ackedLate)).toEqual([so(ackLate)]);
    expect((await data(LIST, { filter: { supplierId, late: true, status: "SHIPPED" } })).supplierOrders).toMatchObject({ totalCount: 0, nodes: [] });
    // Without `late`: every order, newest first, each with its field.
    const all = (await data(LIST, { filter: { supplierId } })).supplierOrders;
    expect(ids(all)).toEqual([shipped, ackOnTime, ackLate, openOnTime, openLate].map(so));
    expect(all.nodes.map((node: { late: boolean }) => node.late)).toEqual([false, false, true, false, true]);
    // Every supplier's: ours among them.
    expect(ids((await data(LIST, { filter: { late: true }, first: 100 })).supplierOrders)).toEqual(expect.arrayContaining([so(openLate), so(ackLate)]));
  });

  it("is never late without a date: an OPEN order of a supplier without a lead time", async () => {
    const { supplier, product } = await dropshipSupplier(null);
    const undated = await supplierOrderOf(product.id);
    await age(undated, 400);
    const supplierId = gid("Supplier", supplier.id);
    expect((await data(LIST, { filter: { supplierId, late: true } })).supplierOrders).toMatchObject({ totalCount: 0, nodes: [] });
    const onTime = (await data(LIST, { filter: { supplierId, late: false } })).supplierOrders;
    expect(onTime.nodes).toEqual([expect.objectContaining({ id: so(undated), late: false, expectedShipAt: null })]);
  });

  it("pages oldest first by creation, and refuses a cursor of the newest-first list", async () => {
    const { supplier, product } = await dropshipSupplier(1);
    const made: number[] = [];
    for (const days of [9, 7, 5]) {
      const id = await supplierOrderOf(product.id);
      await age(id, days);
      made.push(id);
    }
    const filter = { supplierId: gid("Supplier", supplier.id), late: true };
    const first = (await data(LIST, { filter, first: 2 })).supplierOrders;
    expect(ids(first)).toEqual([so(made[0]), so(made[1])]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await data(LIST, { filter, first: 2, after: first.pageInfo.endCursor })).supplierOrders;
    expect(ids(second)).toEqual([so(made[2])]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const newest = (await data(LIST, { filter: { supplierId: filter.supplierId }, first: 1 })).supplierOrders;
    const refused = await gql(LIST, { filter, after: newest.pageInfo.endCursor });
    expect(refused.body.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(refused.body.data ?? null).toBeNull();
  });
});

describe("who reads supplier orders", () => {
  it("a READER key lists them with the customer's pseudonym, the same as on the order", async () => {
    const { supplier, product } = await dropshipSupplier(2);
    const id = await supplierOrderOf(product.id, "dora@example.com");
    await age(id, 3);
    const { secret } = await createApiKey(database.db, { name: "dashboard reader", role: "READER" });
    const filter = { supplierId: gid("Supplier", supplier.id), late: true };
    const read = (await data(LIST, { filter }, { key: secret })).supplierOrders;
    expect(ids(read)).toEqual([so(id)]);
    expect(read.nodes[0].customer).toMatch(/^customer-[0-9a-f]{10}$/);
    expect(JSON.stringify(read)).not.toContain("dora@example.com");
    const order = await data(
      `query($id: ID!) { node(id: $id) { ... on SupplierOrder { orderLine { order { customer } } } } }`,
      { id: so(id) },
      { key: secret },
    );
    expect(order.node.orderLine.order.customer).toBe(read.nodes[0].customer);
    // Keys that see customers see the address.
    expect((await data(LIST, { filter })).supplierOrders.nodes[0].customer).toBe("dora@example.com");
  });

  it("a SUPPLIER key's late list is its own supplier's only", async () => {
    const mine = await dropshipSupplier(1);
    const theirs = await dropshipSupplier(1);
    const own = await supplierOrderOf(mine.product.id);
    const other = await supplierOrderOf(theirs.product.id);
    await age(own, 2);
    await age(other, 2);
    const { secret } = await createApiKey(database.db, { name: "late supplier", role: "SUPPLIER", supplierId: mine.supplier.id });
    const listed = (await data(LIST, { filter: { late: true }, first: 100 }, { key: secret })).supplierOrders;
    expect(ids(listed)).toEqual([so(own)]);
    const named = (await data(LIST, { filter: { late: true, supplierId: gid("Supplier", theirs.supplier.id) } }, { key: secret })).supplierOrders;
    expect(named).toMatchObject({ totalCount: 0, nodes: [] });
  });
});

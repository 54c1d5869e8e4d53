/**
 * Dropship over real HTTP (docs/ARCHITECTURE.md, "Dropship"): DROPSHIP products, the supplier
 * order a line becomes, the supplier's three acts through GraphQL, and a SUPPLIER key's isolation:
 * another supplier's order is NOT_FOUND to its mutations and null to `node`, a filter naming
 * another supplier matches nothing, and it reads none of the rest of the data.
 */
import { describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { databaseDigest } from "../support/access.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { USER_ERRORS } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });
const { gql, data } = server;
const gid = toGlobalId;

const SUPPLIER_ORDER_FIELDS =
  "id orderNumber customer sku productName quantity status expectedShipAt trackingNumber rejectReason createdAt acknowledgedAt shippedAt closedAt";
const ACKNOWLEDGE = `mutation($id: ID!, $at: DateTime!) { acknowledgeSupplierOrder(id: $id, expectedShipAt: $at) { supplierOrder { ${SUPPLIER_ORDER_FIELDS} } ${USER_ERRORS} } }`;
const SHIP = `mutation($id: ID!, $tracking: String) { shipSupplierOrder(id: $id, trackingNumber: $tracking) { supplierOrder { ${SUPPLIER_ORDER_FIELDS} } ${USER_ERRORS} } }`;
const REJECT = `mutation($id: ID!, $reason: String!) { rejectSupplierOrder(id: $id, reason: $reason) { supplierOrder { ${SUPPLIER_ORDER_FIELDS} } ${USER_ERRORS} } }`;
const LIST = `query($filter: SupplierOrderFilter, $first: Int, $after: String) {
  supplierOrders(filter: $filter, first: $first, after: $after) { totalCount nodes { ${SUPPLIER_ORDER_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
const NODE = `query($id: ID!) { node(id: $id) { id ... on SupplierOrder { orderNumber status } } }`;
const ORDER = `query($id: ID) { order(id: $id) { status expectedAt lines { backordered shipped cancelled backorder { id } supplierOrder { id status expectedShipAt supplier { id } orderLine { id } } } refunds { reason amount { amount } } } }`;

/** A supplier, a DROPSHIP product of it, and a SUPPLIER key bound to it. */
async function supplierWithKey(leadTimeDays = 5) {
  const supplier = await createSupplier(database.db, { name: uniqueSku("Dropship supplier"), leadTimeDays });
  const product = await newProduct(database.db, { fulfillment: "DROPSHIP", supplierId: supplier.id, price: "8.00" });
  const { secret } = await createApiKey(database.db, { name: `${supplier.name} shipping`, role: "SUPPLIER", supplierId: supplier.id });
  return { supplier, product, key: secret };
}

/** An order of `quantity` units of `productId`, placed over HTTP; its id and its supplier order's id. */
async function dropshipOrder(productId: number, quantity = 2, customer = "drop@example.com") {
  const { placeOrder: payload } = await data(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status lines { supplierOrder { id status } } } ${USER_ERRORS} } }`,
    { input: { customer, lines: [{ productId: gid("Product", productId), quantity }] } },
  );
  expect(payload.userErrors).toEqual([]);
  expect(payload.order.status).toBe("AWAITING_STOCK");
  return { orderId: payload.order.id as string, supplierOrderId: payload.order.lines[0].supplierOrder.id as string };
}

describe("dropship products and their supplier orders", () => {
  it("creates a DROPSHIP product, and refuses one without a supplier or with stock", async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Maker") });
    const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id fulfillment supplier { id } } ${USER_ERRORS} } }`;
    const made = await data(create, {
      input: { sku: uniqueSku("DS"), name: "Dropship", price: "1.00", fulfillment: "DROPSHIP", supplierId: gid("Supplier", supplier.id) },
    });
    expect(made.createProduct.product).toMatchObject({ fulfillment: "DROPSHIP", supplier: { id: gid("Supplier", supplier.id) } });
    const noSupplier = await data(create, { input: { sku: uniqueSku("DS"), name: "x", price: "1.00", fulfillment: "DROPSHIP" } });
    expect(noSupplier.createProduct).toMatchObject({ product: null, userErrors: [{ code: "INVALID_INPUT", field: ["input", "supplierId"] }] });
    const stocked = await data(create, {
      input: { sku: uniqueSku("DS"), name: "x", price: "1.00", fulfillment: "DROPSHIP", supplierId: gid("Supplier", supplier.id), initialStock: 2 },
    });
    expect(stocked.createProduct.userErrors).toMatchObject([{ code: "INVALID_INPUT", field: ["input", "initialStock"] }]);
    const adjust = await data(`mutation($input: AdjustStockInput!) { adjustStock(input: $input) { ${USER_ERRORS} } }`, {
      input: { productId: made.createProduct.product.id, delta: 4, reason: "count" },
    });
    expect(adjust.adjustStock.userErrors).toMatchObject([{ code: "INVALID_STATE", field: ["input", "productId"] }]);
  });

  it("place → acknowledge → ship through GraphQL: the line's dates, then the order SHIPPED", async () => {
    const { product } = await supplierWithKey(5);
    const { orderId, supplierOrderId } = await dropshipOrder(product.id, 2);
    const before = await data(ORDER, { id: orderId });
    const [line] = before.order.lines;
    expect(line).toMatchObject({ backordered: 2, backorder: null, supplierOrder: { id: supplierOrderId, status: "OPEN" } });
    expect(before.order.expectedAt).toBe(line.supplierOrder.expectedShipAt);
    expect(new Date(line.supplierOrder.expectedShipAt).getTime()).toBeGreaterThan(daysFromNow(4.9).getTime());

    const shipAt = daysFromNow(2).toISOString();
    const acknowledged = await data(ACKNOWLEDGE, { id: supplierOrderId, at: shipAt });
    expect(acknowledged.acknowledgeSupplierOrder).toMatchObject({
      userErrors: [],
      supplierOrder: { status: "ACKNOWLEDGED", expectedShipAt: shipAt, sku: product.sku },
    });
    expect((await data(ORDER, { id: orderId })).order.expectedAt).toBe(shipAt);
    const again = await data(ACKNOWLEDGE, { id: supplierOrderId, at: daysFromNow(3).toISOString() });
    expect(again.acknowledgeSupplierOrder).toMatchObject({ supplierOrder: null, userErrors: [{ code: "INVALID_STATE", field: ["id"] }] });

    const shipped = await data(SHIP, { id: supplierOrderId, tracking: "1Z-TRACK" });
    expect(shipped.shipSupplierOrder.supplierOrder).toMatchObject({ status: "SHIPPED", trackingNumber: "1Z-TRACK" });
    const after = await data(ORDER, { id: orderId });
    expect(after.order).toMatchObject({
      status: "SHIPPED",
      expectedAt: null,
      lines: [{ backordered: 0, shipped: 2, supplierOrder: { status: "SHIPPED" } }],
    });
  });

  it("place → reject: the units are cancelled and refunded with SUPPLIER_REJECTED", async () => {
    const { product } = await supplierWithKey();
    const { orderId, supplierOrderId } = await dropshipOrder(product.id, 3);
    const rejected = await data(REJECT, { id: supplierOrderId, reason: "maker discontinued it" });
    expect(rejected.rejectSupplierOrder.supplierOrder).toMatchObject({ status: "REJECTED", rejectReason: "maker discontinued it" });
    const { order } = await data(ORDER, { id: orderId });
    expect(order).toMatchObject({
      status: "CANCELLED",
      lines: [{ cancelled: 3 }],
      refunds: [{ reason: "SUPPLIER_REJECTED", amount: { amount: "24.00" } }],
    });
  });

  it("refuses bad input with userErrors and changes nothing: a past ship date, an over-long tracking number, an empty reason, a bad id", async () => {
    const { product } = await supplierWithKey();
    const { supplierOrderId } = await dropshipOrder(product.id, 1);
    const before = await databaseDigest(database.db);
    const past = await data(ACKNOWLEDGE, { id: supplierOrderId, at: new Date(Date.now() - 86_400_000).toISOString() });
    expect(past.acknowledgeSupplierOrder.userErrors).toMatchObject([{ code: "INVALID_INPUT", field: ["expectedShipAt"] }]);
    const tracking = await data(SHIP, { id: supplierOrderId, tracking: "x".repeat(201) });
    expect(tracking.shipSupplierOrder.userErrors).toMatchObject([{ code: "INVALID_INPUT", field: ["trackingNumber"] }]);
    const reason = await data(REJECT, { id: supplierOrderId, reason: "" });
    expect(reason.rejectSupplierOrder.userErrors).toMatchObject([{ code: "INVALID_INPUT", field: ["reason"] }]);
    const wrongType = await data(SHIP, { id: gid("Order", 1) });
    expect(wrongType.shipSupplierOrder.userErrors).toMatchObject([{ code: "NOT_FOUND", field: ["id"] }]);
    expect(await databaseDigest(database.db)).toEqual(before);
  });
});

describe("a SUPPLIER key", () => {
  it("is created only with its supplier: without one, or another role with one, is INVALID_INPUT", async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Keyed") });
    const create = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { role } secret ${USER_ERRORS} } }`;
    const missing = await data(create, { input: { name: "no supplier", role: "SUPPLIER" } });
    expect(missing.createApiKey).toMatchObject({ apiKey: null, secret: null, userErrors: [{ code: "INVALID_INPUT", field: ["input", "supplierId"] }] });
    const extra = await data(create, { input: { name: "reader", role: "READER", supplierId: gid("Supplier", supplier.id) } });
    expect(extra.createApiKey.userErrors).toMatchObject([{ code: "INVALID_INPUT", field: ["input", "supplierId"] }]);
    const unknown = await data(create, { input: { name: "ghost", role: "SUPPLIER", supplierId: gid("Supplier", 999_999) } });
    expect(unknown.createApiKey.userErrors).toMatchObject([{ code: "NOT_FOUND", field: ["input", "supplierId"] }]);
    const made = await data(create, { input: { name: "shipping", role: "SUPPLIER", supplierId: gid("Supplier", supplier.id) } });
    expect(made.createApiKey).toMatchObject({ apiKey: { role: "SUPPLIER" }, userErrors: [] });
  });

  it("sees and acts on its own supplier's orders only: the others are NOT_FOUND, null, or match nothing", async () => {
    const mine = await supplierWithKey();
    const theirs = await supplierWithKey();
    const own = await dropshipOrder(mine.product.id, 1, "alice@example.com");
    const other = await dropshipOrder(theirs.product.id, 1, "bob@example.com");
    const key = { key: mine.key };

    const listed = await data(LIST, {}, key);
    expect(listed.supplierOrders.nodes.map((node: { id: string }) => node.id)).toEqual([own.supplierOrderId]);
    expect(listed.supplierOrders.totalCount).toBe(1);
    expect(listed.supplierOrders.nodes[0]).toMatchObject({
      customer: "alice@example.com",
      sku: mine.product.sku,
      productName: "Test product",
      quantity: 1,
    });
    const filtered = await data(LIST, { filter: { supplierId: gid("Supplier", theirs.supplier.id) } }, key);
    expect(filtered.supplierOrders).toMatchObject({ totalCount: 0, nodes: [] });
    const ownFilter = await data(LIST, { filter: { supplierId: gid("Supplier", mine.supplier.id), status: "OPEN" } }, key);
    expect(ownFilter.supplierOrders.nodes).toHaveLength(1);

    expect((await data(NODE, { id: own.supplierOrderId }, key)).node).toEqual({
      id: own.supplierOrderId,
      orderNumber: expect.any(String),
      status: "OPEN",
    });
    expect((await data(NODE, { id: other.supplierOrderId }, key)).node).toBeNull();

    const before = await databaseDigest(database.db);
    for (const [query, variables, field] of [
      [ACKNOWLEDGE, { id: other.supplierOrderId, at: daysFromNow(1).toISOString() }, "acknowledgeSupplierOrder"],
      [SHIP, { id: other.supplierOrderId }, "shipSupplierOrder"],
      [REJECT, { id: other.supplierOrderId, reason: "not mine" }, "rejectSupplierOrder"],
    ] as const) {
      const answer = await data(query, variables, key);
      expect(answer[field], field).toEqual({
        supplierOrder: null,
        userErrors: [{ code: "NOT_FOUND", field: ["id"], message: "supplier order not found" }],
      });
    }
    expect(await databaseDigest(database.db)).toEqual(before);

    // Its own: it may act.
    expect((await data(SHIP, { id: own.supplierOrderId, tracking: "OWN-1" }, key)).shipSupplierOrder.userErrors).toEqual([]);
    // The operator sees both suppliers'.
    const all = await data(LIST, { filter: { status: "OPEN" } });
    expect(all.supplierOrders.nodes.map((node: { id: string }) => node.id)).toContain(other.supplierOrderId);
  });

  it("reads nothing else: orders, products, the order line and supplier behind its orders, other node types are FORBIDDEN", async () => {
    const mine = await supplierWithKey();
    const own = await dropshipOrder(mine.product.id, 1);
    const key = { key: mine.key };
    for (const query of [
      "{ orders(first: 1) { nodes { number } } }",
      "{ products(first: 1) { nodes { sku } } }",
      "{ suppliers(first: 1) { nodes { name } } }",
      "{ backlog(first: 1) { nodes { id } } }",
      "{ refunds(first: 1) { nodes { id } } }",
    ]) {
      const response = await gql(query, {}, key);
      expect(response.body.errors?.[0].extensions?.code, query).toBe("FORBIDDEN");
      expect(response.body.data ?? null, query).toBeNull();
    }
    const product = await gql(`query($id: ID!) { node(id: $id) { id ... on Product { sku } } }`, { id: gid("Product", mine.product.id) }, key);
    expect(product.body.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    for (const field of ["orderLine { id }", "supplier { name }"]) {
      const response = await gql(`query($id: ID!) { node(id: $id) { ... on SupplierOrder { id ${field} } } }`, { id: own.supplierOrderId }, key);
      expect(response.body.errors?.[0].extensions?.code, `${field}: ${response.text}`).toBe("FORBIDDEN");
    }
    // An ADMIN key walks the same fields.
    const walked = await data(`query($id: ID!) { node(id: $id) { ... on SupplierOrder { orderLine { id } supplier { id } } } }`, {
      id: own.supplierOrderId,
    });
    expect(walked.node.supplier.id).toBe(gid("Supplier", mine.supplier.id));
  });

  it("a READER sees the customer's pseudonym on a supplier order, as on the order", async () => {
    const mine = await supplierWithKey();
    const { order } = await placeOrder(database.db, { customer: "carol@example.com", lines: [{ productId: mine.product.id, quantity: 1 }] });
    const { secret } = await createApiKey(database.db, { name: "dropship reader", role: "READER" });
    const read = await data(
      `query($id: ID) { order(id: $id) { customer lines { supplierOrder { customer } } } }`,
      { id: gid("Order", order.id) },
      { key: secret },
    );
    expect(read.order.customer).toMatch(/^customer-[0-9a-f]{10}$/);
    expect(read.order.lines[0].supplierOrder.customer).toBe(read.order.customer);
  });
});

/**
 * The role × operation matrix (docs/ARCHITECTURE.md, "Access and limits", issue 5 item 6): every query and mutation of
 * the schema, sent over HTTP with a key of each role. An allowed role gets no FORBIDDEN and the
 * operation does its work (a mutation answers without userErrors); a denied role gets exactly one
 * FORBIDDEN error, no data, and the database is exactly as before. Every subscription is allowed
 * to every role over WebSocket and delivers to it, but SUPPLIER, which is refused every one except
 * supplierOrderChanged (its own supplier's). A root field missing from the matrix fails the run: a
 * new operation must say who may use it.
 *
 * SUPPLIER keys (docs/ARCHITECTURE.md, "Dropship") run through the same matrix: they may run the
 * supplier-order operations (on their own supplier's orders, the fixtures here) and nothing else.
 * Those operations are also run over WebSocket by every role, with the same answers.
 */
import { eq } from "drizzle-orm";
import { isObjectType } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { toEventCursor } from "../../server/services/event-cursor.js";
import { cancelOrderWithRefund, placeOrder } from "../../server/services/order.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createWebhookEndpoint, updateWebhookEndpoint } from "../../server/services/webhook-endpoint.service.js";
import { createRoleKeys, databaseDigest, ROLES, type RoleKey } from "../support/access.js";
import { backorderOfOrder, daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { collect, type Collected, waitFor, wsUrl } from "../support/live.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { connectWith, runOperation } from "../support/ws-client.js";

const database = useFreshDatabase();
// No webhook worker: an endpoint the matrix creates would get deliveries of the orders later
// cases place, changing webhook_deliveries in the background of a "nothing changes" check.
const server = useTestServer(database, { delaySweepMs: 0, webhooks: { enabled: false } });
let keys: Record<ApiKeyRole, RoleKey>;
/** The supplier the matrix's SUPPLIER key acts for: the supplier-order fixtures are its. */
let matrixSupplierId = 0;

beforeAll(async () => {
  keys = await createRoleKeys(database.db, "matrix");
  matrixSupplierId = (await createSupplier(database.db, { name: uniqueSku("Matrix dropship"), leadTimeDays: 3 })).id;
  const { apiKey, secret } = await createApiKey(database.db, { name: "matrix supplier", role: "SUPPLIER", supplierId: matrixSupplierId });
  keys.SUPPLIER = { id: apiKey.id, role: "SUPPLIER", secret };
});

/** Every role of the matrix: the four of test/support/access.ts and SUPPLIER. */
const MATRIX_ROLES: readonly ApiKeyRole[] = [...ROLES, "SUPPLIER"];

const ALL: ApiKeyRole[] = ["ADMIN", "OPERATOR", "STOREFRONT", "READER"];
const OPERATE: ApiKeyRole[] = ["ADMIN", "OPERATOR"];
const ORDER: ApiKeyRole[] = ["ADMIN", "OPERATOR", "STOREFRONT"];
const KEYS: ApiKeyRole[] = ["ADMIN"];
const SUPPLIER_ORDERS: ApiKeyRole[] = ["ADMIN", "OPERATOR", "SUPPLIER"];

interface Request {
  query: string;
  variables?: Record<string, unknown>;
}

interface Operation {
  kind: "query" | "mutation";
  roles: ApiKeyRole[];
  /** Makes fresh fixtures (through the services) and the request that uses them. */
  request(): Promise<Request>;
}

// ---- fixtures, fresh for every request so each run has something to act on ----

const db = () => database.db;
const gid = toGlobalId;

async function product() {
  return gid("Product", (await newProduct(db(), { initialStock: 5 })).id);
}

/** An order of 3 units of a product with 1 on the shelf: 1 allocated, 2 backordered. */
async function orderWithBackorder() {
  const record = await newProduct(db(), { initialStock: 1 });
  const { order } = await placeOrder(db(), { customer: "matrix@example.com", lines: [{ productId: record.id, quantity: 3 }] });
  const backorder = await backorderOfOrder(db(), order.id);
  return { order: gid("Order", order.id), line: gid("OrderLine", backorder.orderLineId), backorder: gid("Backorder", backorder.id) };
}

async function restock() {
  const record = await newProduct(db());
  return gid("Restock", (await scheduleRestock(db(), { productId: record.id, quantity: 4, expectedAt: daysFromNow(5) })).id);
}

/** A disabled endpoint: no delivery is queued for it while the matrix compares database digests. */
async function webhookEndpoint() {
  const { endpoint } = await createWebhookEndpoint(db(), { url: "https://hooks.example.com/matrix", events: ["SUPPLIER_ORDER_CREATED"] });
  await updateWebhookEndpoint(db(), endpoint.id, { enabled: false });
  return gid("WebhookEndpoint", endpoint.id);
}

/** An OPEN supplier order of the matrix supplier (a one-line order of a DROPSHIP product of it). */
async function supplierOrder() {
  const record = await newProduct(db(), { fulfillment: "DROPSHIP", supplierId: matrixSupplierId });
  const { order } = await placeOrder(db(), { customer: "matrix-dropship@example.com", lines: [{ productId: record.id, quantity: 1 }] });
  const found = await db().select().from(schema.supplierOrders).where(eq(schema.supplierOrders.orderId, order.id));
  return gid("SupplierOrder", found[0].id);
}

const PAYLOAD = "{ userErrors { code message field } }";

const OPERATIONS: Record<string, Operation> = {
  // queries: every role
  node: { kind: "query", roles: ALL, request: async () => ({ query: "query($id: ID!) { node(id: $id) { id } }", variables: { id: await product() } }) },
  product: {
    kind: "query",
    roles: ALL,
    request: async () => ({ query: "query($id: ID) { product(id: $id) { sku } }", variables: { id: await product() } }),
  },
  products: { kind: "query", roles: ALL, request: async () => ({ query: "{ products(first: 2) { totalCount nodes { sku } } }" }) },
  order: {
    kind: "query",
    roles: ALL,
    request: async () => ({ query: "query($id: ID) { order(id: $id) { number customer } }", variables: { id: (await orderWithBackorder()).order } }),
  },
  orders: { kind: "query", roles: ALL, request: async () => ({ query: "{ orders(first: 2) { nodes { number customer } } }" }) },
  backlog: { kind: "query", roles: ALL, request: async () => ({ query: "{ backlog(first: 2) { nodes { id position } } }" }) },
  restocks: { kind: "query", roles: ALL, request: async () => ({ query: "{ restocks(first: 2) { nodes { id } } }" }) },
  locations: { kind: "query", roles: ALL, request: async () => ({ query: "{ locations { code } }" }) },
  eventCursor: { kind: "query", roles: [...ALL, "SUPPLIER"], request: async () => ({ query: "{ eventCursor }" }) },
  apiKeys: { kind: "query", roles: KEYS, request: async () => ({ query: "{ apiKeys(first: 2) { nodes { id role } } }" }) },
  auditReport: { kind: "query", roles: KEYS, request: async () => ({ query: "{ auditReport { ok violationCount } }" }) },
  // Webhooks: endpoints and deliveries for ADMIN (URLs may carry tokens), health for every dashboard.
  webhookEndpoints: {
    kind: "query",
    roles: KEYS,
    request: async () => ({ query: "{ webhookEndpoints(first: 2) { totalCount nodes { id url deliveries(first: 1) { nodes { id } } } } }" }),
  },
  webhookHealth: { kind: "query", roles: ALL, request: async () => ({ query: "{ webhookHealth { pending failed endpoints { host failing } } }" }) },
  // Backlog intelligence: aggregates for every role, plans and what-ifs for the operators.
  backlogMetrics: { kind: "query", roles: ALL, request: async () => ({ query: "{ backlogMetrics { ordersPlaced fillRateAtPlacement } }" }) },
  replenishmentPlan: {
    kind: "query",
    roles: OPERATE,
    request: async () => ({ query: "{ replenishmentPlan(first: 2) { totalCount nodes { product { sku } uncoveredUnits } } }" }),
  },
  simulateRestock: {
    kind: "query",
    roles: OPERATE,
    request: async () => ({
      query: "query($p: ID!) { simulateRestock(input: { productId: $p, quantity: 1, receiveNow: true }) { filledUnits } }",
      variables: { p: await product() },
    }),
  },

  // What the shop owes: every role that reads orders (dashboards use READER keys).
  refunds: {
    kind: "query",
    roles: ALL,
    request: async () => ({ query: "{ refunds(status: PENDING, first: 2) { totalCount nodes { amount { amount } order { number } } } }" }),
  },
  refundsDue: {
    kind: "query",
    roles: ALL,
    request: async () => ({ query: "{ refundsDue { count totals { amount { amount currencyCode } count } oldestPendingAt } }" }),
  },

  markRefunded: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => {
      const { order } = await placeOrder(db(), { customer: "matrix", lines: [{ productId: (await newProduct(db())).id, quantity: 1 }] });
      const { refund } = await cancelOrderWithRefund(db(), order.id);
      return { query: `mutation($id: ID!) { markRefunded(id: $id, reference: "pay-matrix") ${PAYLOAD} }`, variables: { id: gid("Refund", refund!.id) } };
    },
  },

  // Suppliers: every role reads them as it reads products; operators create them.
  suppliers: {
    kind: "query",
    roles: ALL,
    request: async () => ({
      query: "{ suppliers(first: 2) { totalCount nodes { name onTimeRate averageDelayDays products(first: 1) { nodes { sku } } } } }",
    }),
  },
  createSupplier: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($input: CreateSupplierInput!) { createSupplier(input: $input) ${PAYLOAD} }`,
      variables: { input: { name: uniqueSku("Matrix supplier"), leadTimeDays: 7 } },
    }),
  },

  // Dropship: every reading role lists them (dashboards: a READER sees customers' pseudonyms), a
  // SUPPLIER key its own supplier's; the acts are the operators' and a SUPPLIER key's.
  supplierOrders: {
    kind: "query",
    roles: [...ALL, "SUPPLIER"],
    request: async () => {
      await supplierOrder();
      return {
        query:
          "{ supplierOrders(first: 2) { totalCount nodes { id orderNumber customer sku quantity status expectedShipAt late } } late: supplierOrders(filter: { late: true }, first: 2) { totalCount nodes { id late } } }",
      };
    },
  },
  acknowledgeSupplierOrder: {
    kind: "mutation",
    roles: SUPPLIER_ORDERS,
    request: async () => ({
      query: `mutation($id: ID!, $at: DateTime!) { acknowledgeSupplierOrder(id: $id, expectedShipAt: $at) ${PAYLOAD} }`,
      variables: { id: await supplierOrder(), at: daysFromNow(2).toISOString() },
    }),
  },
  shipSupplierOrder: {
    kind: "mutation",
    roles: SUPPLIER_ORDERS,
    request: async () => ({
      query: `mutation($id: ID!) { shipSupplierOrder(id: $id, trackingNumber: "MATRIX-1") ${PAYLOAD} }`,
      variables: { id: await supplierOrder() },
    }),
  },
  rejectSupplierOrder: {
    kind: "mutation",
    roles: SUPPLIER_ORDERS,
    request: async () => ({
      query: `mutation($id: ID!) { rejectSupplierOrder(id: $id, reason: "matrix") ${PAYLOAD} }`,
      variables: { id: await supplierOrder() },
    }),
  },

  // mutations: catalogue, stock, restocks, shipping, priorities
  createLocation: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($input: CreateLocationInput!) { createLocation(input: $input) ${PAYLOAD} }`,
      variables: { input: { code: uniqueSku("LOC"), name: "Matrix" } },
    }),
  },
  createProduct: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($input: CreateProductInput!) { createProduct(input: $input) ${PAYLOAD} }`,
      variables: { input: { sku: uniqueSku("NEW"), name: "Matrix", price: "3.00", initialStock: 2 } },
    }),
  },
  updateProduct: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) ${PAYLOAD} }`,
      variables: { id: await product(), input: { name: "Renamed", backorderLimit: 1 } },
    }),
  },
  adjustStock: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($input: AdjustStockInput!) { adjustStock(input: $input) ${PAYLOAD} }`,
      variables: { input: { productId: await product(), delta: 3, reason: "count" } },
    }),
  },
  shipOrder: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({ query: `mutation($id: ID!) { shipOrder(id: $id) ${PAYLOAD} }`, variables: { id: (await orderWithBackorder()).order } }),
  },
  scheduleRestock: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) ${PAYLOAD} }`,
      variables: { input: { productId: await product(), quantity: 3, expectedAt: daysFromNow(3).toISOString() } },
    }),
  },
  rescheduleRestock: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) ${PAYLOAD} }`,
      variables: { id: await restock(), at: daysFromNow(9).toISOString() },
    }),
  },
  receiveRestock: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({ query: `mutation($id: ID!) { receiveRestock(id: $id) ${PAYLOAD} }`, variables: { id: await restock() } }),
  },
  cancelRestock: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({ query: `mutation($id: ID!) { cancelRestock(id: $id) ${PAYLOAD} }`, variables: { id: await restock() } }),
  },
  prioritizeBackorder: {
    kind: "mutation",
    roles: OPERATE,
    request: async () => ({
      query: `mutation($id: ID!) { prioritizeBackorder(id: $id, priority: 7) ${PAYLOAD} }`,
      variables: { id: (await orderWithBackorder()).backorder },
    }),
  },

  // mutations: what a storefront does
  placeOrder: {
    kind: "mutation",
    roles: ORDER,
    request: async () => ({
      query: `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) ${PAYLOAD} }`,
      variables: { input: { customer: "shop@example.com", lines: [{ productId: await product(), quantity: 2 }], idempotencyKey: uniqueSku("IDEM") } },
    }),
  },
  cancelOrder: {
    kind: "mutation",
    roles: ORDER,
    request: async () => ({
      query: `mutation($id: ID!) { cancelOrder(id: $id, reason: "matrix") ${PAYLOAD} }`,
      variables: { id: (await orderWithBackorder()).order },
    }),
  },
  cancelOrderLine: {
    kind: "mutation",
    roles: ORDER,
    request: async () => ({
      query: `mutation($id: ID!) { cancelOrderLine(id: $id, quantity: 1) ${PAYLOAD} }`,
      variables: { id: (await orderWithBackorder()).line },
    }),
  },
  // Whoever may cancel an order may choose, for its customer, to keep waiting past the promise.
  keepWaiting: {
    kind: "mutation",
    roles: ORDER,
    request: async () => ({
      query: `mutation($id: ID!) { keepWaiting(id: $id) ${PAYLOAD} }`,
      variables: { id: (await orderWithBackorder()).backorder },
    }),
  },

  // mutations: webhooks
  createWebhookEndpoint: {
    kind: "mutation",
    roles: KEYS,
    request: async () => ({
      query: `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret userErrors { code message field } } }`,
      // An event type no fixture here causes: nothing is queued for it while digests are compared.
      variables: { input: { url: "https://hooks.example.com/matrix", events: ["SUPPLIER_ORDER_CREATED"] } },
    }),
  },
  updateWebhookEndpoint: {
    kind: "mutation",
    roles: KEYS,
    request: async () => ({
      query: `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) ${PAYLOAD} }`,
      variables: { id: await webhookEndpoint() },
    }),
  },
  deleteWebhookEndpoint: {
    kind: "mutation",
    roles: KEYS,
    request: async () => ({ query: `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) ${PAYLOAD} }`, variables: { id: await webhookEndpoint() } }),
  },
  redeliverWebhooks: {
    kind: "mutation",
    roles: KEYS,
    request: async () => ({
      query: `mutation($id: ID!, $after: String!) { redeliverWebhooks(endpointId: $id, after: $after) ${PAYLOAD} }`,
      variables: { id: await webhookEndpoint(), after: toEventCursor(0) },
    }),
  },

  // mutations: keys
  createApiKey: {
    kind: "mutation",
    roles: KEYS,
    request: async () => ({
      query: `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code message field } } }`,
      variables: { input: { name: "made in the matrix", role: "READER" } },
    }),
  },
  revokeApiKey: {
    kind: "mutation",
    roles: KEYS,
    request: async () => {
      const { apiKey } = await createApiKey(db(), { name: "to revoke", role: "READER" });
      return { query: `mutation($id: ID!) { revokeApiKey(id: $id) ${PAYLOAD} }`, variables: { id: gid("ApiKey", apiKey.id) } };
    },
  },
};

/** Each takes `after` (a cursor read first), so nothing done after subscribing can slip past it. */
const SUBSCRIPTIONS: Record<string, { roles: ApiKeyRole[]; query: string }> = {
  stockChanged: {
    roles: ALL,
    query: "subscription($ids: [ID!], $after: String) { stockChanged(productIds: $ids, after: $after) { reason stock { onHand } } }",
  },
  backlogChanged: { roles: ALL, query: "subscription($ids: [ID!], $after: String) { backlogChanged(productIds: $ids, after: $after) { backordered } }" },
  restockChanged: { roles: ALL, query: "subscription($ids: [ID!], $after: String) { restockChanged(productIds: $ids, after: $after) { kind } }" },
  orderChanged: { roles: ALL, query: "subscription($after: String) { orderChanged(after: $after) { kind order { number customer } } }" },
  supplierOrderChanged: {
    roles: [...ALL, "SUPPLIER"],
    query: "subscription($after: String) { supplierOrderChanged(after: $after) { kind status supplierOrder { orderNumber customer expectedShipAt } } }",
  },
};

/** The variables of a subscription of the matrix: product ids for the product-scoped ones. */
const subscriptionVariables = (field: string, ids: string[], after?: string) =>
  field === "orderChanged" || field === "supplierOrderChanged" ? { after } : { ids, after };

describe("the matrix", () => {
  it("names every query, mutation and subscription of the schema", () => {
    const schema = server.app.schema;
    const fields = (name: string) => {
      const type = schema.getType(name);
      return type && isObjectType(type) ? Object.keys(type.getFields()).sort() : [];
    };
    const kinds = (kind: Operation["kind"]) =>
      Object.keys(OPERATIONS)
        .filter((field) => OPERATIONS[field].kind === kind)
        .sort();
    expect(fields("Query"), "every Query field has a row in OPERATIONS").toEqual(kinds("query"));
    expect(fields("Mutation"), "every Mutation field has a row in OPERATIONS").toEqual(kinds("mutation"));
    expect(fields("Subscription"), "every Subscription field has a row in SUBSCRIPTIONS").toEqual(Object.keys(SUBSCRIPTIONS).sort());
  });

  it("gives ADMIN every operation", () => {
    for (const operation of Object.values(OPERATIONS)) expect(operation.roles).toContain("ADMIN");
  });
});

const cases = Object.entries(OPERATIONS).flatMap(([field, operation]) =>
  MATRIX_ROLES.map((role) => ({ field, role, operation, allowed: operation.roles.includes(role) })),
);

describe("over HTTP", () => {
  it.each(cases.filter((c) => c.allowed).map((c) => [c.role, c.operation.kind, c.field, c] as const))(
    "%s may run %s %s",
    async (_role, _kind, _field, { field, role, operation }) => {
      const { query, variables } = await operation.request();
      const response = await server.gql(query, variables, { key: keys[role].secret });
      expect(response.status, response.text).toBe(200);
      expect(response.body.errors, response.text).toBeUndefined();
      expect(response.body.data?.[field], response.text).toBeDefined();
      if (operation.kind === "mutation") expect(response.body.data[field].userErrors, response.text).toEqual([]);
    },
  );

  it.each(cases.filter((c) => !c.allowed).map((c) => [c.role, c.operation.kind, c.field, c] as const))(
    "%s may not run %s %s: FORBIDDEN, nothing changes",
    async (_role, _kind, _field, { field, role, operation }) => {
      const { query, variables } = await operation.request();
      const before = await databaseDigest(database.db);
      const response = await server.gql(query, variables, { key: keys[role].secret });
      expect(response.status, response.text).toBe(200);
      expect(response.body.errors, response.text).toHaveLength(1);
      expect(response.body.errors![0]).toMatchObject({ path: [field], extensions: { code: "FORBIDDEN" } });
      expect(response.body.errors![0].message).toContain(role);
      expect(response.body.data?.[field] ?? null).toBeNull();
      expect(await databaseDigest(database.db)).toEqual(before);
    },
  );

  it("lets only ADMIN read an API key through Query.node", async () => {
    const { apiKey } = await createApiKey(database.db, { name: "node lookup", role: "READER" });
    const query = `query($id: ID!) { node(id: $id) { id ... on ApiKey { name role } } }`;
    const id = gid("ApiKey", apiKey.id);
    expect((await server.data(query, { id }, { key: keys.ADMIN.secret })).node).toEqual({ id, name: "node lookup", role: "READER" });
    for (const role of ["OPERATOR", "STOREFRONT", "READER", "SUPPLIER"] as const) {
      const response = await server.gql(query, { id }, { key: keys[role].secret });
      expect(response.body.errors?.[0].extensions?.code, role).toBe("FORBIDDEN");
      // An unknown key id is refused the same way: the answer says nothing about which keys exist.
      const unknown = await server.gql(query, { id: gid("ApiKey", 999_999) }, { key: keys[role].secret });
      expect(unknown.body.errors?.[0].extensions?.code, role).toBe("FORBIDDEN");
    }
  });
});

describe("over WebSocket", () => {
  it.each(MATRIX_ROLES.map((role) => [role]))("%s may open every subscription allowed to it and receives its events", async (role) => {
    const watched = await newProduct(database.db);
    const ids = [gid("Product", watched.id)];
    const { eventCursor: after } = await server.data("{ eventCursor }", {}, { key: keys[role].secret });
    const open: Collected[] = [];
    try {
      const subscriptions = Object.fromEntries(
        await Promise.all(
          Object.entries(SUBSCRIPTIONS)
            .filter(([, { roles }]) => roles.includes(role))
            .map(async ([field, { query }]) => {
              const variables = subscriptionVariables(field, ids, after);
              const collected = await collect(server.url, query, variables, { key: keys[role].secret });
              open.push(collected);
              return [field, collected] as const;
            }),
        ),
      );
      await placeOrder(database.db, { customer: "ws@example.com", lines: [{ productId: watched.id, quantity: 1 }] });
      await scheduleRestock(database.db, { productId: watched.id, quantity: 2, expectedAt: daysFromNow(4) });
      await supplierOrder();
      for (const [field, collected] of Object.entries(subscriptions)) {
        await waitFor(() => collected.events.length > 0 || collected.errors.length > 0, `${role} ${field}`);
        expect(collected.errors, `${role} ${field}`).toEqual([]);
        expect(collected.closed, `${role} ${field}`).toBeNull();
      }
    } finally {
      await Promise.all(open.map((collected) => collected.dispose()));
    }
  });
});

describe("over WebSocket: SUPPLIER keys and the supplier-order operations", () => {
  const refusedToSupplier = Object.keys(SUBSCRIPTIONS).filter((field) => !SUBSCRIPTIONS[field].roles.includes("SUPPLIER"));
  it.each(refusedToSupplier.map((field) => [field]))("SUPPLIER may not open %s: FORBIDDEN", async (field) => {
    const connection = await connectWith(wsUrl(server.url), keys.SUPPLIER.secret);
    try {
      const watched = await newProduct(database.db);
      const variables = field === "orderChanged" ? {} : { ids: [gid("Product", watched.id)] };
      const run = await runOperation(connection.client, SUBSCRIPTIONS[field].query, variables);
      expect(run.errors, field).toHaveLength(1);
      expect(run.errors[0]).toMatchObject({ path: [field], extensions: { code: "FORBIDDEN" } });
      expect(run.data.every((data) => data[field] === null || data[field] === undefined)).toBe(true);
    } finally {
      await connection.client.dispose();
    }
  });

  const dropshipCases = cases.filter((c) => ["supplierOrders", "acknowledgeSupplierOrder", "shipSupplierOrder", "rejectSupplierOrder"].includes(c.field));
  it.each(dropshipCases.map((c) => [c.role, c.operation.kind, c.field, c.allowed ? "runs" : "is FORBIDDEN, nothing changes", c] as const))(
    "%s %s %s over WebSocket: %s",
    async (_role, _kind, _field, _outcome, { field, role, operation, allowed }) => {
      const { query, variables } = await operation.request();
      const connection = await connectWith(wsUrl(server.url), keys[role].secret);
      try {
        const before = await databaseDigest(database.db);
        const run = await runOperation(connection.client, query, variables);
        if (allowed) {
          expect(run.errors, JSON.stringify(run.errors)).toEqual([]);
          expect(run.data[0]?.[field]).toBeDefined();
          if (operation.kind === "mutation") expect((run.data[0][field] as { userErrors: unknown[] }).userErrors).toEqual([]);
        } else {
          expect(run.errors).toHaveLength(1);
          expect(run.errors[0]).toMatchObject({ path: [field], extensions: { code: "FORBIDDEN" } });
          expect(await databaseDigest(database.db)).toEqual(before);
        }
      } finally {
        await connection.client.dispose();
      }
    },
  );
});

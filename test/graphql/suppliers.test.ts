/**
 * Suppliers over real HTTP (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): createSupplier
 * and its refusals, a product's and a restock's supplier, the figures, and `expectedAtLate` on a
 * hand-computed history, with its null cases. A page of backorders of many suppliers reads their
 * histories in one statement.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PAGE_SIZE } from "../../drizzle/paging.js";
import { SUPPLIER_HISTORY_WORK } from "../../server/graphql/limits/query-cost.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";
import { USER_ERRORS } from "../support/mutations.js";
import { supplierHistory } from "../support/suppliers.js";

const database = useFreshDatabase();
// The hub's poll must not land in the statement count's window (see test/graphql/quote.test.ts).
const server = useTestServer(database, { live: { pollMs: 3_600_000 } });
const { gql, data } = server;
const DAY = 86_400_000;
/** The 0.9 quantile of lateness 0, 0, 2 and 5 days (percentile_cont): 2 + 0.7 × (5 − 2). */
const P90_OF_0_0_2_5 = 4.1;

const SUPPLIER_FIELDS = "id name leadTimeDays createdAt onTimeRate averageDelayDays";
const CREATE_SUPPLIER = `mutation($input: CreateSupplierInput!) { createSupplier(input: $input) { supplier { ${SUPPLIER_FIELDS} } ${USER_ERRORS} } }`;
const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id supplier { id name } } ${USER_ERRORS} } }`;
const UPDATE_PRODUCT = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id name supplier { id } } ${USER_ERRORS} } }`;
const BACKLOG = `query($id: ID!) { product(id: $id) { backlog { nodes { expectedAt etaSource expectedAtLate } } } }`;

const requestedCost = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: { requested?: number } } }).extensions?.cost?.requested;

/** A supplier made over HTTP; its global id. */
async function supplierNamed(name: string, leadTimeDays: number | null = null): Promise<string> {
  const { createSupplier: payload } = await data(CREATE_SUPPLIER, { input: { name, leadTimeDays } });
  expect(payload.userErrors).toEqual([]);
  return payload.supplier.id;
}

/** A supplier whose history is 4 receipts 0 (one early), 0, 2 and 5 days late; its database id. */
async function measuredSupplier(): Promise<number> {
  const supplier = await createSupplier(database.db, { name: uniqueSku("Measured") });
  await supplierHistory(database.db, supplier.id, [-1, 0, 2, 5]);
  return supplier.id;
}

/** One waiting backorder of a new product (of `supplierId`, with `leadTimeDays`), as the backlog shows it. */
async function waitingBackorder(options: { supplierId?: number; leadTimeDays?: number; restockAt?: Date }) {
  const product = await newProduct(database.db, { supplierId: options.supplierId ?? null, leadTimeDays: options.leadTimeDays ?? null });
  if (options.restockAt) await scheduleRestock(database.db, { productId: product.id, quantity: 5, expectedAt: options.restockAt });
  await placeOrder(database.db, { customer: "ranges", lines: [{ productId: product.id, quantity: 2 }] });
  const { product: view } = await data(BACKLOG, { id: toGlobalId("Product", product.id) });
  expect(view.backlog.nodes).toHaveLength(1);
  return { product, backorder: view.backlog.nodes[0] as { expectedAt: string | null; etaSource: string; expectedAtLate: string | null } };
}

describe("createSupplier", () => {
  it("creates a supplier with its name trimmed, no figures yet and no products", async () => {
    const name = uniqueSku("Acme");
    const { createSupplier: payload } = await data(CREATE_SUPPLIER, { input: { name: `  ${name} `, leadTimeDays: 12 } });
    expect(payload.userErrors).toEqual([]);
    expect(payload.supplier).toMatchObject({ name, leadTimeDays: 12, onTimeRate: null, averageDelayDays: null });
    const { node } = await data(`query($id: ID!) { node(id: $id) { ... on Supplier { name products { totalCount nodes { id } } } } }`, {
      id: payload.supplier.id,
    });
    expect(node).toEqual({ name, products: { totalCount: 0, nodes: [] } });
  });

  it("answers a name taken in another case with DUPLICATE, and bad fields with INVALID_INPUT, creating nothing", async () => {
    const name = uniqueSku("Initech");
    await supplierNamed(name);
    const count = async () => (await data(`{ suppliers(first: 100) { totalCount } }`)).suppliers.totalCount;
    const before = await count();
    const refusals: [Record<string, unknown>, string, string[]][] = [
      [{ name: name.toUpperCase() }, "DUPLICATE", ["input", "name"]],
      [{ name: "" }, "INVALID_INPUT", ["input", "name"]],
      [{ name: "n".repeat(201) }, "INVALID_INPUT", ["input", "name"]],
      [{ name: uniqueSku("S"), leadTimeDays: 366 }, "INVALID_INPUT", ["input", "leadTimeDays"]],
      [{ name: uniqueSku("S"), leadTimeDays: -1 }, "INVALID_INPUT", ["input", "leadTimeDays"]],
    ];
    for (const [input, code, field] of refusals) {
      const { createSupplier: payload } = await data(CREATE_SUPPLIER, { input });
      expect(payload.supplier).toBeNull();
      expect(payload.userErrors).toEqual([expect.objectContaining({ code, field })]);
    }
    expect(await count()).toBe(before);
  });
});

describe("a product's supplier", () => {
  it("is set by createProduct, read back, changed and cleared by updateProduct", async () => {
    const first = await supplierNamed(uniqueSku("First"));
    const second = await supplierNamed(uniqueSku("Second"));
    const { createProduct } = await data(CREATE_PRODUCT, { input: { sku: uniqueSku(), name: "Supplied", price: "1.00", supplierId: first } });
    expect(createProduct.userErrors).toEqual([]);
    expect(createProduct.product.supplier.id).toBe(first);
    const productId = createProduct.product.id;

    expect((await data(UPDATE_PRODUCT, { id: productId, input: { supplierId: second } })).updateProduct.product.supplier).toEqual({ id: second });
    expect((await data(UPDATE_PRODUCT, { id: productId, input: { name: "kept" } })).updateProduct.product.supplier).toEqual({ id: second });
    expect((await data(UPDATE_PRODUCT, { id: productId, input: { supplierId: null } })).updateProduct.product.supplier).toBeNull();

    const { node } = await data(`query($id: ID!) { node(id: $id) { ... on Supplier { products(first: 5) { totalCount nodes { id } } } } }`, {
      id: second,
    });
    expect(node.products).toEqual({ totalCount: 0, nodes: [] });
    const { node: firstNode } = await data(`query($id: ID!) { node(id: $id) { ... on Supplier { products { totalCount nodes { id } } } } }`, {
      id: first,
    });
    expect(firstNode.products).toEqual({ totalCount: 0, nodes: [] });
  });

  it("refuses an unknown supplier or an id of another type with NOT_FOUND and a malformed id with INVALID_INPUT, changing nothing", async () => {
    const product = await newProduct(database.db);
    const productId = toGlobalId("Product", product.id);
    const cases: [string, string][] = [
      [toGlobalId("Supplier", 999_999), "NOT_FOUND"],
      [productId, "NOT_FOUND"],
      ["not-an-id", "INVALID_INPUT"],
    ];
    for (const [supplierId, code] of cases) {
      const created = (await data(CREATE_PRODUCT, { input: { sku: uniqueSku(), name: "x", price: "1.00", supplierId } })).createProduct;
      expect(created.product).toBeNull();
      expect(created.userErrors).toEqual([expect.objectContaining({ code, field: ["input", "supplierId"] })]);
      const updated = (await data(UPDATE_PRODUCT, { id: productId, input: { name: "changed", supplierId } })).updateProduct;
      expect(updated.product).toBeNull();
      expect(updated.userErrors).toEqual([expect.objectContaining({ code, field: ["input", "supplierId"] })]);
    }
    const { product: after } = await data(`query($id: ID!) { product(id: $id) { name supplier { id } } }`, { id: productId });
    expect(after).toEqual({ name: product.name, supplier: null });
  });
});

describe("a restock's supplier", () => {
  it("is the product's supplier when the restock was scheduled", async () => {
    const supplierId = await supplierNamed(uniqueSku("Shipper"));
    const { createProduct } = await data(CREATE_PRODUCT, { input: { sku: uniqueSku(), name: "Restocked", price: "1.00", supplierId } });
    const schedule = `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id supplier { id name } } ${USER_ERRORS} } }`;
    const input = { productId: createProduct.product.id, quantity: 2, expectedAt: daysFromNow(3).toISOString() };
    const { scheduleRestock: scheduled } = await data(schedule, { input });
    expect(scheduled.restock.supplier.id).toBe(supplierId);
    await data(UPDATE_PRODUCT, { id: createProduct.product.id, input: { supplierId: null } });
    const { node } = await data(`query($id: ID!) { node(id: $id) { ... on Restock { supplier { id } } } }`, { id: scheduled.restock.id });
    expect(node.supplier).toEqual({ id: supplierId });
    expect((await data(schedule, { input })).scheduleRestock.restock.supplier).toBeNull();
  });
});

describe("the figures and honest ranges", () => {
  it("reads a supplier's figures from its history: 0.5 on time, 1.75 days late on average", async () => {
    const id = toGlobalId("Supplier", await measuredSupplier());
    const { node } = await data(`query($id: ID!) { node(id: $id) { ... on Supplier { onTimeRate averageDelayDays products { totalCount } } } }`, { id });
    expect(node.onTimeRate).toBe(0.5);
    expect(node.averageDelayDays).toBeCloseTo(1.75, 9);
    expect(node.products.totalCount).toBe(1);
  });

  it("widens a restock's date by the supplier's 90th-percentile lateness, 4.1 days", async () => {
    const supplierId = await measuredSupplier();
    const { backorder } = await waitingBackorder({ supplierId, restockAt: daysFromNow(6) });
    expect(backorder.etaSource).toBe("RESTOCK");
    expect(new Date(backorder.expectedAtLate!).getTime() - new Date(backorder.expectedAt!).getTime()).toBe(Math.round(P90_OF_0_0_2_5 * DAY));
  });

  it("widens a lead-time date the same way: a supplier late on restocks is late on lead times", async () => {
    const supplierId = await measuredSupplier();
    const { backorder } = await waitingBackorder({ supplierId, leadTimeDays: 10 });
    expect(backorder.etaSource).toBe("LEAD_TIME");
    expect(new Date(backorder.expectedAtLate!).getTime() - new Date(backorder.expectedAt!).getTime()).toBe(Math.round(P90_OF_0_0_2_5 * DAY));
  });

  it("is null without a date, without a supplier, and for a supplier without history", async () => {
    const supplierId = await measuredSupplier();
    const undated = await waitingBackorder({ supplierId });
    expect(undated.backorder).toMatchObject({ expectedAt: null, etaSource: "UNKNOWN", expectedAtLate: null });
    const unsupplied = await waitingBackorder({ restockAt: daysFromNow(4) });
    expect(unsupplied.backorder.expectedAt).not.toBeNull();
    expect(unsupplied.backorder.expectedAtLate).toBeNull();
    const newcomer = await createSupplier(database.db, { name: uniqueSku("Newcomer") });
    const unknown = await waitingBackorder({ supplierId: newcomer.id, restockAt: daysFromNow(4) });
    expect(unknown.backorder.expectedAt).not.toBeNull();
    expect(unknown.backorder.expectedAtLate).toBeNull();
  });

  it("widens a quote's date the same way", async () => {
    const supplierId = await measuredSupplier();
    const product = await newProduct(database.db, { supplierId, leadTimeDays: 4 });
    const { product: view } = await data(`query($id: ID!) { product(id: $id) { quote(quantity: 2) { expectedAt etaSource expectedAtLate } } }`, {
      id: toGlobalId("Product", product.id),
    });
    expect(view.quote.etaSource).toBe("LEAD_TIME");
    expect(new Date(view.quote.expectedAtLate).getTime() - new Date(view.quote.expectedAt).getTime()).toBe(Math.round(P90_OF_0_0_2_5 * DAY));
  });

  it("reads the histories of a whole page of backorders' suppliers in one statement, and prices each range's work", async () => {
    const prefix = uniqueSku("RANGES");
    const productIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const supplier = await createSupplier(database.db, { name: `${prefix}-${i}` });
      await supplierHistory(database.db, supplier.id, [i, 0]);
      const product = await newProduct(database.db, { sku: `${prefix}-${i}`, supplierId: supplier.id, leadTimeDays: 3 });
      await placeOrder(database.db, { customer: "page", lines: [{ productId: product.id, quantity: 1 }] });
      productIds.push(toGlobalId("Product", product.id));
    }
    const query = `query($first: Int) { products(filter: { search: "${prefix}-" }, first: $first) { nodes {
      supplier { name onTimeRate averageDelayDays } backlog { nodes { expectedAt expectedAtLate } } } } }`;
    for (const first of [1, 6]) {
      const histories: string[] = [];
      const response = await countingHistories(histories, () => gql(query, { first }));
      expect(response.body.errors, response.text).toBeUndefined();
      const nodes = response.body.data.products.nodes as {
        supplier: { name: string; averageDelayDays: number };
        backlog: { nodes: { expectedAtLate: string }[] };
      }[];
      expect(nodes).toHaveLength(first);
      nodes.forEach((node, i) => {
        expect(node.supplier.name).toBe(`${prefix}-${i}`);
        // Lateness i and 0: the mean is i / 2, the 0.9 quantile 0.9 × i.
        expect(node.supplier.averageDelayDays).toBeCloseTo(i / 2, 9);
        expect(node.backlog.nodes[0].expectedAtLate).not.toBeNull();
      });
      expect(histories, `first: ${first}`).toHaveLength(1);
      // Per product: its supplier's two figures, and the range of each backorder its backlog page (20) may hold.
      const plain = requestedCost(await gql(query.replace(/onTimeRate averageDelayDays|expectedAtLate/g, ""), { first }))!;
      expect(requestedCost(response)! - plain).toBe(first * (2 + DEFAULT_PAGE_SIZE) * SUPPLIER_HISTORY_WORK);
    }
  });

  it("lists suppliers in creation order, a page at a time", async () => {
    const ids = [await supplierNamed(uniqueSku("Page-a")), await supplierNamed(uniqueSku("Page-b")), await supplierNamed(uniqueSku("Page-c"))];
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { suppliers: page } = (await data(
        `query($after: String) { suppliers(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
        {
          after,
        },
      )) as { suppliers: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
      seen.push(...page.nodes.map((node) => node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.slice(-3)).toEqual(ids);
    const bad = await gql(`{ suppliers(first: 2, after: "nope!") { nodes { id } } }`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await gql(`{ suppliers(first: 101) { nodes { id } } }`)).body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

/** Runs `work`, collecting the statements that read a supplier's history (the percentile) into `into`. */
async function countingHistories<T>(into: string[], work: () => Promise<T>): Promise<T> {
  await server.app.hub.settled();
  const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
  const original = session.prepareQuery;
  session.prepareQuery = function (this: unknown, ...args: unknown[]) {
    const text = String((args[0] as { sql?: string }).sql);
    if (text.includes("percentile_cont")) into.push(text);
    return original.apply(this, args);
  };
  try {
    return await work();
  } finally {
    session.prepareQuery = original;
  }
}

/**
 * Product.quote and maxWaitDays over real HTTP (docs/ARCHITECTURE.md, "Quotes and the wait cap"):
 * a page of quotes in one statement, its price in the cost estimate, bad quantities refused as
 * BAD_USER_INPUT without a write, the quote against the order placed after it, and the wait cap
 * set and cleared through createProduct and updateProduct.
 */
import { describe, expect, it } from "vitest";
import { FIELD_WORK } from "../../server/graphql/limits/query-cost.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { createRoleKeys, databaseDigest } from "../support/access.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";
import { expectRefusal, mutationClient, PLACE_ORDER, USER_ERRORS } from "../support/mutations.js";

const database = useFreshDatabase();
// The event hub reads the log after commits and on a poll; those reads must not land in
// countStatements' window, so it polls rarely and each count first waits for it to settle.
// The read cache off: the statements counted are one execution's (docs/ARCHITECTURE.md, "The read cache").
const server = useTestServer(database, { live: { pollMs: 3_600_000 }, readCacheMaxAgeMs: 0 });
const { gql, data } = server;
const { mutation } = mutationClient(database, server);

const QUOTE_FIELDS = "quantity allocatable backorderable refused code position expectedAt etaSource";
const PRODUCT_WAIT = `id maxWaitDays leadTimeDays`;
const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { ${PRODUCT_WAIT} } ${USER_ERRORS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { ${PRODUCT_WAIT} } ${USER_ERRORS} } }`;

/** The cost estimate the server reported for a response. */
const requestedCost = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: { requested?: number } } }).extensions?.cost?.requested;

/**
 * The SQL statements the server runs for the answer while `work` runs (every statement goes through
 * prepareQuery), leaving out those of authentication and the cost buckets (api_keys, cost_budgets),
 * which come and go with caching and batching: all of them, and those that read a queue's outlook
 * (a quote's statement).
 */
async function countStatements(work: () => Promise<unknown>): Promise<{ all: number; quotes: number }> {
  await server.app.hub.settled();
  const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
  const original = session.prepareQuery;
  const counted = { all: 0, quotes: 0 };
  session.prepareQuery = function (this: unknown, ...args: unknown[]) {
    const text = String((args[0] as { sql?: string }).sql);
    if (!/"(api_keys|cost_budgets)"/.test(text)) counted.all += 1;
    if (text.includes("units_ahead")) counted.quotes += 1;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    session.prepareQuery = original;
  }
  return counted;
}

describe("Product.quote", () => {
  it("quotes a whole page of products in one statement, whatever the page's size", async () => {
    const prefix = uniqueSku("QPAGE");
    for (let i = 0; i < 20; i++) {
      const product = await newProduct(database.db, {
        sku: `${prefix}-${String(i).padStart(2, "0")}`,
        initialStock: i % 4,
        backorderPolicy: i % 5 === 0 ? "DENY" : "ALLOW",
        maxWaitDays: i % 3 === 0 ? 7 : null,
        leadTimeDays: i % 2 === 0 ? 5 : null,
      });
      if (i % 3 === 1) await scheduleRestock(database.db, { productId: product.id, quantity: 2, expectedAt: daysFromNow(2 + i) });
      if (i % 4 === 0 && i % 5 !== 0) await placeOrder(database.db, { customer: "ahead", lines: [{ productId: product.id, quantity: 2 }] });
    }
    const query = (withQuote: boolean) => `query($first: Int) { products(filter: { search: "${prefix}-" }, first: $first) { nodes {
      id sku ${withQuote ? `quote(quantity: 3) { ${QUOTE_FIELDS} }` : ""} } } }`;
    const counts: { first: number; quoted: boolean; all: number; quotes: number }[] = [];
    for (const first of [1, 5, 20]) {
      for (const quoted of [false, true]) {
        const counted = await countStatements(async () => {
          const { products } = await data(query(quoted), { first });
          expect(products.nodes).toHaveLength(first);
          if (quoted) for (const node of products.nodes) expect(node.quote).toMatchObject({ quantity: 3 });
        });
        counts.push({ first, quoted, ...counted });
      }
    }
    // One statement reads the page, one more quotes it: for a page of 1 as for 20.
    expect(counts).toEqual(counts.map(({ first, quoted }) => ({ first, quoted, all: quoted ? 2 : 1, quotes: quoted ? 1 : 0 })));
  });

  it("answers what the order placed after it then gets: units, code, position and date", async () => {
    const product = await newProduct(database.db, { initialStock: 1, maxWaitDays: 10, backorderLimit: 10 });
    const soon = await scheduleRestock(database.db, { productId: product.id, quantity: 3, expectedAt: daysFromNow(4.5) });
    await scheduleRestock(database.db, { productId: product.id, quantity: 20, expectedAt: daysFromNow(25.5) });
    await placeOrder(database.db, { customer: "first", lines: [{ productId: product.id, quantity: 2 }] }); // 1 allocated, 1 waits
    const id = toGlobalId("Product", product.id);
    const { product: quoted } = await data(`query($id: ID!) { product(id: $id) { maxWaitDays quote(quantity: 6) { ${QUOTE_FIELDS} } } }`, { id });
    // 1 unit ahead: the first restock has 2 left for this order within 10 days, the backorder limit would let 9 wait.
    expect(quoted).toEqual({
      maxWaitDays: 10,
      quote: {
        quantity: 6,
        allocatable: 0,
        backorderable: 2,
        refused: 4,
        code: "WAIT_TOO_LONG",
        position: 2,
        expectedAt: soon.expectedAt.toISOString(),
        etaSource: "RESTOCK",
      },
    });
    const placed = await mutation(PLACE_ORDER, { input: { customer: "quoted", lines: [{ productId: id, quantity: 6 }] } });
    expect(placed.userErrors).toEqual([{ code: "WAIT_TOO_LONG", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    const [line] = placed.order.lines;
    expect(line).toMatchObject({ quantity: 2, allocated: 0, backordered: 2 });
    expect(line.backorder).toMatchObject({ position: 2, expectedAt: quoted.quote.expectedAt, etaSource: "RESTOCK", promisedAt: quoted.quote.expectedAt });
  });

  it("may be read by every role, a storefront's product page included", async () => {
    const keys = await createRoleKeys(database.db, "quote");
    const product = await newProduct(database.db, { initialStock: 2 });
    for (const key of Object.values(keys)) {
      const response = await gql(
        `query($id: ID!) { product(id: $id) { quote(quantity: 3) { allocatable backorderable } } }`,
        { id: toGlobalId("Product", product.id) },
        { key: key.secret },
      );
      expect(response.body, key.role).toEqual({ data: { product: { quote: { allocatable: 2, backorderable: 1 } } }, extensions: expect.anything() });
    }
  });

  it.each([0, -1, 2_000_000])("refuses quantity %i as BAD_USER_INPUT naming quantity, and writes nothing", async (quantity) => {
    const product = await newProduct(database.db, { initialStock: 2 });
    const before = await databaseDigest(database.db);
    const response = await gql(`query($id: ID!, $quantity: Int!) { product(id: $id) { sku quote(quantity: $quantity) { allocatable } } }`, {
      id: toGlobalId("Product", product.id),
      quantity,
    });
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining("quantity"),
        path: ["product", "quote"],
        extensions: { code: "BAD_USER_INPUT", argument: "quantity" },
      }),
    ]);
    // Quote is non-null: the refusal nulls the product, never reaching a partial answer.
    expect(response.body.data).toEqual({ product: null });
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("prices each quote in the request's cost estimate: the object and its work", async () => {
    const prefix = uniqueSku("QCOST");
    await newProduct(database.db, { sku: `${prefix}-a` });
    const plain = await gql(`{ products(first: 20) { nodes { id } } }`);
    const quoted = await gql(`{ products(first: 20) { nodes { id quote(quantity: 3) { allocatable } } } }`);
    expect(plain.body.errors).toBeUndefined();
    expect(quoted.body.errors).toBeUndefined();
    // 20 products may each return a Quote (1 point) and its work (FIELD_WORK).
    expect(requestedCost(quoted)! - requestedCost(plain)!).toBe(20 * (1 + FIELD_WORK["Product.quote"]!(() => 3)));
  });
});

describe("maxWaitDays through createProduct and updateProduct", () => {
  it("is set at creation, changed, cleared with null, and left alone when not given", async () => {
    const created = await mutation(CREATE, { input: { sku: uniqueSku("WAIT"), name: "Capped", price: "5.00", maxWaitDays: 14 } });
    expect(created).toEqual({ product: { id: expect.any(String), maxWaitDays: 14, leadTimeDays: null }, userErrors: [] });
    const { id } = created.product;
    expect(await mutation(UPDATE, { id, input: { maxWaitDays: 0 } })).toMatchObject({ product: { maxWaitDays: 0 }, userErrors: [] });
    expect(await mutation(UPDATE, { id, input: { leadTimeDays: 3 } })).toMatchObject({ product: { maxWaitDays: 0, leadTimeDays: 3 }, userErrors: [] });
    expect(await mutation(UPDATE, { id, input: { maxWaitDays: null } })).toMatchObject({ product: { maxWaitDays: null }, userErrors: [] });
    const uncapped = await mutation(CREATE, { input: { sku: uniqueSku("WAIT"), name: "Uncapped", price: "5.00" } });
    expect(uncapped.product.maxWaitDays).toBeNull();
  });

  it.each([-1, 3651])("refuses maxWaitDays %i with INVALID_INPUT on the field, and changes nothing", async (maxWaitDays) => {
    const created = await mutation(CREATE, { input: { sku: uniqueSku("WAIT"), name: "Capped", price: "5.00", maxWaitDays: 3 } });
    const before = await databaseDigest(database.db);
    expectRefusal(await mutation(UPDATE, { id: created.product.id, input: { maxWaitDays } }), "INVALID_INPUT", ["input", "maxWaitDays"]);
    expectRefusal(await mutation(CREATE, { input: { sku: uniqueSku("WAIT"), name: "Refused", price: "5.00", maxWaitDays } }), "INVALID_INPUT", [
      "input",
      "maxWaitDays",
    ]);
    expect(await databaseDigest(database.db)).toEqual(before);
    expect((await data(`query($id: ID!) { product(id: $id) { maxWaitDays } }`, { id: created.product.id })).product.maxWaitDays).toBe(3);
  });

  it("refuses a maxWaitDays that is not an Int as BAD_USER_INPUT before anything runs", async () => {
    const created = await mutation(CREATE, { input: { sku: uniqueSku("WAIT"), name: "Capped", price: "5.00", maxWaitDays: 3 } });
    const before = await databaseDigest(database.db);
    const response = await gql(UPDATE, { id: created.product.id, input: { maxWaitDays: 1.5 } });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("is enforced by placeOrder at once after an update", async () => {
    const product = await newProduct(database.db, { leadTimeDays: 12 });
    const id = toGlobalId("Product", product.id);
    const quote = `query($id: ID!) { product(id: $id) { quote(quantity: 2) { backorderable refused code } } }`;
    expect((await data(quote, { id })).product.quote).toEqual({ backorderable: 2, refused: 0, code: null });
    await mutation(UPDATE, { id, input: { maxWaitDays: 11 } });
    expect((await data(quote, { id })).product.quote).toEqual({ backorderable: 0, refused: 2, code: "WAIT_TOO_LONG" });
    const placed = await mutation(PLACE_ORDER, { input: { customer: "capped", lines: [{ productId: id, quantity: 2 }], allowPartial: false } });
    expectRefusal(placed, "WAIT_TOO_LONG", ["input", "lines", "0", "quantity"]);
  });
});

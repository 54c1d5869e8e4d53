/**
 * The write side of the API over real HTTP (docs/ARCHITECTURE.md, "The rules" and "Expected dates" and "The GraphQL contract"): every mutation's main
 * flow, the business refusals as coded userErrors that change nothing, bad input of every kind as
 * a coded error that changes nothing and leaks nothing, and the masking of unexpected failures.
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../drizzle/db.js";
import type { App } from "../../server/http/app.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { daysFromNow, tableCounts, uniqueSku } from "../support/catalogue.js";
import { describeOnPostgres, freshDatabase, useFreshDatabase } from "../support/database.js";
import { authorizationHeader, type GraphQLResponse, postGraphQL, startTestServer, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { gql, data } = server;

// ---- operations ----

const USER_ERRORS = "userErrors { code field message }";
const BACKORDER_FIELDS = `id quantity remaining status priority position unitsAhead expectedAt etaSource promisedAt delayed createdAt filledAt
  order { id number } orderLine { id } product { id }`;
const ORDER_FIELDS = `id number customer status delayed promisedAt expectedAt cancelReason total { amount currencyCode }
  lines { id quantity allocated backordered shipped cancelled product { id sku } backorder { ${BACKORDER_FIELDS} } }`;
const PRODUCT_FIELDS = `id sku name price { amount currencyCode } backorderPolicy backorderLimit minOrderQuantity maxOrderQuantity leadTimeDays
  stock { onHand allocated available backordered incoming projected nextRestockAt }
  stockLevels { onHand allocated available safetyStock location { id code } }`;
const RESTOCK_FIELDS = "id quantity receivedQuantity expectedAt status reference receivedAt product { id } location { id code }";

const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id code name priority } ${USER_ERRORS} } }`;
const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { ${PRODUCT_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_PRODUCT = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { ${PRODUCT_FIELDS} } ${USER_ERRORS} } }`;
const ADJUST_STOCK = `mutation($input: AdjustStockInput!) { adjustStock(input: $input) {
  stockLevel { onHand allocated available safetyStock location { code } product { id } } ${USER_ERRORS} } }`;
const PLACE_ORDER = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { ${ORDER_FIELDS} } replayed ${USER_ERRORS} } }`;
const CANCEL_ORDER = `mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
const CANCEL_ORDER_LINE = `mutation($id: ID!, $quantity: Int) { cancelOrderLine(id: $id, quantity: $quantity) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
const SHIP_ORDER = `mutation($id: ID!) { shipOrder(id: $id) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
const SCHEDULE_RESTOCK = `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
const RESCHEDULE_RESTOCK = `mutation($id: ID!, $expectedAt: DateTime!) { rescheduleRestock(id: $id, expectedAt: $expectedAt) {
  restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
const RECEIVE_RESTOCK = `mutation($id: ID!, $quantity: Int) { receiveRestock(id: $id, quantity: $quantity) {
  restock { ${RESTOCK_FIELDS} } filledBackorders { ${BACKORDER_FIELDS} } ${USER_ERRORS} } }`;
const CANCEL_RESTOCK = `mutation($id: ID!) { cancelRestock(id: $id) { restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
const PRIORITIZE_BACKORDER = `mutation($id: ID!, $priority: Int!) { prioritizeBackorder(id: $id, priority: $priority) {
  backorder { ${BACKORDER_FIELDS} } ${USER_ERRORS} } }`;

const ORDER_QUERY = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
const PRODUCT_QUERY = `query($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`;
const BACKORDER_QUERY = `query($id: ID!) { node(id: $id) { ... on Backorder { ${BACKORDER_FIELDS} } } }`;

// ---- helpers ----

interface UserError {
  code: string;
  field: string[] | null;
  message: string;
}

/** Runs a mutation and returns its payload (the only root field), failing on any GraphQL error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function mutation(query: string, variables: Record<string, unknown>): Promise<any> {
  const result = await data(query, variables);
  return Object.values(result)[0];
}

/** Runs a mutation that must succeed: no userErrors. Returns its payload. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(query: string, variables: Record<string, unknown>): Promise<any> {
  const payload = await mutation(query, variables);
  expect(payload.userErrors).toEqual([]);
  return payload;
}

/** Creates a product through the API (ALLOW, price 10.00, no stock unless given). */
async function createProduct(input: Record<string, unknown> = {}) {
  const payload = await ok(CREATE_PRODUCT, {
    input: { sku: uniqueSku("GQL"), name: "Mutation test product", price: "10.00", backorderPolicy: "ALLOW", ...input },
  });
  return payload.product;
}

/** Places an order for one product through the API; returns the payload. */
function placeOne(productId: string, quantity: number, extra: Record<string, unknown> = {}) {
  return mutation(PLACE_ORDER, { input: { customer: "one-line", lines: [{ productId, quantity }], ...extra } });
}

/** Schedules a restock through the API; returns the restock. */
async function scheduleRestock(productId: string, quantity: number, expectedAt: Date, extra: Record<string, unknown> = {}) {
  return (await ok(SCHEDULE_RESTOCK, { input: { productId, quantity, expectedAt: expectedAt.toISOString(), ...extra } })).restock;
}

async function readOrder(id: string) {
  return (await data(ORDER_QUERY, { id })).order;
}

async function readProduct(id: string) {
  return (await data(PRODUCT_QUERY, { id })).product;
}

async function readBackorder(id: string) {
  return (await data(BACKORDER_QUERY, { id })).node;
}

/**
 * Everything a refused operation must leave as it was: row counts and a digest of every row of
 * the tables that hold stock, orders, backlog and restocks. Refused orders record lost demand by
 * design (docs/ARCHITECTURE.md, "The rules"), so `lost_demand` is not part of it.
 */
async function databaseState() {
  const digest = (table: string, order: string) =>
    sql.raw(`(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY ${order}), '')) FROM ${table} t)`);
  const [row] = await rows<Record<string, string | number>>(
    database.db,
    sql`SELECT (SELECT count(*) FROM products)::int AS products, (SELECT count(*) FROM locations)::int AS locations,
               (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys,
               ${digest("products", "id")} AS products_digest,
               ${digest("locations", "id")} AS locations_digest,
               ${digest("stock_levels", "product_id, location_id")} AS stock_levels_digest,
               ${digest("orders", "id")} AS orders_digest,
               ${digest("order_lines", "id")} AS order_lines_digest,
               ${digest("backorders", "id")} AS backorders_digest,
               ${digest("restocks", "id")} AS restocks_digest`,
  );
  return { ...(await tableCounts(database.db)), ...Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)])) };
}

/** A response must never show a stack, SQL or a source path (docs/ARCHITECTURE.md, "The GraphQL contract"). */
function expectNoLeak(response: GraphQLResponse): void {
  expect(response.text).not.toMatch(/at \/|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\.ts:|\.js:|node_modules|stacktrace/);
}

/** The payload's single userError, checked for its code and field, on a payload whose object is null. */
function expectRefusal(payload: Record<string, unknown>, code: string, field: string[] | null): UserError {
  const errors = payload.userErrors as UserError[];
  expect(errors).toEqual([{ code, field, message: expect.any(String) }]);
  expect(errors[0].message.length).toBeGreaterThan(0);
  for (const [key, value] of Object.entries(payload)) {
    if (key === "userErrors" || key === "replayed" || key === "filledBackorders") continue;
    expect(value, key).toBeNull();
  }
  return errors[0];
}

// ---- the main flows ----

describe("locations and products", () => {
  it("creates a location that the locations query then lists", async () => {
    const code = uniqueSku("LOC");
    const { location } = await ok(CREATE_LOCATION, { input: { code, name: "Overflow store", priority: 10 } });
    expect(location).toEqual({ id: expect.any(String), code, name: "Overflow store", priority: 10 });
    const { locations } = await data(`{ locations { id code priority } }`);
    expect(locations).toContainEqual({ id: location.id, code, priority: 10 });
  });

  it("creates a product with its initial stock on hand at the default location", async () => {
    const sku = uniqueSku("NEW");
    const { product } = await ok(CREATE_PRODUCT, {
      input: { sku, name: "Kettle", price: "24.50", backorderPolicy: "ALLOW", backorderLimit: 40, minOrderQuantity: 1, maxOrderQuantity: 9, leadTimeDays: 14, initialStock: 7 },
    });
    expect(product).toMatchObject({
      sku,
      name: "Kettle",
      price: { amount: "24.50", currencyCode: "USD" },
      backorderPolicy: "ALLOW",
      backorderLimit: 40,
      minOrderQuantity: 1,
      maxOrderQuantity: 9,
      leadTimeDays: 14,
      stock: { onHand: 7, allocated: 0, available: 7, backordered: 0, incoming: 0, projected: 7, nextRestockAt: null },
    });
    const { locations } = await data(`{ locations { code } }`);
    expect(product.stockLevels).toEqual([{ onHand: 7, allocated: 0, available: 7, safetyStock: 0, location: { id: expect.any(String), code: locations[0].code } }]);
  });

  it("defaults a new product to DENY, a minimum of 1 and no stock", async () => {
    const { product } = await ok(CREATE_PRODUCT, { input: { sku: uniqueSku("DEF"), name: "Plain", price: "1" } });
    expect(product).toMatchObject({ backorderPolicy: "DENY", backorderLimit: null, minOrderQuantity: 1, maxOrderQuantity: null, price: { amount: "1.00" } });
    expect(product.stock.onHand).toBe(0);
  });

  it("updates only the fields given, and null clears an optional limit", async () => {
    const product = await createProduct({ backorderLimit: 5, maxOrderQuantity: 8, leadTimeDays: 3 });
    const { product: updated } = await ok(UPDATE_PRODUCT, {
      id: product.id,
      input: { name: "Renamed", price: "12.34", backorderLimit: null, backorderPolicy: "DENY" },
    });
    expect(updated).toMatchObject({
      id: product.id,
      sku: product.sku,
      name: "Renamed",
      price: { amount: "12.34", currencyCode: "USD" },
      backorderPolicy: "DENY",
      backorderLimit: null,
      maxOrderQuantity: 8,
      leadTimeDays: 3,
    });
    expect(await readProduct(product.id)).toMatchObject({ name: "Renamed", backorderLimit: null, maxOrderQuantity: 8 });
  });

  it("re-dates waiting backorders when the product's lead time changes", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    expect(order.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null });
    await ok(UPDATE_PRODUCT, { id: product.id, input: { leadTimeDays: 7 } });
    const backorder = await readBackorder(order.lines[0].backorder.id);
    expect(backorder.etaSource).toBe("LEAD_TIME");
    expect(Math.abs(Date.parse(backorder.expectedAt) - (Date.parse(backorder.createdAt) + 7 * 86_400_000))).toBeLessThanOrEqual(3_600_000);
  });

  it("adjusts stock at the default location with a reason and sets safety stock", async () => {
    const product = await createProduct({ initialStock: 2 });
    const { stockLevel } = await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 5, reason: "cycle count", safetyStock: 1 } });
    expect(stockLevel).toMatchObject({ onHand: 7, allocated: 0, available: 6, safetyStock: 1, product: { id: product.id } });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 7, available: 6 });
  });

  it("adjusts stock at a named location", async () => {
    const product = await createProduct();
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("SIDE"), name: "Side room", priority: 20 } });
    const { stockLevel } = await ok(ADJUST_STOCK, { input: { productId: product.id, locationId: location.id, delta: 4, reason: "found" } });
    expect(stockLevel).toMatchObject({ onHand: 4, location: { code: location.code } });
    const levels = (await readProduct(product.id)).stockLevels;
    expect(levels).toContainEqual(expect.objectContaining({ onHand: 4, location: { id: location.id, code: location.code } }));
  });

  it("refuses a stock fall below what is allocated with INSUFFICIENT_STOCK and changes nothing", async () => {
    const product = await createProduct({ initialStock: 3 });
    await placeOne(product.id, 2);
    const before = await databaseState();
    const payload = await mutation(ADJUST_STOCK, { input: { productId: product.id, delta: -2, reason: "breakage" } });
    expectRefusal(payload, "INSUFFICIENT_STOCK", ["input", "delta"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a second product with a taken SKU as DUPLICATE and creates nothing", async () => {
    const product = await createProduct();
    const before = await databaseState();
    const payload = await mutation(CREATE_PRODUCT, { input: { sku: product.sku, name: "Copy", price: "1.00" } });
    expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses renaming a product to another's SKU as DUPLICATE and changes nothing", async () => {
    const first = await createProduct();
    const second = await createProduct();
    const before = await databaseState();
    const payload = await mutation(UPDATE_PRODUCT, { id: second.id, input: { sku: first.sku } });
    expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a second location with a taken code as DUPLICATE", async () => {
    const code = uniqueSku("TWICE");
    await ok(CREATE_LOCATION, { input: { code, name: "First", priority: 30 } });
    const before = await databaseState();
    const payload = await mutation(CREATE_LOCATION, { input: { code, name: "Second", priority: 31 } });
    expectRefusal(payload, "DUPLICATE", ["input", "code"]);
    expect(await databaseState()).toEqual(before);
  });
});

describe("placing orders", () => {
  it("allocates what is on the shelf and backorders the rest, dated by the scheduled restock", async () => {
    const product = await createProduct({ initialStock: 3, leadTimeDays: 10 });
    const expectedAt = daysFromNow(5).toISOString();
    await scheduleRestock(product.id, 4, new Date(expectedAt));
    const { order, replayed, userErrors } = await placeOne(product.id, 5, { customer: "alice" });
    expect([replayed, userErrors]).toEqual([false, []]);
    expect(order).toMatchObject({ customer: "alice", status: "AWAITING_STOCK", delayed: false, promisedAt: expectedAt, expectedAt });
    expect(order.total).toEqual({ amount: "50.00", currencyCode: "USD" });
    expect(order.number).toMatch(/\S/);
    const [line] = order.lines;
    expect(line).toMatchObject({ quantity: 5, allocated: 3, backordered: 2, shipped: 0, cancelled: 0, product: { id: product.id } });
    expect(line.backorder).toMatchObject({
      quantity: 2,
      remaining: 2,
      status: "WAITING",
      priority: 0,
      position: 1,
      unitsAhead: 0,
      expectedAt,
      etaSource: "RESTOCK",
      promisedAt: expectedAt,
      delayed: false,
      filledAt: null,
      order: { id: order.id },
      orderLine: { id: line.id },
    });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 3, allocated: 3, available: 0, backordered: 2, incoming: 4, projected: 2 });
  });

  it("queues a later order behind the first and dates it by lead time beyond scheduled supply", async () => {
    const product = await createProduct({ leadTimeDays: 10 });
    const expectedAt = daysFromNow(4).toISOString();
    await scheduleRestock(product.id, 3, new Date(expectedAt));
    const first = (await placeOne(product.id, 2)).order.lines[0].backorder;
    const second = (await placeOne(product.id, 3)).order.lines[0].backorder;
    expect(first).toMatchObject({ position: 1, unitsAhead: 0, etaSource: "RESTOCK", expectedAt });
    // 2 + 3 waiting units outrun the 3 incoming: the second falls back to its lead time.
    expect(second).toMatchObject({ position: 2, unitsAhead: 2, etaSource: "LEAD_TIME" });
    const leadTimeAt = Date.parse(second.createdAt) + 10 * 86_400_000;
    expect(Math.abs(Date.parse(second.expectedAt) - leadTimeAt)).toBeLessThanOrEqual(3_600_000);
    expect(second.promisedAt).toBe(second.expectedAt);
  });

  it("leaves a backorder with neither restock nor lead time UNKNOWN, with no date", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    expect(order.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, promisedAt: null, delayed: false });
    expect(order).toMatchObject({ expectedAt: null, promisedAt: null, delayed: false });
  });

  it("splits a line across locations in priority order when the first cannot cover it", async () => {
    const product = await createProduct({ initialStock: 2 });
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("SPLIT"), name: "Second store", priority: 40 } });
    await ok(ADJUST_STOCK, { input: { productId: product.id, locationId: location.id, delta: 5, reason: "opening count" } });
    const { order } = await ok(PLACE_ORDER, { input: { customer: "split", lines: [{ productId: product.id, quantity: 4 }] } });
    expect(order.lines[0]).toMatchObject({ allocated: 4, backordered: 0 });
    const levels = (await readProduct(product.id)).stockLevels;
    const byCode = Object.fromEntries(levels.map((level: { location: { code: string }; allocated: number }) => [level.location.code, level.allocated]));
    const { locations } = await data(`{ locations { code } }`);
    expect(byCode).toEqual({ [locations[0].code]: 2, [location.code]: 2 });
  });

  it("refuses an order mixing currencies with INVALID_INPUT and changes nothing", async () => {
    const dollars = await createProduct({ initialStock: 1 });
    const euros = await createProduct({ initialStock: 1, currencyCode: "EUR" });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "mixed-money", lines: [{ productId: dollars.id, quantity: 1 }, { productId: euros.id, quantity: 1 }] },
    });
    expectRefusal(payload, "INVALID_INPUT", ["input", "lines"]);
    expect(await databaseState()).toEqual(before);
  });

  it("takes a line named by SKU and sums the total over lines", async () => {
    const kettle = await createProduct({ initialStock: 5, price: "3.25" });
    const mug = await createProduct({ initialStock: 5, price: "1.10" });
    const { order } = await ok(PLACE_ORDER, {
      input: { customer: "sku-buyer", lines: [{ sku: kettle.sku, quantity: 2 }, { productId: mug.id, quantity: 3 }] },
    });
    expect(order.status).toBe("READY_TO_SHIP");
    expect(order.total.amount).toBe("9.80");
    expect(order.lines.map((line: { product: { sku: string }; allocated: number }) => [line.product.sku, line.allocated])).toEqual([
      [kettle.sku, 2],
      [mug.sku, 3],
    ]);
  });

  it("replays a repeated idempotency key with the same order and replayed: true, placing nothing more", async () => {
    const product = await createProduct({ initialStock: 10 });
    const input = { customer: "retry", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey: uniqueSku("KEY") };
    const first = await ok(PLACE_ORDER, { input });
    expect(first.replayed).toBe(false);
    const before = await databaseState();
    const again = await ok(PLACE_ORDER, { input });
    expect(again.replayed).toBe(true);
    expect(again.order.id).toBe(first.order.id);
    expect(again.order.number).toBe(first.order.number);
    expect(await databaseState()).toEqual(before);
    expect((await readProduct(product.id)).stock.allocated).toBe(2);
  });

  it("replays a cut order's userErrors with it", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 1 });
    const input = { customer: "retry-cut", lines: [{ productId: denied.id, quantity: 3 }], idempotencyKey: uniqueSku("KEY") };
    const first = await mutation(PLACE_ORDER, { input });
    const again = await mutation(PLACE_ORDER, { input });
    expect(first.userErrors.map((error: UserError) => error.code)).toEqual(["OUT_OF_STOCK"]);
    expect([again.replayed, again.order.id, again.userErrors]).toEqual([true, first.order.id, first.userErrors]);
  });

  it("refuses an idempotency key reused for another order with IDEMPOTENCY_KEY_REUSED and changes nothing", async () => {
    const product = await createProduct({ initialStock: 10 });
    const idempotencyKey = uniqueSku("KEY");
    await ok(PLACE_ORDER, { input: { customer: "retry", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey } });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, { input: { customer: "retry", lines: [{ productId: product.id, quantity: 3 }], idempotencyKey } });
    expectRefusal(payload, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"]);
    expect(payload.replayed).toBe(false);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a whole order with OUT_OF_STOCK when a DENY line is short and allowPartial is false, changing no stock", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 2 });
    const allowed = await createProduct({ initialStock: 5 });
    const stockBefore = [await readProduct(denied.id), await readProduct(allowed.id)];
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "strict", allowPartial: false, lines: [{ productId: allowed.id, quantity: 1 }, { productId: denied.id, quantity: 3 }] },
    });
    expectRefusal(payload, "OUT_OF_STOCK", ["input", "lines", "1", "quantity"]);
    expect([await readProduct(denied.id), await readProduct(allowed.id)]).toEqual(stockBefore);
    expect(await databaseState()).toEqual(before);
  });

  it("cuts a short DENY line to what is available with allowPartial, returning the order and the OUT_OF_STOCK error", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY", initialStock: 2 });
    const payload = await mutation(PLACE_ORDER, { input: { customer: "lenient", lines: [{ productId: denied.id, quantity: 5 }] } });
    expect(payload.userErrors).toEqual([{ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    expect(payload.order).toMatchObject({ status: "READY_TO_SHIP", lines: [{ quantity: 2, allocated: 2, backordered: 0, backorder: null }] });
    expect((await readProduct(denied.id)).stock).toMatchObject({ onHand: 2, allocated: 2, available: 0, backordered: 0 });
  });

  it("drops a DENY line with nothing available from a multi-line order with allowPartial, keeping the others", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY" });
    const allowed = await createProduct({ initialStock: 1 });
    const payload = await mutation(PLACE_ORDER, {
      input: { customer: "mixed", lines: [{ productId: denied.id, quantity: 2 }, { productId: allowed.id, quantity: 1 }] },
    });
    expect(payload.userErrors).toEqual([{ code: "OUT_OF_STOCK", field: ["input", "lines", "0", "quantity"], message: expect.any(String) }]);
    expect(payload.order.lines).toEqual([expect.objectContaining({ quantity: 1, allocated: 1, product: { id: allowed.id, sku: allowed.sku } })]);
  });

  it("refuses an order whose every line would be cut to nothing, even with allowPartial", async () => {
    const denied = await createProduct({ backorderPolicy: "DENY" });
    const before = await databaseState();
    const payload = await mutation(PLACE_ORDER, { input: { customer: "empty-shelf", lines: [{ productId: denied.id, quantity: 1 }] } });
    expectRefusal(payload, "OUT_OF_STOCK", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses units beyond the backorder limit with BACKORDER_LIMIT_EXCEEDED and changes nothing", async () => {
    const product = await createProduct({ backorderLimit: 3 });
    await ok(PLACE_ORDER, { input: { customer: "first", lines: [{ productId: product.id, quantity: 2 }] } });
    const before = await databaseState();
    const payload = await placeOne(product.id, 2, { allowPartial: false });
    expectRefusal(payload, "BACKORDER_LIMIT_EXCEEDED", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
    expect((await readProduct(product.id)).stock.backordered).toBe(2);
  });

  it("cuts a line to the backorder limit's room with allowPartial, reporting BACKORDER_LIMIT_EXCEEDED", async () => {
    const product = await createProduct({ backorderLimit: 3 });
    await ok(PLACE_ORDER, { input: { customer: "first", lines: [{ productId: product.id, quantity: 2 }] } });
    const payload = await placeOne(product.id, 4);
    expect(payload.userErrors.map((error: UserError) => error.code)).toEqual(["BACKORDER_LIMIT_EXCEEDED"]);
    expect(payload.order.lines[0]).toMatchObject({ quantity: 1, backordered: 1 });
    expect((await readProduct(product.id)).stock.backordered).toBe(3);
  });

  it("refuses a quantity below the product's minimum with BELOW_MIN_ORDER_QUANTITY and changes nothing", async () => {
    const product = await createProduct({ initialStock: 20, minOrderQuantity: 2, maxOrderQuantity: 5 });
    const before = await databaseState();
    expectRefusal(await placeOne(product.id, 1), "BELOW_MIN_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a quantity above the product's maximum with ABOVE_MAX_ORDER_QUANTITY and changes nothing", async () => {
    const product = await createProduct({ initialStock: 20, minOrderQuantity: 2, maxOrderQuantity: 5 });
    const before = await databaseState();
    expectRefusal(await placeOne(product.id, 6), "ABOVE_MAX_ORDER_QUANTITY", ["input", "lines", "0", "quantity"]);
    expect(await databaseState()).toEqual(before);
  });
});

describe("restocks", () => {
  it("schedules a restock that shows as incoming and as the next restock date", async () => {
    const product = await createProduct();
    const expectedAt = daysFromNow(6).toISOString();
    const restock = await scheduleRestock(product.id, 8, new Date(expectedAt), { reference: "PO-77" });
    expect(restock).toMatchObject({ quantity: 8, receivedQuantity: 0, expectedAt, status: "SCHEDULED", reference: "PO-77", receivedAt: null, product: { id: product.id } });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 8, projected: 8, nextRestockAt: expectedAt });
  });

  it("reads an expected date with any ISO-8601 offset, and a bare date as midnight UTC", async () => {
    const product = await createProduct();
    const given = {
      "2031-03-01T10:00:00Z": "2031-03-01T10:00:00.000Z",
      "2031-03-01T10:00:00.250+05:30": "2031-03-01T04:30:00.250Z",
      "2031-03-01T10:00:00-0700": "2031-03-01T17:00:00.000Z",
      "2031-03-01T10:00:00+05": "2031-03-01T05:00:00.000Z",
      "2031-03-01": "2031-03-01T00:00:00.000Z",
    };
    for (const [text, instant] of Object.entries(given)) {
      const payload = await mutation(SCHEDULE_RESTOCK, { input: { productId: product.id, quantity: 1, expectedAt: text } });
      expect([text, payload.userErrors, payload.restock?.expectedAt]).toEqual([text, [], instant]);
    }
  });

  it("fills the backlog in queue order on a partial receipt: some backorders whole and part of the next", async () => {
    const product = await createProduct();
    const orders = [];
    for (const quantity of [2, 3, 4]) orders.push((await placeOne(product.id, quantity)).order);
    const restock = await scheduleRestock(product.id, 7, daysFromNow(3));
    const received = await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 4 });
    expect(received.restock).toMatchObject({ id: restock.id, status: "SCHEDULED", quantity: 7, receivedQuantity: 4, receivedAt: expect.any(String) });
    expect(received.filledBackorders.map((b: { order: { id: string }; status: string; remaining: number }) => [b.order.id, b.status, b.remaining])).toEqual([
      [orders[0].id, "FILLED", 0],
      [orders[1].id, "WAITING", 1],
    ]);
    expect(received.filledBackorders[0].filledAt).toEqual(expect.any(String));
    const [first, second, third] = await Promise.all(orders.map((order) => readOrder(order.id)));
    expect(first).toMatchObject({ status: "READY_TO_SHIP", lines: [{ allocated: 2, backordered: 0 }] });
    expect(second).toMatchObject({ status: "AWAITING_STOCK", lines: [{ allocated: 2, backordered: 1, backorder: { position: 1, unitsAhead: 0 } }] });
    expect(third).toMatchObject({ status: "AWAITING_STOCK", lines: [{ allocated: 0, backordered: 4, backorder: { position: 2, unitsAhead: 1 } }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 4, allocated: 4, backordered: 5, incoming: 3 });
  });

  it("receives the rest of a restock without a quantity, completing it and filling on in queue order", async () => {
    const product = await createProduct();
    const first = (await placeOne(product.id, 2)).order;
    const second = (await placeOne(product.id, 5)).order;
    const restock = await scheduleRestock(product.id, 6, daysFromNow(3));
    await ok(RECEIVE_RESTOCK, { id: restock.id, quantity: 1 });
    const rest = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(rest.restock).toMatchObject({ status: "RECEIVED", receivedQuantity: 6 });
    expect(rest.filledBackorders.map((b: { order: { id: string }; status: string; remaining: number }) => [b.order.id, b.status, b.remaining])).toEqual([
      [first.id, "FILLED", 0],
      [second.id, "WAITING", 1],
    ]);
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 6, allocated: 6, backordered: 1, incoming: 0 });
  });

  it("receives a restock at another location and fills the backlog from there", async () => {
    const product = await createProduct();
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("DOCK"), name: "Dock", priority: 50 } });
    const { order } = await placeOne(product.id, 2);
    const restock = await scheduleRestock(product.id, 3, daysFromNow(1), { locationId: location.id });
    expect(restock.location).toEqual({ id: location.id, code: location.code });
    const received = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(received.filledBackorders.map((b: { order: { id: string } }) => b.order.id)).toEqual([order.id]);
    const level = (await readProduct(product.id)).stockLevels.find((each: { location: { code: string } }) => each.location.code === location.code);
    expect(level).toMatchObject({ onHand: 3, allocated: 2, available: 1 });
  });

  it("marks an order delayed when its restock is rescheduled past the promised date", async () => {
    const product = await createProduct();
    const promised = daysFromNow(3).toISOString();
    const restock = await scheduleRestock(product.id, 5, new Date(promised));
    const { order } = await placeOne(product.id, 2);
    expect(order).toMatchObject({ delayed: false, promisedAt: promised });
    const later = daysFromNow(12).toISOString();
    const { restock: moved } = await ok(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: later });
    expect(moved).toMatchObject({ id: restock.id, expectedAt: later, status: "SCHEDULED" });
    const after = await readOrder(order.id);
    expect(after).toMatchObject({ delayed: true, promisedAt: promised, expectedAt: later });
    expect(after.lines[0].backorder).toMatchObject({ delayed: true, promisedAt: promised, expectedAt: later, etaSource: "RESTOCK" });
  });

  it("keeps an order on time when its restock is rescheduled earlier", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 5, daysFromNow(8));
    const { order } = await placeOne(product.id, 2);
    const sooner = daysFromNow(2).toISOString();
    await ok(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: sooner });
    expect(await readOrder(order.id)).toMatchObject({ delayed: false, expectedAt: sooner, promisedAt: order.promisedAt });
  });

  it("cancels a restock: no longer incoming, and the backorders it dated lose their date and are delayed", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 5, daysFromNow(3));
    const { order } = await placeOne(product.id, 2);
    const { restock: cancelled } = await ok(CANCEL_RESTOCK, { id: restock.id });
    expect(cancelled).toMatchObject({ id: restock.id, status: "CANCELLED", receivedQuantity: 0 });
    expect((await readProduct(product.id)).stock).toMatchObject({ incoming: 0, nextRestockAt: null, backordered: 2 });
    const after = await readOrder(order.id);
    expect(after.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null, delayed: true, promisedAt: order.promisedAt });
    expect(after.delayed).toBe(true);
  });
});

describe("cancelling, shipping and prioritizing", () => {
  it("cancels an order and gives its released units to the oldest waiting backorder", async () => {
    const product = await createProduct({ initialStock: 1 });
    const holder = (await placeOne(product.id, 1)).order;
    const oldest = (await placeOne(product.id, 1)).order;
    const newest = (await placeOne(product.id, 1)).order;
    const { order: cancelled } = await ok(CANCEL_ORDER, { id: holder.id, reason: "changed my mind" });
    expect(cancelled).toMatchObject({ status: "CANCELLED", cancelReason: "changed my mind", lines: [{ allocated: 0, cancelled: 1, backordered: 0 }] });
    expect(await readOrder(oldest.id)).toMatchObject({
      status: "READY_TO_SHIP",
      lines: [{ allocated: 1, backordered: 0, backorder: { status: "FILLED", remaining: 0, position: null } }],
    });
    expect(await readOrder(newest.id)).toMatchObject({ status: "AWAITING_STOCK", lines: [{ backorder: { status: "WAITING", position: 1, unitsAhead: 0 } }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 1, allocated: 1, backordered: 1 });
  });

  it("cancels an order's waiting units out of the queue, moving those behind it up", async () => {
    const product = await createProduct();
    const ahead = (await placeOne(product.id, 3)).order;
    const behind = (await placeOne(product.id, 1)).order;
    const { order } = await ok(CANCEL_ORDER, { id: ahead.id });
    expect(order.lines[0]).toMatchObject({ cancelled: 3, backordered: 0, backorder: { status: "CANCELLED", remaining: 0, position: null } });
    expect((await readOrder(behind.id)).lines[0].backorder).toMatchObject({ position: 1, unitsAhead: 0 });
    expect((await readProduct(product.id)).stock.backordered).toBe(1);
  });

  it("cancels part of a line, waiting units first, and releases the allocated rest to the backlog", async () => {
    const product = await createProduct({ initialStock: 3 });
    const big = (await placeOne(product.id, 5)).order;
    const small = (await placeOne(product.id, 1)).order;
    const { order } = await ok(CANCEL_ORDER_LINE, { id: big.lines[0].id, quantity: 3 });
    expect(order).toMatchObject({ status: "READY_TO_SHIP", lines: [{ quantity: 5, allocated: 2, backordered: 0, cancelled: 3, backorder: { status: "CANCELLED" } }] });
    expect(await readOrder(small.id)).toMatchObject({ status: "READY_TO_SHIP", lines: [{ allocated: 1, backordered: 0 }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 3, allocated: 3, backordered: 0 });
  });

  it("cancels every open unit of a line when no quantity is given", async () => {
    const product = await createProduct({ initialStock: 1 });
    const { order: placed } = await placeOne(product.id, 3);
    const { order } = await ok(CANCEL_ORDER_LINE, { id: placed.lines[0].id });
    expect(order).toMatchObject({ status: "CANCELLED", lines: [{ allocated: 0, backordered: 0, cancelled: 3 }] });
  });

  it("ships the allocated units (PARTIALLY_SHIPPED), then the filled rest (SHIPPED)", async () => {
    const product = await createProduct({ initialStock: 3 });
    const { order: placed } = await placeOne(product.id, 5);
    const { order: part } = await ok(SHIP_ORDER, { id: placed.id });
    expect(part).toMatchObject({ status: "PARTIALLY_SHIPPED", lines: [{ shipped: 3, allocated: 0, backordered: 2 }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 0, allocated: 0, backordered: 2 });
    // A count that finds two units fills the waiting rest.
    await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 2, reason: "found in returns" } });
    expect((await readOrder(placed.id)).lines[0]).toMatchObject({ allocated: 2, backordered: 0 });
    const { order: done } = await ok(SHIP_ORDER, { id: placed.id });
    expect(done).toMatchObject({ status: "SHIPPED", lines: [{ shipped: 5, allocated: 0, backordered: 0 }] });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 0, allocated: 0, backordered: 0 });
  });

  it("refuses to ship an order with nothing allocated as INVALID_STATE and changes nothing", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 2);
    const before = await databaseState();
    expectRefusal(await mutation(SHIP_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to receive a cancelled restock as INVALID_STATE and changes nothing", async () => {
    const product = await createProduct();
    await placeOne(product.id, 1);
    const restock = await scheduleRestock(product.id, 4, daysFromNow(2));
    await ok(CANCEL_RESTOCK, { id: restock.id });
    const before = await databaseState();
    expectRefusal(await mutation(RECEIVE_RESTOCK, { id: restock.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to cancel an order twice as INVALID_STATE", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    await ok(CANCEL_ORDER, { id: order.id });
    const before = await databaseState();
    expectRefusal(await mutation(CANCEL_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses to cancel a shipped order, or reschedule a received restock, as INVALID_STATE", async () => {
    const product = await createProduct();
    const restock = await scheduleRestock(product.id, 1, daysFromNow(2));
    const { order } = await placeOne(product.id, 1);
    await ok(RECEIVE_RESTOCK, { id: restock.id });
    await ok(SHIP_ORDER, { id: order.id });
    const before = await databaseState();
    expectRefusal(await mutation(CANCEL_ORDER, { id: order.id }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(CANCEL_ORDER_LINE, { id: order.lines[0].id }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(RESCHEDULE_RESTOCK, { id: restock.id, expectedAt: daysFromNow(9).toISOString() }), "INVALID_STATE", ["id"]);
    expectRefusal(await mutation(CANCEL_RESTOCK, { id: restock.id }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });

  it("moves a prioritized backorder to the head of its queue, the others behind it in placement order", async () => {
    const product = await createProduct();
    const placed = [];
    for (const quantity of [1, 2, 3]) placed.push((await placeOne(product.id, quantity)).order.lines[0].backorder);
    expect(placed.map((b) => b.position)).toEqual([1, 2, 3]);
    const { backorder } = await ok(PRIORITIZE_BACKORDER, { id: placed[2].id, priority: 5 });
    expect(backorder).toMatchObject({ id: placed[2].id, priority: 5, position: 1, unitsAhead: 0 });
    const [first, second] = await Promise.all([readBackorder(placed[0].id), readBackorder(placed[1].id)]);
    expect([first.position, first.unitsAhead, second.position, second.unitsAhead]).toEqual([2, 3, 3, 4]);
  });

  it("refuses to prioritize a filled backorder as INVALID_STATE", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 1, reason: "found" } });
    const before = await databaseState();
    expectRefusal(await mutation(PRIORITIZE_BACKORDER, { id: order.lines[0].backorder.id, priority: 3 }), "INVALID_STATE", ["id"]);
    expect(await databaseState()).toEqual(before);
  });
});

describe("global ids", () => {
  it("resolves an id of every type through Query.node, and orders and products by number and SKU", async () => {
    const product = await createProduct({ initialStock: 1 });
    const restock = await scheduleRestock(product.id, 3, daysFromNow(2));
    const { order } = await placeOne(product.id, 2);
    const { locations } = await data(`{ locations { id code } }`);
    const line = order.lines[0];
    const ids = {
      Location: locations[0].id,
      Product: product.id,
      Order: order.id,
      OrderLine: line.id,
      Backorder: line.backorder.id,
      Restock: restock.id,
    };
    const result = await data(
      `query($location: ID!, $product: ID!, $order: ID!, $line: ID!, $backorder: ID!, $restock: ID!, $sku: String!, $number: String!) {
        location: node(id: $location) { __typename id ... on Location { code } }
        product: node(id: $product) { __typename id ... on Product { sku } }
        order: node(id: $order) { __typename id ... on Order { number } }
        line: node(id: $line) { __typename id ... on OrderLine { quantity order { id } } }
        backorder: node(id: $backorder) { __typename id ... on Backorder { remaining orderLine { id } } }
        restock: node(id: $restock) { __typename id ... on Restock { quantity } }
        bySku: product(sku: $sku) { id }
        byNumber: order(number: $number) { id }
      }`,
      { location: ids.Location, product: ids.Product, order: ids.Order, line: ids.OrderLine, backorder: ids.Backorder, restock: ids.Restock, sku: product.sku, number: order.number },
    );
    expect(result).toEqual({
      location: { __typename: "Location", id: ids.Location, code: locations[0].code },
      product: { __typename: "Product", id: ids.Product, sku: product.sku },
      order: { __typename: "Order", id: ids.Order, number: order.number },
      line: { __typename: "OrderLine", id: ids.OrderLine, quantity: 2, order: { id: ids.Order } },
      backorder: { __typename: "Backorder", id: ids.Backorder, remaining: 1, orderLine: { id: ids.OrderLine } },
      restock: { __typename: "Restock", id: ids.Restock, quantity: 3 },
      bySku: { id: ids.Product },
      byNumber: { id: ids.Order },
    });
  });

  it("returns null for an unknown id of every type, and for an unknown SKU and order number", async () => {
    const types = ["Location", "Product", "Order", "OrderLine", "Backorder", "Restock"] as const;
    const fields = types.map((type) => `${type}: node(id: "${toGlobalId(type, 2_000_000_000)}") { id }`).join("\n");
    const result = await data(`{ ${fields}
      malformed: node(id: "xyz") { id }
      empty: node(id: "") { id }
      sku: product(sku: "${uniqueSku("NONE")}") { id }
      number: order(number: "NO-SUCH-ORDER") { id }
      wrongType: order(id: "${toGlobalId("Product", 1)}") { id } }`);
    expect(Object.values(result).every((value) => value === null)).toBe(true);
    expect(Object.keys(result)).toHaveLength(types.length + 5);
  });
});

// ---- bad input ----

interface Fixtures {
  productId: string;
  sku: string;
  orderId: string;
  lineId: string;
  backorderId: string;
  restockId: string;
  locationId: string;
}

type Expected =
  | { userError: string; field: string[] | null }
  | { graphqlError: string; status: number };

interface BadInputCase {
  /** What the case proves. */
  name: string;
  query: string;
  variables: (fixtures: Fixtures) => Record<string, unknown>;
  expected: Expected;
}

const unknown = (type: Parameters<typeof toGlobalId>[0]) => toGlobalId(type, 2_000_000_000);
const long = (length: number) => "x".repeat(length);
const line = (f: Fixtures, quantity: unknown) => ({ customer: "bad", lines: [{ productId: f.productId, quantity }] });
const restockInput = (f: Fixtures, extra: Record<string, unknown>) => ({ input: { productId: f.productId, quantity: 1, expectedAt: daysFromNow(3).toISOString(), ...extra } });
const productInput = (extra: Record<string, unknown>) => ({ input: { sku: uniqueSku("BAD"), name: "Bad", price: "1.00", ...extra } });
const invalid = (...field: string[]): Expected => ({ userError: "INVALID_INPUT", field });
const notFound = (...field: string[]): Expected => ({ userError: "NOT_FOUND", field });
const badUserInput = (status = 400): Expected => ({ graphqlError: "BAD_USER_INPUT", status });

const BAD_INPUT: BadInputCase[] = [
  // quantities
  { name: "placeOrder refuses a line quantity of 0", query: PLACE_ORDER, variables: (f) => ({ input: line(f, 0) }), expected: invalid("input", "lines", "0", "quantity") },
  { name: "placeOrder refuses a negative line quantity", query: PLACE_ORDER, variables: (f) => ({ input: line(f, -3) }), expected: invalid("input", "lines", "0", "quantity") },
  { name: "placeOrder refuses an absurd line quantity", query: PLACE_ORDER, variables: (f) => ({ input: line(f, 1_000_001) }), expected: invalid("input", "lines", "0", "quantity") },
  { name: "placeOrder refuses a fractional quantity as BAD_USER_INPUT", query: PLACE_ORDER, variables: (f) => ({ input: line(f, 1.5) }), expected: badUserInput() },
  { name: "placeOrder refuses a quantity beyond 32 bits as BAD_USER_INPUT", query: PLACE_ORDER, variables: (f) => ({ input: line(f, 2 ** 31) }), expected: badUserInput() },
  { name: "placeOrder refuses a quantity given as a string as BAD_USER_INPUT", query: PLACE_ORDER, variables: (f) => ({ input: line(f, "2") }), expected: badUserInput() },
  { name: "scheduleRestock refuses a quantity of 0", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { quantity: 0 }), expected: invalid("input", "quantity") },
  { name: "scheduleRestock refuses a negative quantity", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { quantity: -5 }), expected: invalid("input", "quantity") },
  { name: "scheduleRestock refuses an absurd quantity", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { quantity: 1_000_001 }), expected: invalid("input", "quantity") },
  { name: "receiveRestock refuses a quantity of 0", query: RECEIVE_RESTOCK, variables: (f) => ({ id: f.restockId, quantity: 0 }), expected: invalid("quantity") },
  { name: "receiveRestock refuses a negative quantity", query: RECEIVE_RESTOCK, variables: (f) => ({ id: f.restockId, quantity: -1 }), expected: invalid("quantity") },
  { name: "receiveRestock refuses more than is outstanding", query: RECEIVE_RESTOCK, variables: (f) => ({ id: f.restockId, quantity: 6 }), expected: invalid("quantity") },
  { name: "cancelOrderLine refuses a quantity of 0", query: CANCEL_ORDER_LINE, variables: (f) => ({ id: f.lineId, quantity: 0 }), expected: invalid("quantity") },
  { name: "cancelOrderLine refuses a negative quantity", query: CANCEL_ORDER_LINE, variables: (f) => ({ id: f.lineId, quantity: -2 }), expected: invalid("quantity") },
  { name: "cancelOrderLine refuses more than is open", query: CANCEL_ORDER_LINE, variables: (f) => ({ id: f.lineId, quantity: 99 }), expected: invalid("quantity") },
  { name: "adjustStock refuses a delta of 0", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, delta: 0, reason: "nothing" } }), expected: invalid("input", "delta") },
  { name: "adjustStock refuses an absurd delta", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, delta: 1_000_001, reason: "typo" } }), expected: invalid("input", "delta") },
  { name: "adjustStock refuses a negative safety stock", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: "x", safetyStock: -1 } }), expected: invalid("input", "safetyStock") },
  { name: "createProduct refuses negative initial stock", query: CREATE_PRODUCT, variables: () => productInput({ initialStock: -1 }), expected: invalid("input", "initialStock") },
  { name: "createProduct refuses absurd initial stock", query: CREATE_PRODUCT, variables: () => productInput({ initialStock: 1_000_001 }), expected: invalid("input", "initialStock") },
  { name: "createProduct refuses a negative backorder limit", query: CREATE_PRODUCT, variables: () => productInput({ backorderLimit: -1 }), expected: invalid("input", "backorderLimit") },
  { name: "createProduct refuses a minimum order quantity of 0", query: CREATE_PRODUCT, variables: () => productInput({ minOrderQuantity: 0 }), expected: invalid("input", "minOrderQuantity") },
  { name: "createProduct refuses a maximum below the minimum", query: CREATE_PRODUCT, variables: () => productInput({ minOrderQuantity: 5, maxOrderQuantity: 2 }), expected: invalid("input", "maxOrderQuantity") },
  { name: "createProduct refuses a negative lead time", query: CREATE_PRODUCT, variables: () => productInput({ leadTimeDays: -1 }), expected: invalid("input", "leadTimeDays") },
  { name: "updateProduct refuses a minimum above the current maximum", query: UPDATE_PRODUCT, variables: (f) => ({ id: f.productId, input: { minOrderQuantity: 50 } }), expected: invalid("input", "maxOrderQuantity") },
  { name: "prioritizeBackorder refuses an absurd priority", query: PRIORITIZE_BACKORDER, variables: (f) => ({ id: f.backorderId, priority: 1_000_001 }), expected: invalid("priority") },
  { name: "createLocation refuses an absurd priority", query: CREATE_LOCATION, variables: () => ({ input: { code: uniqueSku("L"), name: "L", priority: 1_000_001 } }), expected: invalid("input", "priority") },

  // unknown ids
  { name: "placeOrder answers an unknown productId with NOT_FOUND", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ productId: unknown("Product"), quantity: 1 }] } }), expected: notFound("input", "lines", "0", "productId") },
  { name: "placeOrder answers an unknown SKU with NOT_FOUND", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ sku: uniqueSku("NONE"), quantity: 1 }] } }), expected: notFound("input", "lines", "0", "sku") },
  { name: "updateProduct answers an unknown id with NOT_FOUND", query: UPDATE_PRODUCT, variables: () => ({ id: unknown("Product"), input: { name: "x" } }), expected: notFound("id") },
  { name: "adjustStock answers an unknown product with NOT_FOUND", query: ADJUST_STOCK, variables: () => ({ input: { productId: unknown("Product"), delta: 1, reason: "x" } }), expected: notFound("input", "productId") },
  { name: "adjustStock answers an unknown location with NOT_FOUND", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, locationId: unknown("Location"), delta: 1, reason: "x" } }), expected: notFound("input", "locationId") },
  { name: "scheduleRestock answers an unknown product with NOT_FOUND", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { productId: unknown("Product") }), expected: notFound("input", "productId") },
  { name: "scheduleRestock answers an unknown location with NOT_FOUND", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { locationId: unknown("Location") }), expected: notFound("input", "locationId") },
  { name: "cancelOrder answers an unknown order with NOT_FOUND", query: CANCEL_ORDER, variables: () => ({ id: unknown("Order") }), expected: notFound("id") },
  { name: "cancelOrderLine answers an unknown line with NOT_FOUND", query: CANCEL_ORDER_LINE, variables: () => ({ id: unknown("OrderLine") }), expected: notFound("id") },
  { name: "shipOrder answers an unknown order with NOT_FOUND", query: SHIP_ORDER, variables: () => ({ id: unknown("Order") }), expected: notFound("id") },
  { name: "rescheduleRestock answers an unknown restock with NOT_FOUND", query: RESCHEDULE_RESTOCK, variables: () => ({ id: unknown("Restock"), expectedAt: daysFromNow(4).toISOString() }), expected: notFound("id") },
  { name: "receiveRestock answers an unknown restock with NOT_FOUND", query: RECEIVE_RESTOCK, variables: () => ({ id: unknown("Restock") }), expected: notFound("id") },
  { name: "cancelRestock answers an unknown restock with NOT_FOUND", query: CANCEL_RESTOCK, variables: () => ({ id: unknown("Restock") }), expected: notFound("id") },
  { name: "prioritizeBackorder answers an unknown backorder with NOT_FOUND", query: PRIORITIZE_BACKORDER, variables: () => ({ id: unknown("Backorder"), priority: 1 }), expected: notFound("id") },

  // ids of the wrong type
  { name: "cancelOrder answers a Product id with NOT_FOUND", query: CANCEL_ORDER, variables: (f) => ({ id: f.productId }), expected: notFound("id") },
  { name: "shipOrder answers an OrderLine id with NOT_FOUND", query: SHIP_ORDER, variables: (f) => ({ id: f.lineId }), expected: notFound("id") },
  { name: "cancelOrderLine answers an Order id with NOT_FOUND", query: CANCEL_ORDER_LINE, variables: (f) => ({ id: f.orderId }), expected: notFound("id") },
  { name: "receiveRestock answers a Backorder id with NOT_FOUND", query: RECEIVE_RESTOCK, variables: (f) => ({ id: f.backorderId }), expected: notFound("id") },
  { name: "prioritizeBackorder answers a Restock id with NOT_FOUND", query: PRIORITIZE_BACKORDER, variables: (f) => ({ id: f.restockId, priority: 1 }), expected: notFound("id") },
  { name: "updateProduct answers an Order id with NOT_FOUND", query: UPDATE_PRODUCT, variables: (f) => ({ id: f.orderId, input: { name: "x" } }), expected: notFound("id") },
  { name: "placeOrder answers an Order id as productId with NOT_FOUND", query: PLACE_ORDER, variables: (f) => ({ input: { customer: "bad", lines: [{ productId: f.orderId, quantity: 1 }] } }), expected: notFound("input", "lines", "0", "productId") },
  { name: "scheduleRestock answers a Product id as locationId with NOT_FOUND", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { locationId: f.productId }), expected: notFound("input", "locationId") },
  { name: "adjustStock answers a Location id as productId with NOT_FOUND", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.locationId, delta: 1, reason: "x" } }), expected: notFound("input", "productId") },

  // malformed ids
  { name: "cancelOrder refuses a malformed id as INVALID_INPUT", query: CANCEL_ORDER, variables: () => ({ id: "xyz" }), expected: invalid("id") },
  { name: "cancelOrder refuses an empty id as INVALID_INPUT", query: CANCEL_ORDER, variables: () => ({ id: "" }), expected: invalid("id") },
  { name: "shipOrder refuses a malformed id as INVALID_INPUT", query: SHIP_ORDER, variables: () => ({ id: "xyz" }), expected: invalid("id") },
  { name: "cancelRestock refuses an empty id as INVALID_INPUT", query: CANCEL_RESTOCK, variables: () => ({ id: "" }), expected: invalid("id") },
  { name: "updateProduct refuses a malformed id as INVALID_INPUT", query: UPDATE_PRODUCT, variables: () => ({ id: "xyz", input: { name: "x" } }), expected: invalid("id") },
  { name: "placeOrder refuses a malformed productId as INVALID_INPUT", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ productId: "xyz", quantity: 1 }] } }), expected: invalid("input", "lines", "0", "productId") },
  { name: "placeOrder refuses an empty productId as INVALID_INPUT", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ productId: "", quantity: 1 }] } }), expected: invalid("input", "lines", "0", "productId") },
  { name: "adjustStock refuses a malformed locationId as INVALID_INPUT", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, locationId: "xyz", delta: 1, reason: "x" } }), expected: invalid("input", "locationId") },
  { name: "an id given as an object is BAD_USER_INPUT", query: CANCEL_ORDER, variables: () => ({ id: { id: 1 } }), expected: badUserInput() },

  // dates
  { name: "scheduleRestock refuses expectedAt \"not a date\" as INVALID_INPUT", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "not a date" }), expected: invalid("input", "expectedAt") },
  { name: "scheduleRestock refuses an impossible calendar date", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "2031-02-30T10:00:00Z" }), expected: invalid("input", "expectedAt") },
  { name: "scheduleRestock refuses a date in the distant past", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "1900-01-01T00:00:00Z" }), expected: invalid("input", "expectedAt") },
  { name: "scheduleRestock refuses an empty date", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "" }), expected: invalid("input", "expectedAt") },
  { name: "scheduleRestock refuses a date given as a number as BAD_USER_INPUT", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: 1_700_000_000_000 }), expected: badUserInput() },
  { name: "scheduleRestock refuses a date-time without a zone", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "2031-03-01T10:00:00" }), expected: invalid("input", "expectedAt") },
  { name: "scheduleRestock refuses a date beyond the year 2200", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { expectedAt: "2301-01-01T00:00:00Z" }), expected: invalid("input", "expectedAt") },
  { name: "rescheduleRestock refuses expectedAt \"not a date\" as INVALID_INPUT", query: RESCHEDULE_RESTOCK, variables: (f) => ({ id: f.restockId, expectedAt: "not a date" }), expected: invalid("expectedAt") },

  // order lines
  { name: "placeOrder refuses an empty line list", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [] } }), expected: invalid("input", "lines") },
  { name: "placeOrder refuses more than 100 lines", query: PLACE_ORDER, variables: (f) => ({ input: { customer: "bad", lines: Array.from({ length: 101 }, () => ({ productId: f.productId, quantity: 1 })) } }), expected: invalid("input", "lines") },
  { name: "placeOrder refuses a line naming both productId and sku", query: PLACE_ORDER, variables: (f) => ({ input: { customer: "bad", lines: [{ productId: f.productId, sku: f.sku, quantity: 1 }] } }), expected: invalid("input", "lines", "0") },
  { name: "placeOrder refuses a line naming neither productId nor sku", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ quantity: 1 }] } }), expected: invalid("input", "lines", "0") },
  { name: "placeOrder refuses a SKU listed twice", query: PLACE_ORDER, variables: (f) => ({ input: { customer: "bad", lines: [{ sku: f.sku, quantity: 1 }, { sku: f.sku, quantity: 2 }] } }), expected: invalid("input", "lines", "1") },
  { name: "placeOrder refuses one product named by id and by SKU", query: PLACE_ORDER, variables: (f) => ({ input: { customer: "bad", lines: [{ productId: f.productId, quantity: 1 }, { sku: f.sku, quantity: 1 }] } }), expected: invalid("input", "lines", "1") },
  { name: "placeOrder refuses lines missing as BAD_USER_INPUT", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad" } }), expected: badUserInput() },

  // strings
  { name: "placeOrder refuses a customer over 200 characters", query: PLACE_ORDER, variables: (f) => ({ input: { ...line(f, 1), customer: long(201) } }), expected: invalid("input", "customer") },
  { name: "placeOrder refuses a blank customer", query: PLACE_ORDER, variables: (f) => ({ input: { ...line(f, 1), customer: "   " } }), expected: invalid("input", "customer") },
  { name: "placeOrder refuses an idempotency key over 200 characters", query: PLACE_ORDER, variables: (f) => ({ input: { ...line(f, 1), idempotencyKey: long(201) } }), expected: invalid("input", "idempotencyKey") },
  { name: "placeOrder refuses a SKU over 64 characters", query: PLACE_ORDER, variables: () => ({ input: { customer: "bad", lines: [{ sku: long(65), quantity: 1 }] } }), expected: invalid("input", "lines", "0", "sku") },
  { name: "createProduct refuses a SKU over 64 characters", query: CREATE_PRODUCT, variables: () => productInput({ sku: long(65) }), expected: invalid("input", "sku") },
  { name: "createProduct refuses a name over 200 characters", query: CREATE_PRODUCT, variables: () => productInput({ name: long(201) }), expected: invalid("input", "name") },
  { name: "createProduct refuses an empty name", query: CREATE_PRODUCT, variables: () => productInput({ name: "" }), expected: invalid("input", "name") },
  { name: "createProduct refuses a SKU with a control character", query: CREATE_PRODUCT, variables: () => productInput({ sku: "A\nB" }), expected: invalid("input", "sku") },
  { name: "createProduct refuses a currency code that is not ISO 4217", query: CREATE_PRODUCT, variables: () => productInput({ currencyCode: "usd" }), expected: invalid("input", "currencyCode") },
  { name: "updateProduct refuses an empty name", query: UPDATE_PRODUCT, variables: (f) => ({ id: f.productId, input: { name: " " } }), expected: invalid("input", "name") },
  { name: "createLocation refuses a code over 64 characters", query: CREATE_LOCATION, variables: () => ({ input: { code: long(65), name: "L" } }), expected: invalid("input", "code") },
  { name: "createLocation refuses an empty code", query: CREATE_LOCATION, variables: () => ({ input: { code: "", name: "L" } }), expected: invalid("input", "code") },
  { name: "adjustStock refuses a reason over 500 characters", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: long(501) } }), expected: invalid("input", "reason") },
  { name: "adjustStock refuses an empty reason", query: ADJUST_STOCK, variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: "" } }), expected: invalid("input", "reason") },
  { name: "cancelOrder refuses a reason over 500 characters", query: CANCEL_ORDER, variables: (f) => ({ id: f.orderId, reason: long(501) }), expected: invalid("reason") },
  { name: "scheduleRestock refuses a reference over 200 characters", query: SCHEDULE_RESTOCK, variables: (f) => restockInput(f, { reference: long(201) }), expected: invalid("input", "reference") },

  // prices and enums
  { name: "createProduct refuses a price that is not a decimal as BAD_USER_INPUT", query: CREATE_PRODUCT, variables: () => productInput({ price: "abc" }), expected: badUserInput() },
  { name: "createProduct refuses a price with three decimal places", query: CREATE_PRODUCT, variables: () => productInput({ price: "1.234" }), expected: invalid("input", "price") },
  { name: "createProduct refuses a negative price", query: CREATE_PRODUCT, variables: () => productInput({ price: "-1.00" }), expected: invalid("input", "price") },
  { name: "createProduct refuses an absurd price", query: CREATE_PRODUCT, variables: () => productInput({ price: "99999999999" }), expected: invalid("input", "price") },
  { name: "updateProduct refuses a price that is not a decimal as BAD_USER_INPUT", query: UPDATE_PRODUCT, variables: (f) => ({ id: f.productId, input: { price: "12,50" } }), expected: badUserInput() },
  { name: "createProduct refuses an unknown backorder policy as BAD_USER_INPUT", query: CREATE_PRODUCT, variables: () => productInput({ backorderPolicy: "MAYBE" }), expected: badUserInput() },
  { name: "createProduct refuses an unknown input field as BAD_USER_INPUT", query: CREATE_PRODUCT, variables: () => productInput({ colour: "red" }), expected: badUserInput() },

  // paging and malformed operations
  { name: "orders refuses first: 101 with BAD_USER_INPUT", query: `{ orders(first: 101) { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "orders refuses first: -1 with BAD_USER_INPUT", query: `{ orders(first: -1) { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "backlog refuses first: 101 with BAD_USER_INPUT", query: `{ backlog(first: 101) { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "restocks refuses first: -1 with BAD_USER_INPUT", query: `{ restocks(first: -1) { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "a product's restocks refuse first: 101 with BAD_USER_INPUT", query: `query($id: ID!) { product(id: $id) { restocks(first: 101) { totalCount } } }`, variables: (f) => ({ id: f.productId }), expected: badUserInput(200) },
  { name: "orders refuses a cursor that is not one of its own with BAD_USER_INPUT", query: `{ orders(after: "garbage") { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "orders refuses a customer filter over 200 characters with BAD_USER_INPUT", query: `query($customer: String!) { orders(filter: { customer: $customer }) { totalCount } }`, variables: () => ({ customer: long(201) }), expected: badUserInput(200) },
  { name: "backlog refuses a negative olderThanHours with BAD_USER_INPUT", query: `{ backlog(filter: { olderThanHours: -1 }) { totalCount } }`, variables: () => ({}), expected: badUserInput(200) },
  { name: "products refuses more than 100 SKUs in a filter with BAD_USER_INPUT", query: `query($skus: [String!]) { products(filter: { skus: $skus }) { totalCount } }`, variables: () => ({ skus: Array.from({ length: 101 }, (_, i) => `S-${i}`) }), expected: badUserInput(200) },
  { name: "a query with a syntax error is GRAPHQL_PARSE_FAILED with HTTP 400", query: `{ products(first: 1) { nodes { sku }`, variables: () => ({}), expected: { graphqlError: "GRAPHQL_PARSE_FAILED", status: 400 } },
  { name: "a query for an unknown field is GRAPHQL_VALIDATION_FAILED with HTTP 400", query: `{ products { nodes { sku colour } } }`, variables: () => ({}), expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 } },
  { name: "a mutation with an unknown argument is GRAPHQL_VALIDATION_FAILED with HTTP 400", query: `mutation($id: ID!) { shipOrder(id: $id, express: true) { order { id } } }`, variables: (f) => ({ id: f.orderId }), expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 } },
  { name: "a literal quantity that is not an Int is GRAPHQL_VALIDATION_FAILED with HTTP 400", query: `mutation { placeOrder(input: { customer: "c", lines: [{ sku: "S", quantity: 1.5 }] }) { order { id } } }`, variables: () => ({}), expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 } },
];

describe("bad input", () => {
  const fixtures = {} as Fixtures;

  beforeAll(async () => {
    const product = await createProduct({ initialStock: 2, maxOrderQuantity: 10 });
    const { order } = await ok(PLACE_ORDER, { input: { customer: "fixture", lines: [{ productId: product.id, quantity: 5 }] } });
    const restock = await scheduleRestock(product.id, 5, daysFromNow(4));
    const { locations } = await data(`{ locations { id } }`);
    Object.assign(fixtures, {
      productId: product.id,
      sku: product.sku,
      orderId: order.id,
      lineId: order.lines[0].id,
      backorderId: order.lines[0].backorder.id,
      restockId: restock.id,
      locationId: locations[0].id,
    } satisfies Fixtures);
  });

  for (const { name, query, variables, expected } of BAD_INPUT) {
    it(`${name}, changing nothing`, async () => {
      const before = await databaseState();
      const response = await gql(query, variables(fixtures));
      expectNoLeak(response);
      if ("userError" in expected) {
        expect(response.status, response.text).toBe(200);
        expect(response.body.errors, response.text).toBeUndefined();
        const payload = Object.values(response.body.data)[0] as Record<string, unknown>;
        expectRefusal(payload, expected.userError, expected.field);
      } else {
        expect(response.status, response.text).toBe(expected.status);
        expect(response.body.errors?.length, response.text).toBeGreaterThan(0);
        for (const error of response.body.errors!) {
          expect(error.extensions?.code, response.text).toBe(expected.graphqlError);
          expect(error.message).not.toBe("Internal server error");
        }
      }
      expect(await databaseState()).toEqual(before);
    });
  }

  it("names every offending field at once when an input has several problems", async () => {
    const before = await databaseState();
    const payload = await mutation(CREATE_PRODUCT, { input: { sku: "", name: long(201), price: "1.999", initialStock: -1 } });
    expect(payload.product).toBeNull();
    expect(payload.userErrors.map((error: UserError) => error.field)).toEqual(
      expect.arrayContaining([["input", "sku"], ["input", "name"], ["input", "price"], ["input", "initialStock"]]),
    );
    expect(payload.userErrors.every((error: UserError) => error.code === "INVALID_INPUT")).toBe(true);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a body over the size limit with HTTP 413 PAYLOAD_TOO_LARGE, changing nothing", async () => {
    const before = await databaseState();
    const response = await gql(PLACE_ORDER, { input: { customer: long(2_000_000), lines: [{ productId: fixtures.productId, quantity: 1 }] } });
    expectNoLeak(response);
    expect(response.status).toBe(413);
    expect(response.body.errors?.[0].extensions?.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a body that is not JSON with HTTP 400, without a stack", async () => {
    const response = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", ...authorizationHeader() }, body: "{ not json" });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toMatch(/at \/|\.ts:|\.js:|node_modules/);
  });
});

// ---- unexpected failures ----

/**
 * Runs `work` against a second, throwaway server whose database has lost its products table:
 * every statement on products fails inside the server, without any mock. (Not a closed
 * connection: the API key lookup comes first and would fail before any resolver runs.)
 */
async function withLostDatabase(work: (url: string, logLines: string[]) => Promise<void>): Promise<void> {
  const throwaway = await freshDatabase();
  let closed: Promise<void> | undefined;
  const closeDatabase = () => (closed ??= throwaway.close());
  const logLines: string[] = [];
  let app: App | undefined;
  try {
    app = await startTestServer(throwaway.connection, logLines);
    await throwaway.connection.raw("ALTER TABLE products RENAME TO products_lost");
    await work(app.url, logLines);
  } finally {
    await app?.close();
    await closeDatabase();
  }
}

/** `extensions` holds the query cost (server/query-limits.plugin.ts), on every response. */
const MASKED = { data: null, errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }], extensions: { cost: expect.any(Object) } };

describe("unexpected failures", () => {
  it("answers a query on a lost database as INTERNAL_SERVER_ERROR with a generic message and no stack, and logs it", async () => {
    await withLostDatabase(async (url, logLines) => {
      const response = await postGraphQL(url, `query Doomed { products(first: 1) { totalCount } }`);
      expectNoLeak(response);
      expect(response.body).toEqual(MASKED);
      const logged = logLines.map((text) => JSON.parse(text)).find((entry) => entry.msg === "unexpected error" && entry.operationName === "Doomed");
      expect(logged).toMatchObject({ level: "error", path: "products" });
      expect(logged.error.stack).toEqual(expect.any(String));
    });
  });

  it("answers a mutation on a lost database as INTERNAL_SERVER_ERROR, not as a userError", async () => {
    await withLostDatabase(async (url) => {
      const response = await postGraphQL(url, CREATE_PRODUCT, productInput({}));
      expectNoLeak(response);
      expect(response.body).toEqual(MASKED);
    });
  });
});

describeOnPostgres("racing requests over HTTP", () => {
  it("answers racing identical placeOrder requests with one order, every other one replayed", async () => {
    const product = await createProduct({ initialStock: 100 });
    const input = { customer: "race", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: uniqueSku("RACE") };
    const before = await databaseState();
    const payloads = await Promise.all(Array.from({ length: 12 }, () => ok(PLACE_ORDER, { input })));
    expect(new Set(payloads.map((payload) => payload.order.id)).size).toBe(1);
    expect(payloads.filter((payload) => !payload.replayed)).toHaveLength(1);
    expect((await databaseState()).orders).toBe(Number(before.orders) + 1);
  });

  it("answers racing creations of one SKU with one product and DUPLICATE for the rest, never an internal error", async () => {
    const sku = uniqueSku("RACE");
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => gql(CREATE_PRODUCT, { input: { sku, name: "Racer", price: "1.00" } })),
    );
    for (const response of responses) expect(response.body.errors, response.text).toBeUndefined();
    const payloads = responses.map((response) => response.body.data.createProduct);
    expect(payloads.filter((payload) => payload.product !== null)).toHaveLength(1);
    for (const payload of payloads.filter((each) => each.product === null)) expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
  });
});

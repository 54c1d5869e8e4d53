/**
 * The operations and helpers the GraphQL mutation suites (test/graphql/) share: each suite makes
 * its own database and server and binds the helpers to them with `mutationClient`.
 */
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { rows } from "../../drizzle/db.js";
import { tableCounts, uniqueSku } from "./catalogue.js";
import type { DatabaseHandle } from "./database.js";
import type { GraphQLResponse, TestServer } from "./http.js";

export const USER_ERRORS = "userErrors { code field message }";
export const BACKORDER_FIELDS = `id quantity remaining status priority position unitsAhead expectedAt etaSource promisedAt delayed createdAt filledAt
  order { id number } orderLine { id } product { id }`;
export const ORDER_FIELDS = `id number customer status delayed promisedAt expectedAt cancelReason total { amount currencyCode }
  lines { id quantity allocated backordered shipped cancelled product { id sku } backorder { ${BACKORDER_FIELDS} } }`;
export const PRODUCT_FIELDS = `id sku name price { amount currencyCode } backorderPolicy backorderLimit minOrderQuantity maxOrderQuantity leadTimeDays
  stock { onHand allocated available backordered incoming projected nextRestockAt }
  stockLevels { onHand allocated available safetyStock location { id code } }`;
export const RESTOCK_FIELDS = "id quantity receivedQuantity expectedAt status reference receivedAt product { id } location { id code }";

export const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id code name priority } ${USER_ERRORS} } }`;
export const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { ${PRODUCT_FIELDS} } ${USER_ERRORS} } }`;
export const UPDATE_PRODUCT = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { ${PRODUCT_FIELDS} } ${USER_ERRORS} } }`;
export const ADJUST_STOCK = `mutation($input: AdjustStockInput!) { adjustStock(input: $input) {
  stockLevel { onHand allocated available safetyStock location { code } product { id } } ${USER_ERRORS} } }`;
export const PLACE_ORDER = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { ${ORDER_FIELDS} } replayed ${USER_ERRORS} } }`;
export const CANCEL_ORDER = `mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
export const CANCEL_ORDER_LINE = `mutation($id: ID!, $quantity: Int) { cancelOrderLine(id: $id, quantity: $quantity) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
export const SHIP_ORDER = `mutation($id: ID!) { shipOrder(id: $id) { order { ${ORDER_FIELDS} } ${USER_ERRORS} } }`;
export const SCHEDULE_RESTOCK = `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
export const RESCHEDULE_RESTOCK = `mutation($id: ID!, $expectedAt: DateTime!) { rescheduleRestock(id: $id, expectedAt: $expectedAt) {
  restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
export const RECEIVE_RESTOCK = `mutation($id: ID!, $quantity: Int) { receiveRestock(id: $id, quantity: $quantity) {
  restock { ${RESTOCK_FIELDS} } filledBackorders { ${BACKORDER_FIELDS} } fills { backorder { id } filledUnits } ${USER_ERRORS} } }`;
export const CANCEL_RESTOCK = `mutation($id: ID!) { cancelRestock(id: $id) { restock { ${RESTOCK_FIELDS} } ${USER_ERRORS} } }`;
export const PRIORITIZE_BACKORDER = `mutation($id: ID!, $priority: Int!) { prioritizeBackorder(id: $id, priority: $priority) {
  backorder { ${BACKORDER_FIELDS} } ${USER_ERRORS} } }`;

export const ORDER_QUERY = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
export const PRODUCT_QUERY = `query($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`;
export const BACKORDER_QUERY = `query($id: ID!) { node(id: $id) { ... on Backorder { ${BACKORDER_FIELDS} } } }`;

export interface UserError {
  code: string;
  field: string[] | null;
  message: string;
}

/** A response must never show a stack, SQL or a source path (docs/ARCHITECTURE.md, "The GraphQL contract"). */
export function expectNoLeak(response: GraphQLResponse): void {
  expect(response.text).not.toMatch(/at \/|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\.ts:|\.js:|node_modules|stacktrace/);
}

/** The payload's single userError, checked for its code and field, on a payload whose object is null. */
export function expectRefusal(payload: Record<string, unknown>, code: string, field: string[] | null): UserError {
  const errors = payload.userErrors as UserError[];
  expect(errors).toEqual([{ code, field, message: expect.any(String) }]);
  expect(errors[0].message.length).toBeGreaterThan(0);
  for (const [key, value] of Object.entries(payload)) {
    if (key === "userErrors" || key === "replayed" || key === "filledBackorders" || key === "fills") continue;
    expect(value, key).toBeNull();
  }
  return errors[0];
}

// ---- the main flows ----

/** A createProduct input with a fresh SKU, price 1.00, and `extra` over it. */
export const productInput = (extra: Record<string, unknown>) => ({ input: { sku: uniqueSku("BAD"), name: "Bad", price: "1.00", ...extra } });

/** The helpers of one suite, bound to its database and server. */
export function mutationClient(database: DatabaseHandle, server: TestServer) {
  const { data } = server;

  /** Runs a mutation and returns its payload (the only root field), failing on any GraphQL error. */
  async function mutation(query: string, variables: Record<string, unknown>): Promise<any> {
    const result = await data(query, variables);
    return Object.values(result)[0];
  }

  /** Runs a mutation that must succeed: no userErrors. Returns its payload. */
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
    const digest = (table: string, order: string) => sql.raw(`(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY ${order}), '')) FROM ${table} t)`);
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

  return { mutation, ok, createProduct, placeOne, scheduleRestock, readOrder, readProduct, readBackorder, databaseState };
}

/** Bad input of every kind to every mutation, over real HTTP: a coded error that changes nothing and leaks nothing. */
import { beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { authorizationHeader, useTestServer } from "../support/http.js";
import {
  ADJUST_STOCK,
  CANCEL_ORDER,
  CANCEL_ORDER_LINE,
  CANCEL_RESTOCK,
  CREATE_LOCATION,
  CREATE_PRODUCT,
  expectNoLeak,
  expectRefusal,
  mutationClient,
  PLACE_ORDER,
  PRIORITIZE_BACKORDER,
  productInput,
  RECEIVE_RESTOCK,
  RESCHEDULE_RESTOCK,
  SCHEDULE_RESTOCK,
  SHIP_ORDER,
  UPDATE_PRODUCT,
  type UserError,
} from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { gql, data } = server;
const { mutation, ok, createProduct, scheduleRestock, databaseState } = mutationClient(database, server);

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

type Expected = { userError: string; field: string[] | null } | { graphqlError: string; status: number };

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
const restockInput = (f: Fixtures, extra: Record<string, unknown>) => ({
  input: { productId: f.productId, quantity: 1, expectedAt: daysFromNow(3).toISOString(), ...extra },
});
const invalid = (...field: string[]): Expected => ({ userError: "INVALID_INPUT", field });
const notFound = (...field: string[]): Expected => ({ userError: "NOT_FOUND", field });
const badUserInput = (status = 400): Expected => ({ graphqlError: "BAD_USER_INPUT", status });

const BAD_INPUT: BadInputCase[] = [
  // quantities
  {
    name: "placeOrder refuses a line quantity of 0",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, 0) }),
    expected: invalid("input", "lines", "0", "quantity"),
  },
  {
    name: "placeOrder refuses a negative line quantity",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, -3) }),
    expected: invalid("input", "lines", "0", "quantity"),
  },
  {
    name: "placeOrder refuses an absurd line quantity",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, 1_000_001) }),
    expected: invalid("input", "lines", "0", "quantity"),
  },
  {
    name: "placeOrder refuses a fractional quantity as BAD_USER_INPUT",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, 1.5) }),
    expected: badUserInput(),
  },
  {
    name: "placeOrder refuses a quantity beyond 32 bits as BAD_USER_INPUT",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, 2 ** 31) }),
    expected: badUserInput(),
  },
  {
    name: "placeOrder refuses a quantity given as a string as BAD_USER_INPUT",
    query: PLACE_ORDER,
    variables: (f) => ({ input: line(f, "2") }),
    expected: badUserInput(),
  },
  {
    name: "scheduleRestock refuses a quantity of 0",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { quantity: 0 }),
    expected: invalid("input", "quantity"),
  },
  {
    name: "scheduleRestock refuses a negative quantity",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { quantity: -5 }),
    expected: invalid("input", "quantity"),
  },
  {
    name: "scheduleRestock refuses an absurd quantity",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { quantity: 1_000_001 }),
    expected: invalid("input", "quantity"),
  },
  {
    name: "receiveRestock refuses a quantity of 0",
    query: RECEIVE_RESTOCK,
    variables: (f) => ({ id: f.restockId, quantity: 0 }),
    expected: invalid("quantity"),
  },
  {
    name: "receiveRestock refuses a negative quantity",
    query: RECEIVE_RESTOCK,
    variables: (f) => ({ id: f.restockId, quantity: -1 }),
    expected: invalid("quantity"),
  },
  {
    name: "receiveRestock refuses more than is outstanding",
    query: RECEIVE_RESTOCK,
    variables: (f) => ({ id: f.restockId, quantity: 6 }),
    expected: invalid("quantity"),
  },
  {
    name: "cancelOrderLine refuses a quantity of 0",
    query: CANCEL_ORDER_LINE,
    variables: (f) => ({ id: f.lineId, quantity: 0 }),
    expected: invalid("quantity"),
  },
  {
    name: "cancelOrderLine refuses a negative quantity",
    query: CANCEL_ORDER_LINE,
    variables: (f) => ({ id: f.lineId, quantity: -2 }),
    expected: invalid("quantity"),
  },
  {
    name: "cancelOrderLine refuses more than is open",
    query: CANCEL_ORDER_LINE,
    variables: (f) => ({ id: f.lineId, quantity: 99 }),
    expected: invalid("quantity"),
  },
  {
    name: "adjustStock refuses a delta of 0",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, delta: 0, reason: "nothing" } }),
    expected: invalid("input", "delta"),
  },
  {
    name: "adjustStock refuses an absurd delta",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, delta: 1_000_001, reason: "typo" } }),
    expected: invalid("input", "delta"),
  },
  {
    name: "adjustStock refuses a negative safety stock",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: "x", safetyStock: -1 } }),
    expected: invalid("input", "safetyStock"),
  },
  {
    name: "createProduct refuses negative initial stock",
    query: CREATE_PRODUCT,
    variables: () => productInput({ initialStock: -1 }),
    expected: invalid("input", "initialStock"),
  },
  {
    name: "createProduct refuses absurd initial stock",
    query: CREATE_PRODUCT,
    variables: () => productInput({ initialStock: 1_000_001 }),
    expected: invalid("input", "initialStock"),
  },
  {
    name: "createProduct refuses a negative backorder limit",
    query: CREATE_PRODUCT,
    variables: () => productInput({ backorderLimit: -1 }),
    expected: invalid("input", "backorderLimit"),
  },
  {
    name: "createProduct refuses a minimum order quantity of 0",
    query: CREATE_PRODUCT,
    variables: () => productInput({ minOrderQuantity: 0 }),
    expected: invalid("input", "minOrderQuantity"),
  },
  {
    name: "createProduct refuses a maximum below the minimum",
    query: CREATE_PRODUCT,
    variables: () => productInput({ minOrderQuantity: 5, maxOrderQuantity: 2 }),
    expected: invalid("input", "maxOrderQuantity"),
  },
  {
    name: "createProduct refuses a negative lead time",
    query: CREATE_PRODUCT,
    variables: () => productInput({ leadTimeDays: -1 }),
    expected: invalid("input", "leadTimeDays"),
  },
  {
    name: "updateProduct refuses a minimum above the current maximum",
    query: UPDATE_PRODUCT,
    variables: (f) => ({ id: f.productId, input: { minOrderQuantity: 50 } }),
    expected: invalid("input", "maxOrderQuantity"),
  },
  {
    name: "prioritizeBackorder refuses an absurd priority",
    query: PRIORITIZE_BACKORDER,
    variables: (f) => ({ id: f.backorderId, priority: 1_000_001 }),
    expected: invalid("priority"),
  },
  {
    name: "createLocation refuses an absurd priority",
    query: CREATE_LOCATION,
    variables: () => ({ input: { code: uniqueSku("L"), name: "L", priority: 1_000_001 } }),
    expected: invalid("input", "priority"),
  },

  // unknown ids
  {
    name: "placeOrder answers an unknown productId with NOT_FOUND",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ productId: unknown("Product"), quantity: 1 }] } }),
    expected: notFound("input", "lines", "0", "productId"),
  },
  {
    name: "placeOrder answers an unknown SKU with NOT_FOUND",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ sku: uniqueSku("NONE"), quantity: 1 }] } }),
    expected: notFound("input", "lines", "0", "sku"),
  },
  {
    name: "updateProduct answers an unknown id with NOT_FOUND",
    query: UPDATE_PRODUCT,
    variables: () => ({ id: unknown("Product"), input: { name: "x" } }),
    expected: notFound("id"),
  },
  {
    name: "adjustStock answers an unknown product with NOT_FOUND",
    query: ADJUST_STOCK,
    variables: () => ({ input: { productId: unknown("Product"), delta: 1, reason: "x" } }),
    expected: notFound("input", "productId"),
  },
  {
    name: "adjustStock answers an unknown location with NOT_FOUND",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, locationId: unknown("Location"), delta: 1, reason: "x" } }),
    expected: notFound("input", "locationId"),
  },
  {
    name: "scheduleRestock answers an unknown product with NOT_FOUND",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { productId: unknown("Product") }),
    expected: notFound("input", "productId"),
  },
  {
    name: "scheduleRestock answers an unknown location with NOT_FOUND",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { locationId: unknown("Location") }),
    expected: notFound("input", "locationId"),
  },
  {
    name: "cancelOrder answers an unknown order with NOT_FOUND",
    query: CANCEL_ORDER,
    variables: () => ({ id: unknown("Order") }),
    expected: notFound("id"),
  },
  {
    name: "cancelOrderLine answers an unknown line with NOT_FOUND",
    query: CANCEL_ORDER_LINE,
    variables: () => ({ id: unknown("OrderLine") }),
    expected: notFound("id"),
  },
  { name: "shipOrder answers an unknown order with NOT_FOUND", query: SHIP_ORDER, variables: () => ({ id: unknown("Order") }), expected: notFound("id") },
  {
    name: "rescheduleRestock answers an unknown restock with NOT_FOUND",
    query: RESCHEDULE_RESTOCK,
    variables: () => ({ id: unknown("Restock"), expectedAt: daysFromNow(4).toISOString() }),
    expected: notFound("id"),
  },
  {
    name: "receiveRestock answers an unknown restock with NOT_FOUND",
    query: RECEIVE_RESTOCK,
    variables: () => ({ id: unknown("Restock") }),
    expected: notFound("id"),
  },
  {
    name: "cancelRestock answers an unknown restock with NOT_FOUND",
    query: CANCEL_RESTOCK,
    variables: () => ({ id: unknown("Restock") }),
    expected: notFound("id"),
  },
  {
    name: "prioritizeBackorder answers an unknown backorder with NOT_FOUND",
    query: PRIORITIZE_BACKORDER,
    variables: () => ({ id: unknown("Backorder"), priority: 1 }),
    expected: notFound("id"),
  },

  // ids of the wrong type
  { name: "cancelOrder answers a Product id with NOT_FOUND", query: CANCEL_ORDER, variables: (f) => ({ id: f.productId }), expected: notFound("id") },
  { name: "shipOrder answers an OrderLine id with NOT_FOUND", query: SHIP_ORDER, variables: (f) => ({ id: f.lineId }), expected: notFound("id") },
  {
    name: "cancelOrderLine answers an Order id with NOT_FOUND",
    query: CANCEL_ORDER_LINE,
    variables: (f) => ({ id: f.orderId }),
    expected: notFound("id"),
  },
  {
    name: "receiveRestock answers a Backorder id with NOT_FOUND",
    query: RECEIVE_RESTOCK,
    variables: (f) => ({ id: f.backorderId }),
    expected: notFound("id"),
  },
  {
    name: "prioritizeBackorder answers a Restock id with NOT_FOUND",
    query: PRIORITIZE_BACKORDER,
    variables: (f) => ({ id: f.restockId, priority: 1 }),
    expected: notFound("id"),
  },
  {
    name: "updateProduct answers an Order id with NOT_FOUND",
    query: UPDATE_PRODUCT,
    variables: (f) => ({ id: f.orderId, input: { name: "x" } }),
    expected: notFound("id"),
  },
  {
    name: "placeOrder answers an Order id as productId with NOT_FOUND",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { customer: "bad", lines: [{ productId: f.orderId, quantity: 1 }] } }),
    expected: notFound("input", "lines", "0", "productId"),
  },
  {
    name: "scheduleRestock answers a Product id as locationId with NOT_FOUND",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { locationId: f.productId }),
    expected: notFound("input", "locationId"),
  },
  {
    name: "adjustStock answers a Location id as productId with NOT_FOUND",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.locationId, delta: 1, reason: "x" } }),
    expected: notFound("input", "productId"),
  },

  // malformed ids
  { name: "cancelOrder refuses a malformed id as INVALID_INPUT", query: CANCEL_ORDER, variables: () => ({ id: "xyz" }), expected: invalid("id") },
  { name: "cancelOrder refuses an empty id as INVALID_INPUT", query: CANCEL_ORDER, variables: () => ({ id: "" }), expected: invalid("id") },
  { name: "shipOrder refuses a malformed id as INVALID_INPUT", query: SHIP_ORDER, variables: () => ({ id: "xyz" }), expected: invalid("id") },
  { name: "cancelRestock refuses an empty id as INVALID_INPUT", query: CANCEL_RESTOCK, variables: () => ({ id: "" }), expected: invalid("id") },
  {
    name: "updateProduct refuses a malformed id as INVALID_INPUT",
    query: UPDATE_PRODUCT,
    variables: () => ({ id: "xyz", input: { name: "x" } }),
    expected: invalid("id"),
  },
  {
    name: "placeOrder refuses a malformed productId as INVALID_INPUT",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ productId: "xyz", quantity: 1 }] } }),
    expected: invalid("input", "lines", "0", "productId"),
  },
  {
    name: "placeOrder refuses an empty productId as INVALID_INPUT",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ productId: "", quantity: 1 }] } }),
    expected: invalid("input", "lines", "0", "productId"),
  },
  {
    name: "adjustStock refuses a malformed locationId as INVALID_INPUT",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, locationId: "xyz", delta: 1, reason: "x" } }),
    expected: invalid("input", "locationId"),
  },
  { name: "an id given as an object is BAD_USER_INPUT", query: CANCEL_ORDER, variables: () => ({ id: { id: 1 } }), expected: badUserInput() },

  // dates
  {
    name: 'scheduleRestock refuses expectedAt "not a date" as INVALID_INPUT',
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "not a date" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: "scheduleRestock refuses an impossible calendar date",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "2031-02-30T10:00:00Z" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: "scheduleRestock refuses a date in the distant past",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "1900-01-01T00:00:00Z" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: "scheduleRestock refuses an empty date",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: "scheduleRestock refuses a date given as a number as BAD_USER_INPUT",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: 1_700_000_000_000 }),
    expected: badUserInput(),
  },
  {
    name: "scheduleRestock refuses a date-time without a zone",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "2031-03-01T10:00:00" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: "scheduleRestock refuses a date beyond the year 2200",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { expectedAt: "2301-01-01T00:00:00Z" }),
    expected: invalid("input", "expectedAt"),
  },
  {
    name: 'rescheduleRestock refuses expectedAt "not a date" as INVALID_INPUT',
    query: RESCHEDULE_RESTOCK,
    variables: (f) => ({ id: f.restockId, expectedAt: "not a date" }),
    expected: invalid("expectedAt"),
  },

  // order lines
  {
    name: "placeOrder refuses an empty line list",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [] } }),
    expected: invalid("input", "lines"),
  },
  {
    name: "placeOrder refuses more than 100 lines",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { customer: "bad", lines: Array.from({ length: 101 }, () => ({ productId: f.productId, quantity: 1 })) } }),
    expected: invalid("input", "lines"),
  },
  {
    name: "placeOrder refuses a line naming both productId and sku",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { customer: "bad", lines: [{ productId: f.productId, sku: f.sku, quantity: 1 }] } }),
    expected: invalid("input", "lines", "0"),
  },
  {
    name: "placeOrder refuses a line naming neither productId nor sku",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ quantity: 1 }] } }),
    expected: invalid("input", "lines", "0"),
  },
  {
    name: "placeOrder refuses a SKU listed twice",
    query: PLACE_ORDER,
    variables: (f) => ({
      input: {
        customer: "bad",
        lines: [
          { sku: f.sku, quantity: 1 },
          { sku: f.sku, quantity: 2 },
        ],
      },
    }),
    expected: invalid("input", "lines", "1"),
  },
  {
    name: "placeOrder refuses one product named by id and by SKU",
    query: PLACE_ORDER,
    variables: (f) => ({
      input: {
        customer: "bad",
        lines: [
          { productId: f.productId, quantity: 1 },
          { sku: f.sku, quantity: 1 },
        ],
      },
    }),
    expected: invalid("input", "lines", "1"),
  },
  {
    name: "placeOrder refuses lines missing as BAD_USER_INPUT",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad" } }),
    expected: badUserInput(),
  },

  // strings
  {
    name: "placeOrder refuses a customer over 200 characters",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { ...line(f, 1), customer: long(201) } }),
    expected: invalid("input", "customer"),
  },
  {
    name: "placeOrder refuses a blank customer",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { ...line(f, 1), customer: "   " } }),
    expected: invalid("input", "customer"),
  },
  {
    name: "placeOrder refuses an idempotency key over 200 characters",
    query: PLACE_ORDER,
    variables: (f) => ({ input: { ...line(f, 1), idempotencyKey: long(201) } }),
    expected: invalid("input", "idempotencyKey"),
  },
  {
    name: "placeOrder refuses a SKU over 64 characters",
    query: PLACE_ORDER,
    variables: () => ({ input: { customer: "bad", lines: [{ sku: long(65), quantity: 1 }] } }),
    expected: invalid("input", "lines", "0", "sku"),
  },
  {
    name: "createProduct refuses a SKU over 64 characters",
    query: CREATE_PRODUCT,
    variables: () => productInput({ sku: long(65) }),
    expected: invalid("input", "sku"),
  },
  {
    name: "createProduct refuses a name over 200 characters",
    query: CREATE_PRODUCT,
    variables: () => productInput({ name: long(201) }),
    expected: invalid("input", "name"),
  },
  { name: "createProduct refuses an empty name", query: CREATE_PRODUCT, variables: () => productInput({ name: "" }), expected: invalid("input", "name") },
  {
    name: "createProduct refuses a SKU with a control character",
    query: CREATE_PRODUCT,
    variables: () => productInput({ sku: "A\nB" }),
    expected: invalid("input", "sku"),
  },
  {
    name: "createProduct refuses a currency code that is not ISO 4217",
    query: CREATE_PRODUCT,
    variables: () => productInput({ currencyCode: "usd" }),
    expected: invalid("input", "currencyCode"),
  },
  {
    name: "updateProduct refuses an empty name",
    query: UPDATE_PRODUCT,
    variables: (f) => ({ id: f.productId, input: { name: " " } }),
    expected: invalid("input", "name"),
  },
  {
    name: "createLocation refuses a code over 64 characters",
    query: CREATE_LOCATION,
    variables: () => ({ input: { code: long(65), name: "L" } }),
    expected: invalid("input", "code"),
  },
  {
    name: "createLocation refuses an empty code",
    query: CREATE_LOCATION,
    variables: () => ({ input: { code: "", name: "L" } }),
    expected: invalid("input", "code"),
  },
  {
    name: "adjustStock refuses a reason over 500 characters",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: long(501) } }),
    expected: invalid("input", "reason"),
  },
  {
    name: "adjustStock refuses an empty reason",
    query: ADJUST_STOCK,
    variables: (f) => ({ input: { productId: f.productId, delta: 1, reason: "" } }),
    expected: invalid("input", "reason"),
  },
  {
    name: "cancelOrder refuses a reason over 500 characters",
    query: CANCEL_ORDER,
    variables: (f) => ({ id: f.orderId, reason: long(501) }),
    expected: invalid("reason"),
  },
  {
    name: "scheduleRestock refuses a reference over 200 characters",
    query: SCHEDULE_RESTOCK,
    variables: (f) => restockInput(f, { reference: long(201) }),
    expected: invalid("input", "reference"),
  },

  // prices and enums
  {
    name: "createProduct refuses a price that is not a decimal as BAD_USER_INPUT",
    query: CREATE_PRODUCT,
    variables: () => productInput({ price: "abc" }),
    expected: badUserInput(),
  },
  {
    name: "createProduct refuses a price with three decimal places",
    query: CREATE_PRODUCT,
    variables: () => productInput({ price: "1.234" }),
    expected: invalid("input", "price"),
  },
  {
    name: "createProduct refuses a negative price",
    query: CREATE_PRODUCT,
    variables: () => productInput({ price: "-1.00" }),
    expected: invalid("input", "price"),
  },
  {
    name: "createProduct refuses an absurd price",
    query: CREATE_PRODUCT,
    variables: () => productInput({ price: "99999999999" }),
    expected: invalid("input", "price"),
  },
  {
    name: "updateProduct refuses a price that is not a decimal as BAD_USER_INPUT",
    query: UPDATE_PRODUCT,
    variables: (f) => ({ id: f.productId, input: { price: "12,50" } }),
    expected: badUserInput(),
  },
  {
    name: "createProduct refuses an unknown backorder policy as BAD_USER_INPUT",
    query: CREATE_PRODUCT,
    variables: () => productInput({ backorderPolicy: "MAYBE" }),
    expected: badUserInput(),
  },
  {
    name: "createProduct refuses an unknown input field as BAD_USER_INPUT",
    query: CREATE_PRODUCT,
    variables: () => productInput({ colour: "red" }),
    expected: badUserInput(),
  },

  // paging and malformed operations
  {
    name: "orders refuses first: 101 with BAD_USER_INPUT",
    query: `{ orders(first: 101) { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "orders refuses first: -1 with BAD_USER_INPUT",
    query: `{ orders(first: -1) { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "backlog refuses first: 101 with BAD_USER_INPUT",
    query: `{ backlog(first: 101) { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "restocks refuses first: -1 with BAD_USER_INPUT",
    query: `{ restocks(first: -1) { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "a product's restocks refuse first: 101 with BAD_USER_INPUT",
    query: `query($id: ID!) { product(id: $id) { restocks(first: 101) { totalCount } } }`,
    variables: (f) => ({ id: f.productId }),
    expected: badUserInput(200),
  },
  {
    name: "orders refuses a cursor that is not one of its own with BAD_USER_INPUT",
    query: `{ orders(after: "garbage") { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "orders refuses a customer filter over 200 characters with BAD_USER_INPUT",
    query: `query($customer: String!) { orders(filter: { customer: $customer }) { totalCount } }`,
    variables: () => ({ customer: long(201) }),
    expected: badUserInput(200),
  },
  {
    name: "backlog refuses a negative olderThanHours with BAD_USER_INPUT",
    query: `{ backlog(filter: { olderThanHours: -1 }) { totalCount } }`,
    variables: () => ({}),
    expected: badUserInput(200),
  },
  {
    name: "products refuses more than 100 SKUs in a filter with BAD_USER_INPUT",
    query: `query($skus: [String!]) { products(filter: { skus: $skus }) { totalCount } }`,
    variables: () => ({ skus: Array.from({ length: 101 }, (_, i) => `S-${i}`) }),
    expected: badUserInput(200),
  },
  {
    name: "a query with a syntax error is GRAPHQL_PARSE_FAILED with HTTP 400",
    query: `{ products(first: 1) { nodes { sku }`,
    variables: () => ({}),
    expected: { graphqlError: "GRAPHQL_PARSE_FAILED", status: 400 },
  },
  {
    name: "a query for an unknown field is GRAPHQL_VALIDATION_FAILED with HTTP 400",
    query: `{ products { nodes { sku colour } } }`,
    variables: () => ({}),
    expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 },
  },
  {
    name: "a mutation with an unknown argument is GRAPHQL_VALIDATION_FAILED with HTTP 400",
    query: `mutation($id: ID!) { shipOrder(id: $id, express: true) { order { id } } }`,
    variables: (f) => ({ id: f.orderId }),
    expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 },
  },
  {
    name: "a literal quantity that is not an Int is GRAPHQL_VALIDATION_FAILED with HTTP 400",
    query: `mutation { placeOrder(input: { customer: "c", lines: [{ sku: "S", quantity: 1.5 }] }) { order { id } } }`,
    variables: () => ({}),
    expected: { graphqlError: "GRAPHQL_VALIDATION_FAILED", status: 400 },
  },
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
      expect.arrayContaining([
        ["input", "sku"],
        ["input", "name"],
        ["input", "price"],
        ["input", "initialStock"],
      ]),
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
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...authorizationHeader() },
      body: "{ not json",
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toMatch(/at \/|\.ts:|\.js:|node_modules/);
  });
});

/**
 * The query cost calculator (server/graphql/limits/query-cost.ts) against the real schema, without a server:
 * depth and cost of queries as partners write them, connections with and without `first`,
 * variables, fragments, unions of types, directives, introspection, and the actual cost counted
 * from a response. Also the per-role limits' configuration (server/graphql/limits/query-limits.ts).
 */
import { getIntrospectionQuery, getOperationAST, type GraphQLSchema, parse, validate } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { buildGraphQLSchema } from "../../server/graphql/build-schema.js";
import {
  BOUNDED_COUNT_COST,
  countReturnedObjects,
  COUNTER_COUNT_COST,
  MAX_LOCATIONS,
  MAX_USER_ERRORS,
  measureOperation,
  type OperationCost,
  ROWS_PER_POINT,
} from "../../server/graphql/limits/query-cost.js";
import { LIMITS } from "../../server/services/validation.js";
import { DEFAULT_QUERY_LIMITS, limitError, parseQueryLimits, prepareSubscription, resolveQueryLimits } from "../../server/graphql/limits/query-limits.js";
import { COUNT_BOUND, DEFAULT_PAGE_SIZE } from "../../drizzle/paging.js";

let schema: GraphQLSchema;

beforeAll(async () => {
  schema = await buildGraphQLSchema();
});

/** Depth and cost of a document that must be valid (the calculator runs after validation). */
function measure(query: string, variables: Record<string, unknown> = {}, operationName?: string): OperationCost {
  const document = parse(query);
  const errors = validate(schema, document);
  expect(errors.map(String)).toEqual([]);
  const operation = getOperationAST(document, operationName);
  if (!operation) throw new Error("no operation");
  return measureOperation(schema, document, operation, variables);
}

/** products(first: n) → backlog(first: n) → order → lines: what partners' dashboards ask. */
const NESTED = `query($n: Int) { products(first: $n) { nodes { backlog(first: $n) { nodes { order { lines { id } } } } } } }`;
/** 1 (products) + n × (1 product + 1 backlog + n × (1 backorder + 1 order + 100 lines)). */
const nestedCost = (n: number) => 1 + n * (2 + n * (2 + LIMITS.lines));

describe("cost", () => {
  it("counts nothing for scalars and enums", () => {
    expect(measure("{ eventCursor }").cost).toBe(0);
  });

  it("counts one point for an object and nothing for its scalars", () => {
    expect(measure('{ product(sku: "A") { id sku name backorderPolicy } }').cost).toBe(1);
    expect(measure('{ product(sku: "A") { id price { amount } stock { onHand } } }').cost).toBe(3);
  });

  it("multiplies a connection's nodes and edges by first, and counts pageInfo once", () => {
    expect(measure("{ products(first: 10) { pageInfo { hasNextPage } } }").cost).toBe(2);
    expect(measure("{ products(first: 10) { nodes { id } } }").cost).toBe(11);
    expect(measure("{ products(first: 10) { edges { cursor node { id } } pageInfo { hasNextPage } } }").cost).toBe(1 + 10 * 2 + 1);
  });

  it("sizes a connection without first (or with first: null) at the API's default page", () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    expect(measure("{ products { nodes { id } } }").cost).toBe(21);
    expect(measure("{ products(first: null) { nodes { id } } }").cost).toBe(21);
  });

  it("reads first from the variables, then from the variable's default, then the API's default", () => {
    const query = "query($n: Int = 5) { products(first: $n) { nodes { id } } }";
    expect(measure(query, { n: 50 }).cost).toBe(51);
    expect(measure(query).cost).toBe(6);
    expect(measure("query($n: Int) { products(first: $n) { nodes { id } } }").cost).toBe(21);
  });

  it("counts a first above the largest page (refused by the resolver) as the largest page, and a negative one as 0", () => {
    expect(measure("{ products(first: 5000) { nodes { id } } }").cost).toBe(101);
    expect(measure("{ products(first: -3) { nodes { id } } }").cost).toBe(1);
  });

  it("counts a list that takes no first at its true maximum: 100 order lines, one stock level per location", () => {
    expect(LIMITS.lines).toBe(100);
    expect(measure("{ locations { id } }").cost).toBe(MAX_LOCATIONS);
    expect(measure('{ order(number: "BO-1") { lines { product { stockLevels { location { id } } } } } }').cost).toBe(
      1 + 100 * (1 + 1 + MAX_LOCATIONS * 2),
    );
    expect(measure('mutation { receiveRestock(id: "x") { filledBackorders { id } restock { id } } }').cost).toBe(1 + 100 + 1);
  });

  it("multiplies nested lists: an order's lines' order's lines is 100 × 100 lines (the amplification of issue 10)", () => {
    const query = `{ orders(first: 1, filter: { productId: "x" }) { nodes { lines { order { lines { order { lines { quantity } } } } } } } }`;
    // What 100-line orders return: 1,020,202 objects.
    expect(measure(query).cost).toBe(1 + 1 * (1 + 100 * (1 + 1 + 100 * (1 + 1 + 100))));
    expect(measure(query).cost).toBe(1_020_202);
  });

  it("computes the products → backlog → order → lines query at first 3, 10 and 100", () => {
    expect(measure(NESTED, { n: 3 }).cost).toBe(nestedCost(3));
    expect(nestedCost(3)).toBe(925);
    expect(measure(NESTED, { n: 10 }).cost).toBe(10_221);
    expect(measure(NESTED, { n: 100 }).cost).toBe(1_020_201);
  });

  it("counts a nested connection with its own first inside the outer one", () => {
    expect(measure("{ products(first: 3) { nodes { restocks(first: 4) { nodes { id } } } } }").cost).toBe(1 + 3 * (1 + 1 + 4));
  });

  it("counts fragments and inline fragments where they are spread", () => {
    const query = `{ products(first: 2) { nodes { ...P } } }
      fragment P on Product { stock { onHand } ... on Product { price { amount } } }`;
    expect(measure(query).cost).toBe(1 + 2 * 3);
  });

  it("counts the most expensive type behind an interface", () => {
    const query = `{ node(id: "x") { id ... on Product { backlog(first: 5) { nodes { id } } } ... on Order { lines { id } } } }`;
    // Product: backlog 1 + 5; Order: lines 100: the order wins.
    expect(measure(query).cost).toBe(1 + 100);
  });

  it("counts every alias of a field separately", () => {
    expect(measure('{ a: product(sku: "A") { id } b: product(sku: "B") { id } }').cost).toBe(2);
  });

  it("leaves out what @skip and @include leave out, with variables", () => {
    const query = "query($yes: Boolean!) { locations @include(if: $yes) { id } products(first: 1) @skip(if: true) { nodes { id } } }";
    expect(measure(query, { yes: true }).cost).toBe(MAX_LOCATIONS);
    expect(measure(query, { yes: false }).cost).toBe(0);
  });

  it("counts a mutation's payload like a query", () => {
    expect(measure('mutation { shipOrder(id: "x") { order { lines { id } } userErrors { code } } }').cost).toBe(1 + 1 + 100 + MAX_USER_ERRORS);
  });

  it("counts one event of a subscription", () => {
    expect(measure("subscription { stockChanged { product { id } stock { onHand } } }").cost).toBe(3);
  });

  it("measures the operation named, not the others in the document", () => {
    const query = "query Small { locations { id } } query Big { products(first: 100) { nodes { id } } }";
    expect(measure(query, {}, "Small").cost).toBe(MAX_LOCATIONS);
    expect(measure(query, {}, "Big").cost).toBe(101);
  });

  it("measures a fragment that spreads others many times in linear time (no exponential blow-up)", () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Product { ...F${i + 1} ...F${i + 1} }`).join(" ");
    const document = parse(`{ product(sku: "A") { ...F0 } } ${fragments} fragment F40 on Product { stock { onHand } }`);
    const started = performance.now();
    const measured = measureOperation(schema, document, getOperationAST(document)!, {});
    expect(performance.now() - started).toBeLessThan(500);
    expect(measured.cost).toBe(1 + 2 ** 40);
    expect(measured.depth).toBe(3);
  });
});

describe("cost of totalCount", () => {
  const BOUNDED = BOUNDED_COUNT_COST;

  it("prices a bounded count at its bound's share, the same ratio of rows to points everywhere", () => {
    expect(COUNT_BOUND).toBe(10_000);
    expect(BOUNDED).toBe(COUNT_BOUND / ROWS_PER_POINT);
    expect(COUNTER_COUNT_COST).toBe(1);
    for (const list of ["products", "restocks", "apiKeys"]) {
      expect(measure(`{ ${list}(first: 0) { totalCount } }`).cost, list).toBe(1 + BOUNDED);
    }
  });

  it("charges orders' totalCount 1 when the filter is statuses and a product at most, else the bounded price", () => {
    expect(measure("{ orders { totalCount } }").cost).toBe(1 + 1);
    expect(measure('{ orders(filter: { status: [SHIPPED, CANCELLED], productId: "x" }) { totalCount } }').cost).toBe(1 + 1);
    expect(measure('{ orders(filter: { customer: "c" }) { totalCount } }').cost).toBe(1 + BOUNDED);
    expect(measure("{ orders(filter: { status: [SHIPPED], delayed: true }) { totalCount } }").cost).toBe(1 + BOUNDED);
    // A field set to null is not a filter.
    expect(measure('{ orders(filter: { customer: null, productId: "x" }) { totalCount } }').cost).toBe(1 + 1);
  });

  it("reads the filter's shape from the variables, whole or field by field, and from a variable's default", () => {
    const whole = "query($f: OrderFilter) { orders(filter: $f) { totalCount } }";
    expect(measure(whole, { f: { status: ["SHIPPED"] } }).cost).toBe(2);
    expect(measure(whole, { f: { status: ["SHIPPED"], customer: "c" } }).cost).toBe(1 + BOUNDED);
    expect(measure(whole, { f: { customer: null } }).cost).toBe(2);
    expect(measure(whole).cost).toBe(2);
    const byField = "query($c: String, $p: ID) { orders(filter: { customer: $c, productId: $p }) { totalCount } }";
    expect(measure(byField, { p: "x" }).cost).toBe(2);
    expect(measure(byField, { c: "c", p: "x" }).cost).toBe(1 + BOUNDED);
    const withDefault = "query($f: OrderFilter = { delayed: true }) { orders(filter: $f) { totalCount } }";
    expect(measure(withDefault).cost).toBe(1 + BOUNDED);
    expect(measure(withDefault, { f: { productId: "x" } }).cost).toBe(2);
  });

  it("charges a backlog's count 1 when it is one product's whole queue (Product.backlog always), else the bounded price", () => {
    expect(measure('{ backlog(filter: { productId: "x" }) { totalCount } }').cost).toBe(2);
    expect(measure('{ backlog(filter: { productId: "x", delayed: true }) { totalCount } }').cost).toBe(1 + BOUNDED);
    expect(measure("{ backlog(filter: { olderThanHours: 2 }) { totalCount } }").cost).toBe(1 + BOUNDED);
    expect(measure("{ backlog { totalCount } }").cost).toBe(1 + BOUNDED);
    expect(measure("{ products(first: 10) { nodes { backlog(first: 0) { totalCount } } } }").cost).toBe(1 + 10 * (1 + 1 + 1));
  });

  it("charges one count for totalCount and totalCountPrecision together, or either alone, through fragments", () => {
    expect(measure('{ orders(filter: { customer: "c" }) { totalCountPrecision } }').cost).toBe(1 + BOUNDED);
    expect(measure('{ orders(filter: { customer: "c" }) { totalCount totalCountPrecision n: totalCount } }').cost).toBe(1 + BOUNDED);
    const fragment = '{ orders(filter: { customer: "c" }) { ...Total } } fragment Total on OrderConnection { totalCount }';
    expect(measure(fragment).cost).toBe(1 + BOUNDED);
    expect(measure('query($no: Boolean!) { orders(filter: { customer: "c" }) { totalCount @include(if: $no) } }', { no: false }).cost).toBe(1);
    expect(measure('{ orders(filter: { customer: "c" }) { pageInfo { hasNextPage } } }').cost).toBe(2);
  });

  it("multiplies a nested count by the connections that run it, and reports what counting costs", () => {
    const measured = measure("{ products(first: 10) { totalCount nodes { restocks(first: 0) { totalCount } } } }");
    expect(measured.cost).toBe(1 + BOUNDED + 10 * (1 + 1 + BOUNDED));
    expect(measured.countCost).toBe(BOUNDED + 10 * BOUNDED);
  });

  it("keeps the dashboard's batch of 100 per-product delayed counts within the 5,000-point request limit", () => {
    const fields = Array.from({ length: 100 }, (_, i) => `p${i}: backlog(filter: { productId: "x${i}", delayed: true }, first: 0) { totalCount }`);
    expect(measure(`{ ${fields.join(" ")} }`).cost).toBe(100 * (1 + BOUNDED));
    expect(100 * (1 + BOUNDED)).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.maxCost);
  });
});

describe("depth", () => {
  it("counts every level of fields, the leaf included", () => {
    expect(measure("{ eventCursor }").depth).toBe(1);
    expect(measure("{ products { nodes { id } } }").depth).toBe(3);
    expect(measure(NESTED).depth).toBe(7);
  });

  it("expands fragments and takes the deepest branch", () => {
    const query = `{ node(id: "x") { ... on Order { lines { product { stock { onHand } } } } ...B } }
      fragment B on Backorder { id }`;
    expect(measure(query).depth).toBe(5);
  });

  it("counts introspection's type references (ofType) as no level: the standard introspection query is 6 deep", () => {
    const measured = measure(
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }),
    );
    expect(measured.depth).toBe(6);
    expect(measured.depth).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.maxDepth);
  });
});

describe("introspection", () => {
  it("costs one point per object field selected, its lists not multiplied: the standard query costs 17", () => {
    const measured = measure(getIntrospectionQuery());
    expect(measured.cost).toBe(17);
    expect(measured.introspectionCost).toBe(17);
    expect(measured.introspectionKeys).toEqual(["__schema"]);
  });

  it("names the introspection fields' response keys, aliases and fragments included", () => {
    const measured = measure(`{ s: __schema { queryType { name } } ...T locations { id } } fragment T on Query { __type(name: "Product") { name } }`);
    expect(measured.introspectionKeys).toEqual(["s", "__type"]);
    expect(measured.introspectionCost).toBe(3);
    expect(measured.cost).toBe(3 + MAX_LOCATIONS);
  });
});

describe("actual cost of a response", () => {
  it("counts the objects returned, lists as long as they came back, the root left out", () => {
    const data = {
      products: {
        nodes: [
          { id: "1", price: { amount: "1" } },
          { id: "2", price: { amount: "2" } },
        ],
        pageInfo: { hasNextPage: false },
      },
    };
    expect(countReturnedObjects(data)).toBe(1 + 2 * 2 + 1);
  });

  it("counts nothing for nulls and scalars, and leaves out the keys it is told to", () => {
    expect(countReturnedObjects({ product: null, eventCursor: "abc" })).toBe(0);
    expect(countReturnedObjects({ __schema: { types: [{}, {}] }, locations: [{ id: 1 }] }, ["__schema"])).toBe(1);
    expect(countReturnedObjects(undefined)).toBe(0);
  });

  it("walks a response nested deeper than recursion could", () => {
    let data: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 50_000; i += 1) data = { next: data };
    expect(countReturnedObjects({ root: data })).toBe(50_001);
  });
});

describe("limits per role", () => {
  it("has defaults for every role, the caller without a key smallest", () => {
    expect(DEFAULT_QUERY_LIMITS.ADMIN).toMatchObject({
      maxDepth: 12,
      maxCost: 5_000,
      capacity: 20_000,
      refillPerSecond: 2_000,
      minimumCost: 1,
      maxObjects: 50_000,
    });
    expect(DEFAULT_QUERY_LIMITS.READER).toMatchObject({ maxDepth: 12, maxCost: 5_000, capacity: 5_000, refillPerSecond: 250, maxConnectionsPerKey: 10 });
    for (const role of ["ADMIN", "OPERATOR", "STOREFRONT", "READER"] as const) {
      expect(DEFAULT_QUERY_LIMITS.ANONYMOUS.capacity).toBeLessThan(DEFAULT_QUERY_LIMITS[role].capacity);
      expect(DEFAULT_QUERY_LIMITS.ANONYMOUS.refillPerSecond).toBeLessThan(DEFAULT_QUERY_LIMITS[role].refillPerSecond);
    }
  });

  it("overrides only what is given", () => {
    const limits = resolveQueryLimits({ READER: { capacity: 100 } });
    expect(limits.READER).toEqual({ ...DEFAULT_QUERY_LIMITS.READER, capacity: 100 });
    expect(limits.ADMIN).toEqual(DEFAULT_QUERY_LIMITS.ADMIN);
  });

  it("reads QUERY_LIMITS as JSON and refuses a malformed value with the variable's name", () => {
    expect(parseQueryLimits(undefined)).toBe(DEFAULT_QUERY_LIMITS);
    expect(parseQueryLimits(" ")).toBe(DEFAULT_QUERY_LIMITS);
    expect(parseQueryLimits('{"STOREFRONT":{"refillPerSecond":50}}').STOREFRONT.refillPerSecond).toBe(50);
    expect(() => parseQueryLimits("{READER")).toThrow(/QUERY_LIMITS must be JSON/);
    expect(() => parseQueryLimits('{"GUEST":{"capacity":1}}')).toThrow(/QUERY_LIMITS: unknown role "GUEST"/);
    expect(() => parseQueryLimits('{"READER":{"burst":1}}')).toThrow(/unknown limit "burst"/);
    expect(() => parseQueryLimits('{"READER":{"capacity":0}}')).toThrow(/READER.capacity must be a positive number/);
    expect(() => parseQueryLimits('{"READER":5}')).toThrow(/QUERY_LIMITS/);
  });

  it("refuses too deep before too costly, with the limit and the computed value", () => {
    const limits = DEFAULT_QUERY_LIMITS.READER;
    expect(
      limitError({ depth: 13, cost: 99_999, introspectionCost: 0, introspectionKeys: [], countCost: 0, workCost: 0 }, "READER", limits)?.extensions,
    ).toEqual({
      code: "QUERY_TOO_DEEP",
      depth: 13,
      maxDepth: 12,
    });
    expect(
      limitError({ depth: 12, cost: 5_001, introspectionCost: 0, introspectionKeys: [], countCost: 0, workCost: 0 }, "READER", limits)?.extensions,
    ).toEqual({
      code: "QUERY_TOO_COSTLY",
      cost: 5_001,
      maxCost: 5_000,
    });
    expect(
      limitError({ depth: 12, cost: 5_000, introspectionCost: 0, introspectionKeys: [], countCost: 0, workCost: 0 }, "READER", limits),
    ).toBeUndefined();
  });

  it("never lets one request cost more than its bucket holds", () => {
    const limits = { ...DEFAULT_QUERY_LIMITS.READER, maxDepth: 12, maxCost: 5_000, capacity: 300, refillPerSecond: 10 };
    expect(
      limitError({ depth: 1, cost: 301, introspectionCost: 0, introspectionKeys: [], countCost: 0, workCost: 0 }, "READER", limits)?.extensions,
    ).toMatchObject({
      maxCost: 300,
    });
  });
});

describe("subscriptions (graphql-ws onSubscribe)", () => {
  const caller = { bucket: "key:1", role: "READER" as const };

  it("returns the execution arguments of a subscription within the limits", () => {
    const prepared = prepareSubscription(
      schema,
      { query: "subscription($p: [ID!]) { stockChanged(productIds: $p) { cursor } }", variables: { p: ["x"] } },
      caller,
      DEFAULT_QUERY_LIMITS,
    );
    expect(Array.isArray(prepared)).toBe(false);
    expect(prepared).toMatchObject({ variableValues: { p: ["x"] } });
  });

  it("refuses a subscription over the cost limit with QUERY_TOO_COSTLY", () => {
    const query =
      "subscription { stockChanged { product { backlog(first: 100) { nodes { order { lines { product { stockLevels { location { id } } } } } } } } } }";
    const prepared = prepareSubscription(schema, { query }, caller, DEFAULT_QUERY_LIMITS);
    expect(Array.isArray(prepared) && prepared[0].extensions.code).toBe("QUERY_TOO_COSTLY");
  });

  it("answers a syntax error and an invalid document with errors, not by closing the connection", () => {
    const syntax = prepareSubscription(schema, { query: "subscription {" }, caller, DEFAULT_QUERY_LIMITS);
    expect(Array.isArray(syntax) && syntax[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    const invalid = prepareSubscription(schema, { query: "subscription { nothing }" }, caller, DEFAULT_QUERY_LIMITS);
    expect(Array.isArray(invalid) && invalid.length).toBe(1);
  });
});

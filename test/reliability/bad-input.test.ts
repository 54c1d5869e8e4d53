/**
 * The bad-input corpus (issue 4, item 6), sent over real HTTP to a server on port 0: every
 * argument of every mutation and query with numbers that are zero, negative, fractional, huge or
 * not numbers; unknown, malformed and wrong-type ids; invalid dates; empty, duplicated and too many
 * order lines; oversized strings and pages; control characters, NUL and lone surrogates; queries
 * too deep, too wide or too long; malformed JSON, wrong content types and encodings, empty bodies,
 * GET mutations, batches, subscriptions over HTTP, prototype-polluting keys, huge variables and
 * headers.
 *
 * Each case must get a coded answer (userErrors with a code, HTTP 200, for a business refusal; a
 * GraphQL error with `extensions.code` and a 4xx for a malformed request), never an internal error,
 * and never a stack, SQL or file path in the body. At the end the database is exactly as before
 * (row counts and a digest of every quantity, status and date), the audit is clean, and the
 * server logged no unexpected error. Valid Unicode, last, is stored and read back unchanged.
 */
import { gzipSync } from "node:zlib";
import { sql } from "drizzle-orm";
import { getIntrospectionQuery, parse, validate } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, rows } from "../../drizzle/db.js";
import { type App, createApp } from "../../server/http/app.js";
import { createLogger } from "../../server/logger.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { DEFAULT_QUERY_LIMITS } from "../../server/graphql/limits/query-limits.js";
import { REQUEST_LIMITS, requestLimitsRule } from "../../server/graphql/limits/request-guards.js";
import { placeOrder } from "../../server/services/order.service.js";
import { createLocation } from "../../server/services/location.service.js";
import { scheduleRestock } from "../../server/services/restock.service.js";
import { expectCleanAudit } from "../support/audit.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { collect } from "../support/live.js";

const database = useFreshDatabase();
/** Every request carries this ADMIN key: the corpus is about input, not access (issue 5 tests that). */
const ADMIN_KEY = `corpus-${"ab12".repeat(8)}`;
let app: App;
const logLines: string[] = [];

/** Global ids of the fixture every case aims at: all valid, so only the bad value is wrong. */
const ids = { product: "", otherProduct: "", location: "", order: "", line: "", backorder: "", restock: "" };
let productCursor = "";
let before: Record<string, string | number>;

beforeAll(async () => {
  const { db } = database;
  app = await createApp({
    port: 0,
    connection: database.connection,
    migrate: false,
    delaySweepMs: 0,
    live: { pollMs: 3_600_000 },
    bootstrapAdminKey: ADMIN_KEY,
    logger: createLogger({ level: "info", write: (line) => logLines.push(line) }),
  });
  const location = await createLocation(db, { code: "BAD-EAST", name: "East", priority: 10 });
  const product = await newProduct(db, { initialStock: 2 });
  const other = await newProduct(db, { backorderPolicy: "DENY", initialStock: 1 });
  const { order } = await placeOrder(db, { customer: "corpus", lines: [{ productId: product.id, quantity: 5 }] });
  const restock = await scheduleRestock(db, { productId: product.id, quantity: 2, expectedAt: new Date("2031-01-01T00:00:00Z") });
  const [line] = await rows<{ id: number }>(db, sql`SELECT id FROM order_lines WHERE order_id = ${order.id}`);
  const [backorder] = await rows<{ id: number }>(db, sql`SELECT id FROM backorders WHERE order_id = ${order.id}`);
  Object.assign(ids, {
    product: toGlobalId("Product", product.id),
    otherProduct: toGlobalId("Product", other.id),
    location: toGlobalId("Location", location.id),
    order: toGlobalId("Order", order.id),
    line: toGlobalId("OrderLine", Number(line.id)),
    backorder: toGlobalId("Backorder", Number(backorder.id)),
    restock: toGlobalId("Restock", restock.id),
  });
  const page = await post({ query: "{ products(first: 1) { pageInfo { endCursor } } }" });
  productCursor = page.body?.data?.products?.pageInfo?.endCursor;
  before = await snapshot(db);
});

afterAll(async () => {
  await app?.close();
});

// ---- talking to the server ----

interface Reply {
  status: number;
  text: string;
  body: any;
}

async function send(init: RequestInit & { path?: string }): Promise<Reply> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${ADMIN_KEY}`);
  const response = await fetch(app.url + (init.path ?? ""), { ...init, headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body };
}

const JSON_HEADERS = { "content-type": "application/json" };

function post(payload: unknown, headers: Record<string, string> = JSON_HEADERS): Promise<Reply> {
  const body = typeof payload === "string" || payload instanceof Uint8Array ? payload : JSON.stringify(payload);
  return send({ method: "POST", headers, body: body as RequestInit["body"] });
}

/** Every code in the answer: GraphQL errors' `extensions.code` and every `userErrors[].code` in `data`. */
function codesOf(reply: Reply): string[] {
  const codes: string[] = (reply.body?.errors ?? []).map((error: { extensions?: { code?: string } }) => String(error.extensions?.code));
  const pending: unknown[] = [reply.body?.data];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) pending.push(...value);
    else if (value && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        if (key === "userErrors" && Array.isArray(item)) codes.push(...item.map((error: { code: string }) => error.code));
        else pending.push(item);
      }
    }
  }
  return codes;
}

/** What no answer may show: stack frames, source paths, SQL, driver or database internals. */
const LEAKS: [string, RegExp][] = [
  ["a stack frame", /\bat [\w.<>]+ \(|:\d+:\d+\)|"stacktrace"/],
  ["a file path", /\/work\/|node_modules|\/home\/|\.[cm]?[jt]s:\d+/],
  ["SQL", /\b(select|insert into|update|delete from)\b[^"]{0,80}\b(from|set|values|where)\b|failed query|syntax error at or near/i],
  ["database internals", /violates|constraint|sqlstate|relation "|pg_|pglite|drizzle|postgres/i],
];

function expectNoLeak(reply: Reply): void {
  for (const [what, pattern] of LEAKS) expect(pattern.test(reply.text), `the answer shows ${what}: ${reply.text.slice(0, 300)}`).toBe(false);
}

interface Expected {
  /** Acceptable HTTP statuses. */
  status: number[];
  /** Acceptable codes; the answer must carry at least one code and no other. Empty: no code (a plain null). */
  codes: string[];
}

/** Business refusal: HTTP 200 and userErrors (or an argument error on a field). */
const refused = (...codes: string[]): Expected => ({ status: [200], codes });
/** A malformed request: 400 and a GraphQL error code. */
const malformed = (...codes: string[]): Expected => ({ status: [400], codes });
const BAD_VALUE = malformed("BAD_USER_INPUT");
const INVALID = refused("INVALID_INPUT");
const INVALID_OR_MISSING = refused("INVALID_INPUT", "NOT_FOUND");

function expectCodedRefusal(reply: Reply, expected: Expected): void {
  const summary = `${reply.status} ${reply.text.slice(0, 400)}`;
  expect(expected.status, summary).toContain(reply.status);
  const codes = codesOf(reply);
  expect(codes, summary).not.toContain("INTERNAL_SERVER_ERROR");
  if (expected.codes.length === 0) expect(codes, summary).toEqual([]);
  else {
    expect(codes.length, `no code in ${summary}`).toBeGreaterThan(0);
    for (const code of codes) expect(expected.codes, summary).toContain(code);
  }
  expectNoLeak(reply);
}

// ---- the corpus of argument values ----

type Path = (string | number)[];

interface Case {
  name: string;
  run: () => Promise<Reply>;
  expected: Expected;
}

/** A value put at `path` inside a copy of the variables. */
function withValue(variables: Record<string, unknown>, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(variables);
  let target = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  if (value === undefined) delete target[path.at(-1)!];
  else target[path.at(-1)!] = value;
  return copy;
}

const KB10 = "x".repeat(10 * 1024);
const MB1 = "x".repeat(1024 * 1024);
const INT_MAX = 2 ** 31 - 1;

/** Values no Int argument takes: the request is malformed whatever the field. */
const NOT_INTS: [string, unknown][] = [
  ["fractional 1.5", 1.5],
  ["2^31", 2 ** 31],
  ["-2^31-1", -(2 ** 31) - 1],
  ["1e20", 1e20],
  ['the string "7"', "7"],
  ["true", true],
  ["an object", {}],
];

/** Ints the schema takes but the business range does not (`min - 1`, `max + 1`, and the extremes). */
function outOfRange(min: number, max: number): [string, unknown][] {
  const values = new Set([min - 1, max + 1, -(2 ** 31), INT_MAX].filter((n) => (n < min || n > max) && Math.abs(n) <= 2 ** 31));
  return [...values].map((n) => [String(n), n]);
}

/** Ids that name nothing: malformed, wrong type, or well-formed but unknown. */
function badIds(type: "Product" | "Order" | "OrderLine" | "Restock" | "Backorder" | "Location"): [string, unknown][] {
  const encode = (text: string) => Buffer.from(text).toString("base64url");
  return [
    ["empty", ""],
    ["not an id", "not-an-id"],
    ["punctuation", "!!!"],
    ["an emoji", "🙂"],
    ["10 kB", KB10],
    ["of another type", type === "Location" ? toGlobalId("Product", 1) : toGlobalId("Location", 1)],
    ["unknown", toGlobalId(type, INT_MAX)],
    ["zero", encode(`${type}:0`)],
    ["negative", encode(`${type}:-1`)],
    ["fractional", encode(`${type}:1.5`)],
    ["past 2^31", encode(`${type}:99999999999`)],
    ["a plain number", 42],
  ];
}
const NOT_IDS: [string, unknown][] = [
  ["fractional 1.5", 1.5],
  ["true", true],
  ["an object", {}],
  ["a list", ["x"]],
];

const BAD_TEXT: [string, unknown, Expected][] = [
  ["empty", "", INVALID],
  ["blank", "   ", INVALID],
  ["10 kB", KB10, INVALID],
  ["a bell character", "a\u0007b", INVALID],
  ["a newline", "a\nb", INVALID],
  ["a NUL character", "a\u0000b", BAD_VALUE],
  ["a lone surrogate", "a\ud800b", BAD_VALUE],
  ["a number", 5, BAD_VALUE],
  ["an object", {}, BAD_VALUE],
];

const BAD_DATES: [string, unknown, Expected][] = [
  ...[
    "2031-02-30",
    "yesterday",
    "",
    "2031-13-01T00:00:00Z",
    "2031-01-01T25:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00.000Z",
  ].map((value): [string, unknown, Expected] => [JSON.stringify(value), value, { status: [200, 400], codes: ["INVALID_INPUT", "BAD_USER_INPUT"] }]),
  ["the number 0", 0, BAD_VALUE],
  ["1e20", 1e20, BAD_VALUE],
  ["an object", {}, BAD_VALUE],
];

const BAD_PRICES: [string, unknown, Expected][] = ["-1", "1.999", "1e3", "NaN", "Infinity", "", "abc", "99999999999.00", "1,50"].map((value) => [
  JSON.stringify(value),
  value,
  { status: [200, 400], codes: ["INVALID_INPUT", "BAD_USER_INPUT"] },
]);

interface Slot {
  path: Path;
  values: [string, unknown, Expected][];
}

const ints = (path: Path, min: number, max: number, { nullable = true } = {}): Slot => ({
  path,
  values: [
    ...NOT_INTS.map(([name, value]): [string, unknown, Expected] => [name, value, BAD_VALUE]),
    ...outOfRange(min, max).map(([name, value]): [string, unknown, Expected] => [name, value, INVALID]),
    ...(nullable ? [] : [["null", null, BAD_VALUE] as [string, unknown, Expected]]),
  ],
});
const idSlot = (path: Path, type: Parameters<typeof badIds>[0]): Slot => ({
  path,
  values: [
    ...badIds(type).map(([name, value]): [string, unknown, Expected] => [name, value, INVALID_OR_MISSING]),
    ...NOT_IDS.map(([name, value]): [string, unknown, Expected] => [name, value, BAD_VALUE]),
  ],
});
const text = (path: Path): Slot => ({ path, values: BAD_TEXT });
const date = (path: Path): Slot => ({ path, values: BAD_DATES });

interface MutationCorpus {
  name: string;
  document: string;
  /** Variables that would succeed: each case breaks exactly one of them. */
  valid: () => Record<string, unknown>;
  slots: Slot[];
}

const MUTATIONS: MutationCorpus[] = [
  {
    name: "placeOrder",
    document: "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code field message } } }",
    valid: () => ({ input: { customer: "corpus", lines: [{ productId: ids.product, quantity: 1 }], allowPartial: false } }),
    slots: [
      text(["input", "customer"]),
      idSlot(["input", "lines", 0, "productId"], "Product"),
      ints(["input", "lines", 0, "quantity"], 1, 1_000_000, { nullable: false }),
      { path: ["input", "idempotencyKey"], values: BAD_TEXT },
      {
        path: ["input", "allowPartial"],
        values: [
          ['the string "yes"', "yes", BAD_VALUE],
          ["1", 1, BAD_VALUE],
        ],
      },
      {
        path: ["input", "lines"],
        values: [
          ["no lines", [], INVALID],
          [
            "the same product twice",
            [
              { productId: "$product", quantity: 1 },
              { productId: "$product", quantity: 2 },
            ],
            INVALID,
          ],
          ["101 lines", "$lines:101", INVALID],
          ["10,000 lines", "$lines:10000", INVALID],
          ["a line naming productId and sku", [{ productId: "$product", sku: "X", quantity: 1 }], INVALID],
          ["a line naming no product", [{ quantity: 1 }], INVALID],
          ["a line with an empty sku", [{ sku: "", quantity: 1 }], INVALID],
          ["a line with an unknown sku", [{ sku: "NO-SUCH-SKU", quantity: 1 }], refused("NOT_FOUND")],
          ["a null line", [null], BAD_VALUE],
          ["a line without quantity", [{ productId: "$product" }], BAD_VALUE],
          ["not a list", "lines", BAD_VALUE],
        ],
      },
    ],
  },
  {
    name: "cancelOrder",
    document: "mutation($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { order { id } userErrors { code field } } }",
    valid: () => ({ id: ids.order, reason: "corpus" }),
    slots: [idSlot(["id"], "Order"), { path: ["reason"], values: BAD_TEXT }],
  },
  {
    name: "cancelOrderLine",
    document: "mutation($id: ID!, $quantity: Int) { cancelOrderLine(id: $id, quantity: $quantity) { order { id } userErrors { code field } } }",
    valid: () => ({ id: ids.line, quantity: 1 }),
    slots: [idSlot(["id"], "OrderLine"), ints(["quantity"], 1, 1_000_000)],
  },
  {
    name: "shipOrder",
    document: "mutation($id: ID!) { shipOrder(id: $id) { order { id } userErrors { code field } } }",
    valid: () => ({ id: ids.order }),
    slots: [idSlot(["id"], "Order")],
  },
  {
    name: "scheduleRestock",
    document: "mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code field } } }",
    valid: () => ({ input: { productId: ids.product, locationId: ids.location, quantity: 3, expectedAt: "2031-06-01T00:00:00Z", reference: "PO-1" } }),
    slots: [
      idSlot(["input", "productId"], "Product"),
      idSlot(["input", "locationId"], "Location"),
      ints(["input", "quantity"], 1, 1_000_000, { nullable: false }),
      date(["input", "expectedAt"]),
      { path: ["input", "reference"], values: BAD_TEXT },
    ],
  },
  {
    name: "rescheduleRestock",
    document: "mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) { restock { id } userErrors { code field } } }",
    valid: () => ({ id: ids.restock, at: "2031-07-01T00:00:00Z" }),
    slots: [idSlot(["id"], "Restock"), date(["at"])],
  },
  {
    name: "receiveRestock",
    document: "mutation($id: ID!, $quantity: Int) { receiveRestock(id: $id, quantity: $quantity) { restock { id } userErrors { code field } } }",
    valid: () => ({ id: ids.restock, quantity: 1 }),
    slots: [idSlot(["id"], "Restock"), ints(["quantity"], 1, 1_000_000)],
  },
  {
    name: "cancelRestock",
    document: "mutation($id: ID!) { cancelRestock(id: $id) { restock { id } userErrors { code field } } }",
    valid: () => ({ id: ids.restock }),
    slots: [idSlot(["id"], "Restock")],
  },
  {
    name: "adjustStock",
    document: "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { stockLevel { onHand } userErrors { code field } } }",
    valid: () => ({ input: { productId: ids.product, locationId: ids.location, delta: 1, reason: "count" } }),
    slots: [
      idSlot(["input", "productId"], "Product"),
      idSlot(["input", "locationId"], "Location"),
      {
        ...ints(["input", "delta"], -1_000_000, 1_000_000, { nullable: false }),
        values: [...ints(["input", "delta"], -1_000_000, 1_000_000, { nullable: false }).values, ["0", 0, INVALID]],
      },
      text(["input", "reason"]),
      ints(["input", "safetyStock"], 0, 1_000_000),
    ],
  },
  {
    name: "prioritizeBackorder",
    document: "mutation($id: ID!, $priority: Int!) { prioritizeBackorder(id: $id, priority: $priority) { backorder { id } userErrors { code field } } }",
    valid: () => ({ id: ids.backorder, priority: 1 }),
    slots: [idSlot(["id"], "Backorder"), ints(["priority"], -1_000_000, 1_000_000, { nullable: false })],
  },
  {
    name: "updateProduct",
    document: "mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id } userErrors { code field } } }",
    valid: () => ({ id: ids.product, input: { name: "Renamed by the corpus" } }),
    slots: [
      idSlot(["id"], "Product"),
      text(["input", "name"]),
      text(["input", "sku"]),
      { path: ["input", "price"], values: BAD_PRICES },
      {
        path: ["input", "backorderPolicy"],
        values: [
          ["MAYBE", "MAYBE", BAD_VALUE],
          ["lower case", "allow", BAD_VALUE],
          ["1", 1, BAD_VALUE],
        ],
      },
      ints(["input", "backorderLimit"], 0, 100_000_000),
      ints(["input", "minOrderQuantity"], 1, 1_000_000),
      ints(["input", "maxOrderQuantity"], 1, 1_000_000),
      ints(["input", "leadTimeDays"], 0, 3650),
    ],
  },
  {
    name: "createProduct",
    document: "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code field } } }",
    valid: () => ({ input: { sku: uniqueSku("CORPUS"), name: "Corpus", price: "1.00", initialStock: 1, backorderPolicy: "ALLOW" } }),
    slots: [
      text(["input", "sku"]),
      text(["input", "name"]),
      { path: ["input", "price"], values: BAD_PRICES },
      {
        path: ["input", "currencyCode"],
        values: [["lower case", "usd", INVALID], ["four letters", "EURO", INVALID], ["symbols", "€€€", INVALID], ...BAD_TEXT],
      },
      ints(["input", "initialStock"], 0, 1_000_000),
      ints(["input", "minOrderQuantity"], 1, 1_000_000),
      ints(["input", "leadTimeDays"], 0, 3650),
    ],
  },
  {
    name: "createLocation",
    document: "mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id } userErrors { code field } } }",
    valid: () => ({ input: { code: uniqueSku("LOC"), name: "Corpus", priority: 3 } }),
    slots: [text(["input", "code"]), text(["input", "name"]), ints(["input", "priority"], -1_000_000, 1_000_000)],
  },
];

/** Placeholders in list values, resolved when the case runs (the fixture's ids exist only then). */
function resolvePlaceholders(value: unknown): unknown {
  if (value === "$product") return ids.product;
  if (typeof value === "string" && value.startsWith("$lines:")) {
    return Array.from({ length: Number(value.slice(7)) }, (_, i) => ({ productId: toGlobalId("Product", i + 1), quantity: 1 }));
  }
  if (Array.isArray(value)) return value.map(resolvePlaceholders);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePlaceholders(v)]));
  return value;
}

const mutationCases: Case[] = MUTATIONS.flatMap((mutation) =>
  mutation.slots.flatMap((slot) =>
    slot.values.map(([name, value, expected]): Case => ({
      name: `${mutation.name} ${slot.path.join(".")} = ${name}`,
      run: () => post({ query: mutation.document, variables: withValue(mutation.valid(), slot.path, resolvePlaceholders(value)) }),
      expected,
    })),
  ),
);

/** Query arguments: unknown ids read as null, bad pages and filters are BAD_USER_INPUT, wrong types 400. */
const PAGE_FIELDS = [
  { name: "products", field: "products", onProduct: false },
  { name: "orders", field: "orders", onProduct: false },
  { name: "backlog", field: "backlog", onProduct: false },
  { name: "restocks", field: "restocks", onProduct: false },
  { name: "Product.backlog", field: "backlog", onProduct: true },
  { name: "Product.restocks", field: "restocks", onProduct: true },
];

/** A query of one connection field with `args`, declaring only the variables it uses ($p, $after). */
function pageQuery(page: (typeof PAGE_FIELDS)[number], args: string): string {
  const declared = [page.onProduct && "$p: ID!", args.includes("$after") && "$after: String"].filter(Boolean);
  const selection = `${page.field}(${args}) { totalCount }`;
  return `query${declared.length ? `(${declared.join(", ")})` : ""} { ${page.onProduct ? `product(id: $p) { ${selection} }` : selection} }`;
}

const FIELD_ERROR = refused("BAD_USER_INPUT");

const queryCases: Case[] = [
  ...PAGE_FIELDS.flatMap((page) => [
    ...[
      ["101", "first: 101"],
      ["1e9", "first: 1000000000"],
      ["-1", "first: -1"],
      ["2^31-1", `first: ${INT_MAX}`],
    ].map(([label, args]): Case => ({
      name: `${page.name} first: ${label}`,
      run: () => post({ query: pageQuery(page, args), variables: { p: ids.product } }),
      expected: FIELD_ERROR,
    })),
    ...[
      ["2^31", `first: ${2 ** 31}`],
      ["1.5", "first: 1.5"],
      ['"10"', 'first: "10"'],
    ].map(([label, args]): Case => ({
      name: `${page.name} first: ${label} (not an Int)`,
      run: () => post({ query: pageQuery(page, args), variables: { p: ids.product } }),
      expected: malformed("GRAPHQL_VALIDATION_FAILED"),
    })),
    ...[
      ["garbage", "zzz"],
      ["empty", ""],
      ["10 kB", KB10],
      ["base64 JSON of nothing we wrote", Buffer.from('{"a":1}').toString("base64url")],
    ].map(([label, after]): Case => ({
      name: `${page.name} after: ${label}`,
      run: () => post({ query: pageQuery(page, "after: $after"), variables: { p: ids.product, after } }),
      expected: FIELD_ERROR,
    })),
  ]),
  {
    name: "backlog after: a products cursor",
    run: () => post({ query: "query($a: String) { backlog(after: $a) { totalCount } }", variables: { a: productCursor } }),
    expected: FIELD_ERROR,
  },
  ...[
    ["-1", -1],
    ["2^31-1", INT_MAX],
  ].map(([label, hours]): Case => ({
    name: `backlog filter.olderThanHours: ${label}`,
    run: () => post({ query: "query($h: Int) { backlog(filter: { olderThanHours: $h }) { totalCount } }", variables: { h: hours } }),
    expected: FIELD_ERROR,
  })),
  ...(["node", "product", "order"] as const).flatMap((field) => [
    ...badIds(field === "order" ? "Order" : "Product").map(([label, id]): Case => ({
      name: `${field}(id: ${label}) reads as null`,
      run: () => post({ query: `query($id: ID!) { ${field}(id: $id) { id } }`, variables: { id } }),
      expected: { status: [200], codes: [] },
    })),
    ...NOT_IDS.map(([label, id]): Case => ({
      name: `${field}(id: ${label})`,
      run: () => post({ query: `query($id: ID!) { ${field}(id: $id) { id } }`, variables: { id } }),
      expected: BAD_VALUE,
    })),
  ]),
  // A lookup by a long SKU or number finds nothing; a long search or customer filter is refused.
  ...(
    [
      ["product(sku:)", "query($s: String) { product(sku: $s) { id } }", { status: [200], codes: [] }],
      ["order(number:)", "query($s: String) { order(number: $s) { id } }", { status: [200], codes: [] }],
      ["products(filter.skus)", "query($s: String!) { products(filter: { skus: [$s] }) { totalCount } }", { status: [200], codes: [] }],
      ["products(filter.search)", "query($s: String) { products(filter: { search: $s }) { totalCount } }", FIELD_ERROR],
      ["orders(filter.customer)", "query($s: String) { orders(filter: { customer: $s }) { totalCount } }", FIELD_ERROR],
    ] as [string, string, Expected][]
  ).flatMap(([name, query, long]): Case[] => [
    { name: `${name} with a NUL character`, run: () => post({ query, variables: { s: "a\u0000b" } }), expected: BAD_VALUE },
    { name: `${name} with a lone surrogate`, run: () => post({ query, variables: { s: "\udfffb" } }), expected: BAD_VALUE },
    { name: `${name} with 10 kB`, run: () => post({ query, variables: { s: KB10 } }), expected: long },
  ]),
  {
    name: "products(filter.skus) with 50,000 SKUs",
    run: () =>
      post({
        query: "query($s: [String!]) { products(filter: { skus: $s }) { totalCount } }",
        variables: { s: Array.from({ length: 50_000 }, (_, i) => `S${i}`) },
      }),
    expected: FIELD_ERROR,
  },
  {
    name: "a NUL character in a string literal",
    run: () => post({ query: '{ product(sku: "a\\u0000b") { id } }' }),
    expected: malformed("GRAPHQL_VALIDATION_FAILED"),
  },
];

// ---- the corpus of requests ----

const QUERY = "{ locations { id } }";
/** The depth limit of the corpus's ADMIN key (server/graphql/limits/query-limits.ts). */
const MAX_DEPTH = DEFAULT_QUERY_LIMITS.ADMIN.maxDepth;
/** A query nested exactly `depth` fields deep (at least 2), one item a page: product → backlog → nodes → product → … */
function nested(depth: number): { query: string; variables: Record<string, unknown> } {
  const cycles = Math.floor((depth - 2) / 3);
  const tail = ["id", "stock { onHand }", "backlog(first: 1) { nodes { id } }"][depth - 2 - 3 * cycles];
  const query = `query($p: ID!) { product(id: $p) { ${"backlog(first: 1) { nodes { product { ".repeat(cycles)}${tail}${" } } }".repeat(cycles)} } }`;
  return { query, variables: { p: ids.product } };
}
/** Fragments that each spread the next twice: 2^30 fields once expanded, a few hundred bytes as text. */
const fragmentBomb = () => {
  const fragments = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  return `{ ...F0 } ${fragments.join(" ")} fragment F30 on Query { __typename }`;
};

const requestCases: Case[] = [
  { name: "malformed JSON", run: () => post('{"query": '), expected: malformed("BAD_REQUEST") },
  { name: "an empty body", run: () => post(""), expected: malformed("BAD_REQUEST") },
  { name: "a JSON null body", run: () => post("null"), expected: malformed("BAD_REQUEST") },
  { name: "a JSON number body", run: () => post("5"), expected: malformed("BAD_REQUEST") },
  { name: "a JSON string body", run: () => post(JSON.stringify(QUERY)), expected: malformed("BAD_REQUEST") },
  { name: "NaN in variables", run: () => post('{"query":"{ locations { id } }","variables":{"x":NaN}}'), expected: malformed("BAD_REQUEST") },
  { name: "an object without query", run: () => post({ variables: {} }), expected: malformed("BAD_REQUEST") },
  { name: "a query that is a number", run: () => post({ query: 5 }), expected: malformed("BAD_REQUEST") },
  { name: "variables that are a list", run: () => post({ query: QUERY, variables: [1] }), expected: malformed("BAD_REQUEST") },
  {
    name: "content type text/plain",
    run: () => post(JSON.stringify({ query: QUERY }), { "content-type": "text/plain" }),
    expected: malformed("BAD_REQUEST"),
  },
  { name: "no content type", run: () => send({ method: "POST", body: JSON.stringify({ query: QUERY }) }), expected: malformed("BAD_REQUEST") },
  { name: "content type application/graphql", run: () => post(QUERY, { "content-type": "application/graphql" }), expected: malformed("BAD_REQUEST") },
  { name: "a form body", run: () => post("query=%7B%7D", { "content-type": "application/x-www-form-urlencoded" }), expected: malformed("BAD_REQUEST") },
  {
    name: "an unsupported charset",
    run: () => post(JSON.stringify({ query: QUERY }), { "content-type": "application/json; charset=latin1" }),
    expected: { status: [415], codes: ["BAD_REQUEST"] },
  },
  {
    name: "an unsupported content encoding",
    run: () => post("xx", { "content-type": "application/json", "content-encoding": "compress" }),
    expected: { status: [415], codes: ["BAD_REQUEST"] },
  },
  {
    name: "a gzip bomb (20 MB inflated)",
    run: () =>
      post(gzipSync(JSON.stringify({ query: QUERY, variables: { x: "a".repeat(20_000_000) } })), {
        "content-type": "application/json",
        "content-encoding": "gzip",
      }),
    expected: { status: [413], codes: ["PAYLOAD_TOO_LARGE"] },
  },
  {
    name: "a body over 1 MB (a 1 MB customer name)",
    run: () => post({ query: MUTATIONS[0].document, variables: withValue(MUTATIONS[0].valid(), ["input", "customer"], MB1) }),
    expected: { status: [413], codes: ["PAYLOAD_TOO_LARGE"] },
  },
  {
    name: "a variables object over 1 MB",
    run: () => post({ query: QUERY, variables: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`v${i}`, i])) }),
    expected: { status: [413], codes: ["PAYLOAD_TOO_LARGE"] },
  },
  {
    name: "variables nested 100,000 lists deep",
    run: () =>
      post(
        `{"query":"query($v: [String!]) { products(filter: { skus: $v }) { totalCount } }","variables":{"v":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
      ),
    expected: BAD_VALUE,
  },
  {
    name: "a GET mutation",
    run: () =>
      send({
        method: "GET",
        path: `?query=${encodeURIComponent('mutation { cancelOrder(id: "x") { order { id } } }')}`,
        headers: { "apollo-require-preflight": "1" },
      }),
    expected: { status: [405], codes: ["BAD_REQUEST"] },
  },
  {
    name: "a GET without a CSRF-safe header",
    run: () => send({ method: "GET", path: `?query=${encodeURIComponent(QUERY)}` }),
    expected: malformed("BAD_REQUEST"),
  },
  {
    name: "a PUT",
    run: () => send({ method: "PUT", headers: JSON_HEADERS, body: JSON.stringify({ query: QUERY }) }),
    expected: { status: [405], codes: ["BAD_REQUEST"] },
  },
  { name: "a batch of two operations", run: () => post([{ query: QUERY }, { query: QUERY }]), expected: malformed("BAD_REQUEST") },
  {
    name: "a batch of 1,000 mutations",
    run: () => post(Array.from({ length: 1000 }, () => ({ query: MUTATIONS[0].document, variables: MUTATIONS[0].valid() }))),
    expected: malformed("BAD_REQUEST"),
  },
  { name: "a subscription over HTTP", run: () => post({ query: "subscription { stockChanged { __typename } }" }), expected: malformed("BAD_REQUEST") },
  {
    name: "an unknown operationName",
    run: () => post({ query: "query A { locations { id } }", operationName: "B" }),
    expected: malformed("OPERATION_RESOLUTION_FAILURE"),
  },
  {
    name: "two operations without operationName",
    run: () => post({ query: 'query A { locations { id } } mutation B { shipOrder(id: "x") { order { id } } }' }),
    expected: malformed("OPERATION_RESOLUTION_FAILURE"),
  },
  { name: "a syntax error", run: () => post({ query: "{ locations { id " }), expected: malformed("GRAPHQL_PARSE_FAILED") },
  { name: "an unknown field", run: () => post({ query: "{ warehouses { id } }" }), expected: malformed("GRAPHQL_VALIDATION_FAILED") },
  {
    name: "an unknown persisted query",
    run: () => post({ extensions: { persistedQuery: { version: 1, sha256Hash: "ab".repeat(32) } } }),
    expected: { status: [200, 400, 404], codes: ["PERSISTED_QUERY_NOT_FOUND"] },
  },
  { name: "a query nested 50 levels deep", run: () => post(nested(50)), expected: malformed("QUERY_TOO_DEEP") },
  { name: "a query one level over the depth limit", run: () => post(nested(MAX_DEPTH + 1)), expected: malformed("QUERY_TOO_DEEP") },
  {
    name: "a query nested 2,000 levels deep",
    run: () => post(nested(2000)),
    expected: { status: [400], codes: ["QUERY_TOO_DEEP", "GRAPHQL_PARSE_FAILED"] },
  },
  {
    name: "1,000 aliases of one field",
    run: () => post({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: locations { id }`).join(" ")} }` }),
    expected: malformed("GRAPHQL_VALIDATION_FAILED"),
  },
  {
    name: "101 aliased mutations in one request",
    run: () => post({ query: `mutation { ${Array.from({ length: 101 }, (_, i) => `m${i}: shipOrder(id: "${ids.order}") { order { id } }`).join(" ")} }` }),
    expected: malformed("GRAPHQL_VALIDATION_FAILED"),
  },
  {
    name: "2,000 fields without aliases",
    run: () => post({ query: `{ ${"__typename ".repeat(2000)}}` }),
    expected: malformed("GRAPHQL_VALIDATION_FAILED"),
  },
  { name: "a fragment bomb (2^30 fields expanded)", run: () => post({ query: fragmentBomb() }), expected: malformed("GRAPHQL_VALIDATION_FAILED") },
  {
    name: "a fragment cycle",
    run: () => post({ query: "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" }),
    expected: malformed("GRAPHQL_VALIDATION_FAILED"),
  },
  {
    name: "a document of 50,000 tokens",
    run: () => post({ query: `{ locations { id ${"@skip(if: false) ".repeat(10_000)}} }` }),
    expected: malformed("GRAPHQL_PARSE_FAILED"),
  },
  {
    name: "__proto__ and constructor keys in variables",
    run: () =>
      post(
        `{"query":${JSON.stringify(MUTATIONS[0].document)},"variables":{"input":{"customer":"p","lines":[],"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}}`,
      ),
    expected: BAD_VALUE,
  },
  {
    name: "a __proto__ key at the top of the body",
    run: () => post(`{"query":"{ locations { id } }","__proto__":{"polluted":1},"variables":{"__proto__":{"polluted":1}}}`),
    expected: { status: [200], codes: [] },
  },
  {
    name: "a 20 kB header",
    run: () => send({ method: "POST", headers: { ...JSON_HEADERS, "x-padding": "a".repeat(20_000) }, body: JSON.stringify({ query: QUERY }) }),
    expected: { status: [431], codes: [] },
  },
  {
    name: "a 100 kB URL",
    run: () => send({ method: "GET", path: `?query=${"a".repeat(100_000)}`, headers: { "apollo-require-preflight": "1" } }),
    expected: { status: [414, 431], codes: [] },
  },
];

describe("every bad input gets a coded answer, never an internal error or a leak", () => {
  describe.each([
    ["mutation arguments", mutationCases],
    ["query arguments", queryCases],
    ["requests", requestCases],
  ])("%s", (_group, cases) => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      expectCodedRefusal(await c.run(), c.expected);
    });
  });

  it("still answers the standard introspection query (what explorers send) within the limits", async () => {
    const reply = await post({ query: getIntrospectionQuery() });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data.__schema.queryType.name).toBe("Query");
  });

  it("answers a query exactly at the depth limit and refuses one level more", async () => {
    const atLimit = await post(nested(MAX_DEPTH));
    expect(atLimit.status, atLimit.text.slice(0, 300)).toBe(200);
    expect(atLimit.body.errors).toBeUndefined();
    const over = await post(nested(MAX_DEPTH + 1));
    expect(over.status).toBe(400);
    expect(over.body.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_DEEP", depth: MAX_DEPTH + 1, maxDepth: MAX_DEPTH });
  });

  it("answers an ordinary nested query (product, backlog, orders, lines)", async () => {
    const reply = await post({
      query: "query($p: ID!) { product(id: $p) { sku backlog(first: 5) { nodes { position order { status lines { quantity product { sku } } } } } } }",
      variables: { p: ids.product },
    });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data.product.backlog.nodes).toHaveLength(1);
  });

  it("lets exactly as many aliases and fields as the guards allow through them, and refuses one more", () => {
    const errors = (query: string) => validate(app.schema, parse(query), [requestLimitsRule()]).map((error) => error.message);
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    expect(errors(aliases(REQUEST_LIMITS.maxAliases))).toEqual([]);
    expect(errors(aliases(REQUEST_LIMITS.maxAliases + 1))).toEqual([
      `The operation uses ${REQUEST_LIMITS.maxAliases + 1} aliases; the limit is ${REQUEST_LIMITS.maxAliases}.`,
    ]);
    const fields = (n: number) => `{ ${"__typename ".repeat(n)}}`;
    expect(errors(fields(REQUEST_LIMITS.maxFields))).toEqual([]);
    expect(errors(fields(REQUEST_LIMITS.maxFields + 1))).toEqual([
      `The operation selects ${REQUEST_LIMITS.maxFields + 1} fields; the limit is ${REQUEST_LIMITS.maxFields}.`,
    ]);
  });

  it("refuses the same over WebSocket: a subscription nested too deep or with too many aliases", async () => {
    const deep = nested(MAX_DEPTH + 5).query.replace(/^query\(\$p: ID!\) \{ product\(id: \$p\)/, "subscription { stockChanged { product");
    const wide = `subscription { stockChanged { ${Array.from({ length: 200 }, (_, i) => `a${i}: __typename`).join(" ")} } }`;
    for (const [query, code] of [
      [`${deep} }`, "QUERY_TOO_DEEP"],
      [wide, "GRAPHQL_VALIDATION_FAILED"],
    ]) {
      const subscription = await collect(app.url, query, {}, { key: ADMIN_KEY });
      try {
        await subscription.ended;
        expect(subscription.events).toEqual([]);
        const codes = subscription.errors
          .flatMap((error) => (Array.isArray(error) ? error : [error]))
          .map((error) => (error as { extensions?: { code?: string } }).extensions?.code);
        expect(codes.length, JSON.stringify(subscription.errors).slice(0, 300)).toBeGreaterThan(0);
        expect(new Set(codes)).toEqual(new Set([code]));
      } finally {
        await subscription.dispose();
      }
    }
  });

  it("did not let a __proto__ key reach Object.prototype", () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it("changed nothing: same rows, same quantities, statuses and dates, clean audit", async () => {
    expect(await snapshot(database.db)).toEqual(before);
    await expectCleanAudit(database.db);
  });

  it("logged no unexpected error while refusing", () => {
    const errors = logLines.filter((line) => JSON.parse(line).level === "error");
    expect(errors, errors.join("\n").slice(0, 2000)).toEqual([]);
  });
});

describe("valid Unicode is stored and read back unchanged", () => {
  const strings = [
    ["accents and emoji", "Zoë’s café ☕ 🚀"],
    ["right-to-left and a bidi override", "مرحبا \u202eevil"],
    ["combining marks and a zero-width joiner", "e\u0301 👩‍👩‍👧"],
    ["astral mathematical letters", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"],
  ];
  it.each(strings)("a customer and a product name with %s", async (_label, value) => {
    const created = await post({
      query: "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id name } userErrors { code } } }",
      variables: { input: { sku: uniqueSku("UNI"), name: value, price: "1.00", initialStock: 1 } },
    });
    expect(created.body.data.createProduct.userErrors, created.text).toEqual([]);
    expect(created.body.data.createProduct.product.name).toBe(value);
    const placed = await post({
      query: "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id customer } userErrors { code } } }",
      variables: { input: { customer: value, lines: [{ productId: created.body.data.createProduct.product.id, quantity: 1 }] } },
    });
    expect(placed.body.data.placeOrder.userErrors, placed.text).toEqual([]);
    const read = await post({ query: "query($id: ID!) { order(id: $id) { customer } }", variables: { id: placed.body.data.placeOrder.order.id } });
    expect(read.body.data.order.customer).toBe(value);
  });
});

// ---- the state a refusal must not change ----

/**
 * Row counts of every table, and a digest of every quantity, status, date and name that the
 * engine keeps (not `updated_at` stamps, which a refused transaction never commits anyway).
 */
async function snapshot(db: Database): Promise<Record<string, string | number>> {
  const tables = await rows<{ name: string }>(
    db,
    sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const result: Record<string, string | number> = {};
  // cost_budgets changes with every request, refused ones too: each pays into its caller's bucket.
  for (const { name } of tables.filter((table) => table.name !== "cost_budgets")) {
    const [row] = await rows<{ n: number }>(db, sql.raw(`SELECT count(*)::int AS n FROM "${name}"`));
    result[`${name} rows`] = Number(row.n);
  }
  const digests: Record<string, string> = {
    locations: "SELECT concat_ws(',', id, code, name, priority) AS r FROM locations",
    products:
      "SELECT concat_ws(',', id, sku, name, price, currency_code, backorder_policy, backorder_limit, min_order_quantity, max_order_quantity, lead_time_days, backordered) AS r FROM products",
    stock: "SELECT concat_ws(',', product_id, location_id, on_hand, allocated, safety_stock) AS r FROM stock_levels",
    orders: "SELECT concat_ws(',', id, status, customer, total, cancel_reason) AS r FROM orders",
    lines: "SELECT concat_ws(',', id, quantity, allocated, waiting, shipped, cancelled) AS r FROM order_lines",
    allocations: "SELECT concat_ws(',', order_line_id, location_id, quantity, shipped) AS r FROM allocations",
    backorders: "SELECT concat_ws(',', id, remaining, cancelled, status, priority, expected_at, eta_source, promised_at, delayed) AS r FROM backorders",
    restocks: "SELECT concat_ws(',', id, quantity, received_quantity, expected_at, status, reference) AS r FROM restocks",
  };
  for (const [name, query] of Object.entries(digests)) {
    const [row] = await rows<{ digest: string }>(db, sql.raw(`SELECT md5(coalesce(string_agg(r, ';' ORDER BY r), '')) AS digest FROM (${query}) t`));
    result[name] = row.digest;
  }
  return result;
}

/**
 * GET /metrics (issue 11, item 4): the Prometheus text format over real HTTP, scraped after real
 * requests and subscriptions against the test file's database (docs/ARCHITECTURE.md, "Metrics").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../server/config.js";
import { Metrics, OPERATION_NAME_MAX_LENGTH, OTHER_OPERATION } from "../../server/metrics.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import type { App } from "../../server/http/app.js";
import { createRoleKeys, type RoleKey } from "../support/access.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { onPostgres, useFreshDatabase } from "../support/database.js";
import { authorizationHeader, startTestServer, useTestServer } from "../support/http.js";
import { collect, waitFor, wsUrl } from "../support/live.js";
import { RECEIVE_RESTOCK, SCHEDULE_RESTOCK } from "../support/mutations.js";
import { connectWith, runOperation } from "../support/ws-client.js";

const database = useFreshDatabase();
// READER pays 30 points a request from a bucket of 30 that hardly refills: its second request is THROTTLED.
const server = useTestServer(database, { limits: { READER: { capacity: 30, minimumCost: 30, refillPerSecond: 0.001 } } });

/** One sample line: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/;

/** Parses the text format strictly: every line is a HELP or TYPE comment or a sample; throws on anything else. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      expect(comment[2], line).toMatch(NAME);
      if (comment[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"], line).toContain(comment[3]);
        types.set(comment[2], comment[3]);
      }
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = match;
    // Prometheus reads values with Go's ParseFloat, which takes NaN in any case: prom-client writes "Nan".
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : /^nan$/i.test(valueText) ? Number.NaN : Number(valueText);
    if (Number.isNaN(value) && !/^nan$/i.test(valueText)) throw new Error(`not a number: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = raw.replace(/\\(.)/g, (_all, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

async function scrape(url = server.url, headers: Record<string, string> = {}) {
  const response = await fetch(new URL("/metrics", url), { headers });
  const text = await response.text();
  return { response, text };
}

/** The samples of a scrape of the test server. */
async function samples(): Promise<Sample[]> {
  const { response, text } = await scrape();
  expect(response.status, text).toBe(200);
  return parseExposition(text).samples;
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined when there is none. */
function valueOf(all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = all.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  expect(found.length, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(found)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

const PLACE_ORDER = `mutation PlaceIt($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }`;
const CATALOGUE = `query Catalogue { products(first: 5) { nodes { sku } } }`;
/** 100 orders × 100 lines × 100 lines × 100 lines: far past the 5,000 points a request may cost. */
const TOO_COSTLY = `query TooCostly { orders(first: 100) { nodes { lines { order { lines { order { lines { id } } } } } } } }`;

let keys: Record<string, RoleKey>;

beforeAll(async () => {
  keys = await createRoleKeys(database.db, "metrics");
});

describe("GET /metrics", () => {
  it("answers in the Prometheus text format: every line a HELP or TYPE comment or `name{labels} value`", async () => {
    const { response, text } = await scrape();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8/);
    const { samples: all, types } = parseExposition(text);
    expect(all.length).toBeGreaterThan(0);
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith("backorder_")))).toMatchObject({
      backorder_graphql_request_duration_seconds: "histogram",
      backorder_place_order_duration_seconds: "histogram",
      backorder_restock_fill_duration_seconds: "histogram",
      backorder_budget_refusals_total: "counter",
      backorder_event_hub_lag_events: "gauge",
      backorder_event_hub_subscribers: "gauge",
      backorder_event_hub_queued_events: "gauge",
      backorder_websocket_connections: "gauge",
      backorder_websocket_buffered_bytes: "gauge",
      backorder_db_lock_waits: "gauge",
    });
    if (onPostgres) expect(types.get("backorder_db_pool_connections_in_use")).toBe("gauge");
    // The process metrics of prom-client, on this app's registry.
    expect(types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
  });

  it("times a placeOrder, a restock receipt and a query by operation name, type and outcome", async () => {
    const product = await newProduct(database.db);
    const productId = toGlobalId("Product", product.id);
    const placed = await server.data(PLACE_ORDER, { input: { customer: "metrics", lines: [{ productId, quantity: 2 }] } });
    expect(placed.placeOrder.userErrors).toEqual([]);
    const refused = await server.data(PLACE_ORDER, { input: { customer: "metrics", lines: [{ sku: "NO-SUCH-SKU", quantity: 1 }] } });
    const refusedCode = refused.placeOrder.userErrors[0].code as string;
    const scheduled = await server.data(SCHEDULE_RESTOCK, { input: { productId, quantity: 2, expectedAt: daysFromNow(2).toISOString() } });
    const received = await server.data(RECEIVE_RESTOCK, { id: scheduled.scheduleRestock.restock.id });
    expect(received.receiveRestock.fills).toHaveLength(1);
    await server.data(CATALOGUE);

    const all = await samples();
    const requests = (labels: Record<string, string>) => valueOf(all, "backorder_graphql_request_duration_seconds_count", labels);
    expect(requests({ operation: "PlaceIt", type: "mutation", outcome: "ok" })).toBe(2);
    expect(requests({ operation: "Catalogue", type: "query", outcome: "ok" })).toBe(1);
    expect(requests({ operation: "(anonymous)", type: "mutation", outcome: "ok" })).toBe(2);
    expect(valueOf(all, "backorder_graphql_request_duration_seconds_bucket", { operation: "Catalogue", le: "+Inf" })).toBe(1);
    expect(valueOf(all, "backorder_graphql_request_duration_seconds_sum", { operation: "Catalogue" })).toBeGreaterThan(0);
    expect(valueOf(all, "backorder_place_order_duration_seconds_count", { outcome: "ok" })).toBe(1);
    expect(valueOf(all, "backorder_place_order_duration_seconds_count", { outcome: refusedCode })).toBe(1);
    expect(valueOf(all, "backorder_restock_fill_duration_seconds_count", { outcome: "ok" })).toBe(1);
  });

  it("counts requests refused over the cost budget and the cost limit, by reason and transport", async () => {
    const reader = { key: keys.READER.secret };
    expect((await server.gql(CATALOGUE, {}, reader)).status).toBe(200);
    const throttled = await server.gql(CATALOGUE, {}, reader);
    expect([throttled.status, throttled.body.errors?.[0].extensions?.code]).toEqual([429, "THROTTLED"]);
    const tooCostly = await server.gql(TOO_COSTLY);
    expect([tooCostly.status, tooCostly.body.errors?.[0].extensions?.code]).toEqual([400, "QUERY_TOO_COSTLY"]);
    const socket = await connectWith(wsUrl(server.url), keys.ADMIN.secret);
    try {
      const run = await runOperation(socket.client, TOO_COSTLY);
      expect(run.errors[0].extensions?.code).toBe("QUERY_TOO_COSTLY");
    } finally {
      await socket.client.dispose();
    }

    const all = await samples();
    expect(valueOf(all, "backorder_budget_refusals_total", { reason: "THROTTLED", transport: "http" })).toBe(1);
    expect(valueOf(all, "backorder_budget_refusals_total", { reason: "QUERY_TOO_COSTLY", transport: "http" })).toBe(1);
    expect(valueOf(all, "backorder_budget_refusals_total", { reason: "QUERY_TOO_COSTLY", transport: "websocket" })).toBe(1);
    // The refused requests are timed too, with their code as the outcome.
    expect(valueOf(all, "backorder_graphql_request_duration_seconds_count", { operation: "TooCostly", outcome: "QUERY_TOO_COSTLY" })).toBe(1);
    expect(valueOf(all, "backorder_graphql_request_duration_seconds_count", { outcome: "THROTTLED" })).toBe(1);
  });

  it("reports a live subscription in the subscribers and connections gauges, and its end", async () => {
    const gauge = async (name: string) => valueOf(await samples(), name);
    const subscription = await collect(server.url, "subscription { stockChanged { cursor } }");
    try {
      await waitFor(async () => (await gauge("backorder_event_hub_subscribers")) === 1, "one subscriber");
      expect(await gauge("backorder_websocket_connections")).toBe(1);
      expect(await gauge("backorder_event_hub_queued_events")).toBe(0);
    } finally {
      await subscription.dispose();
    }
    await waitFor(async () => (await gauge("backorder_event_hub_subscribers")) === 0, "no subscriber");
    await waitFor(async () => (await gauge("backorder_websocket_connections")) === 0, "no connection");
  });

  it("reports the hub caught up with the log, and the database's lock waits and pool", async () => {
    const product = await newProduct(database.db);
    await server.data(PLACE_ORDER, { input: { customer: "metrics", lines: [{ productId: toGlobalId("Product", product.id), quantity: 1 }] } });
    await waitFor(async () => (await samples()).some((s) => s.name === "backorder_event_hub_lag_events" && s.value === 0), "the hub to catch up");
    const all = await samples();
    expect(valueOf(all, "backorder_event_hub_position")).toBeGreaterThan(0);
    expect(valueOf(all, "backorder_db_lock_waits")).toBeGreaterThanOrEqual(0);
    if (onPostgres) {
      expect(valueOf(all, "backorder_db_pool_size")).toBe(10);
      const open = valueOf(all, "backorder_db_pool_connections")!;
      expect(open).toBeGreaterThanOrEqual(1);
      expect(open).toBeLessThanOrEqual(10);
      expect(valueOf(all, "backorder_db_pool_connections_in_use")).toBeLessThanOrEqual(open);
    } else {
      // PGlite is one connection in this process: no pool to report, and no lock ever waits.
      expect(valueOf(all, "backorder_db_lock_waits")).toBe(0);
      expect(valueOf(all, "backorder_db_pool_connections")).toBeUndefined();
    }
  });
});

describe("GET /metrics with METRICS_TOKEN", () => {
  const token = "metrics-token-for-tests";
  let app: App;
  beforeAll(async () => {
    app = await startTestServer(database.connection, [], { metricsToken: token });
  });
  afterAll(() => app?.close());

  it("refuses a scrape without the token, or with another, with 401", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: token }, authorizationHeader()]) {
      const { response, text } = await scrape(app.url, headers);
      expect([response.status, text]).toEqual([401, JSON.stringify({ error: "unauthorized" })]);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    }
  });

  it("reads METRICS_TOKEN: unset or empty needs none, a word is the token, a value with spaces stops the start", () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: "  " }).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: ` ${token} ` }).metricsToken).toBe(token);
    expect(() => loadConfig({ METRICS_TOKEN: "two words" })).toThrow(ConfigError);
  });

  it("answers a scrape with `Authorization: Bearer <token>`", async () => {
    const { response, text } = await scrape(app.url, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(text).toContain("# TYPE backorder_graphql_request_duration_seconds histogram");
  });
});

describe("operation name labels", () => {
  it("cuts a caller's operation name and counts names past the cap as (other)", () => {
    const metrics = new Metrics({ maxOperationNames: 2 });
    const long = "A".repeat(200);
    expect(metrics.operationLabel(long)).toBe("A".repeat(OPERATION_NAME_MAX_LENGTH));
    expect(metrics.operationLabel("Second")).toBe("Second");
    expect(metrics.operationLabel("Third")).toBe(OTHER_OPERATION);
    // Names already seen keep their label.
    expect(metrics.operationLabel("Second")).toBe("Second");
    expect(metrics.operationLabel(`${long}B`)).toBe("A".repeat(OPERATION_NAME_MAX_LENGTH));
    expect(metrics.operationLabel(null)).toBe("(anonymous)");
  });
});

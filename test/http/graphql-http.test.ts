/**
 * The two ways into /graphql over HTTP (server/http/graphql-http.ts; docs/ARCHITECTURE.md, "The
 * HTTP layer"): a plain JSON POST of up to 64 KB is answered without Express, every other request
 * through it. The same request sent both ways (`POST /graphql?via=express` goes through Express,
 * as any query string does) gets the same answer: status, headers and body, refusals included;
 * which way each took is read from `backorder_graphql_http_requests_total`.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { useFreshDatabase } from "../support/database.js";
import { authorizationHeader, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });

type Path = "direct" | "express";

/** How many requests each way has taken so far. */
async function taken(): Promise<Record<Path, number>> {
  const { values } = await server.app.metrics.graphqlHttpRequests.get();
  const count = (path: Path) => values.find((value) => value.labels.path === path)?.value ?? 0;
  return { direct: count("direct"), express: count("express") };
}

interface Answer {
  status: number;
  /** Every header but the ones that differ by the moment, the connection or the budget left. */
  headers: Record<string, string>;
  body: string;
  path: Path;
}

const VARYING_HEADERS = new Set(["date", "connection", "keep-alive", "content-length"]);

async function send(url: string, init: RequestInit): Promise<Answer> {
  const before = await taken();
  const response = await fetch(url, { method: "POST", ...init });
  const text = await response.text();
  const after = await taken();
  expect(after.direct + after.express - before.direct - before.express, "one request counted").toBe(1);
  expect(Number(response.headers.get("content-length")), "the length of the body sent").toBe(Buffer.byteLength(text));
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!VARYING_HEADERS.has(name)) headers[name] = value;
  });
  // The caller's budget left is one request less the second time; its length may differ with it.
  const body = text.replace(/"remaining":\d+/, '"remaining":"…"');
  return { status: response.status, headers, body, path: after.direct > before.direct ? "direct" : "express" };
}

const JSON_TYPE = { "content-type": "application/json" };
const QUERY = JSON.stringify({ query: "{ __typename }" });

interface Case {
  name: string;
  headers?: Record<string, string>;
  body: string;
  status: number;
  /** What the body must contain, beyond being the same both ways. */
  contains: string;
}

const cases: Case[] = [
  { name: "a query", body: QUERY, status: 200, contains: '"__typename":"Query"' },
  {
    name: "a query with variables",
    body: JSON.stringify({ query: "query($sku: String!) { product(sku: $sku) { id } }", variables: { sku: "NO-SUCH-SKU" } }),
    status: 200,
    contains: '"product":null',
  },
  { name: "an unknown field", body: JSON.stringify({ query: "{ warehouses { id } }" }), status: 400, contains: "GRAPHQL_VALIDATION_FAILED" },
  {
    name: "a mutation refused with a user error",
    body: JSON.stringify({ query: 'mutation { cancelOrder(id: "xyz") { userErrors { code } } }' }),
    status: 200,
    contains: "INVALID_INPUT",
  },
  { name: "a batch", body: JSON.stringify([{ query: "{ __typename }" }]), status: 400, contains: "BAD_REQUEST" },
  { name: "no key", headers: { authorization: "" }, body: QUERY, status: 401, contains: "UNAUTHENTICATED" },
  { name: "an unknown key", headers: authorizationHeader(`bo_${"x".repeat(40)}`), body: QUERY, status: 401, contains: "UNAUTHENTICATED" },
  { name: "malformed JSON", body: "{ not json", status: 400, contains: "BAD_REQUEST" },
  { name: "a JSON null", body: "null", status: 400, contains: `Unexpected token 'n', \\"null\\" is not valid JSON` },
  { name: "a JSON string", body: JSON.stringify("{ __typename }"), status: 400, contains: "BAD_REQUEST" },
  { name: "an empty body", body: "", status: 400, contains: "BAD_REQUEST" },
  { name: "only whitespace", body: " \n ", status: 400, contains: "Unexpected end of JSON input" },
  { name: "a byte-order mark", body: `\ufeff${QUERY}`, status: 200, contains: '"__typename":"Query"' },
  { name: "charset utf-8", headers: { "content-type": "application/json; charset=utf-8" }, body: QUERY, status: 200, contains: "Query" },
  {
    name: "Accept: application/graphql-response+json",
    headers: { accept: "application/graphql-response+json" },
    body: QUERY,
    status: 200,
    contains: "Query",
  },
  { name: "an X-Request-Id", headers: { "x-request-id": "order-page-42" }, body: QUERY, status: 200, contains: "Query" },
];

describe("a plain JSON POST answered directly and the same request through Express", () => {
  for (const { name, headers, body, status, contains } of cases) {
    it(`answer alike: ${name}`, async () => {
      const init = { headers: { ...JSON_TYPE, ...authorizationHeader(), ...headers, "x-request-id": headers?.["x-request-id"] ?? "same-id" }, body };
      const direct = await send(server.url, init);
      const viaExpress = await send(`${server.url}?via=express`, init);
      expect(direct.path).toBe("direct");
      expect(viaExpress.path).toBe("express");
      expect(direct.status).toBe(status);
      expect(direct.body).toContain(contains);
      expect(direct.body).not.toMatch(/at \/|\.ts:|node_modules/);
      expect({ ...direct, path: undefined }).toEqual({ ...viaExpress, path: undefined });
      expect(direct.headers["content-security-policy"]).toMatch(/default-src 'none'/);
      expect(direct.headers["x-request-id"]).toBe(headers?.["x-request-id"] ?? "same-id");
      if (status === 401) expect(direct.headers["www-authenticate"]).toBe('Bearer realm="backorder-engine"');
    });
  }
});

describe("what the direct path leaves to Express", () => {
  const cases: [string, Record<string, string>, string | Uint8Array<ArrayBuffer>][] = [
    ["a body over 64 KB", JSON_TYPE, JSON.stringify({ query: "{ __typename }", variables: { padding: "x".repeat(70_000) } })],
    ["a gzip body", { ...JSON_TYPE, "content-encoding": "gzip" }, new Uint8Array(gzipSync(QUERY))],
    ["charset utf-16le", { "content-type": "application/json; charset=utf-16le" }, new Uint8Array(Buffer.from(QUERY, "utf16le"))],
  ];
  for (const [name, headers, body] of cases) {
    it(`answers ${name} through Express`, async () => {
      const answer = await send(server.url, { headers: { ...headers, ...authorizationHeader() }, body });
      expect(answer.path).toBe("express");
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ data: { __typename: "Query" } });
    });
  }

  it("refuses a content type that is not JSON through Express, as before", async () => {
    const answer = await send(server.url, { headers: { "content-type": "text/plain", ...authorizationHeader() }, body: QUERY });
    expect(answer.path).toBe("express");
    expect(answer.status).toBe(400);
  });
});

it("refuses a request without a key before its body is read, on the direct path", async () => {
  const before = await taken();
  const url = new URL(server.url);
  // The headers promise 100 bytes that never come: the answer cannot wait for them.
  const status = await new Promise<number>((resolve, reject) => {
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: "/graphql",
      method: "POST",
      headers: { ...JSON_TYPE, "content-length": "100" },
    });
    request.on("response", (response) => {
      response.resume();
      resolve(response.statusCode!);
      request.destroy();
    });
    request.on("error", reject);
    request.flushHeaders();
  });
  expect(status).toBe(401);
  expect((await taken()).direct).toBe(before.direct + 1);
});

it("answers 400 to a body shorter than its declared length, and the server goes on", async () => {
  const url = new URL(server.url);
  // Fewer bytes than declared, then the client half-closes: the body ends short.
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: "/graphql",
      method: "POST",
      headers: { ...JSON_TYPE, ...authorizationHeader(), "content-length": String(QUERY.length + 10) },
    });
    request.on("response", (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode!, body }));
    });
    request.on("error", reject);
    request.write(QUERY);
    setTimeout(() => request.socket?.end(), 50);
  }).catch((error: unknown) => ({ status: 0, body: String(error) }));
  // The connection may close before an answer can be read (status 0); no other answer than 400 is right.
  expect([0, 400]).toContain(answer.status);
  expect(await server.data("{ __typename }")).toEqual({ __typename: "Query" });
});

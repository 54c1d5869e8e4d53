/**
 * Authentication (docs/ARCHITECTURE.md, "Access and limits", issue 5): every way a request can come without a valid
 * key gets the same 401 UNAUTHENTICATED, whatever was wrong with it; WebSockets without one are
 * closed with 4401; a revoked key stops working at once, its open subscriptions included (4403);
 * a key's secret is shown once and never again, stored only as a hash, and never logged.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { type App, createApp } from "../../server/http/app.js";
import { MAX_AUTHORIZATION_LENGTH } from "../../server/http/authentication.js";
import { createLogger } from "../../server/logger.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey, generateSecret, revokeApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { KEY_REVOKED_CLOSE, UNAUTHORIZED_CLOSE } from "../../server/http/websocket.js";
import { createRoleKeys, type RoleKey } from "../support/access.js";
import { newProduct } from "../support/catalogue.js";
import { describeOnPostgres, freshDatabase, useFreshDatabase } from "../support/database.js";
import { postGraphQL, startTestServer, TEST_ADMIN_KEY, useTestServer } from "../support/http.js";
import { collect, type Collected, waitFor, wsUrl } from "../support/live.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });
const open: Collected[] = [];
let keys: Record<string, RoleKey>;

beforeAll(async () => {
  keys = await createRoleKeys(database.db, "auth");
});

afterAll(async () => {
  await Promise.all(open.map((collected) => collected.dispose()));
});

const QUERY = "{ products(first: 1) { totalCount } }";
const UNAUTHENTICATED = {
  errors: [{ message: "Unauthorized: send a valid API key as 'Authorization: Bearer <key>'.", extensions: { code: "UNAUTHENTICATED" } }],
};

/** A raw request to /graphql (or `path`), with exactly the headers given. */
async function send(init: { method?: string; headers?: Record<string, string>; body?: string; path?: string }) {
  const response = await fetch(server.url + (init.path ?? ""), {
    method: init.method ?? "POST",
    headers: init.headers,
    body: init.body ?? (init.method === "GET" ? undefined : JSON.stringify({ query: QUERY })),
  });
  return { status: response.status, text: await response.text(), wwwAuthenticate: response.headers.get("www-authenticate") };
}

const JSON_TYPE = { "content-type": "application/json" };

/** A subscription with its own connection, kept open until the file ends. */
async function subscribe(url: string, key: string, query = "subscription { stockChanged { reason } }") {
  const collected = await collect(url, query, {}, { key });
  open.push(collected);
  return collected;
}

/** How the server answers a WebSocket that sends these connection params: the close, or "connected". */
async function connectWith(
  connectionParams: Record<string, unknown> | undefined,
  url = server.url,
): Promise<{ code: number; reason: string } | "connected"> {
  return new Promise((resolve) => {
    const client = createClient({
      url: wsUrl(url),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          resolve("connected");
          void client.dispose();
        },
        closed: (event) => {
          const close = event as { code: number; reason: string };
          resolve({ code: close.code, reason: String(close.reason) });
        },
      },
    });
  });
}

describe("HTTP requests without a valid key", () => {
  const refusals: [string, () => Promise<{ status: number; text: string; wwwAuthenticate: string | null }>][] = [
    ["no Authorization header", () => send({ headers: JSON_TYPE })],
    ["an empty Authorization header", () => send({ headers: { ...JSON_TYPE, authorization: "" } })],
    ["the Bearer scheme without a key", () => send({ headers: { ...JSON_TYPE, authorization: "Bearer" } })],
    ["Bearer with only spaces", () => send({ headers: { ...JSON_TYPE, authorization: "Bearer    " } })],
    [
      "another scheme (Basic)",
      () => send({ headers: { ...JSON_TYPE, authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_KEY}`).toString("base64")}` } }),
    ],
    ["the key without a scheme", () => send({ headers: { ...JSON_TYPE, authorization: TEST_ADMIN_KEY } })],
    ["two keys", () => send({ headers: { ...JSON_TYPE, authorization: `Bearer ${TEST_ADMIN_KEY} ${TEST_ADMIN_KEY}` } })],
    ["characters a key never has", () => send({ headers: { ...JSON_TYPE, authorization: "Bearer bo_<script>alert(1)</script>" } })],
    ["an unknown key of the right shape", () => send({ headers: { ...JSON_TYPE, authorization: `Bearer ${generateSecret()}` } })],
    [
      "a known key with one character changed",
      () => send({ headers: { ...JSON_TYPE, authorization: `Bearer ${TEST_ADMIN_KEY.slice(0, -1)}${TEST_ADMIN_KEY.endsWith("A") ? "B" : "A"}` } }),
    ],
    [
      "the key's SHA-256 hash instead of the key",
      () => send({ headers: { ...JSON_TYPE, authorization: `Bearer ${createHash("sha256").update(TEST_ADMIN_KEY).digest("hex")}` } }),
    ],
    ["an oversized header", () => send({ headers: { ...JSON_TYPE, authorization: `Bearer ${"a".repeat(MAX_AUTHORIZATION_LENGTH)}` } })],
    [
      "a valid key padded past the size limit",
      () => send({ headers: { ...JSON_TYPE, authorization: `Bearer${" ".repeat(MAX_AUTHORIZATION_LENGTH)}${TEST_ADMIN_KEY}` } }),
    ],
    [
      "the key in the query string",
      () => send({ headers: JSON_TYPE, path: `?api_key=${TEST_ADMIN_KEY}&access_token=${TEST_ADMIN_KEY}&key=${TEST_ADMIN_KEY}` }),
    ],
    ["the key in a cookie", () => send({ headers: { ...JSON_TYPE, cookie: `api_key=${TEST_ADMIN_KEY}; authorization=Bearer%20${TEST_ADMIN_KEY}` } })],
    [
      "the key in the body",
      () =>
        send({
          headers: JSON_TYPE,
          body: JSON.stringify({ query: QUERY, authorization: `Bearer ${TEST_ADMIN_KEY}`, extensions: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
        }),
    ],
    [
      "the key in another header",
      () => send({ headers: { ...JSON_TYPE, "x-api-key": TEST_ADMIN_KEY, "proxy-authorization": `Bearer ${TEST_ADMIN_KEY}` } }),
    ],
    ["a GET without a key", () => send({ method: "GET", path: `?query=${encodeURIComponent(QUERY)}`, headers: { "apollo-require-preflight": "1" } })],
    [
      "a GET with the key in the query string",
      () => send({ method: "GET", path: `?query=${encodeURIComponent(QUERY)}&api_key=${TEST_ADMIN_KEY}`, headers: { "apollo-require-preflight": "1" } }),
    ],
  ];

  it.each(refusals)("refuses %s with 401 UNAUTHENTICATED and the one generic body", async (_name, request) => {
    const response = await request();
    expect(response.status).toBe(401);
    expect(JSON.parse(response.text)).toEqual(UNAUTHENTICATED);
    expect(response.wwwAuthenticate).toBe('Bearer realm="backorder-engine"');
    expect(response.text).not.toContain(TEST_ADMIN_KEY);
  });

  it("answers a revoked key exactly as it answers a key that never existed", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "to revoke", role: "READER" });
    await revokeApiKey(database.db, apiKey.id);
    const revoked = await send({ headers: { ...JSON_TYPE, authorization: `Bearer ${secret}` } });
    const unknown = await send({ headers: { ...JSON_TYPE, authorization: `Bearer ${generateSecret()}` } });
    expect(revoked).toEqual(unknown);
    expect(revoked.status).toBe(401);
  });

  it("runs nothing for a refused request", async () => {
    const sku = `NEVER-${Date.now()}`;
    const response = await send({
      headers: JSON_TYPE,
      body: JSON.stringify({ query: `mutation { createProduct(input: { sku: "${sku}", name: "x", price: "1.00" }) { product { id } } }` }),
    });
    expect(response.status).toBe(401);
    expect(await rows(database.db, sql`SELECT 1 FROM products WHERE sku = ${sku}`)).toEqual([]);
  });

  it("refuses a request without a key before reading its body", async () => {
    // Over the body limit: with a key this is 413; without one the body is never parsed.
    const response = await send({ headers: JSON_TYPE, body: JSON.stringify({ query: QUERY, padding: "x".repeat(2_000_000) }) });
    expect(response.status).toBe(401);
  });
});

describe("HTTP requests with a valid key", () => {
  it("accepts the Bearer scheme in any case, for POST and GET", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const response = await send({ headers: { ...JSON_TYPE, authorization: `${scheme} ${keys.READER.secret}` } });
      expect(response.status, scheme).toBe(200);
    }
    const get = await send({
      method: "GET",
      path: `?query=${encodeURIComponent(QUERY)}`,
      headers: { authorization: `Bearer ${keys.READER.secret}`, "apollo-require-preflight": "1" },
    });
    expect(get.status, get.text).toBe(200);
    expect(JSON.parse(get.text).data.products.totalCount).toEqual(expect.any(Number));
  });

  it("stops accepting a key the moment it is revoked", async () => {
    const created = await server.data(`mutation { createApiKey(input: { name: "short-lived", role: OPERATOR }) { apiKey { id } secret } }`);
    const { secret, apiKey } = created.createApiKey;
    expect((await postGraphQL(server.url, QUERY, {}, { key: secret })).status).toBe(200);
    const revoked = await server.data(`mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } userErrors { code } } }`, { id: apiKey.id });
    expect(revoked.revokeApiKey.userErrors).toEqual([]);
    expect(revoked.revokeApiKey.apiKey.revokedAt).toEqual(expect.any(String));
    const after = await postGraphQL(server.url, QUERY, {}, { key: secret });
    expect(after.status).toBe(401);
    expect(after.body).toEqual(UNAUTHENTICATED);
  });

  it("answers 503 (PostgreSQL) or 500 (PGlite), not 401, when the key cannot be checked because the database is gone", async () => {
    const throwaway = await freshDatabase();
    const logLines: string[] = [];
    let app: App | undefined;
    try {
      app = await startTestServer(throwaway.connection, logLines, { delaySweepMs: 0 });
      await throwaway.close();
      const response = await postGraphQL(app.url, QUERY);
      if (throwaway.kind === "postgres") {
        // A closed PostgreSQL pool is an outage the client can retry (server/graphql/database-unavailable.ts).
        expect(response.status).toBe(503);
        expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(["SERVICE_UNAVAILABLE"]);
        expect(logLines.some((line) => JSON.parse(line).msg === "database unavailable")).toBe(true);
      } else {
        expect(response.status).toBe(500);
        expect(response.body).toEqual({ errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
        expect(logLines.some((line) => JSON.parse(line).msg === "http error")).toBe(true);
      }
      expect(logLines.join("\n")).not.toContain(TEST_ADMIN_KEY);
    } finally {
      await app?.close();
      await throwaway.close().catch(() => {});
    }
  });
});

describe("WebSocket connections", () => {
  it.each([
    ["no connection params", undefined],
    ["params without authorization", { token: TEST_ADMIN_KEY }],
    ["an empty authorization", { authorization: "" }],
    ["an authorization that is not a string", { authorization: { bearer: TEST_ADMIN_KEY } }],
    ["an unknown key", { authorization: `Bearer ${generateSecret()}` }],
    ["another scheme", { authorization: `Basic ${TEST_ADMIN_KEY}` }],
    ["an oversized authorization", { authorization: `Bearer ${"a".repeat(MAX_AUTHORIZATION_LENGTH)}` }],
  ] as const)("closes a connection with %s with 4401 Unauthorized", async (_name, params) => {
    expect(await connectWith(params as Record<string, unknown> | undefined)).toEqual({ code: UNAUTHORIZED_CLOSE, reason: "Unauthorized" });
  });

  it("closes a connection with a revoked key with 4401", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "revoked before connecting", role: "READER" });
    await revokeApiKey(database.db, apiKey.id);
    expect(await connectWith({ authorization: `Bearer ${secret}` })).toEqual({ code: UNAUTHORIZED_CLOSE, reason: "Unauthorized" });
  });

  it("refuses the key in the URL's query string", async () => {
    const url = `${server.url}?authorization=${encodeURIComponent(`Bearer ${TEST_ADMIN_KEY}`)}&api_key=${TEST_ADMIN_KEY}`;
    expect(await connectWith(undefined, url)).toEqual({ code: UNAUTHORIZED_CLOSE, reason: "Unauthorized" });
  });

  it("accepts `Bearer <key>` and the bare key", async () => {
    expect(await connectWith({ authorization: `Bearer ${keys.READER.secret}` })).toBe("connected");
    expect(await connectWith({ authorization: keys.READER.secret })).toBe("connected");
  });

  it("never runs a subscription for a connection that was refused", async () => {
    const socket = new WebSocket(wsUrl(server.url), "graphql-transport-ws");
    const messages: string[] = [];
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    socket.on("message", (data) => messages.push(String(data)));
    await new Promise((resolve) => socket.on("open", resolve));
    // Subscribe without waiting for an ack that never comes.
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer nope" } }));
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { stockChanged { reason } }" } }));
    expect(await closed).toBe(UNAUTHORIZED_CLOSE);
    expect(messages.filter((message) => JSON.parse(message).type === "next")).toEqual([]);
  });
});

describe("revoking a key with open subscriptions", () => {
  it("closes every connection of that key with 4403 and leaves the others open", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "dashboard", role: "READER" });
    const first = await subscribe(server.url, secret);
    const second = await subscribe(server.url, secret, "subscription { orderChanged { kind } }");
    const bystander = await subscribe(server.url, keys.READER.secret);
    const response = await server.data(`mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`, {
      id: toGlobalId("ApiKey", apiKey.id),
    });
    expect(response.revokeApiKey.userErrors).toEqual([]);
    await waitFor(() => first.closed !== null && second.closed !== null, "both connections of the revoked key to close");
    expect(first.closed).toEqual({ code: KEY_REVOKED_CLOSE, reason: "API key revoked" });
    expect(second.closed).toEqual({ code: KEY_REVOKED_CLOSE, reason: "API key revoked" });
    // The other key's subscription still delivers.
    const product = await newProduct(database.db);
    await placeOrder(database.db, { customer: "after@example.com", lines: [{ productId: product.id, quantity: 1 }] });
    await waitFor(() => bystander.events.length > 0, "the bystander's event");
    expect(bystander.closed).toBeNull();
  });

  it("closes them also when the key is revoked outside this server (the CLI)", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "cli-revoked", role: "STOREFRONT" });
    const sub = await subscribe(server.url, secret);
    // What `npm run keys -- revoke` does: the service, with no event hub of its own.
    await revokeApiKey(database.db, apiKey.id);
    await waitFor(() => sub.closed !== null, "the connection to close");
    expect(sub.closed).toEqual({ code: KEY_REVOKED_CLOSE, reason: "API key revoked" });
  });
});

describeOnPostgres("revoking on one instance of two", () => {
  let second: App;
  let secondConnection: Connection;
  beforeAll(async () => {
    secondConnection = await connect({ databaseUrl: database.url });
    second = await createApp({ port: 0, connection: secondConnection, migrate: false, delaySweepMs: 0, logger: createLogger({ level: "silent" }) });
  });
  afterAll(async () => {
    await second?.close();
    await secondConnection?.close();
  });

  it("closes the key's subscriptions on the other instance too, and refuses it there as soon as that instance hears of it", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "two instances", role: "READER" });
    const there = await subscribe(second.url, secret);
    // Used twice there: the second answer comes from that instance's cache of active keys.
    expect((await postGraphQL(second.url, QUERY, {}, { key: secret })).status).toBe(200);
    expect((await postGraphQL(second.url, QUERY, {}, { key: secret })).status).toBe(200);
    await server.data(`mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`, { id: toGlobalId("ApiKey", apiKey.id) });
    // The other instance's hub reads the revocation's event (NOTIFY, else its poll) and drops the cached key.
    let status = 0;
    await waitFor(
      async () => (status = (await postGraphQL(second.url, QUERY, {}, { key: secret })).status) === 401,
      "the other instance to refuse the key",
      3000,
    );
    expect(status).toBe(401);
    await waitFor(() => there.closed !== null, "the other instance to close the connection", 3000);
    expect(there.closed).toEqual({ code: KEY_REVOKED_CLOSE, reason: "API key revoked" });
  });
});

describe("secrets", () => {
  it("shows a new key's secret once, in createApiKey's answer, and stores only its hash", async () => {
    const created = await server.gql(
      `mutation { createApiKey(input: { name: "Acme", role: READER }) { apiKey { id name role prefix createdAt lastUsedAt revokedAt } secret userErrors { code } } }`,
    );
    const { apiKey, secret, userErrors } = created.body.data.createApiKey;
    expect(userErrors).toEqual([]);
    expect(secret).toMatch(/^bo_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: "Acme", role: "READER", lastUsedAt: null, revokedAt: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.prefix.length).toBeLessThanOrEqual(9);

    const listed = await postGraphQL(server.url, `{ apiKeys(first: 100) { totalCount nodes { id name role prefix createdAt lastUsedAt revokedAt } } }`);
    expect(listed.body.data.apiKeys.nodes).toContainEqual(apiKey);
    expect(listed.text).not.toContain(secret);
    const node = await postGraphQL(server.url, `query($id: ID!) { node(id: $id) { ... on ApiKey { name prefix } } }`, { id: apiKey.id });
    expect(node.text).not.toContain(secret);

    const stored = await rows<Record<string, unknown>>(database.db, sql`SELECT * FROM api_keys`);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored.map((row) => row.secret_hash)).toContain(createHash("sha256").update(secret).digest("hex"));

    // The secret works at once, with its role.
    const forbidden = await postGraphQL(server.url, `{ apiKeys { totalCount } }`, {}, { key: secret });
    expect(forbidden.body.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });

  it("has no field that could give a secret or its hash away", async () => {
    const { data } = await server.gql(`{ __type(name: "ApiKey") { fields { name } } }`).then((r) => r.body);
    expect(data.__type.fields.map((field: { name: string }) => field.name).sort()).toEqual([
      "createdAt",
      "id",
      "lastUsedAt",
      "name",
      "prefix",
      "revokedAt",
      "role",
    ]);
  });

  it("refuses a bad name as a userError and creates nothing", async () => {
    const before = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM api_keys`);
    for (const name of ["", "   ", "x".repeat(201), "tab\there"]) {
      const response = await server.data(
        `mutation($name: String!) { createApiKey(input: { name: $name, role: READER }) { apiKey { id } secret userErrors { code field } } }`,
        { name },
      );
      expect(response.createApiKey).toEqual({ apiKey: null, secret: null, userErrors: [{ code: "INVALID_INPUT", field: ["input", "name"] }] });
    }
    expect(await rows(database.db, sql`SELECT count(*)::int AS n FROM api_keys`)).toEqual(before);
    const badRole = await server.gql(`mutation { createApiKey(input: { name: "x", role: ROOT }) { secret } }`);
    expect(badRole.body.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("refuses revoking an unknown, a malformed, another type's and a revoked key's id", async () => {
    const revoke = async (id: string) =>
      (await server.data(`mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } userErrors { code field } } }`, { id })).revokeApiKey;
    expect(await revoke(toGlobalId("ApiKey", 987_654))).toEqual({ apiKey: null, userErrors: [{ code: "NOT_FOUND", field: ["id"] }] });
    expect(await revoke("not-an-id")).toEqual({ apiKey: null, userErrors: [{ code: "INVALID_INPUT", field: ["id"] }] });
    expect(await revoke(toGlobalId("Product", 1))).toEqual({ apiKey: null, userErrors: [{ code: "NOT_FOUND", field: ["id"] }] });
    const { apiKey } = await createApiKey(database.db, { name: "twice", role: "READER" });
    expect((await revoke(toGlobalId("ApiKey", apiKey.id))).userErrors).toEqual([]);
    expect(await revoke(toGlobalId("ApiKey", apiKey.id))).toEqual({ apiKey: null, userErrors: [{ code: "INVALID_STATE", field: ["id"] }] });
  });

  it("never writes a key's secret to the log, whatever happens to the request", async () => {
    const logLines = server.logLines;
    const from = logLines.length;
    const { body } = await server.gql(`mutation { createApiKey(input: { name: "logged?", role: OPERATOR }) { apiKey { id } secret } }`);
    const { secret, apiKey } = body.data.createApiKey;
    const hash = createHash("sha256").update(secret).digest("hex");
    await postGraphQL(server.url, QUERY, {}, { key: secret }); // succeeds
    await postGraphQL(server.url, `{ apiKeys { totalCount } }`, {}, { key: secret }); // FORBIDDEN
    await postGraphQL(server.url, `{ nope }`, {}, { key: secret }); // invalid
    await postGraphQL(server.url, QUERY, {}, { key: `${secret}x` }); // unknown
    await postGraphQL(server.url, QUERY, {}, { headers: { authorization: `Bearer ${secret} ${secret}` } }); // malformed
    await postGraphQL(server.url, `query($s: String!) { product(sku: $s) { id } }`, { s: secret }, { key: secret });
    expect(await connectWith({ authorization: `${secret}-wrong` })).toMatchObject({ code: UNAUTHORIZED_CLOSE });
    const sub = await subscribe(server.url, secret);
    await server.data(`mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }`, { id: apiKey.id });
    await waitFor(() => sub.closed !== null, "the revoked key's subscription to close");
    await postGraphQL(server.url, QUERY, {}, { key: secret }); // revoked

    const written = logLines.slice(from);
    expect(written.length).toBeGreaterThan(5);
    for (const line of written) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain(secret.slice(10, 30));
      expect(line).not.toContain(hash);
    }
    for (const line of logLines) expect(line).not.toContain(TEST_ADMIN_KEY);
    // What is logged instead: the key's id.
    const requests = written.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "graphql request");
    expect(requests.map((entry) => entry.apiKeyId)).toContain(Number(Buffer.from(apiKey.id, "base64url").toString().split(":")[1]));
  });
});

describe("lastUsedAt", () => {
  it("records a key's use, at most once a minute", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "usage", role: "READER" });
    const lastUsed = async () =>
      (await rows<{ at: string | null }>(database.db, sql`SELECT last_used_at::text AS at FROM api_keys WHERE id = ${apiKey.id}`))[0].at;
    expect(await lastUsed()).toBeNull();
    await postGraphQL(server.url, QUERY, {}, { key: secret });
    const first = await lastUsed();
    expect(first).not.toBeNull();
    for (let i = 0; i < 5; i++) await postGraphQL(server.url, QUERY, {}, { key: secret });
    expect(await lastUsed()).toBe(first);
  });
});

describe("BOOTSTRAP_ADMIN_KEY", () => {
  it("makes sure one ADMIN key with the secret exists, however often the server starts", async () => {
    const secret = `bootstrap-${"x1".repeat(12)}`;
    const logLines: string[] = [];
    for (let i = 0; i < 2; i++) {
      const app = await startTestServer(database.connection, logLines, { bootstrapAdminKey: secret, delaySweepMs: 0 });
      try {
        const response = await postGraphQL(app.url, `{ apiKeys(first: 100) { nodes { name role prefix } } }`, {}, { key: secret });
        expect(response.body.errors).toBeUndefined();
      } finally {
        await app.close();
      }
    }
    const found = await rows<{ role: string; prefix: string }>(
      database.db,
      sql`SELECT role, prefix FROM api_keys WHERE secret_hash = ${createHash("sha256").update(secret).digest("hex")}`,
    );
    expect(found).toEqual([{ role: "ADMIN", prefix: secret.slice(0, 6) }]);
    expect(logLines.join("\n")).not.toContain(secret);
  });

  it("leaves a revoked bootstrap key revoked, and says so", async () => {
    const secret = `bootstrap-revoked-${"y2".repeat(8)}`;
    const first = await startTestServer(database.connection, [], { bootstrapAdminKey: secret, delaySweepMs: 0 });
    await first.close();
    const [{ id }] = await rows<{ id: number }>(
      database.db,
      sql`SELECT id FROM api_keys WHERE secret_hash = ${createHash("sha256").update(secret).digest("hex")}`,
    );
    await revokeApiKey(database.db, Number(id));
    const logLines: string[] = [];
    const again = await startTestServer(database.connection, logLines, { bootstrapAdminKey: secret, delaySweepMs: 0 });
    try {
      expect((await postGraphQL(again.url, QUERY, {}, { key: secret })).status).toBe(401);
      expect(logLines.some((line) => JSON.parse(line).msg.startsWith("BOOTSTRAP_ADMIN_KEY names a revoked key"))).toBe(true);
    } finally {
      await again.close();
    }
  });

  it("refuses to start with a secret too short to be safe", async () => {
    await expect(startTestServer(database.connection, [], { bootstrapAdminKey: "short" })).rejects.toThrow(/at least|20 to 256/);
  });
});

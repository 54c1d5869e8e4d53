/**
 * Webhook endpoints over real HTTP (docs/ARCHITECTURE.md, "Webhooks"): the secret
 * is answered once and by nothing after; endpoints, deliveries and their mutations are ADMIN's;
 * deliveries page newest first with a status filter, a page of endpoints with theirs in a fixed
 * number of statements; webhookHealth gives every role its figures without URL paths; and
 * redeliverWebhooks queues again exactly the deliveries after a cursor. URLs pointing inside
 * (loopback, private, link-local, localhost) are refused unless the server allows them
 * (WEBHOOK_ALLOW_PRIVATE_URLS).
 */
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { toEventCursor } from "../../server/services/event-cursor.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createWebhookEndpoint } from "../../server/services/webhook-endpoint.service.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { collect } from "../support/live.js";

const database = useFreshDatabase();
// No worker: the deliveries these tests insert stay as they are written. The hub polls rarely so
// its reads stay out of countStatements' window (see test/graphql/queries.test.ts).
const server = useTestServer(database, { webhooks: { enabled: false }, live: { pollMs: 3_600_000 } });
const { gql, data } = server;
const { webhookDeliveries, webhookEndpoints } = schema;

let keys: Record<ApiKeyRole, RoleKey>;
beforeAll(async () => {
  keys = await createRoleKeys(database.db, "webhooks");
});
afterEach(async () => {
  await database.db.delete(webhookEndpoints);
});

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  endpoint { id url events enabled createdAt } secret userErrors { code field message } } }`;
const REDELIVER = `mutation($id: ID!, $after: String!) { redeliverWebhooks(endpointId: $id, after: $after) { queued userErrors { code field message } } }`;

/** Inserts deliveries of `endpointId` directly (the worker's rows), at event positions `fromSeq`, `fromSeq + 1`, … */
async function deliveries(endpointId: number, statuses: ("PENDING" | "DELIVERED" | "FAILED")[], fromSeq = 1) {
  await database.db.insert(webhookDeliveries).values(
    statuses.map((status, index) => ({
      endpointId,
      eventId: `evt_${endpointId}_${fromSeq + index}`,
      eventType: "ORDER_SHIPPED" as const,
      eventSeq: fromSeq + index,
      payload: { type: "order.shipped" },
      status,
      attempts: status === "PENDING" ? 0 : status === "FAILED" ? 8 : 1,
      lastAttemptAt: status === "PENDING" ? null : new Date(Date.UTC(2030, 0, 1, 0, fromSeq + index)),
    })),
  );
}

async function endpoint(url = "https://hooks.example.com/in?token=t0ken") {
  return (await createWebhookEndpoint(database.db, { url, events: ["ORDER_SHIPPED"] })).endpoint;
}

/** Counts the SQL statements the server runs while `work` runs (every statement goes through prepareQuery). */
async function countStatements(work: () => Promise<unknown>): Promise<number> {
  await server.app.hub.settled();
  const session = (database.db as unknown as { session: { prepareQuery: (...args: unknown[]) => unknown } }).session;
  const original = session.prepareQuery;
  let count = 0;
  session.prepareQuery = function (this: unknown, ...args: unknown[]) {
    count += 1;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    session.prepareQuery = original;
  }
  return count;
}

describe("createWebhookEndpoint", () => {
  it("answers the secret once; no later read shows it, and no field of the schema can", async () => {
    const created = (await data(CREATE, { input: { url: "https://hooks.example.com/in", events: ["ORDER_DELAYED", "REFUND_DUE", "ORDER_DELAYED"] } }))
      .createWebhookEndpoint;
    expect(created.userErrors).toEqual([]);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({ url: "https://hooks.example.com/in", events: ["ORDER_DELAYED", "REFUND_DUE"], enabled: true });
    const secretPart = created.secret.slice("whsec_".length);

    const reads = [
      await gql("{ webhookEndpoints { nodes { id url events enabled createdAt } } }"),
      await gql("query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { url events } } }", { id: created.endpoint.id }),
      await gql("{ webhookHealth { endpoints { endpointId host } } }"),
    ];
    for (const read of reads) {
      expect(read.body.errors, read.text).toBeUndefined();
      expect(read.text).toContain(created.endpoint.id);
      expect(read.text).not.toContain(secretPart);
    }
    const fields = await data(`{ __type(name: "WebhookEndpoint") { fields { name } } }`);
    expect(fields.__type.fields.map((field: { name: string }) => field.name).sort()).toEqual([
      "createdAt",
      "deliveries",
      "enabled",
      "events",
      "id",
      "url",
    ]);
  });

  it("refuses bad input as userErrors with the field, and creates nothing", async () => {
    const before = await databaseDigest(database.db);
    const cases: [Record<string, unknown>, string[]][] = [
      [{ url: "ftp://hooks.example.com/in", events: ["ORDER_SHIPPED"] }, ["input", "url"]],
      [{ url: "https://user:pw@hooks.example.com/in", events: ["ORDER_SHIPPED"] }, ["input", "url"]],
      [{ url: "https://hooks.example.com/in#frag", events: ["ORDER_SHIPPED"] }, ["input", "url"]],
      [{ url: `https://hooks.example.com/${"a".repeat(2048)}`, events: ["ORDER_SHIPPED"] }, ["input", "url"]],
      [{ url: "https://hooks.example.com/in", events: [] }, ["input", "events"]],
    ];
    for (const [input, field] of cases) {
      const answer = (await data(CREATE, { input })).createWebhookEndpoint;
      expect(answer, JSON.stringify(input)).toMatchObject({ endpoint: null, secret: null, userErrors: [{ code: "INVALID_INPUT", field }] });
    }
    // Not a WebhookEventType: GraphQL refuses the variable before anything runs.
    const unknown = await gql(CREATE, { input: { url: "https://hooks.example.com/in", events: ["ORDER_LOST"] } });
    expect(unknown.body.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("is refused to OPERATOR and READER keys, as are the endpoints and node(id:) of one", async () => {
    const made = await endpoint();
    const id = toGlobalId("WebhookEndpoint", made.id);
    for (const role of ["OPERATOR", "READER"] as const) {
      const key = keys[role].secret;
      const create = await gql(CREATE, { input: { url: "https://hooks.example.com/x", events: ["ORDER_SHIPPED"] } }, { key });
      expect(create.body.errors?.[0].extensions?.code, role).toBe("FORBIDDEN");
      const list = await gql("{ webhookEndpoints { nodes { url } } }", {}, { key });
      expect(list.body.errors?.[0].extensions?.code, role).toBe("FORBIDDEN");
      const node = await gql("query($id: ID!) { node(id: $id) { id } }", { id }, { key });
      expect(node.body.errors?.[0].extensions?.code, role).toBe("FORBIDDEN");
      expect(node.text).not.toContain("hooks.example.com");
    }
    expect(await database.db.$count(webhookEndpoints)).toBe(1);
  });
});

describe("URLs that point inside", () => {
  const INSIDE: [string, string][] = [
    ["http://127.0.0.1:8080/hooks", "127.0.0.1 is loopback"],
    ["http://[::1]/hooks", "::1 is loopback"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"],
    ["http://10.1.2.3/hooks", "10.1.2.3 is private"],
    ["http://localhost:3000/hooks", "localhost is loopback"],
  ];
  const UPDATE = `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) {
    endpoint { url } userErrors { code field message } } }`;

  it("are refused by create and update as INVALID_INPUT on input.url, and nothing is written", async () => {
    const made = await endpoint();
    const id = toGlobalId("WebhookEndpoint", made.id);
    const before = await databaseDigest(database.db);
    for (const [url, why] of INSIDE) {
      const userErrors = [{ code: "INVALID_INPUT", field: ["input", "url"], message: `url must point at a public address: ${why}` }];
      expect((await data(CREATE, { input: { url, events: ["ORDER_SHIPPED"] } })).createWebhookEndpoint, url).toEqual({
        endpoint: null,
        secret: null,
        userErrors,
      });
      expect((await data(UPDATE, { id, input: { url } })).updateWebhookEndpoint, url).toEqual({ endpoint: null, userErrors });
    }
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("a public IP literal and a name (not resolved) are accepted", async () => {
    for (const url of ["https://93.184.216.34/in", "https://hooks.example.com/in"]) {
      const answer = (await data(CREATE, { input: { url, events: ["ORDER_SHIPPED"] } })).createWebhookEndpoint;
      expect(answer, url).toMatchObject({ endpoint: { url }, userErrors: [] });
    }
  });

  it("are refused over WebSocket too", async () => {
    const over = await collect(server.url, CREATE, { input: { url: "http://127.0.0.1:8080/hooks", events: ["ORDER_SHIPPED"] } });
    await over.ended;
    expect(over.events).toEqual([
      {
        endpoint: null,
        secret: null,
        userErrors: [{ code: "INVALID_INPUT", field: ["input", "url"], message: "url must point at a public address: 127.0.0.1 is loopback" }],
      },
    ]);
    await over.dispose();
    expect(await database.db.$count(webhookEndpoints)).toBe(0);
  });

  describe("on a server with WEBHOOK_ALLOW_PRIVATE_URLS", () => {
    const permissive = useTestServer(database, { webhooks: { enabled: false, allowPrivateUrls: true }, live: { pollMs: 3_600_000 } });

    it("are accepted by create and update, over HTTP and WebSocket", async () => {
      for (const [url] of INSIDE) {
        const created = (await permissive.data(CREATE, { input: { url, events: ["ORDER_SHIPPED"] } })).createWebhookEndpoint;
        expect(created, url).toMatchObject({ endpoint: { url }, userErrors: [] });
        const updated = (await permissive.data(UPDATE, { id: created.endpoint.id, input: { url: "http://192.168.1.10/in" } })).updateWebhookEndpoint;
        expect(updated, url).toEqual({ endpoint: { url: "http://192.168.1.10/in" }, userErrors: [] });
      }
      const over = await collect(permissive.url, CREATE, { input: { url: "http://127.0.0.1:8080/ws", events: ["ORDER_SHIPPED"] } });
      await over.ended;
      expect(over.events).toMatchObject([{ endpoint: { url: "http://127.0.0.1:8080/ws" }, userErrors: [] }]);
      await over.dispose();
    });
  });
});

describe("update and delete", () => {
  it("update changes what is given; delete takes the deliveries; unknown and wrong-type ids are refused", async () => {
    const made = await endpoint();
    await deliveries(made.id, ["PENDING", "FAILED"]);
    const id = toGlobalId("WebhookEndpoint", made.id);
    const UPDATE = `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) {
      endpoint { id url events enabled } userErrors { code field } } }`;
    const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { endpoint { id url } userErrors { code field } } }`;
    expect((await data(UPDATE, { id, input: { enabled: false } })).updateWebhookEndpoint).toMatchObject({
      endpoint: { id, url: made.url, events: ["ORDER_SHIPPED"], enabled: false },
      userErrors: [],
    });
    expect((await data(UPDATE, { id, input: { url: "javascript:alert(1)" } })).updateWebhookEndpoint.userErrors).toEqual([
      { code: "INVALID_INPUT", field: ["input", "url"] },
    ]);
    expect((await data(UPDATE, { id: toGlobalId("Product", made.id), input: { enabled: true } })).updateWebhookEndpoint.userErrors).toEqual([
      { code: "NOT_FOUND", field: ["id"] },
    ]);
    expect((await data(UPDATE, { id: "not-an-id", input: { enabled: true } })).updateWebhookEndpoint.userErrors).toEqual([
      { code: "INVALID_INPUT", field: ["id"] },
    ]);
    expect((await data(DELETE, { id })).deleteWebhookEndpoint).toMatchObject({ endpoint: { id, url: made.url }, userErrors: [] });
    expect(await database.db.$count(webhookDeliveries)).toBe(0);
    expect((await data(DELETE, { id })).deleteWebhookEndpoint.userErrors).toEqual([{ code: "NOT_FOUND", field: ["id"] }]);
  });
});

describe("deliveries", () => {
  const PAGE = `query($status: DeliveryStatus, $after: String) { webhookEndpoints { nodes { id deliveries(status: $status, first: 2, after: $after) {
    totalCount totalCountPrecision pageInfo { hasNextPage endCursor }
    nodes { id eventType eventId status attempts lastAttemptAt nextAttemptAt responseStatus lastError } } } } }`;

  it("pages newest first, filters by status, and finds each by node(id:)", async () => {
    const made = await endpoint();
    await deliveries(made.id, ["DELIVERED", "FAILED", "PENDING", "FAILED", "DELIVERED"]);
    const first = (await data(PAGE, {})).webhookEndpoints.nodes[0].deliveries;
    expect(first.totalCount).toBe(5);
    expect(first.totalCountPrecision).toBe("EXACT");
    expect(first.nodes.map((d: { eventId: string }) => d.eventId)).toEqual([`evt_${made.id}_5`, `evt_${made.id}_4`]);
    expect(first.nodes[0]).toMatchObject({ eventType: "ORDER_SHIPPED", status: "DELIVERED", attempts: 1, nextAttemptAt: null });
    const second = (await data(PAGE, { after: first.pageInfo.endCursor })).webhookEndpoints.nodes[0].deliveries;
    expect(second.nodes.map((d: { eventId: string }) => d.eventId)).toEqual([`evt_${made.id}_3`, `evt_${made.id}_2`]);
    expect(second.nodes[0]).toMatchObject({ status: "PENDING", lastAttemptAt: null });
    expect(Date.parse(second.nodes[0].nextAttemptAt)).not.toBeNaN();

    const failed = (await data(PAGE, { status: "FAILED" })).webhookEndpoints.nodes[0].deliveries;
    expect(failed.totalCount).toBe(2);
    expect(failed.nodes.map((d: { status: string; eventId: string }) => [d.status, d.eventId])).toEqual([
      ["FAILED", `evt_${made.id}_4`],
      ["FAILED", `evt_${made.id}_2`],
    ]);
    const node = await data("query($id: ID!) { node(id: $id) { ... on WebhookDelivery { eventId status } } }", { id: failed.nodes[0].id });
    expect(node.node).toEqual({ eventId: `evt_${made.id}_4`, status: "FAILED" });

    const bad = await gql(PAGE, { after: "not-a-cursor" });
    expect(bad.body.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: "after" });
  });

  it("reads the deliveries of a page of endpoints in the same number of statements, whatever its size", async () => {
    // The least of three runs: a statement of the request's bookkeeping (a key's last use, its cost
    // budget) may land in any one window; a statement per endpoint would show in all of them.
    const measure = async () => {
      const counts: number[] = [];
      for (let run = 0; run < 3; run++) {
        counts.push(
          await countStatements(() => data("{ webhookEndpoints(first: 50) { nodes { id deliveries(first: 3) { totalCount nodes { id status } } } } }")),
        );
      }
      return Math.min(...counts);
    };
    for (let i = 0; i < 2; i++) await deliveries((await endpoint(`https://a${i}.example.com/`)).id, ["PENDING", "DELIVERED"]);
    const few = await measure();
    for (let i = 0; i < 6; i++) await deliveries((await endpoint(`https://b${i}.example.com/`)).id, ["FAILED", "DELIVERED", "PENDING"]);
    const many = await measure();
    expect(few).toBeGreaterThan(0);
    expect(many).toBe(few);
  });
});

describe("webhookHealth", () => {
  const HEALTH = `{ webhookHealth { pending failed endpoints { endpointId host enabled pending failed oldestPendingAt lastDeliveredAt lastFailureAt failing } } }`;

  it("gives a READER each endpoint's origin, pending, dead letters and whether it is failing; never a path or token", async () => {
    const healthy = await endpoint("https://healthy.example.com/hooks/t0ken-healthy?sig=abc");
    const down = await endpoint("http://down.example.com:8080/hooks/t0ken-down");
    // healthy: a dead letter at minute 1, deliveries after it; two waiting, not yet tried.
    await deliveries(healthy.id, ["FAILED", "DELIVERED", "DELIVERED", "PENDING", "PENDING"]);
    // down: delivered at minute 1, dead letters at minutes 2 and 3 after its last success.
    await deliveries(down.id, ["DELIVERED", "FAILED", "FAILED", "PENDING"]);
    const response = await gql(HEALTH, {}, { key: keys.READER.secret });
    expect(response.body.errors, response.text).toBeUndefined();
    expect(response.text).not.toContain("t0ken");
    expect(response.text).not.toContain("/hooks");
    const health = response.body.data.webhookHealth;
    expect(health).toMatchObject({ pending: 3, failed: 3 });
    const minute = (m: number) => new Date(Date.UTC(2030, 0, 1, 0, m)).toISOString();
    expect(health.endpoints).toEqual([
      {
        endpointId: toGlobalId("WebhookEndpoint", healthy.id),
        host: "https://healthy.example.com",
        enabled: true,
        pending: 2,
        failed: 1,
        oldestPendingAt: expect.any(String),
        lastDeliveredAt: minute(3),
        lastFailureAt: minute(1),
        failing: false,
      },
      {
        endpointId: toGlobalId("WebhookEndpoint", down.id),
        host: "http://down.example.com:8080",
        enabled: true,
        pending: 1,
        failed: 2,
        oldestPendingAt: expect.any(String),
        lastDeliveredAt: minute(1),
        lastFailureAt: minute(3),
        failing: true,
      },
    ]);
  });

  it("takes the oldest pending delivery's queueing time, and counts a failed retry as the latest failure", async () => {
    const made = await endpoint();
    await deliveries(made.id, ["DELIVERED", "PENDING", "PENDING"]);
    await database.db
      .update(webhookDeliveries)
      .set({ createdAt: new Date("2030-01-02T00:00:00Z") })
      .where(eq(webhookDeliveries.eventId, `evt_${made.id}_2`));
    await database.db
      .update(webhookDeliveries)
      .set({ attempts: 2, lastAttemptAt: new Date("2030-01-01T00:30:00Z") })
      .where(eq(webhookDeliveries.eventId, `evt_${made.id}_3`));
    const [health] = (await data(HEALTH)).webhookHealth.endpoints;
    expect(health).toMatchObject({ pending: 2, oldestPendingAt: "2030-01-02T00:00:00.000Z", lastFailureAt: "2030-01-01T00:30:00.000Z", failing: true });
  });
});

describe("redeliverWebhooks", () => {
  it("refuses a malformed cursor with INVALID_INPUT on after, and a wrong-type id with NOT_FOUND, changing nothing", async () => {
    const made = await endpoint();
    await deliveries(made.id, ["FAILED"]);
    const before = await databaseDigest(database.db);
    const id = toGlobalId("WebhookEndpoint", made.id);
    for (const after of ["", "not-a-cursor", Buffer.from("ev:-1").toString("base64url"), "x".repeat(500)]) {
      expect((await data(REDELIVER, { id, after })).redeliverWebhooks, after).toEqual({
        queued: 0,
        userErrors: [{ code: "INVALID_INPUT", field: ["after"], message: expect.any(String) }],
      });
    }
    expect((await data(REDELIVER, { id: toGlobalId("Order", made.id), after: toEventCursor(0) })).redeliverWebhooks.userErrors[0]).toMatchObject({
      code: "NOT_FOUND",
      field: ["endpointId"],
    });
    expect(
      (await data(REDELIVER, { id: toGlobalId("WebhookEndpoint", made.id + 1000), after: toEventCursor(0) })).redeliverWebhooks.userErrors[0],
    ).toMatchObject({
      code: "NOT_FOUND",
    });
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("queues again exactly the endpoint's deliveries after the cursor, whatever their status", async () => {
    const made = await endpoint();
    const other = await endpoint("https://other.example.com/");
    await deliveries(made.id, ["DELIVERED", "FAILED", "DELIVERED", "FAILED"], 10);
    await deliveries(other.id, ["FAILED", "FAILED"], 10);
    const answer = (await data(REDELIVER, { id: toGlobalId("WebhookEndpoint", made.id), after: toEventCursor(11) })).redeliverWebhooks;
    expect(answer).toEqual({ queued: 2, userErrors: [] });
    const state = await rows<{ endpoint_id: number; event_seq: string; status: string; attempts: number }>(
      database.db,
      sql`SELECT endpoint_id, event_seq::text, status, attempts FROM ${webhookDeliveries} ORDER BY endpoint_id, event_seq`,
    );
    expect(state.map((row) => [Number(row.endpoint_id), Number(row.event_seq), row.status, row.attempts])).toEqual([
      [made.id, 10, "DELIVERED", 1],
      [made.id, 11, "FAILED", 8],
      [made.id, 12, "PENDING", 0],
      [made.id, 13, "PENDING", 0],
      [other.id, 10, "FAILED", 8],
      [other.id, 11, "FAILED", 8],
    ]);
  });
});

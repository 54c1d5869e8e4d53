/**
 * Webhook endpoints through the services, on a real database (docs/ARCHITECTURE.md, "Webhooks"):
 * creation answers a Standard Webhooks secret and stores it; every bad URL or event list is an
 * INVALID_INPUT on its field with nothing written; updates change only what is given; deleting
 * takes the deliveries with it; at most 50 endpoints exist, also when created concurrently. A URL
 * whose host is localhost or a non-public IP literal is refused unless WEBHOOK_ALLOW_PRIVATE_URLS
 * allows it; names are not resolved.
 */
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { connect, schema } from "../../drizzle/db.js";
import { createWebhookEndpoint, deleteWebhookEndpoint, updateWebhookEndpoint, WEBHOOK_LIMITS } from "../../server/services/webhook-endpoint.service.js";
import { deliveryCounts, deliveryPages, webhookHealth } from "../../server/services/webhook.query.js";
import { claimDueDeliveries, recordDeliveryAttempts } from "../../server/services/webhook-delivery.service.js";
import { databaseDigest } from "../support/access.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();
const { webhookDeliveries, webhookEndpoints } = schema;

afterEach(async () => {
  await database.db.delete(webhookEndpoints);
});

const create = (url: string, events: string[] = ["ORDER_DELAYED"]) => createWebhookEndpoint(database.db, { url, events });

/** Inserts deliveries of `endpointId` directly: the worker's rows, without the worker. */
async function deliveries(endpointId: number, statuses: ("PENDING" | "DELIVERED" | "FAILED")[], fromSeq = 1) {
  await database.db.insert(webhookDeliveries).values(
    statuses.map((status, index) => ({
      endpointId,
      eventId: `evt_${endpointId}_${fromSeq + index}`,
      eventType: "ORDER_DELAYED" as const,
      eventSeq: fromSeq + index,
      payload: { type: "order.delayed" },
      status,
    })),
  );
}

describe("createWebhookEndpoint", () => {
  it("answers a whsec_ secret of 32 random bytes, stores it, and normalizes the URL and events", async () => {
    const { endpoint, secret } = await create("  HTTPS://Hooks.Example.com:8443/in?token=abc  ", ["RESTOCK_RECEIVED", "ORDER_DELAYED", "ORDER_DELAYED"]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice("whsec_".length), "base64")).toHaveLength(32);
    expect(endpoint).toMatchObject({ url: "https://hooks.example.com:8443/in?token=abc", events: ["ORDER_DELAYED", "RESTOCK_RECEIVED"], enabled: true });
    expect(endpoint).not.toHaveProperty("secret");
    const [stored] = await database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(stored.secret).toBe(secret);
    expect((await create("https://hooks.example.com/other")).secret).not.toBe(secret);
  });

  const badUrls: [string, unknown][] = [
    ["not a URL", "hooks.example.com/in"],
    ["an empty one", "   "],
    ["another scheme", "ftp://hooks.example.com/in"],
    ["javascript", "javascript:alert(1)"],
    ["a file URL", "file:///etc/passwd"],
    ["a user name", "https://user@hooks.example.com/in"],
    ["a password", "https://user:secret@hooks.example.com/in"],
    ["a fragment", "https://hooks.example.com/in#part"],
    ["an empty fragment", "https://hooks.example.com/in#"],
    ["whitespace inside", "https://hooks.exa mple.com/in"],
    ["a control character", "https://hooks.example.com/i\nn"],
    ["2,049 characters", `https://hooks.example.com/${"a".repeat(2049 - 26)}`],
    ["not a string", 42],
  ];
  it.each(badUrls)("refuses a URL with %s as INVALID_INPUT on input.url and writes nothing", async (_what, url) => {
    const before = await databaseDigest(database.db);
    const error = await refusal(createWebhookEndpoint(database.db, { url: url as string, events: ["ORDER_SHIPPED"] }));
    expect(error.issues).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "url"] })]);
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("accepts a URL of exactly 2,048 characters", async () => {
    const url = `https://hooks.example.com/${"a".repeat(2048 - 26)}`;
    expect(url).toHaveLength(2048);
    expect((await create(url)).endpoint.url).toBe(url);
  });

  const badEvents: [string, unknown, string[]][] = [
    ["an empty list", [], ["input", "events"]],
    ["not a list", "ORDER_SHIPPED", ["input", "events"]],
    ["an unknown type", ["ORDER_SHIPPED", "ORDER_LOST"], ["input", "events", "1"]],
    ["more entries than the enum has", Array(WEBHOOK_LIMITS.events + 1).fill("ORDER_SHIPPED"), ["input", "events"]],
  ];
  it.each(badEvents)("refuses events as %s with INVALID_INPUT and writes nothing", async (_what, events, field) => {
    const before = await databaseDigest(database.db);
    const error = await refusal(createWebhookEndpoint(database.db, { url: "https://hooks.example.com/in", events: events as string[] }));
    expect(error.issues).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field })]);
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("reports a bad URL and bad events together", async () => {
    const error = await refusal(createWebhookEndpoint(database.db, { url: "ftp://x", events: [] }));
    expect(error.issues.map((issue) => issue.field)).toEqual([
      ["input", "url"],
      ["input", "events"],
    ]);
  });

  it(`refuses the ${WEBHOOK_LIMITS.endpoints + 1}st endpoint with INVALID_STATE and writes nothing`, async () => {
    for (let i = 0; i < WEBHOOK_LIMITS.endpoints; i++) await create(`https://hooks.example.com/${i}`);
    const before = await databaseDigest(database.db);
    const error = await refusal(create("https://hooks.example.com/one-too-many"));
    expect(error.issues[0]).toMatchObject({ code: "INVALID_STATE" });
    expect(await databaseDigest(database.db)).toEqual(before);
    // Room again after a deletion.
    const [first] = await database.db.select().from(webhookEndpoints).limit(1);
    await deleteWebhookEndpoint(database.db, first.id);
    await create("https://hooks.example.com/again");
  });
});

describe("URLs that point inside (WEBHOOK_ALLOW_PRIVATE_URLS off)", () => {
  // [URL as typed, what the message says]: the URL parser's canonical host is what is judged.
  const inside: [string, string][] = [
    ["http://127.0.0.1:8080/hooks", "127.0.0.1 is loopback"],
    ["http://127.1/", "127.0.0.1 is loopback"],
    ["http://0x7f000001/", "127.0.0.1 is loopback"],
    ["http://2130706433/", "127.0.0.1 is loopback"],
    ["http://[::1]/", "::1 is loopback"],
    ["http://[::ffff:127.0.0.1]:9000/", "::ffff:7f00:1 is loopback"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"],
    ["http://10.1.2.3/", "10.1.2.3 is private"],
    ["https://192.168.1.10/in", "192.168.1.10 is private"],
    ["https://172.31.0.1/in", "172.31.0.1 is private"],
    ["http://100.64.0.1/", "100.64.0.1 is carrier-grade NAT"],
    ["http://0.0.0.0:8080/", "0.0.0.0 is unspecified"],
    ["http://[fd00::1]/", "fd00::1 is private"],
    ["http://[fe80::1]/", "fe80::1 is link-local"],
    ["http://224.0.0.1/", "224.0.0.1 is multicast"],
    ["http://localhost:3000/hooks", "localhost is loopback"],
    ["http://LOCALHOST./hooks", "localhost. is loopback"],
    ["https://api.localhost/hooks", "api.localhost is loopback"],
  ];
  it.each(inside)("refuses %s at creation with INVALID_INPUT on input.url and writes nothing", async (url, why) => {
    const before = await databaseDigest(database.db);
    const error = await refusal(create(url));
    expect(error.issues).toEqual([{ code: "INVALID_INPUT", field: ["input", "url"], message: `url must point at a public address: ${why}` }]);
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("refuses them at update too, and changes nothing", async () => {
    const { endpoint } = await create("https://hooks.example.com/in");
    const before = await databaseDigest(database.db);
    for (const [url, why] of inside) {
      const error = await refusal(updateWebhookEndpoint(database.db, endpoint.id, { url, enabled: false }));
      expect(error.issues, url).toEqual([{ code: "INVALID_INPUT", field: ["input", "url"], message: `url must point at a public address: ${why}` }]);
    }
    expect(await databaseDigest(database.db)).toEqual(before);
  });

  it("accepts public IP literals and names, without resolving them", async () => {
    for (const url of [
      "https://93.184.216.34/in",
      "https://[2606:4700:4700::1111]/in",
      "https://hooks.example.com/in",
      "https://localhost.example.com/in",
    ]) {
      expect((await create(url)).endpoint.url, url).toBe(url);
    }
    const { endpoint } = await create("https://hooks.example.com/moving");
    expect((await updateWebhookEndpoint(database.db, endpoint.id, { url: "https://93.184.216.34/moved" })).url).toBe("https://93.184.216.34/moved");
  });

  it("accepts every one of them when allowed (a receiver on the same machine or network)", async () => {
    const allowed = { allowPrivateUrls: true };
    for (const [url] of inside) {
      const { endpoint } = await createWebhookEndpoint(database.db, { url, events: ["ORDER_SHIPPED"] }, allowed);
      expect(endpoint.url, url).toBe(new URL(url).href);
      expect((await updateWebhookEndpoint(database.db, endpoint.id, { url: "http://10.0.0.5/in" }, allowed)).url).toBe("http://10.0.0.5/in");
    }
  });
});

describe("updateWebhookEndpoint", () => {
  it("changes only the fields given and keeps the secret", async () => {
    const { endpoint, secret } = await create("https://hooks.example.com/in", ["ORDER_SHIPPED"]);
    const disabled = await updateWebhookEndpoint(database.db, endpoint.id, { enabled: false });
    expect(disabled).toMatchObject({ url: "https://hooks.example.com/in", events: ["ORDER_SHIPPED"], enabled: false });
    const moved = await updateWebhookEndpoint(database.db, endpoint.id, {
      url: "http://other.example.com/x",
      events: ["REFUND_DUE", "ORDER_BACKORDERED"],
    });
    expect(moved).toMatchObject({ url: "http://other.example.com/x", events: ["ORDER_BACKORDERED", "REFUND_DUE"], enabled: false });
    expect(moved.updatedAt.getTime()).toBeGreaterThanOrEqual(endpoint.updatedAt.getTime());
    const [stored] = await database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(stored.secret).toBe(secret);
  });

  it("refuses bad fields with INVALID_INPUT, an unknown endpoint with NOT_FOUND, and changes nothing", async () => {
    const { endpoint } = await create("https://hooks.example.com/in");
    const before = await databaseDigest(database.db);
    const bad = await refusal(updateWebhookEndpoint(database.db, endpoint.id, { url: "https://u:p@hooks.example.com/", events: [] }));
    expect(bad.issues.map((issue) => [issue.code, issue.field])).toEqual([
      ["INVALID_INPUT", ["input", "url"]],
      ["INVALID_INPUT", ["input", "events"]],
    ]);
    expect((await refusal(updateWebhookEndpoint(database.db, endpoint.id + 1000, { enabled: false }))).issues[0]).toMatchObject({
      code: "NOT_FOUND",
      field: ["id"],
    });
    expect((await refusal(updateWebhookEndpoint(database.db, -1, { enabled: false }))).issues[0]).toMatchObject({ code: "NOT_FOUND" });
    expect(await databaseDigest(database.db)).toEqual(before);
  });
});

describe("deleteWebhookEndpoint", () => {
  it("deletes the endpoint and its deliveries, and leaves the others' alone", async () => {
    const { endpoint: gone } = await create("https://hooks.example.com/gone");
    const { endpoint: kept } = await create("https://hooks.example.com/kept");
    await deliveries(gone.id, ["PENDING", "FAILED"]);
    await deliveries(kept.id, ["DELIVERED"]);
    expect((await deleteWebhookEndpoint(database.db, gone.id)).id).toBe(gone.id);
    const left = await database.db.select().from(webhookDeliveries);
    expect(left.map((delivery) => delivery.endpointId)).toEqual([kept.id]);
    expect((await refusal(deleteWebhookEndpoint(database.db, gone.id))).issues[0]).toMatchObject({ code: "NOT_FOUND", field: ["id"] });
  });
});

describe("reading deliveries", () => {
  it("pages several endpoints' deliveries newest first in one call, with a status filter and counts", async () => {
    const { endpoint: a } = await create("https://a.example.com/");
    const { endpoint: b } = await create("https://b.example.com/");
    await deliveries(a.id, ["DELIVERED", "FAILED", "PENDING", "DELIVERED", "FAILED"]);
    await deliveries(b.id, ["PENDING"]);
    const [pageA, failedA, pageB] = await deliveryPages(database.db, [
      { endpointId: a.id, first: 2 },
      { endpointId: a.id, status: "FAILED" },
      { endpointId: b.id },
    ]);
    expect(pageA.items.map((delivery) => delivery.eventSeq)).toEqual([5, 4]);
    expect(pageA.hasNextPage).toBe(true);
    expect(pageA.items[0]).not.toHaveProperty("payload");
    expect(failedA.items.map((delivery) => delivery.eventSeq)).toEqual([5, 2]);
    expect(pageB.items.map((delivery) => delivery.status)).toEqual(["PENDING"]);
    const [rest] = await deliveryPages(database.db, [{ endpointId: a.id, first: 10, after: pageA.endCursor }]);
    expect(rest.items.map((delivery) => delivery.eventSeq)).toEqual([3, 2, 1]);
    expect(await deliveryCounts(database.db, [{ endpointId: a.id }, { endpointId: a.id, status: "PENDING" }])).toEqual([
      { value: 5, precision: "EXACT" },
      { value: 1, precision: "EXACT" },
    ]);
    for (const after of ["nope", Buffer.from(JSON.stringify(["1", "x"])).toString("base64url"), Buffer.from("[1,2]").toString("base64url")]) {
      expect((await refusal(deliveryPages(database.db, [{ endpointId: a.id, after }]))).issues[0]).toMatchObject({
        code: "INVALID_INPUT",
        field: ["after"],
      });
    }
  });

  it("answers health per endpoint: origin only, pending, dead letters, and whether the latest attempt failed", async () => {
    const { endpoint: healthy } = await create("https://healthy.example.com:8443/hook?token=s3cret");
    const { endpoint: down } = await create("http://down.example.com/hook");
    await deliveries(healthy.id, ["FAILED", "DELIVERED", "PENDING"]);
    await deliveries(down.id, ["DELIVERED", "FAILED", "PENDING"]);
    const at = (minutes: number) => new Date(Date.UTC(2030, 0, 1, 12, minutes));
    const set = (endpointId: number, seq: number, values: Partial<typeof webhookDeliveries.$inferInsert>) =>
      database.db
        .update(webhookDeliveries)
        .set(values)
        .where(eq(webhookDeliveries.eventId, `evt_${endpointId}_${seq}`));
    // healthy: an old dead letter, then a success; its pending one not tried yet.
    await set(healthy.id, 1, { attempts: 8, lastAttemptAt: at(1) });
    await set(healthy.id, 2, { attempts: 1, lastAttemptAt: at(5) });
    // down: a success, then a dead letter and a retry that failed after it.
    await set(down.id, 1, { attempts: 1, lastAttemptAt: at(1) });
    await set(down.id, 2, { attempts: 8, lastAttemptAt: at(3) });
    await set(down.id, 3, { attempts: 2, lastAttemptAt: at(4) });
    const health = await webhookHealth(database.db);
    expect(health.endpoints.map((endpoint) => endpoint.endpointId)).toEqual([healthy.id, down.id]);
    expect(health.endpoints[0]).toMatchObject({
      host: "https://healthy.example.com:8443",
      enabled: true,
      pending: 1,
      failed: 1,
      lastDeliveredAt: at(5),
      lastFailureAt: at(1),
      failing: false,
    });
    expect(health.endpoints[1]).toMatchObject({
      host: "http://down.example.com",
      pending: 1,
      failed: 1,
      lastDeliveredAt: at(1),
      lastFailureAt: at(4),
      failing: true,
    });
    expect(health.endpoints[0].oldestPendingAt).toBeInstanceOf(Date);
    expect(JSON.stringify(health)).not.toContain("s3cret");
    expect(health).toMatchObject({ pending: 2, failed: 2 });
  });
});

describe("recordDeliveryAttempts", () => {
  it("records a batch by claim: each delivery's outcome, and null for a claim no longer held", async () => {
    const { endpoint } = await create("https://hooks.example.com/batch");
    await deliveries(endpoint.id, ["PENDING", "PENDING", "PENDING"]);
    const claimed = await claimDueDeliveries(database.db, { limit: 10, leaseMs: 60_000, perEndpoint: 10 });
    expect(claimed).toHaveLength(3);
    const [ok, failing, lapsed] = claimed;
    // The third was claimed once before: an answer under that first claim (one attempt fewer) is
    // late, and comes in the same batch as the answer under its current claim.
    const stale = { ...lapsed, attempts: lapsed.attempts - 1 };
    const recorded = await recordDeliveryAttempts(
      database.db,
      [
        { claim: ok, result: { status: 204 } },
        { claim: failing, result: { status: 500 } },
        { claim: stale, result: { status: 200 } },
        { claim: lapsed, result: { error: "no answer within 2000 ms" } },
      ],
      { maxAttempts: 8, random: () => 0 },
    );
    expect(recorded.map((r) => r?.status ?? null)).toEqual(["DELIVERED", "PENDING", null, "PENDING"]);
    const rows = await database.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.id);
    expect(rows.map((row) => [row.status, row.responseStatus, row.lastError, row.lockedUntil])).toEqual([
      ["DELIVERED", 204, null, null],
      ["PENDING", 500, "HTTP 500", null],
      ["PENDING", null, "no answer within 2000 ms", null],
    ]);
    expect(await recordDeliveryAttempts(database.db, [], { maxAttempts: 8 })).toEqual([]);
  });
});

describeOnPostgres("the endpoint cap under concurrency", () => {
  it("holds when many creations race for the last places", async () => {
    for (let i = 0; i < WEBHOOK_LIMITS.endpoints - 3; i++) await create(`https://hooks.example.com/${i}`);
    const pool = await connect({ databaseUrl: database.url!, max: 8 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => createWebhookEndpoint(pool.db, { url: `https://race.example.com/${i}`, events: ["ORDER_SHIPPED"] })),
      );
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(3);
      for (const result of results) if (result.status === "rejected") expect(result.reason.issues[0].code).toBe("INVALID_STATE");
      expect(await database.db.$count(webhookEndpoints)).toBe(WEBHOOK_LIMITS.endpoints);
    } finally {
      await pool.close();
    }
  });
});

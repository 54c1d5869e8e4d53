/**
 * The delivery-time guard against requests into the server's own network (docs/ARCHITECTURE.md,
 * "Webhooks"), with WEBHOOK_ALLOW_PRIVATE_URLS off as by default: an endpoint whose name resolves
 * to loopback, or whose host is a loopback literal (rows written directly, as a URL created while
 * the flag was on would be), is never sent to. A real receiver on 127.0.0.1 gets no request, and
 * the delivery fails like any other attempt with the refusal as its error. The same receiver is
 * reached when private addresses are allowed, so it is the guard that kept the requests away. The
 * POST itself: the look-up the connection uses refuses, a connection is reused, a redirect is not
 * followed, a large answer is not read to its end.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { createWebhookAgents, postWebhook, PrivateAddressError, publicOnlyLookup } from "../../server/live/webhook-post.js";
import { placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { newWebhookSecret, startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const MAX_ATTEMPTS = 2;
const database = useFreshDatabase();
// No allowPrivateUrls: the default, the guard on.
const server = useTestServer(database, {
  live: { pollMs: 200 },
  webhooks: { timeoutMs: 2000, maxAttempts: MAX_ATTEMPTS, pollMs: 100, backoff: { baseMs: 50, capMs: 100 } },
});

const receivers: WebhookReceiver[] = [];
const agents = createWebhookAgents();
afterAll(async () => {
  await database.db.execute(sql`UPDATE ${schema.webhookEndpoints} SET enabled = false`);
  for (const receiver of receivers) await receiver.close();
  agents.http.destroy();
  agents.https.destroy();
});

async function receiver(): Promise<{ receiver: WebhookReceiver; secret: string; port: number }> {
  const secret = newWebhookSecret();
  const started = await startWebhookReceiver(secret);
  receivers.push(started);
  return { receiver: started, secret, port: Number(new URL(started.url).port) };
}

async function deliveriesOf(endpointId: number) {
  return rows<{ status: string; attempts: number; last_error: string | null; response_status: number | null }>(
    database.db,
    sql`SELECT status, attempts, last_error, response_status FROM ${schema.webhookDeliveries} WHERE endpoint_id = ${endpointId}`,
  );
}

async function until(predicate: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `localhost` resolves to a loopback address here; which one comes first is the resolver's choice. */
const LOCALHOST_REFUSAL = /^refused: localhost resolves to a private address \((127\.0\.0\.1|::1), loopback\)$/;

describe("the worker, private addresses not allowed", () => {
  it("never sends to a name that resolves to loopback, nor to a loopback literal: each delivery fails with the refusal", async () => {
    const { receiver: target, secret, port } = await receiver();
    const urls = {
      name: `http://localhost:${port}/hooks?token=receiver-query-secret`,
      literal: `http://127.0.0.1:${port}/hooks?token=receiver-query-secret`,
      mapped: `http://[::ffff:127.0.0.1]:${port}/hooks?token=receiver-query-secret`,
    };
    const ids: Record<string, number> = {};
    for (const [what, url] of Object.entries(urls)) {
      const [row] = await database.db
        .insert(schema.webhookEndpoints)
        .values({ url, secret, events: ["ORDER_BACKORDERED"] })
        .returning();
      ids[what] = row.id;
    }
    const product = await newProduct(database.db);
    await placeOrder(database.db, { customer: "ssrf@example.com", lines: [{ productId: product.id, quantity: 1 }] });

    await until(async () => {
      const all = await Promise.all(Object.values(ids).map(deliveriesOf));
      return all.every((found) => found.length === 1 && found[0].status === "FAILED");
    });
    const [name] = await deliveriesOf(ids.name);
    expect(name).toMatchObject({ status: "FAILED", attempts: MAX_ATTEMPTS, response_status: null });
    expect(name.last_error).toMatch(LOCALHOST_REFUSAL);
    expect(await deliveriesOf(ids.literal)).toEqual([
      { status: "FAILED", attempts: MAX_ATTEMPTS, response_status: null, last_error: "refused: 127.0.0.1 is a private address (loopback)" },
    ]);
    expect(await deliveriesOf(ids.mapped)).toEqual([
      { status: "FAILED", attempts: MAX_ATTEMPTS, response_status: null, last_error: "refused: ::ffff:7f00:1 is a private address (loopback)" },
    ]);
    expect(target.requests).toEqual([]);
    // The log says why, never with the URL's query.
    const logged = server.logLines.filter((line) => line.includes("refused: "));
    expect(logged.length).toBeGreaterThanOrEqual(3 * MAX_ATTEMPTS);
    expect(server.logLines.join("\n")).not.toContain("receiver-query-secret");
  });
});

describe("postWebhook", () => {
  const post = (url: string, allowPrivate: boolean) =>
    postWebhook(new URL(url), { headers: { "content-type": "application/json" }, body: "{}", signal: new AbortController().signal, agents, allowPrivate });

  it("refuses a name resolving to loopback at its connection's look-up, and reaches the same receiver when private addresses are allowed", async () => {
    const { receiver: target, port } = await receiver();
    const refused = await post(`http://localhost:${port}/hooks`, false).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PrivateAddressError);
    expect((refused as Error).message).toMatch(LOCALHOST_REFUSAL);
    expect(target.requests).toEqual([]);
    // Unsigned, so the receiver answers 401: what matters is that it was reached.
    expect(await post(`http://localhost:${port}/hooks`, true)).toBe(401);
    expect(await post(`http://127.0.0.1:${port}/hooks`, true)).toBe(401);
    expect(target.requests).toHaveLength(2);
  });

  it("reuses a connection after a small answer (an endpoint's deliveries do not open one each)", async () => {
    let connections = 0;
    const small = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    small.on("connection", () => (connections += 1));
    await once(small.listen(0, "127.0.0.1"), "listening");
    try {
      const url = `http://127.0.0.1:${(small.address() as AddressInfo).port}/hooks`;
      for (let i = 0; i < 3; i++) expect(await post(url, true)).toBe(200);
      expect(connections).toBe(1);
    } finally {
      small.closeAllConnections();
      await new Promise((resolve) => small.close(resolve));
    }
  });

  it("does not follow a redirect, and does not read a large answer to its end", async () => {
    let followed = 0;
    const target = http.createServer((_req, res) => {
      followed += 1;
      res.end();
    });
    // More than the socket buffers between the two ends hold: sending it takes reading it.
    const body = Buffer.alloc(64 * 1024 * 1024, "x");
    /** Whether the client reset the connection while the large answer was being sent. */
    let largeAnswerReset: Promise<boolean> | undefined;
    const source = http.createServer((req, res) => {
      req.resume();
      if (req.url === "/redirect") return void res.writeHead(307, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/` }).end();
      let reset = false;
      res.socket!.on("error", () => (reset = true));
      largeAnswerReset = once(res, "close").then(() => reset);
      res.writeHead(200, { "content-type": "text/plain" }).end(body);
    });
    for (const listening of [target, source]) await once(listening.listen(0, "127.0.0.1"), "listening");
    try {
      const base = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
      expect(await post(`${base}/redirect`, true)).toBe(307);
      expect(followed).toBe(0);
      expect(await post(`${base}/large`, true)).toBe(200);
      // The client dropped the connection before the answer was all sent.
      expect(await largeAnswerReset).toBe(true);
    } finally {
      for (const listening of [target, source]) {
        listening.closeAllConnections();
        await new Promise((resolve) => listening.close(resolve));
      }
    }
  });
});

describe("publicOnlyLookup", () => {
  /** The lookup's answer for `hostname` with `options`, or its error. */
  const lookup = (hostname: string, options: { all?: boolean }) =>
    new Promise<unknown>((resolve) =>
      publicOnlyLookup(hostname, options, (error, address, family) => resolve(error ?? (options.all ? address : { address, family }))),
    );

  it("answers a public address as dns.lookup does, one or all (an IP literal needs no resolver)", async () => {
    expect(await lookup("93.184.216.34", {})).toEqual({ address: "93.184.216.34", family: 4 });
    expect(await lookup("93.184.216.34", { all: true })).toEqual([{ address: "93.184.216.34", family: 4 }]);
    expect(await lookup("2606:4700:4700::1111", { all: true })).toEqual([{ address: "2606:4700:4700::1111", family: 6 }]);
  });

  it("fails for a name or literal whose address is not public, one or all", async () => {
    for (const all of [false, true]) {
      const byName = await lookup("localhost", { all });
      expect(byName).toBeInstanceOf(PrivateAddressError);
      expect((byName as Error).message).toMatch(LOCALHOST_REFUSAL);
      expect(await lookup("169.254.169.254", { all })).toEqual(new PrivateAddressError("169.254.169.254", "169.254.169.254", "link-local"));
      expect(((await lookup("10.0.0.5", { all })) as Error).message).toBe("refused: 10.0.0.5 is a private address (private)");
    }
  });
});

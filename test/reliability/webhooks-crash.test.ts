/**
 * Webhooks across a crash and across instances (docs/ARCHITECTURE.md, "Webhooks"), on PostgreSQL
 * with the real server as child processes. A server SIGKILLed while its attempts are held open by
 * the receiver loses nothing: after a restart the lapsed leases are claimed again and every event
 * arrives at least once, a repeat always under the same webhook-id with the same body. Two
 * servers on one database with a slow receiver never have one delivery in flight twice at once.
 */
import { sql } from "drizzle-orm";
import { afterAll, expect, it } from "vitest";
import { rows, schema } from "../../drizzle/db.js";
import { cancelOrderWithRefund, placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { newWebhookSecret, type ReceivedRequest, startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * WEBHOOK_TIMEOUT_MS small, so that a killed server's leases (twice the timeout, at least the
 * timeout + 1 s) lapse soon; private URLs allowed: the receivers are on 127.0.0.1.
 */
const ENV = { WEBHOOK_TIMEOUT_MS: "1000", WEBHOOK_ALLOW_PRIVATE_URLS: "true", SEED_DEMO: "false" };

function expectStableBodies(requests: ReceivedRequest[]) {
  const bodies = new Map<string, string>();
  for (const request of requests) {
    expect(request.verified, request.id).toBe(true);
    expect(bodies.get(request.id) ?? request.raw, request.id).toBe(request.raw);
    bodies.set(request.id, request.raw);
  }
}

const distinctDelivered = (receiver: WebhookReceiver) => new Set(receiver.delivered().map((r) => r.id));

describeOnPostgres("webhooks across a crash and two instances", () => {
  const database = useFreshDatabase();
  const servers: ServerProcess[] = [];
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop().catch(() => {});
    for (const receiver of receivers) await receiver.close();
  });

  async function endpoint(answer: Parameters<typeof startWebhookReceiver>[1]) {
    const secret = newWebhookSecret();
    const receiver = await startWebhookReceiver(secret, answer);
    receivers.push(receiver);
    const [row] = await database.db
      .insert(schema.webhookEndpoints)
      .values({ url: receiver.url, secret, events: ["ORDER_BACKORDERED", "ORDER_CANCELLED", "REFUND_DUE"] })
      .returning();
    return { receiver, id: row.id };
  }

  async function start(): Promise<ServerProcess> {
    const server = await startServerProcess({ databaseUrl: database.url!, env: ENV });
    servers.push(server);
    return server;
  }

  async function eventIdsOf(endpointId: number): Promise<string[]> {
    const found = await rows<{ event_id: string }>(database.db, sql`SELECT event_id FROM ${schema.webhookDeliveries} WHERE endpoint_id = ${endpointId}`);
    return found.map((row) => row.event_id).sort();
  }

  it("a server killed mid-delivery: after a restart every event arrives, repeats under the same id", async () => {
    const { receiver, id } = await endpoint(() => "hang");
    const first = await start();
    const product = await newProduct(database.db);
    const orders = [];
    for (let k = 0; k < 5; k++)
      orders.push((await placeOrder(database.db, { customer: `crash${k}@example.com`, lines: [{ productId: product.id, quantity: 1 }] })).order);
    for (const order of orders.slice(0, 2)) await cancelOrderWithRefund(database.db, order.id);
    // The attempts are in flight, held open by the receiver, when the server dies.
    await receiver.until((r) => r.length >= 3);
    await first.kill();
    const heldAtKill = new Set(receiver.requests.map((r) => r.id));
    receiver.answer(() => 200);
    await start();
    // 5 order.backordered, 2 order.cancelled, 2 refund.due.
    await receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 9, 40_000);
    const ids = await eventIdsOf(id);
    expect(ids).toHaveLength(9);
    expect([...distinctDelivered(receiver)].sort()).toEqual(ids);
    for (const held of heldAtKill) expect(distinctDelivered(receiver).has(held), held).toBe(true);
    expectStableBodies(receiver.requests);
    await database.db.execute(sql`UPDATE ${schema.webhookEndpoints} SET enabled = false WHERE id = ${id}`);
  });

  it("two instances on one database with a slow receiver: no delivery in flight twice at once, every event arrives", async () => {
    const { receiver, id } = await endpoint(() => ({ delayMs: 600, status: 200 }));
    // The server restarted by the test before, and one more: two instances on one database.
    await start();
    const product = await newProduct(database.db);
    for (let k = 0; k < 20; k++) await placeOrder(database.db, { customer: `two${k}@example.com`, lines: [{ productId: product.id, quantity: 1 }] });
    await receiver.until((r) => new Set(r.filter((x) => x.answered === 200).map((x) => x.id)).size === 20, 40_000);
    const ids = await eventIdsOf(id);
    expect(ids).toHaveLength(20);
    expect([...distinctDelivered(receiver)].sort()).toEqual(ids);
    expect(receiver.maxConcurrentPerId()).toBe(1);
    // An instance has at most 8 attempts in flight to one endpoint: more at once means both delivered.
    expect(receiver.maxOpen(), "both instances took a share").toBeGreaterThan(8);
    expectStableBodies(receiver.requests);
  });
});

/**
 * Fan-out: `subscribers` WebSocket subscribers to `backlogChanged` of one product, each on its own
 * connection. Each timed event comes from one `placeOrder` that backorders one unit of that
 * product; its latency at a subscriber is the time from the mutation's HTTP response to that
 * subscriber's receipt (the client's view: "I placed it, when do the dashboards know?"). Target:
 * p99 at most 100 ms. Memory: the server's resident size before the subscribers connect and after
 * they are all subscribed, divided by their number.
 *
 * Baseline: a bare `ws` broadcaster in its own process (raw-broadcast.server.ts), driven and timed
 * the same way: one POST, one message to every socket. It is the floor for delivering one message
 * to that many sockets on this machine with this client; the ratio is what the event log, the
 * filter and GraphQL execution per subscriber add on top.
 */
import { connect } from "../../../drizzle/db.js";
import { toGlobalId } from "../../../server/graphql/node-id.js";
import { createProduct } from "../../../server/services/product.service.js";
import { GraphQLClient } from "../graphql-client.js";
import { now, percentile } from "../latency.js";
import { status, step } from "../progress.js";
import type { ScenarioContext } from "../scenario.js";
import { cpuMs, residentKb } from "../server-process.js";
import { SubscribeRefused, SubscriberSwarm } from "../ws-subscriber.js";

const DELIVERY_DEADLINE_MS = 5000;
const P99_TARGET_MS = 100;
/** "Memory per idle subscriber in kilobytes, not megabytes" (issue 3). */
const MEMORY_TARGET_KB = 1024;

const SUBSCRIBE = `subscription Backlog($ids: [ID!]) { backlogChanged(productIds: $ids) { backordered cursor at } }`;
const PLACE_ORDER = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code message } }
}`;

interface FanOutResult {
  latencies: number[];
  /** Receipts that did not arrive within the deadline. */
  missing: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  /** The server process's CPU time per timed event, ms. */
  cpuPerEventMs: number;
}

/**
 * Connects the subscribers to `wsUrl`, fires one warm-up event and then `events` timed ones, one
 * after another, each once every subscriber got the previous. `fire` triggers one event and
 * resolves with the `backordered` value it will carry, when the trigger's HTTP response arrived.
 */
async function fanOut(
  label: string,
  wsUrl: string,
  pid: number,
  count: number,
  events: number,
  productId: string,
  fire: () => Promise<number>,
): Promise<FanOutResult> {
  // Receipts by the event's `backordered` value: one receipt time per subscriber.
  const receipts = new Map<number, { at: number[]; got: number; done?: () => void }>();
  const expect = (value: number) => {
    let slot = receipts.get(value);
    if (!slot) receipts.set(value, (slot = { at: new Array<number>(count).fill(Number.NaN), got: 0 }));
    return slot;
  };
  const swarm = new SubscriberSwarm(wsUrl, { query: SUBSCRIBE, variables: { ids: [productId] } }, (subscriber, payload, at) => {
    const value = (payload.data?.backlogChanged as { backordered?: number } | undefined)?.backordered;
    if (typeof value !== "number") return;
    const slot = expect(value);
    if (!Number.isNaN(slot.at[subscriber])) return;
    slot.at[subscriber] = at;
    slot.got += 1;
    if (slot.got === count) slot.done?.();
  });
  const allReceived = (value: number) =>
    new Promise<void>((resolve) => {
      const slot = expect(value);
      if (slot.got === count) return resolve();
      const timer = setTimeout(resolve, DELIVERY_DEADLINE_MS);
      slot.done = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  try {
    const rssBeforeKb = residentKb(pid);
    step(`${label}: connecting ${count} subscribers`);
    await swarm.connect(count);
    // graphql-ws does not acknowledge a subscribe: a first event that reaches everyone proves
    // every subscription is live (and warms the path up).
    const first = await fire();
    await allReceived(first);
    if (swarm.refusal) throw new SubscribeRefused(swarm.refusal);
    const warm = expect(first).got;
    if (warm < count) throw new Error(`${label}: only ${warm} of ${count} subscribers received the first event within ${DELIVERY_DEADLINE_MS} ms`);
    const rssAfterKb = residentKb(pid);
    step(`${label}: ${count} subscribers live; server resident size ${(rssBeforeKb / 1024).toFixed(0)} → ${(rssAfterKb / 1024).toFixed(0)} MB`);

    const latencies: number[] = [];
    let missing = 0;
    const cpuBefore = cpuMs(pid);
    for (let i = 0; i < events; i++) {
      const value = await fire();
      const answered = now();
      await allReceived(value);
      const slot = expect(value);
      for (const at of slot.at) {
        if (Number.isNaN(at)) missing += 1;
        else latencies.push(at - answered);
      }
      status(`${label}: event ${i + 1}/${events}, p99 so far ${percentile(latencies, 99).toFixed(1)} ms`);
    }
    const cpuPerEventMs = (cpuMs(pid) - cpuBefore) / events;
    step(
      `${label}: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${missing} missing, ${cpuPerEventMs.toFixed(1)} ms of server CPU per event`,
    );
    return { latencies, missing, rssBeforeKb, rssAfterKb, cpuPerEventMs };
  } finally {
    swarm.close();
  }
}

export async function fanOutScenario(context: ScenarioContext): Promise<void> {
  const { options } = context;
  const url = await context.databases.create(context.name);
  const connection = await connect({ databaseUrl: url, max: 2 });
  context.defer(() => connection.close());
  const product = await createProduct(connection.db, {
    sku: "FANOUT-1",
    name: "Watched product",
    price: "1.00",
    backorderPolicy: "ALLOW",
    initialStock: 0,
  });
  const productId = toGlobalId("Product", product.id);

  const server = await context.startServer({ databaseUrl: url });
  const client = new GraphQLClient(server.url, 2);
  context.defer(() => client.close());
  // Warm the server's HTTP and GraphQL path before its memory is read.
  for (let i = 0; i < 20; i++) await client.data(`{ __typename }`);
  const placeOne = async () => {
    const { placeOrder } = await client.data<{ placeOrder: { order: { id: string } | null; userErrors: unknown[] } }>(PLACE_ORDER, {
      input: { customer: "fan-out", lines: [{ productId, quantity: 1 }] },
    });
    if (!placeOrder.order) throw new Error(`placeOrder refused: ${JSON.stringify(placeOrder.userErrors)}`);
  };
  let backordered = 0;
  let served: FanOutResult;
  try {
    served = await fanOut("server", server.wsUrl, server.pid, options.subscribers, options.events, productId, async () => {
      await placeOne();
      return ++backordered;
    });
  } catch (error) {
    if (error instanceof SubscribeRefused) context.skip(`the server does not take backlogChanged subscriptions yet (${error.message})`);
    throw error;
  }
  await server.stop();

  const raw = await context.startServer({ script: "test/bench/raw-broadcast.server.ts" });
  const rawClient = new GraphQLClient(raw.url, 2);
  context.defer(() => rawClient.close());
  const baseline = await fanOut("raw ws broadcast", raw.wsUrl, raw.pid, options.subscribers, options.events, productId, async () => {
    const { fired } = await rawClient.data<{ fired: number }>("fire");
    return fired;
  });

  const note = `${options.subscribers} subscribers × ${options.events} events; latency from the HTTP response of the triggering request to receipt`;
  context.record({
    name: "p50 delivery",
    unit: "ms",
    value: percentile(served.latencies, 50),
    baselineName: "raw ws",
    baseline: percentile(baseline.latencies, 50),
  });
  context.record({
    name: "p99 delivery",
    unit: "ms",
    value: percentile(served.latencies, 99),
    baselineName: "raw ws",
    baseline: percentile(baseline.latencies, 99),
    target: { on: "value", op: "<=", bound: P99_TARGET_MS },
    note,
  });
  context.record({
    name: "server CPU per event",
    unit: "ms",
    value: served.cpuPerEventMs,
    baselineName: "raw ws",
    baseline: baseline.cpuPerEventMs,
    note: "the process's user+system time over the timed events, divided by their number (the mutation's own work included)",
  });
  context.record({
    name: "events not delivered",
    unit: "",
    value: served.missing,
    target: { on: "value", op: "<=", bound: 0 },
  });
  const perSubscriber = (r: FanOutResult) => (r.rssAfterKb - r.rssBeforeKb) / options.subscribers;
  context.record({
    name: "server memory per subscriber",
    unit: "kB",
    value: perSubscriber(served),
    baselineName: "raw ws",
    baseline: perSubscriber(baseline),
    target: { on: "value", op: "<=", bound: MEMORY_TARGET_KB },
    note: `resident size ${(served.rssBeforeKb / 1024).toFixed(0)} MB before, ${(served.rssAfterKb / 1024).toFixed(0)} MB with ${options.subscribers} subscribers`,
  });
}

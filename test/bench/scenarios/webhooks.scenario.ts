/**
 * Webhooks: "a slow or dead endpoint never slows placing orders, and deliveries keep up"
 * (docs/ARCHITECTURE.md, "Webhooks"). Half of `clients` (16) place orders over HTTP, each one unit
 * of one of `products` products with no stock and the ALLOW policy, so every order backorders and
 * yields one `order.backordered` webhook per subscribed endpoint. Two sides alternate on the same
 * server, round after round, each drawing the same products in the same order:
 *
 *   endpoints:   two endpoints subscribed to ORDER_BACKORDERED, created through the API before the
 *                phase (so their secrets are real) and deleted after it: a dead one, whose receiver
 *                reads the request and never answers (WEBHOOK_TIMEOUT_MS 2,000), and a healthy one,
 *                whose receiver verifies each signature with `standardwebhooks` (a failure counts
 *                as lost). After the load, a drain waits for every order's webhook.
 *   no endpoint: the baseline: the same server and load, no endpoint (the worker does nothing);
 *                after each order the bench itself POSTs the same body, signed, to the same healthy
 *                receiver over node:http (keep-alive, as the worker's fetch): the floor of one POST
 *                here under the same load, and the same receiving work in the bench on both sides.
 *
 * Delivery latency: from the placeOrder HTTP response to the healthy receiver's receipt of the
 * webhook carrying that order (`data.order.id`, the order's global id); for the bare POST, from its
 * start to its receipt.
 */
import http from "node:http";
import { sql } from "drizzle-orm";
import { connect, type Database } from "../../../drizzle/db.js";
import { signWebhook } from "../../../server/services/webhook-signature.js";
import { createCatalogue } from "../catalogue.js";
import { GraphQLClient } from "../graphql-client.js";
import { now, percentile } from "../latency.js";
import { type LoadResult, runLoad } from "../load.js";
import { status, step } from "../progress.js";
import { generator, type ScenarioContext } from "../scenario.js";
import { cpuMs } from "../server-process.js";
import { type HealthyReceiver, startDeadReceiver, startHealthyReceiver } from "../webhook-receivers.js";
import { DEFAULT_SLOTS_PER_ENDPOINT } from "../../../server/live/webhook-worker.js";

const PLACE_ORDER = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code message } }
}`;
const CREATE_ENDPOINT = `mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } secret userErrors { code message } }
}`;
const DELETE_ENDPOINT = `mutation Delete($id: ID!) { deleteWebhookEndpoint(id: $id) { userErrors { code message } } }`;

/** The claim's targets: orders/s at least 0.9 × and p99 at most 1.5 × the server's without endpoints. */
const RATE_TARGET = 0.9;
const P99_TARGET = 1.5;
const DELIVERY_P99_TARGET_MS = 1000;
/** WEBHOOK_TIMEOUT_MS of the server: how long each attempt at the dead endpoint holds a slot. */
const TIMEOUT_MS = 2000;
/** How long after the load every order's webhook may take to arrive before it counts as lost. */
const DRAIN_MS = 30_000;

interface PlaceOrderAnswer {
  placeOrder: { order: { id: string } | null; userErrors: { code: string; message: string }[] };
}

const SIDES = ["none", "endpoints"] as const;
type Side = (typeof SIDES)[number];
const SIDE_LABEL: Record<Side, string> = { none: "no endpoint", endpoints: "dead + healthy endpoint" };

interface Measured {
  load: LoadResult;
  /** The server's CPU time over the measured window, ms. */
  cpuMs: number;
  /** Delivery latencies of the orders answered in the window (the bare POSTs' on the baseline side), ms. */
  delivery: number[];
  /** Orders of the phase (warm-up included) whose webhook had not arrived, verified, by the end of the drain. */
  lost: number;
  orders: number;
  drainMs: number;
  deadRequests: number;
  /** From the endpoints' creation to the end of the drain, ms: the time the dead endpoint had. */
  deadMs: number;
}

interface Bench {
  context: ScenarioContext;
  clients: number;
  skus: string[];
  client: GraphQLClient;
  serverPid: number;
  healthy: HealthyReceiver;
  /** The body of a real delivery, POSTed as is by the baseline. */
  body: string;
  poster: http.Agent;
  deadUrl: string;
  deadRequests: () => number;
  /** Bare POSTs sent so far, for their ids. */
  posted: number;
  /** The bench's own connection to the scenario's database. */
  db: Database;
}

async function createEndpoint(client: GraphQLClient, url: string): Promise<{ id: string; secret: string }> {
  const { createWebhookEndpoint: answer } = await client.data<{
    createWebhookEndpoint: { endpoint: { id: string } | null; secret: string | null; userErrors: unknown[] };
  }>(CREATE_ENDPOINT, { input: { url, events: ["ORDER_BACKORDERED"] } });
  if (!answer.endpoint || !answer.secret) throw new Error(`createWebhookEndpoint refused: ${JSON.stringify(answer.userErrors)}`);
  return { id: answer.endpoint.id, secret: answer.secret };
}

async function deleteEndpoint(client: GraphQLClient, id: string): Promise<void> {
  const { deleteWebhookEndpoint: answer } = await client.data<{ deleteWebhookEndpoint: { userErrors: unknown[] } }>(DELETE_ENDPOINT, { id });
  if (answer.userErrors.length > 0) throw new Error(`deleteWebhookEndpoint refused: ${JSON.stringify(answer.userErrors)}`);
}

async function placeOne(client: GraphQLClient, customer: string, sku: string): Promise<string> {
  const { placeOrder } = await client.data<PlaceOrderAnswer>(PLACE_ORDER, { input: { customer, lines: [{ sku, quantity: 1 }] } });
  if (!placeOrder.order || placeOrder.userErrors.length > 0) throw new Error(`placeOrder refused: ${JSON.stringify(placeOrder.userErrors)}`);
  return placeOrder.order.id;
}

/** Waits until every order in `ids` has its webhook at the healthy receiver, at most DRAIN_MS; answers how long it waited. */
async function drain(healthy: HealthyReceiver, ids: string[], label: string): Promise<number> {
  const started = now();
  for (let n = 0; ; n++) {
    const missing = ids.filter((id) => !healthy.byOrder.has(id)).length;
    if (missing === 0 || now() - started > DRAIN_MS) return now() - started;
    if (n % 20 === 0) status(`${label}: draining, ${missing} of ${ids.length} webhooks still to arrive`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One bare POST of the delivery's body, signed for the receiver, from the bench: resolves with its start to its receipt, ms. */
function barePost(bench: Bench, secret: string): Promise<number> {
  const id = `msg_bench_${++bench.posted}`;
  const target = new URL(bench.healthy.url);
  const headers = signWebhook(secret, id, Date.now() / 1000, bench.body);
  const started = now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent: bench.poster,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(bench.body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const at = bench.healthy.byId.get(id);
          if (res.statusCode !== 204 || at === undefined) reject(new Error(`the receiver answered the bare POST ${res.statusCode}`));
          else resolve(at - started);
        });
      },
    );
    req.on("error", reject);
    req.end(bench.body);
  });
}

/** One side's phase of a round. */
async function phase(bench: Bench, side: Side, round: number, secret: string): Promise<Measured> {
  const { options, name } = bench.context;
  const label = `${SIDE_LABEL[side]}, round ${round + 1}`;
  // Each worker draws SKUs from its own seeded sequence: in a round, both sides order the same products in the same order.
  const randoms = Array.from({ length: bench.clients }, (_, w) => generator((round + 1) * 1000 + w + 1));
  // What autovacuum does within its naptime (a minute) on a running database: without it every
  // statement is planned by the statistics of the empty tables the run began with, and counting a
  // backorder's place walks every waiting backorder of every product (40 places at 5,000 waiting:
  // 15 ms, against 0.75 ms once analyzed), so the webhooks' payloads slow as the run goes on.
  await bench.db.execute(sql`ANALYZE`);
  const begun = now();
  let endpoints: { id: string }[] = [];
  if (side === "none") bench.healthy.useSecret(secret);
  else {
    const healthy = await createEndpoint(bench.client, bench.healthy.url);
    bench.healthy.useSecret(healthy.secret);
    endpoints = [healthy, await createEndpoint(bench.client, bench.deadUrl)];
  }
  const deadBefore = bench.deadRequests();
  const placed: { id: string; answered: number }[] = [];
  // Settled, never rejected: a rejection waiting here until the load ends would be unhandled.
  const posts: Promise<{ started: number; ms: number } | { error: unknown }>[] = [];
  let window = { open: Number.POSITIVE_INFINITY, close: Number.POSITIVE_INFINITY, cpu: 0 };
  step(`${label}: ${bench.clients} clients, ${options.warmup}s warm-up + ${options.duration}s`);
  const load = await runLoad({
    label: `${name} ${label}`,
    clients: bench.clients,
    warmupMs: options.warmup * 1000,
    durationMs: options.duration * 1000,
    onWindow: (edge) => {
      if (edge === "open") window = { ...window, open: now(), cpu: cpuMs(bench.serverPid) };
      else window = { ...window, close: now(), cpu: cpuMs(bench.serverPid) - window.cpu };
    },
    operation: async (worker) => {
      const sku = bench.skus[Math.floor(randoms[worker]() * bench.skus.length)];
      const id = await placeOne(bench.client, `bench-${worker}`, sku);
      const answered = now();
      placed.push({ id, answered });
      if (side === "none")
        posts.push(
          barePost(bench, secret).then(
            (ms) => ({ started: answered, ms }),
            (error: unknown) => ({ error }),
          ),
        );
    },
  });
  const inWindow = (t: number) => t >= window.open && t <= window.close;
  let delivery: number[];
  let lost = 0;
  let drainMs = 0;
  let deadRequests = 0;
  let deadMs = 0;
  if (side === "endpoints") {
    const ids = placed.map((p) => p.id);
    drainMs = await drain(bench.healthy, ids, label);
    deadRequests = bench.deadRequests() - deadBefore;
    deadMs = now() - begun;
    lost = ids.filter((id) => !bench.healthy.byOrder.has(id)).length;
    delivery = placed.filter((p) => inWindow(p.answered) && bench.healthy.byOrder.has(p.id)).map((p) => bench.healthy.byOrder.get(p.id)! - p.answered);
    for (const endpoint of endpoints) await deleteEndpoint(bench.client, endpoint.id);
    // Attempts at the dead endpoint still in flight end by their timeout: not in the next phase.
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS));
  } else {
    const settled = await Promise.all(posts);
    const failed = settled.find((p) => "error" in p);
    if (failed && "error" in failed) throw new Error(`a bare POST failed: ${failed.error instanceof Error ? failed.error.message : String(failed.error)}`);
    delivery = settled.flatMap((p) => ("ms" in p && inWindow(p.started) ? [p.ms] : []));
  }
  const measured = { load, cpuMs: window.cpu, delivery, lost, orders: placed.length, drainMs, deadRequests, deadMs };
  step(
    `${label}: ${load.rate.toFixed(0)} orders/s, p50 ${percentile(load.latencies, 50).toFixed(1)} ms, p99 ${percentile(load.latencies, 99).toFixed(1)} ms; ` +
      `delivery p50 ${percentile(delivery, 50).toFixed(1)} ms, p99 ${percentile(delivery, 99).toFixed(1)} ms` +
      (side === "endpoints"
        ? `; ${lost} of ${placed.length} lost after a drain of ${(drainMs / 1000).toFixed(1)} s; ${deadRequests} attempts at the dead endpoint`
        : "") +
      (load.failed ? `; ${load.failed} failed (${load.firstError})` : ""),
  );
  if (load.failed > 0) throw new Error(`${load.failed} orders failed: ${load.firstError}`);
  if (side === "endpoints" && deadRequests === 0) throw new Error("the dead endpoint was never tried: the phase did not measure what it claims");
  return measured;
}

export async function webhooksScenario(context: ScenarioContext): Promise<void> {
  const { options } = context;
  const clients = Math.max(1, Math.round(options.clients / 2));
  const url = await context.databases.create(context.name);
  const connection = await connect({ databaseUrl: url, max: 8 });
  context.defer(() => connection.close());
  step(`creating ${options.products} products with no stock (ALLOW): every order backorders`);
  const skus = Array.from({ length: options.products }, (_, i) => `HOOK-${String(i).padStart(5, "0")}`);
  await createCatalogue(connection.db, skus.length, (i) => ({ sku: skus[i], name: `Bench product ${i}`, price: "9.99", backorderPolicy: "ALLOW" }));

  const healthy = await startHealthyReceiver();
  context.defer(() => healthy.close());
  const dead = await startDeadReceiver();
  context.defer(() => dead.close());
  // Private URLs allowed: the receivers are on 127.0.0.1.
  const server = await context.startServer({ databaseUrl: url, env: { WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), WEBHOOK_ALLOW_PRIVATE_URLS: "true" } });
  const client = new GraphQLClient(server.url, clients + 1);
  context.defer(() => client.close());
  const poster = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  context.defer(() => poster.destroy());

  // The path once, end to end: one endpoint, one order, its webhook verified at the receiver. Its
  // body is the one the baseline POSTs, and its secret the one the baseline signs with.
  const probe = await createEndpoint(client, healthy.url);
  healthy.useSecret(probe.secret);
  const probeOrder = await placeOne(client, "bench-probe", skus[0]);
  await drain(healthy, [probeOrder], "first webhook");
  const body = healthy.lastBody();
  if (!healthy.byOrder.has(probeOrder) || !body)
    throw new Error(`the first order's webhook did not arrive within ${DRAIN_MS} ms (${healthy.unverified()} unverified)`);
  await deleteEndpoint(client, probe.id);
  step(`first webhook arrived, verified (${Buffer.byteLength(body)} bytes)`);

  const bench: Bench = {
    db: connection.db,
    context,
    clients,
    skus,
    client,
    serverPid: server.pid,
    healthy,
    body,
    poster,
    deadUrl: dead.url,
    deadRequests: () => dead.requests(),
    posted: 0,
  };
  const measured: Record<Side, Measured[]> = { none: [], endpoints: [] };
  for (let round = 0; round < options.rounds; round++) {
    for (const side of SIDES) measured[side].push(await phase(bench, side, round, probe.secret));
  }

  const sum = (side: Side, pick: (m: Measured) => number) => measured[side].reduce((total, m) => total + pick(m), 0);
  const rate = (side: Side) => sum(side, (m) => m.load.completed) / (options.duration * options.rounds);
  const latency = (side: Side, p: number) =>
    percentile(
      measured[side].flatMap((m) => m.load.latencies),
      p,
    );
  const delivery = (side: Side, p: number) =>
    percentile(
      measured[side].flatMap((m) => m.delivery),
      p,
    );
  const cpuPerOrder = (side: Side) => sum(side, (m) => m.cpuMs) / sum(side, (m) => m.load.completed);
  const none = "no endpoint";
  const bare = "bare POST";
  const setup = `${clients} clients, one unit of one of ${options.products} products with no stock per order; beside: a dead endpoint (never answers, WEBHOOK_TIMEOUT_MS ${TIMEOUT_MS}) and a healthy one`;
  context.record({
    name: "orders/s over HTTP, dead + healthy endpoint",
    unit: "1/s",
    value: rate("endpoints"),
    baselineName: none,
    baseline: rate("none"),
    target: { on: "ratio", op: ">=", bound: RATE_TARGET },
    note: setup,
  });
  context.record({
    name: "p99 latency over HTTP, dead + healthy endpoint",
    unit: "ms",
    value: latency("endpoints", 99),
    baselineName: none,
    baseline: latency("none", 99),
    target: { on: "ratio", op: "<=", bound: P99_TARGET },
  });
  context.record({
    name: "p50 latency over HTTP, dead + healthy endpoint",
    unit: "ms",
    value: latency("endpoints", 50),
    baselineName: none,
    baseline: latency("none", 50),
  });
  context.record({
    name: "server CPU per order",
    unit: "ms",
    value: cpuPerOrder("endpoints"),
    baselineName: none,
    baseline: cpuPerOrder("none"),
    note: "the server process's user+system time over the measured window, per order: with endpoints it includes the worker's fan-out, claims, POSTs and records",
  });
  context.record({
    name: "p99 delivery to the healthy endpoint",
    unit: "ms",
    value: delivery("endpoints", 99),
    baselineName: bare,
    baseline: delivery("none", 99),
    target: { on: "value", op: "<=", bound: DELIVERY_P99_TARGET_MS },
    note: "from the placeOrder HTTP response to the verified receipt of that order's webhook, orders answered in the measured window; baseline: the same body POSTed by the bench over node:http to the same receiver after each order of the no-endpoint phase, from its start to its receipt",
  });
  context.record({
    name: "p50 delivery to the healthy endpoint",
    unit: "ms",
    value: delivery("endpoints", 50),
    baselineName: bare,
    baseline: delivery("none", 50),
  });
  // The worker holds at most DEFAULT_SLOTS_PER_ENDPOINT attempts at one endpoint (docs/ARCHITECTURE.md,
  // "Webhooks"), each ended by WEBHOOK_TIMEOUT_MS: over the time it had, the dead endpoint can see that many.
  context.record({
    name: "attempts at the dead endpoint",
    unit: "",
    value: sum("endpoints", (m) => m.deadRequests),
    baselineName: `${DEFAULT_SLOTS_PER_ENDPOINT} slots ÷ timeout`,
    baseline: Math.floor((DEFAULT_SLOTS_PER_ENDPOINT * sum("endpoints", (m) => m.deadMs)) / TIMEOUT_MS),
    note: `requests the dead receiver got from the endpoints' creation to the end of the drain, beside how many ${DEFAULT_SLOTS_PER_ENDPOINT} attempts at a time, each given up after WEBHOOK_TIMEOUT_MS, make in that time: far fewer means an attempt is held past its timeout`,
  });
  context.record({
    name: "webhooks lost",
    unit: "",
    value: sum("endpoints", (m) => m.lost),
    target: { on: "value", op: "<=", bound: 0 },
    note:
      `${sum("endpoints", (m) => m.orders)} orders placed beside the endpoints (warm-up included), each owed one verified webhook at the healthy endpoint within a drain of ${DRAIN_MS / 1000} s after the load ` +
      `(longest drain ${(Math.max(...measured.endpoints.map((m) => m.drainMs)) / 1000).toFixed(1)} s); ${healthy.unverified()} requests failed verification; ` +
      `${sum("endpoints", (m) => m.deadRequests)} attempts reached the dead endpoint meanwhile`,
  });
}

/**
 * Query cost, and what the HTTP layer costs.
 *
 * Statements per request: the nested query of the engine issue (products, each with its backlog,
 * each backorder's order with its lines and their products) at page sizes 10, 50 and 100. The
 * server runs as its own process with its database connection passed through a counting proxy
 * (statement-counter.ts), which sees every statement on the wire; DataLoaders should keep the
 * count the same small constant whatever the page size. Each size is asked five times; the
 * median count is reported.
 *
 * Reads per second (issue 11): a page of products with their stock and the head of each one's
 * queue (places, units ahead, dates) against `{ __typename }` on the same server, our own layer's
 * ceiling on this machine: target at least half. The server for this part connects to
 * PostgreSQL directly, without the proxy.
 *
 * The HTTP layer (issue 11): our `{ __typename }` (with the API key, as every request) against a
 * bare Apollo Server 5 on Express 5 answering `{ hello }` in a process of its own
 * (bare-apollo.server.ts), same client, same concurrency: target at least 0.7 of it.
 *
 * The three loads alternate, round after round, so a burst from elsewhere falls on all of them.
 */
import { connect } from "../../../drizzle/db.js";
import { placeOrder } from "../../../server/services/order.service.js";
import { createCatalogue } from "../catalogue.js";
import { GraphQLClient } from "../graphql-client.js";
import { median, percentile } from "../latency.js";
import { runLoad } from "../load.js";
import { step } from "../progress.js";
import type { ScenarioContext } from "../scenario.js";
import { cpuMs } from "../server-process.js";
import { StatementCounter } from "../statement-counter.js";

const REPEATS = 5;
const ORDERS_PER_PRODUCT = 6;

const NESTED = `query Nested($first: Int) { products(first: $first) { nodes {
  backlog(first: 5) { nodes { order { lines { product { sku } } } product { sku } } } } } }`;
const READS = `{ products(first: 20) { nodes { stock { available backordered } backlog(first: 5) { nodes { position unitsAhead expectedAt } } } } }`;
const TRIVIAL = `{ __typename }`;
const HELLO = `{ hello }`;

/** Issue 11: reads at least half of `{ __typename }`; our `{ __typename }` at least 0.7 of bare Apollo's `{ hello }`. */
const READS_TARGET = 0.5;
const HTTP_LAYER_TARGET = 0.7;

export async function queryCostScenario(context: ScenarioContext): Promise<void> {
  const { options } = context;
  const url = await context.databases.create(context.name);
  const connection = await connect({ databaseUrl: url });
  context.defer(() => connection.close());

  // A page of 100 needs 100 products with a backlog: each gets orders of two lines, its own
  // product and the next one, all backordered (no stock), so every product has a queue. Ten
  // more than the largest page, so every page reaches products beyond itself through the lines.
  const count = Math.max(...options.pageSizes, 20) + 10;
  step(`creating ${count} products with ${ORDERS_PER_PRODUCT} two-line backorders each`);
  const products = await createCatalogue(connection.db, count, (i) => ({
    sku: `COST-${String(i).padStart(4, "0")}`,
    name: `Cost product ${i}`,
    price: "3.50",
    backorderPolicy: "ALLOW",
  }));
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let n = next++; n < count * ORDERS_PER_PRODUCT; n = next++) {
        const i = n % count;
        await placeOrder(connection.db, {
          customer: `cost-${n}`,
          lines: [
            { productId: products[i], quantity: 1 },
            { productId: products[(i + 1) % count], quantity: 2 },
          ],
        });
      }
    }),
  );

  const database = new URL(url);
  const counter = new StatementCounter({ host: database.hostname, port: Number(database.port || 5432) });
  context.defer(() => counter.close());
  const proxyPort = await counter.listen();
  const proxied = new URL(url);
  proxied.port = String(proxyPort);
  // The read cache off: this counts what one execution sends.
  const counted = await context.startServer({ databaseUrl: proxied.toString(), env: { READ_CACHE_MAX_AGE_MS: "0" } });
  const countingClient = new GraphQLClient(counted.url, 1);
  context.defer(() => countingClient.close());

  const perSize: { first: number; statements: number; counts: number[]; stable: boolean }[] = [];
  for (const first of options.pageSizes) {
    const check = async () => {
      const data = await countingClient.data<{ products: { nodes: { backlog: { nodes: unknown[] } }[] } }>(NESTED, { first });
      if (data.products.nodes.length !== first) throw new Error(`asked for ${first} products, got ${data.products.nodes.length}`);
      if (data.products.nodes.some((node) => node.backlog.nodes.length === 0)) throw new Error("a product came back without its backlog");
    };
    await check();
    const counts = [];
    for (let i = 0; i < REPEATS; i++) counts.push(await counter.count(check));
    // The median: an occasional extra statement (the key's last-used stamp, at most once a
    // minute) belongs to no page size; every variation is reported in a note.
    const statements = median(counts.map((c) => c.statements));
    const stable = counts.every((c) => c.statements === statements);
    perSize.push({ first, statements, counts: counts.map((c) => c.statements), stable });
    step(
      `first: ${first}: ${counts.map((c) => c.statements).join(", ")} statements per request (+${counts.map((c) => c.background).join(", ")} background)`,
    );
    for (const text of counts.at(-1)!.texts) step(`    ${text.slice(0, 140)}`);
  }
  await counted.stop();

  const smallest = perSize[0];
  for (const size of perSize) {
    context.record({
      name: `statements per nested query, first: ${size.first}`,
      unit: "",
      value: size.statements,
      baselineName: `at first: ${smallest.first}`,
      baseline: smallest.statements,
      target: { on: "ratio", op: "<=", bound: 1 },
      note: size.stable ? undefined : `median of ${REPEATS} requests: ${size.counts.join(", ")}`,
    });
  }

  const server = await context.startServer({ databaseUrl: url });
  const client = new GraphQLClient(server.url, options.clients);
  context.defer(() => client.close());
  // The page reads what it should: 20 products, each with the head of its queue.
  const page = await client.data<{ products: { nodes: { backlog: { nodes: { position: number }[] } }[] } }>(READS);
  if (page.products.nodes.length !== 20 || page.products.nodes.some((node) => node.backlog.nodes.length === 0)) {
    throw new Error("products(first: 20) did not return 20 products, each with a backlog");
  }
  // The same page with the read cache off: what one execution costs (context, no target).
  const uncachedServer = await context.startServer({ databaseUrl: url, env: { READ_CACHE_MAX_AGE_MS: "0" } });
  const uncachedClient = new GraphQLClient(uncachedServer.url, options.clients);
  context.defer(() => uncachedClient.close());
  const bare = await context.startServer({ script: "test/bench/bare-apollo.server.ts" });
  const bareClient = new GraphQLClient(bare.url, options.clients);
  context.defer(() => bareClient.close());
  // The floor under both: Apollo on node:http with nothing in between (context, no target).
  const bareHttp = await context.startServer({ script: "test/bench/bare-apollo.server.ts", env: { BARE_TRANSPORT: "node-http" } });
  const bareHttpClient = new GraphQLClient(bareHttp.url, options.clients);
  context.defer(() => bareHttpClient.close());
  const loads = [
    { kind: "reads", label: "products(first: 20)", query: READS, client, pid: server.pid },
    { kind: "uncached", label: "products(first: 20), read cache off", query: READS, client: uncachedClient, pid: uncachedServer.pid },
    { kind: "trivial", label: "{ __typename }", query: TRIVIAL, client, pid: server.pid },
    { kind: "bare", label: "bare Apollo { hello }", query: HELLO, client: bareClient, pid: bare.pid },
    { kind: "bareHttp", label: "bare Apollo on node:http { hello }", query: HELLO, client: bareHttpClient, pid: bareHttp.pid },
  ] as const;
  type Kind = (typeof loads)[number]["kind"];
  type Measured = { rate: number; latencies: number[]; cpuPerRequestMs: number };
  const measured: Record<Kind, Measured[]> = { reads: [], uncached: [], trivial: [], bare: [], bareHttp: [] };
  const lookupsAtStart = await readCacheLookups(server.url);
  for (let round = 0; round < options.rounds; round++) {
    for (const load of loads) {
      const label = `${load.label}, round ${round + 1}`;
      step(`${label}: ${options.clients} clients, ${options.warmup}s warm-up + ${options.duration}s`);
      let cpuAtOpen = 0;
      let cpu = 0;
      const result = await runLoad({
        label,
        clients: options.clients,
        warmupMs: options.warmup * 1000,
        durationMs: options.duration * 1000,
        operation: async () => void (await load.client.data(load.query)),
        onWindow: (edge) => {
          if (edge === "open") cpuAtOpen = cpuMs(load.pid);
          else cpu = cpuMs(load.pid) - cpuAtOpen;
        },
      });
      if (result.failed) throw new Error(`${label}: ${result.failed} requests failed: ${result.firstError}`);
      const cpuPerRequestMs = cpu / result.completed;
      step(
        `${label}: ${result.rate.toFixed(0)} requests/s, p50 ${percentile(result.latencies, 50).toFixed(1)} ms, ${cpuPerRequestMs.toFixed(2)} ms of server CPU per request`,
      );
      measured[load.kind].push({ ...result, cpuPerRequestMs });
    }
  }
  const lookups = await readCacheLookups(server.url);
  const hits = lookups.hit - lookupsAtStart.hit;
  const misses = lookups.miss - lookupsAtStart.miss;
  const rate = (kind: Kind) => measured[kind].reduce((sum, r) => sum + r.rate, 0) / measured[kind].length;
  const p50 = (kind: Kind) =>
    percentile(
      measured[kind].flatMap((r) => r.latencies),
      50,
    );
  const cpu = (kind: Kind) => measured[kind].reduce((sum, r) => sum + r.cpuPerRequestMs, 0) / measured[kind].length;
  const cpuNote =
    "the server process's user+system time in the measured window over the requests answered in it (one Node process: about 1,000 ms of CPU a second at most)";
  context.record({
    name: "products(first: 20) with stock and backlog requests/s",
    unit: "1/s",
    value: rate("reads"),
    baselineName: "{ __typename }",
    baseline: rate("trivial"),
    target: { on: "ratio", op: ">=", bound: READS_TARGET },
    note:
      `the page: ${READS}; answered by the read cache (docs/ARCHITECTURE.md, "The read cache") ${hits} times and run ${misses} times ` +
      "(a commit anywhere in the cluster, such as the cost budgets' sync every 250 ms, ends the kept answer)",
  });
  context.record({
    name: "products(first: 20) with the read cache off requests/s",
    unit: "1/s",
    value: rate("uncached"),
    baselineName: "{ __typename }",
    baseline: rate("trivial"),
    note: "READ_CACHE_MAX_AGE_MS=0: every request runs its three statements and resolvers",
  });
  context.record({
    name: "{ __typename } with an API key requests/s",
    unit: "1/s",
    value: rate("trivial"),
    baselineName: "bare Apollo { hello }",
    baseline: rate("bare"),
    target: { on: "ratio", op: ">=", bound: HTTP_LAYER_TARGET },
    note:
      "bare Apollo: @apollo/server on @as-integrations/express5 with one field, in its own process (test/bench/bare-apollo.server.ts); " +
      "our plain JSON POSTs skip Express (server/http/graphql-http.ts), so the next row sets them beside Apollo on node:http",
  });
  context.record({
    name: "{ __typename } with an API key beside Apollo on node:http requests/s",
    unit: "1/s",
    value: rate("trivial"),
    baselineName: "bare Apollo on node:http { hello }",
    baseline: rate("bareHttp"),
    note: "context, no target: the same bare Apollo with no Express, reading the body and writing the answer itself (BARE_TRANSPORT=node-http)",
  });
  context.record({
    name: "products(first: 20) p50 latency",
    unit: "ms",
    value: p50("reads"),
    baselineName: "{ __typename }",
    baseline: p50("trivial"),
  });
  context.record({
    name: "{ __typename } p50 latency",
    unit: "ms",
    value: p50("trivial"),
    baselineName: "bare Apollo { hello }",
    baseline: p50("bare"),
  });
  context.record({
    name: "products(first: 20) server CPU per request",
    unit: "ms",
    value: cpu("reads"),
    baselineName: "{ __typename }",
    baseline: cpu("trivial"),
    note: cpuNote,
  });
  context.record({
    name: "products(first: 20) with the read cache off server CPU per request",
    unit: "ms",
    value: cpu("uncached"),
    baselineName: "{ __typename }",
    baseline: cpu("trivial"),
    note: cpuNote,
  });
  context.record({
    name: "{ __typename } server CPU per request",
    unit: "ms",
    value: cpu("trivial"),
    baselineName: "bare Apollo { hello }",
    baseline: cpu("bare"),
    note: cpuNote,
  });
  context.record({
    name: "{ __typename } server CPU per request beside Apollo on node:http",
    unit: "ms",
    value: cpu("trivial"),
    baselineName: "bare Apollo on node:http { hello }",
    baseline: cpu("bareHttp"),
    note: cpuNote,
  });
}

/** The read cache's counters of the server at `url`, from its GET /metrics. */
async function readCacheLookups(url: string): Promise<{ hit: number; miss: number }> {
  const text = await fetch(url.replace(/\/graphql$/, "/metrics")).then((response) => response.text());
  const count = (outcome: string) =>
    Number(new RegExp(`^backorder_read_cache_requests_total\\{outcome="${outcome}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { hit: count("hit"), miss: count("miss") };
}

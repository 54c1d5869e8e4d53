/**
 * Query cost, two ways.
 *
 * Statements per request: the nested query of the engine issue (products, each with its backlog,
 * each backorder's order with its lines and their products) at page sizes 10, 50 and 100. The
 * server runs as its own process with its database connection passed through a counting proxy
 * (statement-counter.ts), which sees every statement on the wire; DataLoaders should keep the
 * count the same small constant whatever the page size. Each size is asked five times; the
 * median count is reported.
 *
 * Requests per second: a realistic list (products with stock and backlog counts) against
 * `{ __typename }` on the same server, the GraphQL layer's own ceiling on this machine. The
 * server for this part connects to PostgreSQL directly, without the proxy.
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
const LIST = `{ products(first: 20) { nodes { sku stock { available backordered } backlog(first: 5) { totalCount } } } }`;
const TRIVIAL = `{ __typename }`;

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
  const counted = await context.startServer({ databaseUrl: proxied.toString() });
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
  type Measured = { rate: number; latencies: number[]; cpuPerRequestMs: number };
  const measured = { list: [] as Measured[], trivial: [] as Measured[] };
  for (let round = 0; round < options.rounds; round++) {
    for (const [kind, query] of [
      ["list", LIST],
      ["trivial", TRIVIAL],
    ] as const) {
      const label = `${kind === "list" ? "products(first: 20)" : "{ __typename }"}, round ${round + 1}`;
      step(`${label}: ${options.clients} clients, ${options.warmup}s warm-up + ${options.duration}s`);
      let cpuAtOpen = 0;
      let cpu = 0;
      const result = await runLoad({
        label,
        clients: options.clients,
        warmupMs: options.warmup * 1000,
        durationMs: options.duration * 1000,
        operation: async () => void (await client.data(query)),
        onWindow: (edge) => {
          if (edge === "open") cpuAtOpen = cpuMs(server.pid);
          else cpu = cpuMs(server.pid) - cpuAtOpen;
        },
      });
      if (result.failed) throw new Error(`${label}: ${result.failed} requests failed: ${result.firstError}`);
      const cpuPerRequestMs = cpu / result.completed;
      step(
        `${label}: ${result.rate.toFixed(0)} requests/s, p50 ${percentile(result.latencies, 50).toFixed(1)} ms, ${cpuPerRequestMs.toFixed(2)} ms of server CPU per request`,
      );
      measured[kind].push({ ...result, cpuPerRequestMs });
    }
  }
  const rate = (results: { rate: number }[]) => results.reduce((sum, r) => sum + r.rate, 0) / results.length;
  const latencies = (results: { latencies: number[] }[]) => results.flatMap((r) => r.latencies);
  context.record({
    name: "products(first: 20) requests/s",
    unit: "1/s",
    value: rate(measured.list),
    baselineName: "{ __typename }",
    baseline: rate(measured.trivial),
  });
  const cpu = (results: Measured[]) => results.reduce((sum, r) => sum + r.cpuPerRequestMs, 0) / results.length;
  context.record({
    name: "products(first: 20) server CPU per request",
    unit: "ms",
    value: cpu(measured.list),
    baselineName: "{ __typename }",
    baseline: cpu(measured.trivial),
    note: "the server process's user+system time in the measured window over the requests answered in it (one Node process: about 1,000 ms of CPU a second at most)",
  });
  context.record({
    name: "products(first: 20) p50 latency",
    unit: "ms",
    value: percentile(latencies(measured.list), 50),
    baselineName: "{ __typename }",
    baseline: percentile(latencies(measured.trivial), 50),
  });
}

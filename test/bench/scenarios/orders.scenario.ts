/**
 * Orders per second through `placeOrder` over HTTP, beside the same service call made in-process
 * from the bench with a pool the size of the server's: the same transaction, the same statements,
 * the same data, the same concurrency. What the ratio shows is the cost of HTTP, GraphQL and the
 * server process, on top of what PostgreSQL and the engine cost anyway.
 *
 *   orders:      every order one unit of one of `products` products (plenty of stock each)
 *   hot-product: every order one unit of one product that has a little stock, so nearly all become
 *                backorders queued behind one row lock; then nothing may be oversold
 */
import { sql } from "drizzle-orm";
import { connect, type Connection, rows } from "../../../drizzle/db.js";
import { toGlobalId } from "../../../server/graphql/node-id.js";
import { auditInvariants, formatViolation } from "../../../server/services/audit.service.js";
import { placeOrder } from "../../../server/services/order.service.js";
import { createCatalogue } from "../catalogue.js";
import { GraphQLClient } from "../graphql-client.js";
import { percentile, timed } from "../latency.js";
import { type LoadOptions, type LoadResult, runLoad } from "../load.js";
import { type LockSample, LockSampler } from "../lock-sampler.js";
import { step } from "../progress.js";
import { generator, type ScenarioContext } from "../scenario.js";
import { cpuMs } from "../server-process.js";

const PLACE_ORDER = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id status } userErrors { code message } }
}`;

interface PlaceOrderAnswer {
  placeOrder: { order: { id: string; status: string } | null; userErrors: { code: string; message: string }[] };
}

interface Phase {
  label: string;
  run: () => Promise<LoadResult & { cpuPerOrderMs: number }>;
}

/** The bench process's own CPU time so far, ms. */
function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Runs a load, reading the CPU time of the process that does the engine's work over the measured window. */
async function loadWithCpu(options: Omit<LoadOptions, "onWindow">, cpu: () => number) {
  let atOpen = 0;
  let used = 0;
  const result = await runLoad({
    ...options,
    onWindow: (edge) => {
      if (edge === "open") atOpen = cpu();
      else used = cpu() - atOpen;
    },
  });
  return { ...result, cpuPerOrderMs: result.completed ? used / result.completed : Number.NaN };
}

/** Measured per side, over every round: how often the lock holder was waiting on its client. */
interface Sampled {
  sampler?: LockSampler;
  served: LockSample[];
  direct: LockSample[];
}

function merge(results: (LoadResult & { cpuPerOrderMs: number })[], durationS: number) {
  const latencies = results.flatMap((r) => r.latencies);
  const completed = results.reduce((sum, r) => sum + r.completed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  return {
    rate: completed / (durationS * results.length),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    completed,
    failed,
    cpuPerOrderMs: results.reduce((sum, r) => sum + r.cpuPerOrderMs, 0) / results.length,
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

/** Runs the server and baseline phases alternately and records their rates and latencies. */
async function compare(context: ScenarioContext, server: (round: number) => Phase, baseline: (round: number) => Phase, locks?: Sampled) {
  const { options } = context;
  const served: (LoadResult & { cpuPerOrderMs: number })[] = [];
  const direct: (LoadResult & { cpuPerOrderMs: number })[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const [phase, into, samples] of [
      [server(round), served, locks?.served],
      [baseline(round), direct, locks?.direct],
    ] as const) {
      step(`${phase.label}: ${options.clients} clients, ${options.warmup}s warm-up + ${options.duration}s`);
      locks?.sampler?.start();
      const result = await phase.run();
      const sampled = locks?.sampler?.stop();
      if (sampled) samples?.push(sampled);
      into.push(result);
      step(
        `${phase.label}: ${result.rate.toFixed(0)} orders/s, p50 ${percentile(result.latencies, 50).toFixed(1)} ms, p99 ${percentile(result.latencies, 99).toFixed(1)} ms, ${result.cpuPerOrderMs.toFixed(2)} ms CPU per order${result.failed ? `, ${result.failed} failed (${result.firstError})` : ""}`,
      );
    }
  }
  const s = merge(served, options.duration);
  const b = merge(direct, options.duration);
  const failures = s.failed + b.failed;
  if (failures > 0) {
    throw new Error(`${failures} orders failed: ${s.firstError ?? b.firstError}`);
  }
  const onClient = (samples: LockSample[]) => {
    const total = samples.reduce((sum, x) => sum + x.samples, 0);
    return total ? `${((100 * samples.reduce((sum, x) => sum + x.holderWaitingOnClient, 0)) / total).toFixed(0)}%` : "n/a";
  };
  context.record({
    name: "orders/s over HTTP",
    unit: "1/s",
    value: s.rate,
    baselineName: "in-process",
    baseline: b.rate,
    target: { on: "ratio", op: ">=", bound: 0.5 },
    note: locks
      ? `the product's lock holder was waiting on its client (idle in transaction) in ${onClient(locks.served)} of samples over HTTP, ${onClient(locks.direct)} in-process`
      : undefined,
  });
  context.record({ name: "p50 latency", unit: "ms", value: s.p50, baselineName: "in-process", baseline: b.p50 });
  context.record({ name: "p99 latency", unit: "ms", value: s.p99, baselineName: "in-process", baseline: b.p99 });
  context.record({
    name: "app CPU per order",
    unit: "ms",
    value: s.cpuPerOrderMs,
    baselineName: "in-process",
    baseline: b.cpuPerOrderMs,
    note: "CPU time of the process running placeOrder (the server; the bench itself for the baseline) over the measured window, per order",
  });
}

/** The HTTP side: the real server's `placeOrder` mutation. */
function overHttp(client: GraphQLClient, serverPid: number, context: ScenarioContext, label: string, productFor: (worker: number) => number): Phase {
  const { options } = context;
  return {
    label,
    run: () =>
      loadWithCpu(
        {
          label,
          clients: options.clients,
          warmupMs: options.warmup * 1000,
          durationMs: options.duration * 1000,
          operation: async (worker) => {
            const answer = await client.data<PlaceOrderAnswer>(PLACE_ORDER, {
              input: { customer: `bench-${worker}`, lines: [{ productId: toGlobalId("Product", productFor(worker)), quantity: 1 }] },
            });
            const { order, userErrors } = answer.placeOrder;
            if (!order || userErrors.length > 0) throw new Error(`placeOrder refused: ${JSON.stringify(userErrors)}`);
          },
        },
        () => cpuMs(serverPid),
      ),
  };
}

/** The baseline: the same service function, in the bench process, on a pool like the server's. */
function inProcess(connection: Connection, context: ScenarioContext, label: string, productFor: (worker: number) => number): Phase {
  const { options } = context;
  return {
    label,
    run: () =>
      loadWithCpu(
        {
          label,
          clients: options.clients,
          warmupMs: options.warmup * 1000,
          durationMs: options.duration * 1000,
          operation: async (worker) => {
            await placeOrder(connection.db, { customer: `bench-${worker}`, lines: [{ productId: productFor(worker), quantity: 1 }] });
          },
        },
        ownCpuMs,
      ),
  };
}

async function recordAudit(context: ScenarioContext, connection: Connection) {
  step("auditing every invariant");
  const { result: violations, ms } = await timed(() => auditInvariants(connection.db));
  for (const violation of violations.slice(0, 10)) step(`  violation: ${formatViolation(violation)}`);
  context.record({
    name: "invariant violations (audit)",
    unit: "",
    value: violations.length,
    target: { on: "value", op: "<=", bound: 0 },
    note: `auditInvariants over the whole bench database took ${ms.toFixed(0)} ms`,
  });
}

/** Opens the scenario's database twice over: the bench's pool (the server's default size) and the server. */
async function open(context: ScenarioContext) {
  const url = await context.databases.create(context.name);
  // The same connect() and default pool size the server uses (drizzle/db.ts).
  const connection = await connect({ databaseUrl: url });
  context.defer(() => connection.close());
  return { url, connection };
}

export async function ordersScenario(context: ScenarioContext): Promise<void> {
  const { options } = context;
  const { url, connection } = await open(context);
  step(`creating ${options.products} products`);
  const products = await createCatalogue(connection.db, options.products, (i) => ({
    sku: `BENCH-${String(i).padStart(5, "0")}`,
    name: `Bench product ${i}`,
    price: "9.99",
    backorderPolicy: "ALLOW",
    initialStock: 1_000_000,
  }));
  const server = await context.startServer({ databaseUrl: url });
  const client = new GraphQLClient(server.url, options.clients);
  context.defer(() => client.close());
  // Each worker draws its products from its own seeded sequence: in a round, the server and the
  // baseline place orders for the same products in the same order.
  const draw = (seed: number) => {
    const randoms = Array.from({ length: options.clients }, (_, w) => generator(seed * 1000 + w + 1));
    return (worker: number) => products[Math.floor(randoms[worker]() * products.length)];
  };
  await compare(
    context,
    (round) => overHttp(client, server.pid, context, `orders over HTTP, round ${round + 1}`, draw(round + 1)),
    (round) => inProcess(connection, context, `orders in-process baseline, round ${round + 1}`, draw(round + 1)),
  );
  await recordAudit(context, connection);
}

/** Units of stock each hot product starts with: the first orders allocate, the rest wait. */
const HOT_STOCK = 100;

export async function hotProductScenario(context: ScenarioContext): Promise<void> {
  const { options } = context;
  const { url, connection } = await open(context);
  // A fresh hot product per phase, identical, so no phase queues behind another's backlog.
  const phases = options.rounds * 2;
  const hot = await createCatalogue(connection.db, phases, (i) => ({
    sku: `HOT-${i}`,
    name: `Hot product ${i}`,
    price: "19.99",
    backorderPolicy: "ALLOW",
    initialStock: HOT_STOCK,
  }));
  const server = await context.startServer({ databaseUrl: url });
  const client = new GraphQLClient(server.url, options.clients);
  context.defer(() => client.close());
  const sampler = new LockSampler(url);
  context.defer(() => sampler.close());
  await compare(
    context,
    (round) => overHttp(client, server.pid, context, `hot product over HTTP, round ${round + 1}`, () => hot[round * 2]),
    (round) => inProcess(connection, context, `hot product in-process baseline, round ${round + 1}`, () => hot[round * 2 + 1]),
    { sampler, served: [], direct: [] },
  );

  // Oversold: units allocated beyond what is on hand, or order lines holding more than the stock level records.
  const [check] = await rows<{ oversold: number; mismatched: number; orders: number; allocated: number; waiting: number }>(
    connection.db,
    sql`
    WITH lines AS (
      SELECT product_id, count(*)::int AS orders, sum(allocated)::int AS allocated, sum(waiting)::int AS waiting
      FROM order_lines GROUP BY product_id
    )
    SELECT coalesce(sum(greatest(0, s.allocated - s.on_hand)), 0)::int AS oversold,
           count(*) FILTER (WHERE s.allocated <> coalesce(l.allocated, 0) OR p.backordered <> coalesce(l.waiting, 0))::int AS mismatched,
           coalesce(sum(l.orders), 0)::int AS orders, coalesce(sum(l.allocated), 0)::int AS allocated,
           coalesce(sum(l.waiting), 0)::int AS waiting
    FROM products p JOIN stock_levels s ON s.product_id = p.id LEFT JOIN lines l ON l.product_id = p.id`,
  );
  step(`hot products: ${check.orders} orders, ${check.allocated} units allocated (stock ${HOT_STOCK} each), ${check.waiting} waiting`);
  context.record({
    name: "units oversold",
    unit: "",
    value: check.oversold + check.mismatched,
    target: { on: "value", op: "<=", bound: 0 },
    note: `${check.orders} orders on ${phases} hot products with ${HOT_STOCK} units each: ${check.allocated} allocated, ${check.waiting} backordered`,
  });
  await recordAudit(context, connection);
}

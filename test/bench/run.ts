/**
 * `npm run bench`: the engine's figures, each beside a baseline measured in the same run on the
 * same machine (issue 6). The real server runs as a separate process on a fresh database per
 * scenario and is driven over HTTP and WebSocket. Progress goes to stderr, the table to stdout,
 * and with --json FILE the same figures to a file. See `npm run bench -- --help`.
 */
import os from "node:os";
import postgres from "postgres";
import { BenchDatabases } from "./bench-database.js";
import { type BenchOptions, parseOptions, type ScenarioName, USAGE } from "./bench-options.js";
import { done, step } from "./progress.js";
import { type Figure, finish, type Skipped, table, writeJson } from "./report.js";
import type { Scenario, ScenarioContext } from "./scenario.js";
import { fanOutScenario } from "./scenarios/fan-out.scenario.js";
import { hotProductScenario, ordersScenario } from "./scenarios/orders.scenario.js";
import { queryCostScenario } from "./scenarios/query-cost.scenario.js";
import { restockFillScenario, restockFillOnPglite } from "./scenarios/restock-fill.scenario.js";
import { scaleScenario } from "./scenarios/scale.scenario.js";
import { webhooksScenario } from "./scenarios/webhooks.scenario.js";
import { killAllServers, type ServerProcess, startServer } from "./server-process.js";

const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = {
  orders: ordersScenario,
  "hot-product": hotProductScenario,
  "restock-fill": restockFillScenario,
  "fan-out": fanOutScenario,
  "query-cost": queryCostScenario,
  webhooks: webhooksScenario,
  scale: scaleScenario,
};

class SkipScenario extends Error {}

async function postgresVersion(url: string): Promise<string | undefined> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await client`SELECT current_setting('server_version') AS version`;
    return String(row.version);
  } finally {
    await client.end({ timeout: 5 });
  }
}

async function runScenarios(options: BenchOptions, figures: Figure[], skipped: Skipped[]): Promise<string | undefined> {
  const version = await postgresVersion(options.databaseUrl).catch((error: unknown) => {
    throw new Error(`cannot reach PostgreSQL at ${options.databaseUrl}: ${error instanceof Error ? error.message : String(error)}`);
  });
  const databases = new BenchDatabases(options.databaseUrl);
  const onSignal = () => {
    killAllServers();
    void (options.keepDatabases ? Promise.resolve() : databases.dropAll()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const name of options.scenarios) {
      const cleanups: (() => Promise<void> | void)[] = [];
      const context: ScenarioContext = {
        name,
        options,
        databases,
        record: (figure) => figures.push(finish({ scenario: name, ...figure })),
        skip: (reason) => {
          throw new SkipScenario(reason);
        },
        startServer: async (serverOptions) => {
          step(`starting the server (${serverOptions.script ?? "server/cli/main.ts"})`);
          const server: ServerProcess = await startServer(serverOptions);
          cleanups.push(() => server.stop());
          step(`server pid ${server.pid} at ${server.url}`);
          return server;
        },
        defer: (cleanup) => void cleanups.push(cleanup),
      };
      step(`scenario ${name}`);
      try {
        await SCENARIO_RUNNERS[name](context);
      } catch (error) {
        if (error instanceof SkipScenario) {
          step(`skipped ${name}: ${error.message}`);
          skipped.push({ scenario: name, reason: error.message });
        } else {
          step(`scenario ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          skipped.push({ scenario: name, reason: `FAILED: ${error instanceof Error ? error.message : String(error)}` });
        }
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup();
      }
    }
  } finally {
    if (!options.keepDatabases) await databases.dropAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return version;
}

async function runOnPglite(options: BenchOptions, figures: Figure[], skipped: Skipped[]): Promise<void> {
  step(
    "PGlite is one connection in one process: concurrency figures (orders, hot product, fan-out) are meaningless there and are not run; running the single-connection ones",
  );
  for (const name of options.scenarios) {
    if (name === "restock-fill") {
      await restockFillOnPglite(options, (figure) => figures.push(finish({ scenario: name, ...figure })));
    } else {
      skipped.push({ scenario: name, reason: "not run on PGlite (one connection: needs PostgreSQL)" });
    }
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const startedAt = new Date();
  const figures: Figure[] = [];
  const skipped: Skipped[] = [];
  step(`bench: ${options.scenarios.join(", ")}${options.quick ? " (quick)" : ""} on ${os.availableParallelism()} cores`);
  const version = options.pglite ? "PGlite" : await runScenarios(options, figures, skipped);
  if (options.pglite) await runOnPglite(options, figures, skipped);
  done();
  process.stdout.write(`\n${table(figures, skipped)}\n`);
  if (options.json) {
    writeJson(options.json, {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: os.availableParallelism(), node: process.version, postgres: version, platform: `${os.type()} ${os.release()}` },
      options: { ...options },
      figures,
      skipped,
    });
    step(`wrote ${options.json}`);
  }
  const missed = figures.filter((f) => f.pass === false).length;
  if (missed > 0) step(`${missed} target${missed === 1 ? "" : "s"} missed`);
  // A missed target is a finding, reported above; only a scenario that could not run fails the command.
  return skipped.some((s) => s.reason.startsWith("FAILED")) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    killAllServers();
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/**
 * `npm start`: the server on the embedded database (or DATABASE_URL), with the demo catalogue
 * loaded into an empty database unless SEED_DEMO=false. Stops gracefully on SIGTERM and SIGINT.
 */
import { seedDemo } from "./seed.js";
import { createApp } from "./app.js";
import { loadConfig } from "./config.js";
import { createLogger, serializeError } from "./logger.js";

/** How long running requests get to finish after a stop signal. */
const SHUTDOWN_DEADLINE_MS = 15_000;

function exampleQuery(url: string): string {
  const query = "{ products(first: 5) { nodes { sku name stock { available backordered incoming nextRestockAt } } } }";
  return [
    `GraphQL API: ${url}`,
    "Try:",
    `  curl -s ${url} -H 'content-type: application/json' \\`,
    `    -d '${JSON.stringify({ query })}'`,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  // SEED_DEMO defaults to true here: this is the `npm start` entry point.
  const config = loadConfig(process.env, { seedDemo: true });
  const logger = createLogger({ level: config.logLevel });
  const app = await createApp({
    port: config.port,
    host: config.host,
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    logger,
    prepare: async (db) => {
      if (config.seedDemo && (await seedDemo(db))) logger.info("demo catalogue loaded");
    },
  });
  logger.info("listening", { url: app.url, database: config.databaseUrl ? "postgres" : `pglite:${config.pgliteDir}` });
  process.stdout.write(`\n${exampleQuery(app.url)}\n`);

  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // tsx relays a signal to its child a second time at once: only a later one means "now".
      if (Date.now() - stoppingSince < 1000) return;
      logger.warn("second stop signal: exiting now", { signal });
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info("stopping", { signal });
    setTimeout(() => {
      logger.error("shutdown deadline passed: exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error("shutdown failed", { error: serializeError(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: serializeError(reason) }));
}

main().catch((error: unknown) => {
  createLogger().error("failed to start", { error: serializeError(error) });
  process.exit(1);
});

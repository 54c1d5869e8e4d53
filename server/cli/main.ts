/**
 * `npm start`: the server on the embedded database (or DATABASE_URL), with the demo catalogue
 * loaded into an empty database unless SEED_DEMO=false. Stops gracefully on SIGTERM and SIGINT.
 * The first start on the embedded database also makes development API keys (server/dev-keys.ts)
 * and prints them once, unless BOOTSTRAP_ADMIN_KEY is set: that makes sure an ADMIN key with its
 * secret exists, and whoever set it wants no other keys made behind their back.
 *
 * Secrets go to the terminal (the banner) and to dev-keys.json, never into the JSON log lines:
 * those carry key ids and the file's path only.
 */
import { createDevKeys, devKeysFile, type DevKeys, readDevKeys, writeDevKeys } from "./dev-keys.js";
import { seedDemo } from "./seed.js";
import { createApp } from "../http/app.js";
import { loadConfig } from "../config.js";
import { createLogger, serializeError } from "../logger.js";

/** How long running requests get to finish after a stop signal. */
const SHUTDOWN_DEADLINE_MS = 15_000;

/**
 * The startup banner: the URL, the development keys when they were made just now (the one time
 * they are printed), and a curl that works as printed. `adminKey` is a secret or a shell
 * placeholder such as "$BOOTSTRAP_ADMIN_KEY".
 */
function exampleQuery(url: string, adminKey: string, keys: { created: DevKeys | null; file: string | null }): string {
  const query = "{ products(first: 5) { nodes { sku name stock { available backordered incoming nextRestockAt } } } }";
  const origin = url.replace(/\/graphql$/, "");
  const lines = [
    `GraphQL API: ${url}   (subscriptions: ${url.replace(/^http/, "ws")})`,
    `Explorer:    ${origin}/explorer   (paste an API key)`,
    `Dashboard:   ${origin}/dashboard`,
  ];
  if (keys.created) {
    lines.push(
      "Development API keys (shown once; kept in " + (keys.file ?? "no file: in-memory database") + "):",
      `  ADMIN   ${keys.created.admin.secret}`,
      `  READER  ${keys.created.reader.secret}`,
    );
  } else if (keys.file && adminKey.startsWith("bo_")) {
    lines.push(`Development API keys: ${keys.file}`);
  }
  lines.push(
    "Try:",
    `  curl -s ${url} -H 'content-type: application/json' -H "authorization: Bearer ${adminKey}" \\`,
    `    -d '${JSON.stringify({ query })}'`,
    "",
  );
  if (adminKey.startsWith("<")) lines.splice(-1, 0, "Make a key with: npm run keys -- create --role ADMIN --name \"me\"");
  return lines.join("\n");
}

async function main(): Promise<void> {
  // SEED_DEMO defaults to true here: this is the `npm start` entry point.
  const config = loadConfig(process.env, { seedDemo: true });
  const logger = createLogger({ level: config.logLevel });
  const keysFile = config.databaseUrl ? null : devKeysFile(config.pgliteDir);
  // Filled in by `prepare` (a closure: a plain `let` would read as always null to the compiler).
  const dev: { created: DevKeys | null } = { created: null };
  const app = await createApp({
    port: config.port,
    host: config.host,
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    limits: config.queryLimits,
    statementTimeoutMs: config.statementTimeoutMs,
    eventRetentionHours: config.eventRetentionHours,
    logger,
    bootstrapAdminKey: config.bootstrapAdminKey,
    prepare: async (db) => {
      if (config.seedDemo && (await seedDemo(db))) {
        logger.info("demo catalogue loaded");
        if (!config.databaseUrl && !config.bootstrapAdminKey) {
          const created = (dev.created = await createDevKeys(db));
          if (keysFile) writeDevKeys(keysFile, created);
          logger.info("development api keys created", { apiKeyIds: [created.admin.id, created.reader.id], file: keysFile });
        }
      }
    },
  });
  logger.info("listening", { url: app.url, database: config.databaseUrl ? "postgres" : `pglite:${config.pgliteDir}` });
  const adminKey = dev.created?.admin.secret ?? (config.bootstrapAdminKey ? "$BOOTSTRAP_ADMIN_KEY" : readDevKeys(keysFile)?.admin.secret ?? "<your API key>");
  process.stdout.write(`\n${exampleQuery(app.url, adminKey, { created: dev.created, file: keysFile })}\n`);

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

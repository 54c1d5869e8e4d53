/**
 * `npm start`: the server on the embedded database (or DATABASE_URL), with the demo catalogue
 * loaded into an empty database unless SEED_DEMO=false. Stops gracefully on SIGTERM and SIGINT.
 * The first start on the embedded database also makes development API keys (server/cli/dev-keys.ts)
 * and prints them once, unless BOOTSTRAP_ADMIN_KEY is set: that makes sure an ADMIN key with its
 * secret exists, and whoever set it wants no other keys made behind their back.
 *
 * Secrets go to the terminal (the banner) and to dev-keys.json, never into the JSON log lines:
 * those carry key ids and the file's path only.
 *
 * For the person at the terminal, besides the JSON logs: a plain line per slow step (the database
 * and its migrations, the demo catalogue, listening), on stdout like the banner. What stops a start
 * before it serves (a malformed variable, PORT in use, a database that is not there) is one line on
 * stderr that names the variable, and exit code 2 (configuration) or 1; the address is tried
 * before the slow work, so a clash shows at once.
 *
 * `npm start` runs `exec node --max-semi-space-size=64 --import tsx server/cli/main.ts`: `exec` makes this process the one
 * npm started and signals (dash keeps itself between npm and its command otherwise, and a SIGTERM
 * npm forwards ends the shell, not the server). The app's modules are imported after the checks
 * (they take seconds to load), so a refusal comes within a second or two.
 */
import { createServer } from "node:net";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { createLogger, serializeError } from "../logger.js";
import type { DevKeys } from "./dev-keys.js";

/** How long running requests get to finish after a stop signal. */
const SHUTDOWN_DEADLINE_MS = 15_000;

/** A start that cannot go on for a reason its message tells in full: printed as one line, no stack. */
class StartRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartRefused";
  }
}

/** A progress line for the terminal: plain text on stdout, like the banner. */
const progress = (line: string) => void process.stdout.write(`${line}\n`);

/** Why HOST:PORT cannot be listened on, naming the variable to change; `error` itself when it is something else. */
function addressRefusal(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case "EADDRINUSE":
      return new StartRefused(
        `PORT ${port} is already in use on ${host} (another server, or an npm start still running?): stop it or set PORT to a free port`,
      );
    case "EACCES":
      return new StartRefused(`PORT ${port} on ${host} needs privileges this process does not have: set PORT to 1024 or above`);
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new StartRefused(`HOST ${host} is not an address of this machine: set HOST to one (default 127.0.0.1)`);
    default:
      return error;
  }
}

/**
 * Listens on HOST:PORT for a moment and lets go, so that a port in use stops the start before the
 * migrations and the seed (seconds; tens on a first start) instead of after them. The port could
 * still be taken in between; the app's own listen then fails with the same message.
 */
async function checkAddress(host: string, port: number): Promise<void> {
  if (port === 0) return; // the kernel picks a free one
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => reject(addressRefusal(error, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The database for a progress line: PostgreSQL's host, port and name (never the password), or PGlite's directory. */
function describeDatabase(config: Config): string {
  if (config.pgliteDir.startsWith("memory://") && !config.databaseUrl) return "the embedded database (in memory)";
  if (!config.databaseUrl) return `the embedded database in ${config.pgliteDir}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL at ${url.hostname || "localhost"}:${url.port || 5432}${url.pathname}`;
}

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
  if (adminKey.startsWith("<")) lines.splice(-1, 0, 'Make a key with: npm run keys -- create --role ADMIN --name "me"');
  return lines.join("\n");
}

async function main(config: Config): Promise<void> {
  const startedAt = Date.now();
  const logger = createLogger({ level: config.logLevel });
  await checkAddress(config.host, config.port);
  progress(`Opening ${describeDatabase(config)} and applying migrations…`);
  const [{ createApp }, { isEmpty, seedDemo }, { createDevKeys, devKeysFile, readDevKeys, writeDevKeys }] = await Promise.all([
    import("../http/app.js"),
    import("./seed.js"),
    import("./dev-keys.js"),
  ]);
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
    metricsToken: config.metricsToken,
    stockMovementRetentionDays: config.stockMovementRetentionDays,
    idempotencyKeyRetentionHours: config.idempotencyKeyRetentionHours,
    lostDemandRetentionDays: config.lostDemandRetentionDays,
    webhookDeliveryRetentionDays: config.webhookDeliveryRetentionDays,
    readCacheMaxAgeMs: config.readCacheMaxAgeMs,
    webhooks: {
      enabled: config.webhookWorker,
      maxAttempts: config.webhookMaxAttempts,
      timeoutMs: config.webhookTimeoutMs,
      allowPrivateUrls: config.webhookAllowPrivateUrls,
    },
    logger,
    bootstrapAdminKey: config.bootstrapAdminKey,
    prepare: async (db) => {
      if (!config.seedDemo || !(await isEmpty(db))) return;
      progress("Loading the demo catalogue into the empty database…");
      if (await seedDemo(db)) {
        logger.info("demo catalogue loaded");
        if (!config.databaseUrl && !config.bootstrapAdminKey) {
          const created = (dev.created = await createDevKeys(db));
          if (keysFile) writeDevKeys(keysFile, created);
          logger.info("development api keys created", { apiKeyIds: [created.admin.id, created.reader.id], file: keysFile });
        }
      }
    },
  });
  // Stop handlers go in before "Listening" is printed: whoever reads that line may signal at once.
  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C reaches this process twice at once: from the terminal (it signals the whole
      // foreground group) and from npm, which forwards SIGINT and SIGTERM to its child. Only a
      // later signal means "now".
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
  logger.info("listening", { url: app.url, database: config.databaseUrl ? "postgres" : `pglite:${config.pgliteDir}` });
  progress(`Listening on ${app.url.replace(/\/graphql$/, "")} (started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s).`);
  const adminKey =
    dev.created?.admin.secret ?? (config.bootstrapAdminKey ? "$BOOTSTRAP_ADMIN_KEY" : (readDevKeys(keysFile)?.admin.secret ?? "<your API key>"));
  process.stdout.write(`\n${exampleQuery(app.url, adminKey, { created: dev.created, file: keysFile })}\n`);

  process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: serializeError(reason) }));
}

/** Prints why the start failed and exits: one line for what the user can fix, the full error in the log otherwise. */
async function refuse(error: unknown, config: Config | undefined): Promise<never> {
  let line: string | undefined;
  if (error instanceof ConfigError || error instanceof StartRefused) line = error.message;
  else if (error instanceof Error && (error as NodeJS.ErrnoException).syscall === "listen" && config) {
    const refusal = addressRefusal(error, config.host, config.port);
    if (refusal instanceof StartRefused) line = refusal.message;
  }
  if (line === undefined && config) {
    // Loaded already when a start gets this far.
    const { describeConnectionFailure, PgliteDirectoryLockedError } = await import("../../drizzle/db.js");
    if (error instanceof PgliteDirectoryLockedError) line = error.message;
    else if (config.databaseUrl) line = describeConnectionFailure(error, config.databaseUrl);
  }
  if (line !== undefined) {
    process.stderr.write(`${line}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  createLogger().error("failed to start", { error: serializeError(error) });
  process.exit(1);
}

let config: Config | undefined;
try {
  // SEED_DEMO defaults to true here: this is the `npm start` entry point.
  config = loadConfig(process.env, { seedDemo: true });
  await main(config);
} catch (error) {
  await refuse(error, config);
}

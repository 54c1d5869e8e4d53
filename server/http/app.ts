/**
 * The HTTP server: Apollo Server 5 on Express 5, on a plain node http server that the
 * WebSocket (graphql-ws) part attaches to at the same path.
 *
 *   POST /graphql   the API (GET for queries too, and the explorer in a browser)
 *   GET  /healthz   200 while the process is up
 *   GET  /readyz    200 when the database answers and the migrations are applied, else 503
 *   GET  /metrics   Prometheus text format (server/http/metrics-endpoint.ts); METRICS_TOKEN guards it when set
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { sql } from "drizzle-orm";
import express, { type NextFunction, type Request, type Response } from "express";
import type { GraphQLSchema } from "graphql";
import { connect, type Connection, type Database, runMigrations } from "../../drizzle/db.js";
import { type Context, createContext } from "../graphql/context.js";
import { formatError } from "../graphql/error-masking.js";
import { buildGraphQLSchema } from "../graphql/build-schema.js";
import { createLogger, type Logger, serializeError } from "../logger.js";
import {
  DEFAULT_EVENT_RETENTION_HOURS,
  DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS,
  DEFAULT_LOST_DEMAND_RETENTION_DAYS,
  DEFAULT_WEBHOOK_DELIVERY_RETENTION_DAYS,
  DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS,
} from "../config.js";
import { EventHub, type EventHubOptions } from "../live/event-hub.js";
import { WebhookWorker, type WebhookWorkerOptions } from "../live/webhook-worker.js";
import { dashboardRouter } from "./dashboard.js";
import { pagesRouter } from "./pages.js";
import { securityHeaders } from "./security-headers.js";
import { REQUEST_PARSE_OPTIONS, requestGuardsPlugin, requestValidationRules } from "../graphql/limits/request-guards.js";
import { requestLogPlugin } from "./request-log.plugin.js";
import { databaseUnavailablePlugin } from "../graphql/database-unavailable.js";
import { callerOf, type QueryLimits, type QueryLimitsOverride, resolveQueryLimits } from "../graphql/limits/query-limits.js";
import { queryLimitsPlugin } from "../graphql/limits/query-limits.plugin.js";
import { readCachePlugin } from "../graphql/read-cache.js";
import { CommitClock } from "../../drizzle/commit-clock.js";
import { CostBudget } from "../graphql/limits/cost-budget.js";
import { meterSchemaObjects } from "../graphql/limits/object-meter.js";
import { markOverdueBackorders } from "../services/eta.service.js";
import { type ExpiredBackorders, expireBackorders } from "../services/expiry.service.js";
import { mergeCostBudgets, pruneCostBudgets } from "../services/cost-budget.service.js";
import { pruneEvents } from "../services/event-log.service.js";
import { type PrunedLogs, pruneLogs } from "../services/log-retention.service.js";
import { attachWebSocket } from "./websocket.js";
import { ApiKeyCache } from "./api-key-cache.js";
import { requireApiKey } from "./authentication.js";
import { assignRequestId, GraphQLHttp, sendHttpError } from "./graphql-http.js";
import { ensureApiKey } from "../services/api-key.service.js";
import { Metrics } from "../metrics.js";
import { metricsEndpoint, timeServiceCalls, watchInstance } from "./metrics-endpoint.js";

/** How long an idle keep-alive connection stays open (see createApp). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface AppOptions {
  /** Default 4000; 0 picks a free port (tests). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** An open database to use (tests inject theirs); close() leaves it open. */
  connection?: Connection;
  /** Without `connection`: PostgreSQL URL; unset means embedded PGlite. */
  databaseUrl?: string;
  /** Without `connection` and `databaseUrl`: where PGlite keeps its files (`memory://` for none). */
  pgliteDir?: string;
  /**
   * Without `connection`, on PostgreSQL: the longest a statement may run before the database
   * cancels it and the request is answered SERVICE_UNAVAILABLE. Default 10 s; 0: no limit.
   */
  statementTimeoutMs?: number;
  /** Apply pending migrations at start. Default true (a no-op when they are applied). */
  migrate?: boolean;
  /** Runs after the migrations, before the server listens (the demo seed). */
  prepare?: (db: Database) => Promise<void>;
  /** BOOTSTRAP_ADMIN_KEY: an ADMIN API key with this secret is made sure to exist at start. */
  bootstrapAdminKey?: string;
  logger?: Logger;
  /** Largest JSON body accepted on /graphql, in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** More Apollo plugins. */
  plugins?: ApolloServerPlugin<Context>[];
  /** Depth, cost and cost-per-second limits per role, over the defaults (server/graphql/limits/query-limits.ts). */
  limits?: QueryLimitsOverride | QueryLimits;
  /** Live updates: how the event hub follows the log and how much a slow subscriber may queue. */
  live?: EventHubOptions & { maxBufferedBytes?: number; maxBudgetWaitMs?: number };
  /** How often waiting backorders whose promised date passed are marked late. Default 60 s; 0: never. */
  delaySweepMs?: number;
  /** How often waiting backorders past their product's autoCancelAfterDays are expired (cancelled and refunded). Default 60 s; 0: never. */
  expirySweepMs?: number;
  /**
   * EVENT_RETENTION_HOURS: events older than this are pruned from the log (the newest is always
   * kept); a subscriber resuming from before them gets CURSOR_EXPIRED. Default 168 (a week); 0: keep every event.
   */
  eventRetentionHours?: number;
  /** How often old events (and the other logs' old rows) are pruned. Default 10 min; 0: never. */
  eventPruneMs?: number;
  /**
   * STOCK_MOVEMENT_RETENTION_DAYS, IDEMPOTENCY_KEY_RETENTION_HOURS, LOST_DEMAND_RETENTION_DAYS,
   * WEBHOOK_DELIVERY_RETENTION_DAYS: how long the other logs keep their rows (docs/ARCHITECTURE.md,
   * "Growth of the logs"); old stock movements are folded into their level's opening balance.
   * Defaults 400 days, 168 hours, 400 days, 30 days; 0: keep every row.
   */
  stockMovementRetentionDays?: number;
  idempotencyKeyRetentionHours?: number;
  lostDemandRetentionDays?: number;
  webhookDeliveryRetentionDays?: number;
  /**
   * How often this instance merges what callers spent here into the cost buckets all instances
   * share (cost_budgets) and takes the shared levels back. Default 250 ms; 0: never (buckets stay
   * per instance). A caller can overspend by at most what it spends on each instance in one interval.
   */
  budgetSyncMs?: number;
  /** The clock of the delay and expiry sweeps and the pruning (tests move time). */
  clock?: () => Date;
  /** METRICS_TOKEN: when set, GET /metrics requires `Authorization: Bearer <token>`; unset: open. */
  metricsToken?: string;
  /**
   * The webhook delivery worker (docs/ARCHITECTURE.md, "Webhooks"): WEBHOOK_MAX_ATTEMPTS,
   * WEBHOOK_TIMEOUT_MS; `enabled: false` (WEBHOOK_WORKER=false) runs none on this instance. Its
   * poll is the event hub's (`live.pollMs`), at least 1 s, unless given. `allowPrivateUrls`
   * (WEBHOOK_ALLOW_PRIVATE_URLS) also governs the URLs the API accepts, worker or not.
   */
  webhooks?: WebhookWorkerOptions & { enabled?: boolean };
  /**
   * READ_CACHE_MAX_AGE_MS: the read cache (docs/ARCHITECTURE.md, "The read cache") serves an answer
   * again while the database has committed nothing since it was read, for at most this long.
   * Default 1,000; 0: off.
   */
  readCacheMaxAgeMs?: number;
}

export interface App {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  port: number;
  httpServer: http.Server;
  connection: Connection;
  db: Database;
  schema: GraphQLSchema;
  logger: Logger;
  /** This instance's event log reader (subscriptions). */
  hub: EventHub;
  /** This instance's webhook delivery worker; null when WEBHOOK_WORKER is off. */
  webhooks: WebhookWorker | null;
  /** This instance's metrics, served at GET /metrics (a registry of its own). */
  metrics: Metrics;
  /** Runs the delay sweep now (what the timer does). */
  sweepDelays(): Promise<number[]>;
  /** Runs the expiry sweep now (what the timer does), at the app's clock. */
  sweepExpiries(): Promise<ExpiredBackorders>;
  /** Prunes the events older than the retention now (what the timer does); returns how many. */
  pruneEvents(): Promise<number>;
  /** Prunes the other logs' rows older than their retentions now (what the timer does); returns how many of each. */
  pruneLogs(): Promise<PrunedLogs>;
  /** Merges this instance's cost buckets with the shared ones now (what the timer does). */
  syncBudgets(): Promise<void>;
  /** Registers cleanup to run at close, before the database closes (e.g. the WebSocket server). */
  onClose(cleanup: () => Promise<void> | void): void;
  /** Stops accepting requests, lets running ones finish, then closes what createApp opened. Idempotent. */
  close(): Promise<void>;
}

/** How long a statement may run by default (AppOptions.statementTimeoutMs). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
const HOUR_MS = 3_600_000;

/** Express's request ids (graphql-http.ts): `res.locals.requestId`. */
function expressRequestId(req: Request, res: Response, next: NextFunction): void {
  res.locals.requestId = assignRequestId(req, res);
  next();
}

/** Connects, migrates, builds the schema and starts listening. Throws when any of it fails. */
export async function createApp(options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger();
  const ownsConnection = !options.connection;
  const connection =
    options.connection ??
    (await connect({
      databaseUrl: options.databaseUrl,
      pgliteDir: options.pgliteDir,
      statementTimeoutMs: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    }));
  const cleanups: (() => Promise<void> | void)[] = [];
  let migrated = false;
  let closing = false;

  try {
    if (options.migrate ?? true) await runMigrations(connection);
    migrated = true;
    if (options.prepare) await options.prepare(connection.db);
    if (options.bootstrapAdminKey) {
      const { apiKey, created } = await ensureApiKey(connection.db, { secret: options.bootstrapAdminKey, role: "ADMIN", name: "bootstrap admin" });
      if (apiKey.revokedAt) logger.warn("BOOTSTRAP_ADMIN_KEY names a revoked key: it stays revoked; set another secret", { apiKeyId: apiKey.id });
      else if (apiKey.role !== "ADMIN")
        logger.warn("BOOTSTRAP_ADMIN_KEY names a key that is not ADMIN: its role is kept", { apiKeyId: apiKey.id, role: apiKey.role });
      else if (created) logger.info("bootstrap admin key created", { apiKeyId: apiKey.id, prefix: apiKey.prefix });
    }

    // Resolvers count the objects they return, so a response past the cap stops (object-meter.ts).
    const metrics = new Metrics();
    const schema = timeServiceCalls(meterSchemaObjects(await buildGraphQLSchema()), metrics);
    const limits = resolveQueryLimits(options.limits);
    // One bucket per key for both transports, merged with the other instances' (budgetSyncMs).
    const budget = new CostBudget();
    // Active keys, so a request does not look its key up; trusted once the event hub follows revocations.
    const keys = new ApiKeyCache(connection.db);
    // Where endpoint URLs may point, for the mutations over HTTP and over WebSocket alike.
    const webhookUrls = { allowPrivateUrls: options.webhooks?.allowPrivateUrls ?? false };
    const app = express();
    // Its request listener is added once Apollo, which needs the server to drain it, has started.
    const httpServer = http.createServer();
    // Idle keep-alive sockets live longer than a client's or a load balancer's (60 s is common):
    // with Node's 5 s, a client reusing a socket the server was closing got ECONNRESET (seen in
    // the test suite under load). The headers timeout must stay above it.
    httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    httpServer.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    const apollo = new ApolloServer<Context>({
      schema,
      introspection: true,
      includeStacktraceInErrorResponses: false,
      // Shutdown is the owner's call (main.ts handles the signals), not Apollo's.
      stopOnTerminationSignals: false,
      formatError,
      // Width, token and unstorable-text limits, and no subscriptions over HTTP (server/graphql/limits/request-guards.ts).
      parseOptions: REQUEST_PARSE_OPTIONS,
      validationRules: requestValidationRules,
      logger: {
        debug: (message) => logger.debug(String(message)),
        info: (message) => logger.info(String(message)),
        warn: (message) => logger.warn(String(message)),
        error: (message) => logger.error(String(message)),
      },
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        // No @cacheControl hints here: without this, Apollo's default cache-control plugin hooks every resolved field.
        ApolloServerPluginCacheControlDisabled(),
        databaseUnavailablePlugin<Context>(),
        requestGuardsPlugin<Context>(),
        queryLimitsPlugin<Context>({
          limits,
          budget,
          caller: (context) => callerOf(context.apiKey, context.clientAddress),
          onRefusal: (reason) => metrics.countRefusal(reason, "http"),
        }),
        // After the query limits, whose checks and charge a served answer passes too.
        readCachePlugin({
          clock: new CommitClock(connection.db),
          maxAgeMs: options.readCacheMaxAgeMs,
          onLookup: (outcome) => metrics.countReadCache(outcome),
        }),
        // After the query limits: it reads the response as they leave it (the outcome of a refusal).
        requestLogPlugin(logger, metrics),
        ...(options.plugins ?? []),
      ],
    });
    await apollo.start();

    app.disable("x-powered-by");
    // First: every answer carries them, the 404s and the error handler's included.
    app.use(securityHeaders());
    app.use(expressRequestId);
    const bodyLimitBytes = options.bodyLimitBytes ?? 1024 * 1024;
    const onApiKeyRevoked = (id: number) => keys.forget(id);
    const graphqlHttp = new GraphQLHttp({
      apollo,
      keys,
      logger,
      bodyLimitBytes,
      onRequest: (path) => metrics.countGraphQLHttp(path),
      context: (req, requestId, apiKey) =>
        createContext({ db: connection.db, logger, requestId, apiKey, clientAddress: req.socket.remoteAddress, onApiKeyRevoked, webhookUrls }),
    });
    const graphql = [
      // The key first: a request without one is refused before its body is read.
      requireApiKey({ keys, logger }),
      express.json({ limit: bodyLimitBytes }),
      graphqlHttp.express,
    ];
    // A plain JSON POST /graphql is answered without Express (graphql-http.ts); the rest goes to it.
    httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!graphqlHttp.serveDirect(req, res)) app(req, res);
    });
    // A POST /graphql the direct path left (a large or compressed body, a query string) goes to the
    // GraphQL chain before the pages; a GET may be a browser asking for the explorer (pages.ts).
    app.post("/graphql", ...graphql);
    app.use(pagesRouter());
    app.use(dashboardRouter({ logger }));
    app.get("/healthz", (_req, res) => {
      res.json({ status: "ok" });
    });
    app.get("/readyz", async (_req, res) => {
      let database = false;
      try {
        await connection.db.execute(sql`SELECT 1`);
        database = true;
      } catch (error) {
        logger.warn("readiness check failed", { error: serializeError(error) });
      }
      const ready = database && migrated && !closing;
      res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", database, migrations: migrated, closing });
    });
    app.get("/metrics", metricsEndpoint({ metrics, token: options.metricsToken }));
    app.use("/graphql", ...graphql);
    app.use((_req, res) => {
      res.status(404).json({ error: "not found" });
    });
    // Body-parser refusals (too large, not JSON) and anything else: JSON, no stack.
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      sendHttpError(res, error, logger, res.locals.requestId as string | undefined);
    });

    const hub = new EventHub(connection, { logger, ...options.live });
    await hub.start();
    cleanups.push(() => hub.stop());
    cleanups.push(watchInstance(metrics, { connection, hub, logger }));
    cleanups.push(keys.follow(hub));
    // Webhooks: woken by the hub once it has read new order, restock or supplier-order events (a
    // supplier order's CREATED shares its order's transaction, but a stamping batch can split
    // them); stopped before the hub and the database.
    let webhooks: WebhookWorker | null = null;
    if (options.webhooks?.enabled ?? true) {
      const worker = (webhooks = new WebhookWorker(connection.db, {
        logger,
        ...options.webhooks,
        pollMs: options.webhooks?.pollMs ?? Math.max(1000, options.live?.pollMs ?? 0),
      }));
      await worker.start();
      const unlisten = hub.onEvent((event) => {
        if (event.type === "ORDER_CHANGED" || event.type === "RESTOCK_CHANGED" || event.type === "SUPPLIER_ORDER_CHANGED") worker.wake();
      });
      cleanups.push(async () => {
        unlisten();
        await worker.stop();
      });
    }
    cleanups.push(
      attachWebSocket({
        httpServer,
        schema,
        db: connection.db,
        hub,
        logger,
        maxBufferedBytes: options.live?.maxBufferedBytes,
        limits,
        budget,
        maxBudgetWaitMs: options.live?.maxBudgetWaitMs,
        metrics,
        webhookUrls,
      }),
    );
    /** Runs `task` every `ms` (0: never), never two at once; closing waits for a running one. */
    const every = (ms: number, what: string, task: () => Promise<unknown>) => {
      if (ms <= 0) return;
      let running: Promise<unknown> | null = null;
      const timer = setInterval(() => {
        running ??= task()
          .catch((error: unknown) => logger.warn(`${what} failed`, { error: serializeError(error) }))
          .finally(() => (running = null));
      }, ms);
      timer.unref();
      cleanups.push(async () => {
        clearInterval(timer);
        await running;
      });
    };
    const clock = options.clock ?? (() => new Date());
    const sweepDelays = () => markOverdueBackorders(connection.db, clock());
    every(options.delaySweepMs ?? 60_000, "delay sweep", sweepDelays);
    const sweepExpiries = () => expireBackorders(connection.db, clock());
    every(options.expirySweepMs ?? 60_000, "expiry sweep", sweepExpiries);
    const retentionHours = options.eventRetentionHours ?? DEFAULT_EVENT_RETENTION_HOURS;
    const pruneOldEvents = async () => (retentionHours > 0 ? pruneEvents(connection.db, new Date(clock().getTime() - retentionHours * HOUR_MS)) : 0);
    // A database that is away fails every merge: say so once a minute, not four times a second.
    let budgetWarnedAt = 0;
    const syncBudgets = () => budget.sync((spending) => mergeCostBudgets(connection.db, spending));
    every(options.budgetSyncMs ?? 250, "cost budget sync", () =>
      syncBudgets().catch((error: unknown) => {
        if (Date.now() - budgetWarnedAt < 60_000) return;
        budgetWarnedAt = Date.now();
        logger.warn("cost budget sync failed; buckets are per instance until it works again", { error: serializeError(error) });
      }),
    );
    every(options.eventPruneMs ?? 600_000, "cost budget pruning", () => pruneCostBudgets(connection.db));
    // What this instance metered since the last merge is not lost with it: a last merge at close.
    if ((options.budgetSyncMs ?? 250) > 0) {
      cleanups.push(() => syncBudgets().catch((error: unknown) => logger.warn("last cost budget sync failed", { error: serializeError(error) })));
    }
    if (retentionHours > 0) {
      every(options.eventPruneMs ?? 600_000, "event pruning", async () => {
        const deleted = await pruneOldEvents();
        if (deleted > 0) logger.info("old events pruned", { deleted, retentionHours });
      });
    }
    const logRetention = {
      stockMovementDays: options.stockMovementRetentionDays ?? DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS,
      idempotencyKeyHours: options.idempotencyKeyRetentionHours ?? DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS,
      lostDemandDays: options.lostDemandRetentionDays ?? DEFAULT_LOST_DEMAND_RETENTION_DAYS,
      webhookDeliveryDays: options.webhookDeliveryRetentionDays ?? DEFAULT_WEBHOOK_DELIVERY_RETENTION_DAYS,
    };
    const pruneOldLogs = () => pruneLogs(connection.db, logRetention, clock());
    every(options.eventPruneMs ?? 600_000, "log pruning", async () => {
      const pruned = await pruneOldLogs();
      if (Object.values(pruned).some((n) => n > 0)) logger.info("old log rows pruned", { ...pruned, ...logRetention });
    });

    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(options.port ?? 4000, host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
    const { port } = httpServer.address() as AddressInfo;
    const urlHost = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;

    let closed: Promise<void> | undefined;
    return {
      url: `http://${urlHost}:${port}/graphql`,
      port,
      httpServer,
      connection,
      db: connection.db,
      schema,
      logger,
      hub,
      webhooks,
      metrics,
      sweepDelays,
      sweepExpiries,
      pruneEvents: pruneOldEvents,
      pruneLogs: pruneOldLogs,
      syncBudgets,
      onClose: (cleanup) => void cleanups.push(cleanup),
      close: () =>
        (closed ??= (async () => {
          closing = true;
          for (const cleanup of cleanups.reverse()) await cleanup();
          await apollo.stop();
          if (ownsConnection) await connection.close();
        })()),
    };
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => {});
    throw error;
  }
}

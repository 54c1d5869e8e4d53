/**
 * `GET /metrics` in the Prometheus text format, and what feeds it from this layer
 * (docs/ARCHITECTURE.md, "Metrics"): the event hub, the database and the two service calls the
 * benchmark times. The gauges are read when Prometheus scrapes, not kept up to date in between:
 * an instance nobody scrapes pays for the request histograms and counters alone.
 *
 * Access: without a token anyone who reaches the port may scrape (Prometheus' usual way; the
 * figures hold no key or secret, but they do show callers' operation names). With METRICS_TOKEN
 * set, a scrape must send `Authorization: Bearer <token>`; anything else is 401.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { sql } from "drizzle-orm";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { type Connection, rows } from "../../drizzle/db.js";
import { events } from "../../drizzle/schema.js";
import { isDatabaseUnavailable } from "../graphql/database-unavailable.js";
import type { EventHub } from "../live/event-hub.js";
import { type Logger, serializeError } from "../logger.js";
import { type Metrics, outcomeLabel } from "../metrics.js";

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** METRICS_TOKEN: when set, a scrape must send it as `Authorization: Bearer <token>`. */
  token?: string;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The handler of `GET /metrics`. */
export function metricsEndpoint(options: MetricsEndpointOptions): RequestHandler {
  // Compared as digests: equal lengths for timingSafeEqual, and no timing hint of the token.
  const expected = options.token ? digest(options.token) : undefined;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (expected) {
      const sent = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get("authorization") ?? "")?.[1] ?? "";
      if (!timingSafeEqual(digest(sent), expected)) {
        res.status(401).set("WWW-Authenticate", 'Bearer realm="metrics"').json({ error: "unauthorized" });
        return;
      }
    }
    try {
      const text = await options.metrics.scrape();
      res.status(200).set("Content-Type", options.metrics.contentType).set("Cache-Control", "no-store").send(text);
    } catch (error) {
      next(error);
    }
  };
}

export interface InstanceSources {
  connection: Connection;
  hub: EventHub;
  logger: Logger;
}

interface DatabaseFigures {
  newest: number | string | null;
  unstamped: number | string;
  lock_waits: number | string;
  open: number | string | null;
  in_use: number | string | null;
}

/**
 * Reads the event hub and the database at every scrape: one statement (two subqueries on the
 * event log's indexes, pg_locks and pg_stat_activity on PostgreSQL). A database that does not
 * answer leaves its gauges at NaN, said in the log at most once a minute; the scrape still
 * answers. Returns the remover.
 */
export function watchInstance(metrics: Metrics, sources: InstanceSources): () => void {
  const { connection, hub, logger } = sources;
  const client = connection.postgres;
  // db.ts names each pool's sessions uniquely (application_name), so this instance finds its own.
  const applicationName = client?.options.connection.application_name;
  const pool = client ? metrics.poolGauges() : undefined;
  if (client) pool?.size.set(client.options.max);
  let warnedAt = 0;
  return metrics.onScrape(async () => {
    const { eventHub, lockWaits } = metrics;
    const queues = hub.queueDepths();
    eventHub.subscribers.set(hub.subscriberCount);
    eventHub.queuedEvents.set(queues.queued);
    eventHub.maxQueuedEvents.set(queues.maxQueued);
    try {
      const [figures] = await rows<DatabaseFigures>(
        connection.db,
        client
          ? // The LISTEN session shares the pool's options but not its connections: left out.
            sql`SELECT (SELECT max(${events.seq}) FROM ${events}) AS newest,
                       (SELECT count(*) FROM ${events} WHERE ${events.seq} IS NULL) AS unstamped,
                       (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                         WHERE NOT l.granted AND a.datname = current_database()) AS lock_waits,
                       count(*) AS open,
                       count(*) FILTER (WHERE state <> 'idle' AND pid <> pg_backend_pid()) AS in_use
                  FROM pg_stat_activity
                 WHERE application_name = ${applicationName ?? ""} AND query NOT ILIKE 'listen %'`
          : // PGlite: one connection in this process, whose locks never wait.
            sql`SELECT max(${events.seq}) AS newest, count(*) FILTER (WHERE ${events.seq} IS NULL) AS unstamped,
                       0 AS lock_waits, NULL AS open, NULL AS in_use
                  FROM ${events}`,
      );
      // Read after the statement: the hub may have moved meanwhile, and a lag is never negative.
      const position = hub.position;
      eventHub.position.set(position);
      eventHub.lag.set(Math.max(0, Number(figures.newest ?? 0) - position) + Number(figures.unstamped));
      lockWaits.set(Number(figures.lock_waits));
      pool?.connections.set(Number(figures.open));
      pool?.inUse.set(Number(figures.in_use));
    } catch (error) {
      eventHub.position.set(hub.position);
      for (const gauge of [eventHub.lag, lockWaits, pool?.connections, pool?.inUse]) gauge?.set(Number.NaN);
      if (Date.now() - warnedAt >= 60_000) {
        warnedAt = Date.now();
        logger.warn("metrics: the database did not answer; its figures are NaN", { error: serializeError(error) });
      }
    }
  });
}

/**
 * Times the two mutations the benchmark measures, over either transport, around their resolvers
 * (the service call and the payload): `placeOrder` and `receiveRestock` (a receipt fills the
 * backlog). The outcome is "ok", the payload's first userError code, or the thrown error's code.
 * Changes `schema` in place; the printed schema is unchanged. Returns `schema`.
 */
export function timeServiceCalls(schema: GraphQLSchema, metrics: Metrics): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  const timed = [
    ["placeOrder", metrics.placeOrderDuration],
    ["receiveRestock", metrics.restockFillDuration],
  ] as const;
  for (const [name, histogram] of timed) {
    const field = fields[name];
    if (!field) throw new Error(`timeServiceCalls: the schema has no Mutation.${name}`);
    const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context, info) => {
      const started = performance.now();
      let outcome = "ok";
      try {
        const payload = (await resolve(source, args, context, info)) as { userErrors?: { code?: unknown }[] } | null;
        outcome = outcomeLabel(payload?.userErrors?.[0]?.code);
        return payload;
      } catch (error) {
        const code = isDatabaseUnavailable(error) ? "SERVICE_UNAVAILABLE" : (error as { extensions?: { code?: unknown } }).extensions?.code;
        outcome = outcomeLabel(code ?? "INTERNAL_SERVER_ERROR");
        throw error;
      } finally {
        histogram.observe({ outcome }, (performance.now() - started) / 1000);
      }
    };
  }
  return schema;
}

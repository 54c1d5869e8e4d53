/**
 * What an instance tells Prometheus (docs/ARCHITECTURE.md, "Metrics"): the figures the benchmark
 * measures, on a prom-client registry of its own per App, so apps and tests in one process never
 * share a series. Its own layer, like the logger: the HTTP layer records into it and serves it; it
 * imports nothing of ours, and the services never see it.
 *
 * Label values are bounded: operation names come from callers, so each is cut to
 * {@link OPERATION_NAME_MAX_LENGTH} characters and, once `maxOperationNames` distinct ones were
 * seen, any new one is counted as `(other)`; outcomes and refusal reasons are the server's own codes.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** The longest operation name kept as a label value. */
export const OPERATION_NAME_MAX_LENGTH = 64;
/** Distinct operation names kept as label values by default; later ones are `(other)`. */
export const DEFAULT_MAX_OPERATION_NAMES = 100;
/** Operation label values that no GraphQL name can be (a name has no parentheses). */
export const ANONYMOUS_OPERATION = "(anonymous)";
export const UNKNOWN_OPERATION = "(unknown)";
export const OTHER_OPERATION = "(other)";

/** Why a request was refused by the query limits or the cost budget (the error code it got). */
export const REFUSAL_REASONS = ["THROTTLED", "QUERY_TOO_DEEP", "QUERY_TOO_COSTLY", "RESPONSE_TOO_LARGE", "BUDGET_WAIT_EXCEEDED"] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
export type Transport = "http" | "websocket";

/** Seconds, from a fast read (1 ms) to a request the statement timeout is about to cancel (10 s). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A PostgreSQL pool's figures, read from pg_stat_activity at each scrape. */
export interface PoolGauges {
  size: Gauge;
  connections: Gauge;
  inUse: Gauge;
}

export interface MetricsOptions {
  /** Distinct operation names kept as label values. Default {@link DEFAULT_MAX_OPERATION_NAMES}. */
  maxOperationNames?: number;
}

/** An outcome label: "ok", or an error code as the server sends it (anything else: "ERROR"). */
export function outcomeLabel(code: unknown): string {
  if (code === undefined || code === null) return "ok";
  return typeof code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : "ERROR";
}

/** The ways into /graphql over HTTP (server/http/graphql-http.ts). */
export type GraphQLHttpPath = "direct" | "express";

/** One instance's metrics. Creating it costs a few objects; the process metrics start with the first scrape. */
export class Metrics {
  readonly registry = new Registry();
  /** GraphQL requests over HTTP, by operation name, operation type and outcome. */
  readonly requestDuration: Histogram<"operation" | "type" | "outcome">;
  /** The `placeOrder` mutation's resolver (the service call), over either transport. */
  readonly placeOrderDuration: Histogram<"outcome">;
  /** The `receiveRestock` mutation's resolver: the receipt and the backlog fill it triggers. */
  readonly restockFillDuration: Histogram<"outcome">;
  /** Requests and subscriptions refused by the query limits or the cost budget. */
  readonly refusals: Counter<"reason" | "transport">;
  readonly eventHub: { lag: Gauge; position: Gauge; subscribers: Gauge; queuedEvents: Gauge; maxQueuedEvents: Gauge };
  readonly webSocket: { connections: Gauge; bufferedBytes: Gauge; maxBufferedBytes: Gauge };
  readonly lockWaits: Gauge;
  /** Cacheable queries over HTTP, by whether the read cache answered them. */
  readonly readCache: Counter<"outcome">;
  /** Requests to /graphql over HTTP, by the way in: direct or through Express (graphql-http.ts). */
  readonly graphqlHttpRequests: Counter<"path">;
  private readonly graphqlHttpPaths: Record<GraphQLHttpPath, Counter.Internal>;
  private pool: PoolGauges | undefined;
  private readonly probes = new Set<() => Promise<void> | void>();
  private readonly operationNames = new Set<string>();
  private readonly maxOperationNames: number;
  private processMetrics = false;

  constructor(options: MetricsOptions = {}) {
    this.maxOperationNames = options.maxOperationNames ?? DEFAULT_MAX_OPERATION_NAMES;
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.requestDuration = new Histogram({
      name: "backorder_graphql_request_duration_seconds",
      help: "GraphQL requests over HTTP: time from arrival to response, by operation name, type (query, mutation, subscription, unknown) and outcome (ok or error code).",
      labelNames: ["operation", "type", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.placeOrderDuration = new Histogram({
      name: "backorder_place_order_duration_seconds",
      help: "placeOrder calls (HTTP and WebSocket), by outcome: ok, the first userError code, or the error code.",
      labelNames: ["outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.restockFillDuration = new Histogram({
      name: "backorder_restock_fill_duration_seconds",
      help: "receiveRestock calls (the receipt and the backlog fill), by outcome: ok, the first userError code, or the error code.",
      labelNames: ["outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.refusals = new Counter({
      name: "backorder_budget_refusals_total",
      help: "Operations refused by the query limits or the cost budget, by reason (the error code, or BUDGET_WAIT_EXCEEDED for a subscriber closed with 4413) and transport.",
      labelNames: ["reason", "transport"],
      registers,
    });
    this.readCache = new Counter({
      name: "backorder_read_cache_requests_total",
      help: "Queries the read cache may answer, by outcome: hit (served again, nothing committed since it was read) or miss (run).",
      labelNames: ["outcome"],
      registers,
    });
    this.graphqlHttpRequests = new Counter({
      name: "backorder_graphql_http_requests_total",
      help: "Requests to /graphql over HTTP, by path: direct (a plain JSON POST of up to 64 KB, answered without Express) or express (any other).",
      labelNames: ["path"],
      registers,
    });
    // Label children made once: a request counts without hashing its labels.
    this.graphqlHttpPaths = { direct: this.graphqlHttpRequests.labels("direct"), express: this.graphqlHttpRequests.labels("express") };
    this.eventHub = {
      lag: gauge(
        "backorder_event_hub_lag_events",
        "Committed events this instance's hub has not delivered yet: stamped after its position, plus not yet stamped.",
      ),
      position: gauge("backorder_event_hub_position", "The newest event position this instance's hub has delivered."),
      subscribers: gauge("backorder_event_hub_subscribers", "Live feeds attached to this instance's hub (one per running subscription)."),
      queuedEvents: gauge("backorder_event_hub_queued_events", "Events queued in all feeds, waiting for their subscribers to read them."),
      maxQueuedEvents: gauge(
        "backorder_event_hub_max_queued_events",
        "Events queued in the fullest feed (a feed past the hub's maxQueue is closed as too slow).",
      ),
    };
    this.webSocket = {
      connections: gauge("backorder_websocket_connections", "Open WebSocket connections on this instance."),
      bufferedBytes: gauge("backorder_websocket_buffered_bytes", "Bytes queued to all WebSocket clients and not yet sent."),
      maxBufferedBytes: gauge(
        "backorder_websocket_max_buffered_bytes",
        "Bytes queued to the slowest WebSocket client (past maxBufferedBytes it is closed).",
      ),
    };
    this.lockWaits = gauge(
      "backorder_db_lock_waits",
      "Lock requests not granted in this database (pg_locks), every instance's; 0 on PGlite. NaN when the database did not answer.",
    );
  }

  /**
   * The gauges of a connection pool, made on the first call: PostgreSQL has one, PGlite (one
   * connection in the process) does not, and then they are not reported at all rather than as 0.
   */
  poolGauges(): PoolGauges {
    const registers = [this.registry];
    this.pool ??= {
      size: new Gauge({ name: "backorder_db_pool_size", help: "The most connections this instance's pool opens.", registers }),
      connections: new Gauge({
        name: "backorder_db_pool_connections",
        help: "Connections this instance's pool holds open (pg_stat_activity, the LISTEN session left out).",
        registers,
      }),
      inUse: new Gauge({
        name: "backorder_db_pool_connections_in_use",
        help: "Connections of this instance's pool running a statement or inside a transaction, the scrape's own left out.",
        registers,
      }),
    };
    return this.pool;
  }

  /** The label value for an operation name from a caller: cut, and `(other)` past the cap of distinct names. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return ANONYMOUS_OPERATION;
    const label = name.slice(0, OPERATION_NAME_MAX_LENGTH);
    if (this.operationNames.has(label)) return label;
    if (this.operationNames.size >= this.maxOperationNames) return OTHER_OPERATION;
    this.operationNames.add(label);
    return label;
  }

  /** Records one GraphQL request over HTTP. `operation` is undefined when the document did not resolve to one. */
  observeRequest(operation: { name: string | null | undefined; type: string } | undefined, outcome: string, seconds: number): void {
    const labels = operation
      ? { operation: this.operationLabel(operation.name), type: operation.type, outcome }
      : { operation: UNKNOWN_OPERATION, type: "unknown", outcome };
    this.requestDuration.observe(labels, seconds);
  }

  /** Counts one refusal. */
  countRefusal(reason: RefusalReason, transport: Transport): void {
    this.refusals.inc({ reason, transport });
  }

  countReadCache(outcome: "hit" | "miss"): void {
    this.readCache.inc({ outcome });
  }

  countGraphQLHttp(path: GraphQLHttpPath): void {
    this.graphqlHttpPaths[path].inc();
  }

  /**
   * Runs `probe` at every scrape, before the figures are read (gauges are set there, not kept up
   * to date between scrapes). A probe must not throw: it sets what it could not read to NaN.
   * Returns the remover.
   */
  onScrape(probe: () => Promise<void> | void): () => void {
    this.probes.add(probe);
    return () => this.probes.delete(probe);
  }

  /** The Content-Type of {@link scrape}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Every metric in the Prometheus text format. The process metrics (CPU, memory, event loop lag,
   * GC) start with the first scrape: an instance nobody scrapes pays nothing for them.
   */
  async scrape(): Promise<string> {
    if (!this.processMetrics) {
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry });
    }
    await Promise.allSettled([...this.probes].map(async (probe) => probe()));
    return this.registry.metrics();
  }
}

/**
 * Subscriptions over WebSocket (graphql-ws, protocol graphql-transport-ws) on the HTTP server's
 * port and path. Each connection gets a context with this instance's event hub; a connection
 * whose client stops reading is closed before its send buffer can grow without bound.
 *
 * Access: `connectionParams.authorization` ("Bearer <key>" or the key alone) is checked when the
 * connection opens; without a valid key it is closed with 4401. The key is checked again for
 * every new subscription, and when a key is revoked (an API_KEY_REVOKED event, which every
 * instance's hub reads) its connections are closed with 4403 on every instance.
 *
 * Limits (docs/ARCHITECTURE.md, "Access and limits"): every operation, query, mutation or
 * subscription, passes the pipeline HTTP requests pass (`prepareOperation`: minimum cost, bounds
 * before validation, variables, depth and cost, the estimate paid) and spends the same bucket as
 * the key's HTTP requests. A query or mutation is settled to its actual cost and answered with
 * `extensions.cost`; each subscription event, replayed or live, is charged what it delivers. A
 * subscriber whose bucket is empty waits for it (its events are slowed, the hub queues them); when
 * the wait would exceed `maxBudgetWaitMs` the connection is closed with 4413 and
 * `after=<cursor>` to resume from, nothing dropped. A key holds at most `maxConnectionsPerKey`
 * connections on an instance (the next is closed with 4429) and a connection runs at most
 * `maxSubscriptionsPerConnection` operations at once (the next fails with TOO_MANY_SUBSCRIPTIONS).
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { sharedSubscribe } from "../live/shared-subscribe.js";
import { type WebSocket, WebSocketServer } from "ws";
import type { AuthenticatedKey } from "../graphql/context.js";
import { authenticateAuthorization } from "./authentication.js";
import { isApiKeyActive } from "../services/api-key.service.js";
import type { Database } from "../../drizzle/db.js";
import { createContext } from "../graphql/context.js";
import { SUBSCRIBER_TOO_SLOW, type EventHub } from "../live/event-hub.js";
import { toEventCursor } from "../services/event-cursor.js";
import type { WebhookUrlOptions } from "../services/webhook-endpoint.service.js";
import { formatError, isExposedError } from "../graphql/error-masking.js";
import { isDatabaseUnavailable, SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE } from "../graphql/database-unavailable.js";
import { type Logger, serializeError } from "../logger.js";
import { REQUEST_PARSE_OPTIONS, requestValidationRules } from "../graphql/limits/request-guards.js";
import {
  type Admission,
  callerOf,
  DEFAULT_QUERY_LIMITS,
  prepareOperation,
  type QueryLimits,
  settleCost,
  throttledError,
} from "../graphql/limits/query-limits.js";
import { CostBudget } from "../graphql/limits/cost-budget.js";
import { meterObjects, type ObjectMeter, responseTooLarge, wasStoppedAtCap } from "../graphql/limits/object-meter.js";
import { actualCost, countReturnedObjects } from "../graphql/limits/query-cost.js";
import type { CostExtension } from "../graphql/limits/query-limits.plugin.js";
import { type Metrics, REFUSAL_REASONS, type RefusalReason } from "../metrics.js";

export interface WebSocketOptions {
  httpServer: http.Server;
  schema: GraphQLSchema;
  db: Database;
  hub: EventHub;
  logger: Logger;
  /** Bytes queued for a client before it counts as too slow. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Largest message a client may send. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** Depth and cost limits per role (server/graphql/limits/query-limits.ts). Default: the defaults. */
  limits?: QueryLimits;
  /** The cost buckets, shared with the HTTP plugin so a key has one budget. Default: new ones. */
  budget?: CostBudget;
  /**
   * The longest a subscription event waits for its subscriber's budget before the connection is
   * closed with 4413 and the cursor to resume from. Default 10 s.
   */
  maxBudgetWaitMs?: number;
  /** Counts refusals and reports the connections and their send buffers at each scrape (/metrics). */
  metrics?: Metrics;
  /** Where a webhook endpoint's URL may point (WEBHOOK_ALLOW_PRIVATE_URLS), for the mutations sent over the socket. */
  webhookUrls?: WebhookUrlOptions;
}

/** One running operation of a connection: what it paid, its object meter, its last event. */
interface RunningOperation extends Admission {
  meter?: ObjectMeter;
  /** Position of the event being delivered (subscriptions). */
  eventSeq?: number;
}

/**
 * What a subscriber may see of an error, as over HTTP: coded errors pass, an error without an
 * original error is the request's own (a validation error), anything else is logged and masked.
 */
function mask(error: GraphQLError, logger: Logger): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!error.originalError && !formatted.extensions?.code) {
    return { ...formatted, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } };
  }
  // The HTTP status some coded errors carry for Apollo means nothing here.
  if (formatted.extensions && "http" in formatted.extensions) {
    const { http: _http, ...extensions } = formatted.extensions;
    return formatError({ ...formatted, extensions }, error);
  }
  if (isDatabaseUnavailable(error)) logger.warn("subscription: database unavailable", { error: serializeError(error.originalError ?? error) });
  else if (!isExposedError(formatted.extensions)) logger.error("subscription error", { error: serializeError(error.originalError ?? error) });
  return formatError(formatted, error);
}

/** Close code of a connection without a valid key (graphql-ws's Unauthorized). */
export const UNAUTHORIZED_CLOSE = 4401;
/** Close code of a connection whose key was revoked while it was open. */
export const KEY_REVOKED_CLOSE = 4403;
export const KEY_REVOKED_REASON = "API key revoked";
/** Close code of a connection over its key's connection cap. */
export const TOO_MANY_CONNECTIONS_CLOSE = 4429;
/** Code of an operation over its connection's cap. */
export const TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS";

/** Each socket's close, as one promise however many operations wait on it: one listener per socket. */
const closedSockets = new WeakMap<WebSocket, Promise<void>>();
function closedOf(socket: WebSocket): Promise<void> {
  let closed = closedSockets.get(socket);
  if (!closed) {
    closed = socket.readyState === socket.CLOSED ? Promise.resolve() : new Promise((resolve) => socket.once("close", () => resolve()));
    closedSockets.set(socket, closed);
  }
  return closed;
}

/** Resolves after `ms`, or as soon as `socket` closes. */
async function waitUnlessClosed(socket: WebSocket, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closedOf(socket), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Attaches graphql-ws to `/graphql`; returns a function that closes every connection. */
export function attachWebSocket(options: WebSocketOptions): () => Promise<void> {
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const limits = options.limits ?? DEFAULT_QUERY_LIMITS;
  const budget = options.budget ?? new CostBudget();
  const maxBudgetWaitMs = options.maxBudgetWaitMs ?? 10_000;
  /** Per connection (graphql-ws's context object), its running operations by id. */
  const running = new WeakMap<object, Map<string, RunningOperation>>();
  const runningOf = (ctx: object) => {
    let operations = running.get(ctx);
    if (!operations) running.set(ctx, (operations = new Map()));
    return operations;
  };
  /** Per connection, the operations admitted by the cap and waiting for their key check. */
  const waiting = new WeakMap<object, number>();
  /** Per connection, the operations refused by the cap since it last had room. */
  const overCap = new WeakMap<object, number>();
  const wss = new WebSocketServer({ server: options.httpServer, path: "/graphql", maxPayload: options.maxPayloadBytes ?? 64 * 1024 });
  const metrics = options.metrics;
  const refused = (reason: RefusalReason) => metrics?.countRefusal(reason, "websocket");
  const stopWatching = metrics?.onScrape(() => {
    let bufferedBytes = 0;
    let maxBufferedBytes = 0;
    for (const socket of wss.clients) {
      bufferedBytes += socket.bufferedAmount;
      maxBufferedBytes = Math.max(maxBufferedBytes, socket.bufferedAmount);
    }
    metrics.webSocket.connections.set(wss.clients.size);
    metrics.webSocket.bufferedBytes.set(bufferedBytes);
    metrics.webSocket.maxBufferedBytes.set(maxBufferedBytes);
  });
  const keyOf = new WeakMap<WebSocket, AuthenticatedKey>();
  const socketsByKey = new Map<number, Set<WebSocket>>();
  const closeRevoked = (socket: WebSocket, apiKeyId: number) => {
    options.logger.info("closing websocket: api key revoked", { apiKeyId });
    socket.close(KEY_REVOKED_CLOSE, KEY_REVOKED_REASON);
  };
  const stopListening = options.hub.onEvent((event) => {
    if (event.type !== "API_KEY_REVOKED") return;
    const apiKeyId = Number(event.payload.apiKeyId);
    for (const socket of socketsByKey.get(apiKeyId) ?? []) closeRevoked(socket, apiKeyId);
  });
  const server = useServer(
    {
      schema: options.schema,
      subscribe: sharedSubscribe,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        let key: AuthenticatedKey | null;
        try {
          key = await authenticateAuthorization(options.db, ctx.connectionParams?.authorization, { bare: true });
        } catch (error) {
          if (isDatabaseUnavailable(error)) {
            // The client retries the connection (server/graphql/database-unavailable.ts).
            options.logger.warn("websocket refused: database unavailable", { error: serializeError(error) });
            socket.close(1011, "Database unavailable: retry shortly");
          } else {
            options.logger.error("websocket authentication failed", { error: serializeError(error) });
            socket.close(1011, "Internal server error");
          }
          return false;
        }
        if (!key) {
          options.logger.info("websocket refused: no valid API key", {
            authorization: ctx.connectionParams?.authorization === undefined ? "missing" : "invalid",
          });
          // graphql-ws would close with 4403 on `false`; this close comes first and wins.
          socket.close(UNAUTHORIZED_CLOSE, "Unauthorized");
          return false;
        }
        if (socket.readyState !== socket.OPEN) return false;
        const apiKeyId = key.id;
        const maxConnections = limits[key.role].maxConnectionsPerKey;
        if ((socketsByKey.get(apiKeyId)?.size ?? 0) >= maxConnections) {
          options.logger.info("websocket refused: too many connections for the key", { apiKeyId, maxConnections });
          socket.close(TOO_MANY_CONNECTIONS_CLOSE, `Too many connections for this API key: at most ${maxConnections}`);
          return false;
        }
        keyOf.set(socket, key);
        const sockets = socketsByKey.get(apiKeyId) ?? new Set<WebSocket>();
        socketsByKey.set(apiKeyId, sockets.add(socket));
        socket.once("close", () => {
          sockets.delete(socket);
          if (sockets.size === 0 && socketsByKey.get(apiKeyId) === sockets) socketsByKey.delete(apiKeyId);
        });
        return true;
      },
      // A key revoked since the connection opened starts nothing new, even before the hub hears of it.
      // Then the same token, width, NUL, depth and cost limits as over HTTP: an operation
      // over them is refused on its own subscription, the connection stays open.
      onSubscribe: async (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        const key = keyOf.get(socket);
        if (!key) {
          socket.close(UNAUTHORIZED_CLOSE, "Unauthorized");
          return [new GraphQLError(KEY_REVOKED_REASON, { extensions: { code: "UNAUTHENTICATED" } })];
        }
        // The minimum cost and the cap come before anything waits: every message pays, refused ones
        // too, and a flood on one connection is refused without a database round trip per message.
        const roleLimits = limits[key.role];
        const caller = callerOf(key, undefined);
        const minimum = budget.withdraw(caller.bucket, roleLimits.minimumCost, roleLimits);
        if (!minimum.ok) {
          refused("THROTTLED");
          return [throttledError(roleLimits.minimumCost, minimum.remaining, roleLimits, minimum.retryAfterSeconds)];
        }
        const maxOperations = roleLimits.maxSubscriptionsPerConnection;
        const waitingNow = waiting.get(ctx) ?? 0;
        if (runningOf(ctx).size + waitingNow >= maxOperations) {
          // A client that keeps sending past the cap is flooding: every message still costs a parse
          // and an answer on the event loop all callers share. After as many refusals as the cap, the
          // connection is closed (4429); it may reconnect and resume its subscriptions.
          const refused = (overCap.get(ctx) ?? 0) + 1;
          overCap.set(ctx, refused);
          if (refused === maxOperations) {
            socket.pause();
            socket.close(TOO_MANY_CONNECTIONS_CLOSE, `Too many operations: at most ${maxOperations} at once on a connection`);
            setTimeout(() => socket.terminate(), 1000).unref();
          }
          return [
            new GraphQLError(`This connection runs ${maxOperations} operations already, the most it may; complete one first.`, {
              extensions: { code: TOO_MANY_SUBSCRIPTIONS, maxSubscriptionsPerConnection: maxOperations },
            }),
          ];
        }
        overCap.delete(ctx);
        waiting.set(ctx, waitingNow + 1);
        let active: boolean;
        try {
          active = await isApiKeyActive(options.db, key.id);
        } catch (error) {
          // Thrown here, graphql-ws would close the whole connection with the error's text (SQL
          // included) as the reason. Only this subscription fails, with a code; the client retries it.
          if (isDatabaseUnavailable(error)) {
            options.logger.warn("subscription refused: database unavailable", { error: serializeError(error) });
            return [new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, { extensions: { code: SERVICE_UNAVAILABLE } })];
          }
          options.logger.error("unexpected error", { operation: "subscribe", error: serializeError(error) });
          return [new GraphQLError("Internal server error", { extensions: { code: "INTERNAL_SERVER_ERROR" } })];
        } finally {
          waiting.set(ctx, (waiting.get(ctx) ?? 1) - 1);
        }
        if (!active) {
          closeRevoked(socket, key.id);
          return [new GraphQLError(KEY_REVOKED_REASON, { extensions: { code: "UNAUTHENTICATED" } })];
        }
        // No await from here to the admission: the count above stays true.
        const admitted = prepareOperation(options.schema, payload, caller, limits, {
          budget,
          minimumPaid: true,
          parseOptions: REQUEST_PARSE_OPTIONS,
          validationRules: requestValidationRules,
        });
        if (Array.isArray(admitted)) {
          const code = admitted[0]?.extensions.code;
          if ((REFUSAL_REASONS as readonly unknown[]).includes(code)) refused(code as RefusalReason);
          return admitted;
        }
        runningOf(ctx).set(id, { ...admitted.admission });
        return admitted.prepared;
      },
      context: (ctx, id) => {
        const socket = ctx.extra.socket;
        const requestId = randomUUID();
        const operation = runningOf(ctx).get(id);
        const context = createContext({
          db: options.db,
          apiKey: keyOf.get(socket),
          logger: options.logger,
          webhookUrls: options.webhookUrls,
          requestId,
          liveEvents: async (accepts, after) => {
            const events = await options.hub.stream(accepts, after, (error) => {
              const reason = `subscriber too slow: resume with after=${toEventCursor(error.lastSeq)}`;
              options.logger.warn("closing websocket", { requestId, code: SUBSCRIBER_TOO_SLOW, reason });
              socket.close(SUBSCRIBER_TOO_SLOW, reason.slice(0, 120));
            });
            if (!operation) return events;
            // Remembers the event being delivered: the cursor to resume from if its budget runs out.
            const next = events.next.bind(events);
            events.next = async () => {
              const step = await next();
              if (!step.done) operation.eventSeq = step.value.seq;
              return step;
            };
            return events;
          },
        });
        if (operation) operation.meter = meterObjects(context, operation.limits.maxObjects);
        return context;
      },
      onNext: async (ctx, id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        const operation = runningOf(ctx).get(id);
        const stopped = wasStoppedAtCap(result.errors);
        if (operation?.kind === "subscription") {
          // Shared executions count elsewhere: an event costs what it delivers (the cap, when stopped).
          const objects = stopped ? operation.limits.maxObjects : countReturnedObjects(result.data);
          const waitSeconds = budget.charge(operation.caller.bucket, Math.max(objects, operation.limits.minimumCost), operation.limits);
          if (waitSeconds * 1000 > maxBudgetWaitMs) {
            const resume = operation.eventSeq === undefined ? "the last cursor received" : `after=${toEventCursor(operation.eventSeq - 1)}`;
            const reason = `over the cost budget: resume with ${resume}`;
            refused("BUDGET_WAIT_EXCEEDED");
            options.logger.warn("closing websocket", { code: SUBSCRIBER_TOO_SLOW, reason, waitSeconds });
            socket.close(SUBSCRIBER_TOO_SLOW, reason.slice(0, 120));
            return;
          }
          if (waitSeconds > 0) await waitUnlessClosed(socket, waitSeconds * 1000);
        } else if (operation) {
          const actual = actualCost(operation.measured, result.data, operation.meter?.tally());
          const charged = settleCost(budget, operation, actual);
          operation.withdrawn = charged;
          const cost: CostExtension = {
            requested: operation.measured.cost,
            actual,
            charged,
            budget: {
              remaining: Math.max(0, Math.floor(budget.remaining(operation.caller.bucket, operation.limits))),
              capacity: operation.limits.capacity,
              refillPerSecond: operation.limits.refillPerSecond,
            },
          };
          result = { ...result, extensions: { ...result.extensions, cost } };
        }
        if (socket.bufferedAmount > maxBuffered) {
          options.logger.warn("closing websocket: client not reading", { bufferedBytes: socket.bufferedAmount });
          socket.close(SUBSCRIBER_TOO_SLOW, "subscriber too slow: resume with after set to the last cursor received");
          // A client that reads nothing will not read the close frame either.
          setTimeout(() => socket.terminate(), 5000).unref();
        }
        if (stopped) {
          refused("RESPONSE_TOO_LARGE");
          const { message, extensions } = responseTooLarge(operation?.limits.maxObjects ?? 0);
          return { data: null, errors: [{ message, extensions }], ...(result.extensions ? { extensions: result.extensions } : {}) };
        }
        if (result.errors?.length) return { ...result, errors: result.errors.map((error) => mask(error, options.logger)) };
        return result;
      },
      onComplete: (ctx, id) => {
        runningOf(ctx).delete(id);
      },
      onError: (ctx, id, _payload, errors) => {
        runningOf(ctx).delete(id);
        return errors.map((error) => mask(error, options.logger));
      },
    },
    wss,
  );
  return async () => {
    stopListening();
    stopWatching?.();
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

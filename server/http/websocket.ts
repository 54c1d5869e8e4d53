/**
 * Subscriptions over WebSocket (graphql-ws, protocol graphql-transport-ws) on the HTTP server's
 * port and path. Each connection gets a context with this instance's event hub; a connection
 * whose client stops reading is closed before its send buffer can grow without bound.
 *
 * Access: `connectionParams.authorization` ("Bearer <key>" or the key alone) is checked when the
 * connection opens; without a valid key it is closed with 4401. The key is checked again for
 * every new subscription, and when a key is revoked (an API_KEY_REVOKED event, which every
 * instance's hub reads) its connections are closed with 4403 on every instance.
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
import { formatError, isExposedError } from "../graphql/error-masking.js";
import { isDatabaseUnavailable, SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE } from "../graphql/database-unavailable.js";
import { type Logger, serializeError } from "../logger.js";
import { REQUEST_PARSE_OPTIONS, requestValidationRules } from "../graphql/limits/request-guards.js";
import { callerOf, DEFAULT_QUERY_LIMITS, prepareSubscription, type QueryLimits } from "../graphql/limits/query-limits.js";

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
  /** Depth and cost limits per role (server/query-limits.ts). Default: the defaults. */
  limits?: QueryLimits;
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
  if (isDatabaseUnavailable(error)) logger.warn("subscription: database unavailable", { error: serializeError(error.originalError ?? error) });
  else if (!isExposedError(formatted.extensions)) logger.error("subscription error", { error: serializeError(error.originalError ?? error) });
  return formatError(formatted, error);
}

/** Close code of a connection without a valid key (graphql-ws's Unauthorized). */
export const UNAUTHORIZED_CLOSE = 4401;
/** Close code of a connection whose key was revoked while it was open. */
export const KEY_REVOKED_CLOSE = 4403;
export const KEY_REVOKED_REASON = "API key revoked";

/** Attaches graphql-ws to `/graphql`; returns a function that closes every connection. */
export function attachWebSocket(options: WebSocketOptions): () => Promise<void> {
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const wss = new WebSocketServer({ server: options.httpServer, path: "/graphql", maxPayload: options.maxPayloadBytes ?? 64 * 1024 });
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
            // The client retries the connection (server/database-unavailable.ts).
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
      onSubscribe: async (ctx, _id, payload) => {
        const socket = ctx.extra.socket;
        const key = keyOf.get(socket);
        let active: boolean;
        try {
          active = key !== undefined && (await isApiKeyActive(options.db, key.id));
        } catch (error) {
          // Thrown here, graphql-ws would close the whole connection with the error's text (SQL
          // included) as the reason. Only this subscription fails, with a code; the client retries it.
          if (!isDatabaseUnavailable(error)) throw error;
          options.logger.warn("subscription refused: database unavailable", { error: serializeError(error) });
          return [new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, { extensions: { code: SERVICE_UNAVAILABLE } })];
        }
        if (key && active) {
          return prepareSubscription(options.schema, payload, callerOf(key, undefined), options.limits ?? DEFAULT_QUERY_LIMITS, {
            parseOptions: REQUEST_PARSE_OPTIONS,
            validationRules: requestValidationRules,
          });
        }
        if (key) closeRevoked(socket, key.id);
        else socket.close(UNAUTHORIZED_CLOSE, "Unauthorized");
        return [new GraphQLError(KEY_REVOKED_REASON, { extensions: { code: "UNAUTHENTICATED" } })];
      },
      context: (ctx) => {
        const socket = ctx.extra.socket;
        const requestId = randomUUID();
        return createContext({
          db: options.db,
          apiKey: keyOf.get(socket),
          logger: options.logger,
          requestId,
          liveEvents: (accepts, after) =>
            options.hub.stream(accepts, after, (error) => {
              const reason = `subscriber too slow: resume with after=${toEventCursor(error.lastSeq)}`;
              options.logger.warn("closing websocket", { requestId, code: SUBSCRIBER_TOO_SLOW, reason });
              socket.close(SUBSCRIBER_TOO_SLOW, reason.slice(0, 120));
            }),
        });
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > maxBuffered) {
          options.logger.warn("closing websocket: client not reading", { bufferedBytes: socket.bufferedAmount });
          socket.close(SUBSCRIBER_TOO_SLOW, "subscriber too slow: resume with after set to the last cursor received");
          // A client that reads nothing will not read the close frame either.
          setTimeout(() => socket.terminate(), 5000).unref();
        }
        if (result.errors?.length) return { ...result, errors: result.errors.map((error) => mask(error, options.logger)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => mask(error, options.logger)),
    },
    wss,
  );
  return async () => {
    stopListening();
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

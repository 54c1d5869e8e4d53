/**
 * Subscriptions over WebSocket (graphql-ws, protocol graphql-transport-ws) on the HTTP server's
 * port and path. Each connection gets a context with this instance's event hub; a connection
 * whose client stops reading is closed before its send buffer can grow without bound.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { Database } from "../drizzle/db.js";
import { createContext } from "./context.js";
import { SUBSCRIBER_TOO_SLOW, type EventHub } from "./event-hub.js";
import { formatError, isExposedError } from "./error-masking.js";
import { type Logger, serializeError } from "./logger.js";

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
  if (!isExposedError(formatted.extensions)) logger.error("subscription error", { error: serializeError(error.originalError ?? error) });
  return formatError(formatted);
}

/** Attaches graphql-ws to `/graphql`; returns a function that closes every connection. */
export function attachWebSocket(options: WebSocketOptions): () => Promise<void> {
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const wss = new WebSocketServer({ server: options.httpServer, path: "/graphql", maxPayload: options.maxPayloadBytes ?? 64 * 1024 });
  const server = useServer(
    {
      schema: options.schema,
      context: (ctx) => {
        const socket = ctx.extra.socket;
        const requestId = randomUUID();
        return createContext({
          db: options.db,
          hub: options.hub,
          logger: options.logger,
          requestId,
          closeConnection: (code, reason) => {
            options.logger.warn("closing websocket", { requestId, code, reason });
            socket.close(code, reason.slice(0, 120));
          },
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
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

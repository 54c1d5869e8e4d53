/**
 * What a client may see of an error (docs/ARCHITECTURE.md, "The GraphQL contract"). Errors that carry one of the known
 * codes are the client's own doing and pass through; everything else is a bug: the request log
 * records it in full and the client gets INTERNAL_SERVER_ERROR with no message, stack, SQL or path.
 */
import type { GraphQLFormattedError } from "graphql";
import { isDatabaseUnavailable, serviceUnavailableError } from "./database-unavailable.js";

/** Codes a client may see as they are. The access-control issue adds its own codes here. */
export const EXPOSED_ERROR_CODES = new Set<string>([
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  // Query limits (server/graphql/limits/query-limits.ts).
  "QUERY_TOO_DEEP",
  "QUERY_TOO_COSTLY",
  "THROTTLED",
  // Past the hard cap of objects per response (server/graphql/limits/object-meter.ts).
  "RESPONSE_TOO_LARGE",
  // Over a WebSocket connection's cap of running operations (server/http/websocket.ts).
  "TOO_MANY_SUBSCRIPTIONS",
  // The database cannot answer (server/graphql/database-unavailable.ts).
  "SERVICE_UNAVAILABLE",
  // A subscription's cursor is older than the event log's retention (server/live/event-hub.ts).
  "CURSOR_EXPIRED",
]);

/** Whether an error with these extensions is one the client may see. */
export function isExposedError(extensions: Readonly<Record<string, unknown>> | undefined): boolean {
  const code = extensions?.code;
  return typeof code === "string" && EXPOSED_ERROR_CODES.has(code);
}

/**
 * Apollo's `formatError`: passes exposed errors (without any stack), answers a database outage
 * (`error`, the original, says so) as SERVICE_UNAVAILABLE, masks the rest.
 */
export function formatError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  if (error !== undefined && isDatabaseUnavailable(error)) return { ...serviceUnavailableError(), ...(formatted.path ? { path: formatted.path } : {}) };
  if (isExposedError(formatted.extensions)) {
    const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

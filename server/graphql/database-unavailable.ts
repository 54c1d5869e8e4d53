/**
 * When the database cannot answer (docs/ARCHITECTURE.md, "The GraphQL contract"; issue 4, item 5): its connections were
 * killed, it restarts, it refuses connections, or a statement ran past its deadline. That is not
 * a bug to mask as INTERNAL_SERVER_ERROR but a condition the client can act on: every such error
 * reaches it as `extensions.code: "SERVICE_UNAVAILABLE"`, over HTTP with status 503 and a
 * `Retry-After` header, and the server carries on (postgres.js opens new connections by itself
 * once the database is back).
 *
 * A mutation answered this way may or may not have committed (the connection can die during
 * COMMIT): retry it with the same idempotency key, which replays an order placed the first time.
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";

export const SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE";
/** What the client is told to wait before retrying, in seconds. */
export const RETRY_AFTER_SECONDS = 1;
export const SERVICE_UNAVAILABLE_MESSAGE =
  "The database is unavailable or did not answer in time; retry shortly. " +
  "A mutation answered this way may or may not have been applied: retry placeOrder with the same idempotencyKey.";

/** postgres.js and Node socket error codes for a connection that failed, closed or timed out. */
const CONNECTION_ERROR_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a database that is going or gone: 57P01 admin shutdown (pg_terminate_backend),
 * 57P02 crash shutdown, 57P03 cannot connect now (starting or stopping), 53300 too many
 * connections, 57014 statement timeout. Class 08 (connection exception) is matched as a class.
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "57014"]);

function isUnavailableCause(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof code === "string" && (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // A FATAL error ends the session: refused at start (database dropped or not accepting
  // connections, authentication) or terminated. Statement errors are ERROR, never FATAL.
  return severity === "FATAL" || severity === "PANIC";
}

/**
 * Whether `error` (or an error it wraps: a GraphQL error's original error, a drizzle query
 * error's cause) says the database is unavailable rather than that the request or the code is wrong.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if (isUnavailableCause(current)) return true;
    const { originalError, cause } = current as { originalError?: unknown; cause?: unknown };
    current = originalError ?? cause;
  }
  return false;
}

/** The error a client sees for a database outage (GraphQL, and the JSON body of a 503). */
export function serviceUnavailableError(): GraphQLFormattedError {
  return { message: SERVICE_UNAVAILABLE_MESSAGE, extensions: { code: SERVICE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS } };
}

/**
 * An Apollo plugin: a response carrying a database outage error goes out as HTTP 503 with
 * `Retry-After` (the error itself is rewritten by `formatError`, server/graphql/error-masking.ts).
 */
export function databaseUnavailablePlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ errors, response }) {
          if (!errors?.some(isDatabaseUnavailable)) return;
          response.http.status = 503;
          response.http.headers.set("retry-after", String(RETRY_AFTER_SECONDS));
        },
      };
    },
  };
}

/**
 * Authentication (docs/ARCHITECTURE.md, "Access and limits"): every request to /graphql carries an API key as
 * `Authorization: Bearer <key>`; a WebSocket carries it as `connectionParams.authorization`.
 * The key is looked up by the hash of its secret, through the instance's cache of active keys
 * (api-key-cache.ts): a revoked key is refused at once on the instance that revoked it, and on the
 * others as soon as their event hub reads the revocation (milliseconds).
 *
 * Every refusal looks the same, whether the header is missing, malformed, too long, or names an
 * unknown or revoked key: HTTP 401 and one UNAUTHENTICATED error, so a caller learns nothing about
 * which keys exist. A key anywhere else (query string, cookie, body) is not looked at. The secret
 * is never logged: log lines carry the key's id.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { sendJson } from "./json-response.js";
import type { Database } from "../../drizzle/db.js";
import { type ApiKeyCache, authenticatedKey } from "./api-key-cache.js";
import { UNAUTHENTICATED_MESSAGE } from "../graphql/auth-checker.js";
import type { AuthenticatedKey } from "../graphql/context.js";
import type { Logger } from "../logger.js";
import { authenticate } from "../services/api-key.service.js";

/** Longer Authorization values are refused unread. */
export const MAX_AUTHORIZATION_LENGTH = 512;

/** The body of every 401. */
export const UNAUTHENTICATED_BODY = Object.freeze({
  errors: [{ message: UNAUTHENTICATED_MESSAGE, extensions: { code: "UNAUTHENTICATED" } }],
});

/**
 * The secret in an authorization value: `Bearer <key>` (scheme in any case), or with `bare` the
 * key alone (what a WebSocket client may send). Null for anything else, and for values over
 * {@link MAX_AUTHORIZATION_LENGTH} characters.
 */
export function secretFromAuthorization(value: unknown, { bare = false } = {}): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_AUTHORIZATION_LENGTH) return null;
  const bearer = /^Bearer +(\S+) *$/i.exec(value);
  if (bearer) return bearer[1];
  return bare && /^\S+$/.test(value) ? value : null;
}

/**
 * The key named by an authorization value, or null (missing, malformed, unknown or revoked).
 * Rejects only when the database cannot answer.
 */
export async function authenticateAuthorization(db: Database, value: unknown, options: { bare?: boolean } = {}): Promise<AuthenticatedKey | null> {
  const secret = secretFromAuthorization(value, options);
  if (secret === null) return null;
  const record = await authenticate(db, secret);
  return record ? authenticatedKey(record) : null;
}

/** Answers 401 UNAUTHENTICATED. */
export function refuseUnauthenticated(res: ServerResponse): void {
  sendJson(res, 401, UNAUTHENTICATED_BODY, { "WWW-Authenticate": 'Bearer realm="backorder-engine"' });
}

/**
 * Bodies larger than this are authenticated from the database, not the key cache. A flood of
 * near-limit bodies (838 KB of unused variables, test/security/attacks.test.ts attack d) answered
 * from the cache stalled /healthz for about a second on 2 cores (p99 0.8 to 1.4 s; 54 to 69 ms with
 * the look-up): the look-up's round trip paces the parsing of large bodies, which cached requests
 * start at once. An API request is a few kilobytes: this costs it nothing.
 */
export const LARGE_BODY_BYTES = 64 * 1024;

export interface RequestKeyOptions {
  keys: ApiKeyCache;
  logger: Logger;
}

/**
 * The key of a request to /graphql, or null (missing, malformed, unknown or revoked) once the
 * refusal is logged: the caller answers it with {@link refuseUnauthenticated}. Rejects only when
 * the database cannot answer (a 503, not a 401: the key may well be fine).
 */
export async function requestKey(req: IncomingMessage, requestId: string, options: RequestKeyOptions): Promise<AuthenticatedKey | null> {
  const secret = secretFromAuthorization(req.headers.authorization);
  // A large body is looked up in the database, as every request was before the cache (see LARGE_BODY_BYTES).
  const fresh = Number(req.headers["content-length"] ?? 0) > LARGE_BODY_BYTES || req.headers["transfer-encoding"] !== undefined;
  const key = secret === null ? null : await options.keys.authenticate(secret, { fresh });
  if (!key) {
    options.logger.info("request refused: no valid API key", {
      requestId,
      method: req.method,
      authorization: req.headers.authorization === undefined ? "missing" : "invalid",
    });
  }
  return key;
}

/**
 * Express middleware for /graphql: lets a request with a valid key through with the key in
 * `res.locals.apiKey`, answers 401 to anything else. A database failure goes to the error
 * handler (503, logged), not to 401.
 */
export function requireApiKey(options: RequestKeyOptions): RequestHandler {
  // Express 5 sends a rejected promise to the error handler.
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = await requestKey(req, res.locals.requestId as string, options);
    if (!key) {
      refuseUnauthenticated(res);
      return;
    }
    res.locals.apiKey = key;
    next();
  };
}

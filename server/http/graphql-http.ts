/**
 * GraphQL over HTTP (docs/ARCHITECTURE.md, "The HTTP layer"). A `POST /graphql` of plain JSON
 * up to 64 KB, nearly every API request, is served straight from `node:http`: the security
 * headers, the request id, the API key, the body, Apollo, the answer. On this machine Express's
 * router, body-parser and `res.send` cost more per request than Apollo itself (a bare Apollo
 * Server answered `{ hello }` with 0.14 ms of CPU on `node:http` and 0.31 ms on Express 5). Every
 * other request (a GET, a larger, chunked or compressed body, another content type or charset, a
 * query string) goes through Express, whose body-parser handles those edges; both paths end in
 * {@link answerGraphQL}, and both answer their refusals with the same bodies.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, HeaderMap } from "@apollo/server";
import type { Request, Response } from "express";
import type { AuthenticatedKey, Context } from "../graphql/context.js";
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS, serviceUnavailableError } from "../graphql/database-unavailable.js";
import { type Logger, serializeError } from "../logger.js";
import type { GraphQLHttpPath } from "../metrics.js";
import type { ApiKeyCache } from "./api-key-cache.js";
import { LARGE_BODY_BYTES, refuseUnauthenticated, requestKey } from "./authentication.js";
import { sendJson } from "./json-response.js";
import { setSecurityHeaders } from "./security-headers.js";

/** A caller's X-Request-Id is kept when it looks like one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Request ids: the caller's X-Request-Id when it is sane, else a new UUID; echoed back. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader("x-request-id", id);
  return id;
}

/**
 * Answers an error that ended a request before GraphQL did (a body refused by the parser, the
 * database gone during the key's look-up, anything unexpected): JSON with a code, no stack.
 */
export function sendHttpError(res: ServerResponse, error: unknown, logger: Logger, requestId: string | undefined): void {
  if (res.headersSent) {
    // Part of an answer is out: the client can only be told by the connection closing.
    logger.error("http error after the answer began", { requestId, error: serializeError(error) });
    res.destroy();
    return;
  }
  // The API key look-up found the database gone: 503, as from a resolver.
  if (isDatabaseUnavailable(error)) {
    logger.warn("database unavailable", { requestId, error: serializeError(error) });
    sendJson(res, 503, { errors: [serviceUnavailableError()] }, { "Retry-After": String(RETRY_AFTER_SECONDS) });
    return;
  }
  const status = (error as { status?: number }).status ?? 500;
  if (status >= 500) logger.error("http error", { requestId, error: serializeError(error) });
  const message = status >= 500 ? "Internal server error" : (error as Error).message;
  const code = status === 413 ? "PAYLOAD_TOO_LARGE" : status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

interface GraphQLRequestParts {
  method: string;
  /** The query string with its `?`, or "". */
  search: string;
  body: unknown;
}

/** Runs one request through Apollo and writes its answer. */
async function answerGraphQL(
  apollo: ApolloServer<Context>,
  req: IncomingMessage,
  res: ServerResponse,
  request: GraphQLRequestParts,
  context: () => Promise<Context>,
): Promise<void> {
  const headers = new HeaderMap();
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: { ...request, headers }, context });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === "complete") {
    res.setHeader("Content-Length", Buffer.byteLength(response.body.string));
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** An error whose status (and message) the client is told, as body-parser's are. */
function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status });
}

/** `application/json`, alone or with charset utf-8: what the direct path parses. */
const PLAIN_JSON = /^application\/json[ \t]*(?:;[ \t]*charset=(?:utf-8|"utf-8")[ \t]*)?$/i;
/** The URLs Express routes to /graphql (its paths match in any case). */
const GRAPHQL_PATH = /^\/graphql(?:[/?]|$)/i;
/** Declared lengths the direct path reads (a 64 KB body has 5 digits). */
const CONTENT_LENGTH = /^\d{1,9}$/;
/** The first character of a body that is not JSON whitespace. */
const FIRST_CHARACTER = /^[ \t\n\r]*([^ \t\n\r])/;

/** The body's text, once exactly `length` bytes have come. */
function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    req.once("end", () => {
      if (received !== length) reject(httpError(400, "request size did not match content length"));
      else resolve((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received)).toString("utf8"));
    });
    req.once("error", reject);
    // After "end" this changes nothing; before it, the client went away mid-body.
    req.once("close", () => reject(httpError(400, "request aborted")));
  });
}

/**
 * A request body as body-parser's strict JSON parser reads it, refusals worded alike: a byte-order
 * mark dropped, an empty body as `{}`, anything but an object or a list refused with 400.
 */
export function parseJsonBody(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return {};
  const first = FIRST_CHARACTER.exec(body)?.[1];
  if (first === "{" || first === "[") {
    try {
      return JSON.parse(body);
    } catch (error) {
      throw httpError(400, (error as Error).message);
    }
  }
  // JSON.parse's own words for a character not allowed there: the body is parsed with the rest
  // from that character masked, and the mask put back in the message.
  const at = first === undefined ? body.length : body.indexOf(first);
  try {
    JSON.parse(`${body.slice(0, at)}${"#".repeat(body.length - at)}`);
  } catch (error) {
    throw httpError(
      400,
      (error as Error).message.replace(/#+/g, (mask) => body.slice(at, at + mask.length)),
    );
  }
  throw httpError(400, "a request body is a JSON object");
}

export interface GraphQLHttpOptions {
  apollo: ApolloServer<Context>;
  keys: ApiKeyCache;
  logger: Logger;
  /** Express's body limit (bytes); the direct path reads only bodies within it and within 64 KB. */
  bodyLimitBytes: number;
  /** Told of every request to /graphql, and which way it goes. */
  onRequest?: (path: GraphQLHttpPath) => void;
  /** The context of a request whose key is known. */
  context: (req: IncomingMessage, requestId: string, apiKey: AuthenticatedKey) => Context;
}

/** The GraphQL endpoint's two ways in: {@link GraphQLHttp.serveDirect} and {@link GraphQLHttp.express}. */
export class GraphQLHttp {
  private readonly maxDirectBytes: number;

  constructor(private readonly options: GraphQLHttpOptions) {
    // Larger bodies are authenticated from the database (LARGE_BODY_BYTES): Express's path does that.
    this.maxDirectBytes = Math.min(LARGE_BODY_BYTES, options.bodyLimitBytes);
  }

  /** Serves a plain JSON `POST /graphql` and answers true; false leaves the request to Express. */
  serveDirect(req: IncomingMessage, res: ServerResponse): boolean {
    const length = this.directLength(req);
    if (length === null) {
      if (GRAPHQL_PATH.test(req.url ?? "")) this.options.onRequest?.("express");
      return false;
    }
    this.options.onRequest?.("direct");
    void this.serve(req, res, length);
    return true;
  }

  /** The body's length when the direct path serves `req`, else null. */
  private directLength(req: IncomingMessage): number | null {
    if (req.method !== "POST" || req.url !== "/graphql") return null;
    const { headers } = req;
    const length = headers["content-length"];
    if (length === undefined || !CONTENT_LENGTH.test(length) || Number(length) > this.maxDirectBytes) return null;
    if (headers["transfer-encoding"] !== undefined || headers["content-encoding"] !== undefined) return null;
    if (headers["content-type"] === undefined || !PLAIN_JSON.test(headers["content-type"])) return null;
    return Number(length);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, length: number): Promise<void> {
    // In the order Express's path takes them: headers, id, the key before the body is read.
    setSecurityHeaders(res);
    const requestId = assignRequestId(req, res);
    try {
      const apiKey = await requestKey(req, requestId, this.options);
      if (!apiKey) {
        refuseUnauthenticated(res);
        return;
      }
      const body = parseJsonBody(await readBody(req, length));
      await answerGraphQL(this.options.apollo, req, res, { method: "POST", search: "", body }, async () => this.options.context(req, requestId, apiKey));
    } catch (error) {
      sendHttpError(res, error, this.options.logger, requestId);
    }
  }

  /**
   * Express's handler for every other request to /graphql, after the security headers, the
   * request id (`res.locals.requestId`), requireApiKey (`res.locals.apiKey`) and express.json.
   */
  readonly express = async (req: Request, res: Response): Promise<void> => {
    const requestId = res.locals.requestId as string;
    const apiKey = res.locals.apiKey as AuthenticatedKey;
    const query = req.url.indexOf("?");
    const request = { method: req.method.toUpperCase(), search: query === -1 ? "" : req.url.slice(query), body: req.body as unknown };
    await answerGraphQL(this.options.apollo, req, res, request, async () => this.options.context(req, requestId, apiKey));
  };
}

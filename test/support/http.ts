/**
 * The API over real HTTP for tests: a server on port 0 against the test file's database, and a
 * `gql(query, variables)` that posts to it with fetch and hands back the status, the parsed body
 * and the raw text (for asserting what a response must never contain).
 *
 * Authentication: every test server makes sure the ADMIN key {@link TEST_ADMIN_KEY} exists in its
 * database (BOOTSTRAP_ADMIN_KEY), and every request sends it unless told otherwise
 * (`{ key: otherSecret }`, or `{ key: null }` for none).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import type { Connection } from "../../drizzle/db.js";
import { type App, type AppOptions, createApp } from "../../server/http/app.js";
import { createLogger } from "../../server/logger.js";
import type { DatabaseHandle } from "./database.js";

/** One GraphQL error as the server sends it. */
export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  extensions?: Record<string, unknown>;
}

/** A GraphQL response body; `data` is loosely typed because each test names what it reads. */
export interface GraphQLBody {
  data?: any;
  errors?: GraphQLErrorBody[];
}

export interface GraphQLResponse {
  status: number;
  body: GraphQLBody;
  /** The body as it came over the wire. */
  text: string;
}

/**
 * The secret of the ADMIN key every test server has (random per test file): the default key of
 * {@link postGraphQL} and of `collect` (test/support/live.ts).
 */
export const TEST_ADMIN_KEY = `bo_test_${randomBytes(24).toString("base64url")}`;

/** How a request authenticates: `key` is a secret sent as `Authorization: Bearer <key>` (default {@link TEST_ADMIN_KEY}; null: no header). */
export interface RequestOptions {
  key?: string | null;
  /** More headers; an `authorization` here replaces the one made from `key`. */
  headers?: Record<string, string>;
}

/** The Authorization header for `key` (default {@link TEST_ADMIN_KEY}); empty for null. */
export function authorizationHeader(key: string | null | undefined = TEST_ADMIN_KEY): Record<string, string> {
  return key === null ? {} : { authorization: `Bearer ${key ?? TEST_ADMIN_KEY}` };
}

/**
 * Posts one GraphQL operation to `url`. Never throws for a GraphQL or HTTP error (those are in
 * the answer); throws only when the server cannot be reached. A body that is not JSON comes back
 * as `{}`, with the raw text.
 */
export async function postGraphQL(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader(options.key), ...options.headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLBody = {};
  try {
    body = JSON.parse(text) as GraphQLBody;
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status: response.status, body, text };
}

/** What a test may change about its server (port, database and logger are the helper's). */
export type TestServerOptions = Omit<AppOptions, "port" | "connection" | "logger">;

/**
 * Starts the API on port 0 over an open connection (the caller keeps owning it: closing the app
 * leaves it open), with the ADMIN key {@link TEST_ADMIN_KEY} in its database. Log lines go to
 * `logLines` instead of stdout. Throws when the server cannot start.
 */
export function startTestServer(connection: Connection, logLines: string[] = [], options: TestServerOptions = {}): Promise<App> {
  return createApp({
    migrate: false,
    bootstrapAdminKey: TEST_ADMIN_KEY,
    ...options,
    port: 0,
    connection,
    logger: createLogger({ level: "info", write: (line) => logLines.push(line) }),
  });
}

/** What {@link useTestServer} hands a test file; `app` and `url` are readable from `beforeAll` on. */
export interface TestServer {
  readonly app: App;
  readonly url: string;
  /** Every log line the server wrote, as JSON text. */
  readonly logLines: string[];
  /** Posts an operation (with {@link TEST_ADMIN_KEY} unless `options.key` says otherwise); see {@link postGraphQL}. */
  gql(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<GraphQLResponse>;
  /** Posts an operation, fails the test on any GraphQL error or a status other than 200, and returns `data`. */
  data(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<any>;
}

/**
 * Registers hooks in the calling scope: `beforeAll` starts a server on the database of
 * `useFreshDatabase()` (call that first), `afterAll` stops it before the database is audited and closed.
 */
export function useTestServer(database: DatabaseHandle, options: TestServerOptions = {}): TestServer {
  let app: App | undefined;
  const logLines: string[] = [];
  beforeAll(async () => {
    app = await startTestServer(database.connection, logLines, options);
  });
  afterAll(async () => {
    await app?.close();
    app = undefined;
  });
  const running = (): App => {
    if (!app) throw new Error("the test server runs only between beforeAll and afterAll");
    return app;
  };
  return {
    get app() {
      return running();
    },
    get url() {
      return running().url;
    },
    logLines,
    gql: (query, variables, options) => postGraphQL(running().url, query, variables, options),
    async data(query, variables, options) {
      const response = await postGraphQL(running().url, query, variables, options);
      expect(response.body.errors, response.text).toBeUndefined();
      expect(response.status).toBe(200);
      return response.body.data;
    },
  };
}

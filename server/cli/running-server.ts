/**
 * The running server as the command-line tools' way in, when it holds the embedded database
 * (issue 12, item 8). PGlite allows one process per directory (drizzle/db.ts `lockPgliteDir`), so
 * while `npm start` runs, `npm run keys` and `npm run audit` cannot open it; they send GraphQL to
 * that server instead, with an ADMIN key: BACKORDER_API_KEY, else the development ADMIN key the
 * first start wrote next to the directory (server/cli/dev-keys.ts).
 *
 * The lock file holds only the holder's pid, so the server is looked for at BACKORDER_URL (as
 * for `npm run watch`; a ws:// URL is asked over http://), else where it listens by default: HOST
 * and PORT, read as the server reads them (server/config.ts). A wildcard HOST (0.0.0.0, ::) is
 * reached on the loopback address.
 */
import type { PgliteDirectoryLockedError } from "../../drizzle/db.js";
import { loadConfig } from "../config.js";
import { devKeysFile, readDevKeys } from "./dev-keys.js";

/** How long one request to the server may take (the audit reads the whole database). */
const REQUEST_DEADLINE_MS = 120_000;

/**
 * The tool can reach the database neither directly nor through the server. Its message is the one
 * line to print: what is in the way and what to do.
 */
export class RunningServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunningServerUnavailableError";
  }
}

/** A GraphQL operation the server answered with errors (not a refused key: see RunningServerUnavailableError). */
export class RunningServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunningServerError";
  }
}

/** A connection to the running server: its URL and a typed GraphQL request with the ADMIN key. */
export interface RunningServer {
  /** http://HOST:PORT/graphql */
  url: string;
  /** The pid holding the embedded database (from its lock file). */
  pid: number;
  /** Where the key came from, for messages: "BACKORDER_API_KEY" or the dev-keys.json path. */
  keySource: string;
  /**
   * Sends one operation and returns its `data`. Throws RunningServerUnavailableError when the
   * server cannot be reached or refuses the key, RunningServerError for any other GraphQL error.
   */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** The server's GraphQL URL: BACKORDER_URL, else from HOST and PORT (defaults 127.0.0.1:4000, as the server's). */
export function runningServerUrl(env: NodeJS.ProcessEnv): string {
  const url = env.BACKORDER_URL?.trim();
  if (url) return url.replace(/^ws(s?):/i, "http$1:");
  const { host, port } = loadConfig(env);
  const reachable = host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  return `http://${reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable}:${port}/graphql`;
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * The server that holds the embedded database `locked` names, with the ADMIN key to use on it.
 * `tool` names the command in messages ("keys", "audit"). Throws RunningServerUnavailableError,
 * with what to do, when no key is available or no server answers at HOST:PORT.
 */
export async function reachRunningServer(locked: PgliteDirectoryLockedError, env: NodeJS.ProcessEnv, tool: string): Promise<RunningServer> {
  const url = runningServerUrl(env);
  const inUse = `${tool}: the embedded database in ${locked.dir} is in use by process ${locked.pid}`;
  const fromEnv = env.BACKORDER_API_KEY?.trim();
  const file = devKeysFile(locked.dir);
  const key = fromEnv || readDevKeys(file)?.admin.secret;
  if (!key) {
    throw new RunningServerUnavailableError(
      `${inUse}, and there is no API key to ask the server through its API (no BACKORDER_API_KEY, no ${file ?? "dev-keys.json"}): ` +
        `set BACKORDER_API_KEY to an ADMIN key, or stop the server.`,
    );
  }
  const keySource = fromEnv ? "BACKORDER_API_KEY" : file!;
  const unreachable = () =>
    new RunningServerUnavailableError(
      `${inUse}, and no server answers at ${url}: set HOST and PORT (or BACKORDER_URL) to where the server listens, or stop process ${locked.pid}. ` +
        `If no such process runs, delete ${locked.lockFile}.`,
    );

  const request = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
      });
    } catch {
      throw unreachable();
    }
    let answer: GraphQLAnswer<T>;
    try {
      answer = (await response.json()) as GraphQLAnswer<T>;
    } catch {
      throw new RunningServerUnavailableError(
        `${inUse}, and what answers at ${url} is not its GraphQL API (HTTP ${response.status}): check HOST and PORT (or BACKORDER_URL), or stop the server.`,
      );
    }
    const code = answer.errors?.[0]?.extensions?.code;
    if (code === "UNAUTHENTICATED" || code === "FORBIDDEN") {
      throw new RunningServerUnavailableError(
        `${inUse}, and the server at ${url} refused the API key from ${keySource} (${code}): set BACKORDER_API_KEY to an ADMIN key, or stop the server.`,
      );
    }
    if (answer.errors?.length || !answer.data) {
      throw new RunningServerError(
        `${tool}: the server at ${url} answered: ${answer.errors?.map((error) => error.message).join("; ") ?? `HTTP ${response.status}`}`,
      );
    }
    return answer.data;
  };

  // One cheap question first, so that an unreachable server or a refused key is said before any work.
  await request<{ __typename: string }>("{ __typename }");
  return { url, pid: locked.pid, keySource, request };
}

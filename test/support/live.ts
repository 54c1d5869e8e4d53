/** Live-update helpers for tests: a real graphql-ws client that collects what a subscription delivers. */
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { TEST_ADMIN_KEY } from "./http.js";

/** Polls `condition` until it holds or `ms` pass; throws with `what` on time-out. Never a fixed sleep. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The ws:// URL of a server's http:// GraphQL URL. */
export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

export interface Collected {
  events: any[];
  errors: unknown[];
  /** Resolves when the subscription ends (completed or failed). */
  ended: Promise<void>;
  /** The close event of the socket, when the server closed it. */
  closed: { code: number; reason: string } | null;
  client: Client;
  dispose(): Promise<void>;
}

export interface CollectOptions {
  /** Sent as `connectionParams.authorization: "Bearer <key>"`; default TEST_ADMIN_KEY (test/support/http.ts), null: no params. */
  key?: string | null;
}

/**
 * Opens a connection of its own (no retries) and collects one subscription's data and errors.
 * Rejects, with the close code and reason, when the server refuses the connection.
 */
export async function collect(httpUrl: string, query: string, variables: Record<string, unknown> = {}, options: CollectOptions = {}): Promise<Collected> {
  let connected!: () => void;
  let refused!: (error: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    connected = resolve;
    refused = reject;
  });
  const result: Omit<Collected, "ended" | "dispose"> = { events: [], errors: [], closed: null, client: undefined as unknown as Client };
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: options.key === null ? undefined : { authorization: `Bearer ${options.key ?? TEST_ADMIN_KEY}` },
    // The close is asserted through `closed`; graphql-ws would also print it.
    onNonLazyError: () => {},
    on: {
      connected: () => connected(),
      closed: (event) => {
        const close = event as { code?: number; reason?: string };
        if (close.code !== undefined && close.code !== 1000) result.closed = { code: close.code, reason: String(close.reason ?? "") };
        // Before `connected`: the connection was refused (after it, this does nothing).
        refused(Object.assign(new Error(`connection closed: ${close.code} ${close.reason ?? ""}`), { close: result.closed }));
      },
    },
  });
  result.client = client;
  await opened;
  const ended = new Promise<void>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) result.errors.push(...value.errors);
          const data = value.data ? Object.values(value.data)[0] : undefined;
          if (data) result.events.push(data);
        },
        error: (error) => {
          result.errors.push(error);
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  return Object.assign(result, { ended, dispose: () => Promise.resolve(client.dispose()) }) as Collected;
}

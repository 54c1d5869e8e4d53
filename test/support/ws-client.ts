/**
 * A graphql-ws client of its own per connection, for tests that count what one connection may do
 * (caps, budgets, closes): how the server closed it, and operations run to their end.
 */
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

/** An error as graphql-ws hands it over (a connection that closed is CONNECTION_CLOSED). */
export interface ErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

/** A connection, and how the server closed it (null until it does; not set for a close of ours). */
export interface Connection {
  client: Client;
  closed: { code: number; reason: string } | null;
}

/** Opens a connection to the WebSocket `url` with `key`; rejects, with the close, when the server refuses it. */
export async function connectWith(url: string, key: string): Promise<Connection> {
  const connection: Connection = { client: undefined as unknown as Client, closed: null };
  await new Promise<void>((resolve, reject) => {
    connection.client = createClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${key}` },
      onNonLazyError: () => {},
      on: {
        connected: () => resolve(),
        closed: (event) => {
          const close = event as { code?: number; reason?: string };
          if (close.code !== undefined && close.code !== 1000) connection.closed = { code: close.code, reason: String(close.reason ?? "") };
          reject(Object.assign(new Error(`closed: ${close.code} ${close.reason ?? ""}`), { close: connection.closed }));
        },
      },
    });
  });
  return connection;
}

/** What one operation delivered before it ended. */
export interface Run {
  data: Record<string, unknown>[];
  errors: ErrorBody[];
  extensions: (Record<string, unknown> | undefined)[];
}

/** Runs one operation on `client` to its end (complete or error). */
export function runOperation(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const result: Run = { data: [], errors: [], extensions: [] };
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.data) result.data.push(value.data as Record<string, unknown>);
          if (value.errors) result.errors.push(...(value.errors as ErrorBody[]));
          result.extensions.push(value.extensions as Record<string, unknown> | undefined);
        },
        error: (error) => {
          result.errors.push(...(Array.isArray(error) ? (error as ErrorBody[]) : [{ message: String(error), extensions: { code: "CONNECTION_CLOSED" } }]));
          resolve(result);
        },
        complete: () => resolve(result),
      },
    );
  });
}

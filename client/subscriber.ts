/**
 * The typed subscriber: live stock, backlog, restock and order changes over graphql-ws
 * (protocol graphql-transport-ws), each delivered to its user once and in order, across
 * disconnects, server restarts and "too slow" closes.
 *
 * How it resumes: every subscription remembers the cursor of the last event it handed to its
 * callback. Whenever it is (re)subscribed — by graphql-ws after a reconnect, or by this module
 * after a server-side failure — the subscribe message carries `after` set to that cursor, so the
 * server replays exactly what the user has not seen and then goes on live. A subscription given
 * no `after` first reads `Query.eventCursor` and starts from there, so even a reconnect before
 * its first event loses nothing. The one thing it cannot resume from is a cursor older than the
 * server's event retention: it then stops with a {@link CursorExpiredError}.
 *
 * Runs in a browser (the global WebSocket) and in Node (pass `ws` as `webSocketImpl`, or use
 * client/node.ts): nothing here imports a Node module or the `graphql` package.
 */
import type { DocumentTypeDecoration } from "@graphql-typed-document-node/core";
import { type Client, createClient } from "graphql-ws/client";
import {
  BacklogChangedDocument,
  type BacklogChangedSubscription,
  type BacklogChangedSubscriptionVariables,
  EventCursorDocument,
  OrderChangedDocument,
  type OrderChangedSubscription,
  type OrderChangedSubscriptionVariables,
  RestockChangedDocument,
  type RestockChangedSubscription,
  type RestockChangedSubscriptionVariables,
  StockChangedDocument,
  type StockChangedSubscription,
  type StockChangedSubscriptionVariables,
} from "./generated/graphql.js";

/** One stock change as `stockChanged` delivers it. */
export type StockChange = StockChangedSubscription["stockChanged"];
/** One backlog change as `backlogChanged` delivers it. */
export type BacklogChange = BacklogChangedSubscription["backlogChanged"];
/** One restock change as `restockChanged` delivers it. */
export type RestockChange = RestockChangedSubscription["restockChanged"];
/** One order change as `orderChanged` delivers it. */
export type OrderChange = OrderChangedSubscription["orderChanged"];

/** A generated operation: its text, typed with its result and variables. */
export type Operation<TResult, TVariables> = DocumentTypeDecoration<TResult, TVariables> & { toString(): string };

/** Where the WebSocket stands, for a UI to show. */
export type ConnectionStatus = "connecting" | "connected" | "disconnected";

/** How the last socket closed (with a `disconnected` status), e.g. 4413 for a subscriber too slow. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A GraphQL error as the server sends it. */
export interface ServerError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface RetryOptions {
  /** The first wait after a failure, in ms. Default 500. */
  minMs?: number;
  /** The longest wait, in ms. Default 30 000. */
  maxMs?: number;
}

export interface SubscriberOptions {
  /** The server's WebSocket URL, e.g. ws://127.0.0.1:4000/graphql. */
  url: string;
  /** Sent as `connectionParams.authorization` (e.g. "Bearer <key>"). */
  authorization?: string;
  /** A WebSocket class; default the global one (browsers). In Node pass `ws`'s default export. */
  webSocketImpl?: unknown;
  /** Reconnect and resubscribe waits: exponential from minMs to maxMs, with jitter. */
  retry?: RetryOptions;
  /** How often to ping the server; 0 turns it off. Default 10 000. */
  keepAliveMs?: number;
  /** How long a connection acknowledgement or a pong may take before the socket counts as dead. Default 10 000. */
  timeoutMs?: number;
  /** Called on every status change; `close` says why a socket closed. Must not throw. */
  onStatus?: (status: ConnectionStatus, close?: CloseInfo) => void;
  /** Called when a subscription fails (see {@link SubscriptionError}) or a callback throws. Must not throw. */
  onError?: (error: SubscriptionError) => void;
}

/**
 * A subscription that failed. `retrying` true: it resubscribes by itself from its last cursor
 * (a server-side error, the server ending it, or your callback throwing, which does not stop
 * it). false: it has stopped for good — the server refused its arguments (a malformed or
 * foreign cursor, an unknown id: `errors[].extensions.code` BAD_USER_INPUT), or the credentials
 * (UNAUTHENTICATED, FORBIDDEN, close codes 4401 and 4403), or its cursor expired
 * ({@link CursorExpiredError}).
 */
export class SubscriptionError extends Error {
  constructor(
    message: string,
    /** The operation's name, e.g. "StockChanged". */
    readonly operation: string,
    readonly retrying: boolean,
    readonly errors: readonly ServerError[] = [],
    readonly close?: CloseInfo,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SubscriptionError";
  }
}

/**
 * A subscription that stopped because the server pruned the events after its cursor
 * (`errors[].extensions.code` CURSOR_EXPIRED): what happened since `cursor` cannot be replayed.
 * Reload what you show (a snapshot), read `Query.eventCursor` first, and subscribe again with
 * `after` set to it. Never retrying.
 */
export class CursorExpiredError extends SubscriptionError {
  readonly code = "CURSOR_EXPIRED";

  constructor(
    operation: string,
    /** The cursor it could not resume after. */
    readonly cursor: string,
    errors: readonly ServerError[],
    options?: { cause?: unknown },
  ) {
    super(`${describe(errors)} (cursor ${cursor})`, operation, false, errors, undefined, options);
    this.name = "CursorExpiredError";
  }
}

/** One running subscription. */
export interface LiveSubscription {
  /**
   * The cursor of the last event delivered (or the one it started after; null until known).
   * Store it and pass it as `after` later to carry on where this left off.
   */
  readonly cursor: string | null;
  /**
   * Resolves with the cursor the subscription starts after, once known: every event after that
   * point will be delivered. Rejects when it stops before (a fatal error, unsubscribe, dispose).
   */
  readonly started: Promise<string>;
  /** False once unsubscribed, disposed or failed for good. */
  readonly active: boolean;
  /** Stops it: no event is delivered after this returns. */
  unsubscribe(): void;
}

export interface Subscriber {
  /** A product's stock after each change (all products, or `productIds`). */
  stockChanged(variables: StockChangedSubscriptionVariables, onEvent: (event: StockChange) => void): LiveSubscription;
  /** A product's backlog after each change: units and orders waiting, the first one's expected date. */
  backlogChanged(variables: BacklogChangedSubscriptionVariables, onEvent: (event: BacklogChange) => void): LiveSubscription;
  /** Restocks scheduled, moved, received or cancelled, with the backordered units a receipt filled. */
  restockChanged(variables: RestockChangedSubscriptionVariables, onEvent: (event: RestockChange) => void): LiveSubscription;
  /** Orders placed, filled, delayed, shipped or cancelled (all, `orderIds`, or one `customer`'s). */
  orderChanged(variables: OrderChangedSubscriptionVariables, onEvent: (event: OrderChange) => void): LiveSubscription;
  /**
   * Any generated subscription whose one root field carries a `cursor` (your own selection of
   * fields), with the same resume guarantees.
   */
  subscribe<TResult extends Record<string, { cursor: string }>, TVariables extends { after?: string | null }>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    onEvent: (event: TResult[keyof TResult]) => void,
  ): LiveSubscription;
  /**
   * Runs a generated query over the same connection (waiting for it while the server is away).
   * Rejects with a {@link SubscriptionError} when the server answers with errors.
   */
  query<TResult, TVariables>(operation: Operation<TResult, TVariables>, variables: TVariables): Promise<TResult>;
  /** The current connection status. */
  readonly status: ConnectionStatus;
  /** Ends every subscription and closes the connection. Idempotent. */
  dispose(): Promise<void>;
}

/** Error codes that retrying cannot fix: the subscription stops. */
const FINAL_ERROR_CODES = new Set(["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "CURSOR_EXPIRED"]);
/** Close codes that retrying cannot fix: unauthorized and forbidden. */
const FINAL_CLOSE_CODES = new Set([4401, 4403]);

/**
 * The wait before retry number `attempt` (0 for the first): a random time between minMs and
 * min(maxMs, minMs·2^attempt), so clients dropped together do not all come back together.
 */
export function retryDelay(attempt: number, retry: Required<RetryOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(attempt, 30));
  return retry.minMs + random() * Math.max(0, ceiling - retry.minMs);
}

function closeInfo(value: unknown): CloseInfo | undefined {
  if (typeof value !== "object" || value === null || !("code" in value)) return undefined;
  const { code, reason } = value as { code: unknown; reason?: unknown };
  return typeof code === "number" ? { code, reason: typeof reason === "string" ? reason : "" } : undefined;
}

function serverErrors(value: unknown): ServerError[] {
  return Array.isArray(value) ? (value as ServerError[]) : [];
}

/** Whether a failure means the subscription can never succeed as asked. */
function isFinal(failure: unknown): boolean {
  const close = closeInfo(failure);
  if (close) return FINAL_CLOSE_CODES.has(close.code);
  return serverErrors(failure).some((error) => FINAL_ERROR_CODES.has(String(error.extensions?.code ?? "")));
}

function hasCode(failure: unknown, code: string): boolean {
  return serverErrors(failure).some((error) => error.extensions?.code === code);
}

function describe(failure: unknown): string {
  const close = closeInfo(failure);
  if (close) return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ""})`;
  const errors = serverErrors(failure);
  if (errors.length > 0) return errors.map((error) => error.message).join("; ");
  return failure instanceof Error ? failure.message : String(failure);
}

function operationName(text: string): string {
  return /^\s*(?:subscription|query)\s+(\w+)/.exec(text)?.[1] ?? "anonymous";
}

/** The payload graphql-ws sends; `after` in it is rewritten on every send (see the replacer). */
interface SubscribePayload {
  operationName: string;
  query: string;
  variables: Record<string, unknown>;
}

/**
 * Creates a subscriber. Nothing connects until the first subscription or query; the socket
 * closes when the last one ends. Throws only when no WebSocket implementation is available.
 */
export function createSubscriber(options: SubscriberOptions): Subscriber {
  const retry: Required<RetryOptions> = { minMs: options.retry?.minMs ?? 500, maxMs: options.retry?.maxMs ?? 30_000 };
  const keepAliveMs = options.keepAliveMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let status: ConnectionStatus = "disconnected";
  let disposed = false;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** Pending waits, cut short by dispose. */
  const waits = new Set<() => void>();
  /** What stops each running subscription and query. */
  const running = new Set<() => void>();
  /** The current cursor of each subscription payload, read every time the payload is sent. */
  const cursors = new WeakMap<object, () => string | null>();

  const setStatus = (next: ConnectionStatus, close?: CloseInfo) => {
    if (next === status) return;
    status = next;
    options.onStatus?.(next, close);
  };
  const report = (error: SubscriptionError) => options.onError?.(error);

  /** Resolves after `ms`, or at once when the subscriber is disposed. */
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waits.add(done);
    });

  const client: Client = createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl,
    connectionParams: options.authorization ? { authorization: options.authorization } : undefined,
    lazy: true,
    // Keeps the socket between a subscription's cursor query and its subscribe, and across resubscribes.
    lazyCloseTimeout: 1000,
    keepAlive: keepAliveMs,
    connectionAckWaitTimeout: timeoutMs,
    // Forever, until disposed: a refused connection (server down) counts as retryable too.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (failure) => !disposed && !isFinal(failure),
    retryWait: (retries) => wait(retryDelay(retries, retry)),
    // graphql-ws sends the same subscribe payload again after every reconnect; this makes that
    // copy (and the first) carry the cursor of the last event delivered, so nothing repeats.
    jsonMessageReplacer(key, value) {
      if (key !== "" || typeof value !== "object" || value === null || value.type !== "subscribe") return value;
      const cursor = cursors.get(value.payload);
      if (!cursor) return value;
      return { ...value, payload: { ...value.payload, variables: { ...value.payload.variables, after: cursor() } } };
    },
    on: {
      connecting: () => setStatus("connecting"),
      connected: () => setStatus("connected"),
      closed: (event) => {
        clearTimeout(pongTimer);
        setStatus("disconnected", closeInfo(event));
      },
      // A connection that stops answering pings is dead even if TCP has not noticed: drop it.
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => client.terminate(), timeoutMs);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  function query<TResult, TVariables>(operation: Operation<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const text = String(operation);
    const name = operationName(text);
    if (disposed) return Promise.reject(new SubscriptionError("the subscriber is disposed", name, false));
    return new Promise<TResult>((resolve, reject) => {
      let result: { data?: unknown; errors?: readonly ServerError[] } | undefined;
      const stop = () => {
        running.delete(stop);
        release();
        reject(new SubscriptionError("the subscriber is disposed", name, false));
      };
      const release = client.subscribe(
        { operationName: name, query: text, variables: variables as Record<string, unknown> },
        {
          next: (value) => void (result = value as typeof result),
          error: (failure) => {
            running.delete(stop);
            reject(new SubscriptionError(describe(failure), name, false, serverErrors(failure), closeInfo(failure), { cause: failure }));
          },
          complete: () => {
            running.delete(stop);
            if (result?.errors?.length || result?.data == null) {
              reject(new SubscriptionError(describe(result?.errors ?? "no data"), name, false, result?.errors ?? []));
            } else resolve(result.data as TResult);
          },
        },
      );
      running.add(stop);
    });
  }

  function subscribe<TResult extends Record<string, { cursor: string }>, TVariables extends { after?: string | null }>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    onEvent: (event: TResult[keyof TResult]) => void,
  ): LiveSubscription {
    const text = String(operation);
    const name = operationName(text);
    let cursor: string | null = variables.after ?? null;
    let active = !disposed;
    let attempt = 0;
    /** Ends the current server-side subscription, if any. */
    let release: (() => void) | null = null;
    let resolveStarted!: (cursor: string) => void;
    let rejectStarted!: (error: Error) => void;
    const started = new Promise<string>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    // Nobody has to await it.
    started.catch(() => {});

    const stop = (error?: SubscriptionError) => {
      if (!active) return;
      active = false;
      running.delete(stop);
      release?.();
      release = null;
      rejectStarted(error ?? new SubscriptionError("unsubscribed before it started", name, false));
      if (error) report(error);
    };

    /** After a failure: resubscribe from the last cursor after a backoff, or stop for good. */
    const retryOrStop = (failure: unknown) => {
      release?.();
      release = null;
      if (!active) return;
      if (cursor !== null && hasCode(failure, "CURSOR_EXPIRED")) {
        return stop(new CursorExpiredError(name, cursor, serverErrors(failure), { cause: failure }));
      }
      const error = new SubscriptionError(describe(failure), name, !isFinal(failure), serverErrors(failure), closeInfo(failure), {
        cause: failure,
      });
      if (!error.retrying) return stop(error);
      report(error);
      void wait(retryDelay(attempt++, retry)).then(start);
    };

    const start = () => {
      if (!active) return;
      if (cursor === null) {
        // Where the log ends now: start after it, so a reconnect before the first event loses nothing.
        query(EventCursorDocument, {}).then(
          (data) => {
            if (!active) return;
            cursor = data.eventCursor;
            start();
          },
          (failure: SubscriptionError) => retryOrStop(failure.errors.length > 0 ? failure.errors : (failure.close ?? failure)),
        );
        return;
      }
      resolveStarted(cursor);
      const payload: SubscribePayload = { operationName: name, query: text, variables: { ...variables, after: cursor } };
      cursors.set(payload, () => cursor);
      let current = true;
      const unsubscribe = client.subscribe(payload, {
        next: (result) => {
          if (!active || !current) return;
          const event = result.data ? (Object.values(result.data)[0] as TResult[keyof TResult] | null) : null;
          if (result.errors?.length || !event) {
            // The server could not produce this event: subscribe again from the last one delivered.
            current = false;
            return retryOrStop(result.errors?.length ? result.errors : new Error("an event without data"));
          }
          cursor = event.cursor;
          attempt = 0;
          try {
            onEvent(event);
          } catch (error) {
            report(new SubscriptionError(`the event callback threw: ${describe(error)}`, name, true, [], undefined, { cause: error }));
          }
        },
        error: (failure) => {
          if (!current) return;
          current = false;
          retryOrStop(failure);
        },
        complete: () => {
          if (!current) return;
          current = false;
          // The server ended a subscription that never ends by itself (it was shutting down).
          retryOrStop(new Error("the server ended the subscription"));
        },
      });
      release = () => {
        current = false;
        unsubscribe();
      };
    };

    if (active) {
      running.add(stop);
      start();
    } else {
      rejectStarted(new SubscriptionError("the subscriber is disposed", name, false));
    }
    return {
      get cursor() {
        return cursor;
      },
      get active() {
        return active;
      },
      started,
      unsubscribe: () => stop(),
    };
  }

  return {
    stockChanged: (variables, onEvent) => subscribe(StockChangedDocument, variables, onEvent),
    backlogChanged: (variables, onEvent) => subscribe(BacklogChangedDocument, variables, onEvent),
    restockChanged: (variables, onEvent) => subscribe(RestockChangedDocument, variables, onEvent),
    orderChanged: (variables, onEvent) => subscribe(OrderChangedDocument, variables, onEvent),
    subscribe,
    query,
    get status() {
      return status;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const stop of [...running]) stop();
      for (const done of [...waits]) done();
      clearTimeout(pongTimer);
      try {
        await client.dispose();
      } catch {
        // A connection attempt that was under way failed: there is nothing left to close.
      }
      setStatus("disconnected");
    },
  };
}

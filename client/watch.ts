/**
 * `npm run watch -- [--sku SKU ...] [--orders] [--customer C] [--refunds] [--webhooks] [--url URL] [--json] [--after CURSOR]`
 *
 * Prints live stock, backlog and restock changes (and order changes with --orders or
 * --customer), one line each, to stdout; connection status and errors go to stderr. With
 * --refunds it also prints the refunds due (per currency) at start and whenever they change:
 * read again after each cancellation or expiry it sees, and every 30 s (a refund paid writes
 * no event), printed only when the figures differ from the last printed. With --webhooks it
 * prints webhook delivery health (endpoints, pending, dead letters, the failing endpoints) the
 * same way, read every 10 s: deliveries are not in the event log. It keeps
 * going across disconnects and server restarts, resuming after the last change it printed, so
 * no change is skipped or printed twice. When the server no longer has the changes since then
 * (CURSOR_EXPIRED: older than its event retention) it says so in one line and goes on from now.
 * Exits 0 on SIGINT or SIGTERM.
 *
 * With no options it finds the server `npm start` runs from the same checkout and environment: the
 * URL from HOST and PORT, the key from BACKORDER_API_KEY, else the development READER key the first
 * start wrote. A server it cannot reach is said once, then retried with backoff in silence.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { figuresLine, jsonLine, readableLine, type WatchedChange, type WatchedFigures } from "./change-lines.js";
import { EventCursorDocument, ProductsBySkuDocument, WatchRefundsDueDocument, WatchWebhookHealthDocument } from "./generated/graphql.js";
import { type CloseInfo, type ConnectionStatus, createSubscriber, CursorExpiredError, type LiveSubscription, type SubscriptionError } from "./node.js";

const USAGE = `Usage: npm run watch -- [options]

Prints live stock, backlog and restock changes, one line each.

  --sku SKU        only this product (repeat for several; default: every product)
  --orders         order changes too (every order)
  --customer C     order changes of this customer only
  --refunds        the refunds due too: at start, then whenever they change
  --webhooks       webhook delivery health too (failing endpoints, dead letters): at start, then whenever it changes
  --json           one JSON object per line instead of readable text
  --after CURSOR   start after this event cursor (replays what followed it); default: now
  --url URL        default $BACKORDER_URL, else ws://$HOST:$PORT/graphql (the server's defaults: 127.0.0.1, 4000)

The API key (a READER key is enough) is $BACKORDER_API_KEY, else the development READER key that
the first \`npm start\` on the embedded database wrote to .data/dev-keys.json (beside $PGLITE_DIR),
used only for a server on this machine.
`;

interface WatchOptions {
  skus: string[];
  orders: boolean;
  customer?: string;
  refunds: boolean;
  webhooks: boolean;
  json: boolean;
  after?: string;
  url: string;
  authorization: string;
  /** Where the key came from, for messages: "BACKORDER_API_KEY" or the dev-keys.json path. */
  keySource: string;
}

/**
 * The server's WebSocket URL when neither --url nor BACKORDER_URL is given: HOST and PORT with the
 * server's defaults (server/config.ts; client/ does not import server/, so the rule is mirrored
 * here). A wildcard HOST (0.0.0.0, ::) is reached on the loopback address.
 */
function defaultUrl(env: NodeJS.ProcessEnv): string {
  const host = env.HOST?.trim() || "127.0.0.1";
  const port = env.PORT?.trim() || "4000";
  const reachable = host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  return `ws://${reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable}:${port}/graphql`;
}

/**
 * Where the first `npm start` on the embedded database keeps the development keys, as
 * server/cli/dev-keys.ts `devKeysFile` says: `dev-keys.json` in the parent of PGLITE_DIR
 * (`./.data/pglite` by default, relative to the working directory, which `npm run` sets to the
 * package root). None on PostgreSQL (DATABASE_URL) or an in-memory database: no keys are made there.
 */
function devKeysFile(env: NodeJS.ProcessEnv): string | null {
  if (env.DATABASE_URL?.trim()) return null;
  const dir = env.PGLITE_DIR?.trim() || "./.data/pglite";
  if (dir.startsWith("memory://")) return null;
  return path.join(path.dirname(path.resolve(dir)), "dev-keys.json");
}

/** The READER secret in a dev-keys.json, or undefined when there is no readable one. */
function readReaderKey(file: string): string | undefined {
  try {
    const keys = JSON.parse(readFileSync(file, "utf8")) as { reader?: { secret?: unknown } };
    return typeof keys.reader?.secret === "string" ? keys.reader.secret : undefined;
  } catch {
    return undefined;
  }
}

/** `file` relative to the working directory when it is inside it (.data/dev-keys.json), else as is. */
function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/** Whether `url` names this machine: the only place a development key is sent. */
function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * Reads the command line and the environment, or says to exit with `exit` after `message` and,
 * unless `usage` is false, the usage.
 */
function readOptions(argv: string[], env: NodeJS.ProcessEnv): WatchOptions | { exit: number; message?: string; usage?: false } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        sku: { type: "string", multiple: true },
        orders: { type: "boolean" },
        customer: { type: "string" },
        refunds: { type: "boolean" },
        webhooks: { type: "boolean" },
        json: { type: "boolean" },
        after: { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return { exit: 2, message: (error as Error).message };
  }
  const { values } = parsed;
  if (values.help) return { exit: 0 };
  const url = values.url ?? (env.BACKORDER_URL?.trim() || defaultUrl(env));
  const file = devKeysFile(env);
  let key = env.BACKORDER_API_KEY?.trim();
  let keySource = "BACKORDER_API_KEY";
  if (!key && file && isLoopback(url)) {
    key = readReaderKey(file);
    keySource = file;
  }
  if (!key) {
    return {
      exit: 2,
      usage: false,
      message:
        `no API key: set BACKORDER_API_KEY to a READER key (\`npm run keys -- create --role READER --name watch\`)` +
        (file && isLoopback(url) ? `; ${shortPath(file)} has none (the first \`npm start\` on the embedded database writes it)` : ""),
    };
  }
  return {
    skus: [...new Set(values.sku ?? [])],
    orders: Boolean(values.orders || values.customer),
    customer: values.customer,
    refunds: Boolean(values.refunds),
    webhooks: Boolean(values.webhooks),
    json: Boolean(values.json),
    after: values.after,
    url,
    authorization: `Bearer ${key}`,
    keySource,
  };
}

/** What to add to a failure's message: for a refused key (4401, 4403), where the key came from. */
function keyHint(close: CloseInfo | undefined, keySource: string): string {
  if (close?.code !== 4401 && close?.code !== 4403) return "";
  return `: the server refused the API key from ${keySource}; set BACKORDER_API_KEY to a valid READER key`;
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);
const now = () => new Date().toISOString();
/** Set once a signal or a final error asked to exit: what fails after that is part of stopping. */
let stopping = false;
/** Where the key came from, once the options are read (for a failure's message). */
let keySource = "BACKORDER_API_KEY";

/** The longest wait between two attempts to reach the server. */
const RETRY_MAX_MS = 10_000;

/** After an event that may change a figure, the quiet time before reading it (a burst costs one read)… */
const FIGURES_QUIET_MS = 500;
/** …and the longest a read waits while events keep coming. */
const FIGURES_MAX_WAIT_MS = 5_000;
/** How often the refunds due are read without an event: markRefunded writes none. */
const REFUNDS_POLL_MS = 30_000;
/** How often webhook health is read: deliveries write no event. */
const WEBHOOKS_POLL_MS = 10_000;

/** A figure `watch` follows: `soon()` after an event that may change it; `stop()` ends its reads. */
interface FollowedFigure {
  soon(): void;
  stop(): void;
}

/**
 * Reads a figure now, `FIGURES_QUIET_MS` after events that may change it (at most
 * `FIGURES_MAX_WAIT_MS` after the first), and every `pollMs`; one read at a time. `print` is called
 * with a read whose answer differs from the last one printed, so a poll that finds nothing new prints nothing.
 */
function followFigure<T>(name: string, read: () => Promise<T>, print: (value: T) => void, pollMs: number): FollowedFigure {
  let printed: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstEvent: number | null = null;
  let running = false;
  let again = false;
  let failed = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    firstEvent = null;
    try {
      const value = await read();
      failed = false;
      const text = JSON.stringify(value);
      if (text !== printed && !stopping) {
        printed = text;
        print(value);
      }
    } catch (error) {
      // Said once until a read succeeds again: the connection's own status lines say the rest.
      if (!failed && !stopping) stderr(`${now()} ${name}: ${error instanceof Error ? error.message : String(error)}`);
      failed = true;
    } finally {
      running = false;
      if (again) {
        again = false;
        soon();
      }
    }
  };
  const soon = () => {
    const at = Date.now();
    firstEvent ??= at;
    clearTimeout(timer);
    timer = setTimeout(() => void run(), Math.max(0, Math.min(FIGURES_QUIET_MS, firstEvent + FIGURES_MAX_WAIT_MS - at)));
  };
  const poll = setInterval(() => void run(), pollMs);
  void run();
  return {
    soon,
    stop() {
      clearTimeout(timer);
      clearInterval(poll);
    },
  };
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  if ("exit" in options) {
    if (options.message) stderr(options.message);
    if (options.usage !== false) (options.exit === 0 ? process.stdout : process.stderr).write(USAGE);
    process.exit(options.exit);
  }
  keySource = options.keySource;
  if (keySource !== "BACKORDER_API_KEY") stderr(`${now()} using the development READER key from ${shortPath(keySource)} (BACKORDER_API_KEY is not set)`);

  /** The last status seen, and whether "cannot reach" was said since the last connection. */
  let last: ConnectionStatus = "disconnected";
  let unreachable = false;
  /** The figures followed (--refunds, --webhooks), once the subscriber is up. */
  const followed: FollowedFigure[] = [];
  const subscriber = createSubscriber({
    url: options.url,
    authorization: options.authorization,
    retry: { minMs: 250, maxMs: RETRY_MAX_MS },
    onStatus: (status: ConnectionStatus, close?: CloseInfo) => {
      const attemptFailed = last === "connecting" && status === "disconnected" && (close?.code ?? 1006) === 1006;
      last = status;
      if (stopping) return;
      // A server that is down is said once; the attempts that follow (with backoff) are silent
      // until one gets through.
      if (attemptFailed) {
        if (!unreachable)
          stderr(
            `${now()} cannot reach the server at ${options.url} (is it running? \`npm start\`); retrying with backoff, up to ${RETRY_MAX_MS / 1000} s apart`,
          );
        unreachable = true;
        return;
      }
      if (status === "connecting" && unreachable) return;
      unreachable = false;
      const why = close && close.code !== 1000 ? ` (${close.code}${close.reason ? ` ${close.reason}` : ""})` : "";
      stderr(`${now()} ${status} ${options.url}${why}`);
    },
    onError: (error: SubscriptionError) => {
      if (error instanceof CursorExpiredError) return resumeFromNow(error);
      stderr(`${now()} ${error.operation}: ${error.message}${keyHint(error.close, options.keySource)}${error.retrying ? " (retrying)" : ""}`);
      if (!error.retrying) stop(1);
    },
  });

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const figure of followed) figure.stop();
    // A stuck close must not keep the terminal waiting.
    setTimeout(() => process.exit(code), 2000).unref();
    subscriber.dispose().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  // The reader went away (`| head`): nothing left to print to.
  process.stdout.on("error", () => stop(0));

  let productIds: string[] | undefined;
  if (options.skus.length > 0) {
    const { products } = await subscriber.query(ProductsBySkuDocument, { skus: options.skus });
    const found = new Map(products.nodes.map((product) => [product.sku, product.id]));
    const unknown = options.skus.filter((sku) => !found.has(sku));
    if (unknown.length > 0) {
      stderr(`no product with SKU ${unknown.join(", ")}`);
      return stop(2);
    }
    productIds = options.skus.map((sku) => found.get(sku)!);
  }
  // One starting point for every subscription: they all begin at the same moment of the log.
  const after = options.after ?? (await subscriber.query(EventCursorDocument, {})).eventCursor;
  if (stopping) return;

  const print = (watched: WatchedChange) => {
    process.stdout.write(`${options.json ? jsonLine(watched) : readableLine(watched)}\n`);
  };
  const printFigures = (figures: WatchedFigures) => process.stdout.write(`${figuresLine(figures, options.json)}\n`);
  const refunds = options.refunds
    ? followFigure(
        "refundsDue",
        async () => (await subscriber.query(WatchRefundsDueDocument, {})).refundsDue,
        (refundsDue) => printFigures({ type: "refundsDue", at: new Date(), refundsDue }),
        REFUNDS_POLL_MS,
      )
    : undefined;
  // Deliveries are not in the event log: only the poll sees them change.
  const webhooks = options.webhooks
    ? followFigure(
        "webhookHealth",
        async () => (await subscriber.query(WatchWebhookHealthDocument, {})).webhookHealth,
        (webhookHealth) => printFigures({ type: "webhookHealth", at: new Date(), webhookHealth }),
        WEBHOOKS_POLL_MS,
      )
    : undefined;
  for (const figure of [refunds, webhooks]) if (figure) followed.push(figure);
  /** Cancelled or expired units write refunds: the refunds due are read again. */
  const refundsMayChange = (change: { kind: string }) => {
    if (change.kind === "CANCELLED" || change.kind === "EXPIRED") refunds?.soon();
  };
  /** The running subscriptions, all after one cursor. */
  let live: LiveSubscription[] = [];
  const followAll = (from: string) => {
    live = [
      subscriber.stockChanged({ productIds, after: from }, (change) => print({ type: "stockChanged", change })),
      subscriber.backlogChanged({ productIds, after: from }, (change) => print({ type: "backlogChanged", change })),
      subscriber.restockChanged({ productIds, after: from }, (change) => print({ type: "restockChanged", change })),
    ];
    if (options.orders) {
      live.push(
        subscriber.orderChanged({ customer: options.customer, after: from }, (change) => {
          print({ type: "orderChanged", change });
          if (!options.customer) refundsMayChange(change);
        }),
      );
    }
    // Every customer's cancellations, unprinted, when the printed ones are not all of them.
    if (refunds && (!options.orders || options.customer)) live.push(subscriber.orderChanged({ after: from }, refundsMayChange));
  };
  let restarting = false;
  /**
   * The server no longer has the changes after a subscription's cursor (the others' soon expire
   * too): one line says so, and every subscription starts again from where the log ends now.
   */
  const resumeFromNow = (error: CursorExpiredError) => {
    if (restarting) return;
    restarting = true;
    for (const subscription of live) subscription.unsubscribe();
    subscriber.query(EventCursorDocument, {}).then(
      ({ eventCursor }) => {
        if (stopping) return;
        stderr(
          `${now()} cursor expired: the server no longer keeps the changes after ${error.cursor} (older than its event retention), ` +
            `so some were not printed; continuing from now (${eventCursor})`,
        );
        followAll(eventCursor);
        restarting = false;
      },
      (failure: unknown) => {
        if (stopping) return;
        stderr(`${now()} cannot read the current event cursor: ${failure instanceof Error ? failure.message : String(failure)}`);
        stop(1);
      },
    );
  };
  followAll(after);
  const what = options.skus.length > 0 ? options.skus.join(", ") : "every product";
  stderr(`${now()} watching ${what}${options.orders ? ` and ${options.customer ? `${options.customer}'s orders` : "orders"}` : ""} after ${after}`);
}

main().catch((error: unknown) => {
  if (stopping) return;
  const close = (error as { close?: CloseInfo } | null)?.close;
  stderr(`watch failed: ${error instanceof Error ? error.message : String(error)}${keyHint(close, keySource)}`);
  process.exit(1);
});

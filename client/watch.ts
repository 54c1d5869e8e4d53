/**
 * `npm run watch -- [--sku SKU ...] [--orders] [--customer C] [--url URL] [--json] [--after CURSOR]`
 *
 * Prints live stock, backlog and restock changes (and order changes with --orders or
 * --customer), one line each, to stdout; connection status and errors go to stderr. It keeps
 * going across disconnects and server restarts, resuming after the last change it printed, so
 * no change is skipped or printed twice. When the server no longer has the changes since then
 * (CURSOR_EXPIRED: older than its event retention) it says so in one line and goes on from now.
 * Exits 0 on SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { jsonLine, readableLine, type WatchedChange } from "./change-lines.js";
import { EventCursorDocument, ProductsBySkuDocument } from "./generated/graphql.js";
import {
  type CloseInfo,
  type ConnectionStatus,
  createSubscriber,
  CursorExpiredError,
  type LiveSubscription,
  type SubscriptionError,
} from "./node.js";

const USAGE = `Usage: npm run watch -- [options]

Prints live stock, backlog and restock changes, one line each.

  --sku SKU        only this product (repeat for several; default: every product)
  --orders         order changes too (every order)
  --customer C     order changes of this customer only
  --json           one JSON object per line instead of readable text
  --after CURSOR   start after this event cursor (replays what followed it); default: now
  --url URL        default $BACKORDER_URL or ws://127.0.0.1:4000/graphql

$BACKORDER_API_KEY, when set, is sent as the connection's authorization.
`;

interface WatchOptions {
  skus: string[];
  orders: boolean;
  customer?: string;
  json: boolean;
  after?: string;
  url: string;
  authorization?: string;
}

/** Reads the command line, or says to print the usage and exit with `exit` (after `message`). */
function readOptions(argv: string[], env: NodeJS.ProcessEnv): WatchOptions | { exit: number; message?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        sku: { type: "string", multiple: true },
        orders: { type: "boolean" },
        customer: { type: "string" },
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
  const key = env.BACKORDER_API_KEY;
  return {
    skus: [...new Set(values.sku ?? [])],
    orders: Boolean(values.orders || values.customer),
    customer: values.customer,
    json: Boolean(values.json),
    after: values.after,
    url: values.url ?? env.BACKORDER_URL ?? "ws://127.0.0.1:4000/graphql",
    authorization: key ? `Bearer ${key}` : undefined,
  };
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);
const now = () => new Date().toISOString();
/** Set once a signal or a final error asked to exit: what fails after that is part of stopping. */
let stopping = false;

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  if ("exit" in options) {
    if (options.message) stderr(options.message);
    (options.exit === 0 ? process.stdout : process.stderr).write(USAGE);
    process.exit(options.exit);
  }

  const subscriber = createSubscriber({
    url: options.url,
    authorization: options.authorization,
    retry: { minMs: 250, maxMs: 10_000 },
    onStatus: (status: ConnectionStatus, close?: CloseInfo) => {
      if (stopping) return;
      const why = close && close.code !== 1000 ? ` (${close.code}${close.reason ? ` ${close.reason}` : ""})` : "";
      stderr(`${now()} ${status} ${options.url}${why}`);
    },
    onError: (error: SubscriptionError) => {
      if (error instanceof CursorExpiredError) return resumeFromNow(error);
      stderr(`${now()} ${error.operation}: ${error.message}${error.retrying ? " (retrying)" : ""}`);
      if (!error.retrying) stop(1);
    },
  });

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
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
  /** The running subscriptions, all after one cursor. */
  let live: LiveSubscription[] = [];
  const followAll = (from: string) => {
    live = [
      subscriber.stockChanged({ productIds, after: from }, (change) => print({ type: "stockChanged", change })),
      subscriber.backlogChanged({ productIds, after: from }, (change) => print({ type: "backlogChanged", change })),
      subscriber.restockChanged({ productIds, after: from }, (change) => print({ type: "restockChanged", change })),
    ];
    if (options.orders) {
      live.push(subscriber.orderChanged({ customer: options.customer, after: from }, (change) => print({ type: "orderChanged", change })));
    }
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
  stderr(`watch failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

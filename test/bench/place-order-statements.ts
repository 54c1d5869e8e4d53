/**
 * Keeps the raw placeOrder baseline honest (raw-place-order.ts): counts the statements one engine
 * `placeOrder` sends and the statements one `rawPlaceOrder` sends, through the same counting proxy
 * (statement-counter.ts), so that a divergence shows in the table. Also reads the size the
 * server's database pool grows to under the bench's concurrency, which the baselines then use.
 */
import type { StatementCount, StatementCounter } from "./statement-counter.js";

/**
 * What the server does on its own beside the request in a counting window: the event hub stamping
 * and reading the log (every statement it sends names the log's `seq`, or is an advisory lock, a
 * NOTIFY or a LISTEN; the pruning of old rows takes an advisory lock too), the cost-budget sync
 * (`cost_budgets`), the delay sweep (marks backorders `delayed`), the webhook worker's passes
 * (its position in the log, the endpoints, the deliveries: a poll a second even with no endpoint),
 * and postgres.js's type look-up on a new connection. A transaction with any of these is the
 * server's, not the request's.
 */
const NOT_THE_REQUEST =
  /"seq"|pg_try_advisory|pg_advisory|pg_notify|^\s*(un)?listen\b|pg_catalog\.pg_type|"cost_budgets"|SET "delayed" = true|"?webhook_(log_position|endpoints|deliveries)\b/i;
/** The per-request API key look-up (and its occasional last-used stamp): the HTTP layer's, not placeOrder's. */
const AUTHENTICATION = /"api_keys"/i;

export interface RequestStatements {
  /** The order's statements, BEGIN and COMMIT included, in the order sent. */
  order: string[];
  /** The API key look-up and stamp, outside the order's transaction. */
  authentication: string[];
}

/** Splits a counting window's statements: the request's own (the order's and authentication) from the server's background work. */
export function requestStatements(count: StatementCount): RequestStatements {
  const order: string[] = [];
  const authentication: string[] = [];
  for (const transaction of count.transactions) {
    if (transaction.some((text) => NOT_THE_REQUEST.test(text))) continue;
    order.push(...transaction);
  }
  for (const text of count.outside) {
    if (NOT_THE_REQUEST.test(text)) continue;
    (AUTHENTICATION.test(text) ? authentication : order).push(text);
  }
  return { order, authentication };
}

export interface PlaceOrderCount {
  engine: RequestStatements;
  raw: RequestStatements;
}

/**
 * Counts one engine order (`engine`: a `placeOrder` over HTTP to a server whose database
 * connection goes through `counter`) and one raw replay (`raw`: `rawPlaceOrder` on a client
 * connected through `counter`, already warmed up so its type look-up is behind it).
 */
export async function countPlaceOrder(counter: StatementCounter, engine: () => Promise<unknown>, raw: () => Promise<unknown>): Promise<PlaceOrderCount> {
  return {
    engine: requestStatements(await counter.count(engine)),
    raw: requestStatements(await counter.count(raw)),
  };
}

/** The first words of each statement, for the progress log. */
export function describeStatements(texts: string[]): string {
  return texts.map((text) => text.replace(/^WITH (\w+) AS.*/i, "WITH $1 …").slice(0, 48)).join(" | ");
}

/**
 * How `npm run watch` prints a change: one readable line (time, SKU or order number, what
 * changed, the figures that matter) or one JSON object per line for other programs.
 */
import type { WatchRefundsDueQuery, WatchWebhookHealthQuery } from "./generated/graphql.js";
import type { BacklogChange, OrderChange, RestockChange, StockChange } from "./subscriber.js";

/** A change with the name of the subscription that delivered it. */
export type WatchedChange =
  | { type: "stockChanged"; change: StockChange }
  | { type: "backlogChanged"; change: BacklogChange }
  | { type: "restockChanged"; change: RestockChange }
  | { type: "orderChanged"; change: OrderChange };

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/** hh:mm:ss.mmm in the local time zone. */
export function clockTime(at: Date): string {
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

/** A date as YYYY-MM-DD (UTC), or "unknown". */
function day(value: string | null): string {
  return value ? value.slice(0, 10) : "unknown";
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The figures of one change, after its time and subject. */
function describeChange({ type, change }: WatchedChange): { subject: string; what: string; figures: string } {
  switch (type) {
    case "stockChanged": {
      const { stock } = change;
      const next = stock.nextRestockAt ? `  next restock ${day(stock.nextRestockAt)}` : "";
      return {
        subject: change.product.sku,
        what: `stock ${change.reason}`,
        figures:
          `on hand ${stock.onHand}  allocated ${stock.allocated}  available ${stock.available}  ` +
          `backordered ${stock.backordered}  incoming ${stock.incoming}  projected ${stock.projected}${next}`,
      };
    }
    case "backlogChanged":
      return {
        subject: change.product.sku,
        what: `backlog ${change.reason}`,
        figures:
          change.waitingOrders === 0
            ? "nothing waiting"
            : `${plural(change.backordered, "unit")} waiting in ${plural(change.waitingOrders, "order")}, first expected ${day(change.nextExpectedAt)}`,
      };
    case "restockChanged": {
      const { restock } = change;
      const ref = restock.reference ? ` (${restock.reference})` : "";
      const received = restock.status === "RECEIVED" || restock.receivedQuantity > 0;
      const partly = restock.status === "PARTIALLY_RECEIVED" ? " (partly received)" : "";
      const amount = received ? `${restock.receivedQuantity} of ${restock.quantity} units received${partly}` : `${plural(restock.quantity, "unit")}`;
      const filled = change.filledUnits > 0 ? `, filled ${plural(change.filledUnits, "backordered unit")}` : "";
      return {
        subject: restock.product.sku,
        what: `restock ${change.kind}`,
        figures: `${amount} at ${restock.location.code}, expected ${day(restock.expectedAt)}${filled}${ref}`,
      };
    }
    case "orderChanged": {
      const { order } = change;
      const expected = order.expectedAt ? `  expected ${day(order.expectedAt)}` : "";
      const promised = order.promisedAt ? `  promised ${day(order.promisedAt)}` : "";
      return {
        subject: order.number,
        what: `order ${change.kind}`,
        figures: `${change.status}${expected}${promised}${order.delayed ? "  DELAYED" : ""}`,
      };
    }
  }
}

/** One readable line: `14:03:07.125  SKU-1  stock ORDER_PLACED  on hand 3  allocated 3 …`. */
export function readableLine(watched: WatchedChange): string {
  const { subject, what, figures } = describeChange(watched);
  return `${clockTime(new Date(watched.change.at))}  ${subject}  ${what}  ${figures}`;
}

/** One JSON line: the change as the server sent it, with `type` naming its subscription. */
export function jsonLine(watched: WatchedChange): string {
  return JSON.stringify({ type: watched.type, ...watched.change });
}

/** What `--refunds` reads: the refunds due. */
export type RefundsDue = WatchRefundsDueQuery["refundsDue"];
/** What `--webhooks` reads: webhook delivery health. */
export type WebhookHealth = WatchWebhookHealthQuery["webhookHealth"];

/** Figures `watch` reads (at start, after the events that change them, and on a poll), printed when they changed. */
export type WatchedFigures = { type: "refundsDue"; at: Date; refundsDue: RefundsDue } | { type: "webhookHealth"; at: Date; webhookHealth: WebhookHealth };

/**
 * `refunds  due  3 refunds pending  39.98 EUR (1)  0.50 USD (2)  oldest 2025-03-01T14:03:07Z`;
 * `webhooks  health  2 endpoints  pending 4  dead letters 1  FAILING https://crm.example (1 dead letter)`.
 */
function describeFigures(figures: WatchedFigures): { subject: string; what: string; figures: string } {
  if (figures.type === "webhookHealth") {
    const health = figures.webhookHealth;
    const failing = health.endpoints
      .filter((endpoint) => endpoint.failing)
      .map((endpoint) => `  FAILING ${endpoint.host} (${plural(endpoint.failed, "dead letter")}, ${endpoint.pending} pending)`);
    const off = health.endpoints.filter((endpoint) => !endpoint.enabled).length;
    return {
      subject: "webhooks",
      what: "health",
      figures:
        health.endpoints.length === 0
          ? "no endpoints"
          : `${plural(health.endpoints.length, "endpoint")}${off > 0 ? ` (${off} disabled)` : ""}  pending ${health.pending}  dead letters ${health.failed}${failing.join("")}`,
    };
  }
  const due = figures.refundsDue;
  if (due.count === 0) return { subject: "refunds", what: "due", figures: "nothing owed" };
  const atLeast = due.countPrecision === "AT_LEAST" ? "at least " : "";
  const totals = due.totals.map((total) => `${total.amount.amount} ${total.amount.currencyCode} (${total.count})`).join("  ");
  const oldest = due.oldestPendingAt ? `  oldest ${due.oldestPendingAt.replace(/\.\d+Z$/, "Z")}` : "";
  return { subject: "refunds", what: "due", figures: `${atLeast}${plural(due.count, "refund")} pending  ${totals}${oldest}` };
}

/** One line for figures read by `watch`: readable as a change's line, or JSON with `type`, `at` (when read) and the figures. */
export function figuresLine(figures: WatchedFigures, json: boolean): string {
  if (json) {
    // Flat like a change's line: `type`, `at`, then the figures as the server sent them.
    const value = figures.type === "refundsDue" ? figures.refundsDue : figures.webhookHealth;
    return JSON.stringify({ type: figures.type, at: figures.at.toISOString(), ...value });
  }
  const { subject, what, figures: text } = describeFigures(figures);
  return `${clockTime(figures.at)}  ${subject}  ${what}  ${text}`;
}

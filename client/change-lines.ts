/**
 * How `npm run watch` prints a change: one readable line (time, SKU or order number, what
 * changed, the figures that matter) or one JSON object per line for other programs.
 */
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

/**
 * What the feed says about each event, as plain data: a tone (its colour), a short tag and one
 * readable sentence. Order and restock events tell what happened; stock changes that an order
 * or a restock caused are not repeated (the table shows their figures), only the ones nothing
 * else explains (a stock count, a new or edited product, a new queue priority, a new date).
 */
import type { DashboardOrderChangedSubscription } from "../generated/graphql.js";
import type { RestockChange, StockChange } from "../subscriber.js";
import { count, plural, shortDate, words } from "./format.js";
import type { ProductRow } from "./product-board.js";

export type OrderEvent = DashboardOrderChangedSubscription["orderChanged"];

/** good: stock arrived or an order can ship; warn: customers wait; bad: a promise is broken; info: the rest. */
export type FeedTone = "good" | "warn" | "bad" | "info";

export interface FeedEntry {
  at: Date;
  tone: FeedTone;
  /** A word or two in front: "Order", "Delayed", "Restock"… */
  tag: string;
  /** The subject in bold (an order number, a SKU), then the sentence. */
  subject: string;
  text: string;
  /** The event's cursor (none for the page's own notes): where a replay would start to show it again. */
  cursor?: string;
}

/** Stock change reasons that no order or restock event explains. */
const STOCK_REASONS_SHOWN = new Set(["STOCK_ADJUSTED", "PRODUCT_CREATED", "PRODUCT_UPDATED", "BACKORDER_PRIORITIZED", "ETA_CHANGED"]);

function lineList(lines: OrderEvent["order"]["lines"]): string {
  const shown = lines.slice(0, 3).map((line) => `${count(line.quantity)} × ${line.product.sku}`);
  if (lines.length > 3) shown.push(`${lines.length - 3} more`);
  return shown.join(", ");
}

/** The products of an order, for entries that are about its waiting units: "SOCKS-3PK", "A-1, B-2 +1". */
function skus(lines: OrderEvent["order"]["lines"]): string {
  const unique = [...new Set(lines.map((line) => line.product.sku))];
  return unique.length > 2 ? `${unique.slice(0, 2).join(", ")} +${unique.length - 2}` : unique.join(", ");
}

/** The feed's entry for an order change. */
export function orderEntry(event: OrderEvent): FeedEntry {
  return { ...orderSentence(event), cursor: event.cursor };
}

function orderSentence(event: OrderEvent): FeedEntry {
  const { order } = event;
  const at = new Date(event.at);
  const status = words(event.status);
  switch (event.kind) {
    case "PLACED":
      return {
        at,
        tone: event.status === "AWAITING_STOCK" ? "warn" : "info",
        tag: "Order",
        subject: order.number,
        text: `placed: ${lineList(order.lines)} · ${event.status === "AWAITING_STOCK" ? "backordered, awaiting stock" : status}`,
      };
    case "DELAYED": {
      const expected = order.expectedAt ? `now expected ${shortDate(order.expectedAt)}` : "no expected date any more";
      const promised = order.promisedAt ? ` (promised ${shortDate(order.promisedAt)})` : "";
      return { at, tone: "bad", tag: "Delayed", subject: order.number, text: `(${skus(order.lines)}) is late: ${expected}${promised}` };
    }
    case "BACKORDER_FILLED":
      return { at, tone: "good", tag: "Filled", subject: order.number, text: `backordered units allocated (${skus(order.lines)}) · ${status}` };
    case "ALLOCATED":
      return { at, tone: "good", tag: "Order", subject: order.number, text: `units allocated (${skus(order.lines)}) · ${status}` };
    case "SHIPPED":
      return { at, tone: "info", tag: "Shipped", subject: order.number, text: `${lineList(order.lines)} · ${status}` };
    case "CANCELLED":
      return { at, tone: "info", tag: "Cancelled", subject: order.number, text: `${lineList(order.lines)} · ${status}` };
    default:
      return { at, tone: "info", tag: "Order", subject: order.number, text: `${words(event.kind)} · ${status}` };
  }
}

/** The feed's entry for a restock change. */
export function restockEntry(event: RestockChange): FeedEntry {
  return { ...restockSentence(event), cursor: event.cursor };
}

function restockSentence(event: RestockChange): FeedEntry {
  const { restock } = event;
  const at = new Date(event.at);
  const reference = restock.reference ? ` (${restock.reference})` : "";
  const where = ` at ${restock.location.code}`;
  switch (event.kind) {
    case "SCHEDULED":
      return {
        at,
        tone: "info",
        tag: "Restock",
        subject: restock.product.sku,
        text: `${plural(restock.quantity, "unit")} expected ${shortDate(restock.expectedAt)}${where}${reference}`,
      };
    case "RESCHEDULED":
      return {
        at,
        tone: "warn",
        tag: "Moved",
        subject: restock.product.sku,
        text: `${restockOf(restock)} now expected ${shortDate(restock.expectedAt)}${reference}`,
      };
    case "RECEIVED": {
      const filled = event.filledUnits > 0 ? ` · filled ${plural(event.filledUnits, "backordered unit")}` : "";
      return {
        at,
        tone: "good",
        tag: "Received",
        subject: restock.product.sku,
        text: `${receipt(restock)}${where}${stillExpected(restock)}${filled}${reference}`,
      };
    }
    case "CANCELLED":
      return {
        at,
        tone: "bad",
        tag: "Restock",
        subject: restock.product.sku,
        text: `${restockOf(restock)} cancelled${reference}`,
      };
    default:
      return { at, tone: "info", tag: "Restock", subject: restock.product.sku, text: words(event.kind) };
  }
}

/** A restock, or what is left of one partly received: "restock of 40 units", "rest of a restock (15 of 40 units, 25 received)". */
function restockOf(restock: RestockChange["restock"]): string {
  if (restock.receivedQuantity <= 0) return `restock of ${plural(restock.quantity, "unit")}`;
  const rest = Math.max(restock.quantity - restock.receivedQuantity, 0);
  return `rest of a restock (${count(rest)} of ${plural(restock.quantity, "unit")}, ${count(restock.receivedQuantity)} received)`;
}

/**
 * How much of a restock has come in, from its status and quantities as the event delivered them
 * (every receipt, partial or full, is a RECEIVED change): "received all 40 units", "received 25
 * of 40 units (partly received)", "received 25 of 40 units (rest cancelled)".
 */
function receipt(restock: RestockChange["restock"]): string {
  const ofAll = `${count(restock.receivedQuantity)} of ${plural(restock.quantity, "unit")}`;
  switch (restock.status) {
    case "PARTIALLY_RECEIVED":
      return `received ${ofAll} (partly received)`;
    case "RECEIVED":
      return restock.receivedQuantity === restock.quantity ? `received all ${plural(restock.quantity, "unit")}` : `received ${ofAll}`;
    case "CANCELLED":
      return `received ${ofAll} (rest cancelled)`;
    default:
      return `received ${ofAll}`;
  }
}

/** What a partly received restock still brings, and when: " · 15 still expected 3 Jun"; "" for the rest. */
function stillExpected(restock: RestockChange["restock"]): string {
  if (restock.status !== "PARTIALLY_RECEIVED") return "";
  const rest = Math.max(restock.quantity - restock.receivedQuantity, 0);
  return ` · ${count(rest)} still expected ${shortDate(restock.expectedAt)}`;
}

/**
 * The feed's entry for a stock change, or null when an order or restock entry already tells it.
 * `before`: the product's figures before it (for the size of a stock count), when known.
 */
export function stockEntry(event: StockChange, before: Pick<ProductRow, "onHand"> | undefined): FeedEntry | null {
  const entry = stockSentence(event, before);
  return entry && { ...entry, cursor: event.cursor };
}

function stockSentence(event: StockChange, before: Pick<ProductRow, "onHand"> | undefined): FeedEntry | null {
  if (!STOCK_REASONS_SHOWN.has(event.reason)) return null;
  const { stock } = event;
  const at = new Date(event.at);
  const figures = `on hand ${count(stock.onHand)} · available ${count(stock.available)} · backordered ${count(stock.backordered)}`;
  switch (event.reason) {
    case "STOCK_ADJUSTED": {
      const delta = before ? stock.onHand - before.onHand : 0;
      const change = delta === 0 ? "stock count corrected" : `stock count ${delta > 0 ? "+" : "−"}${count(Math.abs(delta))}`;
      return { at, tone: "info", tag: "Stock", subject: event.product.sku, text: `${change} · ${figures}` };
    }
    case "PRODUCT_CREATED":
      return { at, tone: "info", tag: "New", subject: event.product.sku, text: `${event.product.name} added · ${figures}` };
    case "ETA_CHANGED":
      return { at, tone: "warn", tag: "Dates", subject: event.product.sku, text: `expected dates of the backlog changed` };
    default:
      return { at, tone: "info", tag: "Product", subject: event.product.sku, text: `${words(event.reason)} · ${figures}` };
  }
}

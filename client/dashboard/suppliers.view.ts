/// <reference lib="dom" />
/**
 * The "Suppliers" card (docs/ARCHITECTURE.md, "Supplier dashboard"): per supplier its reliability
 * (on-time rate and average delay of its received restocks), its dropship orders awaiting an
 * acknowledgement and those late to ship; and the oldest few supplier orders that are late or
 * still unacknowledged, the next to chase: order number, SKU, quantity, supplier, expected ship
 * date and age. Figures carry their raw value in `data-value`; supplier rows `data-supplier-id`,
 * order rows `data-supplier-order-id` and `data-late`.
 *
 * One query (`DashboardSuppliers`): the suppliers, and the open supplier orders in two lists,
 * late and on time, each oldest first (`supplierOrders(filter: { late })`). The per-supplier
 * counts are counted over those pages; when a list has more than a page, its counts say "+" (at
 * least). No subscription carries supplier-order events, but those that change an order (placing
 * a dropship line, shipping, rejecting, cancelling) come with the order's event: the card is read
 * after each order event the session sees, and every {@link SUPPLIERS_POLL_MS} for the rest (an
 * acknowledgement writes no order event, and time passing alone makes an order late).
 */
import { DashboardSuppliersDocument, type DashboardSuppliersQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { age, count, plural, relativeDay, shortDate } from "./format.js";
import { fieldCell, LiveCard, showFigure, span } from "./live-card.js";
import { percent } from "./metrics-panel.view.js";

type Answer = DashboardSuppliersQuery;
type SupplierFigures = Answer["suppliers"]["nodes"][number];
type OpenOrder = Answer["late"]["nodes"][number];

/** Suppliers read (the card lists them all up to this many). */
export const SUPPLIER_ROWS = 50;
/** Open supplier orders read per list (late, on time), oldest first: the counts are counted over them. */
export const SUPPLIER_ORDER_PAGE = 100;
/** Orders listed to chase: the oldest late or unacknowledged. */
export const CHASE_LINES = 6;
/** How often the card is read without an event: an order becomes late with no event at all. */
export const SUPPLIERS_POLL_MS = 30_000;
/** On-time rates below these are shown as a warning and as bad. */
const ON_TIME_WARN = 0.8;
const ON_TIME_BAD = 0.5;

/** What one supplier has open, counted over the pages read. */
interface OpenCounts {
  awaiting: number;
  late: number;
}

/** "1.5 days", "0 days"; "–" without history. */
function days(value: number | null): string {
  if (value === null) return "–";
  const rounded = Math.round(value * 10) / 10;
  return `${rounded} ${rounded === 1 ? "day" : "days"}`;
}

/** A count over a page, "+" when the list went on beyond it. */
function countCell(field: string, value: number, partial: boolean, tone: string): HTMLTableCellElement {
  const text = `${count(value)}${partial ? "+" : ""}`;
  return fieldCell(field, String(value), "num", span(text, value === 0 ? "zero" : tone));
}

function supplierRow(supplier: SupplierFigures, open: OpenCounts, partial: { late: boolean; awaiting: boolean }): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.supplierId = supplier.id;
  const rate = supplier.onTimeRate;
  const rateTone = rate === null ? "zero" : rate < ON_TIME_BAD ? "pill bad" : rate < ON_TIME_WARN ? "pill warn" : "";
  tr.append(
    fieldCell(
      "name",
      supplier.name,
      "",
      span(supplier.name, "name"),
      span(supplier.leadTimeDays === null ? "no lead time" : `lead time ${plural(supplier.leadTimeDays, "day")}`, "sub"),
    ),
    fieldCell("onTimeRate", rate === null ? "" : String(rate), "num", span(rate === null ? "no history" : percent(rate), rateTone)),
    fieldCell(
      "averageDelayDays",
      supplier.averageDelayDays === null ? "" : String(supplier.averageDelayDays),
      "num",
      span(days(supplier.averageDelayDays), supplier.averageDelayDays === null ? "zero" : ""),
    ),
    countCell("awaiting", open.awaiting, partial.awaiting, "pill warn"),
    countCell("late", open.late, partial.late, "pill bad"),
  );
  return tr;
}

function orderRow(order: OpenOrder, supplierName: string, now: Date): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.supplierOrderId = order.id;
  tr.dataset.late = String(order.late);
  const expected = order.expectedShipAt;
  const shipBy = fieldCell(
    "expectedShipAt",
    expected ?? "",
    "date",
    span(expected ? shortDate(expected, now) : "—", expected ? "" : "zero"),
    ...(expected ? [span(relativeDay(expected, now), order.late ? "sub pill bad" : "sub")] : []),
  );
  if (expected) shipBy.title = new Date(expected).toLocaleString();
  const waited = fieldCell("age", order.createdAt, "num", span(age(order.createdAt, now)));
  waited.title = `ordered ${new Date(order.createdAt).toLocaleString()}`;
  tr.append(
    fieldCell(
      "order",
      order.orderNumber,
      "",
      span(order.orderNumber, "order"),
      span(order.status === "OPEN" ? "not acknowledged" : "acknowledged", "sub"),
    ),
    fieldCell("sku", order.sku, "", span(order.sku, "sku")),
    fieldCell("quantity", String(order.quantity), "num", span(count(order.quantity))),
    fieldCell("supplier", supplierName, "", span(supplierName)),
    shipBy,
    waited,
  );
  return tr;
}

/** The card in `root` (index.html's `#suppliers`). */
export class SuppliersPanel extends LiveCard {
  constructor(root: HTMLElement, pollMs = SUPPLIERS_POLL_MS) {
    super(root, "The suppliers", pollMs);
  }

  protected clear(): void {
    for (const name of ["late", "awaiting", "open"]) showFigure(this.root, name, { value: "–", note: "", raw: "" });
    this.part(".supplier-rows").replaceChildren();
    this.part(".chase-rows").replaceChildren();
  }

  protected async fetch(run: RunQuery): Promise<() => void> {
    const answer = await run(DashboardSuppliersDocument, { suppliers: SUPPLIER_ROWS, orders: SUPPLIER_ORDER_PAGE });
    return () => this.show(answer);
  }

  /** Writes the figures and rows of one answer. */
  show({ suppliers, late, onTime }: Answer, now = new Date()): void {
    const awaitingOnTime = onTime.nodes.filter((order) => order.status === "OPEN");
    const awaitingLate = late.nodes.filter((order) => order.status === "OPEN");
    const partial = { late: late.pageInfo.hasNextPage, awaiting: late.pageInfo.hasNextPage || onTime.pageInfo.hasNextPage };
    const open = new Map<string, OpenCounts>(suppliers.nodes.map((supplier) => [supplier.id, { awaiting: 0, late: 0 }]));
    // A supplier beyond the suppliers read has no row: its orders still count in the figures and the list.
    for (const order of late.nodes) {
      const counts = open.get(order.supplier.id);
      if (counts) counts.late += 1;
    }
    for (const order of [...awaitingLate, ...awaitingOnTime]) {
      const counts = open.get(order.supplier.id);
      if (counts) counts.awaiting += 1;
    }

    const atLeast = (precision: string) => (precision === "AT_LEAST" ? "≥" : "");
    showFigure(this.root, "late", {
      value: `${atLeast(late.totalCountPrecision)}${count(late.totalCount)}`,
      note: late.totalCount > 0 ? "past their expected ship date" : "none past its ship date",
      raw: String(late.totalCount),
      tone: late.totalCount > 0 ? "bad" : "good",
    });
    const awaiting = awaitingLate.length + awaitingOnTime.length;
    showFigure(this.root, "awaiting", {
      value: `${count(awaiting)}${partial.awaiting ? "+" : ""}`,
      note: awaiting > 0 ? "not yet acknowledged by their supplier" : "every order acknowledged",
      raw: String(awaiting),
      tone: awaiting > 0 ? "warn" : "",
    });
    const openCount = late.totalCount + onTime.totalCount;
    const openAtLeast = atLeast(late.totalCountPrecision) || atLeast(onTime.totalCountPrecision);
    showFigure(this.root, "open", {
      value: `${openAtLeast}${count(openCount)}`,
      note: openCount > 0 ? "dropship orders at their suppliers" : "nothing at a supplier",
      raw: String(openCount),
    });

    // The suppliers with most to chase first; the others in the order they were created.
    const ranked = suppliers.nodes
      .map((supplier, index) => ({ supplier, index, counts: open.get(supplier.id)! }))
      .sort((a, b) => b.counts.late - a.counts.late || b.counts.awaiting - a.counts.awaiting || a.index - b.index);
    this.part(".supplier-rows").replaceChildren(...ranked.map(({ supplier, counts }) => supplierRow(supplier, counts, partial)));

    // Each list is oldest first and a page holds its oldest, so the oldest of both pages are the oldest of all.
    const names = new Map(suppliers.nodes.map((supplier) => [supplier.id, supplier.name]));
    const chase = [...late.nodes, ...awaitingOnTime].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt)).slice(0, CHASE_LINES);
    this.part(".chase-rows").replaceChildren(...chase.map((order) => orderRow(order, names.get(order.supplier.id) ?? "another supplier", now)));

    this.part(".hint").textContent =
      `${plural(suppliers.nodes.length, "supplier")}${suppliers.pageInfo.hasNextPage ? " (the first)" : ""} · checked every ${SUPPLIERS_POLL_MS / 1000} s`;
    if (suppliers.nodes.length === 0) this.message("No suppliers: an OPERATOR key adds one with createSupplier.");
  }
}

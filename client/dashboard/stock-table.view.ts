/// <reference lib="dom" />
/**
 * The product table: one row per product, cells updated in place (and briefly highlighted) as
 * events arrive, so hundreds of rows cost nothing between changes. Each figure cell carries its
 * raw value in `data-value` and each row its SKU in `data-sku`, for scripts and tests.
 */
import { queueHref } from "./detail-panel.view.js";
import { count, relativeDay, shortDate } from "./format.js";
import type { ProductRow, RowField } from "./product-board.js";

type Column = "product" | "onHand" | "allocated" | "available" | "backordered" | "incoming" | "nextRestockAt" | "delayed";

/** Which column shows a row field. */
const COLUMN_OF: Partial<Record<RowField, Column>> = {
  sku: "product",
  name: "product",
  onHand: "onHand",
  allocated: "allocated",
  available: "available",
  backordered: "backordered",
  waiting: "backordered",
  incoming: "incoming",
  nextRestockAt: "nextRestockAt",
  delayed: "delayed",
};

const COLUMNS: readonly Column[] = ["product", "onHand", "allocated", "available", "backordered", "incoming", "nextRestockAt", "delayed"];

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Writes one cell's content from the row. */
function fill(cell: HTMLTableCellElement, column: Column, row: ProductRow): void {
  cell.replaceChildren();
  cell.className = column === "product" ? "product" : "num";
  const value = (amount: number, className = amount === 0 ? "zero" : "") => {
    cell.dataset.value = String(amount);
    const span = element("span", className, count(amount));
    cell.append(span);
  };
  switch (column) {
    case "product":
      {
        // The SKU opens the product's queue.
        const link = element("a", "sku", row.sku);
        link.href = queueHref(row.id);
        cell.append(link, element("span", "name", row.name));
      }
      cell.title = `${row.sku}: ${row.name} (open its queue)`;
      return;
    case "onHand":
      return value(row.onHand);
    case "allocated":
      return value(row.allocated);
    case "available":
      return value(row.available, row.available === 0 ? "empty" : "");
    case "backordered":
      value(row.backordered, row.backordered > 0 ? "pill warn" : "zero");
      if (row.waiting > 0) cell.append(element("span", "sub", `${count(row.waiting)} waiting`));
      return;
    case "incoming":
      return value(row.incoming);
    case "nextRestockAt":
      cell.className = "date";
      cell.dataset.value = row.nextRestockAt ?? "";
      if (!row.nextRestockAt) {
        cell.append(element("span", "zero", "—"));
        return;
      }
      cell.append(element("span", "", shortDate(row.nextRestockAt)), element("span", "sub", relativeDay(row.nextRestockAt)));
      cell.title = new Date(row.nextRestockAt).toLocaleString();
      return;
    case "delayed":
      if (row.delayed === null) {
        cell.dataset.value = "";
        cell.append(element("span", "zero", "…"));
        return;
      }
      return value(row.delayed, row.delayed > 0 ? "pill bad" : "zero");
  }
}

/** The table's body (one row per product) and its caption ("20 products", or how many the filter shows). */
export class StockTable {
  private readonly rows = new Map<string, { tr: HTMLTableRowElement; cells: Map<Column, HTMLTableCellElement>; row: ProductRow }>();
  private filter = "";

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly caption: HTMLElement,
  ) {}

  /** Removes every row (a new key, a new snapshot). */
  clear(): void {
    this.rows.clear();
    this.body.replaceChildren();
    this.updateCaption();
  }

  /**
   * Shows `row`: a new line at the end, or the cells of `changed` rewritten and (unless
   * `highlight` is false: a first figure, not a change) briefly highlighted.
   */
  show(row: ProductRow, changed?: ReadonlySet<RowField>, highlight = true): void {
    const shown = this.rows.get(row.id);
    if (!shown) {
      const tr = element("tr");
      tr.dataset.productId = row.id;
      tr.dataset.sku = row.sku;
      const cells = new Map<Column, HTMLTableCellElement>();
      for (const column of COLUMNS) {
        const cell = element("td");
        cell.dataset.field = column;
        fill(cell, column, row);
        cells.set(column, cell);
        tr.append(cell);
      }
      this.rows.set(row.id, { tr, cells, row });
      this.applyFilter(tr, row);
      this.body.append(tr);
      if (changed && highlight) this.highlight([tr]);
      this.updateCaption();
      return;
    }
    shown.row = row;
    shown.tr.dataset.sku = row.sku;
    const columns = new Set<Column>();
    for (const field of changed ?? []) {
      const column = COLUMN_OF[field];
      if (column) columns.add(column);
    }
    for (const column of columns) fill(shown.cells.get(column)!, column, row);
    if (highlight) this.highlight([...columns].map((column) => shown.cells.get(column)!));
    this.applyFilter(shown.tr, row);
  }

  /** Rewrites the date cells (relative days move at midnight). */
  refreshDates(): void {
    for (const { cells, row } of this.rows.values()) fill(cells.get("nextRestockAt")!, "nextRestockAt", row);
  }

  /** Shows only products whose SKU or name contains `text` (case-insensitive). */
  setFilter(text: string): void {
    this.filter = text.trim().toLowerCase();
    for (const { tr, row } of this.rows.values()) this.applyFilter(tr, row);
    this.updateCaption();
  }

  private applyFilter(tr: HTMLTableRowElement, row: ProductRow): void {
    tr.hidden = this.filter !== "" && !`${row.sku} ${row.name}`.toLowerCase().includes(this.filter);
  }

  private updateCaption(): void {
    const total = this.rows.size;
    const visible = [...this.rows.values()].filter(({ tr }) => !tr.hidden).length;
    this.caption.textContent = visible === total ? `${count(total)} products` : `${count(visible)} of ${count(total)} products`;
  }

  private highlight(nodes: HTMLElement[]): void {
    for (const node of nodes) {
      node.classList.remove("flash");
      // Restarts the animation on a cell that changes again before it ends.
      void node.offsetWidth;
      node.classList.add("flash");
    }
  }
}

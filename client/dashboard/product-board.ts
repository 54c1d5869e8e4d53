/**
 * The dashboard's model of the shop, without any DOM: one row per product with the figures the
 * table shows, loaded from the `products` snapshot and then kept current by each live event in
 * the order the server delivers it.
 *
 * Stock and backlog events come on two subscriptions, so one can run ahead of the other; both
 * carry `backordered`. Each event carries the product's version (incremented under the product's
 * row lock), and a figure is only replaced by an event at least as new as the one that set it, so
 * the table never steps back to a stale backlog. Events replayed from before the snapshot (the
 * subscriptions start at the cursor read before it) restate figures the snapshot already has.
 */
import type { DashboardProductsQuery } from "../generated/graphql.js";
import type { BacklogChange, StockChange } from "../subscriber.js";

/** One product as the table shows it. */
export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  onHand: number;
  allocated: number;
  available: number;
  /** Units waiting in the product's backlog. */
  backordered: number;
  /** Backorders waiting (one per order line). */
  waiting: number;
  incoming: number;
  projected: number;
  nextRestockAt: string | null;
  /** Waiting backorders that are delayed; null until counted. */
  delayed: number | null;
}

/** The figures of a row that events change. */
export type RowField = Exclude<keyof ProductRow, "id">;

/** Totals over every product, for the summary tiles and the chart. */
export interface BoardTotals {
  products: number;
  backordered: number;
  waiting: number;
  delayed: number;
  /** Products whose delayed backorders are not counted yet. */
  uncounted: number;
  incoming: number;
  /** Products with nothing available to sell right now. */
  outOfStock: number;
  /** The earliest next restock over every product. */
  nextRestockAt: string | null;
}

/** A product as the snapshot query returns it. */
export type ProductNode = DashboardProductsQuery["products"]["nodes"][number];

/** What applying one event did: the row after it, its figures before, and which ones moved. */
export interface RowUpdate {
  row: ProductRow;
  before: ProductRow | undefined;
  changed: Set<RowField>;
}

/** Every figure of a row, to compare a reloaded row with the one it replaces. */
const FIELDS: readonly RowField[] = [
  "sku",
  "name",
  "onHand",
  "allocated",
  "available",
  "backordered",
  "waiting",
  "incoming",
  "projected",
  "nextRestockAt",
  "delayed",
];

interface Versions {
  stock: number;
  backlog: number;
  backordered: number;
}

/** Every product's row, in table order, and the totals over them. */
export class ProductBoard {
  private readonly rows = new Map<string, ProductRow>();
  private readonly versions = new Map<string, Versions>();
  /** Product ids in the order the table lists them (the API's: id order, new products last). */
  private readonly order: string[] = [];

  /** Adds (or overwrites) the products of one snapshot page; for a product already listed (a reload), which figures moved. */
  load(nodes: readonly ProductNode[]): RowUpdate[] {
    return nodes.map((node) => {
      const before = this.rows.get(node.id);
      const row: ProductRow = {
        id: node.id,
        sku: node.sku,
        name: node.name,
        onHand: node.stock.onHand,
        allocated: node.stock.allocated,
        available: node.stock.available,
        backordered: node.stock.backordered,
        waiting: node.backlog.totalCount,
        incoming: node.stock.incoming,
        projected: node.stock.projected,
        nextRestockAt: node.stock.nextRestockAt,
        delayed: before?.delayed ?? null,
      };
      const changed = new Set<RowField>();
      if (!before) this.order.push(node.id);
      else for (const field of FIELDS) if (row[field] !== before[field]) changed.add(field);
      this.rows.set(node.id, row);
      return { row, before, changed };
    });
  }

  /** Every row, in table order. */
  list(): ProductRow[] {
    return this.order.map((id) => this.rows.get(id)!);
  }

  get(id: string): ProductRow | undefined {
    return this.rows.get(id);
  }

  /** Applies a stock change; a product not seen yet (created since the snapshot) gets a row. */
  applyStock(event: StockChange): RowUpdate {
    const { row, before, versions } = this.rowFor(event.product);
    const changed = new Set<RowField>();
    if (event.productVersion >= versions.stock) {
      versions.stock = event.productVersion;
      const { stock } = event;
      set(row, "onHand", stock.onHand, changed);
      set(row, "allocated", stock.allocated, changed);
      set(row, "available", stock.available, changed);
      set(row, "incoming", stock.incoming, changed);
      set(row, "projected", stock.projected, changed);
      set(row, "nextRestockAt", stock.nextRestockAt, changed);
      this.setBackordered(row, versions, event.productVersion, stock.backordered, changed);
      this.rename(row, event.product, changed);
    }
    return { row, before, changed };
  }

  /** Applies a backlog change; a product not seen yet gets a row. */
  applyBacklog(event: BacklogChange): RowUpdate {
    const { row, before, versions } = this.rowFor(event.product);
    const changed = new Set<RowField>();
    if (event.productVersion >= versions.backlog) {
      versions.backlog = event.productVersion;
      set(row, "waiting", event.waitingOrders, changed);
      this.setBackordered(row, versions, event.productVersion, event.backordered, changed);
      this.rename(row, event.product, changed);
    }
    return { row, before, changed };
  }

  /** Sets a product's delayed count (from a count just read); undefined for an unknown product. */
  setDelayed(id: string, delayed: number): RowUpdate | undefined {
    const row = this.rows.get(id);
    if (!row) return undefined;
    const before = { ...row };
    const changed = new Set<RowField>();
    set(row, "delayed", delayed, changed);
    return { row, before, changed };
  }

  totals(): BoardTotals {
    const totals: BoardTotals = { products: 0, backordered: 0, waiting: 0, delayed: 0, uncounted: 0, incoming: 0, outOfStock: 0, nextRestockAt: null };
    for (const row of this.rows.values()) {
      totals.products += 1;
      totals.backordered += row.backordered;
      totals.waiting += row.waiting;
      totals.delayed += row.delayed ?? 0;
      if (row.delayed === null) totals.uncounted += 1;
      totals.incoming += row.incoming;
      if (row.available === 0) totals.outOfStock += 1;
      if (row.nextRestockAt && (!totals.nextRestockAt || row.nextRestockAt < totals.nextRestockAt)) totals.nextRestockAt = row.nextRestockAt;
    }
    return totals;
  }

  private rowFor(product: { id: string; sku: string; name: string }): { row: ProductRow; before: ProductRow | undefined; versions: Versions } {
    let row = this.rows.get(product.id);
    const before = row ? { ...row } : undefined;
    if (!row) {
      row = {
        id: product.id,
        sku: product.sku,
        name: product.name,
        onHand: 0,
        allocated: 0,
        available: 0,
        backordered: 0,
        waiting: 0,
        incoming: 0,
        projected: 0,
        nextRestockAt: null,
        delayed: 0,
      };
      this.rows.set(product.id, row);
      this.order.push(product.id);
    }
    let versions = this.versions.get(product.id);
    if (!versions) {
      versions = { stock: 0, backlog: 0, backordered: 0 };
      this.versions.set(product.id, versions);
    }
    return { row, before, versions };
  }

  private setBackordered(row: ProductRow, versions: Versions, version: number, backordered: number, changed: Set<RowField>): void {
    if (version < versions.backordered) return;
    versions.backordered = version;
    set(row, "backordered", backordered, changed);
  }

  /** A product renamed (or its SKU changed) since the snapshot. */
  private rename(row: ProductRow, product: { sku: string; name: string }, changed: Set<RowField>): void {
    set(row, "sku", product.sku, changed);
    set(row, "name", product.name, changed);
  }
}

function set<K extends RowField>(row: ProductRow, field: K, value: ProductRow[K], changed: Set<RowField>): void {
  if (row[field] === value) return;
  row[field] = value;
  changed.add(field);
}

/// <reference lib="dom" />
/**
 * The card that opens above the table for a closer look: a product's queue, or every delayed
 * order (product-queue.view.ts, delayed-orders.view.ts). Each is a paged table read with queries
 * on the session's connection: a first page, then "Show more". While it is open, a live change
 * that concerns it reads it again (a burst of events costs one read), as many rows as it shows.
 */
import type { RunQuery } from "./delayed-counts.js";

/** Rows per request, and the most a refresh reads again (the API's largest page). */
export const DETAIL_PAGE = 50;
const MAX_REFRESH = 100;

/** One page of a detail view, as its source read it. */
export interface DetailPage<Row> {
  rows: Row[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
  /** The card's title and the line beside it. */
  title: string;
  hint: string;
}

/** What a detail view shows and how it reads it. */
export interface DetailSource<Row> {
  /** A name for tests and styles: `<section data-view>`. */
  readonly view: string;
  readonly columns: readonly { label: string; numeric?: boolean }[];
  /** The text of an empty table. */
  readonly empty: string;
  /** Reads `first` rows after `after`; null when what it shows no longer exists. */
  load(run: RunQuery, first: number, after: string | null): Promise<DetailPage<Row> | null>;
  /** One row of the table. */
  row(row: Row): HTMLTableRowElement;
  /** Whether a live change (to these products; to an order's state) may change what it shows. */
  concerns(productIds: readonly string[], orders: boolean): boolean;
}

/** The card; `show(source)` opens it, `close()` hides it. */
export class DetailPanel {
  private source: DetailSource<unknown> | null = null;
  private run: RunQuery | null = null;
  private shown = 0;
  private endCursor: string | null = null;
  /** Bumped by every show and refresh: an answer for an older one is dropped. */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly card: HTMLElement,
    private readonly refreshMs = 300,
  ) {
    this.more.addEventListener("click", () => void this.read(false));
  }

  private part<T extends HTMLElement>(selector: string): T {
    return this.card.querySelector<T>(selector)!;
  }

  private get more(): HTMLButtonElement {
    return this.part<HTMLButtonElement>(".more");
  }

  /** The connection to read with (null: none yet, or no key). Reads the open view again. */
  connect(run: RunQuery | null): void {
    this.run = run;
    if (this.source) void this.read(true);
  }

  show<Row>(source: DetailSource<Row>): void {
    this.source = source as DetailSource<unknown>;
    this.card.hidden = false;
    this.card.dataset.view = source.view;
    this.card.dataset.ready = "false";
    this.part(".title").textContent = "Loading…";
    this.part(".hint").textContent = "";
    const head = this.part<HTMLTableRowElement>(".detail-table thead tr");
    head.replaceChildren(
      ...source.columns.map(({ label, numeric }) => {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = label;
        if (numeric) th.className = "num";
        return th;
      }),
    );
    this.part(".detail-table tbody").replaceChildren();
    this.part(".detail-empty").hidden = true;
    this.more.hidden = true;
    void this.read(true);
  }

  close(): void {
    this.source = null;
    this.generation += 1;
    clearTimeout(this.timer);
    this.card.hidden = true;
    delete this.card.dataset.view;
  }

  /** A live change: when it concerns the open view, read it again shortly. */
  changed(productIds: readonly string[], orders: boolean): void {
    if (!this.source || !this.source.concerns(productIds, orders)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.read(true), this.refreshMs);
  }

  /** `fresh`: the first rows again (as many as shown, within a page); else the next page. */
  private async read(fresh: boolean): Promise<void> {
    const source = this.source;
    if (!source || !this.run) return;
    const generation = ++this.generation;
    const first = fresh ? Math.min(MAX_REFRESH, Math.max(DETAIL_PAGE, this.shown)) : DETAIL_PAGE;
    this.card.dataset.loading = "true";
    let page: DetailPage<unknown> | null;
    try {
      page = await source.load(this.run, first, fresh ? null : this.endCursor);
    } catch (error) {
      if (generation !== this.generation) return;
      this.card.dataset.loading = "false";
      this.part(".hint").textContent = `could not be read: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    if (generation !== this.generation) return;
    this.card.dataset.loading = "false";
    const body = this.part(".detail-table tbody");
    if (!page) {
      this.part(".title").textContent = "Not found";
      this.part(".hint").textContent = "it no longer exists";
      body.replaceChildren();
      this.more.hidden = true;
      return;
    }
    const rows = page.rows.map((row) => source.row(row));
    if (fresh) body.replaceChildren(...rows);
    else body.append(...rows);
    this.shown = body.children.length;
    this.endCursor = page.endCursor;
    this.part(".title").textContent = page.title;
    this.part(".hint").textContent = page.hint;
    const empty = this.part(".detail-empty");
    empty.textContent = source.empty;
    empty.hidden = page.totalCount > 0;
    this.more.hidden = !page.hasNextPage;
    this.more.textContent = `Show ${Math.min(DETAIL_PAGE, page.totalCount - this.shown)} more of ${page.totalCount - this.shown}`;
    this.card.dataset.ready = "true";
  }
}

/** A table cell: text, an optional class, an optional tooltip. */
export function cell(text: string, className = "", title?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

/** A link to a view of the page (`#/…`). */
export function viewLink(href: string, text: string, className = ""): HTMLAnchorElement {
  const link = document.createElement("a");
  link.href = href;
  link.textContent = text;
  if (className) link.className = className;
  return link;
}

/** The address of a product's queue. */
export function queueHref(productId: string): string {
  return `#/products/${encodeURIComponent(productId)}`;
}

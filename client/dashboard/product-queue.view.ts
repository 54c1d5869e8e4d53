/// <reference lib="dom" />
/**
 * A product's queue (the drill-down from the table): its waiting backorders in the order they
 * will be filled, with each one's place, order, customer (a pseudonym for READER keys), units,
 * priority, and promised and expected dates. Rows carry `data-position` and `data-order`.
 */
import { DashboardProductQueueDocument, type DashboardProductQueueQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { cell, type DetailPage, type DetailSource } from "./detail-panel.view.js";
import { count, plural, relativeDay, shortDate, words } from "./format.js";

type QueueEntry = NonNullable<DashboardProductQueueQuery["product"]>["backlog"]["nodes"][number];

/** A date cell: "Mar 3" and "in 3 days" under it; "—" for none. */
export function dateCell(iso: string | null | undefined, note?: string): HTMLTableCellElement {
  const td = cell("", "date");
  if (!iso) {
    td.append(Object.assign(document.createElement("span"), { className: "zero", textContent: "—" }));
    if (note) td.append(Object.assign(document.createElement("span"), { className: "sub", textContent: note }));
    return td;
  }
  td.dataset.value = iso;
  td.title = new Date(iso).toLocaleString();
  td.append(
    Object.assign(document.createElement("span"), { textContent: shortDate(iso) }),
    Object.assign(document.createElement("span"), { className: "sub", textContent: note ?? relativeDay(iso) }),
  );
  return td;
}

/** Whether a backorder is late, as a pill. */
export function lateCell(delayed: boolean): HTMLTableCellElement {
  const td = cell("");
  td.dataset.delayed = String(delayed);
  td.append(Object.assign(document.createElement("span"), { className: delayed ? "pill bad" : "pill ok", textContent: delayed ? "Delayed" : "On time" }));
  return td;
}

/** The queue of the product `productId`. */
export function productQueue(productId: string): DetailSource<QueueEntry> {
  return {
    view: "queue",
    columns: [
      { label: "#", numeric: true },
      { label: "Order" },
      { label: "Customer" },
      { label: "Units waiting", numeric: true },
      { label: "Priority", numeric: true },
      { label: "Placed" },
      { label: "Promised" },
      { label: "Expected" },
      { label: "" },
    ],
    empty: "No backorder waits for this product: every order of it is allocated.",
    async load(run: RunQuery, first: number, after: string | null): Promise<DetailPage<QueueEntry> | null> {
      const { product } = await run(DashboardProductQueueDocument, { id: productId, first, after });
      if (!product) return null;
      const { backlog, stock } = product;
      const restock = stock.nextRestockAt ? `next restock ${shortDate(stock.nextRestockAt)}` : "no restock scheduled";
      return {
        rows: backlog.nodes,
        totalCount: backlog.totalCount,
        hasNextPage: backlog.pageInfo.hasNextPage,
        endCursor: backlog.pageInfo.endCursor ?? null,
        title: `Queue of ${product.sku}`,
        hint:
          `${product.name} · ${plural(backlog.totalCount, "backorder")} waiting for ${plural(stock.backordered, "unit")} · ` +
          `${count(stock.available)} available, ${count(stock.incoming)} incoming, ${restock}`,
      };
    },
    row(entry) {
      const tr = document.createElement("tr");
      tr.dataset.position = String(entry.position ?? "");
      tr.dataset.order = entry.order.number;
      tr.dataset.customer = entry.order.customer;
      if (entry.delayed) tr.className = "late";
      const units = cell(count(entry.remaining), "num");
      if (entry.remaining !== entry.quantity) units.title = `${count(entry.remaining)} of ${plural(entry.quantity, "unit")} still waiting`;
      tr.append(
        cell(entry.position === null || entry.position === undefined ? "–" : count(entry.position), "num position"),
        cell(entry.order.number, "mono"),
        cell(entry.order.customer, "customer"),
        units,
        cell(entry.priority === 0 ? "–" : count(entry.priority), "num"),
        dateCell(entry.createdAt),
        dateCell(entry.promisedAt, entry.promisedAt ? undefined : "none promised"),
        dateCell(
          entry.expectedAt,
          entry.etaSource === "RESTOCK" ? "from a restock" : entry.etaSource === "LEAD_TIME" ? "lead time" : words(entry.etaSource),
        ),
        lateCell(entry.delayed),
      );
      return tr;
    },
    concerns: (productIds) => productIds.includes(productId),
  };
}

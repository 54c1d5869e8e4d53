/// <reference lib="dom" />
/**
 * Every delayed order: one row per late backorder (an order late on two products has two), oldest
 * first, with the product (a link to its queue), the place in its queue, and how late it is.
 * Rows carry `data-order` and `data-sku`.
 */
import { DashboardDelayedOrdersDocument, type DashboardDelayedOrdersQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { cell, type DetailPage, type DetailSource, queueHref, viewLink } from "./detail-panel.view.js";
import { count, plural, words } from "./format.js";
import { dateCell } from "./product-queue.view.js";

type LateBackorder = DashboardDelayedOrdersQuery["backlog"]["nodes"][number];

const DAY_MS = 86_400_000;

/** "3 days late", "no expected date": how far the expected date is past the promise. */
function lateness(entry: LateBackorder, now = Date.now()): string {
  if (!entry.expectedAt) return "no expected date";
  const promised = entry.promisedAt ? new Date(entry.promisedAt).getTime() : now;
  const late = new Date(entry.expectedAt).getTime() - promised;
  // Late while still expected on time: the promised date itself has passed.
  if (late <= 0) return "promise passed";
  const days = Math.round(late / DAY_MS);
  return days === 0 ? "hours late" : `${plural(days, "day")} late`;
}

export function delayedOrders(): DetailSource<LateBackorder> {
  return {
    view: "delayed",
    columns: [
      { label: "Order" },
      { label: "Customer" },
      { label: "Product" },
      { label: "Queue #", numeric: true },
      { label: "Units waiting", numeric: true },
      { label: "Placed" },
      { label: "Promised" },
      { label: "Expected" },
      { label: "Late by" },
    ],
    empty: "No order is delayed: every waiting backorder is expected by its promised date.",
    async load(run: RunQuery, first: number, after: string | null): Promise<DetailPage<LateBackorder>> {
      const { orders, backlog } = await run(DashboardDelayedOrdersDocument, { first, after });
      return {
        rows: backlog.nodes,
        totalCount: backlog.totalCount,
        hasNextPage: backlog.pageInfo.hasNextPage,
        endCursor: backlog.pageInfo.endCursor ?? null,
        title: "Delayed orders",
        hint: `${plural(orders.totalCount, "order")} late, on ${plural(backlog.totalCount, "backorder")} · oldest first`,
      };
    },
    row(entry) {
      const tr = document.createElement("tr");
      tr.dataset.order = entry.order.number;
      tr.dataset.sku = entry.product.sku;
      const product = cell("", "product");
      product.title = `${entry.product.sku}: ${entry.product.name}`;
      product.append(viewLink(queueHref(entry.product.id), entry.product.sku, "sku"));
      const order = cell(entry.order.number, "mono");
      order.title = words(entry.order.status);
      tr.append(
        order,
        cell(entry.order.customer, "customer"),
        product,
        cell(entry.position === null || entry.position === undefined ? "–" : count(entry.position), "num"),
        cell(count(entry.remaining), "num"),
        dateCell(entry.createdAt),
        dateCell(entry.promisedAt, entry.promisedAt ? undefined : "none promised"),
        dateCell(entry.expectedAt, entry.expectedAt ? undefined : "unknown"),
        cell(lateness(entry), "late-by"),
      );
      return tr;
    },
    // A fill, a cancellation, a new date or time passing: almost any change may end or start a delay.
    concerns: () => true,
  };
}

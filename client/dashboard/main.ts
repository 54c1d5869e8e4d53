/// <reference lib="dom" />
/**
 * The dashboard page's script (bundled for browsers by server/http/dashboard.ts): finds the page's
 * elements, keeps the API key (in localStorage under the explorer's name, so one key serves both
 * pages), and runs one live session per key.
 */
import { BacklogChart } from "./backlog-chart.view.js";
import { ConnectionView } from "./connection.view.js";
import { delayedOrders } from "./delayed-orders.view.js";
import { DetailPanel } from "./detail-panel.view.js";
import { EventFeed } from "./event-feed.view.js";
import { clock } from "./format.js";
import { saveHistoryStart } from "./history-start.js";
import { type DashboardViews, type LiveDashboard, startLiveDashboard } from "./live-dashboard.js";
import { MetricsPanel } from "./metrics-panel.view.js";
import { productQueue } from "./product-queue.view.js";
import { RefundsDuePanel } from "./refunds-due.view.js";
import { SuppliersPanel } from "./suppliers.view.js";
import { ReplenishmentList } from "./replenishment.view.js";
import { StockTable } from "./stock-table.view.js";
import { SummaryTiles } from "./summary.view.js";
import { WebhookHealthPanel } from "./webhook-health.view.js";
import { httpOperations, WhatIfForm } from "./what-if.view.js";

/** The explorer's storage key (client/explorer/explorer.js). */
const STORAGE = "backorder.apiKey";

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the dashboard page has no #${id}`);
  return found as T;
}

function storedKey(): string {
  try {
    return localStorage.getItem(STORAGE) ?? "";
  } catch {
    return "";
  }
}

function storeKey(key: string): void {
  try {
    localStorage.setItem(STORAGE, key);
  } catch {
    // Private mode: the key lasts as long as the page.
  }
}

const keyInput = byId<HTMLInputElement>("key");
const notice = byId<HTMLElement>("notice");
const lastEvent = byId<HTMLElement>("last-event");
const table = new StockTable(byId<HTMLTableSectionElement>("products"), byId("product-count"));
// The cursor of a line that drops off the feed is where the next page's history begins.
const feed = new EventFeed(byId<HTMLOListElement>("feed"), byId("feed-empty"), saveHistoryStart);
const detail = new DetailPanel(byId("detail"));
const chart = new BacklogChart(byId("chart"), byId("chart-now"));
const summary = new SummaryTiles(byId("summary"));
const metrics = new MetricsPanel(byId("metrics"));
const whatIf = new WhatIfForm(byId<HTMLFormElement>("what-if"));
// Whether the key may read the plan tells whether it may simulate restocks: the same roles.
const plan = new ReplenishmentList(byId("replenishment"), (allowed) => whatIf.access(allowed));
const refunds = new RefundsDuePanel(byId("refunds"));
const webhooks = new WebhookHealthPanel(byId("webhooks"));
const suppliers = new SuppliersPanel(byId("suppliers"));
let session: LiveDashboard | undefined;
const connection = new ConnectionView(
  byId("connection"),
  byId("banner"),
  (at) => session?.connectionDown(at),
  (_since, at) => session?.connectionUp(at),
);

const views: DashboardViews = {
  table,
  feed,
  chart,
  summary,
  connection,
  notice(text) {
    notice.hidden = text === null;
    notice.textContent = text ?? "";
  },
  lastEvent(at) {
    lastEvent.textContent = `Last event ${clock(at)}`;
    lastEvent.title = at.toLocaleString();
  },
  changed(productIds, orders) {
    detail.changed(productIds, orders);
    metrics.changed();
    plan.changed();
    whatIf.changed(productIds);
    // No subscription carries supplier-order events; those that move an order (placing a dropship
    // line, shipping, rejecting, cancelling) come with the order's event. An acknowledgement, and
    // time making an order late, show at the card's poll.
    if (orders) suppliers.changed();
  },
  refundsWritten() {
    refunds.changed();
  },
};

/**
 * The view in the address: `#/products/<id>` a product's queue, `#/delayed` the delayed orders,
 * anything else none. Links and the back button move between them; a reload keeps the view.
 */
function route(): void {
  const hash = location.hash;
  const product = /^#\/products\/(.+)$/.exec(hash);
  if (product) whatIf.show(decodeURIComponent(product[1]));
  else whatIf.close();
  if (product) detail.show(productQueue(decodeURIComponent(product[1])));
  else if (hash === "#/delayed") detail.show(delayedOrders());
  else detail.close();
  document.body.dataset.view = product ? "queue" : hash === "#/delayed" ? "delayed" : "stock";
}

/** Stops the current session and starts one with `key` (none: asks for one). */
async function start(key: string): Promise<void> {
  const previous = session;
  session = undefined;
  detail.connect(null);
  metrics.connect(null);
  plan.connect(null);
  refunds.connect(null);
  webhooks.connect(null);
  suppliers.connect(null);
  whatIf.connect(null, null);
  await previous?.stop();
  table.clear();
  feed.clear();
  chart.clear();
  summary.show(null);
  lastEvent.textContent = "";
  if (!key) {
    connection.reset("idle");
    views.notice("Enter an API key above to see live stock. A READER key is enough; the explorer and this page share it.");
    return;
  }
  connection.reset("connecting");
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  session = startLiveDashboard(url, key, views);
  detail.connect(session.query);
  metrics.connect(session.query);
  plan.connect(session.query);
  refunds.connect(session.query);
  webhooks.connect(session.query);
  suppliers.connect(session.query);
  whatIf.connect(session.query, httpOperations(key));
}

function useKey(): void {
  const key = keyInput.value.trim();
  storeKey(key);
  void start(key);
}

byId("use-key").addEventListener("click", useKey);
keyInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") useKey();
});
byId<HTMLInputElement>("filter").addEventListener("input", (event) => table.setFilter((event.target as HTMLInputElement).value));
// Relative dates ("in 3 days") and the chart's "now" move with the clock, not with the server:
// these redraw what the page has, they ask the server nothing.
setInterval(() => table.refreshDates(), 60_000);
setInterval(() => chart.render(), 5_000);

window.addEventListener("hashchange", route);
route();
keyInput.value = storedKey();
void start(keyInput.value.trim());

/// <reference lib="dom" />
/**
 * One live session of the dashboard for one API key, on the typed subscriber (client/subscriber.ts):
 *
 *  1. read `eventCursor`: where the event log ends now;
 *  2. load the snapshot: every product, page by page (100 a request), and count their delayed backorders;
 *  3. subscribe to stock, backlog, restock and order changes with `after` set to that cursor, so
 *     nothing that happened since step 1 is missed (what the snapshot already shows is restated).
 *
 * History: when this browser showed the dashboard before, it kept where the events its feed showed
 * begin (history-start.ts); on a first visit the history begins FEED_LIMIT events back in the log
 * (`eventCursor(back:)`). The session then also replays the log from there on a second set of
 * subscriptions, for the feed and the chart only (the table has the snapshot): each ends as soon
 * as it delivers an event the live one delivered too (or the other way round), so every event is
 * shown once. When the feed drops its oldest line, that line's cursor becomes the new start.
 *
 * From then on only events change the page: there is no polling. When the connection drops the
 * subscriber reconnects by itself and resumes every subscription from the last event it
 * delivered; the page says so (connection.view.ts) and marks the events it catches up on. When
 * the server no longer has those events (CURSOR_EXPIRED: the page was away longer than the
 * server keeps them), it goes through steps 1-3 again and says that it reloaded.
 */
import {
  DashboardHistoryCursorDocument,
  DashboardOrderChangedDocument,
  DashboardProductsDocument,
  type DashboardProductsQuery,
  EventCursorDocument,
} from "../generated/graphql.js";
import {
  type BacklogChange,
  createSubscriber,
  CursorExpiredError,
  type LiveSubscription,
  type RestockChange,
  type StockChange,
  SubscriptionError,
} from "../subscriber.js";
import type { BacklogChart } from "./backlog-chart.view.js";
import type { ConnectionView } from "./connection.view.js";
import { DelayedCounter, type RunQuery } from "./delayed-counts.js";
import { type EventFeed, FEED_LIMIT } from "./event-feed.view.js";
import { type FeedEntry, type OrderEvent, orderEntry, restockEntry, stockEntry } from "./feed-entries.js";
import { clock, count } from "./format.js";
import { readHistoryStart, saveHistoryStart } from "./history-start.js";
import { PastBacklog } from "./past-backlog.js";
import { ProductBoard, type RowUpdate } from "./product-board.js";
import type { StockTable } from "./stock-table.view.js";
import type { SummaryTiles } from "./summary.view.js";

/** Products per snapshot request: the API's largest page. */
const PAGE_SIZE = 100;

export interface DashboardViews {
  table: StockTable;
  feed: EventFeed;
  chart: BacklogChart;
  summary: SummaryTiles;
  connection: ConnectionView;
  /** Shows a message in place of the table (null hides it). */
  notice(text: string | null): void;
  /** The time of the last event received. */
  lastEvent(at: Date): void;
  /** Something changed live: the products it touched, and whether an order's state moved (for the open detail view). */
  changed(productIds: readonly string[], orders: boolean): void;
  /** An order's units were cancelled (CANCELLED) or expired (EXPIRED): each writes a refund. */
  refundsWritten(): void;
}

export interface LiveDashboard {
  /** Closes the connection; the views keep what they show. */
  stop(): Promise<void>;
  /** The connection view saw the connection drop at `at` (the chart shades the outage). */
  connectionDown(at: Date): void;
  /** ...and come back: events from the outage are marked as caught up in the feed. */
  connectionUp(at: Date): void;
  /** Runs a query on the session's connection (for the detail views). */
  query: RunQuery;
}

/** The four kinds of events the page follows, each on its own subscription. */
type EventKind = "stock" | "backlog" | "restock" | "order";

/**
 * Replayed and live events of one kind, until they meet: `past` holds the cursors the replay
 * delivered, `live` those the live subscription delivered, while the replay runs.
 */
interface Seam {
  replay: LiveSubscription;
  past: Set<string>;
  live: Set<string>;
}

/** What to tell a person about a failure that retrying will not fix. */
function refusal(error: unknown): string {
  const subscriptionError = error instanceof SubscriptionError ? error : undefined;
  const codes = new Set((subscriptionError?.errors ?? []).map((entry) => String(entry.extensions?.code ?? "")));
  const close = subscriptionError?.close?.code;
  if (codes.has("UNAUTHENTICATED") || close === 4401) {
    return "The server refused this API key (UNAUTHENTICATED): it is unknown, malformed or revoked. Enter a valid key above; a READER key is enough.";
  }
  if (codes.has("FORBIDDEN") || close === 4403) return "This API key may not read stock and orders (FORBIDDEN). Use a key with the READER role or above.";
  return `The dashboard stopped: ${error instanceof Error ? error.message : String(error)}. Press "Use key" to start again.`;
}

/**
 * Starts a session: loads the snapshot into the views, then keeps them current. `url` is the
 * WebSocket endpoint (ws://host/graphql). Never throws: failures are shown on the page.
 */
export function startLiveDashboard(url: string, apiKey: string, views: DashboardViews): LiveDashboard {
  const { table, feed, chart, summary, connection } = views;
  const board = new ProductBoard();
  /** Times the connection was down, to mark the events caught up afterwards. */
  const outages: { from: number; to: number | null }[] = [];
  let stopped = false;

  const subscriber = createSubscriber({
    url,
    authorization: `Bearer ${apiKey}`,
    retry: { minMs: 300, maxMs: 5_000 },
    onStatus: (status, close) => {
      if (stopped) return;
      if (status === "connected") connection.connected();
      else if (status === "connecting") connection.connecting();
      else connection.disconnected(close);
    },
    onError: (error) => {
      if (stopped) return;
      if (!error.retrying && seams.size > 0 && replayFailed(error)) return;
      if (error instanceof CursorExpiredError) reload(error);
      else if (error.retrying) console.warn(`dashboard: ${error.operation}: ${error.message} (retrying)`);
      else fail(error);
    },
  });

  const fail = (error: unknown) => {
    if (stopped) return;
    connection.refused(refusal(error));
    if (board.list().length === 0) views.notice(refusal(error));
    void stop();
  };

  const counter = new DelayedCounter(
    subscriber.query,
    (productId, delayed) => {
      const update = board.setDelayed(productId, delayed);
      // The first count of a product is not news: no highlight.
      if (update && update.changed.size > 0) shown(update, undefined, update.before?.delayed !== null);
    },
    (error) => {
      if (error instanceof SubscriptionError && !error.retrying && error.errors.some((entry) => entry.extensions?.code === "UNAUTHENTICATED")) fail(error);
      else console.warn("dashboard: counting delayed backorders failed; trying again", error);
    },
  );

  const totalsChanged = (at?: Date) => {
    const totals = board.totals();
    summary.show(totals);
    chart.record(totals.backordered, at);
  };

  const shown = (update: RowUpdate, at?: Date, highlight = true) => {
    table.show(update.row, update.changed, highlight);
    totalsChanged(at);
  };

  const caughtUp = (at: Date) => outages.some((outage) => outage.to !== null && at.getTime() >= outage.from && at.getTime() <= outage.to);

  /** The replays of the log from where the page's history begins, by kind, while they run. */
  const seams = new Map<EventKind, Seam>();

  /**
   * Whether a live event is news to the feed: not when the replay of its kind delivered it
   * already. Either way, when one side delivers what the other did, the replay has caught up and ends.
   */
  const liveFirst = (kind: EventKind, cursor: string): boolean => {
    const seam = seams.get(kind);
    if (!seam) return true;
    if (seam.past.has(cursor)) {
      endReplay(kind);
      return false;
    }
    seam.live.add(cursor);
    return true;
  };

  const endReplay = (kind: EventKind) => {
    seams.get(kind)?.replay.unsubscribe();
    seams.delete(kind);
  };

  const post = (entry: FeedEntry | null, kind: EventKind) => {
    if (!entry) return;
    const source = caughtUp(entry.at) ? "caught-up" : "live";
    // The replay got there first: the line is there, but this event happened since the page opened.
    if (liveFirst(kind, entry.cursor!)) feed.add(entry, source);
    else feed.promote(entry.cursor!, source);
  };

  const onStock = (event: StockChange) => {
    const at = new Date(event.at);
    views.lastEvent(at);
    const update = board.applyStock(event);
    if (!update.before) views.notice(null);
    const entry = stockEntry(event, update.before);
    if (entry) post(entry, "stock");
    else liveFirst("stock", event.cursor);
    if (update.changed.size > 0 || !update.before) shown(update, at);
    views.changed([event.product.id], false);
  };

  const onBacklog = (event: BacklogChange) => {
    const at = new Date(event.at);
    views.lastEvent(at);
    const update = board.applyBacklog(event);
    liveFirst("backlog", event.cursor);
    if (update.changed.size > 0 || !update.before) shown(update, at);
    // Filled, cancelled, re-dated or newly queued backorders: how many are late may have changed.
    counter.request([event.product.id]);
    views.changed([event.product.id], false);
  };

  const onRestock = (event: RestockChange) => {
    views.lastEvent(new Date(event.at));
    post(restockEntry(event), "restock");
    // A restock scheduled with nothing waiting changes no backlog, but it does change the plan.
    views.changed([event.restock.product.id], false);
  };

  const onOrder = (event: OrderEvent) => {
    views.lastEvent(new Date(event.at));
    post(orderEntry(event), "order");
    const productIds = event.order.lines.map((line) => line.product.id);
    // Time passing makes backorders late without any stock or backlog change: only this event tells.
    if (event.kind === "DELAYED") counter.request(productIds);
    views.changed(productIds, true);
    if (event.kind === "CANCELLED" || event.kind === "EXPIRED") views.refundsWritten();
  };

  /** What each replayed event of a kind does: a line in the feed (and, for the backlog, a point of the chart's past). */
  const replayed = (kind: EventKind, cursor: string, show: () => void): void => {
    const seam = seams.get(kind);
    if (!seam) return;
    if (seam.live.has(cursor)) {
      endReplay(kind);
      return;
    }
    seam.past.add(cursor);
    show();
  };

  /**
   * Replays the log after `start` up to the live subscriptions (which begin after `now`): the
   * feed's past, and the chart's. Only the figures events carry are used: the table already has
   * the snapshot.
   */
  const replayHistory = (start: string) => {
    const past = new PastBacklog(new Map(board.list().map((row) => [row.id, row.backordered])));
    /** Each product's on-hand figure in the replay so far, for the size of a stock count. */
    const onHand = new Map<string, { onHand: number }>();
    const open = (kind: EventKind, replay: LiveSubscription) => seams.set(kind, { replay, past: new Set(), live: new Set() });
    open(
      "stock",
      subscriber.stockChanged({ after: start }, (event) => {
        replayed("stock", event.cursor, () => {
          const entry = stockEntry(event, onHand.get(event.product.id));
          if (entry) feed.add(entry, "past");
        });
        onHand.set(event.product.id, { onHand: event.stock.onHand });
      }),
    );
    // The chart's past is drawn again once a burst of replayed events ends, not for each one.
    let redraw: ReturnType<typeof setTimeout> | undefined;
    open(
      "backlog",
      subscriber.backlogChanged({ after: start }, (event) => {
        replayed("backlog", event.cursor, () => {
          past.add(event);
          redraw ??= setTimeout(() => {
            redraw = undefined;
            if (!stopped) chart.setPast(past.series());
          }, 50);
        });
      }),
    );
    open(
      "restock",
      subscriber.restockChanged({ after: start }, (event) => {
        replayed("restock", event.cursor, () => feed.add(restockEntry(event), "past"));
      }),
    );
    open(
      "order",
      subscriber.subscribe(DashboardOrderChangedDocument, { after: start }, (event) => {
        replayed("order", event.cursor, () => feed.add(orderEntry(event), "past"));
      }),
    );
  };

  /**
   * A replay failed for good: its start is older than the server keeps events (CURSOR_EXPIRED), or
   * not a cursor of this server's log any more (a new database): the page goes on without history.
   * False when the error is not a replay's (the live subscriptions report theirs after).
   */
  const replayFailed = (error: SubscriptionError): boolean => {
    // A subscription that failed for good is inactive before its error is reported.
    if (![...seams.values()].some((seam) => !seam.replay.active)) return false;
    for (const kind of [...seams.keys()]) endReplay(kind);
    console.warn(`dashboard: the page's history could not be replayed (${error.message}); it starts now`);
    if (historyNow) saveHistoryStart(historyNow);
    return true;
  };
  /** The cursor this session's live subscriptions start after. */
  let historyNow: string | null = null;

  const connectionDown = (at: Date) => {
    // The history replays end here: whatever happens from now on reaches the page through the live
    // subscriptions when they resume (marked as caught up), not as history.
    for (const kind of [...seams.keys()]) endReplay(kind);
    outages.push({ from: at.getTime(), to: null });
    chart.down(at);
  };
  const connectionUp = (at: Date) => {
    const open = outages.at(-1);
    if (open && open.to === null) open.to = at.getTime();
    chart.up(at);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    seams.clear();
    counter.stop();
    await subscriber.dispose();
  };

  /** The subscriptions following the current snapshot. */
  let live: LiveSubscription[] = [];
  let reloading = false;

  /** Steps 1-3: where the log ends, every product, then the changes after that point. `progress` shows the loading notices. */
  const load = async (progress: boolean, history: boolean) => {
    const { eventCursor } = await subscriber.query(EventCursorDocument, {});
    let after: string | null = null;
    do {
      const { products }: DashboardProductsQuery = await subscriber.query(DashboardProductsDocument, { first: PAGE_SIZE, after });
      if (stopped) return;
      // On a reload, the figures that moved while the page could not follow are highlighted.
      for (const update of board.load(products.nodes)) table.show(update.row, update.before ? update.changed : undefined);
      after = products.pageInfo.hasNextPage ? products.pageInfo.endCursor : null;
      if (progress) views.notice(after ? `Loading products… ${count(board.list().length)} of ${count(products.totalCount)}` : null);
      if (products.totalCount === 0) views.notice("No products yet: they appear here as soon as they are created.");
    } while (after);
    totalsChanged();
    counter.request(board.list().map((row) => row.id));

    historyNow = eventCursor;
    // A browser that showed the dashboard before replays from where its feed began; a first visit
    // replays the last FEED_LIMIT events of the log.
    const start = history ? (readHistoryStart() ?? (await subscriber.query(DashboardHistoryCursorDocument, { back: FEED_LIMIT })).eventCursor) : null;
    if (stopped) return;
    if (start === null) saveHistoryStart(eventCursor);
    else if (start !== eventCursor) replayHistory(start);
    live = [
      subscriber.stockChanged({ after: eventCursor }, onStock),
      subscriber.backlogChanged({ after: eventCursor }, onBacklog),
      subscriber.restockChanged({ after: eventCursor }, onRestock),
      subscriber.subscribe(DashboardOrderChangedDocument, { after: eventCursor }, onOrder),
    ];
  };

  /** The events since the page's last one are gone: load a fresh snapshot (once, however many subscriptions say so). */
  const reload = (error: CursorExpiredError) => {
    if (reloading) return;
    reloading = true;
    console.warn(`dashboard: ${error.operation}: ${error.message}: reloading the snapshot`);
    for (const subscription of live) subscription.unsubscribe();
    for (const kind of [...seams.keys()]) endReplay(kind);
    load(false, false).then(() => {
      reloading = false;
      if (stopped) return;
      const at = new Date();
      feed.add({
        at,
        tone: "warn",
        tag: "Reloaded",
        subject: "Snapshot",
        text: "reloaded: the server no longer keeps the events since the last one received here, so changes in between are not listed",
      });
      connection.reloaded(
        `Reloaded at ${clock(at)}: the server no longer keeps the events since the last one this page received ` +
          "(they are older than its retention), so the figures were reloaded from a fresh snapshot. Changes in between are not in the feed.",
      );
    }, fail);
  };

  void (async () => {
    try {
      document.body.dataset.ready = "false";
      views.notice("Loading products…");
      await load(true, true);
      if (!stopped) document.body.dataset.ready = "true";
    } catch (error) {
      fail(error);
    }
  })();

  return { stop, connectionDown, connectionUp, query: subscriber.query };
}

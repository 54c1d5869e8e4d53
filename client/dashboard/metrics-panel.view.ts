/// <reference lib="dom" />
/**
 * The metrics panel: how the backlog served customers over the last 30 days (`backlogMetrics`, the
 * API's default window), as six figures: fill rate at placement, ETA accuracy, revenue protected
 * (per currency), lost demand (units and value, by refusal code in a small list), and the delayed
 * and at-risk backorders waiting now. Each figure carries its raw value in `data-value` (money as
 * JSON), for scripts and tests.
 *
 * It is read once when a key is used, then again after live events (the session tells it through
 * `changed()`), at the pace of {@link LiveRefresh}: a burst of orders costs one read, never more
 * than one every {@link REFRESH_QUIET_MS}. No polling: a backorder that crosses the at-risk age
 * without any event shows at the next event.
 */
import { DashboardMetricsDocument, type DashboardMetricsQuery } from "../generated/graphql.js";
import { type ServerError, SubscriptionError } from "../subscriber.js";
import type { RunQuery } from "./delayed-counts.js";
import { clock, count, plural, shortDate, words } from "./format.js";

type Metrics = DashboardMetricsQuery["backlogMetrics"];
/** A `Money` as the API sends it: a decimal string and a currency code. */
export interface MoneyValue {
  amount: string;
  currencyCode: string;
}

/** How long after the last event the panels read again, and the least time between two reads. */
export const REFRESH_QUIET_MS = 1_500;
/** The longest a read waits while events keep coming (a steady stream still updates the panels). */
export const REFRESH_MAX_WAIT_MS = 10_000;
/** Backorders waiting longer than this are at risk: the API's default `atRiskHours`. */
export const AT_RISK_HOURS = 72;

/**
 * Whether the server refused an operation to this key's role (`extensions.code` FORBIDDEN): a
 * {@link SubscriptionError} from the session's connection, or any error carrying the server's `errors`.
 */
export function isForbidden(error: unknown): boolean {
  const errors = error instanceof SubscriptionError ? error.errors : (error as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.some((entry: ServerError) => entry?.extensions?.code === "FORBIDDEN");
}

/**
 * What to say about a read that failed, or null when there is nothing to add: the session ended
 * because the server refused the key (the banner says why) or a new key replaced it.
 */
export function readFailure(error: unknown): string | null {
  if (error instanceof SubscriptionError) {
    const refused = error.errors.some((entry) => entry.extensions?.code === "UNAUTHENTICATED") || error.close?.code === 4401 || error.close?.code === 4403;
    if (refused || (!error.retrying && error.errors.length === 0 && !error.close && /disposed/.test(error.message))) return null;
  }
  return error instanceof Error ? error.message : String(error);
}

const percents = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

/** 0.953 → "95.3%"; null (nothing to divide by) → "–". */
export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? "–" : percents.format(share);
}

/** "$1,234.50" in the browser's locale; "1234.50 XYZ" for a code the browser does not know. */
export function money({ amount, currencyCode }: MoneyValue): string {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currencyCode }).format(Number(amount));
  } catch {
    return `${amount} ${currencyCode}`;
  }
}

/** "$12.00 · €3.50": one amount per currency, in the order given; "" for none. */
export function moneyList(values: readonly MoneyValue[]): string {
  return values.map(money).join(" · ");
}

/**
 * Adds amounts up per currency, exactly (in hundredths: `numeric(14,2)` totals stay far below 2^53),
 * currencies in the order they first appear.
 */
export function sumMoney(values: readonly MoneyValue[]): MoneyValue[] {
  const cents = new Map<string, number>();
  for (const { amount, currencyCode } of values) cents.set(currencyCode, (cents.get(currencyCode) ?? 0) + Math.round(Number(amount) * 100));
  return [...cents].map(([currencyCode, total]) => ({
    amount: `${total < 0 ? "-" : ""}${Math.floor(Math.abs(total) / 100)}.${String(Math.abs(total) % 100).padStart(2, "0")}`,
    currencyCode,
  }));
}

/**
 * When to read again after live events: `request()` on each event; the read starts once events
 * pause for `quietMs` (or `maxWaitMs` after the first unread event, whichever is sooner), never
 * sooner than `quietMs` after the previous read started, and never while one runs (an event during
 * a read asks for one more). `read` must not reject.
 */
export class LiveRefresh {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the oldest event not yet read arrived; null: none. */
  private firstPending: number | null = null;
  private lastEvent = Number.NEGATIVE_INFINITY;
  private lastRead = Number.NEGATIVE_INFINITY;
  private running = false;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly quietMs = REFRESH_QUIET_MS,
    private readonly maxWaitMs = REFRESH_MAX_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something changed: read again soon. */
  request(): void {
    if (this.stopped) return;
    this.lastEvent = this.now();
    this.firstPending ??= this.lastEvent;
    if (!this.running) this.arm();
  }

  /** Reads at once (a new key): what was pending is part of it. */
  readNow(): void {
    this.stopped = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstPending = null;
    void this.run();
  }

  /** Reads nothing more until `readNow`. */
  stop(): void {
    this.stopped = true;
    this.firstPending = null;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.firstPending === null) return;
    const now = this.now();
    const due = Math.max(Math.min(this.lastEvent + this.quietMs, this.firstPending + this.maxWaitMs), this.lastRead + this.quietMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.firstPending = null;
        void this.run();
      },
      Math.max(0, due - now),
    );
  }

  private async run(): Promise<void> {
    if (this.running) {
      // A read on its way answers for an older state: one more follows it.
      this.lastEvent = this.now();
      this.firstPending ??= this.lastEvent;
      return;
    }
    this.running = true;
    this.lastRead = this.now();
    try {
      await this.read();
    } finally {
      this.running = false;
      if (!this.stopped) this.arm();
    }
  }
}

/** The figures' names, as `data-metric` on the page. */
type Figure = "fillRate" | "etaAccuracy" | "revenueProtected" | "lostDemand" | "delayed" | "atRisk";
const FIGURES: readonly Figure[] = ["fillRate", "etaAccuracy", "revenueProtected", "lostDemand", "delayed", "atRisk"];

/** The panel in `root` (index.html's `#metrics`): `connect(run)` reads it, `changed()` after events. */
export class MetricsPanel {
  private run: RunQuery | null = null;
  /** Bumped by every connect: an answer read with an older key is dropped. */
  private generation = 0;
  private readonly refresh: LiveRefresh;

  constructor(
    private readonly root: HTMLElement,
    quietMs = REFRESH_QUIET_MS,
  ) {
    this.refresh = new LiveRefresh(() => this.read(), quietMs);
  }

  /** The session's queries (null: no key). Blanks the panel, then reads it. */
  connect(run: RunQuery | null): void {
    this.run = run;
    this.generation += 1;
    this.refresh.stop();
    for (const figure of FIGURES) this.figure(figure, "–", "");
    this.part(".breakdown").replaceChildren();
    this.message(null);
    this.root.dataset.ready = "false";
    this.part(".hint").textContent = run ? "loading…" : "";
    if (run) this.refresh.readNow();
  }

  /** A live event: orders, backlog, stock or restocks moved. */
  changed(): void {
    if (this.run) this.refresh.request();
  }

  private part<T extends HTMLElement>(selector: string): T {
    return this.root.querySelector<T>(selector)!;
  }

  private message(text: string | null, state = ""): void {
    const line = this.part(".notice");
    line.hidden = text === null;
    line.textContent = text ?? "";
    this.root.dataset.state = state;
  }

  private figure(name: Figure, value: string, note: string, raw = "", tone: "" | "warn" | "bad" = "", title = ""): void {
    const element = this.part(`[data-metric="${name}"]`);
    element.dataset.tone = tone;
    element.title = title;
    const shown = element.querySelector<HTMLElement>(".value")!;
    shown.textContent = value;
    shown.dataset.value = raw;
    element.querySelector(".note")!.textContent = note;
  }

  private async read(): Promise<void> {
    const run = this.run;
    const generation = this.generation;
    if (!run) return;
    this.root.dataset.loading = "true";
    try {
      const { backlogMetrics } = await run(DashboardMetricsDocument, {});
      if (generation !== this.generation) return;
      this.show(backlogMetrics);
      this.message(null);
    } catch (error) {
      if (generation !== this.generation) return;
      const why = readFailure(error);
      if (isForbidden(error)) this.message("This API key may not read the backlog metrics (FORBIDDEN): use a READER, OPERATOR or ADMIN key.", "forbidden");
      else if (why === null) this.part(".hint").textContent = "";
      else this.message(`The metrics could not be read: ${why}. They are read again at the next event.`, "error");
    } finally {
      if (generation === this.generation) this.root.dataset.loading = "false";
    }
  }

  /** Writes every figure from one answer of `backlogMetrics`. */
  show(metrics: Metrics): void {
    const ordered = metrics.unitsOrdered;
    this.figure(
      "fillRate",
      percent(metrics.fillRateAtPlacement),
      metrics.fillRateAtPlacement === null || metrics.fillRateAtPlacement === undefined
        ? "no units ordered yet"
        : `of ${plural(ordered, "unit")} ordered, from stock at once`,
      String(metrics.fillRateAtPlacement ?? ""),
    );
    this.figure(
      "etaAccuracy",
      percent(metrics.etaAccuracy),
      metrics.etaAccuracy === null || metrics.etaAccuracy === undefined
        ? "no promised backorder filled yet"
        : "of promised backorders filled by their date",
      String(metrics.etaAccuracy ?? ""),
      metrics.etaAccuracy !== null && metrics.etaAccuracy !== undefined && metrics.etaAccuracy < 0.9 ? "warn" : "",
    );
    this.figure(
      "revenueProtected",
      metrics.revenueProtected.length > 0 ? moneyList(metrics.revenueProtected) : "–",
      metrics.unitsBackordered > 0 ? `${plural(metrics.unitsBackordered, "unit")} sold on backorder` : "no unit sold on backorder",
      JSON.stringify(metrics.revenueProtected),
    );
    const lostUnits = metrics.lostDemand.reduce((sum, entry) => sum + entry.units, 0);
    const lostValue = sumMoney(metrics.lostDemand.flatMap((entry) => entry.value));
    const byCode = metrics.lostDemand.map(
      (entry) => `${words(entry.code)}: ${plural(entry.units, "unit")}${entry.value.length > 0 ? `, ${moneyList(entry.value)}` : ""}`,
    );
    this.figure(
      "lostDemand",
      count(lostUnits),
      lostUnits > 0 ? `units refused${lostValue.length > 0 ? `, ${moneyList(lostValue)}` : ""}` : "no unit refused",
      JSON.stringify(metrics.lostDemand),
      lostUnits > 0 ? "warn" : "",
      byCode.join("\n"),
    );
    this.part(".breakdown").replaceChildren(
      ...metrics.lostDemand.map((entry) => {
        const item = document.createElement("li");
        item.dataset.code = entry.code;
        item.dataset.units = String(entry.units);
        const code = Object.assign(document.createElement("span"), { className: "code", textContent: words(entry.code) });
        const amount = Object.assign(document.createElement("span"), {
          className: "amount",
          textContent: `${plural(entry.units, "unit")}${entry.value.length > 0 ? ` · ${moneyList(entry.value)}` : ""}`,
        });
        item.append(code, amount);
        return item;
      }),
    );
    this.figure(
      "delayed",
      count(metrics.delayedBackorders),
      metrics.delayedBackorders > 0 ? "backorders later than promised" : "every promise on time",
      String(metrics.delayedBackorders),
      metrics.delayedBackorders > 0 ? "bad" : "",
    );
    this.figure(
      "atRisk",
      count(metrics.atRiskBackorders),
      `waiting over ${AT_RISK_HOURS} hours, of ${plural(metrics.waitingUnits, "unit")} waiting`,
      String(metrics.atRiskBackorders),
      metrics.atRiskBackorders > 0 ? "warn" : "",
    );
    const to = new Date(metrics.to);
    this.part(".hint").textContent =
      `orders placed ${shortDate(metrics.from)} – ${shortDate(metrics.to)} · ${plural(metrics.ordersPlaced, "order")} · as of ${clock(new Date())}`;
    this.part(".hint").title = `${new Date(metrics.from).toLocaleString()} to ${to.toLocaleString()}`;
    this.root.dataset.ready = "true";
  }
}

/// <reference lib="dom" />
/**
 * The replenishment list: the most urgent lines of `replenishmentPlan` (the API orders them), one
 * per product: its SKU (a link to its queue), daily demand, uncovered units, the quantity to
 * order now, the date it is needed by, and the backorder limit supply can serve beside the
 * product's own. Rows carry `data-sku`, cells `data-field` and their raw value in `data-value`.
 *
 * The plan is for OPERATOR and ADMIN keys: with another key the card says so in one line (and
 * tells `onAccess`, so the what-if form can say it too), not as an error. It is read again after
 * live events at the metrics panel's pace (metrics-panel.view.ts, {@link LiveRefresh}).
 */
import { DashboardReplenishmentDocument, type DashboardReplenishmentQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { cell, queueHref, viewLink } from "./detail-panel.view.js";
import { count, relativeDay, shortDate } from "./format.js";
import { isForbidden, LiveRefresh, readFailure, REFRESH_QUIET_MS } from "./metrics-panel.view.js";

type PlanLine = DashboardReplenishmentQuery["replenishmentPlan"]["nodes"][number];

/** Lines shown: the most urgent. */
export const PLAN_LINES = 8;

/** The line a key below OPERATOR gets in place of the plan. */
export const OPERATOR_NEEDED = "The replenishment plan needs an OPERATOR or ADMIN key: this key may not read it (FORBIDDEN).";

const demand = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** 2.25 units a day → "2.3"; below 0.1 but not 0 → "<0.1". */
export function dailyDemand(units: number): string {
  return units > 0 && units < 0.05 ? "<0.1" : demand.format(units);
}

/** A number cell with its raw value; zeros faint. */
function numberCell(field: string, value: number, text = count(value), className = ""): HTMLTableCellElement {
  const td = cell("", "num");
  td.dataset.field = field;
  td.dataset.value = String(value);
  td.append(Object.assign(document.createElement("span"), { className: value === 0 ? "zero" : className, textContent: text }));
  return td;
}

/** One line of the plan as a table row. */
function planRow(line: PlanLine): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.sku = line.product.sku;
  tr.dataset.productId = line.product.id;
  const product = cell("", "product");
  product.dataset.field = "product";
  product.title = `${line.product.sku}: ${line.product.name} (open its queue)`;
  product.append(
    viewLink(queueHref(line.product.id), line.product.sku, "sku"),
    Object.assign(document.createElement("span"), { className: "name", textContent: line.product.name }),
  );

  const needed = cell("", "date");
  needed.dataset.field = "neededBy";
  needed.dataset.value = line.neededBy ?? "";
  if (line.neededBy) {
    needed.title = new Date(line.neededBy).toLocaleString();
    const late = new Date(line.neededBy).getTime() < Date.now();
    needed.append(
      Object.assign(document.createElement("span"), { className: late ? "empty" : "", textContent: shortDate(line.neededBy) }),
      Object.assign(document.createElement("span"), { className: "sub", textContent: relativeDay(line.neededBy) }),
    );
  } else {
    needed.append(Object.assign(document.createElement("span"), { className: "zero", textContent: "—" }));
  }

  const limit = cell("", "num");
  limit.dataset.field = "suggestedBackorderLimit";
  limit.dataset.value = line.suggestedBackorderLimit === null || line.suggestedBackorderLimit === undefined ? "" : String(line.suggestedBackorderLimit);
  limit.append(
    Object.assign(document.createElement("span"), {
      textContent: line.suggestedBackorderLimit === null || line.suggestedBackorderLimit === undefined ? "—" : count(line.suggestedBackorderLimit),
    }),
    Object.assign(document.createElement("span"), {
      className: "sub",
      textContent:
        line.product.backorderLimit === null || line.product.backorderLimit === undefined ? "now no limit" : `now ${count(line.product.backorderLimit)}`,
    }),
  );
  limit.title = "The backlog supply can serve within the product's longest wait (14 days when it has none)";

  const daily = numberCell("dailyDemand", line.dailyDemand, dailyDemand(line.dailyDemand));
  daily.title = `${demand.format(line.dailyDemand)} units ordered a day over the plan's window`;
  tr.append(
    product,
    daily,
    numberCell("uncoveredUnits", line.uncoveredUnits, count(line.uncoveredUnits), "pill warn"),
    numberCell("suggestedQuantity", line.suggestedQuantity, count(line.suggestedQuantity), "order"),
    needed,
    limit,
  );
  return tr;
}

/** The card in `root` (index.html's `#replenishment`). */
export class ReplenishmentList {
  private run: RunQuery | null = null;
  private generation = 0;
  private readonly refresh: LiveRefresh;

  constructor(
    private readonly root: HTMLElement,
    /** Hears whether this key may read the plan (and so simulate restocks): true, false, or null (no key yet). */
    private readonly onAccess: (allowed: boolean | null) => void = () => {},
    quietMs = REFRESH_QUIET_MS,
  ) {
    this.refresh = new LiveRefresh(() => this.read(), quietMs);
  }

  /** The session's queries (null: no key). Empties the list, then reads it. */
  connect(run: RunQuery | null): void {
    this.run = run;
    this.generation += 1;
    this.refresh.stop();
    this.part("tbody").replaceChildren();
    this.part(".hint").textContent = run ? "loading…" : "";
    this.message(null);
    this.root.dataset.ready = "false";
    this.onAccess(null);
    if (run) this.refresh.readNow();
  }

  /** A live event: demand, stock or restocks may have moved. */
  changed(): void {
    if (this.run && this.root.dataset.state !== "forbidden") this.refresh.request();
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

  private async read(): Promise<void> {
    const run = this.run;
    const generation = this.generation;
    if (!run) return;
    this.root.dataset.loading = "true";
    try {
      const { replenishmentPlan } = await run(DashboardReplenishmentDocument, { first: PLAN_LINES });
      if (generation !== this.generation) return;
      this.onAccess(true);
      this.part("tbody").replaceChildren(...replenishmentPlan.nodes.map(planRow));
      const shown = replenishmentPlan.nodes.length;
      this.part(".hint").textContent = replenishmentPlan.pageInfo.hasNextPage ? `the ${count(shown)} most urgent products` : "most urgent first";
      this.message(shown === 0 ? "Nothing to order: no product has demand or a backlog that stock and restocks do not cover." : null);
      this.root.dataset.ready = "true";
    } catch (error) {
      if (generation !== this.generation) return;
      if (isForbidden(error)) {
        this.part("tbody").replaceChildren();
        this.part(".hint").textContent = "";
        this.message(OPERATOR_NEEDED, "forbidden");
        this.onAccess(false);
        this.root.dataset.ready = "true";
      } else {
        const why = readFailure(error);
        if (why === null) this.part(".hint").textContent = "";
        else this.message(`The plan could not be read: ${why}. It is read again at the next event.`, "error");
      }
    } finally {
      if (generation === this.generation) this.root.dataset.loading = "false";
    }
  }
}

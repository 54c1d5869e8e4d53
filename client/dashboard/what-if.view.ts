/// <reference lib="dom" />
/**
 * The what-if form on a product's queue (`#/products/<id>`): units and an expected date (or
 * "receive now"); "Simulate" asks `simulateRestock` what that restock would do to the backlog
 * (units and backorders filled, delayed backorders before → after, each affected backorder's
 * expected date before → after), which writes nothing; then "Schedule this restock" makes exactly
 * the simulated restock real with `scheduleRestock` (and `receiveRestock` for "receive now").
 * Changing a field after a simulation withdraws the offer to schedule until it is simulated again,
 * so what is scheduled is always what was shown. Refusals (`userErrors`) are shown with their code.
 *
 * Both are for OPERATOR and ADMIN keys: with another key the form says so and its buttons do
 * nothing. The form's state is in `data-state` (idle, simulating, simulated, changed, scheduling,
 * scheduled, refused, failed) and `data-access` (forbidden), for scripts and tests.
 *
 * The simulation is a query on the session's connection; the mutations go over HTTP
 * ({@link httpOperations}): the subscriber sends queries and subscriptions only.
 */
import {
  DashboardReceiveRestockDocument,
  DashboardScheduleRestockDocument,
  DashboardSimulateRestockDocument,
  type DashboardSimulateRestockQuery,
  type SimulateRestockInput,
} from "../generated/graphql.js";
import type { Operation, ServerError } from "../subscriber.js";
import type { RunQuery } from "./delayed-counts.js";
import { cell } from "./detail-panel.view.js";
import { clock, count, plural, shortDate } from "./format.js";
import { isForbidden } from "./metrics-panel.view.js";
import { dateCell, lateCell } from "./product-queue.view.js";

type Simulation = DashboardSimulateRestockQuery["simulateRestock"];
type Affected = Simulation["affected"][number];

/** What a key below OPERATOR is told. */
export const SIMULATE_FORBIDDEN = "This API key may not simulate or schedule restocks (FORBIDDEN): an OPERATOR or ADMIN key is needed.";

/** How far ahead the date field starts: a week, at 09:00 local time. */
const DEFAULT_DAYS_AHEAD = 7;

/** An operation the server answered with errors over HTTP; `errors` as the server sent them. */
export class OperationError extends Error {
  constructor(
    message: string,
    readonly errors: readonly ServerError[],
  ) {
    super(message);
    this.name = "OperationError";
  }
}

/**
 * Runs generated operations (mutations too) over HTTP on this page's server, with `apiKey`.
 * Rejects with an {@link OperationError} when the server answers with errors.
 */
export function httpOperations(apiKey: string, endpoint = "/graphql"): RunQuery {
  return async <TResult, TVariables>(operation: Operation<TResult, TVariables>, variables: TVariables): Promise<TResult> => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: operation.toString(), variables }),
    });
    const body = (await response.json().catch(() => null)) as { data?: TResult; errors?: ServerError[] } | null;
    if (!body) throw new OperationError(`the server answered ${response.status} without a GraphQL response`, []);
    if (body.errors?.length || !body.data) {
      const errors = body.errors ?? [];
      throw new OperationError(errors.map((error) => error.message).join("; ") || `the server answered ${response.status}`, errors);
    }
    return body.data;
  };
}

/** `date` as a `datetime-local` value: "2025-03-10T09:00", local time. */
export function localDateTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The date field's first value: {@link DEFAULT_DAYS_AHEAD} days from `now`, 09:00. */
export function defaultExpectedAt(now = new Date()): string {
  const date = new Date(now.getFullYear(), now.getMonth(), now.getDate() + DEFAULT_DAYS_AHEAD, 9, 0);
  return localDateTime(date);
}

/** A restock to simulate as the form describes it, or what is wrong with the fields. */
export function readRestock(
  productId: string,
  fields: { quantity: string; expectedAt: string; receiveNow: boolean },
): { input: SimulateRestockInput } | { problem: string } {
  const quantity = Number(fields.quantity);
  if (!/^\s*\d+\s*$/.test(fields.quantity) || !Number.isSafeInteger(quantity) || quantity < 1)
    return { problem: "Enter the units as a whole number, 1 or more." };
  if (fields.receiveNow) return { input: { productId, quantity, receiveNow: true } };
  const expectedAt = new Date(fields.expectedAt);
  if (!fields.expectedAt || Number.isNaN(expectedAt.getTime())) return { problem: "Enter the date the restock is expected, or tick “receive now”." };
  return { input: { productId, quantity, expectedAt: expectedAt.toISOString(), receiveNow: false } };
}

/** "Mar 10, 09:00". */
function when(iso: string): string {
  const date = new Date(iso);
  return `${shortDate(iso)}, ${clock(date).slice(0, 5)}`;
}

/** The message of a failure, with the server's code when it sent one. */
function failure(error: unknown): string {
  const errors = (error as { errors?: readonly ServerError[] } | null)?.errors ?? [];
  const code = errors.map((entry) => entry.extensions?.code).find((value) => typeof value === "string");
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}

/** The form in `form` (index.html's `#what-if`, inside the detail card). */
export class WhatIfForm {
  private productId: string | null = null;
  private run: RunQuery | null = null;
  private mutate: RunQuery | null = null;
  /** null: not known yet. */
  private allowed: boolean | null = null;
  /** The restock the result shows; null when there is none or a field changed since. */
  private simulated: SimulateRestockInput | null = null;
  /** Bumped by every product, key and edit: an answer for an older one is dropped. */
  private generation = 0;
  private again: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly form: HTMLFormElement) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.simulate();
    });
    this.button("schedule").addEventListener("click", () => void this.schedule());
    form.addEventListener("input", () => this.edited());
    this.field("receiveNow").addEventListener("change", () => {
      this.field("expectedAt").disabled = this.field("receiveNow").checked;
      this.button("schedule").textContent = this.field("receiveNow").checked ? "Receive this restock now" : "Schedule this restock";
    });
  }

  private field(name: "quantity" | "expectedAt" | "receiveNow"): HTMLInputElement {
    return this.form.elements.namedItem(name) as HTMLInputElement;
  }

  private button(name: "simulate" | "schedule"): HTMLButtonElement {
    return this.form.querySelector<HTMLButtonElement>(`button.${name}`)!;
  }

  private part<T extends HTMLElement>(selector: string): T {
    return this.form.querySelector<T>(selector)!;
  }

  /** The session's query runner (simulation) and an HTTP runner for the mutations, with the same key; null: no key. */
  connect(run: RunQuery | null, mutate: RunQuery | null): void {
    this.run = run;
    this.mutate = mutate;
    this.allowed = null;
    this.reset();
  }

  /** Whether this key may read the plan, and so simulate (known from the replenishment list; null: not known). */
  access(allowed: boolean | null): void {
    this.allowed = allowed;
    this.update();
  }

  /**
   * A live change to these products: a simulation on show for one of them is run again (a burst of
   * events costs one), so what the form offers to schedule is what it would do now.
   */
  changed(productIds: readonly string[]): void {
    if (!this.productId || !productIds.includes(this.productId) || this.form.dataset.state !== "simulated") return;
    clearTimeout(this.again);
    this.again = setTimeout(() => {
      if (this.form.dataset.state === "simulated") void this.simulate();
    }, 500);
  }

  /** Opens the form for a product: blank result, the fields' first values. */
  show(productId: string): void {
    if (productId === this.productId && !this.form.hidden) return;
    this.productId = productId;
    this.form.hidden = false;
    this.field("quantity").value = "10";
    this.field("receiveNow").checked = false;
    this.field("expectedAt").disabled = false;
    this.field("expectedAt").value = defaultExpectedAt();
    this.button("schedule").textContent = "Schedule this restock";
    this.reset();
  }

  close(): void {
    this.productId = null;
    this.form.hidden = true;
    this.reset();
  }

  private reset(): void {
    this.generation += 1;
    clearTimeout(this.again);
    this.simulated = null;
    this.part(".what-if-result").hidden = true;
    this.state("idle", "");
  }

  private state(state: string, text: string): void {
    this.form.dataset.state = state;
    this.part(".what-if-status").textContent = text;
    this.update();
  }

  /** The buttons, from the state and the key's access. */
  private update(): void {
    const forbidden = this.allowed === false;
    this.form.dataset.access = forbidden ? "forbidden" : "";
    const busy = this.form.dataset.state === "simulating" || this.form.dataset.state === "scheduling";
    this.button("simulate").disabled = forbidden || busy || !this.run;
    this.button("schedule").disabled = forbidden || busy || !this.mutate || this.simulated === null || this.form.dataset.state !== "simulated";
    const access = this.part(".what-if-access");
    access.hidden = !forbidden;
    access.textContent = forbidden ? SIMULATE_FORBIDDEN : "";
  }

  /** A field changed: the result no longer describes the form, so it may not be scheduled. */
  private edited(): void {
    if (this.form.dataset.state !== "simulated") return;
    this.generation += 1;
    this.simulated = null;
    this.part(".what-if-result").classList.add("stale");
    this.state("changed", "Changed since the simulation: simulate again before scheduling.");
  }

  private async simulate(): Promise<void> {
    if (!this.productId || !this.run || this.allowed === false) return;
    const read = readRestock(this.productId, {
      quantity: this.field("quantity").value,
      expectedAt: this.field("expectedAt").value,
      receiveNow: this.field("receiveNow").checked,
    });
    if ("problem" in read) return this.state("failed", read.problem);
    const generation = ++this.generation;
    this.simulated = null;
    this.state("simulating", "Simulating…");
    try {
      const { simulateRestock } = await this.run(DashboardSimulateRestockDocument, { input: read.input });
      if (generation !== this.generation) return;
      this.simulated = read.input;
      this.showResult(simulateRestock, read.input);
      this.state(
        "simulated",
        `Simulated at ${clock(new Date())}: nothing has changed yet. ` +
          `${read.input.receiveNow ? "Receive" : "Schedule"} it to make it real, or change the fields and simulate again.`,
      );
    } catch (error) {
      if (generation !== this.generation) return;
      if (isForbidden(error)) {
        this.allowed = false;
        this.state("idle", "");
      } else {
        this.state("failed", `Could not simulate: ${failure(error)}`);
      }
    }
  }

  private async schedule(): Promise<void> {
    const input = this.simulated;
    if (!input || !this.mutate || this.form.dataset.state !== "simulated") return;
    const mutate = this.mutate;
    const generation = this.generation;
    this.state("scheduling", input.receiveNow ? "Receiving…" : "Scheduling…");
    try {
      // "Receive now" is a restock expected now, received at once: the simulation's receipt.
      const expectedAt = input.receiveNow ? new Date().toISOString() : input.expectedAt!;
      const { scheduleRestock } = await mutate(DashboardScheduleRestockDocument, {
        input: { productId: input.productId, quantity: input.quantity, expectedAt },
      });
      if (generation !== this.generation) return;
      const refusal = scheduleRestock.userErrors.map((error) => `${error.code}: ${error.message}`).join("; ");
      if (!scheduleRestock.restock) return this.state("refused", `Not scheduled: ${refusal || "the server gave no restock"}.`);
      const restock = scheduleRestock.restock;
      this.simulated = null;
      if (!input.receiveNow) {
        return this.state(
          "scheduled",
          `Scheduled: ${plural(restock.quantity, "unit")} expected ${when(restock.expectedAt)}. The queue below shows its effect.`,
        );
      }
      const { receiveRestock } = await mutate(DashboardReceiveRestockDocument, { id: restock.id });
      if (generation !== this.generation) return;
      if (!receiveRestock.restock) {
        const why = receiveRestock.userErrors.map((error) => `${error.code}: ${error.message}`).join("; ");
        return this.state("refused", `Scheduled for now, but not received: ${why}. Receive it from the explorer.`);
      }
      this.state("scheduled", `Received: ${plural(receiveRestock.restock.receivedQuantity, "unit")} now. The queue below shows its effect.`);
    } catch (error) {
      if (generation !== this.generation) return;
      if (isForbidden(error)) {
        this.allowed = false;
        this.state("idle", "");
      } else {
        this.state("failed", `Could not ${input.receiveNow ? "receive" : "schedule"}: ${failure(error)}`);
      }
    }
  }

  private showResult(simulation: Simulation, input: SimulateRestockInput): void {
    const result = this.part(".what-if-result");
    result.hidden = false;
    result.classList.remove("stale");
    const figure = (name: string, value: string, raw: Record<string, number>) => {
      const element = this.part(`[data-figure="${name}"] .value`);
      element.textContent = value;
      Object.assign(element.dataset, Object.fromEntries(Object.entries(raw).map(([key, number]) => [key, String(number)])));
    };
    figure("filledUnits", count(simulation.filledUnits), { value: simulation.filledUnits });
    figure("filledBackorders", count(simulation.filledBackorders), { value: simulation.filledBackorders });
    figure("delayed", `${count(simulation.delayedBefore)} → ${count(simulation.delayedAfter)}`, {
      before: simulation.delayedBefore,
      after: simulation.delayedAfter,
    });
    figure("remainingBackordered", count(simulation.remainingBackordered), { value: simulation.remainingBackordered });
    const delayed = this.part("[data-figure='delayed']");
    delayed.dataset.tone = simulation.delayedAfter < simulation.delayedBefore ? "good" : simulation.delayedAfter > simulation.delayedBefore ? "bad" : "";
    this.part(".what-if-rows").replaceChildren(...simulation.affected.map((entry) => this.affectedRow(entry, input)));
    const empty = this.part(".what-if-empty");
    empty.hidden = simulation.affected.length > 0;
    empty.textContent = "No waiting backorder would be filled or re-dated by this restock.";
  }

  private affectedRow(entry: Affected, input: SimulateRestockInput): HTMLTableRowElement {
    const tr = document.createElement("tr");
    const { backorder } = entry;
    tr.dataset.order = backorder.order.number;
    tr.dataset.filled = String(entry.filledUnits);
    tr.dataset.expectedBefore = entry.expectedAtBefore ?? "";
    tr.dataset.expectedAfter = entry.expectedAtAfter ?? "";
    const filledNow = entry.filledUnits > 0 && entry.filledUnits >= backorder.remaining;
    const delay = cell("");
    delay.dataset.delayedBefore = String(entry.delayedBefore);
    delay.dataset.delayedAfter = String(entry.delayedAfter);
    if (entry.delayedBefore === entry.delayedAfter) delay.append(...Array.from(lateCell(entry.delayedAfter).childNodes));
    else
      delay.append(
        Object.assign(document.createElement("span"), {
          className: entry.delayedAfter ? "pill bad" : "pill ok",
          textContent: entry.delayedAfter ? "Becomes delayed" : "No longer delayed",
        }),
      );
    tr.append(
      cell(backorder.position === null || backorder.position === undefined ? "–" : count(backorder.position), "num position"),
      cell(backorder.order.number, "mono"),
      cell(backorder.order.customer, "customer"),
      cell(count(backorder.remaining), "num"),
      cell(entry.filledUnits === 0 ? "–" : count(entry.filledUnits), "num"),
      dateCell(backorder.promisedAt, backorder.promisedAt ? undefined : "none promised"),
      dateCell(entry.expectedAtBefore, entry.expectedAtBefore ? undefined : "unknown"),
      filledNow && input.receiveNow ? cell("filled now", "date good") : dateCell(entry.expectedAtAfter, entry.expectedAtAfter ? undefined : "unknown"),
      delay,
    );
    return tr;
  }
}

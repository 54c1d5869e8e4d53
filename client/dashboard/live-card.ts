/// <reference lib="dom" />
/**
 * A dashboard card filled from one query and read again when what it shows may have changed: after
 * the live events that change it (`changed()`, paced by {@link LiveRefresh} like the metrics panel)
 * and every `pollMs` for what the event log does not carry (a refund marked paid, a webhook
 * delivery's attempts). The poll only asks the pacer, so a poll and an event never read twice.
 *
 * The card's element holds a `.hint` and a `.notice`; it says `data-ready`, `data-loading` and
 * `data-state` ("", "forbidden", "error") as the metrics panel does. A key whose role may not read
 * the query gets one line saying so, and no further reads until another key is used.
 */
import type { RunQuery } from "./delayed-counts.js";
import { isForbidden, LiveRefresh, readFailure, REFRESH_QUIET_MS } from "./metrics-panel.view.js";

export abstract class LiveCard {
  private run: RunQuery | null = null;
  /** Bumped by every connect: an answer read with an older key is dropped. */
  private generation = 0;
  private readonly refresh: LiveRefresh;
  private poll: ReturnType<typeof setInterval> | undefined;

  constructor(
    protected readonly root: HTMLElement,
    /** What the card reads, for its messages: "The refunds due". */
    private readonly subject: string,
    private readonly pollMs: number,
    quietMs = REFRESH_QUIET_MS,
  ) {
    this.refresh = new LiveRefresh(() => this.read(), quietMs);
  }

  /** The session's queries (null: no key). Empties the card, then reads it. */
  connect(run: RunQuery | null): void {
    this.run = run;
    this.generation += 1;
    this.refresh.stop();
    clearInterval(this.poll);
    this.poll = undefined;
    this.clear();
    this.part(".hint").textContent = run ? "loading…" : "";
    this.message(null);
    this.root.dataset.ready = "false";
    if (!run) return;
    this.refresh.readNow();
    this.poll = setInterval(() => this.changed(), this.pollMs);
  }

  /** What the card shows may have changed: read again soon. */
  changed(): void {
    if (this.run && this.root.dataset.state !== "forbidden") this.refresh.request();
  }

  /** Empties what the card shows. */
  protected abstract clear(): void;

  /** Reads the card's query; resolves to what shows the answer (dropped when the key changed meanwhile). */
  protected abstract fetch(run: RunQuery): Promise<() => void>;

  protected part<T extends HTMLElement>(selector: string): T {
    return this.root.querySelector<T>(selector)!;
  }

  /** A line in place of the content (null: none), and the card's state. */
  protected message(text: string | null, state = ""): void {
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
      const show = await this.fetch(run);
      if (generation !== this.generation) return;
      this.message(null);
      show();
      this.root.dataset.ready = "true";
    } catch (error) {
      if (generation !== this.generation) return;
      if (isForbidden(error)) {
        this.clear();
        this.part(".hint").textContent = "";
        this.message(`This API key may not read this (FORBIDDEN): ${this.subject} need a READER, OPERATOR or ADMIN key.`, "forbidden");
        this.root.dataset.ready = "true";
        clearInterval(this.poll);
      } else {
        const why = readFailure(error);
        if (why === null) this.part(".hint").textContent = "";
        else this.message(`${this.subject} could not be read: ${why}. They are read again at the next change.`, "error");
      }
    } finally {
      if (generation === this.generation) this.root.dataset.loading = "false";
    }
  }
}

/**
 * Writes one figure of a card's `<dl class="figures">` (`[data-metric=name]` with a `.value` and a
 * `.note`): its text, its raw value in `data-value` (for scripts and tests), and its tone.
 */
export function showFigure(
  root: HTMLElement,
  name: string,
  figure: { value: string; note: string; raw: string; tone?: "" | "warn" | "bad" | "good"; title?: string },
): void {
  const element = root.querySelector<HTMLElement>(`[data-metric="${name}"]`)!;
  element.dataset.tone = figure.tone ?? "";
  element.title = figure.title ?? "";
  const shown = element.querySelector<HTMLElement>(".value")!;
  shown.textContent = figure.value;
  shown.dataset.value = figure.raw;
  element.querySelector(".note")!.textContent = figure.note;
}

/** A table cell with its field's name and raw value, for scripts and tests; `parts` are its lines. */
export function fieldCell(field: string, raw: string, className: string, ...parts: HTMLElement[]): HTMLTableCellElement {
  const td = document.createElement("td");
  td.className = className;
  td.dataset.field = field;
  td.dataset.value = raw;
  td.append(...parts);
  return td;
}

/** A span of text (with a class: "sub" a second line, "zero" faint, "pill bad" a badge). */
export function span(text: string, className = ""): HTMLSpanElement {
  return Object.assign(document.createElement("span"), { className, textContent: text });
}

/**
 * The figures a run produces, each beside the baseline it is judged against, and the tables and
 * JSON they are printed as: one table of the figures with a target, each row saying pass or miss,
 * and one of the figures measured for context, without a target.
 */
import { writeFileSync } from "node:fs";

/** What a figure must meet: a bound on its value or on its ratio to the baseline. */
export interface Target {
  on: "value" | "ratio";
  op: ">=" | "<=";
  bound: number;
}

export interface Figure {
  scenario: string;
  name: string;
  unit: string;
  value: number | null;
  /** What the baseline is, in a few words. */
  baselineName?: string;
  baseline?: number | null;
  /** value / baseline. */
  ratio?: number | null;
  /** A third figure measured beside the two, for context (e.g. the in-process service call). */
  reference?: { name: string; value: number | null };
  target?: Target;
  /** A target that is not a simple bound (e.g. "same for all N"), already judged. */
  targetText?: string;
  pass?: boolean | null;
  /** "pass" or "miss" against the target; null without one. */
  verdict?: "pass" | "miss" | null;
  note?: string;
}

export interface Skipped {
  scenario: string;
  reason: string;
}

function judge(figure: Figure): boolean | null {
  if (figure.pass !== undefined) return figure.pass;
  if (!figure.target) return null;
  const x = figure.target.on === "value" ? figure.value : figure.ratio;
  if (x === null || x === undefined || Number.isNaN(x)) return false;
  return figure.target.op === ">=" ? x >= figure.target.bound : x <= figure.target.bound;
}

function targetText(figure: Figure): string {
  if (figure.targetText) return figure.targetText;
  if (!figure.target) return "";
  const { on, op, bound } = figure.target;
  const sign = op === ">=" ? "≥" : "≤";
  return on === "ratio" ? `ratio ${sign} ${bound}` : `${sign} ${format(bound)} ${figure.unit}`;
}

/** A number to at most three significant decimals, grouped by thousands. */
export function format(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Completes each figure: ratio from value and baseline, pass from its target. */
export function finish(figure: Figure): Figure {
  const ratio =
    figure.ratio !== undefined
      ? figure.ratio
      : figure.value !== null && figure.baseline !== undefined && figure.baseline !== null && figure.baseline !== 0
        ? figure.value / figure.baseline
        : null;
  const done = { ...figure, ratio };
  const pass = judge(done);
  return { ...done, pass, verdict: pass === null ? null : pass ? "pass" : "miss" };
}

function render(header: string[], rows: string[][], numeric: (column: number) => boolean): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), rule, ...rows.map(line)];
}

function figureName(f: Figure): string {
  return `${f.name}${f.unit ? ` (${f.unit})` : ""}`;
}

function baselineCell(f: Figure): string {
  return f.baselineName ? `${format(f.baseline)} ${f.baselineName}` : "";
}

function referenceCell(f: Figure): string {
  return f.reference ? `${format(f.reference.value)} ${f.reference.name}` : "";
}

function ratioCell(f: Figure): string {
  return f.ratio === null || f.ratio === undefined ? "" : f.ratio.toFixed(2);
}

/**
 * The tables, as fixed-width text (also valid Markdown): the figures with a target, each row
 * pass or miss, then the figures measured for context.
 */
export function table(figures: Figure[], skipped: Skipped[]): string {
  const judged = figures.filter((f) => f.pass !== null && f.pass !== undefined);
  const context = figures.filter((f) => f.pass === null || f.pass === undefined);
  const out: string[] = [];
  if (judged.length) {
    out.push(
      ...render(
        ["scenario", "figure", "value", "baseline", "ratio", "target", "pass", "also measured"],
        judged.map((f) => [
          f.scenario,
          figureName(f),
          format(f.value),
          baselineCell(f),
          ratioCell(f),
          targetText(f),
          f.pass ? "pass" : "miss",
          referenceCell(f),
        ]),
        (i) => i >= 2 && i <= 4,
      ),
    );
  }
  if (context.length) {
    if (out.length) out.push("");
    out.push(
      "Measured for context (no target):",
      "",
      ...render(
        ["scenario", "figure", "value", "baseline", "ratio", "also measured"],
        context.map((f) => [f.scenario, figureName(f), format(f.value), baselineCell(f), ratioCell(f), referenceCell(f)]),
        (i) => i >= 2 && i <= 4,
      ),
    );
  }
  for (const s of skipped) out.push(`\nskipped ${s.scenario}: ${s.reason}`);
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.scenario} / ${f.name}: ${f.note}`);
  if (notes.length) out.push("", "notes:", ...notes);
  return out.join("\n");
}

export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; postgres?: string; platform: string };
  options: Record<string, unknown>;
  /** How many figures with a target passed and missed. */
  targets: { pass: number; miss: number };
  figures: Figure[];
  skipped: Skipped[];
}

/** Writes the run as JSON, with the count of targets passed and missed. */
export function writeJson(file: string, record: Omit<RunRecord, "targets">): void {
  const { figures, skipped, ...run } = record;
  const targets = {
    pass: figures.filter((f) => f.pass === true).length,
    miss: figures.filter((f) => f.pass === false).length,
  };
  writeFileSync(file, `${JSON.stringify({ ...run, targets, figures, skipped } satisfies RunRecord, null, 2)}\n`);
}

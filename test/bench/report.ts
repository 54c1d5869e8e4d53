/**
 * The figures a run produces, each beside the baseline it is judged against, and the table and
 * JSON they are printed as.
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
  target?: Target;
  /** A target that is not a simple bound (e.g. "same for all N"), already judged. */
  targetText?: string;
  pass?: boolean | null;
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
  return { ...done, pass: judge(done) };
}

/** The table, as fixed-width text (also valid Markdown). */
export function table(figures: Figure[], skipped: Skipped[]): string {
  const header = ["scenario", "figure", "value", "baseline", "ratio", "target", "pass"];
  const rows = figures.map((f) => [
    f.scenario,
    `${f.name}${f.unit ? ` (${f.unit})` : ""}`,
    format(f.value),
    f.baselineName ? `${format(f.baseline)} ${f.baselineName}` : "",
    f.ratio === null || f.ratio === undefined ? "" : f.ratio.toFixed(2),
    targetText(f),
    f.pass === null || f.pass === undefined ? "" : f.pass ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const out = [line(header), `|${widths.map((w, i) => (i >= 2 && i <= 4 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...rows.map(line)];
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
  figures: Figure[];
  skipped: Skipped[];
}

export function writeJson(file: string, record: RunRecord): void {
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

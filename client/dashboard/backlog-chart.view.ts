/// <reference lib="dom" />
/**
 * A small step chart of the total backlog (units waiting, all products): the past the page
 * replayed from the event log, then every change since it opened, drawn as inline SVG, one point
 * per change, the times the connection was down shaded.
 */
import { clock, count, shortDate } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
/** Points kept: older ones fall off the left. */
const MAX_POINTS = 2_000;
/** The narrowest time span shown, so the first few changes are not squeezed into one vertical line. */
const MIN_SPAN_MS = 30_000;
const HEIGHT = 150;
const PAD = { left: 44, right: 14, top: 12, bottom: 24 };

interface Point {
  t: number;
  value: number;
}

/** 1, 2, 5, 10, 20, 50… at or above `value` (at least 5). */
function niceCeiling(value: number): number {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The chart in its container; redraws on every change, on resize, and when asked (the clock moves). */
export class BacklogChart {
  private readonly points: Point[] = [];
  /** Totals from before the page opened (replayed), drawn before the first live point. */
  private readonly past: Point[] = [];
  private readonly outages: { from: number; to: number | null }[] = [];

  constructor(
    private readonly container: HTMLElement,
    /** Shows the latest total in words next to the chart. */
    private readonly current?: HTMLElement,
  ) {
    new ResizeObserver(() => this.render()).observe(container);
  }

  /** Number of points drawn (for tests). */
  get size(): number {
    return this.series().length;
  }

  clear(): void {
    this.points.length = 0;
    this.past.length = 0;
    this.outages.length = 0;
    this.render();
  }

  /** The totals from before the page opened (replayed from the log), oldest first; replaces the previous ones. */
  setPast(points: readonly Point[]): void {
    this.past.splice(0, this.past.length, ...points.slice(-MAX_POINTS));
    this.render();
  }

  /** The replayed past up to the first live point, then the live points. */
  private series(): Point[] {
    const first = this.points[0];
    if (!first) return this.past;
    const past = this.past.filter((point) => point.t < first.t);
    return past.length === 0 ? this.points : [...past, ...this.points];
  }

  /** Records the total at `at`; a value equal to the last one adds nothing. */
  record(value: number, at: Date = new Date()): void {
    const last = this.points.at(-1);
    // Events replayed after a reconnect may carry times before the last point: time only moves forward here.
    const t = Math.max(at.getTime(), last?.t ?? 0);
    if (last && last.value === value) return;
    if (last && last.t === t) last.value = value;
    else this.points.push({ t, value });
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.render();
  }

  /** The connection dropped at `at`. */
  down(at: Date = new Date()): void {
    this.outages.push({ from: at.getTime(), to: null });
    this.render();
  }

  /** The connection is back. */
  up(at: Date = new Date()): void {
    const open = this.outages.at(-1);
    if (open && open.to === null) open.to = at.getTime();
    this.render();
  }

  /** Redraws at the container's current width, up to now. */
  render(): void {
    const width = Math.max(240, Math.floor(this.container.clientWidth));
    const now = Date.now();
    const root = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img" });
    const points = this.series();
    const last = points.at(-1);
    root.setAttribute("aria-label", last ? `Total backordered units over time; now ${last.value}` : "Total backordered units over time");
    if (this.current) this.current.textContent = last ? `${count(last.value)} now` : "";
    if (!last) {
      root.append(svg("text", { x: width / 2, y: HEIGHT / 2, class: "chart-empty", "text-anchor": "middle" }, "No data yet"));
      this.container.replaceChildren(root);
      return;
    }
    const start = points[0].t;
    const until = Math.max(now, last.t);
    // A young chart leaves the rest of its first half minute empty on the right.
    const end = Math.max(until, start + MIN_SPAN_MS);
    const top = niceCeiling(points.reduce((highest, point) => Math.max(highest, point.value), 0));
    const plotWidth = width - PAD.left - PAD.right;
    const plotHeight = HEIGHT - PAD.top - PAD.bottom;
    const x = (t: number) => PAD.left + ((t - start) / (end - start)) * plotWidth;
    const y = (value: number) => PAD.top + plotHeight - (value / top) * plotHeight;

    const defs = svg("defs", {});
    const hatch = svg("pattern", { id: "outage-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    hatch.append(svg("rect", { width: 2, height: 6, class: "outage-stripe" }));
    defs.append(hatch);
    root.append(defs);

    for (const value of [0, top / 2, top]) {
      root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(value), y2: y(value), class: "grid" }));
      root.append(svg("text", { x: PAD.left - 8, y: y(value) + 4, class: "axis", "text-anchor": "end" }, count(value)));
    }
    for (const outage of this.outages) {
      const from = x(Math.max(outage.from, start));
      const to = x(outage.to ?? until);
      const band = svg("rect", { x: from, y: PAD.top, width: Math.max(2, to - from), height: plotHeight, class: "outage" });
      band.append(svg("title", {}, `Connection down ${clock(new Date(outage.from))}–${outage.to ? clock(new Date(outage.to)) : "now"}`));
      root.append(band);
    }

    let line = `M${x(points[0].t).toFixed(1)},${y(points[0].value).toFixed(1)}`;
    for (const point of points.slice(1)) line += `H${x(point.t).toFixed(1)}V${y(point.value).toFixed(1)}`;
    line += `H${x(until).toFixed(1)}`;
    const area = `${line}V${y(0).toFixed(1)}H${x(points[0].t).toFixed(1)}Z`;
    root.append(svg("path", { d: area, class: "area" }), svg("path", { d: line, class: "line" }));
    root.append(svg("circle", { cx: x(until), cy: y(last.value), r: 3.5, class: "dot" }));

    // Seconds while the chart spans minutes; hours and minutes after; the day too past a day.
    const time = (t: number) => {
      if (end - start > 20 * 3_600_000) return `${shortDate(new Date(t).toISOString())} ${clock(new Date(t)).slice(0, 5)}`;
      return end - start > 30 * 60_000 ? clock(new Date(t)).slice(0, 5) : clock(new Date(t));
    };
    root.append(svg("text", { x: PAD.left, y: HEIGHT - 6, class: "axis", "text-anchor": "start" }, time(start)));
    if (until < end - 1000 && x(until) - PAD.left > 80 && width - PAD.right - x(until) > 80)
      root.append(svg("text", { x: x(until), y: HEIGHT - 6, class: "axis", "text-anchor": "middle" }, "now"));
    root.append(svg("text", { x: width - PAD.right, y: HEIGHT - 6, class: "axis", "text-anchor": "end" }, until < end - 1000 ? time(end) : "now"));
    this.container.replaceChildren(root);
  }
}

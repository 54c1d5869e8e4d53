/**
 * The table `npm run simulate` prints: the backlog metrics of the simulated month, then the run's
 * own counts. A function of the result alone (no timings), so one seed prints one table.
 */
import type { MoneyAmount, Percentiles } from "../services/backlog-metrics.query.js";
import type { SimulationResult } from "./simulation-run.js";

const money = (amounts: readonly MoneyAmount[]): string => (amounts.length === 0 ? "0" : amounts.map((m) => `${m.amount} ${m.currencyCode}`).join(", "));
const ratio = (value: number | null): string => (value === null ? "n/a" : value.toFixed(3));
const hours = (value: number | null): string => (value === null ? "n/a" : `${value.toFixed(1)} h`);
const percentiles = (p: Percentiles): string => `p50 ${hours(p.p50Hours)}, p90 ${hours(p.p90Hours)}, max ${hours(p.maxHours)}`;
const day = (date: Date): string => date.toISOString().slice(0, 16).replace("T", " ");

/** The rows of the table: [figure, value], with a null figure for a section heading. */
export function simulationRows(result: SimulationResult): [string | null, string][] {
  const { metrics: m, counts: c, options } = result;
  const lost = m.lostDemand.map((figure) => [`  ${figure.code}`, `${figure.units} units (${money(figure.value)})`] as [string, string]);
  return [
    [null, `backlogMetrics, ${day(m.from)} to ${day(m.to)} UTC (seed ${options.seed}, ${options.kind}, ${options.products} products)`],
    ["ordersPlaced", String(m.ordersPlaced)],
    ["unitsOrdered", String(m.unitsOrdered)],
    ["unitsBackordered", String(m.unitsBackordered)],
    ["revenueProtected", money(m.revenueProtected)],
    ["lostDemand", m.lostDemand.length === 0 ? "none" : `${m.lostDemand.reduce((sum, figure) => sum + figure.units, 0)} units`],
    ...lost,
    ["fillRateAtPlacement", ratio(m.fillRateAtPlacement)],
    ["timeToFill", percentiles(m.timeToFill)],
    ["backlogAge", percentiles(m.backlogAge)],
    ["backorderCancelRate", ratio(m.backorderCancelRate)],
    ["etaAccuracy", ratio(m.etaAccuracy)],
    ["waitingUnits", String(m.waitingUnits)],
    ["delayedBackorders", String(m.delayedBackorders)],
    ["atRiskBackorders", String(m.atRiskBackorders)],
    [null, "the run"],
    ["orders placed / refused whole", `${c.orders} / ${c.refusedOrders}`],
    ["lines cut (allowPartial)", String(c.cutLines)],
    ["cancellations / dropped", `${c.cancellations} / ${c.cancellationsDropped}`],
    ["orders shipped", String(c.shipments)],
    ["restocks scheduled", String(c.restocksScheduled)],
    ["  received early", String(c.restocksReceived.early)],
    ["  received on time", String(c.restocksReceived["on-time"])],
    ["  received late", String(c.restocksReceived.late)],
    ["  rescheduled by the supplier", String(c.restocksRescheduled)],
    ["  still open at the end", String(c.restocksOpen)],
    ["backorders that slipped", String(c.slippedBackorders)],
    ["DELAYED events", String(c.delayedEvents)],
  ];
}

/** The table as text, two aligned columns under section headings. */
export function formatSimulation(result: SimulationResult): string {
  const table = simulationRows(result);
  const width = Math.max(...table.map(([figure]) => (figure ?? "").length));
  return table
    .map(([figure, value]) => (figure === null ? `\n${value}` : `  ${figure.padEnd(width)}  ${value}`))
    .join("\n")
    .trimStart();
}

/**
 * Plays a scenario (`simulation-scenario.ts`) against an embedded database through the services,
 * under a virtual clock (`virtual-clock.ts`), and reads the backlog metrics of the month it made
 * (docs/ARCHITECTURE.md, "Simulating a month"). Every change goes through the same service calls
 * the API makes, one transaction each, so the run leaves a database the audit finds consistent.
 */
import { eq, sql } from "drizzle-orm";
import { connect, type Connection, type Database, rows, runMigrations, schema } from "../../drizzle/db.js";
import { DomainError } from "../../drizzle/contract.js";
import { backlogMetrics, type BacklogMetricsRecord } from "../services/backlog-metrics.query.js";
import { delayedCondition } from "../services/backorder-delay.js";
import { markOverdueBackorders } from "../services/eta.service.js";
import { cancelOrder, placeOrder, shipOrder } from "../services/order.service.js";
import { createProduct } from "../services/product.service.js";
import { stockSummaries } from "../services/product.query.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../services/restock.service.js";
import { createScenario, DAY, HOUR, type Scenario, type ScenarioOptions, type SupplierDraw } from "./simulation-scenario.js";
import { installVirtualClock, type VirtualClock } from "./virtual-clock.js";

const { backorders, events, orderLines, orders } = schema;

/** A restock's punctuality as it turned out: its last units against the date first given (within 12 h before it is on time). */
export type Arrived = "early" | "on-time" | "late";

/** What happened in the month besides the metrics: the run's own tally, from the calls it made and the event log. */
export interface SimulationCounts {
  /** Orders placed (some units accepted). */
  orders: number;
  /** Orders refused whole (every line refused). */
  refusedOrders: number;
  /** Lines of placed orders cut with an issue (allowPartial). */
  cutLines: number;
  cancellations: number;
  /** Cancellations the customer asked for when nothing was left to cancel, or no longer waiting. */
  cancellationsDropped: number;
  shipments: number;
  restocksScheduled: number;
  restocksReceived: Record<Arrived, number>;
  /** Restocks whose supplier announced a later date (rescheduleRestock). */
  restocksRescheduled: number;
  /** Restocks still open at the end of the month. */
  restocksOpen: number;
  /** DELAYED order events in the event log. */
  delayedEvents: number;
  /** Backorders filled after their promise, or late when the month ended. */
  slippedBackorders: number;
}

export interface SimulationResult {
  options: ScenarioOptions;
  metrics: BacklogMetricsRecord;
  counts: SimulationCounts;
}

export interface SimulateOptions extends ScenarioOptions {
  /** Called with the database after the metrics are read and before it is closed (the test audits it). */
  inspect?: (db: Database) => Promise<void>;
}

/** One thing that happens at an instant; actions at the same instant run in the order they were queued. */
type Action =
  | { kind: "arrival"; index: number }
  | { kind: "cancel"; orderId: number; onlyIfWaiting: boolean }
  | { kind: "ship" }
  | { kind: "receive"; restockId: number; units: number | null }
  | { kind: "announce"; restockId: number; expectedAt: number };

interface Timed {
  at: number;
  seq: number;
  action: Action;
}

/** Actions by time, then by the order they were queued: a sorted array is enough for a month's few thousand. */
class Agenda {
  private readonly items: Timed[] = [];
  private seq = 0;
  add(at: number, action: Action): void {
    const item = { at, seq: this.seq++, action };
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.items[mid].at <= at) low = mid + 1;
      else high = mid;
    }
    this.items.splice(low, 0, item);
  }
  next(): Timed | undefined {
    return this.items.shift();
  }
  peek(): Timed | undefined {
    return this.items[0];
  }
}

interface OpenRestock {
  id: number;
  product: number;
  /** The date the supplier first gave. */
  firstExpectedAt: number;
}

/**
 * Plays `scenario` on `db`, a migrated database with no products, with `clock` at the scenario's
 * start. Returns the metrics over the month ([start, start + days)) and the counts. Throws on any
 * error the scenario does not expect (a refused order or a cancellation that came too late are
 * expected and counted).
 */
export async function playScenario(db: Database, scenario: Scenario, clock: VirtualClock): Promise<SimulationResult> {
  const { options } = scenario;
  const end = options.start + options.days * DAY;
  const counts: SimulationCounts = {
    orders: 0,
    refusedOrders: 0,
    cutLines: 0,
    cancellations: 0,
    cancellationsDropped: 0,
    shipments: 0,
    restocksScheduled: 0,
    restocksReceived: { early: 0, "on-time": 0, late: 0 },
    restocksRescheduled: 0,
    restocksOpen: 0,
    delayedEvents: 0,
    slippedBackorders: 0,
  };

  const productIds: number[] = [];
  for (const product of scenario.products) {
    const created = await createProduct(db, {
      sku: product.sku,
      name: product.name,
      price: product.price,
      backorderPolicy: product.backorderPolicy,
      backorderLimit: product.backorderLimit,
      maxWaitDays: product.maxWaitDays,
      leadTimeDays: product.leadTimeDays,
      initialStock: product.initialStock,
    });
    productIds.push(created.id);
  }
  const indexOf = new Map(productIds.map((id, index) => [id, index]));

  const agenda = new Agenda();
  scenario.arrivals.forEach((arrival, index) => agenda.add(arrival.at, { kind: "arrival", index }));
  const firstShipping = Math.ceil((options.start - scenario.shipHour * HOUR) / DAY) * DAY + scenario.shipHour * HOUR;
  if (firstShipping < end) agenda.add(firstShipping, { kind: "ship" });

  const open = new Map<number, OpenRestock>();
  const restocksOrdered = scenario.products.map(() => 0);

  /** The shop's replenishment: below the reorder point, order up to reorder point + quantity, at most three restocks on the way. */
  async function reorder(touched: Iterable<number>): Promise<void> {
    const indexes = [...new Set(touched)].sort((a, b) => a - b);
    if (indexes.length === 0) return;
    const summaries = await stockSummaries(
      db,
      indexes.map((index) => productIds[index]),
    );
    for (const summary of summaries) {
      if (!summary) continue;
      const index = indexOf.get(summary.productId)!;
      const product = scenario.products[index];
      const onTheWay = [...open.values()].filter((restock) => restock.product === index).length;
      if (summary.projected >= product.reorderPoint || onTheWay >= 3) continue;
      const now = clock.now();
      const expectedAt = now + product.leadTimeDays * DAY;
      const quantity = product.reorderPoint + product.reorderQuantity - summary.projected;
      const restock = await scheduleRestock(db, {
        productId: summary.productId,
        quantity,
        expectedAt: new Date(expectedAt),
        reference: `SIM-PO-${index + 1}-${restocksOrdered[index] + 1}`,
      });
      const suppliers = scenario.suppliers[index];
      const draw: SupplierDraw = suppliers[restocksOrdered[index] % suppliers.length];
      restocksOrdered[index]++;
      counts.restocksScheduled++;
      open.set(restock.id, { id: restock.id, product: index, firstExpectedAt: expectedAt });
      planDelivery(restock.id, quantity, now, expectedAt, draw);
    }
  }

  /** Queues what the supplier will do with a restock: announce a new date (late ones, half of them), and deliver, in one or two parts. */
  function planDelivery(restockId: number, quantity: number, now: number, expectedAt: number, draw: SupplierDraw): void {
    // An early delivery cannot come before an hour after it was ordered.
    const arrival = Math.max(now + HOUR, expectedAt + draw.offset);
    if (draw.announceAt !== null) {
      agenda.add(now + Math.round(draw.announceAt * (expectedAt - now)), { kind: "announce", restockId, expectedAt: arrival });
    }
    if (draw.firstShare !== null && quantity >= 2) {
      const first = Math.max(1, Math.floor(quantity * draw.firstShare));
      const firstAt = Math.min(arrival, Math.max(now + HOUR, Math.min(arrival, expectedAt) - DAY));
      agenda.add(firstAt, { kind: "receive", restockId, units: first });
    }
    agenda.add(arrival, { kind: "receive", restockId, units: null });
  }

  async function perform(action: Action): Promise<Iterable<number>> {
    switch (action.kind) {
      case "arrival": {
        const arrival = scenario.arrivals[action.index];
        const lines = arrival.lines.map((line) => ({ productId: productIds[line.product], quantity: line.quantity }));
        try {
          const placed = await placeOrder(db, { customer: arrival.customer, lines });
          counts.orders++;
          counts.cutLines += placed.issues.length;
          if (arrival.cancel) agenda.add(arrival.cancel.at, { kind: "cancel", orderId: placed.order.id, onlyIfWaiting: arrival.cancel.onlyIfWaiting });
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          counts.refusedOrders++;
        }
        return arrival.lines.map((line) => line.product);
      }
      case "cancel": {
        const [order] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, action.orderId));
        const cancellable = action.onlyIfWaiting ? order.status === "AWAITING_STOCK" : order.status !== "SHIPPED" && order.status !== "CANCELLED";
        if (!cancellable) {
          counts.cancellationsDropped++;
          return [];
        }
        await cancelOrder(db, action.orderId, action.onlyIfWaiting ? "waited too long" : "changed their mind");
        counts.cancellations++;
        const touched = await db.select({ productId: orderLines.productId }).from(orderLines).where(eq(orderLines.orderId, action.orderId));
        return touched.map((line) => indexOf.get(line.productId)!);
      }
      case "ship": {
        const ready = await db.select({ id: orders.id }).from(orders).where(eq(orders.status, "READY_TO_SHIP")).orderBy(orders.id);
        for (const { id } of ready) await shipOrder(db, id);
        counts.shipments += ready.length;
        if (clock.now() + DAY < end) agenda.add(clock.now() + DAY, { kind: "ship" });
        return [];
      }
      case "announce": {
        await rescheduleRestock(db, action.restockId, new Date(action.expectedAt));
        counts.restocksRescheduled++;
        return [];
      }
      case "receive": {
        const restock = open.get(action.restockId)!;
        const { restock: received } = await receiveRestock(db, action.restockId, action.units);
        if (received.status === "RECEIVED") {
          open.delete(restock.id);
          const early = clock.now() < restock.firstExpectedAt - 12 * HOUR;
          counts.restocksReceived[clock.now() > restock.firstExpectedAt ? "late" : early ? "early" : "on-time"]++;
        }
        return [restock.product];
      }
    }
  }

  await reorder(scenario.products.map((_, index) => index));
  for (let next = agenda.peek(); next && next.at < end; next = agenda.peek()) {
    const { at, action } = agenda.next()!;
    clock.advanceTo(at);
    // The server sweeps every minute; here nothing can happen between two actions, so a sweep
    // at each action's instant, before it, sees every promise that has passed by then.
    await markOverdueBackorders(db);
    await reorder(await perform(action));
  }
  clock.advanceTo(end);
  await markOverdueBackorders(db);

  const metrics = await backlogMetrics(db, { from: new Date(options.start), to: new Date(end) });
  counts.restocksOpen = open.size;
  const [tally] = await rows<{ delayed_events: number; slipped: number }>(
    db,
    sql`SELECT
          (SELECT count(*)::int FROM ${events} WHERE ${events.type} = 'ORDER_CHANGED' AND ${events.payload}->>'kind' = 'DELAYED') AS delayed_events,
          (SELECT count(*)::int FROM ${backorders}
            WHERE (${backorders.status} = 'FILLED' AND ${backorders.filledAt} > ${backorders.promisedAt}) OR ${delayedCondition(backorders)}) AS slipped`,
  );
  counts.delayedEvents = Number(tally.delayed_events);
  counts.slippedBackorders = Number(tally.slipped);
  return { options, metrics, counts };
}

/**
 * The whole command: installs the virtual clock at the scenario's start, opens a fresh in-memory
 * PGlite (after the clock, so that its clock only moves forward), migrates it, plays the seeded
 * scenario and returns the result; the database is closed and the real clock restored, also on
 * failure. Throws when a virtual clock is installed already.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const { inspect, ...scenarioOptions } = options;
  const scenario = createScenario(scenarioOptions);
  const clock = installVirtualClock(scenarioOptions.start);
  let connection: Connection | undefined;
  try {
    connection = await connect({ pgliteDir: "memory://" });
    await runMigrations(connection);
    const result = await playScenario(connection.db, scenario, clock);
    if (inspect) await inspect(connection.db);
    return result;
  } finally {
    try {
      await connection?.close();
    } finally {
      clock.restore();
    }
  }
}

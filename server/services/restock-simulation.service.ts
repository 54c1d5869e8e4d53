/**
 * What-if restocks (docs/ARCHITECTURE.md, "Restock simulation"): what scheduling a restock, or
 * receiving it now, would do to a product's backlog, written nowhere. The simulation runs the
 * very code the real mutations run (`scheduleRestockIn`, `receiveRestockIn`: the fill, the
 * re-dating, the events) in a transaction that is always rolled back, and compares the product's
 * waiting backorders before and after inside it: the two cannot disagree, because they are one.
 */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { type Database, type Executor, schema } from "../../drizzle/db.js";
import { inRolledBackTransaction } from "../../drizzle/transaction.js";
import { delayedCondition } from "./backorder-delay.js";
import { lockProduct } from "./product.service.js";
import { checkExpectedAt, receiveRestockIn, scheduleRestockIn } from "./restock.service.js";
import type { RestockFillRecord } from "./types.js";
import { Checks, LIMITS } from "./validation.js";

const { backorders } = schema;

/** The most backorders a simulation lists in `affected` (the first ones in queue order). */
export const MAX_AFFECTED = 100;

/** A restock to simulate. */
export interface SimulateRestockRequest {
  productId: number;
  quantity: number;
  /** When the restock would be expected; required unless `receiveNow`. Not in the past. */
  expectedAt?: Date | null;
  /** Receive it at once (scheduled and received in full): the backlog is filled from it. */
  receiveNow?: boolean | null;
  /** Where it would arrive; the default location when omitted. */
  locationId?: number | null;
}

/** One waiting backorder the restock would change, before and after. */
export interface SimulatedBackorder {
  backorderId: number;
  /** Units the restock would give it (receiveNow only). */
  filledUnits: number;
  expectedAtBefore: Date | null;
  /** Null when it would be filled completely (nothing is expected any more) or when nothing would date it. */
  expectedAtAfter: Date | null;
  delayedBefore: boolean;
  /** False when it would be filled completely. */
  delayedAfter: boolean;
}

/** What the restock would do to the product's backlog. */
export interface RestockSimulation {
  productId: number;
  /** Units it would allocate to waiting backorders. */
  filledUnits: number;
  /** Backorders that would receive units (the last one possibly in part), as receiveRestock's `filledBackorders`. */
  filledBackorders: number;
  /** Units still waiting afterwards. */
  remainingBackordered: number;
  /** Waiting backorders delayed now, and afterwards (the rule of backorder-delay.ts, at one instant). */
  delayedBefore: number;
  delayedAfter: number;
  /** The backorders whose filled units, expected date or lateness would change, in queue order, at most {@link MAX_AFFECTED}. */
  affected: SimulatedBackorder[];
}

/** A waiting backorder as the comparison reads it. */
interface QueueEntry {
  id: number;
  remaining: number;
  expectedAt: Date | null;
  delayed: boolean;
}

/** The product's waiting backorders in queue order, lateness judged by the rule at the transaction's `now()`. */
function waitingQueue(tx: Executor, productId: number): Promise<QueueEntry[]> {
  return tx
    .select({
      id: backorders.id,
      remaining: backorders.remaining,
      expectedAt: backorders.expectedAt,
      delayed: sql<boolean>`${delayedCondition(backorders)}`.mapWith(Boolean),
    })
    .from(backorders)
    .where(and(eq(backorders.productId, productId), eq(backorders.status, "WAITING")))
    .orderBy(desc(backorders.priority), asc(backorders.id));
}

/**
 * Checks a request as scheduleRestock checks its input: `quantity` 1 to {@link LIMITS.quantity},
 * `expectedAt` a valid date not in the past, required unless `receiveNow`. INVALID_INPUT otherwise.
 */
function checkRequest(request: SimulateRestockRequest): { quantity: number; expectedAt: Date | undefined; receiveNow: boolean } {
  const checks = new Checks(["input"]);
  const quantity = checks.int(request.quantity, ["quantity"], 1, LIMITS.quantity);
  const receiveNow = request.receiveNow === true;
  let expectedAt: Date | undefined;
  if (request.expectedAt !== undefined && request.expectedAt !== null) expectedAt = checkExpectedAt(checks, request.expectedAt, ["expectedAt"]);
  else if (!receiveNow) checks.fail(["expectedAt"], "expectedAt is required unless receiveNow is true");
  checks.throwIfAny();
  return { quantity: quantity!, expectedAt, receiveNow };
}

/**
 * What scheduling `quantity` units of a product at `expectedAt` (or receiving them now, with
 * `receiveNow`) at `locationId` (or the default location) would do to its backlog: the fills, the
 * new expected dates, the delays made or mended. Writes nothing that anyone can see: the real
 * restock runs in a transaction that is rolled back, so no row, event or version survives it and
 * no subscriber hears of it. Holds the product's row lock while it runs, as the real restock would.
 * Refuses what scheduleRestock refuses: INVALID_INPUT for a quantity outside 1..1,000,000 or past the
 * product's capacity, a missing or past `expectedAt`; NOT_FOUND for an unknown product or location.
 */
export async function simulateRestock(db: Database, request: SimulateRestockRequest): Promise<RestockSimulation> {
  const { quantity, expectedAt, receiveNow } = checkRequest(request);
  return inRolledBackTransaction(db, async (tx) => {
    // The lock first, so that "before" is the state the restock starts from (scheduleRestockIn locks it again: a no-op).
    const product = await lockProduct(tx, request.productId, ["input", "productId"]);
    const before = await waitingQueue(tx, product.id);
    const restock = await scheduleRestockIn(tx, {
      productId: product.id,
      locationId: request.locationId ?? undefined,
      quantity,
      // A restock received now was expected now; its date stops mattering once it is received.
      expectedAt: expectedAt ?? new Date(),
      reference: null,
    });
    const fills = receiveNow ? (await receiveRestockIn(tx, restock.id)).fills : [];
    const after = await waitingQueue(tx, product.id);
    return compare(product.id, before, after, fills);
  });
}

/** The simulation's answer from the queue before and after the restock, and what the receipt filled. */
function compare(productId: number, before: QueueEntry[], after: QueueEntry[], fills: readonly RestockFillRecord[]): RestockSimulation {
  const afterById = new Map(after.map((entry) => [entry.id, entry]));
  const filledById = new Map(fills.map((fill) => [fill.backorder.id, fill.filledUnits]));
  const affected: SimulatedBackorder[] = [];
  for (const was of before) {
    if (affected.length === MAX_AFFECTED) break;
    // Not waiting any more: the receipt filled it completely (fills lists it).
    const now = afterById.get(was.id);
    const filledUnits = filledById.get(was.id) ?? 0;
    const expectedAtAfter = now?.expectedAt ?? null;
    const delayedAfter = now?.delayed ?? false;
    if (filledUnits === 0 && expectedAtAfter?.getTime() === was.expectedAt?.getTime() && delayedAfter === was.delayed) continue;
    affected.push({
      backorderId: was.id,
      filledUnits,
      expectedAtBefore: was.expectedAt,
      expectedAtAfter,
      delayedBefore: was.delayed,
      delayedAfter,
    });
  }
  return {
    productId,
    filledUnits: fills.reduce((sum, fill) => sum + fill.filledUnits, 0),
    filledBackorders: fills.length,
    remainingBackordered: after.reduce((sum, entry) => sum + entry.remaining, 0),
    delayedBefore: before.filter((entry) => entry.delayed).length,
    delayedAfter: after.filter((entry) => entry.delayed).length,
    affected,
  };
}

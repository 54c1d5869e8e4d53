/**
 * What one order line gets (docs/ARCHITECTURE.md, "The rules" and "Quotes and the wait cap"):
 * free units by location priority, the rest in the product's queue under ALLOW, cut by the
 * backorder limit and by the wait cap. One pure function for `placeOrder` and for `Product.quote`,
 * so a quote can never disagree with the order that follows it on the same state.
 */
import type { EtaSource } from "../../drizzle/contract.js";
import type { ProductRecord } from "./types.js";
import { type Issue } from "./types.js";
import { LIMITS } from "./validation.js";

const DAY_MS = 86_400_000;

/** Free units of one product at one location, in allocation order. */
export interface FreeLevel {
  locationId: number;
  free: number;
}

/**
 * What a new backorder of a product would find in its queue: the units and backorders ahead of it
 * (a new backorder has priority 0: it goes behind every other one of priority 0 or more), and the
 * open restocks as running totals of their outstanding units in the order they are expected.
 */
export interface QueueOutlook {
  unitsAhead: number;
  ordersAhead: number;
  supply: { expectedAt: Date; cum: number }[];
  /** The database's clock when the outlook was read: a wait is counted from it. */
  now: Date;
}

/** A part of a line that cannot be had, and why. */
export interface LineRefusal {
  code: Issue["code"];
  message: string;
  /** Units refused for this reason. */
  units: number;
}

export interface LinePlan {
  allocations: { locationId: number; quantity: number }[];
  /** Units that join the queue. */
  waiting: number;
  /** Parts cut by the stock rules (OUT_OF_STOCK, BACKORDER_LIMIT_EXCEEDED, WAIT_TOO_LONG): lost demand. */
  cuts: LineRefusal[];
  /** The whole line refused before stock is looked at (quantity rules, counter range): not lost demand. */
  rejected?: { code: Issue["code"]; message: string };
}

/** When a backorder would be expected, and from what: the rule `recomputeEta` dates the queue by. */
export interface Expected {
  at: Date | null;
  source: EtaSource;
}

/** Sum of a product's free units. */
function freeUnits(free: readonly FreeLevel[]): number {
  return free.reduce((sum, level) => sum + level.free, 0);
}

/**
 * Whether planning `quantity` of `product` needs its queue outlook: only a wait cap asks when the
 * waiting units would arrive, and only when some would wait. `placeOrder` reads the outlook (one
 * more statement under the product's lock) only then.
 */
export function needsOutlook(product: ProductRecord, free: readonly FreeLevel[], quantity: number): boolean {
  if (product.maxWaitDays === null || product.backorderPolicy !== "ALLOW" || product.fulfillment === "DROPSHIP") return false;
  return product.backordered > 0 || freeUnits(free) < quantity;
}

/**
 * When a new backorder whose last unit is `units` behind those ahead of it would be expected: by
 * the first open restock whose running total covers it, else `leadTimeDays` after now, else
 * unknown. The same rule as `recomputeEta` (eta.service.ts), checked equal by the quote tests.
 */
export function expectedFor(outlook: QueueOutlook, leadTimeDays: number | null, units: number): Expected {
  const need = outlook.unitsAhead + units;
  const covering = outlook.supply.find((restock) => restock.cum >= need);
  if (covering) return { at: covering.expectedAt, source: "RESTOCK" };
  if (leadTimeDays !== null) return { at: new Date(outlook.now.getTime() + leadTimeDays * DAY_MS), source: "LEAD_TIME" };
  return { at: null, source: "UNKNOWN" };
}

/**
 * The most of `waiting` units whose backorder would be expected within `maxWaitDays` of now. The
 * expected date is not monotonic in the units (a lead time may come sooner than the last restock),
 * so every length a restock ends at is tried, longest first. An unknown date is never within.
 */
function unitsWithinWait(outlook: QueueOutlook, product: ProductRecord, waiting: number, maxWaitDays: number): number {
  const deadline = outlook.now.getTime() + maxWaitDays * DAY_MS;
  const within = (units: number) => {
    const expected = expectedFor(outlook, product.leadTimeDays, units);
    if (expected.source === "LEAD_TIME") return product.leadTimeDays! <= maxWaitDays;
    return expected.at !== null && expected.at.getTime() <= deadline;
  };
  if (within(waiting)) return waiting;
  let best = 0;
  for (const restock of outlook.supply) {
    const units = restock.cum - outlook.unitsAhead;
    if (units > best && units < waiting && within(units)) best = units;
  }
  return best;
}

/**
 * Plans `quantity` units of `product`, locked (placeOrder) or read in one snapshot (quote), with
 * its free stock in allocation order. `outlook` is required when {@link needsOutlook} says so.
 */
export function planLine(product: ProductRecord, free: readonly FreeLevel[], quantity: number, outlook: QueueOutlook | null): LinePlan {
  const plan: LinePlan = { allocations: [], waiting: 0, cuts: [] };
  if (quantity < product.minOrderQuantity) {
    plan.rejected = { code: "BELOW_MIN_ORDER_QUANTITY", message: `${product.sku} is sold in quantities of at least ${product.minOrderQuantity}` };
    return plan;
  }
  if (product.maxOrderQuantity !== null && quantity > product.maxOrderQuantity) {
    plan.rejected = { code: "ABOVE_MAX_ORDER_QUANTITY", message: `${product.sku} is sold in quantities of at most ${product.maxOrderQuantity}` };
    return plan;
  }
  // A dropship product has no stock of ours and no queue: the whole line waits at its supplier
  // (one supplier order), whatever the policy, limit or wait cap, which are about our supply.
  if (product.fulfillment === "DROPSHIP") return { allocations: [], waiting: quantity, cuts: [] };
  // Stock never jumps the queue: while anyone waits, nothing is free (invariant 2).
  const levels = product.backordered > 0 ? [] : free;
  let wanted = quantity;
  for (const level of levels) {
    if (wanted === 0) break;
    const take = Math.min(wanted, level.free);
    plan.allocations.push({ locationId: level.locationId, quantity: take });
    wanted -= take;
  }
  let waiting = wanted;
  const had = () => quantity - wanted + waiting;
  if (waiting > 0 && product.backorderPolicy === "DENY") {
    plan.cuts.push({ code: "OUT_OF_STOCK", message: `${product.sku}: only ${quantity - waiting} of ${quantity} in stock`, units: waiting });
    waiting = 0;
  }
  if (waiting > 0 && product.backorderLimit !== null) {
    const room = Math.max(0, product.backorderLimit - product.backordered);
    if (waiting > room) {
      const units = waiting - room;
      waiting = room;
      plan.cuts.push({
        code: "BACKORDER_LIMIT_EXCEEDED",
        message: `${product.sku}: only ${had()} of ${quantity} can be ordered (backorder limit ${product.backorderLimit})`,
        units,
      });
    }
  }
  if (waiting > 0 && product.maxWaitDays !== null) {
    if (!outlook) throw new Error(`planLine: the queue outlook of product ${product.id} is needed for its wait cap`);
    const within = unitsWithinWait(outlook, product, waiting, product.maxWaitDays);
    if (within < waiting) {
      const units = waiting - within;
      waiting = within;
      plan.cuts.push({
        code: "WAIT_TOO_LONG",
        message: `${product.sku}: only ${had()} of ${quantity} can be expected within ${product.maxWaitDays} days`,
        units,
      });
    }
  }
  // Counters the backorder adds to are int4: past that the write would fail, so refuse it here.
  if (waiting > 0 && (product.backordered + waiting > LIMITS.units || product.waitingOrders >= LIMITS.units)) {
    return {
      allocations: [],
      waiting: 0,
      cuts: [],
      rejected: { code: "INVALID_INPUT", message: `${product.sku} cannot have more than ${LIMITS.units} units or orders waiting` },
    };
  }
  plan.waiting = waiting;
  return plan;
}

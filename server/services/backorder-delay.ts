/**
 * When a backorder is delayed (docs/ARCHITECTURE.md, "Expected dates"): it waits, a promise was
 * made, and its ETA is later than the promise, or unknown, or the promise has passed. Written
 * once as SQL ({@link lateCondition}) for every statement that writes or filters by it, and once
 * as TypeScript ({@link isDelayed}) for a backorder already read; a test checks that they agree.
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import type { BackorderRecord } from "./types.js";

/** `now()` of the transaction, or a given instant. */
function instant(now: Date | undefined): SQL {
  return now ? sql`${now.toISOString()}::timestamptz` : sql`now()`;
}

/**
 * Whether a waiting backorder with this promise and this ETA is late at `now` (the transaction's
 * `now()` by default). Expressions, so a statement can judge dates it has just computed.
 */
export function lateCondition(dates: { promisedAt: SQL | Column; expectedAt: SQL | Column }, now?: Date): SQL {
  const { promisedAt, expectedAt } = dates;
  return sql`(${promisedAt} IS NOT NULL AND (${expectedAt} IS NULL OR ${expectedAt} > ${promisedAt} OR ${promisedAt} < ${instant(now)}))`;
}

/**
 * Whether a row of `backorders` (the table, or an `alias()` of it) is delayed at `now` (the
 * transaction's `now()` by default): it waits, and {@link lateCondition} holds.
 */
export function delayedCondition(backorders: { status: Column; promisedAt: Column; expectedAt: Column }, now?: Date): SQL {
  return sql`(${backorders.status} = 'WAITING' AND ${lateCondition(backorders, now)})`;
}

/**
 * {@link delayedCondition} as a filter an index can serve: a waiting backorder whose `delayed` flag
 * is set, or whose promise has passed. The same rows: the flag is the lateness judged by the
 * statement that last dated the backorder (`recomputeEta` writes it with every new date, the
 * overdue sweep when a promise passes), and with its dates unchanged only a passing promise can
 * make a backorder late since. Written as one expression, "late since" (-infinity when flagged,
 * else the promise; +infinity without one), compared with now(): never NULL, so `NOT` keeps the
 * undated rows, and one range of the expression index `backorders_late_idx` (migration 0012), so
 * a `delayed` filter and its count read the delayed rows, not the whole backlog.
 */
export function delayedFilter(backorders: { status: Column; promisedAt: Column; delayed: Column }): SQL {
  return sql`(${backorders.status} = 'WAITING' AND ${lateSince(backorders)} < now())`;
}

/** When a waiting backorder is or became late: the expression `backorders_late_idx` holds. */
function lateSince(backorders: { promisedAt: Column; delayed: Column }): SQL {
  return sql`coalesce(CASE WHEN ${backorders.delayed} THEN '-infinity'::timestamptz ELSE ${backorders.promisedAt} END, 'infinity'::timestamptz)`;
}

/** Whether a backorder is delayed at `now`: the rule of {@link delayedCondition}, for a row already read. */
export function isDelayed(backorder: BackorderRecord, now: Date = new Date()): boolean {
  if (backorder.status !== "WAITING" || !backorder.promisedAt) return false;
  return !backorder.expectedAt || backorder.expectedAt > backorder.promisedAt || backorder.promisedAt < now;
}

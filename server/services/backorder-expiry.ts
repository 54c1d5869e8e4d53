/**
 * When a waiting backorder expires (docs/ARCHITECTURE.md, "Expiry of stale backorders"):
 * `autoCancelAfterDays` 24-hour days after its promise, or after its placement when no date was
 * ever promised or the promise was already past when it was placed (an overdue restock dates the
 * queue in the past: counting from such a promise would cancel the order at the next sweep); never while the customer chose to keep waiting, never for a product without
 * `autoCancelAfterDays`. Written once as SQL ({@link expiredCondition}) for the sweep, once as
 * TypeScript ({@link expiresAt}) for a backorder already read; the boundary tests hold them together.
 *
 * The instant is counted from the promise (or placement) to the millisecond, as the API shows it:
 * `created_at` has microseconds (`clock_timestamp()`), a `DateTime` has milliseconds, so the
 * sweep compares the stored instant truncated to its millisecond. A backorder shown as expiring
 * at T expires exactly when the sweep's clock reads T or later.
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import type { BackorderRecord } from "./types.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The instant a backorder's wait is counted from: the later of its promise and its placement
 * (`greatest` skips a NULL promise). The expression the partial index `backorders_expiry_idx`
 * (migration 0020) holds, spelled the same so it can serve.
 */
export function waitCountedFrom(backorders: { promisedAt: Column; createdAt: Column }): SQL {
  return sql`greatest(${backorders.promisedAt}, ${backorders.createdAt})`;
}

/**
 * Whether a row of `backorders` (the table or an `alias()`) has expired at `now`, for a product
 * with `days` (an expression: the product's `auto_cancel_after_days`, NULL: never). It waits, the
 * customer did not choose to keep waiting, and its wait began at least `days` days before `now`.
 * `start + days ≤ now` is written as `start < now − days + 1 ms` (`now` is a JavaScript instant,
 * whole milliseconds): the same as comparing the start truncated to its millisecond, and a range
 * of `backorders_expiry_idx` (the partial index's own `WHERE`, then its expression).
 */
export function expiredCondition(
  backorders: { status: Column; keepWaiting: Column; promisedAt: Column; createdAt: Column },
  days: SQL | Column,
  now: Date,
): SQL {
  return sql`(${backorders.status} = 'WAITING' AND NOT ${backorders.keepWaiting}
    AND ${waitCountedFrom(backorders)} < ${now.toISOString()}::timestamptz - ${days} * interval '24 hours' + interval '1 millisecond')`;
}

/**
 * When a backorder expires: {@link expiredCondition}'s instant for a row already read. Null when
 * it no longer waits, the customer chose to keep waiting, or the product has no `autoCancelAfterDays`.
 */
export function expiresAt(
  backorder: Pick<BackorderRecord, "status" | "keepWaiting" | "promisedAt" | "createdAt">,
  autoCancelAfterDays: number | null,
): Date | null {
  if (backorder.status !== "WAITING" || backorder.keepWaiting || autoCancelAfterDays === null) return null;
  const start = backorder.promisedAt && backorder.promisedAt > backorder.createdAt ? backorder.promisedAt : backorder.createdAt;
  return new Date(start.getTime() + autoCancelAfterDays * DAY_MS);
}

/**
 * The reading half of the outbox (docs/ARCHITECTURE.md, "Events and live updates"). Rows get their delivery position `seq`
 * only once committed, stamped by one stamper at a time in id order; readers follow `seq`.
 *
 * Why this closes the outbox gap: a reader that followed ids would pass over a row whose
 * transaction commits after a later id's; here an uncommitted row has no `seq` yet and gets one
 * larger than any already stamped when it commits. Why a product's events keep their order: a
 * transaction writes its events while holding the product's row lock, so the events of the
 * transaction that held the lock before it have smaller ids and committed first; the stamper,
 * seeing both, stamps in id order, or stamped the earlier ones in an earlier pass.
 */
import { sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { name, toDate } from "../../drizzle/sql.js";
import type { EventType } from "./types.js";

const { events } = schema;

const STAMPER_LOCK = 7263543;
/** The most events one stamping pass gives a position to. */
export const STAMP_BATCH = 5000;
/** The most events one pruning statement deletes. */
export const PRUNE_BATCH = 10_000;

/** One committed event, as subscribers receive it. */
export interface LoggedEvent {
  seq: number;
  type: EventType;
  productId: number | null;
  productVersion: number | null;
  orderId: number | null;
  restockId: number | null;
  payload: Record<string, unknown>;
  at: Date;
}

/**
 * Gives committed, unstamped events their `seq`, in id order, up to a batch. Returns how many it
 * stamped. By default it gives way when another stamper is at work (that one stamps them); with
 * `wait` it waits its turn, so every event committed before the call has a position after it.
 */
export async function stampEvents(db: Database, { wait = false } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    if (wait) await tx.execute(sql`SELECT pg_advisory_xact_lock(${STAMPER_LOCK})`);
    else {
      const [lock] = await rows<{ locked: boolean }>(tx, sql`SELECT pg_try_advisory_xact_lock(${STAMPER_LOCK}) AS locked`);
      if (!lock.locked) return 0;
    }
    const e = alias(events, "e");
    const stamped = await rows<{ seq: number }>(
      tx,
      sql`
      WITH top AS (SELECT coalesce(max(${events.seq}), 0) AS seq FROM ${events}),
      ready AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM (SELECT ${events.id} FROM ${events} WHERE ${events.seq} IS NULL ORDER BY ${events.id} LIMIT ${STAMP_BATCH}) batch
      )
      UPDATE ${events} ${e} SET ${name(e.seq)} = top.seq + ready.n FROM ready, top WHERE ${e.id} = ready.id
      RETURNING ${e.seq}`,
    );
    return stamped.length;
  });
}

/** Events after position `afterSeq`, in order, at most `limit`. */
export async function readEvents(db: Executor, afterSeq: number, limit: number, upToSeq?: number): Promise<LoggedEvent[]> {
  const upTo = upToSeq === undefined ? sql`` : sql`AND ${events.seq} <= ${upToSeq}`;
  const e = events;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`SELECT ${e.seq}, ${e.type}, ${e.productId}, ${e.productVersion}, ${e.orderId}, ${e.restockId}, ${e.payload}, ${e.createdAt}
        FROM ${events} WHERE ${e.seq} > ${afterSeq} ${upTo} ORDER BY ${e.seq} LIMIT ${limit}`,
  );
  return found.map((row) => ({
    seq: Number(row.seq),
    type: row.type as EventType,
    productId: row.product_id === null ? null : Number(row.product_id),
    productVersion: row.product_version === null ? null : Number(row.product_version),
    orderId: row.order_id === null ? null : Number(row.order_id),
    restockId: row.restock_id === null ? null : Number(row.restock_id),
    payload: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>,
    at: toDate(row.created_at)!,
  }));
}

/** The position of the newest stamped event (0 for an empty log). */
export async function latestSeq(db: Executor): Promise<number> {
  const [row] = await rows<{ seq: number | string | null }>(db, sql`SELECT max(${events.seq}) AS seq FROM ${events}`);
  return Number(row?.seq ?? 0);
}

/** The most events `positionBack` reaches back: a page of history, not a way to scan the log. */
export const MAX_EVENTS_BACK = 10_000;

/**
 * The position `back` events before the newest, so that reading after it gives the last `back`
 * events; never before the oldest event still kept (pruned ones cannot be replayed). Positions
 * have no gaps, so the arithmetic is exact.
 */
export async function positionBack(db: Executor, back: number): Promise<number> {
  const [row] = await rows<{ newest: number | string | null; oldest: number | string | null }>(
    db,
    sql`SELECT max(${events.seq}) AS newest, min(${events.seq}) AS oldest FROM ${events}`,
  );
  const newest = Number(row?.newest ?? 0);
  const oldest = Number(row?.oldest ?? 1);
  return Math.max(newest - Math.min(Math.max(back, 0), MAX_EVENTS_BACK), oldest - 1, 0);
}

/**
 * Deletes the oldest stamped events, those created before `olderThan`, in statements of at most
 * `batch` rows; returns how many it deleted. What is left is always an unbroken run of positions
 * up to the newest, which is never deleted: stampEvents numbers on from max(seq), so positions
 * are never reused, and a reader can tell from a gap before its first event that it came too late
 * (the event hub's CURSOR_EXPIRED). Unstamped events are never deleted.
 *
 * It deletes from the bottom of the log and stops at the first event, in position order, that is
 * not old enough: an old event stamped after a younger one (a long transaction) waits for it.
 * Each statement reads at most `batch` entries of the `seq` index, however large the log.
 */
export async function pruneEvents(db: Database, olderThan: Date, { batch = PRUNE_BATCH } = {}): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [row] = await rows<{ n: number | string }>(
      db,
      sql`
      WITH head AS (SELECT ${events.seq}, ${events.createdAt} FROM ${events} WHERE ${events.seq} IS NOT NULL ORDER BY ${events.seq} LIMIT ${batch}),
      gone AS (
        DELETE FROM ${events} WHERE ${events.seq} < (
          SELECT least(min(seq) FILTER (WHERE created_at >= ${olderThan.toISOString()}::timestamptz), max(seq) + 1,
                       (SELECT max(${events.seq}) FROM ${events}))
          FROM head
        )
        RETURNING 1
      )
      SELECT count(*) AS n FROM gone`,
    );
    const n = Number(row?.n ?? 0);
    deleted += n;
    if (n < batch) return deleted;
  }
}

/**
 * The reading half of the outbox (DESIGN.md section 6). Rows get their delivery position `seq`
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
import { type Database, type Executor, rows } from "../../drizzle/db.js";
import { toDate } from "./sql.js";
import type { EventType } from "./types.js";

const STAMPER_LOCK = 7263543;
/** The most events one stamping pass gives a position to. */
export const STAMP_BATCH = 5000;

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
    const stamped = await rows<{ seq: number }>(
      tx,
      sql`
      WITH top AS (SELECT coalesce(max(seq), 0) AS seq FROM events),
      ready AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM (SELECT id FROM events WHERE seq IS NULL ORDER BY id LIMIT ${STAMP_BATCH}) batch
      )
      UPDATE events e SET seq = top.seq + ready.n FROM ready, top WHERE e.id = ready.id
      RETURNING e.seq`,
    );
    return stamped.length;
  });
}

/** Events after position `afterSeq`, in order, at most `limit`. */
export async function readEvents(db: Executor, afterSeq: number, limit: number, upToSeq?: number): Promise<LoggedEvent[]> {
  const upTo = upToSeq === undefined ? sql`` : sql`AND seq <= ${upToSeq}`;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`SELECT seq, type, product_id, product_version, order_id, restock_id, payload, created_at
        FROM events WHERE seq > ${afterSeq} ${upTo} ORDER BY seq LIMIT ${limit}`,
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
  const [row] = await rows<{ seq: number | string | null }>(db, sql`SELECT max(seq) AS seq FROM events`);
  return Number(row?.seq ?? 0);
}

/**
 * Retention of the logs that grow with every order (docs/ARCHITECTURE.md, "Growth of the logs"):
 * the stock ledger, placeOrder's idempotency keys, the lost demand and the delivered webhooks. The event log has its own
 * (`pruneEvents` in event-log.service.ts); these follow its pattern: the oldest rows first, at most
 * a batch per statement, so no statement grows with the table.
 *
 * Each batch is a transaction of its own that first takes an advisory lock, and gives way when
 * another instance holds it: every instance runs the pruning timer, one at a time does the work.
 * Two deleters of the same rows would only wait for each other (or deadlock, locking them in
 * different orders), and two folds of the ledger would fight over the same balance rows.
 */
import { getTableName, sql, type SQL } from "drizzle-orm";
import { type Database, rows, schema } from "../../drizzle/db.js";
import { name, names } from "../../drizzle/sql.js";
import { PRUNE_BATCH } from "./event-log.service.js";

const { idempotencyKeys, lostDemand, stockMovements, webhookDeliveries } = schema;

const PRUNER_LOCK = 7263544;

/** The `reason` of a stock level's opening balance, the ledger row that old movements are folded into. */
export const OPENING_BALANCE_REASON = "opening balance";

/** How many rows each log lost to one pruning run. */
export interface PrunedLogs {
  stockMovements: number;
  idempotencyKeys: number;
  lostDemand: number;
  webhookDeliveries: number;
}

/**
 * Runs `statement` (which deletes at most `batch` rows and returns how many as `n`) until a run
 * deletes fewer, one transaction each under the pruners' lock; stops at once when another
 * instance holds the lock. Returns how many rows it deleted.
 */
async function inBatches(db: Database, batch: number, statement: SQL): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const [lock] = await rows<{ locked: boolean }>(tx, sql`SELECT pg_try_advisory_xact_lock(${PRUNER_LOCK}) AS locked`);
      if (!lock.locked) return -1;
      const [row] = await rows<{ n: number | string }>(tx, statement);
      return Number(row?.n ?? 0);
    });
    if (n < 0) return deleted;
    deleted += n;
    if (n < batch) return deleted;
  }
}

/**
 * Folds the stock movements created before `olderThan` into each stock level's opening balance
 * and deletes them; returns how many movements it deleted. onHand is the ledger's sum
 * (invariant 5, the audit's `stock.on-hand-matches-ledger`), so each statement deletes a batch and
 * adds each level's sum of it to that level's balance row: the sums never change, in any snapshot.
 *
 * The opening balance is a ledger row like the others (kind `INITIAL`, reason
 * {@link OPENING_BALANCE_REASON}), one per stock level (`stock_movements_opening_balance_key`),
 * updated in place by later folds; its `created_at` is that of the newest movement folded into
 * it. It has a negative id: it sorts before every movement of its level, and the scan below,
 * which starts at id 1, never walks over the balances, however many levels there are.
 *
 * Like `pruneEvents`, it goes up the id order and stops at the first movement not old enough: a
 * movement written late by a long transaction waits for the younger ones below it.
 */
export async function pruneStockMovements(db: Database, olderThan: Date, { batch = PRUNE_BATCH } = {}): Promise<number> {
  const m = stockMovements;
  const sequence = sql`pg_get_serial_sequence(${getTableName(m)}, ${m.id.name})`;
  return inBatches(
    db,
    batch,
    sql`
    WITH head AS (SELECT ${m.id}, ${m.createdAt} FROM ${m} WHERE ${m.id} > 0 ORDER BY ${m.id} LIMIT ${batch}),
    cut AS (SELECT least(min(id) FILTER (WHERE created_at >= ${olderThan.toISOString()}::timestamptz), max(id) + 1) AS below FROM head),
    gone AS (
      DELETE FROM ${m} WHERE ${m.id} > 0 AND ${m.id} < (SELECT below FROM cut)
      RETURNING ${m.productId}, ${m.locationId}, ${m.delta}, ${m.createdAt}
    ),
    folded AS (
      SELECT product_id, location_id, sum(delta) AS delta, max(created_at) AS through FROM gone GROUP BY product_id, location_id
    ),
    balances AS (
      INSERT INTO ${m} (${names(m.id, m.productId, m.locationId, m.delta, m.kind, m.reason, m.createdAt)}) OVERRIDING SYSTEM VALUE
      SELECT -nextval(${sequence}), product_id, location_id, delta, 'INITIAL', ${OPENING_BALANCE_REASON}, through
      FROM folded ORDER BY product_id, location_id
      ON CONFLICT (${names(m.productId, m.locationId)}) WHERE ${name(m.id)} < 0
      DO UPDATE SET ${name(m.delta)} = ${m.delta} + excluded.delta, ${name(m.createdAt)} = greatest(${m.createdAt}, excluded.created_at)
    )
    SELECT count(*) AS n FROM gone`,
  );
}

/**
 * Deletes the idempotency keys created before `olderThan`, oldest first, at most `batch` a
 * statement; returns how many. A request that comes back with a deleted key is a new request: it
 * places a new order. Keys are only for a client's retries (Stripe keeps its for 24 hours), so
 * the retention must be longer than any client retries for.
 */
export async function pruneIdempotencyKeys(db: Database, olderThan: Date, { batch = PRUNE_BATCH } = {}): Promise<number> {
  const k = idempotencyKeys;
  // ctid: the table has no id, and its unique key (api_key_id, key) is NULLS NOT DISTINCT, which
  // a join could only match with IS NOT DISTINCT FROM, which no index serves.
  return inBatches(
    db,
    batch,
    sql`
    WITH gone AS (
      DELETE FROM ${k} WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM ${k} WHERE ${k.createdAt} < ${olderThan.toISOString()}::timestamptz ORDER BY ${k.createdAt} LIMIT ${batch}
      ))
      RETURNING 1
    )
    SELECT count(*) AS n FROM gone`,
  );
}

/**
 * Deletes the lost demand recorded before `olderThan`, in id order, at most `batch` rows a
 * statement, stopping at the first row not old enough (as `pruneEvents` does); returns how many.
 */
export async function pruneLostDemand(db: Database, olderThan: Date, { batch = PRUNE_BATCH } = {}): Promise<number> {
  const d = lostDemand;
  return inBatches(
    db,
    batch,
    sql`
    WITH head AS (SELECT ${d.id}, ${d.createdAt} FROM ${d} ORDER BY ${d.id} LIMIT ${batch}),
    gone AS (
      DELETE FROM ${d} WHERE ${d.id} < (
        SELECT least(min(id) FILTER (WHERE created_at >= ${olderThan.toISOString()}::timestamptz), max(id) + 1) FROM head
      )
      RETURNING 1
    )
    SELECT count(*) AS n FROM gone`,
  );
}

/**
 * Deletes the webhook deliveries DELIVERED before `olderThan` (by their last attempt), lowest id
 * first, at most `batch` a statement; returns how many. Dead letters (FAILED) and deliveries still
 * PENDING are kept whatever their age: they are the work an operator has to see and redeliver. A
 * pruned delivery can no longer be redelivered (`redeliverWebhooks` re-queues existing rows).
 */
export async function pruneWebhookDeliveries(db: Database, olderThan: Date, { batch = PRUNE_BATCH } = {}): Promise<number> {
  const d = webhookDeliveries;
  return inBatches(
    db,
    batch,
    sql`
    WITH gone AS (
      DELETE FROM ${d} WHERE ${d.id} IN (
        SELECT ${d.id} FROM ${d} WHERE ${d.status} = 'DELIVERED' AND ${d.lastAttemptAt} < ${olderThan.toISOString()}::timestamptz
        ORDER BY ${d.id} LIMIT ${batch}
      )
      RETURNING 1
    )
    SELECT count(*) AS n FROM gone`,
  );
}

/** How long each log keeps its rows; 0 keeps them all. */
export interface LogRetention {
  stockMovementDays: number;
  idempotencyKeyHours: number;
  lostDemandDays: number;
  webhookDeliveryDays: number;
}

const HOUR_MS = 3_600_000;

/**
 * Prunes the four logs, each by its own retention counted back from `now` (0: that log is kept
 * whole). Throws when the database fails; what was deleted before stays deleted, which is
 * harmless: each batch is whole.
 */
export async function pruneLogs(db: Database, retention: LogRetention, now: Date = new Date()): Promise<PrunedLogs> {
  const before = (hours: number) => new Date(now.getTime() - hours * HOUR_MS);
  return {
    stockMovements: retention.stockMovementDays > 0 ? await pruneStockMovements(db, before(retention.stockMovementDays * 24)) : 0,
    idempotencyKeys: retention.idempotencyKeyHours > 0 ? await pruneIdempotencyKeys(db, before(retention.idempotencyKeyHours)) : 0,
    lostDemand: retention.lostDemandDays > 0 ? await pruneLostDemand(db, before(retention.lostDemandDays * 24)) : 0,
    webhookDeliveries: retention.webhookDeliveryDays > 0 ? await pruneWebhookDeliveries(db, before(retention.webhookDeliveryDays * 24)) : 0,
  };
}

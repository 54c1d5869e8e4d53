/**
 * The cost buckets every instance shares (docs/ARCHITECTURE.md, "Access and limits"). Instances
 * meter requests in memory and call `mergeCostBudgets` a few times a second with what each caller
 * spent since: one statement adds it to the caller's shared bucket, drained at its rate since it
 * was last touched, and answers the shared levels. The request path never waits on this table.
 */
import { sql } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { jsonb, name, names } from "../../drizzle/sql.js";

const { costBudgets } = schema;

/** What one caller spent on an instance since its last merge (negative: more given back). */
export interface CostSpending {
  caller: string;
  spent: number;
  refillPerSecond: number;
}

/** A shared bucket's level now and how fast it drains. */
export interface SharedBucket {
  level: number;
  refillPerSecond: number;
}

/**
 * Adds each caller's spending to its shared bucket, then answers every bucket that is not empty,
 * by caller: those just merged and those other instances filled, so an instance learns of a caller
 * it has not served yet. A bucket never drains below empty. Spending is added as it is (a first
 * merge of a refund may store a negative level, read as empty), so that a refund reaches a bucket.
 */
export async function mergeCostBudgets(db: Executor, spending: readonly CostSpending[]): Promise<Map<string, SharedBucket>> {
  const drained = sql`greatest(0, ${costBudgets.level} - extract(epoch FROM clock_timestamp() - ${costBudgets.updatedAt}) * ${costBudgets.refillPerSecond})`;
  const found = await rows<{ caller: string; level: number | string; refill_per_second: number | string }>(
    db,
    sql`WITH merged AS (
          INSERT INTO ${costBudgets} (${names(costBudgets.caller, costBudgets.level, costBudgets.refillPerSecond, costBudgets.updatedAt)})
          SELECT s.caller, s.spent, s.refill_per_second, clock_timestamp()
          FROM jsonb_to_recordset(${jsonb(spending.map((each) => ({ caller: each.caller, spent: each.spent, refill_per_second: each.refillPerSecond })))})
            AS s(caller text, spent float8, refill_per_second float8)
          ON CONFLICT (${name(costBudgets.caller)}) DO UPDATE SET
            ${name(costBudgets.level)} = greatest(0, ${drained} + excluded.${name(costBudgets.level)}),
            ${name(costBudgets.refillPerSecond)} = excluded.${name(costBudgets.refillPerSecond)},
            ${name(costBudgets.updatedAt)} = excluded.${name(costBudgets.updatedAt)}
          RETURNING ${costBudgets.caller} AS caller, greatest(0, ${costBudgets.level}) AS level, ${costBudgets.refillPerSecond} AS refill_per_second
        )
        SELECT caller, level, refill_per_second FROM merged
        UNION ALL
        SELECT ${costBudgets.caller}, ${drained}, ${costBudgets.refillPerSecond} FROM ${costBudgets}
        WHERE ${drained} > 0 AND ${costBudgets.caller} NOT IN (SELECT caller FROM merged)`,
  );
  return new Map(found.map((row) => [row.caller, { level: Number(row.level), refillPerSecond: Number(row.refill_per_second) }]));
}

/** Deletes the buckets that have drained empty (a missing bucket is an empty one); returns how many. */
export async function pruneCostBudgets(db: Executor): Promise<number> {
  const deleted = await rows<{ caller: string }>(
    db,
    sql`DELETE FROM ${costBudgets}
        WHERE ${costBudgets.level} - extract(epoch FROM clock_timestamp() - ${costBudgets.updatedAt}) * ${costBudgets.refillPerSecond} <= 0
        RETURNING ${costBudgets.caller} AS caller`,
  );
  return deleted.length;
}

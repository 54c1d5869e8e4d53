/** Batch lookups by key, as DataLoaders want them: one statement for a whole batch of keys. */
import { getTableColumns, inArray } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Executor } from "./db.js";

/**
 * The rows of `table` whose `key` column holds each of `keys`, in the keys' order, null where
 * none does (the DataLoader contract), in one statement. `key` names a unique column.
 */
export async function rowsByKeys<TTable extends PgTable, TKey extends keyof TTable["$inferSelect"] & keyof TTable["_"]["columns"] & string>(
  db: Executor,
  table: TTable,
  key: TKey,
  keys: readonly TTable["$inferSelect"][TKey][],
): Promise<(TTable["$inferSelect"] | null)[]> {
  if (keys.length === 0) return [];
  const found = (await db
    .select()
    .from(table as PgTable)
    .where(inArray(getTableColumns(table)[key], [...keys]))) as TTable["$inferSelect"][];
  const byKey = new Map(found.map((row) => [row[key], row]));
  return keys.map((value) => byKey.get(value) ?? null);
}

/** Small pieces of SQL shared by the services, written once so both drivers see the same text. */
import { sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";

/** An `int[]` parameter: one bind value however many ids, the same on PGlite and postgres.js. */
export function intArray(ids: readonly number[]): SQL {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`not an integer id: ${id}`);
  return sql`${`{${ids.join(",")}}`}::int[]`;
}

/** A `jsonb` parameter: lets one statement take a whole list of rows (with `jsonb_to_recordset`). */
export function jsonb(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** A timestamp read by raw SQL (a string on both drivers) as a Date. */
export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

/**
 * A column's bare name, where SQL wants it unqualified: the target of an `UPDATE … SET`, the column
 * list of an `INSERT` (interpolated as is, drizzle writes a column as "table"."column").
 */
export function name(column: AnyPgColumn): SQL {
  return sql`${sql.identifier(column.name)}`;
}

/** Several columns' bare names, comma-separated: an `INSERT`'s column list. */
export function names(...columns: AnyPgColumn[]): SQL {
  return sql.join(columns.map(name), sql`, `);
}

/**
 * An instant as text to the microsecond in UTC ("2026-12-02T05:48:22.123456Z"), which sorts as the
 * instant does: what keyset cursors over a timestamp carry, so a page never splits rows that share
 * a millisecond.
 */
export function cursorInstant(instant: AnyPgColumn | SQL): SQL {
  return sql`to_char(${instant} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Small pieces of SQL shared by the services, written once so both drivers see the same text. */
import { sql, type SQL } from "drizzle-orm";

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

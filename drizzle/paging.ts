/**
 * Keyset pagination shared by the read services: a page is the rows after a cursor in a fixed
 * order, a cursor is the sort key of the last row seen (opaque to clients: base64url of JSON),
 * and the total is counted only when somebody asks for it, from a counter or up to a bound
 * (docs/ARCHITECTURE.md, "Counting").
 */
import { getTableColumns, sql, type SQLWrapper } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { type CountPrecision, DomainError } from "./contract.js";
import { type Executor, rows } from "./db.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * The most rows a count without a counter reads: past it, a total is reported as this bound,
 * AT_LEAST. It keeps a count's work the same at a thousand rows and at ten million.
 */
export const COUNT_BOUND = 10_000;

/** A list's total: the number of matches (EXACT), or COUNT_BOUND when there are more (AT_LEAST). */
export interface Count {
  value: number;
  precision: CountPrecision;
}

/** What a list takes: how many rows, after which cursor. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** One page of a list, in the list's order, each row with its cursor. */
export interface Page<T> {
  items: T[];
  cursors: string[];
  hasNextPage: boolean;
  endCursor: string | null;
  /**
   * The number of rows matching the filter, all pages together, or {@link COUNT_BOUND} when
   * counting stopped there (see `totalCountPrecision`); a function when counted lazily.
   */
  totalCount: number | (() => Promise<number>);
  /** EXACT, or AT_LEAST when counting stopped at the bound; a function answered by the same count as `totalCount`. */
  totalCountPrecision: CountPrecision | (() => Promise<CountPrecision>);
}

/** A sort key part: the cursor stores exactly what the SQL compares. */
export type CursorPart = "int" | "text";

/**
 * The page size to use; INVALID_INPUT (field `first`) outside 0..100. The GraphQL layer checks
 * this first and answers BAD_USER_INPUT; services check again for other callers.
 */
export function pageSize(first: number | null | undefined): number {
  if (first === undefined || first === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new DomainError({ code: "INVALID_INPUT", message: `first must be between 0 and ${MAX_PAGE_SIZE}`, field: ["first"] });
  }
  return first;
}

/** Encodes a row's sort key as an opaque cursor. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/**
 * Decodes a cursor made by `encodeCursor` for a list whose key has `shape`; null for no cursor.
 * A cursor that is not one of ours is INVALID_INPUT (field `after`).
 */
export function decodeCursor(after: string | null | undefined, shape: readonly CursorPart[]): (string | number)[] | null {
  if (after === undefined || after === null) return null;
  const invalid = () => new DomainError({ code: "INVALID_INPUT", message: "after is not a valid cursor", field: ["after"] });
  let key: unknown;
  try {
    if (after.length > 500 || !/^[A-Za-z0-9_-]*$/.test(after)) throw invalid();
    key = JSON.parse(Buffer.from(after, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw invalid();
  shape.forEach((part, index) => {
    const value = key[index];
    const ok = part === "int" ? Number.isSafeInteger(value) && Math.abs(value) <= 2_147_483_647 : typeof value === "string" && value.length <= 100;
    if (!ok) throw invalid();
  });
  return key as (string | number)[];
}

/**
 * Cuts `limit + 1` fetched rows to a page: the extra row only says whether there is a next page.
 * `total` is a number read exactly, or a {@link Count}, or a lazy one ({@link lazyCount}).
 */
export function toPage<T>(
  fetched: T[],
  limit: number,
  keyOf: (row: T) => readonly (string | number)[],
  total: number | Count | (() => Promise<Count>),
): Page<T> {
  const items = fetched.slice(0, limit);
  const cursors = items.map((row) => encodeCursor(keyOf(row)));
  const counted = typeof total === "number" ? exactCount(total) : total;
  return {
    items,
    cursors,
    hasNextPage: fetched.length > limit,
    endCursor: cursors.at(-1) ?? null,
    totalCount: typeof counted === "function" ? async () => (await counted()).value : counted.value,
    totalCountPrecision: typeof counted === "function" ? async () => (await counted()).precision : counted.precision,
  };
}

/** Memoizes a lazy count so a query asking for it twice (or for its precision too) runs one statement. */
export function lazyCount(count: () => Promise<Count>): () => Promise<Count> {
  let pending: Promise<Count> | undefined;
  return () => (pending ??= count());
}

/** A total known exactly (read from a counter, or counted in full where that is cheap). */
export function exactCount(value: number): Count {
  return { value, precision: "EXACT" };
}

/** What a count of up to `bound + 1` rows says: exact up to the bound, else the bound, AT_LEAST. */
export function boundedResult(counted: number, bound: number = COUNT_BOUND): Count {
  return counted > bound ? { value: bound, precision: "AT_LEAST" } : exactCount(counted);
}

/**
 * Counts the rows `matching` returns (a SELECT without ORDER BY or LIMIT, such as a query
 * builder's `select().from(table).where(…)`), reading at most `bound + 1` of them.
 */
export async function boundedCount(db: Executor, matching: SQLWrapper, bound: number = COUNT_BOUND): Promise<Count> {
  // The limit is written into the statement rather than bound: a plan prepared for an unknown
  // limit may not favour stopping early.
  const [row] = await rows<{ n: unknown }>(db, sql`SELECT count(*)::int AS n FROM (${matching} LIMIT ${sql.raw(String(Math.trunc(bound) + 1))}) matching`);
  return boundedResult(Number(row.n), bound);
}

/**
 * Turns a raw row (snake_case column names, driver types) into the table's record type, with the
 * same conversions drizzle's query builder applies: raw SQL is needed for window functions.
 */
export function toRecord<TTable extends PgTable>(table: TTable, row: Record<string, unknown>): TTable["$inferSelect"] {
  const record: Record<string, unknown> = {};
  for (const [key, column] of columnEntries(table)) {
    const value = row[column.name];
    record[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return record as TTable["$inferSelect"];
}

const entriesByTable = new WeakMap<PgTable, [string, PgColumn][]>();

/** A table's (property, column) pairs, listed once: getTableColumns copies them on every call, and a page converts hundreds of rows. */
function columnEntries(table: PgTable): [string, PgColumn][] {
  let entries = entriesByTable.get(table);
  if (!entries) {
    entries = Object.entries(getTableColumns(table));
    entriesByTable.set(table, entries);
  }
  return entries;
}

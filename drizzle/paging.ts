/**
 * Keyset pagination shared by the read services: a page is the rows after a cursor in a fixed
 * order, a cursor is the sort key of the last row seen (opaque to clients: base64url of JSON),
 * and the total is counted only when somebody asks for it.
 */
import { getTableColumns } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { DomainError } from "./contract.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

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
  /** The number of rows matching the filter, all pages together; a function when counted lazily. */
  totalCount: number | (() => Promise<number>);
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
 */
export function toPage<T>(fetched: T[], limit: number, keyOf: (row: T) => readonly (string | number)[], totalCount: Page<T>["totalCount"]): Page<T> {
  const items = fetched.slice(0, limit);
  const cursors = items.map((row) => encodeCursor(keyOf(row)));
  return {
    items,
    cursors,
    hasNextPage: fetched.length > limit,
    endCursor: cursors.at(-1) ?? null,
    totalCount,
  };
}

/** Memoizes a lazy count so a query asking for it twice runs one statement. */
export function lazyCount(count: () => Promise<number>): () => Promise<number> {
  let pending: Promise<number> | undefined;
  return () => (pending ??= count());
}

/**
 * Turns a raw row (snake_case column names, driver types) into the table's record type, with the
 * same conversions drizzle's query builder applies: raw SQL is needed for window functions.
 */
export function toRecord<TTable extends PgTable>(table: TTable, row: Record<string, unknown>): TTable["$inferSelect"] {
  const record: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = row[column.name];
    record[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return record as TTable["$inferSelect"];
}

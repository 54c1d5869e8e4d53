/**
 * Reading restocks: by id, per product (Product.restocks, batched over a page of products) and
 * as a filtered list, all in expected-date order.
 */
import { sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { rowsByKeys } from "../../drizzle/lookup.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import {
  boundedCount,
  boundedResult,
  COUNT_BOUND,
  decodeCursor,
  lazyCount,
  type Page,
  type PageArgs,
  pageSize,
  toPage,
  toRecord,
} from "../../drizzle/paging.js";
import { jsonb, cursorInstant } from "../../drizzle/sql.js";
import type { RestockRecord, RestockStatus } from "./types.js";

const { restocks } = schema;
// The table under the alias the statements read it by.
const x = alias(restocks, "x");

export interface RestockFilter {
  productId?: number | null;
  status?: RestockStatus | null;
}

/** One product's restocks page, as the Product.restocks field asks for it. */
export interface RestockPageRequest {
  productId: number;
  status?: RestockStatus | null;
  first?: number | null;
  after?: string | null;
}

/** Restock cursors are (expected_at as exact UTC text, id): microseconds survive the round trip. */
const RESTOCK_CURSOR = ["text", "int"] as const;
const SORT_AT = cursorInstant(x.expectedAt);

/** Checks a restocks cursor without running anything; INVALID_INPUT (field `after`) when it is not one. */
export function checkRestockCursor(after: string | null | undefined): void {
  decodeCursor(after, RESTOCK_CURSOR);
}

function keyOf(row: RestockRecord & { sortAt: string }): [string, number] {
  return [row.sortAt, row.id];
}

function toSorted(row: Record<string, unknown>): RestockRecord & { sortAt: string } {
  return { ...toRecord(restocks, row), sortAt: String(row.sort_at) };
}

/** Strips the sort key carried for cursors. */
function strip(page: Page<RestockRecord & { sortAt: string }>): Page<RestockRecord> {
  return { ...page, items: page.items.map(({ sortAt: _sortAt, ...restock }) => restock) };
}

/** The restocks with these ids, in the ids' order; null where none exists. */
export const restocksByIds = (db: Executor, ids: readonly number[]) => rowsByKeys(db, restocks, "id", ids);

/**
 * Restock pages of several products at once, in the requests' order, in one statement.
 * INVALID_INPUT for a bad `first` or cursor.
 */
export async function restockPages(db: Executor, requests: readonly RestockPageRequest[]): Promise<Page<RestockRecord>[]> {
  if (requests.length === 0) return [];
  const params = requests.map((request, k) => {
    const after = decodeCursor(request.after, RESTOCK_CURSOR);
    return {
      k,
      product_id: request.productId,
      status: request.status ?? null,
      lim: pageSize(request.first),
      after_at: after ? after[0] : null,
      after_id: after ? after[1] : null,
    };
  });
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH req AS (
        SELECT * FROM jsonb_to_recordset(${jsonb(params)})
          AS r(k int, product_id int, status text, lim int, after_at text, after_id int)
      ),
      totals AS (
        SELECT r.k, t.total
          FROM req r
          CROSS JOIN LATERAL (
            SELECT count(*)::int AS total FROM (
              SELECT 1 FROM ${restocks} ${x}
               WHERE ${x.productId} = r.product_id AND (r.status IS NULL OR ${x.status} = r.status)
               LIMIT ${sql.raw(String(COUNT_BOUND + 1))}) counted
          ) t
      ),
      picked AS (
        SELECT r.k AS request_key, row_number() OVER (PARTITION BY r.k ORDER BY ${x.expectedAt}, ${x.id}) AS n,
               ${SORT_AT} AS sort_at, ${x}.*
          FROM req r
          JOIN ${restocks} ${x} ON ${x.productId} = r.product_id AND (r.status IS NULL OR ${x.status} = r.status)
         WHERE r.after_id IS NULL OR (${x.expectedAt}, ${x.id}) > (r.after_at::timestamptz, r.after_id)
      )
      SELECT r.k AS page_key, t.total AS page_total, p.*
        FROM req r
        JOIN totals t ON t.k = r.k
        LEFT JOIN picked p ON p.request_key = r.k AND p.n <= r.lim + 1
       ORDER BY r.k, p.n`,
  );
  const fetched = params.map(() => [] as (RestockRecord & { sortAt: string })[]);
  const totals = params.map(() => boundedResult(0));
  for (const row of found) {
    const k = Number(row.page_key);
    totals[k] = boundedResult(Number(row.page_total));
    if (row.id !== null && row.id !== undefined) fetched[k].push(toSorted(row));
  }
  return params.map((param, k) => strip(toPage(fetched[k], param.lim, keyOf, totals[k])));
}

/** A page of restocks matching `filter`, by expected date then id. INVALID_INPUT for a bad `first` or cursor. */
export async function listRestocks(db: Executor, filter: RestockFilter | null | undefined, page: PageArgs): Promise<Page<RestockRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, RESTOCK_CURSOR);
  const conditions: SQL[] = [sql`true`];
  if (filter?.productId !== undefined && filter?.productId !== null) conditions.push(sql`${x.productId} = ${filter.productId}::int`);
  if (filter?.status) conditions.push(sql`${x.status} = ${filter.status}`);
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql`AND (${x.expectedAt}, ${x.id}) > (${after[0]}::timestamptz, ${after[1]}::int)` : sql``;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT ${SORT_AT} AS sort_at, ${x}.*
        FROM ${restocks} ${x}
       WHERE ${where} ${keyset}
       ORDER BY ${x.expectedAt}, ${x.id}
       LIMIT ${limit + 1}`,
  );
  const count = lazyCount(() => boundedCount(db, sql`SELECT 1 FROM ${restocks} ${x} WHERE ${where}`));
  return strip(toPage(found.map(toSorted), limit, keyOf, count));
}

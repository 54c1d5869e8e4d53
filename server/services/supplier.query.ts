/**
 * Reading suppliers (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): the list, each
 * supplier's products, and what its history of received restocks says of its dates. Every
 * function for the DataLoaders takes a whole batch of keys and runs one statement.
 */
import { asc, gt, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { rowsByKeys } from "../../drizzle/lookup.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import {
  boundedCount,
  boundedResult,
  COUNT_BOUND,
  type Count,
  decodeCursor,
  lazyCount,
  type Page,
  type PageArgs,
  pageSize,
  toPage,
  toRecord,
} from "../../drizzle/paging.js";
import { intArray, jsonb } from "../../drizzle/sql.js";
import type { ProductRecord, SupplierRecord } from "./types.js";

const { products, restocks, suppliers } = schema;

/**
 * How many of a supplier's received restocks its figures read: the newest by `received_at`.
 * Recent behaviour is what predicts the next delivery, and the bound keeps each supplier's
 * figures at one range of `restocks_supplier_received_idx` of at most this many entries, whatever
 * its age (the query cost prices them from it: query-cost.ts FIELD_WORK).
 */
export const SUPPLIER_HISTORY = 100;

/** Milliseconds in a day: lateness is counted in 24-hour days, as lead times are ("Expected dates"). */
const DAY_MS = 86_400_000;

/**
 * What a supplier's history says: over its last {@link SUPPLIER_HISTORY} restocks received in
 * full (status RECEIVED), each one's lateness is `received_at` minus the date first announced
 * (`original_expected_at`, kept through reschedules; `expected_at` on rows from before migration
 * 0017), in days, 0 when early or on time. Null figures when it has no history.
 */
export interface SupplierReliability {
  supplierId: number;
  /** Restocks the figures are taken over (0 to {@link SUPPLIER_HISTORY}). */
  received: number;
  /** The share received on or before their first announced date. */
  onTimeRate: number | null;
  /** The mean lateness in days. */
  averageDelayDays: number | null;
  /** The 90th percentile of lateness in days (percentile_cont: interpolated): what `expectedAtLate` adds. */
  lateP90Days: number | null;
}

/** The suppliers with these ids, in the ids' order; null where none exists. */
export const suppliersByIds = (db: Executor, ids: readonly number[]) => rowsByKeys(db, suppliers, "id", ids);

/** A page of suppliers in id order (creation order). INVALID_INPUT for a bad `first` or cursor. */
export async function listSuppliers(db: Executor, page: PageArgs): Promise<Page<SupplierRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const fetched = await db
    .select()
    .from(suppliers)
    .where(after ? gt(suppliers.id, after[0] as number) : undefined)
    .orderBy(asc(suppliers.id))
    .limit(limit + 1);
  const count = lazyCount(() => boundedCount(db, db.select({ one: sql`1` }).from(suppliers)));
  return toPage(fetched, limit, (row) => [row.id], count);
}

/**
 * The reliability of each supplier, in the ids' order, in one statement: per supplier, one
 * backward range of `restocks_supplier_received_idx` (newest receipt first, at most
 * {@link SUPPLIER_HISTORY} entries), aggregated where it is read. Unknown ids get empty figures.
 */
export async function supplierReliabilities(db: Executor, supplierIds: readonly number[]): Promise<SupplierReliability[]> {
  if (supplierIds.length === 0) return [];
  const r = alias(restocks, "r");
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT s.id AS supplier_id, h.received, h.on_time, h.average_days, h.p90_days
        FROM unnest(${intArray([...new Set(supplierIds)])}) AS s(id)
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS received,
                 count(*) FILTER (WHERE late.days <= 0)::int AS on_time,
                 avg(greatest(late.days, 0))::float8 AS average_days,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY greatest(late.days, 0))::float8 AS p90_days
            FROM (
              SELECT extract(epoch FROM ${r.receivedAt} - coalesce(${r.originalExpectedAt}, ${r.expectedAt}))::float8 / 86400 AS days
                FROM ${restocks} ${r}
               WHERE ${r.supplierId} = s.id AND ${r.status} = 'RECEIVED' AND ${r.receivedAt} IS NOT NULL
               ORDER BY ${r.receivedAt} DESC
               LIMIT ${sql.raw(String(SUPPLIER_HISTORY))}
            ) late
        ) h`,
  );
  const byId = new Map<number, SupplierReliability>();
  for (const row of found) {
    const received = Number(row.received);
    byId.set(Number(row.supplier_id), {
      supplierId: Number(row.supplier_id),
      received,
      onTimeRate: received === 0 ? null : Number(row.on_time) / received,
      averageDelayDays: received === 0 ? null : Number(row.average_days),
      lateP90Days: received === 0 ? null : Number(row.p90_days),
    });
  }
  return supplierIds.map((id) => byId.get(id) ?? { supplierId: id, received: 0, onTimeRate: null, averageDelayDays: null, lateP90Days: null });
}

/**
 * The late end of a range: `expectedAt` plus the supplier's 90th-percentile lateness. Null when
 * nothing is expected or the supplier has no history (a range from nothing would be a guess).
 */
export function lateEnd(expectedAt: Date | null, reliability: SupplierReliability | null): Date | null {
  if (expectedAt === null || reliability === null || reliability.lateP90Days === null) return null;
  return new Date(expectedAt.getTime() + Math.round(reliability.lateP90Days * DAY_MS));
}

/** One supplier's products page, as the Supplier.products field asks for it. */
export interface SupplierProductPageRequest {
  supplierId: number;
  first?: number | null;
  after?: string | null;
}

/** Checks a supplier's products cursor without running anything; INVALID_INPUT (field `after`) when it is not one. */
export function checkSupplierProductCursor(after: string | null | undefined): void {
  decodeCursor(after, ["int"]);
}

/**
 * Products pages of several suppliers at once, in the requests' order, in id order, in one
 * statement: one range of `products_supplier_idx` (supplier_id, id) per request, read no further
 * than its page. Their counts are a separate batch ({@link supplierProductCounts}), run only when a
 * response asks for one. INVALID_INPUT for a bad `first` or cursor.
 */
export async function supplierProductPages(
  db: Executor,
  requests: readonly SupplierProductPageRequest[],
  counts: (supplierId: number) => Promise<Count>,
): Promise<Page<ProductRecord>[]> {
  if (requests.length === 0) return [];
  const params = requests.map((request, k) => {
    const after = decodeCursor(request.after, ["int"]);
    return { k, supplier_id: request.supplierId, lim: pageSize(request.first), after_id: after ? after[0] : null };
  });
  const x = alias(products, "x");
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT r.k AS page_key, p.*
        FROM jsonb_to_recordset(${jsonb(params)}) AS r(k int, supplier_id int, lim int, after_id int)
        CROSS JOIN LATERAL (
          SELECT ${x}.* FROM ${products} ${x}
           WHERE ${x.supplierId} = r.supplier_id AND (r.after_id IS NULL OR ${x.id} > r.after_id)
           ORDER BY ${x.id}
           LIMIT r.lim + 1
        ) p
       ORDER BY r.k, p.id`,
  );
  const fetched = params.map(() => [] as ProductRecord[]);
  for (const row of found) fetched[Number(row.page_key)].push(toRecord(products, row));
  return params.map((param, k) =>
    toPage(
      fetched[k],
      param.lim,
      (row) => [row.id],
      lazyCount(() => counts(param.supplier_id)),
    ),
  );
}

/** How many products each supplier has, counted up to {@link COUNT_BOUND} each, in the ids' order, in one statement. */
export async function supplierProductCounts(db: Executor, supplierIds: readonly number[]): Promise<Count[]> {
  if (supplierIds.length === 0) return [];
  const found = await rows<{ supplier_id: number; total: number }>(
    db,
    sql`
      SELECT s.id AS supplier_id, c.total
        FROM unnest(${intArray([...new Set(supplierIds)])}) AS s(id)
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS total FROM (
            SELECT 1 FROM ${products} WHERE ${products.supplierId} = s.id LIMIT ${sql.raw(String(COUNT_BOUND + 1))}
          ) counted
        ) c`,
  );
  const byId = new Map(found.map((row) => [Number(row.supplier_id), boundedResult(Number(row.total))]));
  return supplierIds.map((id) => byId.get(id) ?? boundedResult(0));
}

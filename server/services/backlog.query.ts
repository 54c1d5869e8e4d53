/**
 * Reading the backlog: backorders with their place in their product's queue (DESIGN.md
 * sections 3 and 5). Positions are computed by window functions over the queue, for a whole
 * batch of products or ids in one statement, never one query per backorder.
 */
import { inArray, sql, type SQL } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { decodeCursor, lazyCount, type Page, type PageArgs, pageSize, toPage, toRecord } from "./cursor.query.js";
import { intArray, jsonb } from "./sql.js";
import type { BackorderRecord } from "./types.js";

const { backorders } = schema;

/** A backorder with its place in its product's queue; both null when it is not WAITING. */
export interface QueuedBackorder extends BackorderRecord {
  /** 1-based place in the product's queue. */
  position: number | null;
  /** Waiting units of the backorders ahead of it. */
  unitsAhead: number | null;
}

export interface QueuePlace {
  position: number;
  unitsAhead: number;
}

export interface BacklogFilter {
  productId?: number | null;
  delayed?: boolean | null;
  /** Only backorders placed at least this many hours ago. */
  olderThanHours?: number | null;
}

/** One product's backlog page, as the Product.backlog field asks for it. */
export interface BacklogPageRequest {
  productId: number;
  first?: number | null;
  after?: string | null;
}

/** Queue cursors are (priority, id): the queue's sort key. */
const QUEUE_CURSOR = ["int", "int"] as const;

/** Checks a backlog cursor without running anything; INVALID_INPUT (field `after`) when it is not one. */
export function checkBacklogCursor(after: string | null | undefined): void {
  decodeCursor(after, QUEUE_CURSOR);
}

/**
 * The SQL form of `isDelayed`: a waiting backorder whose ETA is later than its promise, unknown
 * while a promise was made, or whose promise has passed. `b` is the backorders alias.
 */
export function delayedCondition(alias = "b"): SQL {
  const b = sql.raw(alias);
  return sql`(${b}.status = 'WAITING' AND ${b}.promised_at IS NOT NULL
    AND (${b}.expected_at IS NULL OR ${b}.expected_at > ${b}.promised_at OR ${b}.promised_at < now()))`;
}

/** Whether a backorder is delayed now (DESIGN.md section 5); the same rule as `delayedCondition`. */
export function isDelayed(backorder: BackorderRecord, now: Date = new Date()): boolean {
  if (backorder.status !== "WAITING" || !backorder.promisedAt) return false;
  return !backorder.expectedAt || backorder.expectedAt > backorder.promisedAt || backorder.promisedAt < now;
}

/** The window over a product's queue that numbers its backorders and sums the units ahead. */
const QUEUE_WINDOW = sql.raw(
  "WINDOW w AS (PARTITION BY b.product_id ORDER BY b.priority DESC, b.id ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
);
const QUEUE_COLUMNS = sql.raw(
  "row_number() OVER w AS position, (sum(b.remaining) OVER w - b.remaining)::int AS units_ahead",
);

function toQueued(row: Record<string, unknown>): QueuedBackorder {
  return {
    ...toRecord(backorders, row),
    position: row.position === null || row.position === undefined ? null : Number(row.position),
    unitsAhead: row.units_ahead === null || row.units_ahead === undefined ? null : Number(row.units_ahead),
  };
}

/** The backorders with these ids, in the ids' order; null where none exists. */
export async function backordersByIds(db: Executor, ids: readonly number[]): Promise<(BackorderRecord | null)[]> {
  if (ids.length === 0) return [];
  const found = await db.select().from(backorders).where(inArray(backorders.id, [...ids]));
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** The backorder of each order line, in the lines' order; null for a line that never waited. */
export async function backordersByOrderLines(db: Executor, lineIds: readonly number[]): Promise<(BackorderRecord | null)[]> {
  if (lineIds.length === 0) return [];
  const found = await db.select().from(backorders).where(inArray(backorders.orderLineId, [...lineIds]));
  const byLine = new Map(found.map((row) => [row.orderLineId, row]));
  return lineIds.map((id) => byLine.get(id) ?? null);
}

/**
 * The queue places of these backorders, in the ids' order, in one statement; null for one that
 * is not WAITING (or does not exist).
 */
export async function queuePlaces(db: Executor, ids: readonly number[]): Promise<(QueuePlace | null)[]> {
  if (ids.length === 0) return [];
  const found = await rows<{ id: number; position: unknown; units_ahead: unknown }>(
    db,
    sql`
      SELECT q.id, q.position, q.units_ahead
        FROM (
          SELECT b.id, ${QUEUE_COLUMNS}
            FROM backorders b
           WHERE b.status = 'WAITING'
             AND b.product_id IN (SELECT product_id FROM backorders WHERE id = ANY(${intArray(ids)}) AND status = 'WAITING')
          ${QUEUE_WINDOW}
        ) q
       WHERE q.id = ANY(${intArray(ids)})`,
  );
  const byId = new Map(found.map((row) => [Number(row.id), { position: Number(row.position), unitsAhead: Number(row.units_ahead) }]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Backlog pages of several products at once (the Product.backlog field of a whole product
 * page), in the requests' order, in one statement: each product's WAITING queue is numbered by a
 * window, then each request takes its rows after its cursor. INVALID_INPUT for a bad `first` or cursor.
 */
export async function backlogPages(db: Executor, requests: readonly BacklogPageRequest[]): Promise<Page<QueuedBackorder>[]> {
  if (requests.length === 0) return [];
  const params = requests.map((request, k) => {
    const after = decodeCursor(request.after, QUEUE_CURSOR);
    return {
      k,
      product_id: request.productId,
      lim: pageSize(request.first),
      after_priority: after ? after[0] : null,
      after_id: after ? after[1] : null,
    };
  });
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH req AS (
        SELECT * FROM jsonb_to_recordset(${jsonb(params)})
          AS r(k int, product_id int, lim int, after_priority int, after_id int)
      ),
      queue AS (
        SELECT b.*, ${QUEUE_COLUMNS}
          FROM backorders b
         WHERE b.status = 'WAITING' AND b.product_id IN (SELECT product_id FROM req)
        ${QUEUE_WINDOW}
      ),
      totals AS (
        SELECT product_id, count(*)::int AS total FROM queue GROUP BY product_id
      ),
      picked AS (
        SELECT r.k AS request_key, row_number() OVER (PARTITION BY r.k ORDER BY q.position) AS n, q.*
          FROM req r
          JOIN queue q ON q.product_id = r.product_id
         WHERE r.after_id IS NULL
            OR q.priority < r.after_priority
            OR (q.priority = r.after_priority AND q.id > r.after_id)
      )
      SELECT r.k AS page_key, coalesce(t.total, 0) AS page_total, p.*
        FROM req r
        LEFT JOIN totals t ON t.product_id = r.product_id
        LEFT JOIN picked p ON p.request_key = r.k AND p.n <= r.lim + 1
       ORDER BY r.k, p.n`,
  );
  const fetched = params.map(() => [] as QueuedBackorder[]);
  const totals = params.map(() => 0);
  for (const row of found) {
    const k = Number(row.page_key);
    totals[k] = Number(row.page_total);
    if (row.id !== null && row.id !== undefined) fetched[k].push(toQueued(row));
  }
  return params.map((param, k) => toPage(fetched[k], param.lim, (row) => [row.priority, row.id], totals[k]));
}

/**
 * A page of the whole backlog (WAITING backorders of every product, or of one), in global queue
 * order: higher priority first, then placement order. Each carries its place in its own
 * product's queue, computed in the same statement. INVALID_INPUT for a bad `first`, cursor or filter.
 */
export async function listBacklog(db: Executor, filter: BacklogFilter | null | undefined, page: PageArgs): Promise<Page<QueuedBackorder>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, QUEUE_CURSOR);
  const conditions: SQL[] = [sql`b.status = 'WAITING'`];
  if (filter?.productId !== undefined && filter?.productId !== null) conditions.push(sql`b.product_id = ${filter.productId}`);
  if (filter?.delayed === true) conditions.push(delayedCondition("b"));
  if (filter?.delayed === false) conditions.push(sql`NOT ${delayedCondition("b")}`);
  if (filter?.olderThanHours !== undefined && filter?.olderThanHours !== null) {
    conditions.push(sql`b.created_at <= now() - make_interval(hours => ${filter.olderThanHours}::int)`);
  }
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql`AND (b.priority < ${after[0]}::int OR (b.priority = ${after[0]}::int AND b.id > ${after[1]}::int))` : sql``;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH page AS (
        SELECT b.id, b.product_id, b.priority
          FROM backorders b
         WHERE ${where} ${keyset}
         ORDER BY b.priority DESC, b.id ASC
         LIMIT ${limit + 1}
      ),
      queue AS (
        SELECT b.id, ${QUEUE_COLUMNS}
          FROM backorders b
         WHERE b.status = 'WAITING' AND b.product_id IN (SELECT product_id FROM page)
        ${QUEUE_WINDOW}
      )
      SELECT b.*, q.position, q.units_ahead
        FROM page
        JOIN backorders b ON b.id = page.id
        LEFT JOIN queue q ON q.id = page.id
       ORDER BY page.priority DESC, page.id ASC`,
  );
  const count = lazyCount(async () => {
    const [row] = await rows<{ count: unknown }>(db, sql`SELECT count(*)::int AS count FROM backorders b WHERE ${where}`);
    return Number(row.count);
  });
  return toPage(found.map(toQueued), limit, (row) => [row.priority, row.id], count);
}

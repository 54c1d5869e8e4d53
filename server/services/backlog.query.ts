/**
 * Reading the backlog: backorders with their place in their product's queue (docs/ARCHITECTURE.md,
 * "The model and its invariants" and "Expected dates"), for a whole batch of products or ids in one statement, never one query per
 * backorder. A place is counted from the queue index (`backorders_queue_idx`: product, priority
 * descending, id, over WAITING rows) as two range scans over what is ahead, so reading the head
 * of a 100,000-deep queue costs what reading the head of a short one does: a read is
 * proportional to how far into the queue it looks, never to the queue's depth.
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { boundedCount, decodeCursor, exactCount, lazyCount, type Page, type PageArgs, pageSize, toPage, toRecord } from "../../drizzle/paging.js";
import { intArray, jsonb } from "../../drizzle/sql.js";
import { delayedFilter } from "./backorder-delay.js";
import type { BackorderRecord } from "./types.js";

const { backorders, products } = schema;
// The tables under the aliases the statements read them by.
const b = alias(backorders, "b");
const q = alias(backorders, "q");
const p = alias(products, "p");

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
 * How many WAITING backorders of `product`, and how many units, come before the queue key
 * (`priority`, `id`) — or up to and including it with `through`. Two index range scans: higher
 * priorities, then the same priority with smaller ids. A null key counts nothing. Column
 * references of the enclosing statement may be passed (it is meant for a LATERAL join).
 */
function queueAhead(product: SQL | Column, priority: SQL | Column, id: SQL | Column, { through = false } = {}): SQL {
  const idBound = through ? sql`<=` : sql`<`;
  return sql`
    SELECT (higher.n + same.n)::int AS n, (higher.units + same.units)::int AS units
      FROM (SELECT count(*) AS n, coalesce(sum(${backorders.remaining}), 0) AS units FROM ${backorders}
             WHERE ${backorders.status} = 'WAITING' AND ${backorders.productId} = ${product} AND ${backorders.priority} > ${priority}) higher,
           (SELECT count(*) AS n, coalesce(sum(${backorders.remaining}), 0) AS units FROM ${backorders}
             WHERE ${backorders.status} = 'WAITING' AND ${backorders.productId} = ${product} AND ${backorders.priority} = ${priority}
               AND ${backorders.id} ${idBound} ${id}) same`;
}

function toQueued(row: Record<string, unknown>): QueuedBackorder {
  // Set on the record rather than spread into a copy: a page converts every row it reads.
  const queued = toRecord(backorders, row) as QueuedBackorder;
  queued.position = row.position === null || row.position === undefined ? null : Number(row.position);
  queued.unitsAhead = row.units_ahead === null || row.units_ahead === undefined ? null : Number(row.units_ahead);
  return queued;
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
      SELECT ${b.id}, ahead.n + 1 AS position, ahead.units AS units_ahead
        FROM ${backorders} ${b}
        CROSS JOIN LATERAL (${queueAhead(b.productId, b.priority, b.id)}) ahead
       WHERE ${b.id} = ANY(${intArray(ids)}) AND ${b.status} = 'WAITING'`,
  );
  const byId = new Map(found.map((row) => [Number(row.id), { position: Number(row.position), unitsAhead: Number(row.units_ahead) }]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Backlog pages of several products at once (the Product.backlog field of a whole product
 * page), in the requests' order, in one statement: each request takes the rows after its cursor
 * from the queue index (the rest of the cursor's priority, then the lower priorities) and counts
 * what is ahead of its cursor for their places; the total is the product's waiting-order count.
 * INVALID_INPUT for a bad `first` or cursor.
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
  const queued = (condition: SQL, order: SQL) => sql`(
    SELECT * FROM ${backorders} ${b}
     WHERE ${b.status} = 'WAITING' AND ${b.productId} = r.product_id AND ${condition}
     ORDER BY ${order} LIMIT r.lim + 1)`;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH req AS (
        SELECT * FROM jsonb_to_recordset(${jsonb(params)})
          AS r(k int, product_id int, lim int, after_priority int, after_id int)
      )
      SELECT r.k AS page_key, coalesce(${p.waitingOrders}, 0) AS page_total, q.*,
             ahead.n + q.n AS position, ahead.units + q.units_before AS units_ahead
        FROM req r
        LEFT JOIN ${products} ${p} ON ${p.id} = r.product_id
        CROSS JOIN LATERAL (${queueAhead(sql`r.product_id`, sql`r.after_priority`, sql`r.after_id`, { through: true })}) ahead
        LEFT JOIN LATERAL (
          SELECT page.*, row_number() OVER w AS n, (sum(page.remaining) OVER w - page.remaining)::int AS units_before
            FROM (
              SELECT * FROM (
                ${queued(sql`${b.priority} = r.after_priority AND ${b.id} > r.after_id`, sql`${b.id}`)}
                UNION ALL
                ${queued(sql`${b.priority} < coalesce(r.after_priority::bigint, 2147483648)`, sql`${b.priority} DESC, ${b.id}`)}
              ) after_cursor
              ORDER BY priority DESC, id LIMIT r.lim + 1
            ) page
          WINDOW w AS (ORDER BY page.priority DESC, page.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) q ON true
       ORDER BY r.k, q.n`,
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
 * Whether a product's waiting-order counter answers the count of the backlog matching `filter`:
 * one product, with no delay or age picking among its queue. The query cost
 * (server/graphql/limits/query-cost.ts) prices `backlog { totalCount }` by the same rule.
 */
export function countersCountBacklog(filter: { productId?: unknown; delayed?: unknown; olderThanHours?: unknown } | null | undefined): boolean {
  const isSet = (value: unknown) => value !== undefined && value !== null;
  return isSet(filter?.productId) && !isSet(filter?.delayed) && !isSet(filter?.olderThanHours);
}

/**
 * A page of the whole backlog (WAITING backorders of every product, or of one), in global queue
 * order: higher priority first, then placement order. Each carries its place in its own
 * product's queue, computed in the same statement: per product on the page, what is ahead of its
 * first row there is counted once, then its rows from there to its last row on the page are
 * numbered (filters may skip rows, so the span is read, not the page). INVALID_INPUT for a bad
 * `first`, cursor or filter.
 */
export async function listBacklog(db: Executor, filter: BacklogFilter | null | undefined, page: PageArgs): Promise<Page<QueuedBackorder>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, QUEUE_CURSOR);
  const conditions: SQL[] = [sql`${b.status} = 'WAITING'`];
  if (filter?.productId !== undefined && filter?.productId !== null) conditions.push(sql`${b.productId} = ${filter.productId}`);
  if (filter?.delayed === true) conditions.push(delayedFilter(b));
  if (filter?.delayed === false) conditions.push(sql`NOT ${delayedFilter(b)}`);
  if (filter?.olderThanHours !== undefined && filter?.olderThanHours !== null) {
    conditions.push(sql`${b.createdAt} <= now() - make_interval(hours => ${filter.olderThanHours}::int)`);
  }
  const where = sql.join(conditions, sql` AND `);
  // After a cursor: the rest of its priority, then the lower priorities; each a range of the queue indexes.
  const afterCursor = after
    ? sql`(SELECT ${b.id}, ${b.productId}, ${b.priority} FROM ${backorders} ${b}
            WHERE ${where} AND ${b.priority} = ${after[0]}::int AND ${b.id} > ${after[1]}::int ORDER BY ${b.id} LIMIT ${limit + 1})
          UNION ALL
          (SELECT ${b.id}, ${b.productId}, ${b.priority} FROM ${backorders} ${b}
            WHERE ${where} AND ${b.priority} < ${after[0]}::int ORDER BY ${b.priority} DESC, ${b.id} LIMIT ${limit + 1})`
    : sql`SELECT ${b.id}, ${b.productId}, ${b.priority} FROM ${backorders} ${b} WHERE ${where} ORDER BY ${b.priority} DESC, ${b.id} LIMIT ${limit + 1}`;
  const span = (condition: SQL) => sql`(
    SELECT ${q.id}, ${q.priority}, ${q.remaining} FROM ${backorders} ${q}
     WHERE ${q.status} = 'WAITING' AND ${q.productId} = f.product_id AND ${condition})`;
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH page AS (
        SELECT * FROM (${afterCursor}) u ORDER BY priority DESC, id LIMIT ${limit + 1}
      ),
      bounds AS (
        SELECT f.product_id, f.first_priority, f.first_id, l.last_priority, l.last_id, ahead.n, ahead.units
          FROM (SELECT DISTINCT ON (product_id) product_id, priority AS first_priority, id AS first_id
                  FROM page ORDER BY product_id, priority DESC, id) f
          JOIN (SELECT DISTINCT ON (product_id) product_id, priority AS last_priority, id AS last_id
                  FROM page ORDER BY product_id, priority, id DESC) l USING (product_id)
          CROSS JOIN LATERAL (${queueAhead(sql`f.product_id`, sql`f.first_priority`, sql`f.first_id`)}) ahead
      ),
      numbered AS (
        SELECT s.id, f.n + row_number() OVER w AS position, (f.units + sum(s.remaining) OVER w - s.remaining)::int AS units_ahead
          FROM bounds f
          CROSS JOIN LATERAL (
            ${span(sql`${q.priority} = f.first_priority AND ${q.id} >= f.first_id
                       AND ${q.id} <= CASE WHEN f.first_priority = f.last_priority THEN f.last_id ELSE 2147483647 END`)}
            UNION ALL
            ${span(sql`${q.priority} < f.first_priority AND ${q.priority} > f.last_priority`)}
            UNION ALL
            ${span(sql`${q.priority} = f.last_priority AND f.last_priority <> f.first_priority AND ${q.id} <= f.last_id`)}
          ) s
        WINDOW w AS (PARTITION BY f.product_id ORDER BY s.priority DESC, s.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
      SELECT ${b}.*, n.position, n.units_ahead
        FROM page
        JOIN ${backorders} ${b} ON ${b.id} = page.id
        JOIN numbered n ON n.id = page.id
       ORDER BY page.priority DESC, page.id ASC`,
  );
  // One product's whole queue: its counter. Anything else is counted up to the bound.
  const count = lazyCount(async () => {
    if (!countersCountBacklog(filter)) return boundedCount(db, sql`SELECT 1 FROM ${backorders} ${b} WHERE ${where}`);
    const [row] = await rows<{ count: unknown }>(
      db,
      sql`SELECT ${products.waitingOrders} AS count FROM ${products} WHERE ${products.id} = ${filter?.productId}::int`,
    );
    return exactCount(Number(row?.count ?? 0));
  });
  return toPage(found.map(toQueued), limit, (row) => [row.priority, row.id], count);
}

/**
 * Reading webhook endpoints and deliveries (docs/ARCHITECTURE.md, "Webhooks"): the endpoints,
 * the deliveries of a page of endpoints (newest first, one statement for the page), their counts
 * (one statement for the page, only when asked for), and the health figures dashboards read (one
 * statement). Nothing here reads an endpoint's secret or a delivery's body.
 */
import { asc, getTableColumns, gt, inArray, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { DomainError, type DeliveryStatus } from "../../drizzle/contract.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import {
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
import { jsonb, toDate } from "../../drizzle/sql.js";
import { ENDPOINT_COLUMNS, WEBHOOK_LIMITS, type WebhookEndpointRecord } from "./webhook-endpoint.service.js";

const { webhookDeliveries, webhookEndpoints } = schema;
// The tables under the aliases the statements read them by.
const d = alias(webhookDeliveries, "d");
const e = alias(webhookEndpoints, "e");

/** A delivery as the API shows it: without its body (large, and the customer's data) or its lease. */
export type WebhookDeliveryRecord = Omit<typeof schema.webhookDeliveries.$inferSelect, "payload" | "lockedUntil">;

const { payload: _payload, lockedUntil: _lockedUntil, ...DELIVERY_COLUMNS } = getTableColumns(webhookDeliveries);
/** The same columns as SQL, for the raw statements (qualified by the alias `d`). */
const DELIVERY_SQL = sql.join(
  Object.values(getTableColumns(d))
    .filter((column) => column.name !== "payload" && column.name !== "locked_until")
    .map((column) => sql`${column}`),
  sql`, `,
);

/** One endpoint's deliveries page, as WebhookEndpoint.deliveries asks for it. */
export interface DeliveryPageRequest {
  endpointId: number;
  status?: DeliveryStatus | null;
  first?: number | null;
  after?: string | null;
}

/** Which of an endpoint's deliveries a count counts. */
export interface DeliveryCountRequest {
  endpointId: number;
  status?: DeliveryStatus | null;
}

/** How many of an endpoint's newest deliveries the health's "recent" figures look at. */
export const HEALTH_WINDOW = 1000;

/** One endpoint's health (WebhookEndpointHealth); see {@link webhookHealth}. */
export interface EndpointHealth {
  endpointId: number;
  /** The URL's origin: no path, query or secret. */
  host: string;
  enabled: boolean;
  pending: number;
  failed: number;
  oldestPendingAt: Date | null;
  lastDeliveredAt: Date | null;
  lastFailureAt: Date | null;
  failing: boolean;
}

export interface WebhookHealthRecord {
  endpoints: EndpointHealth[];
  pending: number;
  failed: number;
}

/** A delivery cursor: (event_seq, id), both bigint, kept as digit strings so no position is too large for it. */
const DELIVERY_CURSOR = ["text", "text"] as const;

function decodeDeliveryCursor(after: string | null | undefined): [string, string] | null {
  const key = decodeCursor(after, DELIVERY_CURSOR);
  if (!key) return null;
  if (!key.every((part) => typeof part === "string" && /^(0|[1-9][0-9]{0,15})$/.test(part) && Number.isSafeInteger(Number(part)))) {
    throw new DomainError({ code: "INVALID_INPUT", message: "after is not a valid cursor", field: ["after"] });
  }
  return key as [string, string];
}

/** Checks a deliveries cursor without running anything; INVALID_INPUT (field `after`) when it is not one. */
export function checkDeliveryCursor(after: string | null | undefined): void {
  decodeDeliveryCursor(after);
}

/** A page of every endpoint, oldest first (there are at most {@link WEBHOOK_LIMITS.endpoints}). INVALID_INPUT for a bad `first` or cursor. */
export async function listWebhookEndpoints(db: Executor, page: PageArgs): Promise<Page<WebhookEndpointRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const fetched = await db
    .select(ENDPOINT_COLUMNS)
    .from(webhookEndpoints)
    .where(after ? gt(webhookEndpoints.id, after[0] as number) : undefined)
    .orderBy(asc(webhookEndpoints.id))
    .limit(limit + 1);
  // At most 50 rows: counted exactly, and only when asked for.
  const count = lazyCount(async () => {
    const [row] = await rows<{ n: number | string }>(db, sql`SELECT count(*)::int AS n FROM ${webhookEndpoints}`);
    return boundedResult(Number(row.n));
  });
  return toPage(fetched, limit, (row) => [row.id], count);
}

/** The endpoints with these ids, in the ids' order; null where none exists. Without their secrets. */
export async function webhookEndpointsByIds(db: Executor, ids: readonly number[]): Promise<(WebhookEndpointRecord | null)[]> {
  if (ids.length === 0) return [];
  const found = await db
    .select(ENDPOINT_COLUMNS)
    .from(webhookEndpoints)
    .where(inArray(webhookEndpoints.id, [...ids]));
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** The deliveries with these ids, in the ids' order; null where none exists. Without their bodies. */
export async function webhookDeliveriesByIds(db: Executor, ids: readonly number[]): Promise<(WebhookDeliveryRecord | null)[]> {
  if (ids.length === 0) return [];
  const found = await db
    .select(DELIVERY_COLUMNS)
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.id, [...ids]));
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Deliveries pages of several endpoints at once, newest first (by event position, then id), in
 * the requests' order, in one statement: a LATERAL per page walks `webhook_deliveries_endpoint_idx`
 * backwards from the cursor and stops after the page. A status filter is applied along that walk.
 * The pages' totals are counted only when asked for, by `countOf` (the request's loader batches
 * them into one {@link deliveryCounts}), else one {@link deliveryCounts} each.
 * INVALID_INPUT for a bad `first` or cursor.
 */
export async function deliveryPages(
  db: Executor,
  requests: readonly DeliveryPageRequest[],
  countOf: (request: DeliveryCountRequest) => Promise<Count> = async (request) => (await deliveryCounts(db, [request]))[0],
): Promise<Page<WebhookDeliveryRecord>[]> {
  if (requests.length === 0) return [];
  const params = requests.map((request, k) => {
    const after = decodeDeliveryCursor(request.after);
    return {
      k,
      endpoint_id: request.endpointId,
      status: request.status ?? null,
      lim: pageSize(request.first),
      after_seq: after ? after[0] : null,
      after_id: after ? after[1] : null,
    };
  });
  // Without a cursor, the row comparison starts above every position: it stays an index bound
  // (an `after IS NULL OR …` would make the walk filter every row it passes instead).
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      WITH req AS (
        SELECT * FROM jsonb_to_recordset(${jsonb(params)})
          AS r(k int, endpoint_id int, status text, lim int, after_seq bigint, after_id bigint)
      )
      SELECT r.k AS page_key, q.*
        FROM req r
        CROSS JOIN LATERAL (
          SELECT ${DELIVERY_SQL}
            FROM ${webhookDeliveries} ${d}
           WHERE ${d.endpointId} = r.endpoint_id
             AND (r.status IS NULL OR ${d.status} = r.status)
             AND (${d.eventSeq}, ${d.id}) < (coalesce(r.after_seq, 9223372036854775807), coalesce(r.after_id, 9223372036854775807))
           ORDER BY ${d.eventSeq} DESC, ${d.id} DESC
           LIMIT r.lim + 1
        ) q
       ORDER BY r.k, q.event_seq DESC, q.id DESC`,
  );
  const fetched = params.map(() => [] as WebhookDeliveryRecord[]);
  for (const row of found) {
    const { payload: _p, lockedUntil: _l, ...delivery } = toRecord(webhookDeliveries, row);
    fetched[Number(row.page_key)].push(delivery);
  }
  return params.map((param, k) => {
    const count = lazyCount(() => countOf({ endpointId: param.endpoint_id, status: param.status }));
    return toPage(fetched[k], param.lim, (row) => [String(row.eventSeq), String(row.id)], count);
  });
}

/**
 * How many deliveries each request matches, up to {@link COUNT_BOUND} each (then AT_LEAST), in
 * the requests' order, in one statement: without a status an index-only count on the endpoint's
 * index; with one, the same walk filtered.
 */
export async function deliveryCounts(db: Executor, requests: readonly DeliveryCountRequest[]): Promise<Count[]> {
  if (requests.length === 0) return [];
  const params = requests.map((request, k) => ({ k, endpoint_id: request.endpointId, status: request.status ?? null }));
  const found = await rows<{ k: number; n: number | string }>(
    db,
    sql`
      WITH req AS (
        SELECT * FROM jsonb_to_recordset(${jsonb(params)}) AS r(k int, endpoint_id int, status text)
      )
      SELECT r.k, c.n
        FROM req r
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS n FROM (
            SELECT 1 FROM ${webhookDeliveries} ${d}
             WHERE ${d.endpointId} = r.endpoint_id AND (r.status IS NULL OR ${d.status} = r.status)
             LIMIT ${sql.raw(String(COUNT_BOUND + 1))}) counted
        ) c`,
  );
  const counts = params.map(() => boundedResult(0));
  for (const row of found) counts[Number(row.k)] = boundedResult(Number(row.n));
  return counts;
}

/**
 * Every endpoint's health (at most {@link WEBHOOK_LIMITS.endpoints}, oldest first) and the totals,
 * in one statement (one snapshot). Per endpoint:
 *  - `pending`, `oldestPendingAt`: its PENDING deliveries, counted up to {@link COUNT_BOUND} on the
 *    partial index `webhook_deliveries_order_idx` (index only), the oldest being the least id
 *    among those counted (ids are handed out in queueing order), its `created_at` read by key;
 *  - `failed`: its FAILED deliveries (dead letters), counted up to {@link COUNT_BOUND};
 *  - `lastDeliveredAt`, `lastFailureAt`, `failing`: over its newest {@link HEALTH_WINDOW}
 *    deliveries by event position (`webhook_deliveries_endpoint_idx`, backwards): the latest
 *    attempt of a DELIVERED one, the latest of a FAILED one or of a PENDING one with attempts
 *    (its last attempt failed: a redelivered one starts again at 0 attempts and does not count),
 *    and whether the latter is later than the former.
 * The totals add up the endpoints' (bounded) counts. `host` is the URL's origin only.
 */
export async function webhookHealth(db: Executor): Promise<WebhookHealthRecord> {
  const bound = sql.raw(String(COUNT_BOUND + 1));
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT ${e.id} AS endpoint_id, ${e.url} AS url, ${e.enabled} AS enabled,
             p.n AS pending, (SELECT ${d.createdAt} FROM ${webhookDeliveries} ${d} WHERE ${d.id} = p.oldest) AS oldest_pending_at,
             f.n AS failed, w.last_delivered_at, w.last_failure_at
        FROM ${webhookEndpoints} ${e}
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS n, min(pending.id) AS oldest FROM (
            SELECT ${d.id} FROM ${webhookDeliveries} ${d}
             WHERE ${d.endpointId} = ${e.id} AND ${d.status} = 'PENDING' LIMIT ${bound}) pending
        ) p
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS n FROM (
            SELECT 1 FROM ${webhookDeliveries} ${d}
             WHERE ${d.endpointId} = ${e.id} AND ${d.status} = 'FAILED' LIMIT ${bound}) dead
        ) f
        CROSS JOIN LATERAL (
          SELECT max(recent.last_attempt_at) FILTER (WHERE recent.status = 'DELIVERED') AS last_delivered_at,
                 max(recent.last_attempt_at) FILTER (WHERE recent.status = 'FAILED' OR (recent.status = 'PENDING' AND recent.attempts > 0))
                   AS last_failure_at
            FROM (
              SELECT ${d.status} AS status, ${d.attempts} AS attempts, ${d.lastAttemptAt} AS last_attempt_at
                FROM ${webhookDeliveries} ${d}
               WHERE ${d.endpointId} = ${e.id}
               ORDER BY ${d.eventSeq} DESC, ${d.id} DESC
               LIMIT ${sql.raw(String(HEALTH_WINDOW))}) recent
        ) w
       ORDER BY ${e.id}
       LIMIT ${sql.raw(String(WEBHOOK_LIMITS.endpoints))}`,
  );
  const endpoints = found.map((row): EndpointHealth => {
    const lastDeliveredAt = toDate(row.last_delivered_at);
    const lastFailureAt = toDate(row.last_failure_at);
    return {
      endpointId: Number(row.endpoint_id),
      host: originOf(String(row.url)),
      enabled: row.enabled === true || row.enabled === "t",
      pending: boundedResult(Number(row.pending)).value,
      failed: boundedResult(Number(row.failed)).value,
      oldestPendingAt: toDate(row.oldest_pending_at),
      lastDeliveredAt,
      lastFailureAt,
      failing: lastFailureAt !== null && (lastDeliveredAt === null || lastFailureAt.getTime() > lastDeliveredAt.getTime()),
    };
  });
  return {
    endpoints,
    pending: endpoints.reduce((sum, endpoint) => sum + endpoint.pending, 0),
    failed: endpoints.reduce((sum, endpoint) => sum + endpoint.failed, 0),
  };
}

/** A stored URL's origin ("https://shop.example.com:8443"); never its path, query or credentials. */
function originOf(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? "" : origin;
  } catch {
    return "";
  }
}

/**
 * The scale fixture (issue 16): a shop with N orders over a year, bulk-loaded by set-based
 * `INSERT … SELECT` from `generate_series`, never through the API (placing 10,000,000 orders one
 * by one would take a day). Every row is a function of its order's number: a hash of (order,
 * stream) draws the order's lines, products, quantities, customer and fate, so the tables can be
 * loaded independently, in chunks, on two connections at once, and still agree with each other.
 *
 * What the orders look like, by age (the same proportions at every N, so only the depth grows):
 * - a tenth have two lines; products are drawn skewed (product 1 is the most popular), one of
 *   {@link PRODUCTS} with `id % 5 = 0` is out of stock ("backlogged"), the rest are in stock;
 * - 2% are CANCELLED, all units, wherever they fall;
 * - placed in the last day: lines of in-stock products are allocated (READY_TO_SHIP);
 * - placed in the last 18 days: lines of backlogged products wait (AWAITING_STOCK, or
 *   PARTIALLY_SHIPPED when the order's other line shipped), a few prioritized;
 * - placed 18 to 55 days ago: lines of backlogged products waited and were filled by the
 *   product's weekly restock (FILLED backorders, fills in queue order), then shipped;
 * - everything else shipped a few hours after it was placed (SHIPPED).
 * Allocations, shipments in the stock ledger, received and cancelled restocks, stock levels (the
 * ledger sums to onHand; backlogged products have nothing available), open restocks dating part of
 * each backlog, the products' counters and the last six days of the event log (a week is the
 * server's default retention) follow from that. Expected dates and promises are then set by the
 * engine's own `recomputeEta`, and a rescheduled restock delays a third of the backlogs, so the
 * audit (`npm run audit`) finds nothing to object to.
 *
 * Loading: secondary indexes (those not behind a constraint) are dropped first and rebuilt after,
 * two at a time; the loading sessions run with `session_replication_role = replica` (no foreign key
 * triggers: the rows are consistent by construction, which the audit at the small size checks;
 * triggers such as the order counters' are off too, and the counters are rebuilt after) and
 * `synchronous_commit = off`. Tables stay LOGGED. Then ANALYZE and VACUUM (autovacuum, which would
 * set the visibility map in production, is off on the bench's server) and a CHECKPOINT, so that
 * what is measured next does not pay for the load.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { getTableName, sql, type SQL } from "drizzle-orm";
import { connect, type Connection, type Database, rows, schema } from "../../../drizzle/db.js";
import { names } from "../../../drizzle/sql.js";
import { inTransaction } from "../../../drizzle/transaction.js";
import { recomputeEta, markOverdueBackorders } from "../../../server/services/eta.service.js";
import { stampEvents } from "../../../server/services/event-log.service.js";
import { orderStatusOf } from "../../../server/services/order-status.js";
import { step } from "../progress.js";
import { repoRoot } from "../server-process.js";

const {
  allocations,
  apiKeys,
  backorderFills,
  backorders,
  events,
  locations,
  orderLines,
  orders,
  products,
  refundLines,
  refunds,
  restocks,
  stockLevels,
  stockMovements,
} = schema;

/** Products in the catalogue, at every size. */
export const PRODUCTS = 500;
/** A product is out of stock, with a backlog, when its id is a multiple of this. */
const BACKLOGGED_EVERY = 5;
/** Orders per chunk: one INSERT each, committed on its own. */
const CHUNK = 1_000_000;
const DAY_S = 86_400;
const SPAN_DAYS = 365;
/** Orders placed within this many days: lines of in-stock products are allocated, not shipped. */
const READY_DAYS = 1;
/** … within this many: lines of backlogged products wait. */
const WAITING_DAYS = 18;
/** … within this many (and before WAITING_DAYS): they waited and were filled by a restock. */
const FILLED_DAYS = 55;
/** The event log keeps the last six days: the server prunes what is older than a week. */
const EVENT_DAYS = 6;
/** Received restocks per stock level over the year, one a fortnight. */
const RESTOCKS_PER_LEVEL = 26;
/** Open restocks per backlogged product, each a quarter of its backlog: the rest is dated by lead time or not at all. */
const OPEN_RESTOCK_DAYS = [4, 11, 25];
const API_KEYS = 25;

/** The tables the load writes in bulk: their secondary indexes are dropped during it. */
const BULK_TABLES = [orders, orderLines, allocations, backorders, backorderFills, restocks, stockMovements, events];

export interface ScaleFixture {
  orders: number;
  products: number;
  customers: number;
  /** The instant the fixture's timeline ends at ("now" when it was loaded). */
  now: Date;
  /** How long each step took, ms, in the order run. */
  steps: { name: string; ms: number }[];
  /** Rows per table after the load. */
  tables: Record<string, number>;
  /** Database size after the load, bytes. */
  bytes: number;
  /** Whether the order counters (migration 0010) were there and rebuilt. */
  countersRebuilt: boolean;
}

/** The order-number thresholds of the fixture's timeline: an order placed after `readyAfter` is from the last day, and so on. */
interface Timeline {
  n: number;
  products: number;
  customers: number;
  /** Epoch seconds of "now". */
  end: number;
  readyAfter: number;
  waitingAfter: number;
  filledAfter: number;
  eventsAfter: number;
}

function timeline(n: number, now: Date): Timeline {
  const after = (days: number) => Math.floor(n * (1 - days / SPAN_DAYS));
  return {
    n,
    products: PRODUCTS,
    customers: Math.max(1000, Math.floor(n / 8)),
    end: Math.floor(now.getTime() / 1000),
    readyAfter: after(READY_DAYS),
    waitingAfter: after(WAITING_DAYS),
    filledAfter: after(FILLED_DAYS),
    eventsAfter: after(EVENT_DAYS),
  };
}

/** A uniform draw in [0, 1) for row `key` (an SQL expression) from stream `salt`: the same on every connection. */
function draw(key: string, salt: number): string {
  return `((hashint8((${key})::int8 * 256 + ${salt}) & 2147483647)::float8 / 2147483648.0)`;
}

/** A product's unit price, the same wherever it is computed. */
function price(product: string): string {
  return `(4.99 + (${product}) * 37 % 200)::numeric(14, 2)`;
}

function backlogged(product: string): string {
  return `((${product}) % ${BACKLOGGED_EVERY} = 0)`;
}

/**
 * One row per order `from`..`to`: its time (epoch `ce`, `created_at`), customer, whether it is
 * cancelled, its one or two lines' products `p1`/`p2`, quantities `q1`/`q2`, locations `l1`/`l2`
 * and fates `s1`/`s2`: C cancelled, W waiting, R allocated (ready to ship), F filled then
 * shipped, S shipped. Each level ends in `OFFSET 0`: without that fence the planner pulls the
 * subqueries up and evaluates a column's whole expression again at every reference (100,000
 * orders' lines took 6.7 s instead of 3).
 */
function orderPlan(t: Timeline, from: number, to: number): string {
  const fate = (product: string) => `CASE WHEN o.cancelled THEN 'C'
      WHEN ${backlogged(product)} AND o.i > ${t.waitingAfter} THEN 'W'
      WHEN o.i > ${t.readyAfter} THEN 'R'
      WHEN ${backlogged(product)} AND o.i > ${t.filledAfter} THEN 'F'
      ELSE 'S' END`;
  return `(
    SELECT o.*, ${fate("o.p1")} AS s1, CASE WHEN o.n_lines = 2 THEN ${fate("o.p2")} END AS s2
    FROM (
      SELECT g.*, to_timestamp(g.ce) AS created_at,
             CASE WHEN g.n_lines = 2 THEN 1 + (g.p1 + floor(${t.products - 1} * ${draw("g.i", 3)})::int) % ${t.products} END AS p2,
             CASE WHEN g.n_lines = 2 THEN 1 + floor(6 * ${draw("g.i", 5)} ^ 4)::int END AS q2,
             CASE WHEN g.n_lines = 2 THEN CASE WHEN ${draw("g.i", 7)} < 0.85 THEN 1 ELSE 2 END END AS l2
      FROM (
        SELECT i, ${t.end}::float8 - ${SPAN_DAYS * DAY_S}::float8 * (${t.n} - i) / ${t.n} AS ce,
               'customer-' || (1 + floor(${t.customers} * ${draw("i", 8)}))::int || '@example.com' AS customer,
               ${draw("i", 9)} < 0.02 AS cancelled,
               CASE WHEN ${draw("i", 1)} < 0.1 THEN 2 ELSE 1 END AS n_lines,
               1 + floor(${t.products} * ${draw("i", 2)} ^ 2)::int AS p1,
               1 + floor(6 * ${draw("i", 4)} ^ 4)::int AS q1,
               CASE WHEN ${draw("i", 6)} < 0.85 THEN 1 ELSE 2 END AS l1
        FROM generate_series(${from}, ${to}) i
        OFFSET 0
      ) g
      OFFSET 0
    ) o
    OFFSET 0
  )`;
}

/**
 * One row per order line of orders `from`..`to`: ids (line `2 * order - 2 + line number`, so
 * lines sit beside their order's other line), product, quantity, location, fate, and the times
 * it was filled (the product's weekly restock after it was placed) and shipped.
 */
function linePlan(t: Timeline, from: number, to: number): string {
  // The product's weekly restock: a fixed hour of the week per product.
  const filledAt = (product: string) => {
    const base = `(${t.end - SPAN_DAYS * DAY_S}::float8 + ((${product}) * 7919 % 168) * 3600)`;
    return `(${base} + 604800 * ceil((o.ce - ${base}) / 604800))`;
  };
  return `(
    SELECT o.i AS order_id, o.customer, o.created_at, o.ce, v.k AS line_number, 2 * o.i - 2 + v.k AS line_id,
           v.p AS product_id, v.q AS quantity, v.l AS location_id, v.s AS fate,
           CASE WHEN v.s = 'F' THEN to_timestamp(${filledAt("v.p")}) END AS filled_at,
           CASE v.s WHEN 'S' THEN to_timestamp(o.ce + 7200 + 72000 * ${draw("o.i", 10)})
                    WHEN 'F' THEN to_timestamp(${filledAt("v.p")} + 14400) END AS shipped_at,
           CASE WHEN v.s = 'C' THEN to_timestamp(o.ce + (${t.end} - o.ce) * 0.5 * ${draw("o.i", 11)}) END AS cancelled_at
    FROM ${orderPlan(t, from, to)} o
    CROSS JOIN LATERAL (VALUES (1, o.p1, o.q1, o.l1, o.s1), (2, o.p2, o.q2, o.l2, o.s2)) v(k, p, q, l, s)
    WHERE v.k <= o.n_lines
    OFFSET 0
  )`;
}

/** Units of the order's lines whose fate is one of `fates`. */
function unitsOf(...fates: string[]): SQL {
  const list = fates.map((f) => `'${f}'`).join(", ");
  return sql.raw(`(CASE WHEN o.s1 IN (${list}) THEN o.q1 ELSE 0 END + CASE WHEN o.s2 IN (${list}) THEN o.q2 ELSE 0 END)`);
}

function insertOrders(t: Timeline, from: number, to: number): SQL {
  const status = orderStatusOf({
    quantity: sql.raw("(o.q1 + coalesce(o.q2, 0))"),
    cancelled: unitsOf("C"),
    shipped: unitsOf("S", "F"),
    waiting: unitsOf("W"),
  });
  return sql`
    INSERT INTO ${orders} (${names(orders.id, orders.number, orders.customer, orders.status, orders.total, orders.currencyCode, orders.cancelReason, orders.createdAt, orders.updatedAt)})
    OVERRIDING SYSTEM VALUE
    SELECT o.i, 'BO-' || (1000 + o.i), o.customer, ${status},
           o.q1 * ${sql.raw(price("o.p1"))} + coalesce(o.q2 * ${sql.raw(price("o.p2"))}, 0), 'USD',
           CASE WHEN o.cancelled THEN 'customer request' END, o.created_at, o.created_at
    FROM ${sql.raw(orderPlan(t, from, to))} o`;
}

/**
 * The lines of orders `from`..`to` in one pass over their plan: the lines; an allocation row for
 * every line that was allocated (open units in `quantity`, shipped ones in `shipped`); one
 * SHIPMENT movement per shipped line, id = the line's (an order's products ship in movements of
 * their own, as shipOrder writes them); a refund per cancelled order, id = the order's, with a line
 * per cancelled line, id = the line's, as cancelOrder writes them: paid back (REFUNDED) when
 * cancelled more than a week ago, else still PENDING.
 */
function insertLines(t: Timeline, from: number, to: number): SQL {
  const l = orderLines;
  const a = allocations;
  const m = stockMovements;
  const r = refunds;
  const rl = refundLines;
  return sql`
    WITH planned AS MATERIALIZED ${sql.raw(linePlan(t, from, to))}, lines AS (
      INSERT INTO ${l} (${names(l.id, l.orderId, l.productId, l.lineNumber, l.quantity, l.unitPrice, l.allocated, l.waiting, l.shipped, l.cancelled)})
      OVERRIDING SYSTEM VALUE
      SELECT line_id, order_id, product_id, line_number, quantity, ${sql.raw(price("product_id"))},
             CASE WHEN fate = 'R' THEN quantity ELSE 0 END, CASE WHEN fate = 'W' THEN quantity ELSE 0 END,
             CASE WHEN fate IN ('S', 'F') THEN quantity ELSE 0 END, CASE WHEN fate = 'C' THEN quantity ELSE 0 END
      FROM planned
    ), allocated AS (
      INSERT INTO ${a} (${names(a.orderLineId, a.locationId, a.productId, a.quantity, a.shipped, a.updatedAt)})
      SELECT line_id, location_id, product_id, CASE WHEN fate = 'R' THEN quantity ELSE 0 END,
             CASE WHEN fate IN ('S', 'F') THEN quantity ELSE 0 END, coalesce(shipped_at, created_at)
      FROM planned WHERE fate IN ('R', 'S', 'F')
    ), refunded AS (
      INSERT INTO ${r} (${names(r.id, r.orderId, r.reason, r.status, r.amount, r.currencyCode, r.reference, r.createdAt, r.refundedAt)})
      OVERRIDING SYSTEM VALUE
      SELECT order_id, order_id, 'CANCELLED', CASE WHEN paid THEN 'REFUNDED' ELSE 'PENDING' END, sum(quantity * ${sql.raw(price("product_id"))}), 'USD',
             CASE WHEN paid THEN 'pay-' || order_id END, min(cancelled_at), CASE WHEN paid THEN min(cancelled_at) + interval '2 days' END
      FROM (SELECT *, cancelled_at < to_timestamp(${sql.raw(String(t.end - 7 * DAY_S))}) AS paid FROM planned WHERE fate = 'C') c
      GROUP BY order_id, paid
    ), refunded_lines AS (
      INSERT INTO ${rl} (${names(rl.id, rl.refundId, rl.orderLineId, rl.quantity, rl.amount)})
      OVERRIDING SYSTEM VALUE
      SELECT line_id, order_id, line_id, quantity, quantity * ${sql.raw(price("product_id"))} FROM planned WHERE fate = 'C'
    )
    INSERT INTO ${m} (${names(m.id, m.productId, m.locationId, m.delta, m.kind, m.orderId, m.createdAt)})
    OVERRIDING SYSTEM VALUE
    SELECT line_id, product_id, location_id, -quantity, 'SHIPMENT', order_id, shipped_at
    FROM planned WHERE fate IN ('S', 'F')`;
}

/**
 * The backorders of the last FILLED_DAYS (waiting, filled, or cancelled while waiting), numbered
 * in placement order, and one fill per filled backorder in the same order: the FIFO audit reads
 * the fills by id and finds each product's queue served in order.
 */
function insertBacklog(t: Timeline): SQL {
  const b = backorders;
  const f = backorderFills;
  return sql`
    WITH planned AS MATERIALIZED (
      SELECT l.*, row_number() OVER (ORDER BY l.line_id) AS backorder_id
      FROM ${sql.raw(linePlan(t, t.filledAfter + 1, t.n))} l
      WHERE ${sql.raw(backlogged("l.product_id"))} AND l.fate IN ('W', 'F', 'C')
    ), queued AS (
      INSERT INTO ${b} (${names(b.id, b.productId, b.orderId, b.orderLineId, b.quantity, b.remaining, b.cancelled, b.status, b.priority, b.expectedAt, b.etaSource, b.promisedAt, b.createdAt, b.filledAt, b.cancelledAt)})
      OVERRIDING SYSTEM VALUE
      SELECT backorder_id, product_id, order_id, line_id, quantity,
             CASE WHEN fate = 'W' THEN quantity ELSE 0 END, CASE WHEN fate = 'C' THEN quantity ELSE 0 END,
             CASE fate WHEN 'W' THEN 'WAITING' WHEN 'F' THEN 'FILLED' ELSE 'CANCELLED' END,
             CASE WHEN fate = 'W' AND ${sql.raw(draw("line_id", 12))} < 0.01 THEN 1 + floor(3 * ${sql.raw(draw("line_id", 13))})::int ELSE 0 END,
             filled_at, CASE WHEN fate = 'F' THEN 'RESTOCK' ELSE 'UNKNOWN' END, filled_at,
             created_at, filled_at, cancelled_at
      FROM planned
    )
    INSERT INTO ${f} (${names(f.id, f.backorderId, f.productId, f.locationId, f.quantity, f.createdAt)})
    OVERRIDING SYSTEM VALUE
    SELECT row_number() OVER (ORDER BY backorder_id), backorder_id, product_id, location_id, quantity, filled_at
    FROM planned WHERE fate = 'F'`;
}

function insertCatalogue(t: Timeline): SQL[] {
  const p = products;
  const start = `to_timestamp(${t.end - (SPAN_DAYS + 2) * DAY_S})`;
  return [
    sql`
      INSERT INTO ${locations} (${names(locations.id, locations.code, locations.name, locations.priority, locations.createdAt)})
      OVERRIDING SYSTEM VALUE
      VALUES (1, 'MAIN', 'Main warehouse', 0, ${sql.raw(start)}), (2, 'EAST', 'East warehouse', 1, ${sql.raw(start)})`,
    sql`
      INSERT INTO ${p} (${names(p.id, p.sku, p.name, p.price, p.backorderPolicy, p.leadTimeDays, p.createdAt, p.updatedAt)})
      OVERRIDING SYSTEM VALUE
      SELECT g, 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, ${sql.raw(price("g"))},
             CASE WHEN ${sql.raw(backlogged("g"))} OR g % 2 = 0 THEN 'ALLOW' ELSE 'DENY' END,
             CASE WHEN g % 2 = 0 THEN 14 END, ${sql.raw(start)}, ${sql.raw(start)}
      FROM generate_series(1, ${t.products}::int) g`,
    sql`
      INSERT INTO ${apiKeys} (${names(apiKeys.name, apiKeys.role, apiKeys.prefix, apiKeys.secretHash, apiKeys.createdAt, apiKeys.lastUsedAt, apiKeys.revokedAt)})
      SELECT 'partner ' || g, (ARRAY['ADMIN', 'OPERATOR', 'STOREFRONT', 'READER'])[1 + g % 4], 'bo_' || substr(md5(g::text), 1, 6),
             md5('scale key ' || g) || md5('scale key ' || g || '.'), ${sql.raw(start)} + g * interval '1 day',
             CASE WHEN g % 3 = 0 THEN now() END, CASE WHEN g % 7 = 0 THEN now() END
      FROM generate_series(1, ${API_KEYS}::int) g`,
  ];
}

/**
 * Received (and a few cancelled) restocks a fortnight apart at every stock level, sized to 90%
 * of what shipped from it; their RESTOCK movements; the stock levels (backlogged products have
 * nothing available: onHand is what is allocated); and one INITIAL movement per level so the
 * ledger sums to onHand.
 */
function insertStock(t: Timeline): SQL[] {
  const r = restocks;
  const m = stockMovements;
  const s = stockLevels;
  const levels = `(SELECT p, loc FROM generate_series(1, ${t.products}) p CROSS JOIN (VALUES (1), (2)) v(loc))`;
  const firstMovement = 2 * t.n;
  return [
    // What shipped from each level, read once (the ledger is as large as the order lines).
    sql`CREATE TEMPORARY TABLE scale_shipped AS
        SELECT ${m.productId}, ${m.locationId}, -sum(${m.delta})::bigint AS units FROM ${m} WHERE ${m.kind} = 'SHIPMENT' GROUP BY 1, 2`,
    sql`
      WITH planned AS (
        SELECT lv.p, lv.loc, k, floor(coalesce(sh.units, 0) * 0.9 / ${RESTOCKS_PER_LEVEL})::int AS quantity,
               to_timestamp(${t.end - SPAN_DAYS * DAY_S}::float8 + (lv.p * 7919 % 168) * 3600 + (k * 14 - 7) * ${DAY_S}) AS at
        FROM ${sql.raw(levels)} lv
        LEFT JOIN scale_shipped sh ON sh.product_id = lv.p AND sh.location_id = lv.loc
        CROSS JOIN generate_series(1, ${RESTOCKS_PER_LEVEL}::int) k
      )
      INSERT INTO ${r} (${names(r.id, r.productId, r.locationId, r.quantity, r.receivedQuantity, r.expectedAt, r.status, r.reference, r.receivedAt, r.createdAt)})
      OVERRIDING SYSTEM VALUE
      SELECT row_number() OVER (ORDER BY at, p, loc), p, loc, quantity, CASE WHEN k % 13 = 7 THEN 0 ELSE quantity END, at,
             CASE WHEN k % 13 = 7 THEN 'CANCELLED' ELSE 'RECEIVED' END, 'PO-' || p || '-' || loc || '-' || k,
             CASE WHEN k % 13 = 7 THEN NULL ELSE at END, at - interval '10 days'
      FROM planned WHERE quantity > 0`,
    sql`
      INSERT INTO ${m} (${names(m.id, m.productId, m.locationId, m.delta, m.kind, m.restockId, m.createdAt)})
      OVERRIDING SYSTEM VALUE
      SELECT ${firstMovement}::int + row_number() OVER (ORDER BY ${r.id}), ${r.productId}, ${r.locationId}, ${r.receivedQuantity}, 'RESTOCK', ${r.id}, ${r.receivedAt}
      FROM ${r} WHERE ${r.status} = 'RECEIVED'`,
    sql`
      WITH allocated AS (
        SELECT product_id, location_id, sum(quantity)::int AS units
        FROM ${sql.raw(linePlan(t, t.readyAfter + 1, t.n))} l WHERE fate = 'R' GROUP BY 1, 2
      )
      INSERT INTO ${s} (${names(s.productId, s.locationId, s.onHand, s.allocated, s.safetyStock, s.updatedAt)})
      SELECT lv.p, lv.loc,
             coalesce(a.units, 0) + CASE WHEN ${sql.raw(backlogged("lv.p"))} THEN 0 ELSE 10 + floor(300 * ${sql.raw(draw("lv.p * 2 + lv.loc", 20))})::int END,
             coalesce(a.units, 0), CASE WHEN NOT ${sql.raw(backlogged("lv.p"))} AND lv.p % 3 = 0 THEN 5 ELSE 0 END, to_timestamp(${t.end})
      FROM ${sql.raw(levels)} lv LEFT JOIN allocated a ON a.product_id = lv.p AND a.location_id = lv.loc`,
    // The opening stock: what makes the ledger sum to onHand (onHand = opening + received - shipped).
    sql`
      INSERT INTO ${m} (${names(m.id, m.productId, m.locationId, m.delta, m.kind, m.reason, m.createdAt)})
      OVERRIDING SYSTEM VALUE
      SELECT ${firstMovement}::int + (SELECT count(*) FROM ${r} WHERE ${r.status} = 'RECEIVED') + row_number() OVER (ORDER BY ${s.productId}, ${s.locationId}),
             ${s.productId}, ${s.locationId}, ${s.onHand} + coalesce(sh.units, 0) - coalesce(rc.units, 0), 'INITIAL', 'opening stock',
             to_timestamp(${t.end - (SPAN_DAYS + 1) * DAY_S})
      FROM ${s}
      LEFT JOIN scale_shipped sh ON sh.product_id = ${s.productId} AND sh.location_id = ${s.locationId}
      LEFT JOIN (SELECT ${r.productId}, ${r.locationId}, sum(${r.receivedQuantity})::bigint AS units FROM ${r} GROUP BY 1, 2) rc
        ON rc.product_id = ${s.productId} AND rc.location_id = ${s.locationId}`,
    sql`DROP TABLE scale_shipped`,
  ];
}

/** The products' backlog counters from their queues, and each backlogged product's open restocks. */
function insertBacklogCounters(t: Timeline): SQL[] {
  const p = products;
  const b = backorders;
  const r = restocks;
  return [
    sql`
      UPDATE ${p} SET ${names(p.backordered)} = w.units, ${names(p.waitingOrders)} = w.n
      FROM (SELECT ${b.productId}, sum(${b.remaining})::int AS units, count(*)::int AS n FROM ${b} WHERE ${b.status} = 'WAITING' GROUP BY 1) w
      WHERE ${p.id} = w.product_id`,
    sql`
      INSERT INTO ${r} (${names(r.id, r.productId, r.locationId, r.quantity, r.expectedAt, r.status, r.reference, r.createdAt)})
      OVERRIDING SYSTEM VALUE
      SELECT (SELECT max(${r.id}) FROM ${r}) + row_number() OVER (ORDER BY ${p.id}, d), ${p.id}, 1, greatest(1, ceil(${p.backordered} * 0.25))::int,
             to_timestamp(${t.end}::float8 + d * ${DAY_S} + (${p.id} * 7919 % 168) * 3600), 'SCHEDULED', 'PO-' || ${p.id} || '-open-' || d, to_timestamp(${t.end - 3 * DAY_S})
      FROM ${p} CROSS JOIN unnest(${sql.raw(`ARRAY[${OPEN_RESTOCK_DAYS.join(", ")}]`)}::int[]) d
      WHERE ${p.backordered} > 0`,
  ];
}

/**
 * The last EVENT_DAYS of the event log, stamped: each order's PLACED and (once it shipped)
 * SHIPPED, and for each of its lines the product's STOCK_CHANGED and BACKLOG_CHANGED, carrying
 * the product's version (each product's last is its `version`). The snapshots in them are the
 * product's state at the end, not at the time: nothing reads them but subscribers replaying history.
 */
function insertEvents(t: Timeline): SQL[] {
  const e = events;
  const p = products;
  const st = stockLevels;
  const lines = `(
    SELECT l.*, max(l.shipped_at) OVER (PARTITION BY l.order_id) AS order_shipped_at,
           bool_or(l.fate IN ('W', 'F') OR (l.fate = 'C' AND ${backlogged("l.product_id")})) OVER (PARTITION BY l.order_id) AS waited
    FROM ${linePlan(t, t.eventsAfter + 1, t.n)} l
  )`;
  return [
    sql`
      WITH lines AS MATERIALIZED ${sql.raw(lines)}, snapshot AS (
        SELECT ${p.id} AS product_id,
               jsonb_build_object('reason', 'ORDER_PLACED', 'stock', jsonb_build_object('onHand', s.on_hand, 'allocated', s.allocated,
                 'available', s.available, 'backordered', ${p.backordered}, 'incoming', 0, 'projected', s.available - ${p.backordered}, 'nextRestockAt', NULL)) AS stock,
               jsonb_build_object('reason', 'ORDER_PLACED', 'backordered', ${p.backordered}, 'waitingOrders', ${p.waitingOrders}, 'nextExpectedAt', NULL) AS backlog
        FROM ${p} JOIN (SELECT ${st.productId}, sum(${st.onHand})::int AS on_hand, sum(${st.allocated})::int AS allocated,
                               sum(greatest(0, ${st.onHand} - ${st.allocated} - ${st.safetyStock}))::int AS available
                        FROM ${st} GROUP BY 1) s ON s.product_id = ${p.id}
      ), happened AS (
        SELECT created_at AS at, order_id, 0 AS rank, 'ORDER_CHANGED' AS type, NULL::int AS product_id,
               jsonb_build_object('kind', 'PLACED', 'customer', customer, 'status', CASE WHEN waited THEN 'AWAITING_STOCK' ELSE 'READY_TO_SHIP' END) AS payload
        FROM lines WHERE line_number = 1
        UNION ALL
        SELECT l.created_at, l.order_id, l.line_number * 2 - 1 + k.k, k.kind, l.product_id, CASE k.kind WHEN 'STOCK_CHANGED' THEN s.stock ELSE s.backlog END
        FROM lines l JOIN snapshot s USING (product_id) CROSS JOIN (VALUES (0, 'STOCK_CHANGED'), (1, 'BACKLOG_CHANGED')) k(k, kind)
        UNION ALL
        SELECT order_shipped_at, order_id, 9, 'ORDER_CHANGED', NULL, jsonb_build_object('kind', 'SHIPPED', 'customer', customer, 'status', 'SHIPPED')
        FROM lines WHERE line_number = 1 AND order_shipped_at IS NOT NULL AND order_shipped_at < to_timestamp(${t.end})
      )
      INSERT INTO ${e} (${names(e.id, e.seq, e.type, e.productId, e.productVersion, e.orderId, e.payload, e.createdAt)})
      OVERRIDING SYSTEM VALUE
      SELECT n, n, type, product_id,
             CASE WHEN product_id IS NOT NULL THEN dense_rank() OVER (PARTITION BY product_id ORDER BY at, order_id) END,
             order_id, payload, at
      FROM (SELECT h.*, row_number() OVER (ORDER BY at, order_id, rank) AS n FROM happened h) numbered`,
    sql`
      WITH last AS (SELECT ${e.productId}, max(${e.productVersion}) AS version FROM ${e} WHERE ${e.productId} IS NOT NULL GROUP BY 1)
      UPDATE ${p} SET ${names(p.version)} = last.version FROM last WHERE ${p.id} = last.product_id`,
  ];
}

interface LoadingSession {
  connection: Connection;
  db: Database;
}

async function openSession(url: string): Promise<LoadingSession> {
  const connection = await connect({ databaseUrl: url, max: 1 });
  const { db } = connection;
  // Foreign keys and triggers off for this session only (the rows agree by construction); no
  // wait for the WAL flush at each chunk's commit; room to sort for the index builds.
  await db.execute(sql`SET session_replication_role = replica`);
  await db.execute(sql`SET synchronous_commit = off`);
  await db.execute(sql`SET maintenance_work_mem = '1GB'`);
  await db.execute(sql`SET work_mem = '256MB'`);
  await db.execute(sql`SET max_parallel_maintenance_workers = 0`);
  await db.execute(sql`SET statement_timeout = 0`);
  return { connection, db };
}

/** Runs `tasks` on the sessions, each taking the next task when it has finished one. */
async function runOn(sessions: LoadingSession[], tasks: { label: string; query: SQL }[]): Promise<void> {
  let next = 0;
  await Promise.all(
    sessions.map(async (session) => {
      for (let i = next++; i < tasks.length; i = next++) {
        const started = performance.now();
        await session.db.execute(tasks[i].query);
        step(`  ${tasks[i].label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }),
  );
}

interface DroppedIndex {
  name: string;
  definition: string;
}

/** Drops the bulk tables' indexes that no constraint needs; returns how to build them again. */
async function dropSecondaryIndexes(db: Database): Promise<DroppedIndex[]> {
  const tables = BULK_TABLES.map((table) => getTableName(table));
  const found = await rows<{ name: string; definition: string }>(
    db,
    sql`
      SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i
      WHERE i.indrelid::regclass::text = ANY(${`{${tables.join(",")}}`}::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY pg_relation_size(i.indrelid) DESC, 1`,
  );
  for (const index of found) await db.execute(sql.raw(`DROP INDEX ${index.name}`));
  return found;
}

/** Sets each identity sequence past its table's largest id, and the order numbers past the last. */
async function resetSequences(db: Database, t: Timeline): Promise<void> {
  const identities = await rows<{ table: string; column: string }>(
    db,
    sql`SELECT table_name AS table, column_name AS column FROM information_schema.columns
        WHERE table_schema = current_schema() AND is_identity = 'YES'`,
  );
  for (const { table, column } of identities) {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    await db.execute(
      sql.raw(`SELECT setval(pg_get_serial_sequence('${quoted}', '${column}'), coalesce((SELECT max("${column}") FROM ${quoted}), 0) + 1, false)`),
    );
  }
  await db.execute(sql`SELECT setval('order_number_seq', ${1000 + t.n + 1}::bigint, false)`);
}

/**
 * Dates every backlog with the engine's own re-dating, makes the dates promises, then moves the
 * first open restock of a third of the backlogged products six days later and re-dates again:
 * the backorders it no longer covers in time are delayed, with their DELAYED events, as a
 * rescheduled restock would leave them. A backorder dated by lead time from long ago is late too.
 */
async function dateBacklogs(db: Database): Promise<{ delayed: number }> {
  const b = backorders;
  const r = restocks;
  const backloggedProducts = (
    await rows<{ id: number }>(db, sql`SELECT DISTINCT ${b.productId} AS id FROM ${b} WHERE ${b.status} = 'WAITING' ORDER BY 1`)
  ).map((row) => Number(row.id));
  const redate = async () => {
    for (const productId of backloggedProducts) await inTransaction(db, (tx) => recomputeEta(tx, productId));
  };
  await redate();
  await db.execute(sql`UPDATE ${b} SET ${names(b.promisedAt)} = ${b.expectedAt} WHERE ${b.status} = 'WAITING'`);
  await db.execute(sql`
    UPDATE ${r} SET ${names(r.expectedAt)} = ${r.expectedAt} + interval '6 days'
    WHERE ${r.id} IN (SELECT DISTINCT ON (${r.productId}) ${r.id} FROM ${r}
                      WHERE ${r.status} = 'SCHEDULED' AND ${r.productId} % 3 = 0 ORDER BY ${r.productId}, ${r.expectedAt})`);
  await redate();
  await markOverdueBackorders(db);
  const [row] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM ${b} WHERE ${b.delayed}`);
  return { delayed: Number(row.n) };
}

/** The order counters of migration 0010, when this tree has them: rebuilt from the orders (their triggers were off during the load). */
async function rebuildCountersIfAny(db: Database): Promise<boolean> {
  const [row] = await rows<{ present: boolean }>(db, sql`SELECT to_regclass('order_counts') IS NOT NULL AS present`);
  const file = path.join(repoRoot, "server/services/order-counters.ts");
  if (!row.present || !existsSync(file)) return false;
  const module = (await import(pathToFileURL(file).href)) as { rebuildOrderCounters?: (db: Database) => Promise<unknown> };
  if (typeof module.rebuildOrderCounters !== "function") return false;
  await module.rebuildOrderCounters(db);
  return true;
}

/** Loads the fixture with `orderCount` orders into the empty migrated database at `url`. */
export async function loadScaleFixture(url: string, orderCount: number, label: string): Promise<ScaleFixture> {
  const now = new Date();
  const t = timeline(orderCount, now);
  const steps: ScaleFixture["steps"] = [];
  const timedStep = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    step(`${label}: ${name}`);
    const started = performance.now();
    const result = await work();
    const ms = performance.now() - started;
    steps.push({ name, ms });
    step(`${label}: ${name}: ${(ms / 1000).toFixed(1)} s`);
    return result;
  };
  const sessions = [await openSession(url), await openSession(url)];
  const [main] = sessions;
  try {
    const dropped = await timedStep("catalogue, locations, API keys; dropping secondary indexes", async () => {
      for (const query of insertCatalogue(t)) await main.db.execute(query);
      return dropSecondaryIndexes(main.db);
    });
    step(`${label}: dropped ${dropped.length} indexes: ${dropped.map((index) => index.name).join(", ")}`);
    await timedStep(
      `${orderCount.toLocaleString("en-US")} orders: orders, lines, allocations, shipments in chunks of ${CHUNK.toLocaleString("en-US")}`,
      () => {
        const tasks: { label: string; query: SQL }[] = [];
        for (let from = 1; from <= t.n; from += CHUNK) {
          const to = Math.min(t.n, from + CHUNK - 1);
          const range = `${from.toLocaleString("en-US")}..${to.toLocaleString("en-US")}`;
          tasks.push(
            { label: `orders ${range}`, query: insertOrders(t, from, to) },
            { label: `lines, allocations, shipments of orders ${range}`, query: insertLines(t, from, to) },
          );
        }
        return runOn(sessions, tasks);
      },
    );
    await timedStep("backorders and fills", () => main.db.execute(insertBacklog(t)));
    await timedStep("restocks, stock levels, ledger; backlog counters; open restocks", async () => {
      for (const query of [...insertStock(t), ...insertBacklogCounters(t)]) await main.db.execute(query);
    });
    await timedStep("event log (last six days)", async () => {
      for (const query of insertEvents(t)) await main.db.execute(query);
    });
    await timedStep(`rebuilding ${dropped.length} indexes, two at a time`, () =>
      runOn(
        sessions,
        dropped.map((index) => ({ label: index.name, query: sql.raw(index.definition) })),
      ),
    );
    await timedStep("sequences; ANALYZE of what the dating reads", async () => {
      await resetSequences(main.db, t);
      await main.db.execute(sql`ANALYZE ${backorders}, ${restocks}, ${products}`);
    });
  } finally {
    for (const session of sessions) await session.connection.close();
  }

  // The engine's own code from here on: a normal session, triggers on (one connection, so that
  // its work_mem holds for the counters' rebuild, a join of every order line with its order).
  const connection = await connect({ databaseUrl: url, max: 1 });
  try {
    const { db } = connection;
    await db.execute(sql`SET work_mem = '256MB'`);
    await db.execute(sql`SET statement_timeout = 0`);
    const dated = await timedStep("dating the backlogs (recomputeEta), delaying a third", () => dateBacklogs(db));
    step(`${label}: ${dated.delayed.toLocaleString("en-US")} backorders delayed`);
    await timedStep("stamping the new events", async () => {
      while ((await stampEvents(db, { wait: true })) > 0);
    });
    const countersRebuilt = await timedStep("order counters", () => rebuildCountersIfAny(db));
    if (!countersRebuilt) step(`${label}: no order counters in this tree (migration 0010 not there): nothing to rebuild`);
    await timedStep("VACUUM ANALYZE; CHECKPOINT", async () => {
      await connection.raw("VACUUM (ANALYZE)");
      await connection.raw("CHECKPOINT");
    });
    const counted = await rows<{ table: string; n: number }>(
      db,
      sql.raw(
        [orders, orderLines, allocations, backorders, backorderFills, restocks, stockMovements, events, stockLevels, products]
          .map((table) => `SELECT '${getTableName(table)}' AS table, count(*)::bigint AS n FROM "${getTableName(table)}"`)
          .join(" UNION ALL "),
      ),
    );
    const [size] = await rows<{ bytes: number }>(db, sql`SELECT pg_database_size(current_database()) AS bytes`);
    return {
      orders: t.n,
      products: t.products,
      customers: t.customers,
      now,
      steps,
      tables: Object.fromEntries(counted.map((row) => [row.table, Number(row.n)])),
      bytes: Number(size.bytes),
      countersRebuilt,
    };
  } finally {
    await connection.close();
  }
}

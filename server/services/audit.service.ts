/**
 * The invariant audit: checks every invariant of docs/ARCHITECTURE.md, "The model and its invariants", and the bookkeeping that
 * keeps them checkable, with set-based SQL over the whole database. Each invariant is one
 * statement, so each sees one committed state even while the engine runs. Read-only, but for the
 * order counters' pending changes of a transaction it is given (see `auditInvariants`).
 */
import { sql, type SQL } from "drizzle-orm";
import { alias, PgTransaction } from "drizzle-orm/pg-core";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { flushOrderCountChanges, ORDER_COUNT_SLOTS } from "./order-counters.js";
import { orderStatusOf } from "./order-status.js";

const {
  allocations,
  backorderFills,
  backorders,
  events,
  orderCounts,
  orderLines,
  orders,
  productOrderCounts,
  products,
  refundLines,
  refunds,
  restocks,
  stockLevels,
  stockMovements,
  supplierOrders,
} = schema;
// The tables under the aliases the checks' SQL reads them by.
const p = alias(products, "p");
const s = alias(stockLevels, "s");
const l = alias(orderLines, "l");
const b = alias(backorders, "b");
const f = alias(backorderFills, "f");
const o = alias(orders, "o");
const ahead = alias(backorders, "a");
const allocation = alias(allocations, "a");
const rf = alias(refunds, "rf");
const rl = alias(refundLines, "rl");
const so = alias(supplierOrders, "so");

/** One broken invariant: which, what is wrong, and the ids of the rows involved. */
export interface Violation {
  invariant: string;
  message: string;
  ids: Record<string, number | string>;
}

/** One invariant and the statement that returns a `(message, ids)` row per violation. */
interface InvariantCheck {
  name: string;
  query: SQL;
}

/**
 * The FIFO rule (docs/ARCHITECTURE.md, "The model and its invariants", invariant 6), as the audit can prove it from the end state.
 *
 * A fill row F (units to backorder B of product P) is a violation when another backorder A of P
 *  (a) was in P's queue when F's transaction ran: A.id < B.id (backorder ids are assigned under
 *      the product's lock, and B existed), or A's creating transaction comes before F's in P's
 *      event order (below);
 *  (b) was ahead of B then, by priority DESC, id ASC. Priorities are taken as they are now, so F
 *      is judged only when no prioritization of P can have come after it: P has no
 *      BACKORDER_PRIORITIZED event and every backorder of P has priority 0, or F's transaction
 *      comes after P's last BACKORDER_PRIORITIZED event in P's event order;
 *  (c) still had units waiting after F's transaction: A is WAITING now (remaining only falls, so
 *      it was waiting then), or A received a fill in a later transaction, or A was cancelled by a
 *      later transaction (in P's event order).
 *
 * Fills of a product are appended under its lock, so in fill-id order each transaction's fills
 * form one run of equal `created_at`, and runs follow the transactions' order. "P's event order"
 * is the product version its events carry (bumped under the lock by every transaction that touches
 * the product's stock or backlog): a row written at transaction time t (created_at, cancelled_at:
 * `now()`) belongs to the transaction whose product events have created_at = t. Timestamps alone
 * never order two transactions: one that starts first can take the lock second. Where a version
 * cannot be found (or two transactions share the timestamp: `now()` is the transaction's start, and
 * concurrent transactions do start in the same microsecond) the pair is not judged, so a correct
 * history is never reported; a fill that
 * skipped the head of an unprioritized queue is always caught by (a)+(c) with ids and runs alone.
 *
 * Reported once per (B, A) pair, with B's first offending fill. Same-priority pairs are found
 * with running maxima over the queue (no pairwise join), so the check stays fast on deep backlogs.
 */
const fifoCheck = sql`
  WITH tx_version AS (
    -- Two transactions can start at the same microsecond (2 in 800 concurrent ones here): a
    -- timestamp shared by events of more than one transaction names no transaction, not judged.
    SELECT ${events.productId}, ${events.createdAt},
           CASE WHEN count(DISTINCT ${events.txid}) = 1 THEN max(${events.productVersion}) END AS version
    FROM ${events} WHERE ${events.productId} IS NOT NULL AND ${events.productVersion} IS NOT NULL
    GROUP BY ${events.productId}, ${events.createdAt}
  ), prioritized AS (
    SELECT ${events.productId}, max(${events.productVersion}) AS version, bool_or(${events.productVersion} IS NULL) AS unversioned
    FROM ${events} WHERE ${events.productId} IS NOT NULL AND ${events.payload}->>'reason' = 'BACKORDER_PRIORITIZED'
    GROUP BY ${events.productId}
  ), priorities AS (
    SELECT ${backorders.productId}, min(${backorders.priority}) AS low, max(${backorders.priority}) AS high FROM ${backorders} GROUP BY ${backorders.productId}
  ), fill_runs AS (
    SELECT g.id, g.backorder_id, g.product_id, g.quantity, g.created_at,
           sum(CASE WHEN g.created_at IS DISTINCT FROM g.previous_at THEN 1 ELSE 0 END)
             OVER (PARTITION BY g.product_id ORDER BY g.id) AS run
    FROM (SELECT ${f.id}, ${f.backorderId}, ${b.productId}, ${f.quantity}, ${f.createdAt},
                 lag(${f.createdAt}) OVER (PARTITION BY ${b.productId} ORDER BY ${f.id}) AS previous_at
          FROM ${backorderFills} ${f} JOIN ${backorders} ${b} ON ${b.id} = ${f.backorderId}) g
  ), busy AS (
    -- Until when each backorder had units waiting: on the fill clock (run) and on the event
    -- clock (version); the maximum bigint for "still waiting", null for "not known".
    SELECT ${b.id}, ${b.productId}, ${b.priority},
           CASE WHEN ${b.status} = 'WAITING' THEN 9223372036854775807 ELSE last.run END AS until_run,
           CASE WHEN ${b.status} = 'WAITING' THEN 9223372036854775807
                WHEN ${b.status} = 'CANCELLED' THEN cv.version END AS until_version,
           av.version AS created_version
    FROM ${backorders} ${b}
    LEFT JOIN (SELECT backorder_id, max(run) AS run FROM fill_runs GROUP BY backorder_id) last ON last.backorder_id = ${b.id}
    LEFT JOIN tx_version av ON av.product_id = ${b.productId} AND av.created_at = ${b.createdAt}
    LEFT JOIN tx_version cv ON cv.product_id = ${b.productId} AND cv.created_at = ${b.cancelledAt}
  ), earlier AS (
    -- The same, at most, over the backorders ahead in the same priority (placed earlier).
    SELECT id, max(until_run) OVER w AS until_run, max(until_version) OVER w AS until_version
    FROM busy
    WINDOW w AS (PARTITION BY product_id, priority ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  ), judged AS (
    SELECT f.id, f.backorder_id, f.product_id, f.quantity, f.run, v.version
    FROM fill_runs f
    LEFT JOIN tx_version v ON v.product_id = f.product_id AND v.created_at = f.created_at
    LEFT JOIN prioritized p ON p.product_id = f.product_id
    JOIN priorities q ON q.product_id = f.product_id
    WHERE CASE WHEN p.product_id IS NULL THEN q.low = 0 AND q.high = 0
               ELSE NOT p.unversioned AND v.version > p.version END
  ), flagged AS MATERIALIZED (
    -- Fills some earlier backorder of the same priority was still waiting after: violations only,
    -- so the lookup of which backorder below runs for none of the fills of a correct history.
    SELECT f.*, b.product_id AS backorder_product_id, b.priority
    FROM judged f
    JOIN busy b ON b.id = f.backorder_id
    JOIN earlier e ON e.id = f.backorder_id
    WHERE e.until_run > f.run OR e.until_version > f.version
  ), same_priority AS (
    SELECT DISTINCT ON (f.id) f.id AS fill_id, f.backorder_id, f.quantity, a.id AS ahead_id
    FROM flagged f
    JOIN busy a ON a.product_id = f.backorder_product_id AND a.priority = f.priority AND a.id < f.backorder_id
    WHERE a.until_run > f.run OR a.until_version > f.version
    ORDER BY f.id, a.id
  ), higher_priority AS (
    SELECT f.id AS fill_id, f.backorder_id, f.quantity, a.id AS ahead_id
    FROM judged f
    JOIN busy b ON b.id = f.backorder_id
    JOIN priorities q ON q.product_id = b.product_id AND b.priority < q.high
    JOIN busy a ON a.product_id = b.product_id AND a.priority > q.low
    WHERE a.priority > b.priority
      AND (a.until_run > f.run OR a.until_version > f.version)
      AND (a.id < b.id OR a.created_version < f.version)
  ), pairs AS (
    SELECT DISTINCT ON (backorder_id, ahead_id) * FROM (
      SELECT * FROM same_priority UNION ALL SELECT * FROM higher_priority
    ) found ORDER BY backorder_id, ahead_id, fill_id
  )
  SELECT format('backorder %s received %s units (fill %s) while backorder %s, ahead of it in the queue (priority %s vs %s), still had units waiting',
                ${b.id}, x.quantity, x.fill_id, ${ahead.id}, ${ahead.priority}, ${b.priority}) AS message,
         jsonb_build_object('productId', ${b.productId}, 'backorderId', ${b.id}, 'fillId', x.fill_id, 'aheadBackorderId', ${ahead.id}) AS ids
  FROM pairs x
  JOIN ${backorders} ${b} ON ${b.id} = x.backorder_id
  JOIN ${backorders} ${ahead} ON ${ahead.id} = x.ahead_id
  ORDER BY ${b.id}, ${ahead.id}
`;

/** Each product's count of WAITING backorders, as `product_id` and `n`. */
const waitingCount = sql`
  SELECT ${backorders.productId}, count(*)::int AS n FROM ${backorders} WHERE ${backorders.status} = 'WAITING' GROUP BY ${backorders.productId}`;

const checks: InvariantCheck[] = [
  {
    // Invariant 1.
    name: "stock.allocated-within-on-hand",
    query: sql`
      SELECT format('allocated %s is not within 0..onHand (%s)', ${s.allocated}, ${s.onHand}) AS message,
             jsonb_build_object('productId', ${s.productId}, 'locationId', ${s.locationId}) AS ids
      FROM ${stockLevels} ${s} WHERE ${s.allocated} < 0 OR ${s.onHand} < 0 OR ${s.allocated} > ${s.onHand}
      ORDER BY ${s.productId}, ${s.locationId}`,
  },
  {
    // Invariant 2: stock never sits idle while customers wait.
    name: "stock.no-idle-stock-while-waiting",
    query: sql`
      SELECT format('%s units available while the product has %s units backordered (%s waiting backorders)',
                    ${s.onHand} - ${s.allocated} - ${s.safetyStock}, ${p.backordered}, coalesce(w.n, 0)) AS message,
             jsonb_build_object('productId', ${p.id}, 'locationId', ${s.locationId}) AS ids
      FROM ${products} ${p}
      JOIN ${stockLevels} ${s} ON ${s.productId} = ${p.id}
      LEFT JOIN (${waitingCount}) w
        ON w.product_id = ${p.id}
      WHERE (${p.backordered} > 0 OR w.n > 0) AND ${s.onHand} - ${s.allocated} - ${s.safetyStock} > 0
      ORDER BY ${p.id}, ${s.locationId}`,
  },
  {
    // Invariant 3.
    name: "line.units-add-up",
    query: sql`
      SELECT format('quantity %s <> allocated %s + waiting %s + shipped %s + cancelled %s (or a count is negative)',
                    ${l.quantity}, ${l.allocated}, ${l.waiting}, ${l.shipped}, ${l.cancelled}) AS message,
             jsonb_build_object('orderId', ${l.orderId}, 'orderLineId', ${l.id}) AS ids
      FROM ${orderLines} ${l}
      WHERE ${l.quantity} <> ${l.allocated} + ${l.waiting} + ${l.shipped} + ${l.cancelled}
         OR ${l.quantity} <= 0 OR ${l.allocated} < 0 OR ${l.waiting} < 0 OR ${l.shipped} < 0 OR ${l.cancelled} < 0
      ORDER BY ${l.id}`,
  },
  {
    // Invariant 3: the line's allocated and shipped units are those of its allocations.
    name: "line.matches-allocations",
    query: sql`
      SELECT format('line allocated %s / shipped %s, its allocations %s / %s', ${l.allocated}, ${l.shipped},
                    coalesce(a.quantity, 0), coalesce(a.shipped, 0)) AS message,
             jsonb_build_object('orderId', ${l.orderId}, 'orderLineId', ${l.id}) AS ids
      FROM ${orderLines} ${l}
      LEFT JOIN (SELECT ${allocations.orderLineId}, sum(${allocations.quantity})::int AS quantity, sum(${allocations.shipped})::int AS shipped
                 FROM ${allocations} GROUP BY ${allocations.orderLineId}) a ON a.order_line_id = ${l.id}
      WHERE ${l.allocated} <> coalesce(a.quantity, 0)
         -- A dropship line's units ship from its supplier, not from an allocation (supplier-order.matches-line).
         OR (${l.shipped} <> coalesce(a.shipped, 0) AND NOT EXISTS (SELECT 1 FROM ${supplierOrders} ${so} WHERE ${so.orderLineId} = ${l.id}))
      ORDER BY ${l.id}`,
  },
  {
    // Invariant 3: the line's waiting units are its waiting backorder's remaining. A dropship
    // line (one with a supplier order) waits at its supplier instead: supplier-order.matches-line.
    name: "line.waiting-matches-backorder",
    query: sql`
      SELECT format('line waiting %s, its waiting backorder has %s remaining', ${l.waiting}, coalesce(${b.remaining}, 0)) AS message,
             jsonb_strip_nulls(jsonb_build_object('orderId', ${l.orderId}, 'orderLineId', ${l.id}, 'backorderId', ${b.id})) AS ids
      FROM ${orderLines} ${l}
      LEFT JOIN ${backorders} ${b} ON ${b.orderLineId} = ${l.id} AND ${b.status} = 'WAITING'
      WHERE ${l.waiting} <> coalesce(${b.remaining}, 0)
        AND NOT EXISTS (SELECT 1 FROM ${supplierOrders} ${so} WHERE ${so.orderLineId} = ${l.id})
      ORDER BY ${l.id}`,
  },
  {
    // Invariant 8 ("Dropship"): a dropship line's units are all in its one supplier order
    // (supplier_orders_order_line_key: at most one), of its order and product, for its whole
    // quantity, never allocated, and where the supplier order's status says: OPEN or ACKNOWLEDGED
    // ⇔ all waiting, SHIPPED ⇔ all shipped, REJECTED or CANCELLED ⇔ all cancelled. A line of a
    // DROPSHIP product without one has nothing waiting or allocated (placed before the product
    // became DROPSHIP, which needs it to hold nothing of ours).
    name: "supplier-order.matches-line",
    query: sql`
      SELECT CASE WHEN ${so.id} IS NULL THEN format('a line of DROPSHIP product %s has %s waiting and %s allocated but no supplier order', ${l.productId}, ${l.waiting}, ${l.allocated})
                  ELSE format('supplier order %s (order %s, product %s, %s units) does not match its line (order %s, product %s, %s units: %s allocated, %s waiting, %s shipped, %s cancelled)',
                              ${so.status}, ${so.orderId}, ${so.productId}, ${so.quantity}, ${l.orderId}, ${l.productId}, ${l.quantity},
                              ${l.allocated}, ${l.waiting}, ${l.shipped}, ${l.cancelled}) END AS message,
             jsonb_strip_nulls(jsonb_build_object('orderId', ${l.orderId}, 'orderLineId', ${l.id}, 'supplierOrderId', ${so.id})) AS ids
      FROM ${orderLines} ${l}
      JOIN ${products} ${p} ON ${p.id} = ${l.productId}
      LEFT JOIN ${supplierOrders} ${so} ON ${so.orderLineId} = ${l.id}
      WHERE CASE WHEN ${so.id} IS NULL THEN ${p.fulfillment} = 'DROPSHIP' AND (${l.waiting} > 0 OR ${l.allocated} > 0)
                 ELSE ${so.quantity} <> ${l.quantity} OR ${so.orderId} <> ${l.orderId} OR ${so.productId} <> ${l.productId} OR ${l.allocated} <> 0
                      OR CASE ${so.status} WHEN 'OPEN' THEN ${l.waiting} <> ${l.quantity}
                                           WHEN 'ACKNOWLEDGED' THEN ${l.waiting} <> ${l.quantity}
                                           WHEN 'SHIPPED' THEN ${l.shipped} <> ${l.quantity}
                                           ELSE ${l.cancelled} <> ${l.quantity} END END
      ORDER BY ${l.id}`,
  },
  {
    name: "allocation.matches-line",
    query: sql`
      SELECT format('allocation of product %s on a line of product %s (or negative units: %s open, %s shipped)',
                    ${allocation.productId}, ${l.productId}, ${allocation.quantity}, ${allocation.shipped}) AS message,
             jsonb_build_object('orderLineId', ${allocation.orderLineId}, 'locationId', ${allocation.locationId}, 'productId', ${allocation.productId}) AS ids
      FROM ${allocations} ${allocation} JOIN ${orderLines} ${l} ON ${l.id} = ${allocation.orderLineId}
      WHERE ${allocation.productId} <> ${l.productId} OR ${allocation.quantity} < 0 OR ${allocation.shipped} < 0
      ORDER BY ${allocation.orderLineId}, ${allocation.locationId}`,
  },
  {
    // Invariant 4, both ways: a stock level without allocations has none allocated, and no
    // allocation points at a stock level that does not exist.
    name: "stock.allocated-matches-allocations",
    query: sql`
      SELECT format('stock level allocated %s, open allocations %s', coalesce(${s.allocated}::text, 'no stock level'),
                    coalesce(a.quantity, 0)) AS message,
             jsonb_build_object('productId', coalesce(${s.productId}, a.product_id),
                                'locationId', coalesce(${s.locationId}, a.location_id)) AS ids
      FROM ${stockLevels} ${s}
      FULL JOIN (SELECT ${allocations.productId}, ${allocations.locationId}, sum(${allocations.quantity})::int AS quantity
                 FROM ${allocations} GROUP BY ${allocations.productId}, ${allocations.locationId}) a
        ON a.product_id = ${s.productId} AND a.location_id = ${s.locationId}
      WHERE ${s.productId} IS NULL AND a.quantity <> 0
         OR ${s.productId} IS NOT NULL AND ${s.allocated} <> coalesce(a.quantity, 0)
      ORDER BY 2`,
  },
  {
    // Invariant 5, both ways: a stock level with no movements has nothing on hand, and no
    // movement points at a stock level that does not exist.
    name: "stock.on-hand-matches-ledger",
    query: sql`
      SELECT format('onHand %s, ledger sum %s', coalesce(${s.onHand}::text, 'no stock level'), coalesce(m.delta, 0)) AS message,
             jsonb_build_object('productId', coalesce(${s.productId}, m.product_id),
                                'locationId', coalesce(${s.locationId}, m.location_id)) AS ids
      FROM ${stockLevels} ${s}
      FULL JOIN (SELECT ${stockMovements.productId}, ${stockMovements.locationId}, sum(${stockMovements.delta})::bigint AS delta
                 FROM ${stockMovements} GROUP BY ${stockMovements.productId}, ${stockMovements.locationId}) m
        ON m.product_id = ${s.productId} AND m.location_id = ${s.locationId}
      WHERE ${s.productId} IS NULL AND m.delta <> 0
         OR ${s.productId} IS NOT NULL AND ${s.onHand} <> coalesce(m.delta, 0)
      ORDER BY 2`,
  },
  { name: "backlog.fifo", query: fifoCheck },
  {
    name: "product.backordered-matches-backlog",
    query: sql`
      SELECT format('backordered %s, waiting backorders remaining %s', ${p.backordered}, coalesce(w.remaining, 0)) AS message,
             jsonb_build_object('productId', ${p.id}) AS ids
      FROM ${products} ${p}
      LEFT JOIN (SELECT ${backorders.productId}, sum(${backorders.remaining})::int AS remaining FROM ${backorders} WHERE ${backorders.status} = 'WAITING'
                 GROUP BY ${backorders.productId}) w ON w.product_id = ${p.id}
      WHERE ${p.backordered} <> coalesce(w.remaining, 0)
      ORDER BY ${p.id}`,
  },
  {
    name: "product.waiting-orders-matches-backlog",
    query: sql`
      SELECT format('waitingOrders %s, waiting backorders %s', ${p.waitingOrders}, coalesce(w.n, 0)) AS message,
             jsonb_build_object('productId', ${p.id}) AS ids
      FROM ${products} ${p}
      LEFT JOIN (${waitingCount}) w
        ON w.product_id = ${p.id}
      WHERE ${p.waitingOrders} <> coalesce(w.n, 0)
      ORDER BY ${p.id}`,
  },
  {
    // quantity = filled + remaining + cancelled, where filled is what the fill ledger says.
    name: "backorder.filled-matches-fills",
    query: sql`
      SELECT format('quantity %s - remaining %s - cancelled %s = %s filled, fills say %s', ${b.quantity}, ${b.remaining},
                    ${b.cancelled}, ${b.quantity} - ${b.remaining} - ${b.cancelled}, coalesce(f.quantity, 0)) AS message,
             jsonb_build_object('backorderId', ${b.id}, 'orderLineId', ${b.orderLineId}) AS ids
      FROM ${backorders} ${b}
      LEFT JOIN (SELECT ${backorderFills.backorderId}, sum(${backorderFills.quantity})::int AS quantity
                 FROM ${backorderFills} GROUP BY ${backorderFills.backorderId}) f
        ON f.backorder_id = ${b.id}
      WHERE ${b.quantity} - ${b.remaining} - ${b.cancelled} <> coalesce(f.quantity, 0)
      ORDER BY ${b.id}`,
  },
  {
    // WAITING exactly while units remain; remaining counts only units still waiting.
    name: "backorder.status-matches-remaining",
    query: sql`
      SELECT format('status %s with %s remaining, %s cancelled of %s', ${b.status}, ${b.remaining}, ${b.cancelled}, ${b.quantity}) AS message,
             jsonb_build_object('backorderId', ${b.id}) AS ids
      FROM ${backorders} ${b}
      WHERE ${b.remaining} < 0 OR ${b.cancelled} < 0 OR ${b.remaining} + ${b.cancelled} > ${b.quantity}
         OR (${b.status} = 'WAITING') <> (${b.remaining} > 0)
         OR (${b.status} = 'CANCELLED' AND ${b.cancelled} = 0)
      ORDER BY ${b.id}`,
  },
  {
    name: "backorder.belongs-to-line",
    query: sql`
      SELECT format('backorder of product %s / order %s on line %s of product %s / order %s',
                    ${b.productId}, ${b.orderId}, ${l.id}, ${l.productId}, ${l.orderId}) AS message,
             jsonb_build_object('backorderId', ${b.id}, 'orderLineId', ${l.id}) AS ids
      FROM ${backorders} ${b} JOIN ${orderLines} ${l} ON ${l.id} = ${b.orderLineId}
      WHERE ${b.productId} <> ${l.productId} OR ${b.orderId} <> ${l.orderId}
      ORDER BY ${b.id}`,
  },
  {
    name: "fill.matches-backorder",
    query: sql`
      SELECT format('fill of product %s for a backorder of product %s', ${f.productId}, ${b.productId}) AS message,
             jsonb_build_object('fillId', ${f.id}, 'backorderId', ${b.id}) AS ids
      FROM ${backorderFills} ${f} JOIN ${backorders} ${b} ON ${b.id} = ${f.backorderId}
      WHERE ${f.productId} <> ${b.productId}
      ORDER BY ${f.id}`,
  },
  {
    // docs/ARCHITECTURE.md, "The rules", first match wins.
    name: "order.status-matches-lines",
    query: sql`
      WITH units AS (
        SELECT ${o.id}, ${o.status}, count(${l.id})::int AS lines,
               coalesce(sum(${l.quantity}), 0)::int AS quantity, coalesce(sum(${l.cancelled}), 0)::int AS cancelled,
               coalesce(sum(${l.shipped}), 0)::int AS shipped, coalesce(sum(${l.waiting}), 0)::int AS waiting
        FROM ${orders} ${o} LEFT JOIN ${orderLines} ${l} ON ${l.orderId} = ${o.id}
        GROUP BY ${o.id}, ${o.status}
      ), expected AS (
        SELECT *, ${orderStatusOf({ quantity: sql`quantity`, cancelled: sql`cancelled`, shipped: sql`shipped`, waiting: sql`waiting` })} AS expected_status
        FROM units
      )
      SELECT CASE WHEN lines = 0 THEN 'order has no lines'
                  ELSE format('status %s, lines say %s (quantity %s, cancelled %s, shipped %s, waiting %s)',
                              status, expected_status, quantity, cancelled, shipped, waiting) END AS message,
             jsonb_build_object('orderId', id) AS ids
      FROM expected WHERE lines = 0 OR status <> expected_status
      ORDER BY id`,
  },
  {
    // docs/ARCHITECTURE.md, "Counting": each slot of each status against a full count.
    name: "counter.orders-by-status",
    query: sql`
      WITH counted AS (
        SELECT ${orders.status} AS status, ${orders.id} % ${sql.raw(String(ORDER_COUNT_SLOTS))} AS slot, count(*) AS n FROM ${orders} GROUP BY 1, 2
      ), kept AS (
        SELECT ${orderCounts.status} AS status, ${orderCounts.slot} AS slot, ${orderCounts.n} AS n FROM ${orderCounts}
      )
      SELECT format('%s %s orders in slot %s, the counter says %s', coalesce(c.n, 0), status, slot, coalesce(k.n, 0)) AS message,
             jsonb_build_object('status', status, 'slot', slot) AS ids
      FROM counted c FULL JOIN kept k USING (status, slot)
      WHERE coalesce(c.n, 0) <> coalesce(k.n, 0)
      ORDER BY status, slot`,
  },
  {
    // The product filter of Query.orders is "has a line for the product": orders, not lines.
    name: "counter.orders-by-product",
    query: sql`
      WITH counted AS (
        SELECT ${l.productId} AS product_id, ${o.status} AS status, count(DISTINCT ${o.id}) AS n
        FROM ${orderLines} ${l} JOIN ${orders} ${o} ON ${o.id} = ${l.orderId}
        GROUP BY 1, 2
      ), kept AS (
        SELECT ${productOrderCounts.productId} AS product_id, ${productOrderCounts.status} AS status, ${productOrderCounts.n} AS n FROM ${productOrderCounts}
      )
      SELECT format('%s %s orders with a line for the product, the counter says %s', coalesce(c.n, 0), status, coalesce(k.n, 0)) AS message,
             jsonb_build_object('productId', product_id, 'status', status) AS ids
      FROM counted c FULL JOIN kept k USING (product_id, status)
      WHERE coalesce(c.n, 0) <> coalesce(k.n, 0)
      ORDER BY product_id, status`,
  },
  {
    // docs/ARCHITECTURE.md, "Refunds": every cancelled unit is paid back once, at its line's unit price.
    name: "refund.lines-match-cancelled",
    query: sql`
      SELECT format('%s units cancelled at %s (%s), refunds pay back %s units for %s', ${l.cancelled}, ${l.unitPrice},
                    ${l.cancelled} * ${l.unitPrice}, coalesce(r.quantity, 0), coalesce(r.amount, 0)) AS message,
             jsonb_build_object('orderId', ${l.orderId}, 'orderLineId', ${l.id}) AS ids
      FROM ${orderLines} ${l}
      LEFT JOIN (SELECT ${refundLines.orderLineId}, sum(${refundLines.quantity})::bigint AS quantity, sum(${refundLines.amount}) AS amount
                 FROM ${refundLines} GROUP BY ${refundLines.orderLineId}) r ON r.order_line_id = ${l.id}
      WHERE ${l.cancelled} <> coalesce(r.quantity, 0) OR ${l.cancelled} * ${l.unitPrice} <> coalesce(r.amount, 0)
      ORDER BY ${l.id}`,
  },
  {
    // A refund is the sum of its lines, each priced at its line's unit price, all of its own order
    // and in that order's currency.
    name: "refund.amount-matches-lines",
    query: sql`
      WITH judged AS (
        SELECT ${rf.id}, ${rf.orderId}, ${rf.amount}, ${rf.currencyCode}, ${o.currencyCode} AS order_currency,
               count(${rl.id}) AS lines, coalesce(sum(${rl.amount}), 0) AS lines_amount,
               count(${rl.id}) FILTER (WHERE ${l.orderId} IS DISTINCT FROM ${rf.orderId}) AS foreign_lines,
               count(${rl.id}) FILTER (WHERE ${rl.amount} <> ${rl.quantity} * ${l.unitPrice}) AS mispriced_lines
        FROM ${refunds} ${rf}
        LEFT JOIN ${orders} ${o} ON ${o.id} = ${rf.orderId}
        LEFT JOIN ${refundLines} ${rl} ON ${rl.refundId} = ${rf.id}
        LEFT JOIN ${orderLines} ${l} ON ${l.id} = ${rl.orderLineId}
        GROUP BY ${rf.id}, ${o.currencyCode}
      )
      SELECT CASE WHEN lines = 0 THEN 'refund has no lines'
                  ELSE format('amount %s %s; its %s lines sum to %s, %s of them of another order, %s not quantity × unit price; the order is in %s',
                              amount, currency_code, lines, lines_amount, foreign_lines, mispriced_lines, order_currency) END AS message,
             jsonb_build_object('refundId', id, 'orderId', order_id) AS ids
      FROM judged
      WHERE lines = 0 OR foreign_lines > 0 OR mispriced_lines > 0 OR amount <> lines_amount OR currency_code IS DISTINCT FROM order_currency
      ORDER BY id`,
  },
  {
    name: "restock.received-within-quantity",
    query: sql`
      SELECT format('received %s of %s', ${restocks.receivedQuantity}, ${restocks.quantity}) AS message,
             jsonb_build_object('restockId', ${restocks.id}, 'productId', ${restocks.productId}) AS ids
      FROM ${restocks} WHERE ${restocks.receivedQuantity} < 0 OR ${restocks.receivedQuantity} > ${restocks.quantity}
      ORDER BY ${restocks.id}`,
  },
  {
    // SCHEDULED: nothing received yet; PARTIALLY_RECEIVED: some, not all; RECEIVED: all. A count
    // out of range is the check above's to report.
    name: "restock.status-matches-receipt",
    query: sql`
      SELECT format('status %s, received %s of %s', ${restocks.status}, ${restocks.receivedQuantity}, ${restocks.quantity}) AS message,
             jsonb_build_object('restockId', ${restocks.id}, 'productId', ${restocks.productId}) AS ids
      FROM ${restocks}
      WHERE ${restocks.receivedQuantity} BETWEEN 0 AND ${restocks.quantity}
        AND CASE ${restocks.status}
              WHEN 'SCHEDULED' THEN ${restocks.receivedQuantity} <> 0
              WHEN 'PARTIALLY_RECEIVED' THEN ${restocks.receivedQuantity} IN (0, ${restocks.quantity})
              WHEN 'RECEIVED' THEN ${restocks.receivedQuantity} <> ${restocks.quantity}
              ELSE false END
      ORDER BY ${restocks.id}`,
  },
];

/** The names of the invariants {@link auditInvariants} checks, in the order it checks them. */
export const AUDITED_INVARIANTS: readonly string[] = checks.map((check) => check.name);

/**
 * Checks every invariant over the whole database and returns the violations, with the ids of the
 * rows involved; an empty list means the database is consistent. Given the pool, it reads one
 * snapshot (a read-only REPEATABLE READ transaction), so a running engine cannot tear its view;
 * given an open transaction, it reads inside it, after adding that transaction's pending changes
 * to the order counters (as its commit would). Throws only when the database cannot be read.
 */
export async function auditInvariants(db: Executor): Promise<Violation[]> {
  if (db instanceof PgTransaction) return auditIn(db, true);
  return db.transaction((tx) => auditIn(tx, false), { isolationLevel: "repeatable read", accessMode: "read only" });
}

async function auditIn(tx: Executor, pending: boolean): Promise<Violation[]> {
  // A transaction's own changes reach the order counters at its commit; the caller's transaction
  // is judged as it would commit.
  if (pending) await flushOrderCountChanges(tx);
  // The checks are a few joins and windows; PostgreSQL's estimates for them are poor, and
  // compiling them with JIT costs a second where running them takes tens of milliseconds.
  await tx.execute(sql`SET LOCAL jit = off`);
  const violations: Violation[] = [];
  for (const check of checks) {
    const found = await rows<{ message: string; ids: Record<string, number | string> | string }>(tx, check.query);
    for (const row of found) {
      const ids = typeof row.ids === "string" ? (JSON.parse(row.ids) as Record<string, number | string>) : row.ids;
      violations.push({ invariant: check.name, message: row.message, ids });
    }
  }
  return violations;
}

/** One line for a person: `invariant: message [name=id …]`. */
export function formatViolation(violation: Violation): string {
  const ids = Object.entries(violation.ids)
    .map(([name, id]) => `${name}=${id}`)
    .join(" ");
  return `${violation.invariant}: ${violation.message} [${ids}]`;
}

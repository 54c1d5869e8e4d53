/**
 * The invariant audit: checks every invariant of docs/ARCHITECTURE.md, "The model and its invariants", and the bookkeeping that
 * keeps them checkable, with set-based SQL over the whole database. Each invariant is one
 * statement, so each sees one committed state even while the engine runs. Read-only.
 */
import { sql, type SQL } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import { type Executor, rows } from "../../drizzle/db.js";
import { orderStatusOf } from "./order-status.js";

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
 * cannot be found the pair is not judged, so a correct history is never reported; a fill that
 * skipped the head of an unprioritized queue is always caught by (a)+(c) with ids and runs alone.
 *
 * Reported once per (B, A) pair, with B's first offending fill. Same-priority pairs are found
 * with running maxima over the queue (no pairwise join), so the check stays fast on deep backlogs.
 */
const fifoCheck = sql`
  WITH tx_version AS (
    SELECT product_id, created_at, max(product_version) AS version
    FROM events WHERE product_id IS NOT NULL AND product_version IS NOT NULL
    GROUP BY product_id, created_at
  ), prioritized AS (
    SELECT product_id, max(product_version) AS version, bool_or(product_version IS NULL) AS unversioned
    FROM events WHERE product_id IS NOT NULL AND payload->>'reason' = 'BACKORDER_PRIORITIZED'
    GROUP BY product_id
  ), priorities AS (
    SELECT product_id, min(priority) AS low, max(priority) AS high FROM backorders GROUP BY product_id
  ), fill_runs AS (
    SELECT g.id, g.backorder_id, g.product_id, g.quantity, g.created_at,
           sum(CASE WHEN g.created_at IS DISTINCT FROM g.previous_at THEN 1 ELSE 0 END)
             OVER (PARTITION BY g.product_id ORDER BY g.id) AS run
    FROM (SELECT f.id, f.backorder_id, b.product_id, f.quantity, f.created_at,
                 lag(f.created_at) OVER (PARTITION BY b.product_id ORDER BY f.id) AS previous_at
          FROM backorder_fills f JOIN backorders b ON b.id = f.backorder_id) g
  ), busy AS (
    -- Until when each backorder had units waiting: on the fill clock (run) and on the event
    -- clock (version); the maximum bigint for "still waiting", null for "not known".
    SELECT b.id, b.product_id, b.priority,
           CASE WHEN b.status = 'WAITING' THEN 9223372036854775807 ELSE last.run END AS until_run,
           CASE WHEN b.status = 'WAITING' THEN 9223372036854775807
                WHEN b.status = 'CANCELLED' THEN cv.version END AS until_version,
           av.version AS created_version
    FROM backorders b
    LEFT JOIN (SELECT backorder_id, max(run) AS run FROM fill_runs GROUP BY backorder_id) last ON last.backorder_id = b.id
    LEFT JOIN tx_version av ON av.product_id = b.product_id AND av.created_at = b.created_at
    LEFT JOIN tx_version cv ON cv.product_id = b.product_id AND cv.created_at = b.cancelled_at
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
                b.id, x.quantity, x.fill_id, a.id, a.priority, b.priority) AS message,
         jsonb_build_object('productId', b.product_id, 'backorderId', b.id, 'fillId', x.fill_id, 'aheadBackorderId', a.id) AS ids
  FROM pairs x
  JOIN backorders b ON b.id = x.backorder_id
  JOIN backorders a ON a.id = x.ahead_id
  ORDER BY b.id, a.id
`;

const checks: InvariantCheck[] = [
  {
    // Invariant 1.
    name: "stock.allocated-within-on-hand",
    query: sql`
      SELECT format('allocated %s is not within 0..onHand (%s)', allocated, on_hand) AS message,
             jsonb_build_object('productId', product_id, 'locationId', location_id) AS ids
      FROM stock_levels WHERE allocated < 0 OR on_hand < 0 OR allocated > on_hand
      ORDER BY product_id, location_id`,
  },
  {
    // Invariant 2: stock never sits idle while customers wait.
    name: "stock.no-idle-stock-while-waiting",
    query: sql`
      SELECT format('%s units available while the product has %s units backordered (%s waiting backorders)',
                    s.on_hand - s.allocated - s.safety_stock, p.backordered, coalesce(w.n, 0)) AS message,
             jsonb_build_object('productId', p.id, 'locationId', s.location_id) AS ids
      FROM products p
      JOIN stock_levels s ON s.product_id = p.id
      LEFT JOIN (SELECT product_id, count(*)::int AS n FROM backorders WHERE status = 'WAITING' GROUP BY product_id) w
        ON w.product_id = p.id
      WHERE (p.backordered > 0 OR w.n > 0) AND s.on_hand - s.allocated - s.safety_stock > 0
      ORDER BY p.id, s.location_id`,
  },
  {
    // Invariant 3.
    name: "line.units-add-up",
    query: sql`
      SELECT format('quantity %s <> allocated %s + waiting %s + shipped %s + cancelled %s (or a count is negative)',
                    quantity, allocated, waiting, shipped, cancelled) AS message,
             jsonb_build_object('orderId', order_id, 'orderLineId', id) AS ids
      FROM order_lines
      WHERE quantity <> allocated + waiting + shipped + cancelled
         OR quantity <= 0 OR allocated < 0 OR waiting < 0 OR shipped < 0 OR cancelled < 0
      ORDER BY id`,
  },
  {
    // Invariant 3: the line's allocated and shipped units are those of its allocations.
    name: "line.matches-allocations",
    query: sql`
      SELECT format('line allocated %s / shipped %s, its allocations %s / %s', l.allocated, l.shipped,
                    coalesce(a.quantity, 0), coalesce(a.shipped, 0)) AS message,
             jsonb_build_object('orderId', l.order_id, 'orderLineId', l.id) AS ids
      FROM order_lines l
      LEFT JOIN (SELECT order_line_id, sum(quantity)::int AS quantity, sum(shipped)::int AS shipped
                 FROM allocations GROUP BY order_line_id) a ON a.order_line_id = l.id
      WHERE l.allocated <> coalesce(a.quantity, 0) OR l.shipped <> coalesce(a.shipped, 0)
      ORDER BY l.id`,
  },
  {
    // Invariant 3: the line's waiting units are its waiting backorder's remaining.
    name: "line.waiting-matches-backorder",
    query: sql`
      SELECT format('line waiting %s, its waiting backorder has %s remaining', l.waiting, coalesce(b.remaining, 0)) AS message,
             jsonb_strip_nulls(jsonb_build_object('orderId', l.order_id, 'orderLineId', l.id, 'backorderId', b.id)) AS ids
      FROM order_lines l
      LEFT JOIN backorders b ON b.order_line_id = l.id AND b.status = 'WAITING'
      WHERE l.waiting <> coalesce(b.remaining, 0)
      ORDER BY l.id`,
  },
  {
    name: "allocation.matches-line",
    query: sql`
      SELECT format('allocation of product %s on a line of product %s (or negative units: %s open, %s shipped)',
                    a.product_id, l.product_id, a.quantity, a.shipped) AS message,
             jsonb_build_object('orderLineId', a.order_line_id, 'locationId', a.location_id, 'productId', a.product_id) AS ids
      FROM allocations a JOIN order_lines l ON l.id = a.order_line_id
      WHERE a.product_id <> l.product_id OR a.quantity < 0 OR a.shipped < 0
      ORDER BY a.order_line_id, a.location_id`,
  },
  {
    // Invariant 4, both ways: a stock level without allocations has none allocated, and no
    // allocation points at a stock level that does not exist.
    name: "stock.allocated-matches-allocations",
    query: sql`
      SELECT format('stock level allocated %s, open allocations %s', coalesce(s.allocated::text, 'no stock level'),
                    coalesce(a.quantity, 0)) AS message,
             jsonb_build_object('productId', coalesce(s.product_id, a.product_id),
                                'locationId', coalesce(s.location_id, a.location_id)) AS ids
      FROM stock_levels s
      FULL JOIN (SELECT product_id, location_id, sum(quantity)::int AS quantity
                 FROM allocations GROUP BY product_id, location_id) a
        ON a.product_id = s.product_id AND a.location_id = s.location_id
      WHERE s.product_id IS NULL AND a.quantity <> 0
         OR s.product_id IS NOT NULL AND s.allocated <> coalesce(a.quantity, 0)
      ORDER BY 2`,
  },
  {
    // Invariant 5, both ways: a stock level with no movements has nothing on hand, and no
    // movement points at a stock level that does not exist.
    name: "stock.on-hand-matches-ledger",
    query: sql`
      SELECT format('onHand %s, ledger sum %s', coalesce(s.on_hand::text, 'no stock level'), coalesce(m.delta, 0)) AS message,
             jsonb_build_object('productId', coalesce(s.product_id, m.product_id),
                                'locationId', coalesce(s.location_id, m.location_id)) AS ids
      FROM stock_levels s
      FULL JOIN (SELECT product_id, location_id, sum(delta)::bigint AS delta
                 FROM stock_movements GROUP BY product_id, location_id) m
        ON m.product_id = s.product_id AND m.location_id = s.location_id
      WHERE s.product_id IS NULL AND m.delta <> 0
         OR s.product_id IS NOT NULL AND s.on_hand <> coalesce(m.delta, 0)
      ORDER BY 2`,
  },
  { name: "backlog.fifo", query: fifoCheck },
  {
    name: "product.backordered-matches-backlog",
    query: sql`
      SELECT format('backordered %s, waiting backorders remaining %s', p.backordered, coalesce(w.remaining, 0)) AS message,
             jsonb_build_object('productId', p.id) AS ids
      FROM products p
      LEFT JOIN (SELECT product_id, sum(remaining)::int AS remaining FROM backorders WHERE status = 'WAITING'
                 GROUP BY product_id) w ON w.product_id = p.id
      WHERE p.backordered <> coalesce(w.remaining, 0)
      ORDER BY p.id`,
  },
  {
    name: "product.waiting-orders-matches-backlog",
    query: sql`
      SELECT format('waitingOrders %s, waiting backorders %s', p.waiting_orders, coalesce(w.n, 0)) AS message,
             jsonb_build_object('productId', p.id) AS ids
      FROM products p
      LEFT JOIN (SELECT product_id, count(*)::int AS n FROM backorders WHERE status = 'WAITING' GROUP BY product_id) w
        ON w.product_id = p.id
      WHERE p.waiting_orders <> coalesce(w.n, 0)
      ORDER BY p.id`,
  },
  {
    // quantity = filled + remaining + cancelled, where filled is what the fill ledger says.
    name: "backorder.filled-matches-fills",
    query: sql`
      SELECT format('quantity %s - remaining %s - cancelled %s = %s filled, fills say %s', b.quantity, b.remaining,
                    b.cancelled, b.quantity - b.remaining - b.cancelled, coalesce(f.quantity, 0)) AS message,
             jsonb_build_object('backorderId', b.id, 'orderLineId', b.order_line_id) AS ids
      FROM backorders b
      LEFT JOIN (SELECT backorder_id, sum(quantity)::int AS quantity FROM backorder_fills GROUP BY backorder_id) f
        ON f.backorder_id = b.id
      WHERE b.quantity - b.remaining - b.cancelled <> coalesce(f.quantity, 0)
      ORDER BY b.id`,
  },
  {
    // WAITING exactly while units remain; remaining counts only units still waiting.
    name: "backorder.status-matches-remaining",
    query: sql`
      SELECT format('status %s with %s remaining, %s cancelled of %s', status, remaining, cancelled, quantity) AS message,
             jsonb_build_object('backorderId', id) AS ids
      FROM backorders
      WHERE remaining < 0 OR cancelled < 0 OR remaining + cancelled > quantity
         OR (status = 'WAITING') <> (remaining > 0)
         OR (status = 'CANCELLED' AND cancelled = 0)
      ORDER BY id`,
  },
  {
    name: "backorder.belongs-to-line",
    query: sql`
      SELECT format('backorder of product %s / order %s on line %s of product %s / order %s',
                    b.product_id, b.order_id, l.id, l.product_id, l.order_id) AS message,
             jsonb_build_object('backorderId', b.id, 'orderLineId', l.id) AS ids
      FROM backorders b JOIN order_lines l ON l.id = b.order_line_id
      WHERE b.product_id <> l.product_id OR b.order_id <> l.order_id
      ORDER BY b.id`,
  },
  {
    name: "fill.matches-backorder",
    query: sql`
      SELECT format('fill of product %s for a backorder of product %s', f.product_id, b.product_id) AS message,
             jsonb_build_object('fillId', f.id, 'backorderId', b.id) AS ids
      FROM backorder_fills f JOIN backorders b ON b.id = f.backorder_id
      WHERE f.product_id <> b.product_id
      ORDER BY f.id`,
  },
  {
    // docs/ARCHITECTURE.md, "The rules", first match wins.
    name: "order.status-matches-lines",
    query: sql`
      WITH units AS (
        SELECT o.id, o.status, count(l.id)::int AS lines,
               coalesce(sum(l.quantity), 0)::int AS quantity, coalesce(sum(l.cancelled), 0)::int AS cancelled,
               coalesce(sum(l.shipped), 0)::int AS shipped, coalesce(sum(l.waiting), 0)::int AS waiting
        FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
        GROUP BY o.id, o.status
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
    name: "restock.received-within-quantity",
    query: sql`
      SELECT format('received %s of %s', received_quantity, quantity) AS message,
             jsonb_build_object('restockId', id, 'productId', product_id) AS ids
      FROM restocks WHERE received_quantity < 0 OR received_quantity > quantity
      ORDER BY id`,
  },
];

/** The names of the invariants {@link auditInvariants} checks, in the order it checks them. */
export const AUDITED_INVARIANTS: readonly string[] = checks.map((check) => check.name);

/**
 * Checks every invariant over the whole database and returns the violations, with the ids of the
 * rows involved; an empty list means the database is consistent. Given the pool, it reads one
 * snapshot (a read-only REPEATABLE READ transaction), so a running engine cannot tear its view;
 * given an open transaction, it reads inside it. Throws only when the database cannot be read.
 */
export async function auditInvariants(db: Executor): Promise<Violation[]> {
  if (db instanceof PgTransaction) return auditIn(db);
  return db.transaction((tx) => auditIn(tx), { isolationLevel: "repeatable read", accessMode: "read only" });
}

async function auditIn(tx: Executor): Promise<Violation[]> {
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

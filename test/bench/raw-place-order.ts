/**
 * The raw baseline of `placeOrder` (issue 11): the statements one engine `placeOrder` sends for
 * the bench's orders, replayed straight through postgres.js with no GraphQL, no drizzle and no
 * service code, so that what is left is the machine: PostgreSQL running these statements under
 * this concurrency, and the round trips between them.
 *
 * IT MIRRORS server/services/order.service.ts `placeOrder` (with planOrder, writeOrder and the
 * functions they call: location.query `freeStock`, eta.service `recomputeEta`, event.service
 * `recordProductChanges` and `recordOrderChanges`), statements and pipelining both. After BEGIN,
 * planOrder sends three statements together (Promise.all, one round trip: postgres.js pipelines
 * a transaction's statements issued without awaiting): the order's id reserved (nextval), the
 * products named by id or SKU locked, their free stock read. writeOrder then sends the one CTE
 * writing the order under that id; when nothing waits, the events statement goes in the same
 * pipeline as the write; when units wait: the write, then the ETA statement per new backorder,
 * then the events, then the DELAYED events if the backorder pushed orders past their promise.
 * When the engine changes what it sends (fewer statements, a SQL function, other SQL, other
 * pipelining), change `PLACE_ORDER_STATEMENTS` and `rawPlaceOrder` to match, or the baseline
 * measures something the engine no longer does. The orders scenarios count the statements of one
 * engine `placeOrder` and of one `rawPlaceOrder` through the same counting proxy and print both
 * ("statements per placeOrder", in stock and backordered): a row that says miss there means this
 * file is out of date. The count catches a statement added or dropped, not a changed text (e.g.
 * event.service's events statements changing under it): re-capture after such changes.
 *
 * To re-capture what the engine sends: run one `placeOrder` through the bench's proxy
 * (statement-counter.ts: `counter.count(() => placeOrder(db, input))` on a connection made through
 * the proxy's port, then print `transactions`), or set `log_statement = 'all'` on a scratch
 * database (`ALTER DATABASE x SET log_statement = 'all'`), start the server on it, place one
 * order in stock and one backordered by SKU, and read the server log. The texts below are the
 * engine's as captured that way (whitespace collapsed, the SQL comment in writeOrder left out),
 * with its parameters in the same places.
 *
 * What it covers: the bench's orders only, one line naming its product by SKU, a product with
 * backorder policy ALLOW and no backorder limit (the engine's refusals, DENY, limits, idempotency
 * keys and lost demand are not replayed: the bench's orders never take those branches). The
 * planning between the statements (take free units by location, the rest waits) is the few lines
 * of arithmetic the engine does between them.
 *
 * On the wire both send named prepared statements: postgres.js's default here, and the engine's
 * drizzle client prepares every statement too (drizzle/db.ts `preparing`).
 */
import type postgres from "postgres";
import { OPEN_RESTOCK_STATUSES } from "../../drizzle/contract.js";

/** The statements, by the engine function that sends each. */
export const PLACE_ORDER_STATEMENTS = {
  /** order.service `planOrder`: the new order's id, reserved first (parameter: the orders table's name). */
  reserveOrderId: `SELECT nextval(pg_get_serial_sequence($1, 'id'))::int AS id`,

  /** order.service `planOrder`: the products named by id ($1) or by SKU ($2) locked, held to COMMIT. */
  lockProducts: `SELECT * FROM "products" WHERE "products"."id" = ANY($1::int[]) OR "products"."sku" IN (SELECT jsonb_array_elements_text($2::jsonb))
    ORDER BY "products"."id" FOR UPDATE`,

  /** location.query `freeStock` of the products planOrder locks (same $1 and $2), read once their locks are held. */
  freeStock: `SELECT "stock_levels"."product_id" AS product_id, "stock_levels"."location_id" AS location_id, free.units::int AS free,
    sum(free.units) OVER w AS free_through
    FROM "stock_levels" JOIN "locations" ON "locations"."id" = "stock_levels"."location_id"
    CROSS JOIN LATERAL (SELECT "stock_levels"."on_hand" - "stock_levels"."allocated" - "stock_levels"."safety_stock" AS units) free
    WHERE "stock_levels"."product_id" = ANY(ARRAY(SELECT "products"."id" FROM "products"
      WHERE "products"."id" = ANY($1::int[]) OR "products"."sku" IN (SELECT jsonb_array_elements_text($2::jsonb)))) AND free.units > 0
    WINDOW w AS (PARTITION BY "stock_levels"."product_id" ORDER BY "locations"."priority" ASC, "locations"."id" ASC)
    ORDER BY "stock_levels"."product_id", "locations"."priority" ASC, "locations"."id" ASC`,

  /** order.service `writeOrder`: the order under its reserved id, its line, allocations, stock, backlog counters and backorder, in one statement. */
  writeOrder: `WITH requested AS (
      SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(line_number int, product_id int, quantity int, unit_price numeric, allocated int, waiting int)
    ), new_order AS (
      INSERT INTO "orders" ("id", "customer", "status", "total", "currency_code") OVERRIDING SYSTEM VALUE
      VALUES ($2::int, $3, (SELECT CASE WHEN 0 = sum(quantity) THEN 'CANCELLED' WHEN 0 = sum(quantity) - 0 THEN 'SHIPPED'
                   WHEN 0 > 0 THEN 'PARTIALLY_SHIPPED' WHEN sum(waiting) > 0 THEN 'AWAITING_STOCK' ELSE 'READY_TO_SHIP' END
                   FROM requested), $4::numeric, $5)
      RETURNING *
    ), new_lines AS (
      INSERT INTO "order_lines" ("order_id", "product_id", "line_number", "quantity", "unit_price", "allocated", "waiting")
      SELECT new_order.id, product_id, line_number, quantity, unit_price, allocated, waiting FROM new_order, requested ORDER BY line_number
      RETURNING "order_lines"."id", "order_lines"."order_id", "order_lines"."product_id", "order_lines"."line_number", "order_lines"."waiting"
    ), split AS (
      SELECT * FROM jsonb_to_recordset($6::jsonb) AS a(line_number int, product_id int, location_id int, quantity int)
    ), new_allocations AS (
      INSERT INTO "allocations" ("order_line_id", "location_id", "product_id", "quantity")
      SELECT l.id, s.location_id, s.product_id, s.quantity FROM split s JOIN new_lines l USING (line_number)
    ), stock AS (
      UPDATE "stock_levels" "st" SET "allocated" = "st"."allocated" + t.quantity, "updated_at" = now()
      FROM (SELECT product_id, location_id, sum(quantity)::int AS quantity FROM split GROUP BY 1, 2) t
      WHERE "st"."product_id" = t.product_id AND "st"."location_id" = t.location_id
    ), backlog AS (
      UPDATE "products" "p" SET "backordered" = "p"."backordered" + r.waiting, "waiting_orders" = "p"."waiting_orders" + 1
      FROM requested r WHERE "p"."id" = r.product_id AND r.waiting > 0
    ), new_backorders AS (
      INSERT INTO "backorders" ("product_id", "order_id", "order_line_id", "quantity", "remaining", "created_at")
      SELECT product_id, order_id, id, waiting, waiting, clock_timestamp() FROM new_lines WHERE waiting > 0 ORDER BY product_id
      RETURNING "backorders"."id", "backorders"."order_id", "backorders"."product_id"
    )
    SELECT o.*, b.id AS backorder_id, b.product_id AS backorder_product_id FROM new_order o LEFT JOIN new_backorders b ON true`,

  /** eta.service `recomputeEta` from the new backorder's place on: once per new backorder. */
  recomputeEta: `WITH product AS (
      SELECT "products"."lead_time_days", "products"."backordered" FROM "products" WHERE "products"."id" = $1
    ), supply AS (
      SELECT "restocks"."expected_at", sum("restocks"."quantity" - "restocks"."received_quantity") OVER (ORDER BY "restocks"."expected_at", "restocks"."id") AS cum
      FROM "restocks"
      WHERE "restocks"."product_id" = $2 AND "restocks"."status" IN ($3, $4) AND "restocks"."received_quantity" < "restocks"."quantity"
    ), tail AS (
      SELECT "backorders"."id", "backorders"."order_id", "backorders"."priority", "backorders"."remaining", "backorders"."created_at",
             "backorders"."promised_at", "backorders"."delayed"
      FROM "backorders"
      WHERE "backorders"."product_id" = $5 AND "backorders"."status" = 'WAITING'
        AND ("backorders"."priority" < $6::int OR ("backorders"."priority" = $7::int AND "backorders"."id" >= $8::int))
    ), queue AS (
      SELECT t.*, (SELECT backordered FROM product) - (SELECT coalesce(sum(remaining), 0) FROM tail) + sum(remaining) OVER (ORDER BY priority DESC, id) AS cum
      FROM tail t
    ), dated AS (
      SELECT kind, id, min(expected_at) OVER (ORDER BY cum DESC, kind ROWS UNBOUNDED PRECEDING) AS eta
      FROM (SELECT 0 AS kind, NULL::int AS id, cum, expected_at FROM supply UNION ALL SELECT 1, id, cum, NULL::timestamptz FROM queue) merged
    ), fresh AS (
      SELECT q.id, q.delayed AS was_late, CASE WHEN q.id = ANY($9::int[]) THEN e.at ELSE q.promised_at END AS promised_at, e.at, e.source
      FROM queue q JOIN dated d ON d.kind = 1 AND d.id = q.id CROSS JOIN product p
      CROSS JOIN LATERAL (SELECT
        CASE WHEN d.eta IS NOT NULL THEN d.eta WHEN p.lead_time_days IS NOT NULL THEN q.created_at + p.lead_time_days * interval '1 day' END AS at,
        CASE WHEN d.eta IS NOT NULL THEN 'RESTOCK' WHEN p.lead_time_days IS NOT NULL THEN 'LEAD_TIME' ELSE 'UNKNOWN' END AS source) e
    ), judged AS (
      SELECT f.*, (f.promised_at IS NOT NULL AND (f.at IS NULL OR f.at > f.promised_at OR f.promised_at < now())) AS late FROM fresh f
    )
    UPDATE "backorders" "b" SET "expected_at" = j.at, "eta_source" = j.source, "promised_at" = j.promised_at, "delayed" = j.late
    FROM judged j
    WHERE "b"."id" = j.id
      AND ("b"."expected_at" IS DISTINCT FROM j.at OR "b"."eta_source" <> j.source OR "b"."promised_at" IS DISTINCT FROM j.promised_at OR "b"."delayed" <> j.late)
    RETURNING "b"."order_id", (j.late AND NOT j.was_late) AS newly_late`,

  /** event.service `recordProductChanges` with the order's PLACED event riding along: the version bump and the events. */
  recordProductChanges: `WITH order_events AS (
      INSERT INTO "events" ("type", "order_id", "payload")
      SELECT 'ORDER_CHANGED', "orders"."id", jsonb_build_object('kind', $1::text, 'customer', "orders"."customer", 'status', "orders"."status")
      FROM "orders" WHERE "orders"."id" = ANY($2::int[]) ORDER BY "orders"."id" RETURNING "events"."id"
    ), bumped AS (
      UPDATE "products" SET "version" = "products"."version" + 1, "updated_at" = now() WHERE "products"."id" = ANY($3::int[])
      RETURNING "products"."id", "products"."version", "products"."backordered", "products"."waiting_orders"
    ), stock AS (
      SELECT "stock_levels"."product_id", sum("stock_levels"."on_hand")::int AS on_hand, sum("stock_levels"."allocated")::int AS allocated,
             sum(greatest(0, "stock_levels"."on_hand" - "stock_levels"."allocated" - "stock_levels"."safety_stock"))::int AS available
      FROM "stock_levels" WHERE "stock_levels"."product_id" = ANY($4::int[]) GROUP BY "stock_levels"."product_id"
    ), supply AS (
      SELECT "restocks"."product_id", sum("restocks"."quantity" - "restocks"."received_quantity")::int AS incoming, min("restocks"."expected_at") AS next_at
      FROM "restocks" WHERE "restocks"."status" IN ($5, $6) AND "restocks"."product_id" = ANY($7::int[]) GROUP BY "restocks"."product_id"
    ), snapshot AS (
      SELECT b.id, b.version, b.backordered, b.waiting_orders, coalesce(s.on_hand, 0) AS on_hand, coalesce(s.allocated, 0) AS allocated,
             coalesce(s.available, 0) AS available, coalesce(r.incoming, 0) AS incoming, r.next_at,
             (SELECT "q"."expected_at" FROM "backorders" "q" WHERE "q"."product_id" = b.id AND "q"."status" = 'WAITING'
              ORDER BY "q"."priority" DESC, "q"."id" LIMIT 1) AS next_expected_at
      FROM bumped b LEFT JOIN stock s ON s.product_id = b.id LEFT JOIN supply r ON r.product_id = b.id
    )
    INSERT INTO "events" ("type", "product_id", "product_version", "payload")
    SELECT kind, id, version, CASE kind
      WHEN 'STOCK_CHANGED' THEN jsonb_build_object('reason', $8::text, 'stock', jsonb_build_object(
        'onHand', on_hand, 'allocated', allocated, 'available', available, 'backordered', backordered, 'incoming', incoming,
        'projected', available + incoming - backordered,
        'nextRestockAt', to_char(next_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      ELSE jsonb_build_object('reason', $9::text, 'backordered', backordered, 'waitingOrders', waiting_orders,
        'nextExpectedAt', to_char(next_expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      END
    FROM snapshot CROSS JOIN (VALUES ('STOCK_CHANGED'), ('BACKLOG_CHANGED')) AS k(kind)
    ORDER BY id, kind DESC`,

  /** event.service `recordOrderChanges(…, "DELAYED")`: only when the new backorder pushed orders past their promise. */
  recordOrderChanges: `INSERT INTO "events" ("type", "order_id", "payload")
    SELECT 'ORDER_CHANGED', "orders"."id", jsonb_build_object('kind', $1::text, 'customer', "orders"."customer", 'status', "orders"."status")
    FROM "orders" WHERE "orders"."id" = ANY($2::int[]) ORDER BY "orders"."id"`,
} as const;

/** One order of the bench: one line, its product named by SKU. */
export interface RawOrder {
  customer: string;
  sku: string;
  quantity: number;
}

export interface RawPlaced {
  orderId: number;
  /** Units that wait. */
  waiting: number;
}

interface LockedProduct {
  id: number;
  price: string;
  currency_code: string;
  backordered: number;
}

const OPEN = [...OPEN_RESTOCK_STATUSES];

function intArray(ids: readonly number[]): string {
  return `{${ids.join(",")}}`;
}

/** A price as exact cents, the way the engine totals an order. */
function cents(price: string): bigint {
  const [whole, fraction = ""] = price.split(".");
  return BigInt(whole) * 100n + BigInt(`${fraction}00`.slice(0, 2));
}

function formatCents(value: bigint): string {
  return `${value / 100n}.${String(value % 100n).padStart(2, "0")}`;
}

/**
 * Places one order by replaying the engine's statements in one transaction on `sql`, pipelined as
 * the engine pipelines them. Throws when the SKU is unknown (the bench never sends one).
 */
export async function rawPlaceOrder(sql: postgres.Sql, order: RawOrder): Promise<RawPlaced> {
  // A jsonb parameter is passed as the value itself: postgres.js learns the parameter's type
  // when it prepares the statement and serializes the value as JSON.
  const run = <T extends object>(tx: postgres.TransactionSql, text: string, params: postgres.ParameterOrJSON<never>[]) =>
    tx.unsafe<T[]>(text, params, { prepare: true });
  return sql.begin(async (tx) => {
    // planOrder: three statements in one pipeline, issued in this order (Promise.all starts each
    // in turn). The line names its product by SKU, so no ids: $1 is the empty int[].
    const named = [intArray([]), [order.sku]];
    const [[reserved], [product], free] = await Promise.all([
      run<{ id: number }>(tx, PLACE_ORDER_STATEMENTS.reserveOrderId, ["orders"]),
      run<LockedProduct>(tx, PLACE_ORDER_STATEMENTS.lockProducts, named),
      run<{ product_id: number; location_id: number; free: number }>(tx, PLACE_ORDER_STATEMENTS.freeStock, named),
    ]);
    if (!product) throw new Error(`no product with SKU ${order.sku}`);
    const orderId = Number(reserved.id);
    const productId = Number(product.id);

    // Free units by location in allocation order, none while anyone waits; the rest waits (ALLOW).
    let wanted = order.quantity;
    const allocations: { line_number: number; product_id: number; location_id: number; quantity: number }[] = [];
    for (const level of product.backordered > 0 ? [] : free.filter((level) => Number(level.product_id) === productId)) {
      if (wanted === 0) break;
      const take = Math.min(wanted, level.free);
      allocations.push({ line_number: 1, product_id: productId, location_id: Number(level.location_id), quantity: take });
      wanted -= take;
    }
    const line = {
      line_number: 1,
      product_id: productId,
      quantity: order.quantity,
      unit_price: product.price,
      allocated: order.quantity - wanted,
      waiting: wanted,
    };

    // writeOrder.
    const write = () =>
      run<{ id: number; backorder_id: number | null; backorder_product_id: number | null }>(tx, PLACE_ORDER_STATEMENTS.writeOrder, [
        [line],
        orderId,
        order.customer,
        formatCents(cents(product.price) * BigInt(order.quantity)),
        product.currency_code,
        allocations,
      ]);
    const placed = () =>
      run(tx, PLACE_ORDER_STATEMENTS.recordProductChanges, [
        "PLACED",
        intArray([orderId]),
        intArray([productId]),
        intArray([productId]),
        ...OPEN,
        intArray([productId]),
        "ORDER_PLACED",
        "ORDER_PLACED",
      ]);
    if (wanted === 0) {
      // Nothing waits: the events go in the same pipeline as the write.
      await Promise.all([write(), placed()]);
      return { orderId, waiting: 0 };
    }
    const created = await write();
    const delayed = new Set<number>();
    for (const row of created) {
      if (row.backorder_id === null) continue;
      const backorderId = Number(row.backorder_id);
      const dated = await run<{ order_id: number; newly_late: boolean }>(tx, PLACE_ORDER_STATEMENTS.recomputeEta, [
        Number(row.backorder_product_id),
        Number(row.backorder_product_id),
        ...OPEN,
        Number(row.backorder_product_id),
        0,
        0,
        backorderId,
        intArray([backorderId]),
      ]);
      for (const late of dated) if (late.newly_late) delayed.add(Number(late.order_id));
    }
    await placed();
    if (delayed.size > 0) await run(tx, PLACE_ORDER_STATEMENTS.recordOrderChanges, ["DELAYED", intArray([...delayed].sort((a, b) => a - b))]);
    return { orderId, waiting: wanted };
  });
}

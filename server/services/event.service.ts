/**
 * The writing half of the transactional outbox (docs/ARCHITECTURE.md, "Events and live updates"): each change appends its
 * events in its own transaction, so nothing is published that did not commit.
 */
import { sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Executor, schema } from "../../drizzle/db.js";
import { intArray, name, names } from "../../drizzle/sql.js";
import { openRestockCondition } from "./open-restocks.js";
import type { ChangeReason, OrderChangeKind, RestockChangeKind } from "./types.js";

const { backorders, events, orders, products, restocks, stockLevels } = schema;

/**
 * ORDER_CHANGED events for these orders, of one kind. `refunds` names the refund the change
 * created for an order (a cancellation, an expiry): its event carries `refundId`, which the webhook
 * worker turns into REFUND_DUE.
 */
export interface OrderChanges {
  ids: readonly number[];
  kind: OrderChangeKind;
  refunds?: readonly { orderId: number; id: number }[];
}

/**
 * Bumps each product's version under the lock its caller holds and appends a STOCK_CHANGED and a
 * BACKLOG_CHANGED event carrying a snapshot of the product's quantities, all in one statement.
 * The caller must hold the products' row locks, so the versions order each product's events.
 * `orders` adds an ORDER_CHANGED event for each of these orders to the same statement.
 */
export async function recordProductChanges(tx: Executor, productIds: readonly number[], reason: ChangeReason, orders?: OrderChanges) {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) return orders ? recordOrderChanges(tx, orders) : undefined;
  // The orders' events ride along in the same statement: one round trip less under the lock.
  const orderEvents = orders && orders.ids.length > 0 ? sql`order_events AS (${orderChangesInsert(orders)} RETURNING ${events.id}),` : sql``;
  const s = stockLevels;
  const q = alias(backorders, "q");
  await tx.execute(sql`
    WITH ${orderEvents} bumped AS (
      UPDATE ${products} SET ${name(products.version)} = ${products.version} + 1, ${name(products.updatedAt)} = now()
      WHERE ${products.id} = ANY(${intArray(ids)})
      RETURNING ${products.id}, ${products.version}, ${products.backordered}, ${products.waitingOrders}
    ), stock AS (
      SELECT ${s.productId}, sum(${s.onHand})::int AS on_hand, sum(${s.allocated})::int AS allocated,
             sum(greatest(0, ${s.onHand} - ${s.allocated} - ${s.safetyStock}))::int AS available
      FROM ${stockLevels} WHERE ${s.productId} = ANY(${intArray(ids)}) GROUP BY ${s.productId}
    ), supply AS (
      SELECT ${restocks.productId}, sum(${restocks.quantity} - ${restocks.receivedQuantity})::int AS incoming, min(${restocks.expectedAt}) AS next_at
      FROM ${restocks} WHERE ${openRestockCondition(restocks)} AND ${restocks.productId} = ANY(${intArray(ids)}) GROUP BY ${restocks.productId}
    ), snapshot AS (
      SELECT b.id, b.version, b.backordered, b.waiting_orders,
             coalesce(s.on_hand, 0) AS on_hand, coalesce(s.allocated, 0) AS allocated,
             coalesce(s.available, 0) AS available, coalesce(r.incoming, 0) AS incoming, r.next_at,
             (SELECT ${q.expectedAt} FROM ${backorders} ${q} WHERE ${q.productId} = b.id AND ${q.status} = 'WAITING'
              ORDER BY ${q.priority} DESC, ${q.id} LIMIT 1) AS next_expected_at
      FROM bumped b
      LEFT JOIN stock s ON s.product_id = b.id
      LEFT JOIN supply r ON r.product_id = b.id
    )
    INSERT INTO ${events} (${names(events.type, events.productId, events.productVersion, events.payload)})
    SELECT kind, id, version, CASE kind
      WHEN 'STOCK_CHANGED' THEN jsonb_build_object(
        'reason', ${reason}::text,
        'stock', jsonb_build_object(
          'onHand', on_hand, 'allocated', allocated, 'available', available,
          'backordered', backordered, 'incoming', incoming,
          'projected', available + incoming - backordered,
          'nextRestockAt', to_char(next_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      ELSE jsonb_build_object(
        'reason', ${reason}::text, 'backordered', backordered, 'waitingOrders', waiting_orders,
        'nextExpectedAt', to_char(next_expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      END
    FROM snapshot CROSS JOIN (VALUES ('STOCK_CHANGED'), ('BACKLOG_CHANGED')) AS k(kind)
    ORDER BY id, kind DESC
  `);
}

function orderChangesInsert({ ids, kind, refunds = [] }: OrderChanges) {
  const payload = sql`jsonb_build_object('kind', ${kind}::text, 'customer', ${orders.customer}, 'status', ${orders.status})`;
  if (refunds.length === 0) {
    return sql`
    INSERT INTO ${events} (${names(events.type, events.orderId, events.payload)})
    SELECT 'ORDER_CHANGED', ${orders.id}, ${payload}
    FROM ${orders} WHERE ${orders.id} = ANY(${intArray([...new Set(ids)])}) ORDER BY ${orders.id}`;
  }
  return sql`
    INSERT INTO ${events} (${names(events.type, events.orderId, events.payload)})
    SELECT 'ORDER_CHANGED', ${orders.id}, ${payload} || coalesce(jsonb_build_object('refundId', r.refund_id), '{}')
    FROM ${orders} LEFT JOIN unnest(${intArray(refunds.map((r) => r.orderId))}, ${intArray(refunds.map((r) => r.id))}) AS r(order_id, refund_id)
      ON r.order_id = ${orders.id}
    WHERE ${orders.id} = ANY(${intArray([...new Set(ids)])}) ORDER BY ${orders.id}`;
}

/** Appends one ORDER_CHANGED event per order, with the order's current status and customer (and the refund the change created). */
export async function recordOrderChanges(tx: Executor, changes: OrderChanges) {
  if (changes.ids.length === 0) return;
  await tx.execute(orderChangesInsert(changes));
}

/** Appends a RESTOCK_CHANGED event for one restock. */
export async function recordRestockChange(tx: Executor, restock: { id: number; productId: number }, kind: RestockChangeKind, filledUnits = 0) {
  await tx.execute(sql`
    INSERT INTO ${events} (${names(events.type, events.productId, events.restockId, events.payload)})
    VALUES ('RESTOCK_CHANGED', ${restock.productId}, ${restock.id},
            jsonb_build_object('kind', ${kind}::text, 'filledUnits', ${filledUnits}::int))
  `);
}

/** Appends an API_KEY_REVOKED event: each instance's event hub hears it and closes the key's subscriptions. */
export async function recordApiKeyRevoked(tx: Executor, apiKeyId: number) {
  await tx.execute(sql`
    INSERT INTO ${events} (${names(events.type, events.payload)}) VALUES ('API_KEY_REVOKED', jsonb_build_object('apiKeyId', ${apiKeyId}::int))
  `);
}

/**
 * What placing and cancelling orders do to dropship lines (docs/ARCHITECTURE.md, "Dropship"): a
 * line of a DROPSHIP product becomes one supplier order in the placing transaction, and cancelling
 * its units cancels its open supplier order. Below `order.service.ts` and `supplier-order.service.ts`,
 * which both use it (the supplier's acts need the order's locks and cancellation: no import cycle).
 */
import { type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { intArray, name, names } from "../../drizzle/sql.js";
import { refuse, type SupplierOrderChangeKind } from "./types.js";

const { events, orderLines, products, supplierOrders } = schema;

/**
 * The SUPPLIER_ORDER_CHANGED event of each supplier order `ids` selects, as it is now:
 * `{ kind, supplierOrderId, supplierId, orderId, status }`. The supplier is in the payload so the
 * live feed can keep a SUPPLIER key's subscription to its own supplier without a read per event
 * (docs/ARCHITECTURE.md, "Dropship"; a supplier order's supplier never changes).
 */
function changesInsert(ids: SQL, kind: SupplierOrderChangeKind): SQL {
  return sql`
    INSERT INTO ${events} (${names(events.type, events.orderId, events.payload)})
    SELECT 'SUPPLIER_ORDER_CHANGED', c.order_id,
           jsonb_build_object('kind', ${kind}::text, 'supplierOrderId', c.id, 'supplierId', c.supplier_id, 'orderId', c.order_id, 'status', c.status)
      FROM ${ids} c ORDER BY c.id`;
}

/** Appends a SUPPLIER_ORDER_CHANGED event of `kind` for each of these supplier orders, in id order. */
export async function recordSupplierOrderChanges(tx: Executor, ids: readonly number[], kind: SupplierOrderChangeKind): Promise<void> {
  if (ids.length === 0) return;
  const so = supplierOrders;
  await tx.execute(
    changesInsert(sql`(SELECT ${so.id}, ${so.supplierId}, ${so.orderId}, ${so.status} FROM ${so} WHERE ${so.id} = ANY(${intArray([...ids])}))`, kind),
  );
}

/**
 * Opens one supplier order (OPEN, the product's supplier, the line's whole quantity) for each line
 * of order `orderId` whose product is DROPSHIP, with its CREATED event, in one statement. The caller
 * (`writeOrder`) holds the products' locks, so the supplier read is the one the order was planned on.
 */
export async function openSupplierOrders(tx: Executor, orderId: number): Promise<void> {
  const so = supplierOrders;
  const l = alias(orderLines, "l");
  const p = alias(products, "p");
  await tx.execute(sql`
    WITH opened AS (
      INSERT INTO ${so} (${names(so.supplierId, so.orderId, so.orderLineId, so.productId, so.quantity)})
      SELECT ${p.supplierId}, ${l.orderId}, ${l.id}, ${l.productId}, ${l.quantity}
        FROM ${orderLines} ${l} JOIN ${products} ${p} ON ${p.id} = ${l.productId}
       WHERE ${l.orderId} = ${orderId}::int AND ${p.fulfillment} = 'DROPSHIP'
       ORDER BY ${l.lineNumber}
      RETURNING ${so.id}, ${so.supplierId}, ${so.orderId}, ${so.status}
    )
    ${changesInsert(sql`opened`, "CREATED")}`);
}

/**
 * Cancels the open (OPEN or ACKNOWLEDGED) supplier orders of these lines, whose units
 * `cancelUnits` has just cancelled, with their CANCELLED events, in one statement sent right after
 * the cancellation's (same round trip). A supplier order is one order for the line's whole
 * quantity: cancelling only part of an open dropship line is refused (INVALID_INPUT on
 * `quantity`, and the caller's transaction rolls back). Runs after the lines' products and orders
 * are locked, as every act on a supplier order does (docs/ARCHITECTURE.md, "The rules").
 */
export async function cancelOpenSupplierOrders(tx: Executor, lineIds: readonly number[]): Promise<void> {
  if (lineIds.length === 0) return;
  const so = supplierOrders;
  const [result] = await rows<{ partial: number; closed: number }>(
    tx,
    sql`
    WITH closing AS (
      SELECT ${so.id}, ${orderLines.waiting} AS left_waiting
        FROM ${so} JOIN ${orderLines} ON ${orderLines.id} = ${so.orderLineId}
       WHERE ${so.orderLineId} = ANY(${intArray([...lineIds])}) AND ${so.status} IN ('OPEN', 'ACKNOWLEDGED')
         FOR UPDATE OF ${so}
    ), closed AS (
      UPDATE ${so} SET ${name(so.status)} = 'CANCELLED', ${name(so.closedAt)} = now()
        FROM closing c
       WHERE ${so.id} = c.id AND NOT EXISTS (SELECT 1 FROM closing WHERE left_waiting > 0)
      RETURNING ${so.id}, ${so.supplierId}, ${so.orderId}, ${so.status}
    ), logged AS (${changesInsert(sql`closed`, "CANCELLED")})
    SELECT (SELECT count(*) FROM closing WHERE left_waiting > 0)::int AS partial, (SELECT count(*) FROM closed)::int AS closed`,
  );
  if (Number(result.partial) > 0) {
    refuse("INVALID_INPUT", "a dropship line is cancelled whole: its supplier order is one order for all its units", ["quantity"]);
  }
}

/**
 * An order's status, derived from its lines' units (docs/ARCHITECTURE.md, "The rules"): written
 * once, as SQL, and used wherever a status is set or checked (placing, refreshing, the audit).
 */
import { sql, type SQL } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { intArray, name } from "../../drizzle/sql.js";
import type { OrderStatus } from "./types.js";

const { orders, orderLines } = schema;

/** SQL expressions for the sums of an order's line units. */
export interface OrderUnits {
  quantity: SQL;
  cancelled: SQL;
  shipped: SQL;
  waiting: SQL;
}

/**
 * The status an order's units say it has, first match wins: CANCELLED when every unit is
 * cancelled, SHIPPED when every other unit has shipped, PARTIALLY_SHIPPED when some have,
 * AWAITING_STOCK while some wait, else READY_TO_SHIP.
 */
export function orderStatusOf(units: OrderUnits): SQL<OrderStatus> {
  const { quantity, cancelled, shipped, waiting } = units;
  return sql<OrderStatus>`CASE
    WHEN ${cancelled} = ${quantity} THEN 'CANCELLED'
    WHEN ${shipped} = ${quantity} - ${cancelled} THEN 'SHIPPED'
    WHEN ${shipped} > 0 THEN 'PARTIALLY_SHIPPED'
    WHEN ${waiting} > 0 THEN 'AWAITING_STOCK'
    ELSE 'READY_TO_SHIP' END`;
}

/**
 * Sets each order's status from its lines ({@link orderStatusOf}) in one statement and returns
 * how many changed: a count, not the rows, since a fill can change 100,000.
 */
export async function refreshOrderStatuses(tx: Executor, orderIds: readonly number[]): Promise<number> {
  if (orderIds.length === 0) return 0;
  const status = orderStatusOf({
    quantity: sql`sum(${orderLines.quantity})`,
    cancelled: sql`sum(${orderLines.cancelled})`,
    shipped: sql`sum(${orderLines.shipped})`,
    waiting: sql`sum(${orderLines.waiting})`,
  });
  const ids = intArray([...new Set(orderIds)]);
  // Lock the orders first, in a statement of its own. Two transactions changing different lines of
  // one order (a fill of one product, a cancel of another) would otherwise each derive the status
  // from a snapshot without the other's lines, and the last to commit would write a stale status:
  // under READ COMMITTED an UPDATE that waited for a row lock rechecks that row, but not the lines
  // its subquery read. Once the lock is held, the UPDATE's own snapshot sees every committed line.
  await rows(
    tx,
    sql`SELECT count(*) FROM (SELECT ${orders.id} FROM ${orders} WHERE ${orders.id} = ANY(${ids}) ORDER BY ${orders.id} FOR NO KEY UPDATE) locked`,
  );
  const [{ changed }] = await rows<{ changed: number }>(
    tx,
    sql`
    WITH changed AS (
      UPDATE ${orders} SET ${name(orders.status)} = s.status, ${name(orders.updatedAt)} = now()
      FROM (
        SELECT ${orderLines.orderId} AS order_id, ${status} AS status
        FROM ${orderLines} WHERE ${orderLines.orderId} = ANY(${ids}) GROUP BY ${orderLines.orderId}
      ) s
      WHERE ${orders.id} = s.order_id AND ${orders.status} <> s.status
      RETURNING 1
    )
    SELECT count(*)::int AS changed FROM changed
  `,
  );
  return Number(changed);
}

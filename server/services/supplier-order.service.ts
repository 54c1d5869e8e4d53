/**
 * What a supplier does with a dropship line's order (docs/ARCHITECTURE.md, "Dropship"):
 * acknowledge it with a ship date, ship it (the line's units ship), or reject it (the line's units
 * are cancelled and refunded, reason SUPPLIER_REJECTED). Each call is one transaction; shipping and
 * rejecting lock the order's products, then the order, then the supplier order, as cancelling does.
 *
 * `scope` is who acts: a SUPPLIER key passes its supplier, and another supplier's order is
 * NOT_FOUND for it, exactly as an id of nothing, so ids of other suppliers' orders tell it nothing.
 */
import { eq, sql } from "drizzle-orm";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { toRecord } from "../../drizzle/paging.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { recordSupplierOrderChanges } from "./dropship-lines.js";
import { recordProductChanges } from "./event.service.js";
import { type CancelCause, cancelUnits, lockOrder } from "./order.service.js";
import { refreshOrderStatuses } from "./order-status.js";
import type { RecordedRefund } from "./refund.service.js";
import { supplierOrdersByIds, type SupplierOrderView } from "./supplier-order.query.js";
import { refuse, type SupplierOrderRecord, type SupplierOrderStatus } from "./types.js";
import { EXPECTED_AT_TOLERANCE_MS } from "./restock.service.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { orderLines, supplierOrders } = schema;

/** The bounds of what a supplier sends. */
export const SUPPLIER_ORDER_LIMITS = {
  trackingNumber: 200,
  reason: LIMITS.reason,
  /** The latest ship date an acknowledgement may give: two years, twice the longest supplier lead time. */
  shipWithinDays: 730,
} as const;

/** Who acts on a supplier order: a SUPPLIER key's supplier (its own orders only), or anyone else's (null). */
export interface SupplierScope {
  supplierId?: number | null;
}

/** A rejection's cause: the units' refund says the supplier refused them. */
const REJECTED: CancelCause = { refund: "SUPPLIER_REJECTED", change: "ORDER_CANCELLED", kind: "CANCELLED" };

const OPEN: readonly SupplierOrderStatus[] = ["OPEN", "ACKNOWLEDGED"];

/**
 * The supplier order `id`, or NOT_FOUND (field `id`) when there is none or it belongs to another
 * supplier than `scope`'s. Read without a lock: the caller locks what it changes.
 */
async function findSupplierOrder(tx: Executor, id: number, scope: SupplierScope): Promise<SupplierOrderRecord> {
  const [found] = await tx.select().from(supplierOrders).where(eq(supplierOrders.id, id));
  const supplierId = scope.supplierId ?? null;
  if (!found || (supplierId !== null && found.supplierId !== supplierId)) refuse("NOT_FOUND", "supplier order not found", ["id"]);
  return found;
}

/** Locks the supplier order's row (after whatever the caller locked first) and reads it as it is now. */
async function lockSupplierOrder(tx: Executor, id: number): Promise<SupplierOrderRecord> {
  const [locked] = await rows<Record<string, unknown>>(tx, sql`SELECT * FROM ${supplierOrders} WHERE ${supplierOrders.id} = ${id} FOR UPDATE`);
  return toRecord(supplierOrders, locked);
}

/** INVALID_STATE unless the supplier order is OPEN or ACKNOWLEDGED (allowed lists which). */
function requireStatus(order: SupplierOrderRecord, allowed: readonly SupplierOrderStatus[], act: string): void {
  if (!allowed.includes(order.status)) refuse("INVALID_STATE", `supplier order is ${order.status}: it cannot be ${act}`, ["id"]);
}

async function view(tx: Executor, id: number): Promise<SupplierOrderView> {
  const [found] = await supplierOrdersByIds(tx, [id]);
  return found!;
}

/**
 * OPEN → ACKNOWLEDGED with the supplier's ship date, which from then on is the line's expected
 * date. INVALID_INPUT (`expectedShipAt`) for a date past (beyond a minute's clock difference) or
 * more than {@link SUPPLIER_ORDER_LIMITS.shipWithinDays} days ahead; INVALID_STATE once
 * acknowledged (a second acknowledgement, even with a new date: see "Dropship" for why) or closed.
 * Changes neither the order nor its product: it locks only the supplier order's row.
 */
export async function acknowledgeSupplierOrder(db: Database, id: number, expectedShipAt: Date, scope: SupplierScope = {}): Promise<SupplierOrderView> {
  const orderId = requireId(id, ["id"], "supplier order");
  const checks = new Checks();
  const at = checks.date(expectedShipAt, ["expectedShipAt"]);
  if (at && at.getTime() < Date.now() - EXPECTED_AT_TOLERANCE_MS)
    checks.fail(["expectedShipAt"], "expectedShipAt is in the past: a ship date is from now on");
  else if (at && at.getTime() > Date.now() + SUPPLIER_ORDER_LIMITS.shipWithinDays * 86_400_000) {
    checks.fail(["expectedShipAt"], `expectedShipAt is at most ${SUPPLIER_ORDER_LIMITS.shipWithinDays} days from now`);
  }
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    await findSupplierOrder(tx, orderId, scope);
    const current = await lockSupplierOrder(tx, orderId);
    requireStatus(current, ["OPEN"], "acknowledged");
    await tx
      .update(supplierOrders)
      .set({ status: "ACKNOWLEDGED", expectedShipAt: at!, acknowledgedAt: sql`now()` })
      .where(eq(supplierOrders.id, orderId));
    await recordSupplierOrderChanges(tx, [orderId], "ACKNOWLEDGED");
    return view(tx, orderId);
  });
}

/**
 * OPEN or ACKNOWLEDGED → SHIPPED: the supplier has sent the line's units, so its waiting units
 * ship, and its order becomes SHIPPED when nothing else of it is open. INVALID_INPUT for a tracking
 * number over 200 characters; INVALID_STATE once shipped, rejected or cancelled. Writes the
 * product's and order's events (ORDER_SHIPPED, SHIPPED) and the supplier order's (SHIPPED).
 */
export async function shipSupplierOrder(db: Database, id: number, trackingNumber?: string | null, scope: SupplierScope = {}): Promise<SupplierOrderView> {
  const supplierOrderId = requireId(id, ["id"], "supplier order");
  const checks = new Checks();
  const tracking = checks.text(trackingNumber, ["trackingNumber"], SUPPLIER_ORDER_LIMITS.trackingNumber, { optional: true }) ?? null;
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const found = await findSupplierOrder(tx, supplierOrderId, scope);
    await lockOrder(tx, found.orderId, ["id"]);
    const current = await lockSupplierOrder(tx, supplierOrderId);
    requireStatus(current, OPEN, "shipped");
    await tx
      .update(supplierOrders)
      .set({ status: "SHIPPED", trackingNumber: tracking, shippedAt: sql`now()` })
      .where(eq(supplierOrders.id, supplierOrderId));
    // The line's units all wait for this supplier order (audit: supplier-order.matches-line).
    await tx
      .update(orderLines)
      .set({ shipped: sql`${orderLines.shipped} + ${orderLines.waiting}`, waiting: 0 })
      .where(eq(orderLines.id, current.orderLineId));
    await refreshOrderStatuses(tx, [current.orderId]);
    await recordProductChanges(tx, [current.productId], "ORDER_SHIPPED", { ids: [current.orderId], kind: "SHIPPED" });
    await recordSupplierOrderChanges(tx, [supplierOrderId], "SHIPPED");
    return view(tx, supplierOrderId);
  });
}

/** A rejection's supplier order and the refund its cancelled units are owed. */
export interface Rejection {
  supplierOrder: SupplierOrderView;
  refund: RecordedRefund;
}

/**
 * OPEN or ACKNOWLEDGED → REJECTED with the supplier's reason (1 to 500 characters): the line's
 * units are cancelled (`cancelUnits`) and refunded with reason SUPPLIER_REJECTED, the order's
 * status follows, and its CANCELLED event names the refund. INVALID_STATE once shipped, rejected
 * or cancelled.
 */
export async function rejectSupplierOrder(db: Database, id: number, reason: string, scope: SupplierScope = {}): Promise<Rejection> {
  const supplierOrderId = requireId(id, ["id"], "supplier order");
  const checks = new Checks();
  const why = checks.text(reason, ["reason"], SUPPLIER_ORDER_LIMITS.reason);
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const found = await findSupplierOrder(tx, supplierOrderId, scope);
    await lockOrder(tx, found.orderId, ["id"]);
    const current = await lockSupplierOrder(tx, supplierOrderId);
    requireStatus(current, OPEN, "rejected");
    // Closed first, so the cancellation below finds no open supplier order of the line to cancel.
    await tx
      .update(supplierOrders)
      .set({ status: "REJECTED", rejectReason: why!, closedAt: sql`now()` })
      .where(eq(supplierOrders.id, supplierOrderId));
    const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, current.orderLineId));
    const [refund] = await cancelUnits(tx, [{ orderId: current.orderId, lineId: line.id, waiting: line.waiting, allocated: 0 }], REJECTED);
    await recordSupplierOrderChanges(tx, [supplierOrderId], "REJECTED");
    return { supplierOrder: await view(tx, supplierOrderId), refund };
  });
}

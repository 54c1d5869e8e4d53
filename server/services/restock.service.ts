/** Restocks: supply on its way, which dates the backlog, and its receipt, which fills it. */
import { eq, sql } from "drizzle-orm";
import { type Database, type Executor, schema } from "../../drizzle/db.js";
import { settleBacklog } from "./backlog.service.js";
import { recomputeEta } from "./eta.service.js";
import { recordProductChanges, recordRestockChange } from "./event.service.js";
import { ensureStockLevels, resolveLocation } from "./location.service.js";
import { isOpenRestock } from "./open-restocks.js";
import { lockProduct } from "./product.service.js";
import { refuseBeyondUnitCapacity, refuseDropshipStock } from "./stock.service.js";
import { name, names } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { type ReceiveRestockResult, refuse, type RestockRecord, type ScheduleRestockInput } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { restocks, stockLevels, stockMovements } = schema;

/**
 * How far in the past an expected date may lie and still be taken as "now": the caller's clock
 * and ours differ a little. Anything earlier would promise new customers a date that has gone and
 * make them late from their first second.
 */
export const EXPECTED_AT_TOLERANCE_MS = 60_000;

/** A valid expected date that has not passed (within {@link EXPECTED_AT_TOLERANCE_MS}); an INVALID_INPUT issue in `checks` otherwise. */
export function checkExpectedAt(checks: Checks, value: unknown, field: string[]): Date | undefined {
  const expectedAt = checks.date(value, field);
  if (expectedAt && expectedAt.getTime() < Date.now() - EXPECTED_AT_TOLERANCE_MS) {
    return void checks.fail(field, `${field.at(-1)} is in the past: a restock is expected from now on`);
  }
  return expectedAt;
}

/** Schedules a restock and re-dates the product's backlog against it. INVALID_INPUT for an `expectedAt` in the past. */
export async function scheduleRestock(db: Database, input: ScheduleRestockInput): Promise<RestockRecord> {
  const checks = new Checks(["input"]);
  const quantity = checks.int(input.quantity, ["quantity"], 1, LIMITS.quantity);
  const expectedAt = checkExpectedAt(checks, input.expectedAt, ["expectedAt"]);
  const reference = checks.text(input.reference, ["reference"], LIMITS.reference, { optional: true });
  checks.throwIfAny();
  return inTransaction(db, (tx) =>
    scheduleRestockIn(tx, { productId: input.productId, locationId: input.locationId, quantity: quantity!, expectedAt: expectedAt!, reference }),
  );
}

/**
 * {@link scheduleRestock}'s work inside the caller's transaction, on an input whose fields passed
 * its checks: locks the product (NOT_FOUND), refuses units past its capacity (INVALID_INPUT) and an
 * unknown location (NOT_FOUND), inserts the restock, re-dates the backlog and appends the events.
 * The restock simulation (restock-simulation.service.ts) runs it in a transaction it rolls back.
 */
export async function scheduleRestockIn(tx: Executor, input: ScheduleRestockInput): Promise<RestockRecord> {
  const product = await lockProduct(tx, input.productId, ["input", "productId"]);
  refuseDropshipStock(product, ["input", "productId"]);
  await refuseBeyondUnitCapacity(tx, product.id, input.quantity, ["input", "quantity"]);
  const location = await resolveLocation(tx, input.locationId, ["input", "locationId"]);
  await ensureStockLevels(tx, [product.id], location.id);
  // The product's supplier now, and the date announced now: the supplier's lateness is measured
  // against this date however often the restock is rescheduled ("Suppliers and honest ranges").
  const [restock] = await tx
    .insert(restocks)
    .values({
      productId: product.id,
      locationId: location.id,
      quantity: input.quantity,
      expectedAt: input.expectedAt,
      reference: input.reference,
      supplierId: product.supplierId,
      originalExpectedAt: input.expectedAt,
    })
    .returning();
  await recomputeEta(tx, product.id);
  await recordProductChanges(tx, [product.id], "RESTOCK_SCHEDULED");
  await recordRestockChange(tx, restock, "SCHEDULED");
  return restock;
}

/**
 * Locks a restock for a change: its product first (the order every operation follows), then the
 * restock row. NOT_FOUND for an unknown restock, INVALID_STATE unless it is still open
 * (SCHEDULED or PARTIALLY_RECEIVED).
 */
async function lockOpenRestock(tx: Executor, id: number): Promise<RestockRecord> {
  const restockId = requireId(id, ["id"], "restock");
  const [found] = await tx.select({ productId: restocks.productId }).from(restocks).where(eq(restocks.id, restockId));
  if (!found) refuse("NOT_FOUND", "restock not found", ["id"]);
  await lockProduct(tx, found.productId, ["id"]);
  const [restock] = await tx.select().from(restocks).where(eq(restocks.id, restockId)).for("update");
  if (!isOpenRestock(restock.status)) refuse("INVALID_STATE", `restock is ${restock.status}: nothing more is expected from it`, ["id"]);
  return restock;
}

/**
 * Moves an open restock's expected date; backorders it was to serve may become late (DELAYED
 * events). INVALID_INPUT for a date in the past.
 */
export async function rescheduleRestock(db: Database, id: number, expectedAt: Date): Promise<RestockRecord> {
  const checks = new Checks();
  const when = checkExpectedAt(checks, expectedAt, ["expectedAt"]);
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const restock = await lockOpenRestock(tx, id);
    const [updated] = await tx.update(restocks).set({ expectedAt: when! }).where(eq(restocks.id, restock.id)).returning();
    await recomputeEta(tx, restock.productId);
    await recordProductChanges(tx, [restock.productId], "RESTOCK_RESCHEDULED");
    await recordRestockChange(tx, updated, "RESCHEDULED");
    return updated;
  });
}

/**
 * Receives `quantity` units of a restock (all that are outstanding when omitted): onHand grows at
 * its location, the backlog is filled FIFO in one statement, and what still waits is re-dated.
 * The restock is PARTIALLY_RECEIVED until every unit has arrived, then RECEIVED; its event's kind
 * is RECEIVED for every receipt. `fills` says what this receipt gave each backorder.
 */
export async function receiveRestock(db: Database, id: number, quantity?: number | null): Promise<ReceiveRestockResult> {
  const checks = new Checks();
  if (quantity !== undefined && quantity !== null) checks.int(quantity, ["quantity"], 1, LIMITS.quantity);
  checks.throwIfAny();
  return inTransaction(db, (tx) => receiveRestockIn(tx, id, quantity));
}

/**
 * {@link receiveRestock}'s work inside the caller's transaction, for a `quantity` that passed its
 * checks (or none: every outstanding unit). NOT_FOUND, INVALID_STATE and INVALID_INPUT as there.
 * The restock simulation (restock-simulation.service.ts) runs it in a transaction it rolls back.
 */
export async function receiveRestockIn(tx: Executor, id: number, quantity?: number | null): Promise<ReceiveRestockResult> {
  const restock = await lockOpenRestock(tx, id);
  const outstanding = restock.quantity - restock.receivedQuantity;
  const units = quantity ?? outstanding;
  if (units > outstanding) refuse("INVALID_INPUT", `only ${outstanding} units of this restock are outstanding`, ["quantity"]);
  await tx.execute(sql`
    WITH moved AS (
      INSERT INTO ${stockMovements} (${names(stockMovements.productId, stockMovements.locationId, stockMovements.delta, stockMovements.kind, stockMovements.restockId)})
      VALUES (${restock.productId}, ${restock.locationId}, ${units}, 'RESTOCK', ${restock.id})
    )
    UPDATE ${stockLevels} SET ${name(stockLevels.onHand)} = ${stockLevels.onHand} + ${units}, ${name(stockLevels.updatedAt)} = now()
    WHERE ${stockLevels.productId} = ${restock.productId} AND ${stockLevels.locationId} = ${restock.locationId}`);
  const complete = units === outstanding;
  const [updated] = await tx
    .update(restocks)
    .set({
      receivedQuantity: restock.receivedQuantity + units,
      receivedAt: new Date(),
      status: complete ? "RECEIVED" : "PARTIALLY_RECEIVED",
    })
    .where(eq(restocks.id, restock.id))
    .returning();
  // The filled backorders' rows come from the fill statements themselves: a receipt of 100,000
  // units would otherwise read 100,000 rows back that it has just written.
  const fill = await settleBacklog(tx, restock.productId, { records: true });
  // Fewer units incoming and fewer waiting shift the running totals: re-date even without a fill.
  if (fill.units === 0) await recomputeEta(tx, restock.productId);
  await recordProductChanges(tx, [restock.productId], "RESTOCK_RECEIVED");
  await recordRestockChange(tx, updated, "RECEIVED", fill.units);
  const filledBackorders = fill.backorders!;
  const fills = filledBackorders.map((backorder, i) => ({ backorder, filledUnits: fill.filledUnits[i] }));
  return { restock: updated, filledBackorders, fills };
}

/**
 * Cancels an open restock: its outstanding units will not come (units already received stay on
 * hand). Backorders it was to serve may become late (DELAYED events).
 */
export async function cancelRestock(db: Database, id: number): Promise<RestockRecord> {
  return inTransaction(db, async (tx) => {
    const restock = await lockOpenRestock(tx, id);
    const [updated] = await tx.update(restocks).set({ status: "CANCELLED" }).where(eq(restocks.id, restock.id)).returning();
    await recomputeEta(tx, restock.productId);
    await recordProductChanges(tx, [restock.productId], "RESTOCK_CANCELLED");
    await recordRestockChange(tx, updated, "CANCELLED");
    return updated;
  });
}

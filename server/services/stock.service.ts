/** Stock counts: corrections of what is on the shelf, recorded in the ledger. */
import { and, eq, sql } from "drizzle-orm";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { settleBacklog } from "./backlog.service.js";
import { recordProductChanges } from "./event.service.js";
import { ensureStockLevels, resolveLocation } from "./location.service.js";
import { openRestockCondition } from "./open-restocks.js";
import { lockProduct } from "./product.service.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { type AdjustStockInput, type ProductRecord, refuse, type StockLevelRecord } from "./types.js";
import { Checks, LIMITS } from "./validation.js";

const { restocks, stockLevels, stockMovements } = schema;

/**
 * Refuses with INVALID_INPUT when `units` more on hand or on their way would take a product's
 * units on hand plus incoming past {@link LIMITS.units}. Those are summed (and the product's
 * projection added up) in int4, so this one cap keeps every such sum and every stock level in
 * range. A receipt moves units from incoming to on hand and needs no check. Call it under the
 * product's lock.
 */
export async function refuseBeyondUnitCapacity(tx: Executor, productId: number, units: number, field: string[]): Promise<void> {
  const [held] = await rows<{ units: string | number }>(
    tx,
    sql`
    SELECT coalesce((SELECT sum(${stockLevels.onHand}) FROM ${stockLevels} WHERE ${stockLevels.productId} = ${productId}), 0)
         + coalesce((SELECT sum(${restocks.quantity} - ${restocks.receivedQuantity}) FROM ${restocks}
                     WHERE ${restocks.productId} = ${productId} AND ${openRestockCondition(restocks)}), 0) AS units`,
  );
  const room = LIMITS.units - Number(held.units);
  if (units > room) {
    refuse("INVALID_INPUT", `a product holds at most ${LIMITS.units} units on hand and incoming: ${Math.max(0, room)} more fit`, field);
  }
}

/** INVALID_STATE for a DROPSHIP product: its supplier ships it, it has no stock of ours to count or restock ("Dropship"). */
export function refuseDropshipStock(product: ProductRecord, field: string[]): void {
  if (product.fulfillment === "DROPSHIP") refuse("INVALID_STATE", `${product.sku} is DROPSHIP: it has no stock of ours`, field);
}

/**
 * Corrects onHand at a location by `delta` (a count found more or fewer units) and optionally
 * sets its safety stock. Units that come free go to the backlog at once. INSUFFICIENT_STOCK when
 * onHand would fall below what is allocated; INVALID_INPUT past {@link refuseBeyondUnitCapacity}.
 */
export async function adjustStock(db: Database, input: AdjustStockInput): Promise<StockLevelRecord> {
  const checks = new Checks(["input"]);
  const delta = checks.int(input.delta, ["delta"], -LIMITS.quantity, LIMITS.quantity);
  const reason = checks.text(input.reason, ["reason"], LIMITS.reason);
  const safetyStock =
    input.safetyStock === undefined || input.safetyStock === null ? undefined : checks.int(input.safetyStock, ["safetyStock"], 0, LIMITS.quantity);
  if (delta === 0 && safetyStock === undefined) checks.fail(["delta"], "delta must not be 0");
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const product = await lockProduct(tx, input.productId, ["input", "productId"]);
    refuseDropshipStock(product, ["input", "productId"]);
    const location = await resolveLocation(tx, input.locationId, ["input", "locationId"]);
    await ensureStockLevels(tx, [product.id], location.id);
    const where = and(eq(stockLevels.productId, product.id), eq(stockLevels.locationId, location.id));
    const [level] = await tx.select().from(stockLevels).where(where);
    if (level.onHand + delta! < level.allocated) {
      refuse(
        "INSUFFICIENT_STOCK",
        `${product.sku} at ${location.code}: ${level.allocated} units are allocated, onHand cannot fall to ${level.onHand + delta!}`,
        ["input", "delta"],
      );
    }
    if (delta! > 0) await refuseBeyondUnitCapacity(tx, product.id, delta!, ["input", "delta"]);
    if (delta !== 0) {
      await tx.insert(stockMovements).values({ productId: product.id, locationId: location.id, delta: delta!, kind: "ADJUSTMENT", reason });
    }
    await tx
      .update(stockLevels)
      .set({ onHand: sql`${stockLevels.onHand} + ${delta}`, safetyStock: safetyStock ?? level.safetyStock, updatedAt: new Date() })
      .where(where);
    await settleBacklog(tx, product.id);
    await recordProductChanges(tx, [product.id], "STOCK_ADJUSTED");
    const [updated] = await tx.select().from(stockLevels).where(where);
    return updated;
  });
}

/** The catalogue: products, their backorder policy and limits. */
import { eq, sql } from "drizzle-orm";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { recomputeEta } from "./eta.service.js";
import { recordProductChanges } from "./event.service.js";
import { requireSupplier } from "./supplier.service.js";
import { ensureStockLevels, getDefaultLocation } from "./location.service.js";
import { intArray, name, names } from "../../drizzle/sql.js";
import { inTransaction, sqlState } from "../../drizzle/transaction.js";
import { type CreateProductInput, type ProductRecord, refuse, type UpdateProductInput } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";
import { openRestockCondition } from "./open-restocks.js";
import { FULFILLMENTS } from "../../drizzle/contract.js";

const { products, restocks, stockLevels, stockMovements } = schema;

/**
 * Locks the products' rows in id order and returns them in that order. Every operation that
 * changes a product's stock, backlog or restocks takes this lock first: it is the product's mutex,
 * and the fixed order means two operations on the same products cannot deadlock.
 */
export async function lockProducts(tx: Executor, ids: readonly number[]): Promise<ProductRecord[]> {
  if (ids.length === 0) return [];
  return tx
    .select()
    .from(products)
    .where(sql`${products.id} = ANY(${intArray([...new Set(ids)])})`)
    .orderBy(products.id)
    .for("update");
}

/** Locks one product, refusing with NOT_FOUND when it does not exist. */
export async function lockProduct(tx: Executor, id: unknown, field: string[]): Promise<ProductRecord> {
  const [product] = await lockProducts(tx, [requireId(id, field, "product")]);
  if (!product) refuse("NOT_FOUND", "product not found", field);
  return product;
}

function checkProductFields(checks: Checks, input: UpdateProductInput, creating: boolean) {
  const has = (key: keyof UpdateProductInput) => creating || input[key] !== undefined;
  const optionalInt = (key: "backorderLimit" | "maxOrderQuantity" | "leadTimeDays" | "maxWaitDays" | "autoCancelAfterDays", min: number, max: number) =>
    input[key] === null || input[key] === undefined ? input[key] : checks.int(input[key], [key], min, max);
  const values: Partial<typeof products.$inferInsert> = {};
  if (has("sku")) values.sku = checks.text(input.sku, ["sku"], LIMITS.sku);
  if (has("name")) values.name = checks.text(input.name, ["name"], LIMITS.name);
  if (has("price")) values.price = checks.money(input.price, ["price"]);
  if (input.currencyCode !== undefined) {
    const code = checks.text(input.currencyCode, ["currencyCode"], LIMITS.currencyCode);
    if (code && !/^[A-Z]{3}$/.test(code)) checks.fail(["currencyCode"], "currencyCode must be an ISO 4217 code like USD");
    values.currencyCode = code;
  }
  if (input.backorderPolicy !== undefined) {
    if (input.backorderPolicy !== "ALLOW" && input.backorderPolicy !== "DENY") {
      checks.fail(["backorderPolicy"], "backorderPolicy must be ALLOW or DENY");
    }
    values.backorderPolicy = input.backorderPolicy;
  }
  if (input.backorderLimit !== undefined) values.backorderLimit = optionalInt("backorderLimit", 0, LIMITS.quantity * 100);
  if (input.minOrderQuantity !== undefined) {
    values.minOrderQuantity = checks.int(input.minOrderQuantity, ["minOrderQuantity"], 1, LIMITS.quantity);
  }
  if (input.maxOrderQuantity !== undefined) values.maxOrderQuantity = optionalInt("maxOrderQuantity", 1, LIMITS.quantity);
  if (input.leadTimeDays !== undefined) values.leadTimeDays = optionalInt("leadTimeDays", 0, LIMITS.leadTimeDays);
  if (input.maxWaitDays !== undefined) values.maxWaitDays = optionalInt("maxWaitDays", 0, LIMITS.leadTimeDays);
  // At least a day: 0 would expire a backorder the moment its promise passes, or at placement.
  if (input.autoCancelAfterDays !== undefined) values.autoCancelAfterDays = optionalInt("autoCancelAfterDays", 1, LIMITS.leadTimeDays);
  // Checked against the suppliers inside the transaction (checkSupplier): NOT_FOUND, as for any id.
  if (input.supplierId !== undefined) values.supplierId = input.supplierId;
  if (input.fulfillment !== undefined) {
    if (!(FULFILLMENTS as readonly unknown[]).includes(input.fulfillment))
      checks.fail(["fulfillment"], `fulfillment must be ${FULFILLMENTS.join(" or ")}`);
    values.fulfillment = input.fulfillment;
  }
  return values;
}

/** A DROPSHIP product is shipped by its supplier: it needs one (INVALID_INPUT on `supplierId`, before the table's check says so). */
function checkDropshipSupplier(checks: Checks, fulfillment: string | undefined, supplierId: number | null | undefined): void {
  if (fulfillment === "DROPSHIP" && (supplierId === null || supplierId === undefined)) {
    checks.fail(["supplierId"], "a DROPSHIP product needs its supplier: the supplier ships its orders");
  }
}

/**
 * A product becoming DROPSHIP must have nothing of ours (docs/ARCHITECTURE.md, "Dropship"): no
 * units at any location, no waiting backorders, no open restocks. INVALID_STATE on `fulfillment`.
 */
async function refuseDropshipWithStock(tx: Executor, product: ProductRecord): Promise<void> {
  const [held] = await rows<{ units: number; restocks: number }>(
    tx,
    sql`
    SELECT (SELECT coalesce(sum(${stockLevels.onHand} + ${stockLevels.allocated}), 0) FROM ${stockLevels} WHERE ${stockLevels.productId} = ${product.id})::int AS units,
           (SELECT count(*) FROM ${restocks} WHERE ${restocks.productId} = ${product.id} AND ${openRestockCondition(restocks)})::int AS restocks`,
  );
  const units = Number(held.units);
  const open = Number(held.restocks);
  if (units > 0 || product.backordered > 0 || open > 0) {
    refuse(
      "INVALID_STATE",
      `${product.sku} has ${units} units in stock, ${product.backordered} waiting and ${open} open restocks: a DROPSHIP product has no stock of ours`,
      ["input", "fulfillment"],
    );
  }
}

function checkMinMax(checks: Checks, min: number | undefined, max: number | null | undefined) {
  if (min !== undefined && max !== undefined && max !== null && max < min) {
    checks.fail(["maxOrderQuantity"], "maxOrderQuantity must not be below minOrderQuantity");
  }
}

/** A supplier id given (null clears it, undefined leaves it) must name a supplier: NOT_FOUND on `input.supplierId`. */
async function checkSupplier(tx: Executor, supplierId: number | null | undefined): Promise<void> {
  if (supplierId !== undefined && supplierId !== null) await requireSupplier(tx, supplierId, ["input", "supplierId"]);
}

/** Creates a product, with `initialStock` units at the default location; DUPLICATE for a taken SKU. */
export async function createProduct(db: Database, input: CreateProductInput): Promise<ProductRecord> {
  const checks = new Checks(["input"]);
  const values = checkProductFields(checks, input, true);
  const initialStock =
    input.initialStock === undefined || input.initialStock === null ? 0 : checks.int(input.initialStock, ["initialStock"], 0, LIMITS.quantity);
  checkMinMax(checks, values.minOrderQuantity ?? 1, values.maxOrderQuantity);
  checkDropshipSupplier(checks, values.fulfillment, values.supplierId);
  if (values.fulfillment === "DROPSHIP" && initialStock! > 0)
    checks.fail(["initialStock"], "a DROPSHIP product has no stock of ours: initialStock must be 0");
  checks.throwIfAny();
  try {
    return await inTransaction(db, async (tx) => {
      const location = await getDefaultLocation(tx);
      await checkSupplier(tx, values.supplierId);
      const [product] = await tx
        .insert(products)
        .values(values as typeof products.$inferInsert)
        .returning();
      await ensureStockLevels(tx, [product.id], location.id);
      if (initialStock! > 0) {
        await tx.execute(sql`
          WITH moved AS (
            INSERT INTO ${stockMovements} (${names(stockMovements.productId, stockMovements.locationId, stockMovements.delta, stockMovements.kind, stockMovements.reason)})
            VALUES (${product.id}, ${location.id}, ${initialStock}, 'INITIAL', 'initial stock')
          )
          UPDATE ${stockLevels} SET ${name(stockLevels.onHand)} = ${stockLevels.onHand} + ${initialStock}, ${name(stockLevels.updatedAt)} = now()
          WHERE ${stockLevels.productId} = ${product.id} AND ${stockLevels.locationId} = ${location.id}
        `);
      }
      await recordProductChanges(tx, [product.id], "PRODUCT_CREATED");
      return { ...product, version: product.version + 1 };
    });
  } catch (error) {
    if (sqlState(error) === "23505") refuse("DUPLICATE", `a product with SKU ${values.sku} exists`, ["input", "sku"]);
    throw error;
  }
}

/**
 * Changes a product's catalogue fields and policy. Backorders already waiting keep their place
 * when the policy or limit tightens; only new orders are held to the new rules. A new lead time
 * re-dates the backlog.
 */
export async function updateProduct(db: Database, id: number, input: UpdateProductInput): Promise<ProductRecord> {
  const checks = new Checks(["input"]);
  const values = checkProductFields(checks, input, false);
  checks.throwIfAny();
  try {
    return await inTransaction(db, async (tx) => {
      const current = await lockProduct(tx, id, ["id"]);
      const after = new Checks(["input"]);
      checkMinMax(
        after,
        values.minOrderQuantity ?? current.minOrderQuantity,
        values.maxOrderQuantity === undefined ? current.maxOrderQuantity : values.maxOrderQuantity,
      );
      checkDropshipSupplier(after, values.fulfillment ?? current.fulfillment, values.supplierId === undefined ? current.supplierId : values.supplierId);
      after.throwIfAny();
      await checkSupplier(tx, values.supplierId);
      if (values.fulfillment === "DROPSHIP" && current.fulfillment !== "DROPSHIP") await refuseDropshipWithStock(tx, current);
      if (Object.keys(values).length > 0) {
        await tx.update(products).set(values).where(eq(products.id, current.id));
      }
      if (values.leadTimeDays !== undefined && values.leadTimeDays !== current.leadTimeDays) {
        await recomputeEta(tx, current.id);
      }
      await recordProductChanges(tx, [current.id], "PRODUCT_UPDATED");
      const [updated] = await tx.select().from(products).where(eq(products.id, current.id));
      return updated;
    });
  } catch (error) {
    if (sqlState(error) === "23505") refuse("DUPLICATE", `a product with SKU ${values.sku} exists`, ["input", "sku"]);
    throw error;
  }
}

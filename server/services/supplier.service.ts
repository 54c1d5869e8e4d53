/** Suppliers (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): who makes or ships a product, and its lead time. */
import { eq } from "drizzle-orm";
import { type Database, type Executor, schema } from "../../drizzle/db.js";
import { inTransaction, sqlState } from "../../drizzle/transaction.js";
import { refuse, type SupplierRecord } from "./types.js";
import { Checks, LIMITS } from "./validation.js";

const { suppliers } = schema;

/** The bounds of a supplier's fields. */
export const SUPPLIER_LIMITS = {
  name: LIMITS.name,
  /** A year: a supplier slower than that is not one a shop takes backorders for. */
  leadTimeDays: 365,
} as const;

export interface CreateSupplierInput {
  name: string;
  /** Days from order to delivery; null: not known. */
  leadTimeDays?: number | null;
}

/**
 * Creates a supplier. INVALID_INPUT for a name empty after trimming or longer than 200
 * characters, or a lead time outside 0..365 days; DUPLICATE for a name taken, ignoring case
 * (the unique index `suppliers_name_key` on lower(name) decides, so two racing creations cannot both win).
 */
export async function createSupplier(db: Database, input: CreateSupplierInput): Promise<SupplierRecord> {
  const checks = new Checks(["input"]);
  const name = checks.text(input.name, ["name"], SUPPLIER_LIMITS.name);
  const leadTimeDays =
    input.leadTimeDays === undefined || input.leadTimeDays === null
      ? null
      : checks.int(input.leadTimeDays, ["leadTimeDays"], 0, SUPPLIER_LIMITS.leadTimeDays);
  checks.throwIfAny();
  try {
    return await inTransaction(db, async (tx) => {
      const [supplier] = await tx.insert(suppliers).values({ name: name!, leadTimeDays }).returning();
      return supplier;
    });
  } catch (error) {
    if (sqlState(error) === "23505") refuse("DUPLICATE", `a supplier named ${name} exists`, ["input", "name"]);
    throw error;
  }
}

/**
 * Refuses a supplier id that names no supplier with NOT_FOUND on `field`. Suppliers are never
 * deleted, so one found here is still there when the product row that names it commits.
 */
export async function requireSupplier(tx: Executor, id: number, field: string[]): Promise<SupplierRecord> {
  const [supplier] = Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647 ? await tx.select().from(suppliers).where(eq(suppliers.id, id)) : [];
  if (!supplier) refuse("NOT_FOUND", "supplier not found", field);
  return supplier;
}

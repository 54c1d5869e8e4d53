/** Stock locations: where units are kept, allocated from in ascending `priority`. */
import { eq, sql } from "drizzle-orm";
import { type Database, type Executor, schema } from "../../drizzle/db.js";
import { intArray, names } from "../../drizzle/sql.js";
import { allocationOrder } from "./location.query.js";
import { inTransaction, sqlState } from "../../drizzle/transaction.js";
import { type CreateLocationInput, type LocationRecord, refuse } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { locations, stockLevels } = schema;

/**
 * Creates a location; DUPLICATE when its code is taken, INVALID_INPUT for a bad field,
 * INVALID_STATE when the shop has {@link LIMITS.locations} already.
 */
export async function createLocation(db: Database, input: CreateLocationInput): Promise<LocationRecord> {
  const checks = new Checks(["input"]);
  const code = checks.text(input.code, ["code"], LIMITS.code);
  const name = checks.text(input.name, ["name"], LIMITS.name);
  const priority =
    input.priority === undefined || input.priority === null ? 0 : checks.int(input.priority, ["priority"], -LIMITS.priority, LIMITS.priority);
  checks.throwIfAny();
  try {
    return await inTransaction(db, async (tx) => {
      // Two creations counting at once could both see room for one: the table lock makes them take turns.
      // It lets readers and stock level inserts (FOR KEY SHARE on a location) through.
      await tx.execute(sql`LOCK TABLE ${locations} IN SHARE ROW EXCLUSIVE MODE`);
      const [{ count }] = await tx.select({ count: sql<number>`count(*)::int` }).from(locations);
      if (count >= LIMITS.locations) refuse("INVALID_STATE", `a shop has at most ${LIMITS.locations} locations`, ["input"]);
      const [row] = await tx.insert(locations).values({ code: code!, name: name!, priority: priority! }).returning();
      return row;
    });
  } catch (error) {
    if (sqlState(error) === "23505") refuse("DUPLICATE", `a location with code ${code} exists`, ["input", "code"]);
    throw error;
  }
}

/**
 * The default location: the one with the lowest priority number. On an empty database one
 * called MAIN is created, so a product can always be stocked without naming a location.
 */
export async function getDefaultLocation(db: Executor): Promise<LocationRecord> {
  const [found] = await db.select().from(locations).orderBy(allocationOrder()).limit(1);
  if (found) return found;
  await db.insert(locations).values({ code: "MAIN", name: "Main warehouse", priority: 0 }).onConflictDoNothing();
  const [created] = await db.select().from(locations).orderBy(allocationOrder()).limit(1);
  return created;
}

/** The location with this id, or the default one when none is given; NOT_FOUND for an unknown id. */
export async function resolveLocation(tx: Executor, id: number | undefined | null, field: string[]) {
  if (id === undefined || id === null) return getDefaultLocation(tx);
  const locationId = requireId(id, field, "location");
  const [row] = await tx.select().from(locations).where(eq(locations.id, locationId));
  if (!row) refuse("NOT_FOUND", "location not found", field);
  return row;
}

/** Makes sure a stock level row exists for each product at the location (zero units). */
export async function ensureStockLevels(tx: Executor, productIds: number[], locationId: number) {
  if (productIds.length === 0) return;
  await tx.execute(sql`
    INSERT INTO ${stockLevels} (${names(stockLevels.productId, stockLevels.locationId)})
    SELECT unnest(${intArray(productIds)}), ${locationId}::int
    ON CONFLICT DO NOTHING
  `);
}

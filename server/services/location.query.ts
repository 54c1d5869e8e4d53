/** Reading locations: by id for the DataLoaders, and the whole list in allocation order. */
import { asc, inArray } from "drizzle-orm";
import { type Executor, schema } from "../../drizzle/db.js";
import type { LocationRecord } from "./types.js";

const { locations } = schema;

/** The locations with these ids, in the ids' order; null where none exists. */
export async function locationsByIds(db: Executor, ids: readonly number[]): Promise<(LocationRecord | null)[]> {
  if (ids.length === 0) return [];
  const found = await db.select().from(locations).where(inArray(locations.id, [...ids]));
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Every location, in allocation order (ascending priority, then id): the first is the default. */
export async function listLocations(db: Executor): Promise<LocationRecord[]> {
  return db.select().from(locations).orderBy(asc(locations.priority), asc(locations.id));
}

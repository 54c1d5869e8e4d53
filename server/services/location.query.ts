/**
 * Reading locations: by id for the DataLoaders, the whole list, and the allocation order that
 * every statement taking or giving back stock follows (written here once).
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import { type Executor, schema } from "../../drizzle/db.js";
import { intArray } from "../../drizzle/sql.js";
import type { LocationRecord } from "./types.js";

const { locations, stockLevels } = schema;

/**
 * The order stock is allocated from locations in: ascending priority, then id (the first is the
 * default location). `release` is the reverse: units given back leave the least preferred first.
 * For `ORDER BY`, in raw SQL or the query builder's `orderBy`.
 */
export function allocationOrder(location: { priority: Column; id: Column } = locations, direction: "allocate" | "release" = "allocate"): SQL {
  const way = direction === "allocate" ? sql`ASC` : sql`DESC`;
  return sql`${location.priority} ${way}, ${location.id} ${way}`;
}

/**
 * A subquery: the free units (onHand - allocated - safetyStock, when positive) of these products
 * at each location, in allocation order, with `free_through`, the running total of free units of
 * the product up to and including the location. The products are ids, or a subquery of ids.
 */
export function freeStock(productIds: readonly number[] | SQL): SQL {
  const s = stockLevels;
  const order = allocationOrder();
  const products = Array.isArray(productIds) ? sql`ANY(${intArray(productIds)})` : sql`ANY(ARRAY(${productIds}))`;
  return sql`
    SELECT ${s.productId} AS product_id, ${s.locationId} AS location_id, free.units::int AS free,
           sum(free.units) OVER w AS free_through
      FROM ${stockLevels} JOIN ${locations} ON ${locations.id} = ${s.locationId}
      CROSS JOIN LATERAL (SELECT ${s.onHand} - ${s.allocated} - ${s.safetyStock} AS units) free
     WHERE ${s.productId} = ${products} AND free.units > 0
    WINDOW w AS (PARTITION BY ${s.productId} ORDER BY ${order})
    ORDER BY ${s.productId}, ${order}`;
}

/** Every location, in allocation order: the first is the default. */
export async function listLocations(db: Executor): Promise<LocationRecord[]> {
  return db.select().from(locations).orderBy(allocationOrder());
}

/**
 * Reading the catalogue: products, their stock summary (docs/ARCHITECTURE.md, "The model and its invariants") and stock levels.
 * Every function takes a whole batch of keys and runs one statement, for the DataLoaders.
 */
import { and, asc, eq, gt, inArray, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { rowsByKeys } from "../../drizzle/lookup.js";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { boundedCount, decodeCursor, lazyCount, type Page, type PageArgs, pageSize, toPage } from "../../drizzle/paging.js";
import { intArray, toDate } from "../../drizzle/sql.js";
import { allocationOrder } from "./location.query.js";
import { openRestockCondition } from "./open-restocks.js";
import type { BackorderPolicy, ProductRecord, StockLevelRecord, StockSnapshot } from "./types.js";

const { products, restocks, stockLevels, locations } = schema;

/** A product's quantities, summed over its locations (docs/ARCHITECTURE.md, "The model and its invariants"): an event's snapshot, with a Date. */
export interface StockSummaryRecord extends Omit<StockSnapshot, "nextRestockAt"> {
  productId: number;
  nextRestockAt: Date | null;
}

/** A stock level with its derived `available`. */
export interface StockLevelView extends StockLevelRecord {
  available: number;
}

export interface ProductFilter {
  skus?: string[] | null;
  /** Case-insensitive substring of the SKU or the name. */
  search?: string | null;
  hasBacklog?: boolean | null;
  backorderPolicy?: BackorderPolicy | null;
}

/** The products with these ids, in the ids' order; null where none exists. */
export const productsByIds = (db: Executor, ids: readonly number[]) => rowsByKeys(db, products, "id", ids);

/**
 * The stock summaries of these products, in the ids' order, in one statement. `available` is
 * summed per level after flooring each at zero; `incoming` and `nextRestockAt` come from the
 * open restocks (SCHEDULED or PARTIALLY_RECEIVED: their outstanding units). Null for an unknown product.
 */
export async function stockSummaries(db: Executor, productIds: readonly number[]): Promise<(StockSummaryRecord | null)[]> {
  if (productIds.length === 0) return [];
  const p = alias(products, "p");
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
      SELECT ${p.id} AS product_id,
             coalesce(s.on_hand, 0)::int AS on_hand,
             coalesce(s.allocated, 0)::int AS allocated,
             coalesce(s.available, 0)::int AS available,
             ${p.backordered}::int AS backordered,
             coalesce(r.incoming, 0)::int AS incoming,
             r.next_restock_at
        FROM ${products} ${p}
        LEFT JOIN (
          SELECT ${stockLevels.productId}, sum(${stockLevels.onHand}) AS on_hand, sum(${stockLevels.allocated}) AS allocated,
                 sum(greatest(0, ${stockLevels.onHand} - ${stockLevels.allocated} - ${stockLevels.safetyStock})) AS available
            FROM ${stockLevels}
           WHERE ${stockLevels.productId} = ANY(${intArray(productIds)})
           GROUP BY ${stockLevels.productId}
        ) s ON s.product_id = ${p.id}
        LEFT JOIN (
          SELECT ${restocks.productId}, sum(${restocks.quantity} - ${restocks.receivedQuantity}) AS incoming, min(${restocks.expectedAt}) AS next_restock_at
            FROM ${restocks}
           WHERE ${openRestockCondition(restocks)} AND ${restocks.productId} = ANY(${intArray(productIds)})
           GROUP BY ${restocks.productId}
        ) r ON r.product_id = ${p.id}
       WHERE ${p.id} = ANY(${intArray(productIds)})`,
  );
  const byId = new Map<number, StockSummaryRecord>();
  for (const row of found) {
    const summary = {
      productId: Number(row.product_id),
      onHand: Number(row.on_hand),
      allocated: Number(row.allocated),
      available: Number(row.available),
      backordered: Number(row.backordered),
      incoming: Number(row.incoming),
      projected: 0,
      nextRestockAt: toDate(row.next_restock_at),
    };
    summary.projected = summary.available + summary.incoming - summary.backordered;
    byId.set(summary.productId, summary);
  }
  return productIds.map((id) => byId.get(id) ?? null);
}

/** Each product's stock levels, in allocation order of their locations; [] for an unknown product. */
export async function stockLevelsByProducts(db: Executor, productIds: readonly number[]): Promise<StockLevelView[][]> {
  if (productIds.length === 0) return [];
  const found = await db
    .select({ level: stockLevels })
    .from(stockLevels)
    .innerJoin(locations, eq(locations.id, stockLevels.locationId))
    .where(inArray(stockLevels.productId, [...productIds]))
    .orderBy(asc(stockLevels.productId), allocationOrder());
  const byProduct = new Map<number, StockLevelView[]>();
  for (const { level } of found) {
    const available = Math.max(0, level.onHand - level.allocated - level.safetyStock);
    const list = byProduct.get(level.productId) ?? [];
    list.push({ ...level, available });
    byProduct.set(level.productId, list);
  }
  return productIds.map((id) => byProduct.get(id) ?? []);
}

/** `%`, `_` and `\` match themselves in a search, not as LIKE wildcards. */
function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function productConditions(filter: ProductFilter | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (!filter) return conditions;
  if (filter.skus) conditions.push(filter.skus.length > 0 ? inArray(products.sku, filter.skus) : sql`false`);
  if (filter.search) {
    const pattern = likePattern(filter.search);
    conditions.push(sql`(${products.sku} ILIKE ${pattern} OR ${products.name} ILIKE ${pattern})`);
  }
  if (filter.hasBacklog === true) conditions.push(gt(products.backordered, 0));
  if (filter.hasBacklog === false) conditions.push(eq(products.backordered, 0));
  if (filter.backorderPolicy) conditions.push(eq(products.backorderPolicy, filter.backorderPolicy));
  return conditions;
}

/** A page of products matching `filter`, in id order. INVALID_INPUT for a bad `first` or cursor. */
export async function listProducts(db: Executor, filter: ProductFilter | null | undefined, page: PageArgs): Promise<Page<ProductRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const conditions = productConditions(filter);
  const keyset = after ? [gt(products.id, after[0] as number)] : [];
  const fetched = await db
    .select()
    .from(products)
    .where(and(...conditions, ...keyset))
    .orderBy(asc(products.id))
    .limit(limit + 1);
  // A catalogue may hold 100,000 products: counted up to the bound (docs/ARCHITECTURE.md, "Counting").
  const count = lazyCount(() =>
    boundedCount(
      db,
      db
        .select({ one: sql`1` })
        .from(products)
        .where(and(...conditions)),
    ),
  );
  return toPage(fetched, limit, (row) => [row.id], count);
}

/** Products for a scenario, created through the engine's own service, a few at a time. */
import type { Database } from "../../drizzle/db.js";
import { createProduct } from "../../server/services/product.service.js";
import type { CreateProductInput } from "../../server/services/types.js";

/** Creates `count` products, `make(i)` describing the i-th; returns their ids in that order. */
export async function createCatalogue(db: Database, count: number, make: (i: number) => CreateProductInput, parallel = 8): Promise<number[]> {
  const ids: number[] = new Array<number>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      for (let i = next++; i < count; i = next++) ids[i] = (await createProduct(db, make(i))).id;
    }),
  );
  return ids;
}

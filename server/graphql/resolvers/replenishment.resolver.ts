/** The replenishment plan (docs/ARCHITECTURE.md, "Replenishment plan"): for those who order stock, OPERATOR and ADMIN. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { Product } from "../../../schema/product.type.js";
import { ReplenishmentConnection, ReplenishmentLine } from "../../../schema/replenishment.type.js";
import { OPERATE } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { decodeId } from "../node-id.js";
import { DEFAULT_WINDOW_DAYS, MAX_PLAN_PRODUCTS, type ReplenishmentLine as PlanLine, replenishmentPlan } from "../../services/replenishment.query.js";
import type { ProductRecord } from "../../services/types.js";
import { badUserInput, checkFirst, readOrBadInput, toConnection } from "./connection.js";

/** The database ids of `productIds`; BAD_USER_INPUT for more than 100 or for one that is not a product's id. */
function productIdsOf(productIds: readonly string[] | null | undefined): number[] | null {
  if (productIds === null || productIds === undefined) return null;
  if (productIds.length > MAX_PLAN_PRODUCTS) throw badUserInput(`productIds may name at most ${MAX_PLAN_PRODUCTS} products`, "productIds");
  return productIds.map((id) => {
    const decoded = decodeId(id, "Product");
    if (decoded === null) throw badUserInput("productIds must hold Product ids", "productIds");
    return decoded;
  });
}

@Resolver(() => ReplenishmentLine)
export class ReplenishmentResolver {
  @FieldResolver(() => Product)
  product(@Root() line: PlanLine, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(line.productId);
  }

  @Authorized(...OPERATE)
  @Query(() => ReplenishmentConnection, {
    description:
      "Per product with something to order: demand over the last windowDays days (1..365), uncovered units, the quantity to order, when it is needed and a backorder limit supply can serve; most urgent first (neededBy, then uncovered units).",
  })
  async replenishmentPlan(
    @Ctx() context: Context,
    @Arg("productIds", () => [ID], { nullable: true, description: "Only these products (at most 100)." }) productIds?: string[] | null,
    @Arg("windowDays", () => Int, { nullable: true, defaultValue: DEFAULT_WINDOW_DAYS }) windowDays?: number | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<PlanLine>> {
    checkFirst(first);
    const ids = productIdsOf(productIds);
    const page = await readOrBadInput(() => replenishmentPlan(context.db, { productIds: ids, windowDays }, { first, after }));
    primeLoaders(context.loaders, { products: page.items.map((line) => line.product) });
    return toConnection(page);
  }
}

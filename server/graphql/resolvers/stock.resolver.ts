/** Stock levels (a product at a location) and adjustStock. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from "type-graphql";
import { Location } from "../../../schema/location.type.js";
import { StockLevelPayload } from "../../../schema/payloads.js";
import { Product, StockLevel } from "../../../schema/product.type.js";
import { AdjustStockInput } from "../../../schema/stock.input.js";
import { OPERATE } from "../auth-checker.js";
import type { Context } from "../context.js";
import { adjustStock } from "../../services/stock.service.js";
import type { LocationRecord, ProductRecord, StockLevelRecord } from "../../services/types.js";
import { mutate, optionalNodeId, requireNodeId } from "./payload.js";

@Resolver(() => StockLevel)
export class StockLevelResolver {
  @FieldResolver(() => Int)
  available(@Root() level: StockLevelRecord): number {
    return Math.max(0, level.onHand - level.allocated - level.safetyStock);
  }

  @FieldResolver(() => Location)
  location(@Root() level: StockLevelRecord, @Ctx() context: Context): Promise<LocationRecord | null> {
    return context.loaders.location.load(level.locationId);
  }

  @FieldResolver(() => Product)
  product(@Root() level: StockLevelRecord, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(level.productId);
  }

  @Authorized(...OPERATE)
  @Mutation(() => StockLevelPayload, { description: "A stock count correction: a rise fills the backlog; a fall below allocated is INSUFFICIENT_STOCK." })
  adjustStock(@Arg("input", () => AdjustStockInput) input: AdjustStockInput, @Ctx() context: Context) {
    return mutate(context, { stockLevel: null as StockLevelRecord | null }, async () => ({
      stockLevel: await adjustStock(context.db, {
        productId: requireNodeId(input.productId, "Product", ["input", "productId"]),
        locationId: optionalNodeId(input.locationId, "Location", ["input", "locationId"]),
        delta: input.delta,
        reason: input.reason,
        safetyStock: input.safetyStock ?? undefined,
      }),
    }));
  }
}

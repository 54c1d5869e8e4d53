/** simulateRestock: what a restock would do to a product's backlog, for those who schedule restocks. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import { Product } from "../../../schema/product.type.js";
import { RestockSimulation, SimulateRestockInput } from "../../../schema/restock-simulation.type.js";
import { OPERATE } from "../auth-checker.js";
import type { Context } from "../context.js";
import { simulateRestock, type RestockSimulation as SimulationRecord } from "../../services/restock-simulation.service.js";
import type { ProductRecord } from "../../services/types.js";
import { readOrBadInput } from "./connection.js";
import { optionalNodeId, requireNodeId } from "./payload.js";

@Resolver(() => RestockSimulation)
export class RestockSimulationResolver {
  @Authorized(...OPERATE)
  @Query(() => RestockSimulation, {
    description:
      "What scheduling this restock (or receiving it now, receiveNow) would do to the product's backlog: fills, new expected dates, delays made or mended. Writes nothing.",
  })
  async simulateRestock(@Arg("input", () => SimulateRestockInput) input: SimulateRestockInput, @Ctx() context: Context) {
    const simulation = await readOrBadInput(() =>
      simulateRestock(context.db, {
        productId: requireNodeId(input.productId, "Product", ["input", "productId"]),
        locationId: optionalNodeId(input.locationId, "Location", ["input", "locationId"]),
        quantity: input.quantity,
        expectedAt: input.expectedAt,
        receiveNow: input.receiveNow,
      }),
    );
    // The backorders as they are: the simulated state was rolled back. One statement for all of them.
    const records = await context.loaders.backorder.loadMany(simulation.affected.map((entry) => entry.backorderId));
    return {
      ...simulation,
      affected: simulation.affected.map((entry, i) => {
        const backorder = records[i];
        if (backorder instanceof Error || !backorder) throw backorder ?? new Error(`backorder ${entry.backorderId} vanished`);
        return { ...entry, backorder };
      }),
    };
  }

  @FieldResolver(() => Product)
  product(@Root() simulation: SimulationRecord, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(simulation.productId);
  }
}

/** Restocks: the list, and schedule, reschedule, receive and cancel. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { RestockFilter } from "../../../schema/filters.input.js";
import { Location } from "../../../schema/location.type.js";
import { ReceiveRestockPayload, RestockPayload } from "../../../schema/payloads.js";
import { Product } from "../../../schema/product.type.js";
import { ScheduleRestockInput } from "../../../schema/restock.input.js";
import { Restock, RestockConnection } from "../../../schema/restock.type.js";
import { DateTimeScalar, isValidDate } from "../../../schema/scalars.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { decodeId, toGlobalId } from "../node-id.js";
import { listRestocks } from "../../services/restock.query.js";
import { cancelRestock, receiveRestock, rescheduleRestock, scheduleRestock } from "../../services/restock.service.js";
import {
  type BackorderRecord,
  DomainError,
  type LocationRecord,
  type ProductRecord,
  type RestockFillRecord,
  type RestockRecord,
} from "../../services/types.js";
import { checkFirst, emptyConnection, readOrBadInput, toConnection } from "./connection.js";
import { mutate, optionalNodeId, requireNodeId } from "./payload.js";

const NO_RESTOCK = { restock: null as RestockRecord | null };

/** A DateTime argument that did not parse is a userError on its field, like any other bad value. */
function requireDate(value: Date, field: string[]): Date {
  if (isValidDate(value)) return value;
  throw new DomainError({
    code: "INVALID_INPUT",
    message: `${field.at(-1)} must be an ISO-8601 date-time with a zone, e.g. 2025-03-01T12:00:00Z`,
    field,
  });
}

@Resolver(() => Restock)
export class RestockResolver {
  @FieldResolver(() => ID)
  id(@Root() restock: RestockRecord): string {
    return toGlobalId("Restock", restock.id);
  }

  @FieldResolver(() => Product)
  product(@Root() restock: RestockRecord, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(restock.productId);
  }

  @FieldResolver(() => Location)
  location(@Root() restock: RestockRecord, @Ctx() context: Context): Promise<LocationRecord | null> {
    return context.loaders.location.load(restock.locationId);
  }

  @Authorized(...READ)
  @Query(() => RestockConnection, { description: "Restocks by expected date." })
  async restocks(
    @Ctx() context: Context,
    @Arg("filter", () => RestockFilter, { nullable: true }) filter?: RestockFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<RestockRecord>> {
    checkFirst(first);
    let productId: number | undefined;
    if (filter?.productId !== undefined && filter?.productId !== null) {
      const decoded = decodeId(filter.productId, "Product");
      if (decoded === null) return emptyConnection();
      productId = decoded;
    }
    const page = await readOrBadInput(() => listRestocks(context.db, { productId, status: filter?.status }, { first, after }));
    primeLoaders(context.loaders, { restocks: page.items });
    return toConnection(page);
  }

  @Authorized(...OPERATE)
  @Mutation(() => RestockPayload, { description: "Expects units of a product at a location on a date (not in the past); re-dates the backlog." })
  scheduleRestock(@Arg("input", () => ScheduleRestockInput) input: ScheduleRestockInput, @Ctx() context: Context) {
    return mutate(context, NO_RESTOCK, async () => ({
      restock: await scheduleRestock(context.db, {
        productId: requireNodeId(input.productId, "Product", ["input", "productId"]),
        locationId: optionalNodeId(input.locationId, "Location", ["input", "locationId"]),
        quantity: input.quantity,
        expectedAt: requireDate(input.expectedAt, ["input", "expectedAt"]),
        reference: input.reference ?? null,
      }),
    }));
  }

  @Authorized(...OPERATE)
  @Mutation(() => RestockPayload, {
    description: "Moves an open restock's date (not into the past); backorders it no longer covers in time become delayed.",
  })
  rescheduleRestock(@Arg("id", () => ID) id: string, @Arg("expectedAt", () => DateTimeScalar) expectedAt: Date, @Ctx() context: Context) {
    return mutate(context, NO_RESTOCK, async () => {
      const restockId = requireNodeId(id, "Restock", ["id"]);
      return { restock: await rescheduleRestock(context.db, restockId, requireDate(expectedAt, ["expectedAt"])) };
    });
  }

  @Authorized(...OPERATE)
  @Mutation(() => ReceiveRestockPayload, {
    description:
      "Receives an open restock (all that is outstanding, or `quantity` units) and fills the backlog first-come, first-served. A partial receipt leaves it PARTIALLY_RECEIVED.",
  })
  receiveRestock(@Arg("id", () => ID) id: string, @Ctx() context: Context, @Arg("quantity", () => Int, { nullable: true }) quantity?: number | null) {
    return mutate(context, { ...NO_RESTOCK, filledBackorders: [] as BackorderRecord[], fills: [] as RestockFillRecord[] }, async () => {
      const result = await receiveRestock(context.db, requireNodeId(id, "Restock", ["id"]), quantity ?? null);
      return { restock: result.restock, filledBackorders: result.filledBackorders, fills: result.fills };
    });
  }

  @Authorized(...OPERATE)
  @Mutation(() => RestockPayload, { description: "Cancels an open restock's outstanding units; the backlog is re-dated without them." })
  cancelRestock(@Arg("id", () => ID) id: string, @Ctx() context: Context) {
    return mutate(context, NO_RESTOCK, async () => ({
      restock: await cancelRestock(context.db, requireNodeId(id, "Restock", ["id"])),
    }));
  }
}

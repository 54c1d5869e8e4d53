/** Locations: their id, the list, and createLocation. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { CreateLocationInput } from "../../../schema/location.input.js";
import { Location } from "../../../schema/location.type.js";
import { LocationPayload } from "../../../schema/payloads.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { toGlobalId } from "../node-id.js";
import { createLocation } from "../../services/location.service.js";
import { listLocations } from "../../services/location.query.js";
import type { LocationRecord } from "../../services/types.js";
import { mutate } from "./payload.js";

@Resolver(() => Location)
export class LocationResolver {
  @FieldResolver(() => ID)
  id(@Root() location: LocationRecord): string {
    return toGlobalId("Location", location.id);
  }

  @Authorized(...READ)
  @Query(() => [Location], { description: "Every location, in allocation order: the first is the default." })
  async locations(@Ctx() context: Context): Promise<LocationRecord[]> {
    const found = await listLocations(context.db);
    for (const location of found) context.loaders.location.prime(location.id, location);
    return found;
  }

  @Authorized(...OPERATE)
  @Mutation(() => LocationPayload)
  createLocation(@Arg("input", () => CreateLocationInput) input: CreateLocationInput, @Ctx() context: Context) {
    return mutate(context, { location: null as LocationRecord | null }, async () => ({
      location: await createLocation(context.db, {
        code: input.code,
        name: input.name,
        priority: input.priority ?? undefined,
      }),
    }));
  }
}

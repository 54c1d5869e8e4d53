/** Expiry of stale backorders on the Backorder type: `expiresAt`, and the `keepWaiting` mutation. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import { Backorder } from "../../../schema/backorder.type.js";
import { BackorderPayload } from "../../../schema/payloads.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { ORDER } from "../auth-checker.js";
import type { Context } from "../context.js";
import { expiresAt } from "../../services/backorder-expiry.js";
import { keepWaiting } from "../../services/expiry.service.js";
import type { BackorderRecord } from "../../services/types.js";
import { mutate, requireNodeId } from "./payload.js";

@Resolver(() => Backorder)
export class BackorderExpiryResolver {
  /**
   * Computed on read from the product's `autoCancelAfterDays`, through the request's product
   * loader: a page of backorders reads its products in one statement, and only for the rows that
   * can expire at all.
   */
  @FieldResolver(() => DateTimeScalar, { nullable: true })
  async expiresAt(@Root() backorder: BackorderRecord, @Ctx() context: Context): Promise<Date | null> {
    if (backorder.status !== "WAITING" || backorder.keepWaiting) return null;
    const product = await context.loaders.product.load(backorder.productId);
    return expiresAt(backorder, product?.autoCancelAfterDays ?? null);
  }

  // Whoever may cancel an order may choose, for its customer, not to have it cancelled by expiry.
  @Authorized(...ORDER)
  @Mutation(() => BackorderPayload, {
    description: "The customer chose to wait past the promise: the expiry sweep leaves this WAITING backorder alone (expiresAt null). Idempotent.",
  })
  keepWaiting(@Arg("id", () => ID) id: string, @Ctx() context: Context) {
    return mutate(context, { backorder: null as BackorderRecord | null }, async () => ({
      backorder: await keepWaiting(context.db, requireNodeId(id, "Backorder", ["id"])),
    }));
  }
}

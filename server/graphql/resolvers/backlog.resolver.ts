/** Backorders: their queue place and dates, the global backlog, prioritizeBackorder. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { Backorder, BackorderConnection } from "../../../schema/backorder.type.js";
import type { ConnectionSource } from "../../../schema/connection.js";
import { BacklogFilter } from "../../../schema/filters.input.js";
import { Order, OrderLine } from "../../../schema/order.type.js";
import { BackorderPayload } from "../../../schema/payloads.js";
import { Product } from "../../../schema/product.type.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { decodeId, toGlobalId } from "../node-id.js";
import { isDelayed } from "../../services/backorder-delay.js";
import { listBacklog, type QueuedBackorder } from "../../services/backlog.query.js";
import { prioritizeBackorder } from "../../services/backlog.service.js";
import type { BackorderRecord, OrderLineRecord, OrderRecord, ProductRecord } from "../../services/types.js";
import { badUserInput, checkFirst, emptyConnection, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId } from "./payload.js";

/** A backorder as resolvers see it: read from a queue page (place known) or on its own (place loaded). */
type BackorderSource = BackorderRecord | QueuedBackorder;

const NO_PLACE = { position: null, unitsAhead: null };

/**
 * The place of a backorder not read from a queue page (one read from a page carries it: the
 * fields below answer it without a promise, since a page of backorders asks for them by the hundred).
 */
async function loadQueuePlace(backorder: BackorderRecord, context: Context) {
  if (backorder.status !== "WAITING") return NO_PLACE;
  return (await context.loaders.queuePlace.load(backorder.id)) ?? NO_PLACE;
}

@Resolver(() => Backorder)
export class BackorderResolver {
  @FieldResolver(() => ID)
  id(@Root() backorder: BackorderSource): string {
    return toGlobalId("Backorder", backorder.id);
  }

  @FieldResolver(() => Product)
  product(@Root() backorder: BackorderSource, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(backorder.productId);
  }

  @FieldResolver(() => Order)
  order(@Root() backorder: BackorderSource, @Ctx() context: Context): Promise<OrderRecord | null> {
    return context.loaders.order.load(backorder.orderId);
  }

  @FieldResolver(() => OrderLine)
  orderLine(@Root() backorder: BackorderSource, @Ctx() context: Context): Promise<OrderLineRecord | null> {
    return context.loaders.orderLine.load(backorder.orderLineId);
  }

  @FieldResolver(() => Int, { nullable: true })
  position(@Root() backorder: BackorderSource, @Ctx() context: Context): number | null | Promise<number | null> {
    if ("position" in backorder) return backorder.position;
    return loadQueuePlace(backorder, context).then((place) => place.position);
  }

  @FieldResolver(() => Int, { nullable: true })
  unitsAhead(@Root() backorder: BackorderSource, @Ctx() context: Context): number | null | Promise<number | null> {
    if ("unitsAhead" in backorder) return backorder.unitsAhead;
    return loadQueuePlace(backorder, context).then((place) => place.unitsAhead);
  }

  @FieldResolver(() => Boolean)
  delayed(@Root() backorder: BackorderSource): boolean {
    return isDelayed(backorder);
  }

  @Authorized(...READ)
  @Query(() => BackorderConnection, {
    description: "Waiting backorders of every product: higher priority first, then oldest first. position is within each product's queue.",
  })
  async backlog(
    @Ctx() context: Context,
    @Arg("filter", () => BacklogFilter, { nullable: true }) filter?: BacklogFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<QueuedBackorder>> {
    checkFirst(first);
    const hours = filter?.olderThanHours;
    if (hours !== undefined && hours !== null && (hours < 0 || hours > 1_000_000)) {
      throw badUserInput("filter.olderThanHours must be between 0 and 1000000", "filter.olderThanHours");
    }
    let productId: number | undefined;
    if (filter?.productId !== undefined && filter?.productId !== null) {
      const decoded = decodeId(filter.productId, "Product");
      if (decoded === null) return emptyConnection();
      productId = decoded;
    }
    const page = await readOrBadInput(() => listBacklog(context.db, { productId, delayed: filter?.delayed, olderThanHours: hours }, { first, after }));
    primeLoaders(context.loaders, { backorders: page.items });
    return toConnection(page);
  }

  @Authorized(...OPERATE)
  @Mutation(() => BackorderPayload, { description: "Moves a backorder in its queue: higher priority first. Allocations already made stay." })
  prioritizeBackorder(@Arg("id", () => ID) id: string, @Arg("priority", () => Int) priority: number, @Ctx() context: Context) {
    return mutate(context, { backorder: null as BackorderRecord | null }, async () => ({
      backorder: await prioritizeBackorder(context.db, requireNodeId(id, "Backorder", ["id"]), priority),
    }));
  }
}

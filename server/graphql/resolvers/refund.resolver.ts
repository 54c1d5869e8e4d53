/** Refunds (docs/ARCHITECTURE.md, "Refunds"): their fields, their lines, and markRefunded. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { Money } from "../../../schema/money.type.js";
import { Order, OrderLine } from "../../../schema/order.type.js";
import { Refund, RefundConnection, RefundLine, RefundPayload, RefundsDue, RefundStatus } from "../../../schema/refund.type.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { toGlobalId } from "../node-id.js";
import { listRefunds, type RefundLineView, refundsDue } from "../../services/refund.query.js";
import { markRefunded, type RefundRecord } from "../../services/refund.service.js";
import type { OrderLineRecord, OrderRecord } from "../../services/types.js";
import { checkFirst, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId } from "./payload.js";

const NO_REFUND = { refund: null as RefundRecord | null };

@Resolver(() => Refund)
export class RefundResolver {
  @FieldResolver(() => ID)
  id(@Root() refund: RefundRecord): string {
    return toGlobalId("Refund", refund.id);
  }

  @FieldResolver(() => Order)
  order(@Root() refund: RefundRecord, @Ctx() context: Context): Promise<OrderRecord | null> {
    return context.loaders.order.load(refund.orderId);
  }

  @FieldResolver(() => Money)
  amount(@Root() refund: RefundRecord) {
    return { amount: refund.amount, currencyCode: refund.currencyCode };
  }

  @FieldResolver(() => [RefundLine])
  lines(@Root() refund: RefundRecord, @Ctx() context: Context): Promise<RefundLineView[]> {
    return context.loaders.refundLines.load(refund.id);
  }

  @Authorized(...READ)
  @Query(() => RefundConnection, {
    description:
      "Refunds, of one status or all: PENDING oldest first (the next to pay first), otherwise newest first. A cursor belongs to its order: PENDING's or the others'.",
  })
  async refunds(
    @Ctx() context: Context,
    @Arg("status", () => RefundStatus, { nullable: true }) status?: RefundStatus | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<RefundRecord>> {
    checkFirst(first);
    const page = await readOrBadInput(() => listRefunds(context.db, status, { first, after }));
    for (const refund of page.items) context.loaders.refund.prime(refund.id, refund);
    return toConnection(page);
  }

  @Authorized(...READ)
  @Query(() => RefundsDue, { description: "What the shop still owes: PENDING refunds per currency, how many, and the oldest's date." })
  async refundsDue(@Ctx() context: Context) {
    const due = await refundsDue(context.db);
    return {
      ...due,
      totals: due.totals.map((total) => ({ amount: { amount: total.amount, currencyCode: total.currencyCode }, count: total.count })),
    };
  }

  @Authorized(...OPERATE)
  @Mutation(() => RefundPayload, {
    description:
      "Records that the shop's payment system paid the refund: REFUNDED with its reference. The same reference again changes nothing; another is INVALID_STATE.",
  })
  markRefunded(@Arg("id", () => ID) id: string, @Arg("reference", () => String) reference: string, @Ctx() context: Context) {
    return mutate(context, NO_REFUND, async () => ({
      refund: await markRefunded(context.db, requireNodeId(id, "Refund", ["id"]), reference),
    }));
  }
}

@Resolver(() => RefundLine)
export class RefundLineResolver {
  @FieldResolver(() => OrderLine)
  orderLine(@Root() line: RefundLineView, @Ctx() context: Context): Promise<OrderLineRecord | null> {
    return context.loaders.orderLine.load(line.orderLineId);
  }

  @FieldResolver(() => Money)
  amount(@Root() line: RefundLineView) {
    return { amount: line.amount, currencyCode: line.currencyCode };
  }
}

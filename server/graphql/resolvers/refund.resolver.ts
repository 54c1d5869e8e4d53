/** Refunds (docs/ARCHITECTURE.md, "Refunds"): their fields, their lines, and markRefunded. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import { Money } from "../../../schema/money.type.js";
import { Order, OrderLine } from "../../../schema/order.type.js";
import { Refund, RefundLine, RefundPayload } from "../../../schema/refund.type.js";
import { OPERATE } from "../auth-checker.js";
import type { Context } from "../context.js";
import { toGlobalId } from "../node-id.js";
import type { RefundLineView } from "../../services/refund.query.js";
import { markRefunded, type RefundRecord } from "../../services/refund.service.js";
import type { OrderLineRecord, OrderRecord } from "../../services/types.js";
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

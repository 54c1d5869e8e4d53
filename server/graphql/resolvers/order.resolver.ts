/** Orders and order lines: the queries, placeOrder, cancelOrder, cancelOrderLine, shipOrder. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { Backorder } from "../../../schema/backorder.type.js";
import type { ConnectionSource } from "../../../schema/connection.js";
import { OrderFilter } from "../../../schema/filters.input.js";
import { Money } from "../../../schema/money.type.js";
import { Order, OrderConnection, OrderLine } from "../../../schema/order.type.js";
import { OrderPayload } from "../../../schema/payloads.js";
import { PlaceOrderInput } from "../../../schema/place-order.input.js";
import { Product } from "../../../schema/product.type.js";
import { Refund } from "../../../schema/refund.type.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { OPERATE, ORDER, READ, refuseCustomerFilter, seesCustomers } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { decodeId, fromGlobalId, toGlobalId } from "../node-id.js";
import { customerPseudonym } from "../../services/customer-pseudonym.service.js";
import { listOrders } from "../../services/order.query.js";
import { cancelOrderLineWithRefund, cancelOrderWithRefund, placeOrder, shipOrder } from "../../services/order.service.js";
import type { RefundRecord } from "../../services/refund.service.js";
import {
  type BackorderRecord,
  DomainError,
  type Issue,
  type OrderLineRecord,
  type OrderRecord,
  type PlaceOrderLineInput,
  type ProductRecord,
} from "../../services/types.js";
import { checkFirst, checkLength, emptyConnection, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId, toUserErrors } from "./payload.js";

const NO_ORDER = { order: null as OrderRecord | null, replayed: false };
const NO_CANCELLATION = { ...NO_ORDER, refund: null as RefundRecord | null };

@Resolver(() => Order)
export class OrderResolver {
  @FieldResolver(() => ID)
  id(@Root() order: OrderRecord): string {
    return toGlobalId("Order", order.id);
  }

  /** READER keys see a pseudonym: the order's customer is not theirs to know. */
  @FieldResolver(() => String)
  async customer(@Root() order: OrderRecord, @Ctx() context: Context): Promise<string> {
    return seesCustomers(context) ? order.customer : customerPseudonym(context.db, order.customer);
  }

  @FieldResolver(() => Money)
  total(@Root() order: OrderRecord) {
    return { amount: order.total, currencyCode: order.currencyCode };
  }

  @FieldResolver(() => [OrderLine])
  lines(@Root() order: OrderRecord, @Ctx() context: Context): Promise<OrderLineRecord[]> {
    return context.loaders.linesByOrder.load(order.id);
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true })
  async promisedAt(@Root() order: OrderRecord, @Ctx() context: Context): Promise<Date | null> {
    return (await context.loaders.orderWaiting.load(order.id)).promisedAt;
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true })
  async expectedAt(@Root() order: OrderRecord, @Ctx() context: Context): Promise<Date | null> {
    return (await context.loaders.orderWaiting.load(order.id)).expectedAt;
  }

  @FieldResolver(() => Boolean)
  async delayed(@Root() order: OrderRecord, @Ctx() context: Context): Promise<boolean> {
    return (await context.loaders.orderWaiting.load(order.id)).delayed;
  }

  @FieldResolver(() => [Refund], { description: "What its cancellations owe or paid back, oldest first: one refund per cancellation." })
  refunds(@Root() order: OrderRecord, @Ctx() context: Context): Promise<RefundRecord[]> {
    return context.loaders.refundsByOrder.load(order.id);
  }

  @FieldResolver(() => Money, { description: "The sum of its refunds, pending and refunded, in the order's currency (0 without any)." })
  async refundTotal(@Root() order: OrderRecord, @Ctx() context: Context) {
    return { amount: await context.loaders.refundTotal.load(order.id), currencyCode: order.currencyCode };
  }

  @Authorized(...READ)
  @Query(() => Order, { nullable: true, description: "An order by id or by number; null when there is none (or they disagree)." })
  async order(
    @Ctx() context: Context,
    @Arg("id", () => ID, { nullable: true }) id?: string | null,
    @Arg("number", () => String, { nullable: true }) number?: string | null,
  ): Promise<OrderRecord | null> {
    if (id !== undefined && id !== null) {
      const orderId = decodeId(id, "Order");
      const found = orderId === null ? null : await context.loaders.order.load(orderId);
      return found && (number === undefined || number === null || found.number === number) ? found : null;
    }
    if (number === undefined || number === null || number.length > 100) return null;
    return context.loaders.orderByNumber.load(number);
  }

  @Authorized(...READ)
  @Query(() => OrderConnection, { description: "Orders, newest first." })
  async orders(
    @Ctx() context: Context,
    @Arg("filter", () => OrderFilter, { nullable: true }) filter?: OrderFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<OrderRecord>> {
    checkFirst(first);
    checkLength(filter?.customer, 200, "filter.customer");
    refuseCustomerFilter(context, filter?.customer, "filter.customer");
    let productId: number | undefined;
    if (filter?.productId !== undefined && filter?.productId !== null) {
      const decoded = decodeId(filter.productId, "Product");
      if (decoded === null) return emptyConnection();
      productId = decoded;
    }
    const page = await readOrBadInput(() =>
      listOrders(context.db, { status: filter?.status, customer: filter?.customer, delayed: filter?.delayed, productId }, { first, after }),
    );
    primeLoaders(context.loaders, { orders: page.items });
    return toConnection(page);
  }

  @Authorized(...ORDER)
  @Mutation(() => OrderPayload, {
    description: "Allocates what is available and backorders the rest (policy ALLOW). With allowPartial, the order and userErrors for the lines cut.",
  })
  placeOrder(@Arg("input", () => PlaceOrderInput) input: PlaceOrderInput, @Ctx() context: Context) {
    return mutate(context, NO_ORDER, async () => {
      const issues: Issue[] = [];
      const lines: PlaceOrderLineInput[] = (input.lines ?? []).map((line, index) => {
        const field = ["input", "lines", String(index), "productId"];
        let productId: number | undefined;
        if (line.productId !== undefined && line.productId !== null) {
          const decoded = fromGlobalId(line.productId);
          if (decoded?.type === "Product") productId = decoded.id;
          else
            issues.push(
              decoded
                ? { code: "NOT_FOUND", message: "product not found", field }
                : { code: "INVALID_INPUT", message: "productId is not a valid Product id", field },
            );
        }
        return { productId, sku: line.sku ?? undefined, quantity: line.quantity };
      });
      if (issues.length > 0) throw new DomainError(issues);
      const result = await placeOrder(context.db, {
        customer: input.customer,
        lines,
        allowPartial: input.allowPartial ?? undefined,
        idempotencyKey: input.idempotencyKey ?? undefined,
        idempotencyScope: context.apiKey?.id ?? null,
      });
      return { order: result.order, replayed: result.replayed, userErrors: toUserErrors(result.issues) };
    });
  }

  @Authorized(...ORDER)
  @Mutation(() => OrderPayload, {
    description: "Cancels every unit not shipped: waiting ones first; released units go to the backlog. Answers the refund they are owed.",
  })
  cancelOrder(@Arg("id", () => ID) id: string, @Ctx() context: Context, @Arg("reason", () => String, { nullable: true }) reason?: string | null) {
    return mutate(context, NO_CANCELLATION, async () => ({
      ...(await cancelOrderWithRefund(context.db, requireNodeId(id, "Order", ["id"]), reason ?? null)),
      replayed: false,
    }));
  }

  @Authorized(...ORDER)
  @Mutation(() => OrderPayload, {
    description: "Cancels units of one line (all not shipped when quantity is omitted); waiting units first. Answers the refund they are owed.",
  })
  cancelOrderLine(@Arg("id", () => ID) id: string, @Ctx() context: Context, @Arg("quantity", () => Int, { nullable: true }) quantity?: number | null) {
    return mutate(context, NO_CANCELLATION, async () => ({
      ...(await cancelOrderLineWithRefund(context.db, requireNodeId(id, "OrderLine", ["id"]), quantity ?? null)),
      replayed: false,
    }));
  }

  @Authorized(...OPERATE)
  @Mutation(() => OrderPayload, { description: "Ships every allocated unit of the order." })
  shipOrder(@Arg("id", () => ID) id: string, @Ctx() context: Context) {
    return mutate(context, NO_ORDER, async () => ({
      order: await shipOrder(context.db, requireNodeId(id, "Order", ["id"])),
      replayed: false,
    }));
  }
}

@Resolver(() => OrderLine)
export class OrderLineResolver {
  @FieldResolver(() => ID)
  id(@Root() line: OrderLineRecord): string {
    return toGlobalId("OrderLine", line.id);
  }

  @FieldResolver(() => Order)
  order(@Root() line: OrderLineRecord, @Ctx() context: Context): Promise<OrderRecord | null> {
    return context.loaders.order.load(line.orderId);
  }

  @FieldResolver(() => Product)
  product(@Root() line: OrderLineRecord, @Ctx() context: Context): Promise<ProductRecord | null> {
    return context.loaders.product.load(line.productId);
  }

  @FieldResolver(() => Money)
  async unitPrice(@Root() line: OrderLineRecord, @Ctx() context: Context) {
    const order = await context.loaders.order.load(line.orderId);
    return { amount: line.unitPrice, currencyCode: order?.currencyCode ?? "USD" };
  }

  @FieldResolver(() => Int)
  backordered(@Root() line: OrderLineRecord): number {
    return line.waiting;
  }

  @FieldResolver(() => Backorder, { nullable: true })
  backorder(@Root() line: OrderLineRecord, @Ctx() context: Context): Promise<BackorderRecord | null> {
    return context.loaders.backorderByLine.load(line.id);
  }
}

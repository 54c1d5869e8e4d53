/**
 * Supplier orders (docs/ARCHITECTURE.md, "Dropship"): the list, the supplier's three acts, their
 * fields, and OrderLine.supplierOrder. A SUPPLIER key is scoped to its own supplier everywhere:
 * its list is that supplier's whatever the filter says, and another supplier's order is NOT_FOUND
 * to its mutations (null to `node`), exactly as an id of nothing, so ids tell it nothing. It reads
 * the order's scalar fields only: `orderLine` and `supplier` lead to the rest of the data.
 */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { OrderLine } from "../../../schema/order.type.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { SupplierOrder, SupplierOrderConnection, SupplierOrderFilter, SupplierOrderPayload } from "../../../schema/supplier-order.type.js";
import { Supplier } from "../../../schema/supplier.type.js";
import { forbiddenError, seesCustomers, SUPPLIER_ORDER_READS, SUPPLIER_ORDERS } from "../auth-checker.js";
import type { Context } from "../context.js";
import { decodeId, toGlobalId } from "../node-id.js";
import { customerPseudonym } from "../../services/customer-pseudonym.service.js";
import { listSupplierOrders, type SupplierOrderView } from "../../services/supplier-order.query.js";
import { acknowledgeSupplierOrder, rejectSupplierOrder, shipSupplierOrder, type SupplierScope } from "../../services/supplier-order.service.js";
import type { OrderLineRecord, SupplierRecord } from "../../services/types.js";
import { checkFirst, emptyConnection, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId } from "./payload.js";

const NO_SUPPLIER_ORDER = { supplierOrder: null as SupplierOrderView | null };

/** The supplier a request is scoped to: a SUPPLIER key's own; null (every supplier) for the others. */
export function supplierScopeOf(context: Context): SupplierScope {
  return context.apiKey?.role === "SUPPLIER" ? { supplierId: context.apiKey.supplierId ?? -1 } : { supplierId: null };
}

/** Whether `order` is one the request may see: any, unless its key is a SUPPLIER key of another supplier. */
export function mayReadSupplierOrder(context: Context, order: { supplierId: number }): boolean {
  const { supplierId } = supplierScopeOf(context);
  return supplierId === null || supplierId === order.supplierId;
}

/** FORBIDDEN for a SUPPLIER key: the fields that lead from its orders to the rest of the data. */
function refuseToSupplier(context: Context, field: string): void {
  if (context.apiKey?.role === "SUPPLIER")
    throw forbiddenError(`Role SUPPLIER may not read SupplierOrder.${field}: it reads the order's own fields only.`);
}

/** The supplier order `id` names, through `act`, scoped to the request's supplier. */
function actOn(context: Context, id: string, act: (supplierOrderId: number, scope: SupplierScope) => Promise<SupplierOrderView>) {
  return mutate(context, NO_SUPPLIER_ORDER, async () => ({
    supplierOrder: await act(requireNodeId(id, "SupplierOrder", ["id"]), supplierScopeOf(context)),
  }));
}

@Resolver(() => SupplierOrder)
export class SupplierOrderResolver {
  @FieldResolver(() => ID)
  id(@Root() order: SupplierOrderView): string {
    return toGlobalId("SupplierOrder", order.id);
  }

  @FieldResolver(() => Supplier)
  supplier(@Root() order: SupplierOrderView, @Ctx() context: Context): Promise<SupplierRecord | null> {
    refuseToSupplier(context, "supplier");
    return context.loaders.supplier.load(order.supplierId);
  }

  @FieldResolver(() => OrderLine)
  orderLine(@Root() order: SupplierOrderView, @Ctx() context: Context): Promise<OrderLineRecord | null> {
    refuseToSupplier(context, "orderLine");
    return context.loaders.orderLine.load(order.orderLineId);
  }

  /** READER keys see a pseudonym, as on Order; a SUPPLIER key sees whom it ships to. */
  @FieldResolver(() => String)
  async customer(@Root() order: SupplierOrderView, @Ctx() context: Context): Promise<string> {
    return seesCustomers(context) ? order.customer : customerPseudonym(context.db, order.customer);
  }

  @FieldResolver(() => DateTimeScalar, { nullable: true })
  expectedShipAt(@Root() order: SupplierOrderView): Date | null {
    return order.shipBy;
  }

  @Authorized(...SUPPLIER_ORDER_READS)
  @Query(() => SupplierOrderConnection, {
    description:
      "Supplier orders, newest first (with filter.late: the open ones, oldest first). A SUPPLIER key sees its own supplier's only (a filter naming another supplier matches nothing); a READER key sees customers' pseudonyms, as on Order.",
  })
  async supplierOrders(
    @Ctx() context: Context,
    @Arg("filter", () => SupplierOrderFilter, { nullable: true }) filter?: SupplierOrderFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<SupplierOrderView>> {
    checkFirst(first);
    const scope = supplierScopeOf(context).supplierId ?? null;
    let supplierId = scope;
    if (filter?.supplierId !== undefined && filter?.supplierId !== null) {
      const named = decodeId(filter.supplierId, "Supplier");
      // An id of nothing, of another type or of another supplier than a SUPPLIER key's: nothing matches.
      if (named === null || (scope !== null && named !== scope)) return emptyConnection();
      supplierId = named;
    }
    return toConnection(
      await readOrBadInput(() => listSupplierOrders(context.db, { supplierId, status: filter?.status, late: filter?.late }, { first, after })),
    );
  }

  @Authorized(...SUPPLIER_ORDERS)
  @Mutation(() => SupplierOrderPayload, {
    description:
      "OPEN → ACKNOWLEDGED with the supplier's ship date, the line's expected date from then on. INVALID_INPUT for a date past or more than 730 days ahead; INVALID_STATE when not OPEN (acknowledged once: the date is a commitment, its lateness measured against it).",
  })
  acknowledgeSupplierOrder(@Arg("id", () => ID) id: string, @Arg("expectedShipAt", () => DateTimeScalar) expectedShipAt: Date, @Ctx() context: Context) {
    return actOn(context, id, (supplierOrderId, scope) => acknowledgeSupplierOrder(context.db, supplierOrderId, expectedShipAt, scope));
  }

  @Authorized(...SUPPLIER_ORDERS)
  @Mutation(() => SupplierOrderPayload, {
    description:
      "OPEN or ACKNOWLEDGED → SHIPPED: the line's units ship; the order becomes SHIPPED when nothing else of it is open. Tracking number at most 200 characters; INVALID_STATE once shipped, rejected or cancelled.",
  })
  shipSupplierOrder(
    @Arg("id", () => ID) id: string,
    @Ctx() context: Context,
    @Arg("trackingNumber", () => String, { nullable: true }) trackingNumber?: string | null,
  ) {
    return actOn(context, id, (supplierOrderId, scope) => shipSupplierOrder(context.db, supplierOrderId, trackingNumber, scope));
  }

  @Authorized(...SUPPLIER_ORDERS)
  @Mutation(() => SupplierOrderPayload, {
    description:
      "OPEN or ACKNOWLEDGED → REJECTED (reason 1 to 500 characters): the line's units are cancelled and refunded (reason SUPPLIER_REJECTED). INVALID_STATE once shipped, rejected or cancelled.",
  })
  rejectSupplierOrder(@Arg("id", () => ID) id: string, @Arg("reason", () => String) reason: string, @Ctx() context: Context) {
    return actOn(context, id, async (supplierOrderId, scope) => (await rejectSupplierOrder(context.db, supplierOrderId, reason, scope)).supplierOrder);
  }
}

@Resolver(() => OrderLine)
export class OrderLineSupplierOrderResolver {
  @FieldResolver(() => SupplierOrder, {
    nullable: true,
    description: "A dropship line's order at its supplier (its waiting units wait there, not in the backlog: no backorder); null for a stocked line.",
  })
  supplierOrder(@Root() line: OrderLineRecord, @Ctx() context: Context): Promise<SupplierOrderView | null> {
    return context.loaders.supplierOrderOfLine.load(line.id);
  }
}

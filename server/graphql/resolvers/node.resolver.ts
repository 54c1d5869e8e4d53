/** Query.node: any object by its global id. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, ID, Query, Resolver } from "type-graphql";
import { Node } from "../../../schema/node.js";
import { MANAGE_KEYS, MANAGE_WEBHOOKS, READ, requireRole, SUPPLIER_ORDER_READS } from "../auth-checker.js";
import type { Context } from "../context.js";
import { fromGlobalId, type NodeTypeName } from "../node-id.js";
import { apiKeysByIds } from "../../services/api-key.service.js";
import { mayReadSupplierOrder } from "./supplier-order.resolver.js";

@Resolver()
export class NodeResolver {
  @Authorized(...READ, "SUPPLIER")
  @Query(() => Node, {
    nullable: true,
    description:
      "Any object by its global id; null when there is none. A SUPPLIER key reads its own supplier's SupplierOrders only (another supplier's: null).",
  })
  async node(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<({ __typename: NodeTypeName } & object) | null> {
    const decoded = fromGlobalId(id);
    if (!decoded) return null;
    // Refused before any lookup: the answer says nothing about whether the key exists.
    if (decoded.type === "ApiKey") requireRole(context, MANAGE_KEYS, "read API keys");
    if (decoded.type === "WebhookEndpoint" || decoded.type === "WebhookDelivery") requireRole(context, MANAGE_WEBHOOKS, "read webhooks");
    // A SUPPLIER key reads supplier orders and nothing else ("Dropship"); by the id's type, before any lookup.
    requireRole(context, decoded.type === "SupplierOrder" ? SUPPLIER_ORDER_READS : READ, `read a ${decoded.type}`);
    const { loaders } = context;
    const load: Record<NodeTypeName, (id: number) => Promise<object | null>> = {
      Location: (key) => loaders.location.load(key),
      Product: (key) => loaders.product.load(key),
      Order: (key) => loaders.order.load(key),
      OrderLine: (key) => loaders.orderLine.load(key),
      Backorder: (key) => loaders.backorder.load(key),
      Restock: (key) => loaders.restock.load(key),
      ApiKey: async (key) => (await apiKeysByIds(context.db, [key]))[0],
      Refund: (key) => loaders.refund.load(key),
      WebhookEndpoint: (key) => loaders.webhookEndpoint.load(key),
      WebhookDelivery: (key) => loaders.webhookDelivery.load(key),
      Supplier: (key) => loaders.supplier.load(key),
      // Another supplier's order is, to a SUPPLIER key, an id of nothing.
      SupplierOrder: async (key) => {
        const order = await loaders.supplierOrder.load(key);
        return order && mayReadSupplierOrder(context, order) ? order : null;
      },
    };
    const found = await load[decoded.type](decoded.id);
    return found ? { ...found, __typename: decoded.type } : null;
  }
}

/** The Node interface: every object with an opaque global id, resolvable through Query.node. */
import "reflect-metadata";
import { Field, ID, InterfaceType } from "type-graphql";

/** The object types that implement Node; a resolved source carries its name as `__typename`. */
export type NodeTypeName =
  | "Location"
  | "Product"
  | "Order"
  | "OrderLine"
  | "Backorder"
  | "Restock"
  | "ApiKey"
  | "Refund"
  | "WebhookEndpoint"
  | "WebhookDelivery"
  | "Supplier"
  | "SupplierOrder";

@InterfaceType({
  description: "An object with an opaque global id.",
  // Resolvers return plain records, not class instances: they tag what Query.node returns.
  resolveType: (value: { __typename?: string }) => value.__typename,
})
export abstract class Node {
  @Field(() => ID)
  id!: string;
}

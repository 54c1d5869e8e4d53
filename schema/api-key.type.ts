/** API keys and their roles (docs/ARCHITECTURE.md, "Access and limits"). The secret is never a field of ApiKey. */
import "reflect-metadata";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { API_KEY_ROLES, type ApiKeyRole, enumOf } from "../drizzle/contract.js";
import { connectionOf } from "./connection.js";
import { Node } from "./node.js";
import { DateTimeScalar } from "./scalars.js";

export const Role = enumOf(API_KEY_ROLES);
export type Role = ApiKeyRole;

registerEnumType(Role, {
  name: "Role",
  description: "What an API key may do.",
  valuesConfig: {
    ADMIN: { description: "Everything, API keys included." },
    OPERATOR: { description: "Products, locations, stock, restocks, orders and backlog priorities; every read." },
    STOREFRONT: { description: "placeOrder, cancelOrder and cancelOrderLine; every read." },
    READER: { description: "Read-only queries and subscriptions; customer identifiers are replaced by pseudonyms." },
    SUPPLIER: {
      description:
        "Bound to one supplier: supplierOrders of that supplier, node for them, acknowledge/ship/reject them; nothing else. Other suppliers' orders are NOT_FOUND.",
    },
  },
});

@ObjectType({ implements: Node, description: "A key for the API. Its secret was shown once, at creation, and is not stored." })
export class ApiKey implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { description: "The first characters of the secret, to tell keys apart (e.g. bo_x7Kq2P)." })
  prefix!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "When a request last used it, to the minute." })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "Set once revoked: from then on it is refused." })
  revokedAt!: Date | null;
}

export const ApiKeyConnection = connectionOf(ApiKey, "ApiKey");
export type ApiKeyConnection = InstanceType<typeof ApiKeyConnection>;

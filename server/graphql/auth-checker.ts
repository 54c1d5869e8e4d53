/**
 * Who may run what (docs/ARCHITECTURE.md, "Access and limits"). Every query, mutation and subscription names the roles
 * that may run it with `@Authorized(...)`; `authChecker` is type-graphql's check of those lists,
 * a pure function of the request's key and the roles. A role without the right gets FORBIDDEN and
 * the resolver never runs, so nothing changes.
 *
 *   ADMIN       everything, API keys and the invariant audit included
 *   OPERATOR    products, locations, stock, restocks, orders, backlog priorities; every read
 *   STOREFRONT  placeOrder, cancelOrder, cancelOrderLine; every read
 *   READER      reads and subscriptions (supplier orders included); customer identifiers replaced by pseudonyms
 *   SUPPLIER    its own supplier's orders only (supplierOrders, node, acknowledge/ship/reject,
 *               supplierOrderChanged): none of the reads above (docs/ARCHITECTURE.md, "Dropship")
 */
import { GraphQLError } from "graphql";
import type { AuthChecker } from "type-graphql";
import type { AuthenticatedKey, Context } from "./context.js";
import type { ApiKeyRole } from "../services/types.js";

/**
 * Every query and subscription: any key but SUPPLIER, which reads only its own supplier orders
 * (SUPPLIER_ORDERS). Listed rather than derived, so a role added later reads nothing until it is
 * given reads on purpose.
 */
export const READ: ApiKeyRole[] = ["ADMIN", "OPERATOR", "STOREFRONT", "READER"];
/** Acting on supplier orders: the operators, and a SUPPLIER key for its own supplier's (checked in the resolvers: others are NOT_FOUND). */
export const SUPPLIER_ORDERS: ApiKeyRole[] = ["ADMIN", "OPERATOR", "SUPPLIER"];
/**
 * Reading supplier orders (`supplierOrders`, `supplierOrderChanged`): every reading role (the dashboard's "Suppliers" card
 * runs with a READER key, which sees customers' pseudonyms there as on orders), and a SUPPLIER
 * key for its own supplier's (scoped in the resolver).
 */
export const SUPPLIER_ORDER_READS: ApiKeyRole[] = [...READ, "SUPPLIER"];
/** Catalogue, locations, stock, restocks, shipping, backlog priorities. */
export const OPERATE: ApiKeyRole[] = ["ADMIN", "OPERATOR"];
/** Placing and cancelling orders: what a shop's storefront does. */
export const ORDER: ApiKeyRole[] = ["ADMIN", "OPERATOR", "STOREFRONT"];
/** API keys. */
export const MANAGE_KEYS: ApiKeyRole[] = ["ADMIN"];
/** Webhook endpoints, their deliveries and their management: URLs and delivery bodies are the shop's integrations. */
export const MANAGE_WEBHOOKS: ApiKeyRole[] = ["ADMIN"];
/** The invariant audit: a full read of every table, customers included, and a heavy one. */
export const AUDIT: ApiKeyRole[] = ["ADMIN"];

/** The one answer to a request without a valid key: it says nothing about which keys exist. */
export const UNAUTHENTICATED_MESSAGE = "Unauthorized: send a valid API key as 'Authorization: Bearer <key>'.";

export function unauthenticatedError(): GraphQLError {
  return new GraphQLError(UNAUTHENTICATED_MESSAGE, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
}

/** FORBIDDEN: the key is valid, its role may not do this. */
export function forbiddenError(message = "Your API key's role may not do this."): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN" } });
}

/** Whether `key` has one of `roles` (ADMIN has every right). */
export function hasRole(key: AuthenticatedKey | undefined, roles: readonly ApiKeyRole[]): boolean {
  return key !== undefined && (key.role === "ADMIN" || roles.includes(key.role));
}

/** type-graphql's auth checker: throws UNAUTHENTICATED without a key and FORBIDDEN for a role not listed. */
export const authChecker: AuthChecker<Context, ApiKeyRole> = ({ context, info }, roles) => {
  if (!context.apiKey) throw unauthenticatedError();
  if (roles.length === 0 || hasRole(context.apiKey, roles)) return true;
  throw forbiddenError(`Role ${context.apiKey.role} may not use ${info.parentType.name}.${info.fieldName}.`);
};

/** Throws FORBIDDEN unless the request's key has one of `roles`; for checks inside a resolver. */
export function requireRole(context: Context, roles: readonly ApiKeyRole[], what: string): void {
  if (!context.apiKey) throw unauthenticatedError();
  if (!hasRole(context.apiKey, roles)) throw forbiddenError(`Role ${context.apiKey.role} may not ${what}.`);
}

/** Whether the request may see customer identifiers (READER keys see pseudonyms). */
export function seesCustomers(context: Context): boolean {
  return context.apiKey !== undefined && context.apiKey.role !== "READER";
}

/** Refuses a filter by customer to a key that may not see customers (it would reveal who ordered). */
export function refuseCustomerFilter(context: Context, customer: string | null | undefined, argument: string): void {
  if (customer === undefined || customer === null || seesCustomers(context)) return;
  throw forbiddenError(`Role ${context.apiKey?.role ?? "none"} may not filter by ${argument}: customer identifiers are hidden from it.`);
}

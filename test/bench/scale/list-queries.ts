/**
 * Every list of the schema, as a client would page it: each connection of schema/schema.graphql
 * (Query.orders unfiltered and by each filter, Query.backlog, Query.products, Query.restocks,
 * Query.apiKeys, Product.backlog, Product.restocks), a first page of 20 with the fields a list
 * screen shows, asked without and with its total.
 */
import { toGlobalId } from "../../../server/graphql/node-id.js";
import type { GraphQLClient } from "../graphql-client.js";

const ORDER = `id number customer status createdAt total { amount currencyCode } delayed expectedAt lines { quantity backordered product { sku } }`;
const BACKORDER = `id status priority position unitsAhead remaining expectedAt promisedAt delayed order { number } product { sku }`;
const PRODUCT = `id sku name stock { onHand available backordered incoming }`;
const RESTOCK = `id expectedAt quantity receivedQuantity status product { sku }`;
const API_KEY = `id name role prefix createdAt lastUsedAt revokedAt`;

/** Ids and values the lists are filtered by, found in the loaded fixture. */
export interface ListSubjects {
  /** The backlogged product with the most orders (and the deepest queue). */
  busyProductId: number;
  /** An in-stock product with few orders. */
  quietProductId: number;
  /** The customer of the newest order. */
  customer: string;
}

export interface ListQuery {
  name: string;
  /** The connection type, to ask whether it has `totalCountPrecision`. */
  connection: string;
  /** The operation, with `count` (the total's fields, or nothing) in the connection's selection. */
  query(count: string): string;
  variables?: Record<string, unknown>;
}

/** The lists measured, in the order they are reported. */
export function listQueries(subjects: ListSubjects): ListQuery[] {
  const busy = toGlobalId("Product", subjects.busyProductId);
  const quiet = toGlobalId("Product", subjects.quietProductId);
  /** `variable`: the one variable the filter uses, e.g. `$p: ID`. */
  const orders = (name: string, filter?: string, variable?: string, variables?: Record<string, unknown>): ListQuery => ({
    name,
    connection: "OrderConnection",
    query: (count) =>
      `query Orders${variable ? `(${variable})` : ""} { orders(first: 20${filter ? `, filter: ${filter}` : ""}) { nodes { ${ORDER} } pageInfo { endCursor hasNextPage } ${count} } }`,
    variables,
  });
  return [
    orders("orders"),
    orders("orders(status: AWAITING_STOCK)", "{ status: [AWAITING_STOCK] }"),
    orders("orders(status: SHIPPED)", "{ status: [SHIPPED] }"),
    orders(`orders(productId: busy #${subjects.busyProductId})`, "{ productId: $p }", "$p: ID", { p: busy }),
    orders(`orders(productId: quiet #${subjects.quietProductId})`, "{ productId: $p }", "$p: ID", { p: quiet }),
    orders("orders(customer)", "{ customer: $c }", "$c: String", { c: subjects.customer }),
    orders("orders(delayed: true)", "{ delayed: true }"),
    {
      name: "backlog",
      connection: "BackorderConnection",
      query: (count) => `{ backlog(first: 20) { nodes { ${BACKORDER} } pageInfo { endCursor hasNextPage } ${count} } }`,
    },
    {
      name: `backlog(productId: busy #${subjects.busyProductId})`,
      connection: "BackorderConnection",
      query: (count) =>
        `query Backlog($p: ID) { backlog(first: 20, filter: { productId: $p }) { nodes { ${BACKORDER} } pageInfo { endCursor hasNextPage } ${count} } }`,
      variables: { p: busy },
    },
    {
      name: "backlog(delayed: true)",
      connection: "BackorderConnection",
      query: (count) => `{ backlog(first: 20, filter: { delayed: true }) { nodes { ${BACKORDER} } pageInfo { endCursor hasNextPage } ${count} } }`,
    },
    {
      name: "products",
      connection: "ProductConnection",
      query: (count) => `{ products(first: 20) { nodes { ${PRODUCT} } pageInfo { endCursor hasNextPage } ${count} } }`,
    },
    {
      name: "restocks",
      connection: "RestockConnection",
      query: (count) => `{ restocks(first: 20) { nodes { ${RESTOCK} } pageInfo { endCursor hasNextPage } ${count} } }`,
    },
    {
      name: "apiKeys",
      connection: "ApiKeyConnection",
      query: (count) => `{ apiKeys(first: 20) { nodes { ${API_KEY} } pageInfo { endCursor hasNextPage } ${count} } }`,
    },
    {
      name: `Product.backlog (busy #${subjects.busyProductId})`,
      connection: "BackorderConnection",
      query: (count) =>
        `query ProductBacklog($p: ID!) { product(id: $p) { backlog(first: 20) { nodes { ${BACKORDER} } pageInfo { endCursor hasNextPage } ${count} } } }`,
      variables: { p: busy },
    },
    {
      name: `Product.restocks (busy #${subjects.busyProductId})`,
      connection: "RestockConnection",
      query: (count) =>
        `query ProductRestocks($p: ID!) { product(id: $p) { restocks(first: 20) { nodes { ${RESTOCK} } pageInfo { endCursor hasNextPage } ${count} } } }`,
      variables: { p: busy },
    },
  ];
}

/** The total's fields of each connection type the server has: `totalCount`, and `totalCountPrecision` where the schema has it. */
export async function countFields(client: GraphQLClient, connections: readonly string[]): Promise<Map<string, string>> {
  const fields = new Map<string, string>();
  for (const connection of new Set(connections)) {
    const data = await client.data<{ __type: { fields: { name: string }[] } | null }>(
      `query Fields($name: String!) { __type(name: $name) { fields { name } } }`,
      {
        name: connection,
      },
    );
    const names = new Set(data.__type?.fields.map((field) => field.name) ?? []);
    fields.set(connection, names.has("totalCountPrecision") ? "totalCount totalCountPrecision" : "totalCount");
  }
  return fields;
}

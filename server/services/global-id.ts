/**
 * The one encoding of global ids: the opaque form of "Type:dbId" that every Node carries
 * (base64url, no padding). It lives with the services because a service writes ids too (the
 * webhook bodies name orders and refunds as the API does), and services may not import the
 * GraphQL layer; `server/graphql/node-id.ts` builds its typed `toGlobalId` and the decoding on it.
 */
export function encodeGlobalId(type: string, id: number): string {
  return Buffer.from(`${type}:${id}`, "utf8").toString("base64url");
}

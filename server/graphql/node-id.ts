/**
 * Global ids: the opaque form of "Type:dbId" that every Node carries (base64url, no padding).
 * Clients must not parse them; the server decodes them and checks the type it expects.
 */
import type { NodeTypeName } from "../../schema/node.js";
import { encodeGlobalId } from "../services/global-id.js";

export type { NodeTypeName };

const NODE_TYPES: readonly NodeTypeName[] = [
  "Location",
  "Product",
  "Order",
  "OrderLine",
  "Backorder",
  "Restock",
  "ApiKey",
  "Refund",
  "WebhookEndpoint",
  "WebhookDelivery",
  "Supplier",
  "SupplierOrder",
];
const MAX_DB_ID = 2_147_483_647;

/** The global id of a row of `type`. */
export function toGlobalId(type: NodeTypeName, id: number): string {
  return encodeGlobalId(type, id);
}

/** The type and database id inside a global id; null when it is not one of ours. */
export function fromGlobalId(globalId: string | null | undefined): { type: NodeTypeName; id: number } | null {
  if (typeof globalId !== "string" || globalId.length === 0 || globalId.length > 64) return null;
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(globalId)) return null;
  const match = /^([A-Za-z]+):([1-9][0-9]{0,9})$/.exec(Buffer.from(globalId, "base64url").toString("utf8"));
  if (!match) return null;
  const type = match[1] as NodeTypeName;
  const id = Number(match[2]);
  if (!NODE_TYPES.includes(type) || id > MAX_DB_ID) return null;
  return { type, id };
}

/** The database id inside `globalId` when it is an id of `type`; null otherwise (malformed or another type). */
export function decodeId(globalId: string | null | undefined, type: NodeTypeName): number | null {
  const decoded = fromGlobalId(globalId);
  return decoded && decoded.type === type ? decoded.id : null;
}

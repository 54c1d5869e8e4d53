/** Access-control fixtures for tests: a key of every role, and a digest that says whether anything changed. */
import { sql } from "drizzle-orm";
import { type Database, rows } from "../../drizzle/db.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";

export const ROLES: readonly ApiKeyRole[] = ["ADMIN", "OPERATOR", "STOREFRONT", "READER"];

export interface RoleKey {
  id: number;
  role: ApiKeyRole;
  secret: string;
}

/** One new key of each role, by role. */
export async function createRoleKeys(db: Database, name = "test"): Promise<Record<ApiKeyRole, RoleKey>> {
  const keys = {} as Record<ApiKeyRole, RoleKey>;
  for (const role of ROLES) {
    const { apiKey, secret } = await createApiKey(db, { name: `${name} ${role.toLowerCase()}`, role });
    keys[role] = { id: apiKey.id, role, secret };
  }
  return keys;
}

/**
 * A digest of every table of the current schema, one hash per table. Leaves out what changes on
 * its own: an event's delivery position (stamped after commit by the event hub), a key's
 * lastUsedAt (moved by authenticating, which every request does), the shared cost buckets
 * (cost_budgets: every request, refused ones too, pays into its caller's bucket) and the webhook
 * worker's read position in the log (webhook_log_position: it follows the stamping).
 */
export async function databaseDigest(db: Database): Promise<Record<string, string>> {
  const tables = await rows<{ name: string }>(db, sql`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`);
  const digest: Record<string, string> = {};
  for (const { name } of tables) {
    if (name === "cost_budgets" || name === "webhook_log_position") continue;
    const row =
      name === "events"
        ? sql.raw("(t.id, t.type, t.product_id, t.order_id, t.restock_id, t.payload)::text")
        : name === "api_keys"
          ? sql.raw("(t.id, t.name, t.role, t.prefix, t.secret_hash, t.revoked_at, t.supplier_id)::text")
          : sql.raw("t::text");
    const [found] = await rows<{ hash: string; n: number }>(
      db,
      sql`SELECT md5(coalesce(string_agg(${row}, '|' ORDER BY ${row}), '')) AS hash, count(*)::int AS n FROM ${sql.identifier(name)} t`,
    );
    digest[name] = `${found.n}:${found.hash}`;
  }
  return digest;
}

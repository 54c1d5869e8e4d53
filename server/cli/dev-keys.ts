/**
 * Development keys: on the first `npm start` with the embedded database (the start that loads
 * the demo catalogue), an ADMIN and a READER key are created, printed once, and written next to
 * the PGlite directory (`.data/dev-keys.json` by default, git-ignored, readable by the owner only)
 * so the developer can find them again. Never on PostgreSQL, and never when BOOTSTRAP_ADMIN_KEY is
 * set: keys for a real database are made on purpose, with `npm run keys` or BOOTSTRAP_ADMIN_KEY.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Database } from "../../drizzle/db.js";
import { createApiKey } from "../services/api-key.service.js";
import type { ApiKeyRole } from "../services/types.js";

export interface DevKey {
  id: number;
  role: ApiKeyRole;
  name: string;
  secret: string;
}

export interface DevKeys {
  admin: DevKey;
  reader: DevKey;
}

/** Where the development keys of a PGlite directory are kept; null for an in-memory database. */
export function devKeysFile(pgliteDir: string): string | null {
  if (pgliteDir.startsWith("memory://")) return null;
  return path.join(path.dirname(path.resolve(pgliteDir)), "dev-keys.json");
}

/** Creates the development ADMIN and READER keys. */
export async function createDevKeys(db: Database): Promise<DevKeys> {
  const make = async (role: ApiKeyRole, name: string): Promise<DevKey> => {
    const { apiKey, secret } = await createApiKey(db, { name, role });
    return { id: apiKey.id, role, name, secret };
  };
  return { admin: await make("ADMIN", "development admin"), reader: await make("READER", "development reader") };
}

/**
 * Writes the keys to `file`, readable by the owner only. `mode` only applies to a new file: an
 * existing one (left by an older version, or copied around) is made owner-only before the
 * secrets go in, and again after.
 */
export function writeDevKeys(file: string, keys: DevKeys): void {
  const text = `${JSON.stringify({ note: "Development API keys made by the first `npm start`. Send as Authorization: Bearer <secret>.", ...keys }, null, 2)}\n`;
  if (existsSync(file)) chmodSync(file, 0o600);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The keys written by an earlier start, or null when there is no readable file. */
export function readDevKeys(file: string | null): DevKeys | null {
  if (!file || !existsSync(file)) return null;
  try {
    // A file made readable to others by hand or by an older version: owner-only again.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<DevKeys>;
    return parsed.admin?.secret && parsed.reader?.secret ? (parsed as DevKeys) : null;
  } catch {
    return null;
  }
}

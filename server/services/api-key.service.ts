/**
 * API keys (docs/ARCHITECTURE.md, "Access and limits"): created with a random secret that is shown once and stored
 * only as its SHA-256 hash, looked up by that hash on every request, revoked with an event so
 * every instance closes the key's open subscriptions.
 *
 * Why a plain SHA-256 and no salt or slow hash: the secrets are 256 random bits, not passwords;
 * nobody can guess one to test against a hash, and a lookup by hash is one index probe that
 * takes the same time whatever the secret's first characters are (no string compare to time).
 */
import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { type Database, type Executor, schema } from "../../drizzle/db.js";
import { rowsByKeys } from "../../drizzle/lookup.js";
import { boundedCount, decodeCursor, lazyCount, type Page, type PageArgs, pageSize, toPage } from "../../drizzle/paging.js";
import { recordApiKeyRevoked } from "./event.service.js";
import { requireSupplier } from "./supplier.service.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { type ApiKeyRecord, type ApiKeyRole, API_KEY_ROLES, refuse } from "./types.js";
import { Checks, LIMITS, requireId } from "./validation.js";

const { apiKeys } = schema;

/** Every generated secret starts with this, so a leaked one is easy to spot (and to grep for). */
export const SECRET_PREFIX = "bo_";
/** The longest secret accepted anywhere; longer input is refused before it is hashed. */
export const MAX_SECRET_LENGTH = 256;
/** The shortest secret `ensureApiKey` accepts (generated ones are 46 characters). */
export const MIN_SECRET_LENGTH = 20;
/** Characters a secret may hold: RFC 6750's b64token, which a Bearer header can carry as is. */
const SECRET_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
/** lastUsedAt moves at most once per this interval per key: reads stay reads. */
export const TOUCH_INTERVAL_MS = 60_000;

/** A key as created: the record, and the secret, which is never available again. */
export interface CreatedApiKey {
  apiKey: ApiKeyRecord;
  secret: string;
}

export interface CreateApiKeyInput {
  name: string;
  role: ApiKeyRole;
  /** The supplier a SUPPLIER key acts for: required with that role, refused with any other. */
  supplierId?: number | null;
}

/** A new secret: `bo_` and 32 random bytes in base64url (46 characters). */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The hex SHA-256 of a secret, as stored. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * The part of a secret shown in lists and logs: `bo_` and 6 characters of a generated one; of a
 * chosen one (BOOTSTRAP_ADMIN_KEY) at most a fifth, so the display never gives much of it away.
 */
export function displayPrefix(secret: string): string {
  return secret.slice(0, Math.min(SECRET_PREFIX.length + 6, Math.floor(secret.length / 5)));
}

/** Whether `secret` has the shape of a key (length and characters); anything else is never looked up. */
export function isWellFormedSecret(secret: unknown): secret is string {
  return typeof secret === "string" && secret.length > 0 && secret.length <= MAX_SECRET_LENGTH && SECRET_PATTERN.test(secret);
}

function checkRole(checks: Checks, role: unknown, field: string[]): ApiKeyRole | undefined {
  if (typeof role === "string" && (API_KEY_ROLES as readonly string[]).includes(role)) return role as ApiKeyRole;
  checks.fail(field, `${field.at(-1)} must be one of ${API_KEY_ROLES.join(", ")}`);
  return undefined;
}

/**
 * Creates a key with a new random secret. INVALID_INPUT (fields `input.name`, `input.role`,
 * `input.supplierId`) for an empty or over-long name, an unknown role, a SUPPLIER key without a
 * supplier or another role with one; NOT_FOUND (`input.supplierId`) for an unknown supplier. The
 * returned secret is the only copy.
 */
export async function createApiKey(db: Database, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  const checks = new Checks(["input"]);
  const name = checks.text(input.name, ["name"], LIMITS.name);
  const role = checkRole(checks, input.role, ["role"]);
  const supplierId = input.supplierId ?? null;
  if (role === "SUPPLIER" && supplierId === null) checks.fail(["supplierId"], "a SUPPLIER key needs the supplierId it acts for");
  if (role !== undefined && role !== "SUPPLIER" && supplierId !== null)
    checks.fail(["supplierId"], `a ${role} key has no supplier: supplierId is for SUPPLIER keys`);
  checks.throwIfAny();
  const secret = generateSecret();
  return inTransaction(db, async (tx) => {
    // Suppliers are never deleted: the one found here is there when the key commits.
    if (supplierId !== null) await requireSupplier(tx, supplierId, ["input", "supplierId"]);
    const [apiKey] = await tx
      .insert(apiKeys)
      .values({ name: name!, role: role!, prefix: displayPrefix(secret), secretHash: hashSecret(secret), supplierId })
      .returning();
    return { apiKey, secret };
  });
}

/**
 * Makes sure a key with exactly this secret exists (BOOTSTRAP_ADMIN_KEY), creating it with
 * `role` and `name` when it does not; safe when several instances start at once. An existing
 * key is returned as it is, also when revoked (revocation is never undone behind the operator's
 * back; the caller says so). Throws a plain Error for a secret that is too short, too long or
 * has characters a Bearer header cannot carry: that is a configuration mistake.
 */
export async function ensureApiKey(
  db: Database,
  input: { secret: string; role: ApiKeyRole; name: string },
): Promise<{ apiKey: ApiKeyRecord; created: boolean }> {
  if (!isWellFormedSecret(input.secret) || input.secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `an API key secret must be ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. openssl rand -hex 32)`,
    );
  }
  const checks = new Checks();
  const name = checks.text(input.name, ["name"], LIMITS.name);
  const role = checkRole(checks, input.role, ["role"]);
  // A configured key has no supplier to bind: SUPPLIER keys are made with createApiKey only.
  if (role === "SUPPLIER") checks.fail(["role"], "a SUPPLIER key is created with its supplier (createApiKey)");
  checks.throwIfAny();
  const secretHash = hashSecret(input.secret);
  const inserted = await db
    .insert(apiKeys)
    .values({ name: name!, role: role!, prefix: displayPrefix(input.secret), secretHash })
    .onConflictDoNothing({ target: apiKeys.secretHash })
    .returning();
  if (inserted.length > 0) return { apiKey: inserted[0], created: true };
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, secretHash));
  return { apiKey: existing, created: false };
}

/**
 * The active (not revoked) key with this secret, or null: unknown, revoked and malformed secrets
 * are all just null, so a caller cannot tell them apart and neither can its client. Records the
 * use in lastUsedAt when the last record is older than {@link TOUCH_INTERVAL_MS}.
 */
export async function authenticate(db: Database, secret: unknown, now: Date = new Date()): Promise<ApiKeyRecord | null> {
  if (!isWellFormedSecret(secret)) return null;
  const [found] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.secretHash, hashSecret(secret)), isNull(apiKeys.revokedAt)));
  if (!found) return null;
  if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
    const stale = new Date(now.getTime() - TOUCH_INTERVAL_MS);
    // Conditional, so instances racing on the same key write it once, not once each.
    await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(and(eq(apiKeys.id, found.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, stale))));
    return { ...found, lastUsedAt: now };
  }
  return found;
}

/** Whether the key with this id exists and is not revoked (an open WebSocket re-checks its key per subscription). */
export async function isApiKeyActive(db: Executor, id: number): Promise<boolean> {
  const [found] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
  return found !== undefined;
}

/**
 * Revokes a key: from the commit on, no request authenticates with it, and the API_KEY_REVOKED
 * event written in the same transaction makes every instance close its open subscriptions.
 * NOT_FOUND for an unknown id; INVALID_STATE when it is revoked already.
 */
export async function revokeApiKey(db: Database, id: number, now?: Date): Promise<ApiKeyRecord> {
  const keyId = requireId(id, ["id"], "api key");
  return inTransaction(db, async (tx) => {
    const [revoked] = await tx
      .update(apiKeys)
      .set({ revokedAt: now ?? sql`now()` })
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning();
    if (!revoked) {
      const [existing] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, keyId));
      if (!existing) refuse("NOT_FOUND", "api key not found", ["id"]);
      refuse("INVALID_STATE", "api key is revoked already", ["id"]);
    }
    await recordApiKeyRevoked(tx, keyId);
    return revoked;
  });
}

/** The keys with these ids, in the ids' order; null where none exists. */
export const apiKeysByIds = (db: Executor, ids: readonly number[]) => rowsByKeys(db, apiKeys, "id", ids);

/** A page of every key, revoked ones included, oldest first. INVALID_INPUT for a bad `first` or cursor. */
export async function listApiKeys(db: Executor, page: PageArgs): Promise<Page<ApiKeyRecord>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const fetched = await db
    .select()
    .from(apiKeys)
    .where(after ? gt(apiKeys.id, after[0] as number) : undefined)
    .orderBy(asc(apiKeys.id))
    .limit(limit + 1);
  const count = lazyCount(() => boundedCount(db, db.select({ one: sql`1` }).from(apiKeys)));
  return toPage(fetched, limit, (row) => [row.id], count);
}

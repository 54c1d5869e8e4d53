/**
 * Customer pseudonyms: what a READER key sees instead of a customer identifier. Stable (the
 * same customer reads the same on every instance and after restarts, so a partner can still
 * count repeat customers) and not reversible by guessing: a keyed hash (HMAC-SHA256) whose key
 * is random, made once per database and kept in `server_secrets`. A plain hash of an e-mail
 * address would give it away to anyone who hashes the address they suspect.
 */
import { createHmac, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { type Database, schema } from "../../drizzle/db.js";

const { serverSecrets } = schema;
const SECRET_NAME = "customer-pseudonym-key";

const keys = new WeakMap<Database, Promise<Buffer>>();

async function loadKey(db: Database): Promise<Buffer> {
  await db
    .insert(serverSecrets)
    .values({ name: SECRET_NAME, value: randomBytes(32).toString("hex") })
    .onConflictDoNothing({ target: serverSecrets.name });
  const [row] = await db.select().from(serverSecrets).where(eq(serverSecrets.name, SECRET_NAME));
  return Buffer.from(row.value, "hex");
}

/** The database's pseudonym key, made on first use; read once per process and database. */
function customerPseudonymKey(db: Database): Promise<Buffer> {
  let key = keys.get(db);
  if (!key) {
    key = loadKey(db);
    // A failed read is not remembered: the next call tries again.
    key.catch(() => keys.delete(db));
    keys.set(db, key);
  }
  return key;
}

/** `customer-` and 10 hex digits of the keyed hash of `customer`. */
function pseudonymize(key: Buffer, customer: string): string {
  return `customer-${createHmac("sha256", key).update(customer, "utf8").digest("hex").slice(0, 10)}`;
}

/** The pseudonym of `customer` in this database. */
export async function customerPseudonym(db: Database, customer: string): Promise<string> {
  return pseudonymize(await customerPseudonymKey(db), customer);
}

/**
 * The API key service on its own (no GraphQL): lookups by hash, lastUsedAt at most once a minute,
 * revocation with its event, BOOTSTRAP_ADMIN_KEY's ensure under concurrency, paging; and the
 * `npm run keys` CLI against a real database, including a PGlite directory another process holds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { connect, rows } from "../../drizzle/db.js";
import { main as keysCli } from "../../server/cli/keys.js";
import {
  authenticate,
  createApiKey,
  displayPrefix,
  ensureApiKey,
  generateSecret,
  hashSecret,
  listApiKeys,
  revokeApiKey,
  TOUCH_INTERVAL_MS,
} from "../../server/services/api-key.service.js";
import { DomainError } from "../../server/services/types.js";
import { onPostgres, useFreshDatabase } from "../support/database.js";

const database = useFreshDatabase();
const scratch = mkdtempSync(path.join(tmpdir(), "bo-keys-"));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("authenticate", () => {
  it("finds an active key by its secret and nothing else", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "lookup", role: "OPERATOR" });
    expect((await authenticate(database.db, secret))?.id).toBe(apiKey.id);
    for (const wrong of [undefined, null, 42, "", " ", secret.toUpperCase(), `${secret} `, hashSecret(secret), generateSecret(), "x".repeat(10_000)]) {
      expect(await authenticate(database.db, wrong)).toBeNull();
    }
    await revokeApiKey(database.db, apiKey.id);
    expect(await authenticate(database.db, secret)).toBeNull();
  });

  it("moves lastUsedAt on first use and then at most once a minute", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "touch", role: "READER" });
    const stored = async () =>
      (await rows<{ at: Date | string | null }>(database.db, sql`SELECT last_used_at AS at FROM api_keys WHERE id = ${apiKey.id}`))[0].at;
    const t0 = new Date("2031-05-01T10:00:00Z");
    await authenticate(database.db, secret, t0);
    expect(new Date((await stored())!).toISOString()).toBe(t0.toISOString());
    await authenticate(database.db, secret, new Date(t0.getTime() + TOUCH_INTERVAL_MS - 1000));
    expect(new Date((await stored())!).toISOString()).toBe(t0.toISOString());
    const later = new Date(t0.getTime() + TOUCH_INTERVAL_MS + 1000);
    expect((await authenticate(database.db, secret, later))?.lastUsedAt?.toISOString()).toBe(later.toISOString());
    expect(new Date((await stored())!).toISOString()).toBe(later.toISOString());
  });
});

describe("createApiKey", () => {
  it("makes a 256-bit secret starting with bo_, stores its hash and a short prefix", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "  Acme  ", role: "READER" });
    expect(secret).toMatch(/^bo_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: "Acme", role: "READER", prefix: secret.slice(0, 9), secretHash: hashSecret(secret), revokedAt: null });
    const other = await createApiKey(database.db, { name: "Acme", role: "READER" });
    expect(other.secret).not.toBe(secret);
  });

  it("refuses an unknown role and a bad name with INVALID_INPUT", async () => {
    const refusal = (input: { name: unknown; role: unknown }) =>
      createApiKey(database.db, input as never).then(
        () => null,
        (error: unknown) => (error as DomainError).issues,
      );
    expect(await refusal({ name: "x", role: "ROOT" })).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "role"] })]);
    expect(await refusal({ name: "x".repeat(201), role: "READER" })).toEqual([
      expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "name"] }),
    ]);
    expect(await refusal({ name: "", role: "admin" })).toHaveLength(2);
  });
});

describe("revokeApiKey", () => {
  it("sets revokedAt and writes API_KEY_REVOKED in the same transaction", async () => {
    const { apiKey } = await createApiKey(database.db, { name: "revoke", role: "STOREFRONT" });
    const revoked = await revokeApiKey(database.db, apiKey.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    const events = await rows<{ payload: unknown }>(
      database.db,
      sql`SELECT payload FROM events WHERE type = 'API_KEY_REVOKED' AND (payload->>'apiKeyId')::int = ${apiKey.id}`,
    );
    expect(events.map((event) => (typeof event.payload === "string" ? JSON.parse(event.payload) : event.payload))).toEqual([{ apiKeyId: apiKey.id }]);
  });

  it("refuses an unknown key (NOT_FOUND) and a second revocation (INVALID_STATE), writing no event", async () => {
    const count = async () =>
      Number((await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM events WHERE type = 'API_KEY_REVOKED'`))[0].n);
    const { apiKey } = await createApiKey(database.db, { name: "twice", role: "READER" });
    await revokeApiKey(database.db, apiKey.id);
    const before = await count();
    await expect(revokeApiKey(database.db, 1_999_999)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(revokeApiKey(database.db, apiKey.id)).rejects.toMatchObject({ code: "INVALID_STATE" });
    expect(await count()).toBe(before);
  });
});

describe("ensureApiKey (BOOTSTRAP_ADMIN_KEY)", () => {
  it("creates the key once even when instances start at the same moment", async () => {
    const secret = `ensure-${"k9".repeat(10)}`;
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureApiKey(database.db, { secret, role: "ADMIN", name: "bootstrap admin" })));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.apiKey.id)).size).toBe(1);
    expect(results[0].apiKey.prefix).toBe(displayPrefix(secret));
    expect(displayPrefix(secret).length).toBeLessThanOrEqual(secret.length / 5);
  });

  it("refuses a secret that is short or that a Bearer header cannot carry", async () => {
    for (const secret of ["short", "has space in it but is long", `${"a".repeat(300)}`, "ümlauts-are-not-b64-tokens"]) {
      await expect(ensureApiKey(database.db, { secret, role: "ADMIN", name: "x" })).rejects.toThrow(/secret must be/);
    }
  });
});

describe("listApiKeys", () => {
  it("pages through every key, oldest first, revoked ones included", async () => {
    for (let i = 0; i < 3; i++) await createApiKey(database.db, { name: `page ${i}`, role: "READER" });
    const seen: number[] = [];
    let after: string | null = null;
    let total: number;
    for (;;) {
      const page = await listApiKeys(database.db, { first: 2, after });
      seen.push(...page.items.map((key) => key.id));
      total = typeof page.totalCount === "function" ? await page.totalCount() : page.totalCount;
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen).toHaveLength(total);
    await expect(listApiKeys(database.db, { after: "nonsense!" })).rejects.toBeInstanceOf(DomainError);
  });
});

describe("npm run keys", () => {
  /** Runs the CLI against this file's database (PostgreSQL) or a PGlite directory of its own. */
  async function cli(args: string[], pgliteDir = path.join(scratch, "pglite")) {
    const out: string[] = [];
    const err: string[] = [];
    const env = onPostgres ? { DATABASE_URL: database.url } : { PGLITE_DIR: pgliteDir };
    const code = await keysCli(
      args,
      env,
      (text) => out.push(text),
      (text) => err.push(text),
    );
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("creates a key and prints its secret once; list shows it without the secret; revoke revokes it", async () => {
    const created = await cli(["create", "--role", "reader", "--name", "Acme"]);
    expect(created.code, created.err).toBe(0);
    const secret = /Secret \(shown this once, store it now\): (bo_\S+)/.exec(created.out)?.[1];
    expect(secret).toMatch(/^bo_[A-Za-z0-9_-]{43}$/);
    const id = /key (\S+) "Acme"/.exec(created.out)?.[1];

    const listed = await cli(["list"]);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(id);
    expect(listed.out).toContain(secret!.slice(0, 9));
    expect(listed.out).not.toContain(secret);

    const revoked = await cli(["revoke", id!]);
    expect(revoked.code, revoked.err).toBe(0);
    expect(revoked.out).toContain("Revoked READER key");
    const again = await cli(["revoke", id!]);
    expect(again).toMatchObject({ code: 1, err: "api key is revoked already" });
    expect((await cli(["list"])).out).toMatch(new RegExp(`${id}.*\\d{4}-\\d\\d-\\d\\dT[^ ]+Z\\s*$`, "m"));
  });

  it("explains what it takes", async () => {
    expect(await cli(["create", "--role", "ROOT", "--name", "x"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("--role must be one of ADMIN, OPERATOR, STOREFRONT, READER"),
    });
    expect(await cli(["create", "--role", "READER"])).toMatchObject({ code: 2, err: expect.stringContaining("--name is required") });
    // A SUPPLIER key is bound to its supplier (docs/ARCHITECTURE.md, "Dropship"); no other key has one.
    expect(await cli(["create", "--role", "SUPPLIER", "--name", "x"])).toMatchObject({ code: 2, err: expect.stringContaining("--supplier is required") });
    expect(await cli(["create", "--role", "READER", "--name", "x", "--supplier", "1"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("--supplier is only for --role SUPPLIER"),
    });
    expect(await cli(["create", "--role", "SUPPLIER", "--name", "x", "--supplier", "Zm9vOjE"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("is not a supplier id"),
    });
    expect(await cli(["create", "--role", "SUPPLIER", "--name", "x", "--supplier", "999999"])).toMatchObject({ code: 1, err: "supplier not found" });
    expect(await cli(["revoke", "Zm9vOjE"])).toMatchObject({ code: 2, err: expect.stringContaining("is not an API key id") });
    expect(await cli(["rotate"])).toMatchObject({ code: 2, err: expect.stringContaining("unknown command rotate") });
    expect((await cli(["help"])).out).toContain("Usage: npm run keys -- <command>");
  });

  it("refuses with what to do when the directory is in use and no API key is at hand", async () => {
    const dir = path.join(scratch, "held");
    const holder = await connect({ pgliteDir: dir });
    try {
      const out: string[] = [];
      const err: string[] = [];
      const code = await keysCli(
        ["list"],
        { PGLITE_DIR: dir },
        (text) => out.push(text),
        (text) => err.push(text),
      );
      expect(code).toBe(1);
      expect(err.join("\n")).toContain(`is in use by process ${process.pid}, and there is no API key to ask the server through its API`);
    } finally {
      await holder.close();
    }
    const out: string[] = [];
    expect(
      await keysCli(
        ["list"],
        { PGLITE_DIR: dir },
        (text) => out.push(text),
        () => {},
      ),
    ).toBe(0);
  });
});

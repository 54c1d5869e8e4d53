/**
 * The instance's cache of active API keys (server/http/api-key-cache.ts): a key is looked up once
 * and then served from memory, dropped as soon as the event hub reads its revocation, and never
 * trusted while the hub is not reading the log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { ApiKeyCache } from "../../server/http/api-key-cache.js";
import { EventHub } from "../../server/live/event-hub.js";
import { createApiKey, revokeApiKey } from "../../server/services/api-key.service.js";
import { createLogger } from "../../server/logger.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { waitFor } from "../support/live.js";

const database = useFreshDatabase();
const stops: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function followed(options: ConstructorParameters<typeof ApiKeyCache>[1] = {}) {
  const hub = new EventHub(database.connection, { logger: createLogger({ level: "silent" }), pollMs: 50 });
  await hub.start();
  const cache = new ApiKeyCache(database.db, options);
  const unfollow = cache.follow(hub);
  stops.push(() => hub.stop(), unfollow);
  return { hub, cache };
}

/** Revokes a key behind the service's back: no event, so only a look-up in the database can see it. */
async function revokeSilently(id: number) {
  await database.db.execute(sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${id}`);
}

describe("the API key cache", () => {
  it("serves a key it has looked up from memory", async () => {
    const { cache } = await followed();
    const { apiKey, secret } = await createApiKey(database.db, { name: "cached", role: "READER" });
    expect(await cache.authenticate(secret)).toEqual({ id: apiKey.id, role: "READER", name: "cached", prefix: apiKey.prefix });
    await revokeSilently(apiKey.id);
    // Still served: the answer came from the cache, not from the table.
    expect((await cache.authenticate(secret))?.id).toBe(apiKey.id);
    expect(cache.size).toBe(1);
  });

  it("drops a key when the hub reads its revocation, also one made elsewhere (no forget call)", async () => {
    const { cache } = await followed();
    const { apiKey, secret } = await createApiKey(database.db, { name: "revoked elsewhere", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    // What `npm run keys -- revoke` does: the service writes the revocation and its event.
    await revokeApiKey(database.db, apiKey.id);
    await waitFor(async () => (await cache.authenticate(secret)) === null, "the cache to drop the revoked key", 3000);
    expect(cache.size).toBe(0);
  });

  it("forgets a key at once when told (the revoking instance)", async () => {
    const { cache } = await followed();
    const { apiKey, secret } = await createApiKey(database.db, { name: "forgotten", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    await revokeSilently(apiKey.id);
    cache.forget(apiKey.id);
    expect(await cache.authenticate(secret)).toBeNull();
  });

  it("caches nothing before it follows a hub, and nothing once the hub has stopped", async () => {
    const cache = new ApiKeyCache(database.db);
    const { apiKey, secret } = await createApiKey(database.db, { name: "unfollowed", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    expect(cache.size).toBe(0);
    await revokeSilently(apiKey.id);
    expect(await cache.authenticate(secret)).toBeNull();

    const { hub, cache: following } = await followed();
    const other = await createApiKey(database.db, { name: "hub stops", role: "READER" });
    expect(await following.authenticate(other.secret)).not.toBeNull();
    await hub.stop();
    await revokeSilently(other.apiKey.id);
    // The hub no longer reads the log: a revocation could go unheard, so the table decides.
    expect(await following.authenticate(other.secret)).toBeNull();
  });

  it("looks a key up in the database when asked for a fresh answer, and refreshes its entry", async () => {
    const { cache } = await followed();
    const { apiKey, secret } = await createApiKey(database.db, { name: "fresh", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    await revokeSilently(apiKey.id);
    expect((await cache.authenticate(secret))?.id).toBe(apiKey.id);
    expect(await cache.authenticate(secret, { fresh: true })).toBeNull();
    expect(await cache.authenticate(secret)).toBeNull();
  });

  it("looks a key up again when the hub has not read the log lately", async () => {
    let now = Date.now();
    const { cache } = await followed({ clock: () => now, maxHubSilenceMs: 1_000 });
    const { apiKey, secret } = await createApiKey(database.db, { name: "silent hub", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    await revokeSilently(apiKey.id);
    now += 60_000;
    expect(await cache.authenticate(secret)).toBeNull();
  });

  it("looks a key up again after its time to live", async () => {
    let now = Date.now();
    const { cache } = await followed({ clock: () => now, ttlMs: 5_000, maxHubSilenceMs: Number.POSITIVE_INFINITY });
    const { apiKey, secret } = await createApiKey(database.db, { name: "expires", role: "READER" });
    expect(await cache.authenticate(secret)).not.toBeNull();
    await revokeSilently(apiKey.id);
    now += 4_000;
    expect(await cache.authenticate(secret)).not.toBeNull();
    now += 2_000;
    expect(await cache.authenticate(secret)).toBeNull();
  });

  it("does not cache an answer that a revocation overtook while it was read", async () => {
    const { cache } = await followed();
    const { apiKey, secret } = await createApiKey(database.db, { name: "overtaken", role: "READER" });
    const reading = cache.authenticate(secret);
    cache.forget(apiKey.id);
    expect(await reading).not.toBeNull();
    expect(cache.size).toBe(0);
  });

  it("keeps at most maxEntries keys, dropping the oldest", async () => {
    const { cache } = await followed({ maxEntries: 2 });
    const keys = await Promise.all([1, 2, 3].map((n) => createApiKey(database.db, { name: `k${n}`, role: "READER" })));
    for (const { secret } of keys) expect(await cache.authenticate(secret)).not.toBeNull();
    expect(cache.size).toBe(2);
    await revokeSilently(keys[0].apiKey.id);
    await revokeSilently(keys[2].apiKey.id);
    // The first was dropped for room, so the table answers for it; the third is still cached.
    expect(await cache.authenticate(keys[0].secret)).toBeNull();
    expect(await cache.authenticate(keys[2].secret)).not.toBeNull();
  });

  it("never looks up a secret that is not shaped like one", async () => {
    const { cache } = await followed();
    expect(await cache.authenticate("not a secret")).toBeNull();
    expect(await cache.authenticate("x".repeat(300))).toBeNull();
  });
});

describe("requests with a large body", () => {
  const server = useTestServer(database);

  it("are authenticated from the database: a key revoked where the cache cannot hear is refused at once for them", async () => {
    const { apiKey, secret } = await createApiKey(database.db, { name: "large bodies", role: "READER" });
    const small = () => server.gql("{ __typename }", {}, { key: secret });
    // Over 64 KiB of variables nobody uses: a body the cache is not trusted with.
    const large = () => server.gql("{ __typename }", { padding: "x".repeat(70 * 1024) }, { key: secret });
    expect((await small()).status).toBe(200);
    expect((await large()).status).toBe(200);
    await revokeSilently(apiKey.id);
    expect((await small()).status, "a small body, answered from the cache until the hub reads the revocation").toBe(200);
    expect((await large()).status).toBe(401);
  });
});

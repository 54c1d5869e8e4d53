/**
 * The API keys this instance has seen lately, so a request does not look its key up in the
 * database (docs/ARCHITECTURE.md, "Access and limits"). Only active keys are kept, by the hash of
 * their secret; an unknown or revoked secret is looked up every time, so nothing about it is
 * remembered.
 *
 * A revocation reaches the cache through the event log: the API_KEY_REVOKED event that
 * `revokeApiKey` commits with the revocation is read by every instance's event hub (at once on the
 * instance that wrote it, by NOTIFY within milliseconds on the others, by the hub's poll for a
 * script that runs no hub), and the hub's listener drops the key here. A key revoked on this
 * instance is dropped before the mutation answers (`forget`). An entry is trusted only while the
 * hub is known to be reading the log: when its last successful read is older than
 * `maxHubSilenceMs` (a lost database connection, a stalled hub), every request looks its key up
 * again, as before there was a cache. And every entry is looked up again after `ttlMs`, which also
 * keeps `lastUsedAt` (moved at most once a minute) within a minute or two.
 */
import type { Database } from "../../drizzle/db.js";
import type { AuthenticatedKey } from "../graphql/context.js";
import type { EventHub } from "../live/event-hub.js";
import { authenticate, hashSecret, isWellFormedSecret, TOUCH_INTERVAL_MS } from "../services/api-key.service.js";
import type { ApiKeyRecord } from "../services/types.js";

/** What a request's context keeps of its key. */
export function authenticatedKey(record: ApiKeyRecord): AuthenticatedKey {
  const key: AuthenticatedKey = { id: record.id, role: record.role, name: record.name, prefix: record.prefix };
  // Only a SUPPLIER key has one (api_keys_supplier_check): what its resolvers scope every read and act to.
  return record.supplierId === null ? key : { ...key, supplierId: record.supplierId };
}

export interface ApiKeyCacheOptions {
  /** How long an entry is used before the key is looked up again. Default: the lastUsedAt interval (60 s). */
  ttlMs?: number;
  /** Entries kept; the oldest goes first. Default 10,000. */
  maxEntries?: number;
  /** How recent the hub's last read of the log must be for entries to be trusted. Default 2 s (four polls). */
  maxHubSilenceMs?: number;
  clock?: () => number;
}

interface Entry {
  key: AuthenticatedKey;
  /** When the database last said the key was active. */
  checkedAt: number;
}

export class ApiKeyCache {
  private readonly byHash = new Map<string, Entry>();
  private hub: EventHub | null = null;
  /** Revocations heard so far: a look-up that overlapped one does not cache its answer. */
  private revocations = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxHubSilenceMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly db: Database,
    options: ApiKeyCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? TOUCH_INTERVAL_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxHubSilenceMs = options.maxHubSilenceMs ?? 2_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Drops revoked keys as the hub reads their API_KEY_REVOKED events; until this is called, nothing is cached. Returns a remover. */
  follow(hub: EventHub): () => void {
    this.hub = hub;
    const stop = hub.onEvent((event) => {
      if (event.type === "API_KEY_REVOKED") this.forget(Number(event.payload.apiKeyId));
    });
    return () => {
      stop();
      this.hub = null;
      this.byHash.clear();
    };
  }

  /**
   * The active key with this secret, or null; from the cache while it can be trusted, else from
   * the database. `fresh`: from the database whatever the cache holds (the answer still refreshes it).
   */
  async authenticate(secret: string, options: { fresh?: boolean } = {}): Promise<AuthenticatedKey | null> {
    if (!isWellFormedSecret(secret)) return null;
    const hash = hashSecret(secret);
    const now = this.clock();
    const trusted = this.hub !== null && now - this.hub.lastReadAt <= this.maxHubSilenceMs;
    const cached = this.byHash.get(hash);
    if (!options.fresh && cached && trusted && now - cached.checkedAt < this.ttlMs) return cached.key;
    // A revocation heard while the look-up ran may have committed after it read the key: its
    // answer is not cached. One heard later drops the entry then.
    const revocations = this.revocations;
    const record = await authenticate(this.db, secret);
    if (!record) {
      this.byHash.delete(hash);
      return null;
    }
    const key = authenticatedKey(record);
    if (trusted && revocations === this.revocations) {
      this.byHash.delete(hash);
      if (this.byHash.size >= this.maxEntries) this.byHash.delete(this.byHash.keys().next().value!);
      this.byHash.set(hash, { key, checkedAt: now });
    }
    return key;
  }

  /** Drops every entry of this key (a revocation). */
  forget(apiKeyId: number): void {
    this.revocations++;
    for (const [hash, entry] of this.byHash) if (entry.key.id === apiKeyId) this.byHash.delete(hash);
  }

  get size(): number {
    return this.byHash.size;
  }
}

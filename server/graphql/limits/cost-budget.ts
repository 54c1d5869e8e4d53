/**
 * Leaky buckets of query cost, one per caller (docs/ARCHITECTURE.md, "Access and limits"), as Shopify meters its API:
 * each request pours its requested cost into the caller's bucket, the bucket leaks
 * `refillPerSecond` points a second, and a request that would overflow it is refused with the
 * time until it would fit. After the request runs, the difference between the requested and the
 * actual cost is given back, or, when it did more work than estimated, charged (the bucket may then
 * be in debt, and refuses until it has drained below its capacity).
 *
 * Each instance meters in its own memory (no round trip on the request path) and `sync` merges
 * every instance's spending into one bucket per caller in the database a few times a second:
 * the shared level comes back and replaces the local one, so N instances never give a caller N
 * budgets for longer than one sync interval (docs/ARCHITECTURE.md, "Access and limits").
 */

/** The size of a caller's bucket and how fast it drains. */
export interface BucketSize {
  /** The most points a caller may spend at once. */
  capacity: number;
  /** Points the bucket drains a second: the sustained rate. */
  refillPerSecond: number;
}

export type Withdrawal = { ok: true; remaining: number } | { ok: false; remaining: number; retryAfterSeconds: number };

interface Bucket {
  /** Points in the bucket at `at`. */
  level: number;
  at: number;
  /** The drain rate it was last used with. */
  rate: number;
}

/** What one caller spent on this instance since the last sync (negative: more given back). */
export interface BudgetSpending {
  caller: string;
  spent: number;
  /** The caller's drain rate, points a second. */
  refillPerSecond: number;
}

/**
 * Adds each caller's spending to its shared bucket (drained at its rate since it was last
 * touched) and answers every shared bucket that is not empty, by caller.
 */
export type BudgetStore = (spending: readonly BudgetSpending[]) => Promise<ReadonlyMap<string, { level: number; refillPerSecond: number }>>;

export interface CostBudgetOptions {
  /** Seconds on a monotonic clock. Default: `performance.now() / 1000`. */
  now?: () => number;
  /** Buckets kept before drained ones are forgotten. Default 10,000. */
  maxBuckets?: number;
}

/** Every caller's bucket on this instance. */
export class CostBudget {
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets changed here (not only drained) since the last sync. */
  private readonly dirty = new Set<string>();
  /** Each bucket's level right after the last sync: what the shared bucket already counts. */
  private readonly synced = new Map<string, { level: number; at: number }>();
  /** The merge in flight, if any: the next one waits for it. */
  private syncing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly maxBuckets: number;

  constructor(options: CostBudgetOptions = {}) {
    this.now = options.now ?? (() => performance.now() / 1000);
    this.maxBuckets = options.maxBuckets ?? 10_000;
  }

  /** The bucket's level now, after what it leaked since it was last touched. */
  private drained(key: string, size: BucketSize): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { level: 0, at: now, rate: size.refillPerSecond };
    // No cap at the capacity: work charged after it ran (see `charge`) may leave the bucket in debt.
    const level = Math.max(0, bucket.level - (now - bucket.at) * size.refillPerSecond);
    return { level, at: now, rate: size.refillPerSecond };
  }

  private store(key: string, bucket: Bucket): void {
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxBuckets) this.forget();
  }

  /**
   * Forgets buckets that have drained (a fresh one is the same); then, if there are still too
   * many, the least recently used: under a flood of new callers an old caller's debt is forgiven
   * rather than memory growing without bound.
   */
  private forget(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.level - (now - bucket.at) * bucket.rate <= 0) this.drop(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) break;
      this.drop(key);
    }
  }

  private drop(key: string): void {
    this.buckets.delete(key);
    this.synced.delete(key);
  }

  /** Points `key` may spend now. */
  remaining(key: string, size: BucketSize): number {
    return size.capacity - this.drained(key, size).level;
  }

  /**
   * Pours `cost` into `key`'s bucket when it fits; otherwise changes nothing and says how many
   * seconds until it would fit (Infinity when `cost` exceeds the capacity).
   */
  withdraw(key: string, cost: number, size: BucketSize): Withdrawal {
    const bucket = this.drained(key, size);
    const overflow = bucket.level + cost - size.capacity;
    if (overflow > 0) {
      const retryAfterSeconds = cost > size.capacity ? Number.POSITIVE_INFINITY : overflow / size.refillPerSecond;
      return { ok: false, remaining: size.capacity - bucket.level, retryAfterSeconds };
    }
    bucket.level += cost;
    this.store(key, bucket);
    this.dirty.add(key);
    return { ok: true, remaining: size.capacity - bucket.level };
  }

  /**
   * Pours `cost` in whether it fits or not: for work already done (objects beyond the estimate, a
   * subscription event that was computed). The bucket may go into debt past its capacity; returns
   * the seconds until it is back within it (0 when it is), what a caller that must pay first waits.
   */
  charge(key: string, cost: number, size: BucketSize): number {
    const bucket = this.drained(key, size);
    if (cost > 0) bucket.level += cost;
    this.store(key, bucket);
    if (cost > 0) this.dirty.add(key);
    return Math.max(0, bucket.level - size.capacity) / size.refillPerSecond;
  }

  /**
   * Settles a request that withdrew `withdrawn` points and turned out to owe `owed`: gives back the
   * difference, or charges what is missing.
   */
  settle(key: string, withdrawn: number, owed: number, size: BucketSize): void {
    if (owed < withdrawn) this.refund(key, withdrawn - owed, size);
    else if (owed > withdrawn) this.charge(key, owed - withdrawn, size);
  }

  /** Gives back `points` withdrawn earlier (the requested cost was more than the actual). */
  refund(key: string, points: number, size: BucketSize): void {
    if (points <= 0 || !this.buckets.has(key)) return;
    const bucket = this.drained(key, size);
    const given = Math.min(points, bucket.level);
    bucket.level -= given;
    this.store(key, bucket);
    this.dirty.add(key);
  }

  /** `key`'s level now, as its drained local bucket says (0 when it has none). */
  private levelNow(key: string): number {
    const bucket = this.buckets.get(key);
    return bucket ? Math.max(0, bucket.level - (this.now() - bucket.at) * bucket.rate) : 0;
  }

  /**
   * Sends to `store` what each caller changed here since the last sync and takes the shared levels
   * back. What a caller changed is its local level now less what its level right after the last
   * sync has drained to: spending net of refunds and of the draining the spending itself enjoyed,
   * so that the shared bucket of a caller served by one instance is exactly its local one (a
   * client that waits its Retry-After gets through). Each local bucket then becomes the shared
   * level plus what changed here while the sync was on its way. Shared buckets of callers this
   * instance has not served come back too, so their first request here already meets what they
   * spent elsewhere. A failed store keeps everything for the next sync.
   */
  sync(store: BudgetStore): Promise<void> {
    // One at a time: two merges in flight would each take the other's half-done levels back.
    const previous = this.syncing ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.syncOnce(store));
    this.syncing = next;
    return next.finally(() => {
      if (this.syncing === next) this.syncing = undefined;
    });
  }

  private async syncOnce(store: BudgetStore): Promise<void> {
    const startedAt = this.now();
    const sent = new Map<string, { level: number; rate: number }>();
    const batch: BudgetSpending[] = [];
    for (const caller of this.dirty) {
      const bucket = this.buckets.get(caller);
      if (!bucket) continue;
      const level = this.levelNow(caller);
      const base = this.synced.get(caller);
      const counted = base ? Math.max(0, base.level - (startedAt - base.at) * bucket.rate) : 0;
      sent.set(caller, { level, rate: bucket.rate });
      batch.push({ caller, spent: level - counted, refillPerSecond: bucket.rate });
    }
    this.dirty.clear();
    let shared: Awaited<ReturnType<BudgetStore>>;
    try {
      shared = await store(batch);
    } catch (error) {
      for (const caller of sent.keys()) this.dirty.add(caller);
      throw error;
    }
    const now = this.now();
    for (const [caller, bucket] of shared) {
      const before = sent.get(caller);
      // Changed here while the sync was on its way: kept on top, and sent next time.
      const meanwhile = before ? this.levelNow(caller) - Math.max(0, before.level - (now - startedAt) * before.rate) : 0;
      if (!before && this.dirty.has(caller)) continue;
      const level = Math.max(0, bucket.level);
      this.store(caller, { level: Math.max(0, level + meanwhile), at: now, rate: bucket.refillPerSecond });
      this.synced.set(caller, { level, at: now });
    }
  }
}

/**
 * The read cache (docs/ARCHITECTURE.md, "The read cache"): a storefront asks for the same product
 * page on every view, so an answer is kept and served again for as long as the database has
 * committed nothing since it was read. Freshness is the database's own word, not a time to live:
 *
 *  - before a cacheable query runs, the {@link CommitClock} is read (a reading taken after the
 *    request arrived); an answer kept under the same key and the same reading is sent as it is;
 *  - otherwise the query runs, and once it has answered the clock is read again: when no write
 *    committed in between, every statement of the execution saw exactly what the first reading
 *    names, and the answer is kept under it;
 *  - so a write by any instance, any script or any hand in psql ends every kept answer at the
 *    next request: a hit is as fresh as an execution would have been.
 *
 * A few fields read the clock (`olderThanHours`, lateness): `maxAgeMs` bounds how long an answer
 * is served even when nothing was written. Answers are kept per API key (role, supplier scope and
 * limits all come with the key) and per document, operation and variables. Only queries whose
 * every root field is in {@link CACHEABLE_ROOTS} are kept, and only answers without errors. A hit
 * still passes the guards, the cost limits and the budget (they run before this plugin's hook),
 * and is charged what its execution was charged: the tally of objects and work is kept with it.
 */
import {
  type ApolloServerPlugin,
  type GraphQLRequestContextResponseForOperation,
  type GraphQLRequestContextWillSendResponse,
  type GraphQLResponse,
  HeaderMap,
} from "@apollo/server";
import { type DocumentNode, type FormattedExecutionResult, Kind, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { CommitClock } from "../../drizzle/commit-clock.js";
import type { Context } from "./context.js";
import { meterOf, replayTally } from "./limits/object-meter.js";
import { countReturnedObjects } from "./limits/query-cost.js";

/** Root fields whose answers are read from the database alone (a storefront's and a back office's reads). */
export const CACHEABLE_ROOTS: ReadonlySet<string> = new Set([
  "backlog",
  "locations",
  "node",
  "order",
  "orders",
  "product",
  "products",
  "restocks",
  "supplierOrders",
  "suppliers",
]);

/** The defaults: how long an answer may be served at most, and how much is kept. */
export const DEFAULT_READ_CACHE_MAX_AGE_MS = 1_000;
const DEFAULT_MAX_ENTRIES = 1_000;
/** Objects kept in all answers together (one object is a few hundred bytes at most). */
const DEFAULT_MAX_OBJECTS = 100_000;

/** Variables longer than this (as JSON) are not kept under: a product page's are a few dozen characters. */
const MAX_VARIABLES_LENGTH = 4_096;
/** The longest a request waits for the same execution under way before it runs its own. */
const MAX_WAIT_MS = 5_000;

export type ReadCacheOutcome = "hit" | "miss";

export interface ReadCacheOptions {
  clock: CommitClock;
  /** The longest an answer is served, ms, even when nothing was written; 0 turns the cache off. */
  maxAgeMs?: number;
  maxEntries?: number;
  maxObjects?: number;
  /** Hears the outcome of every cacheable query (the HTTP layer counts them for /metrics). Must not throw. */
  onLookup?: (outcome: ReadCacheOutcome) => void;
}

interface Entry {
  reading: string;
  readAt: number;
  data: Record<string, unknown>;
  objects: number;
  work: number;
}

/**
 * Whether every root field of `operation` (through fragments) is in {@link CACHEABLE_ROOTS} or
 * `__typename`, and one at least is not `__typename` (which is answered from memory).
 */
export function isCacheableQuery(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  // Apollo hands every request of the same text the same parsed document: decided once per operation.
  let cacheable = decided.get(operation);
  if (cacheable === undefined) decided.set(operation, (cacheable = readsOnly(document, operation)));
  return cacheable;
}

const decided = new WeakMap<OperationDefinitionNode, boolean>();

function readsOnly(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.operation !== "query") return false;
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const seen = new Set<string>();
  let reads = false;
  const rootsOf = (set: SelectionSetNode): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === "__typename") return true;
        reads = true;
        return CACHEABLE_ROOTS.has(selection.name.value);
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) return rootsOf(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return true;
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment !== undefined && rootsOf(fragment);
    });
  return rootsOf(operation.selectionSet) && reads;
}

/**
 * The variables as part of a key, or undefined when they are not worth keeping under: longer than
 * {@link MAX_VARIABLES_LENGTH}, or too deep to write out (the body limit bounds them, not their
 * depth: the execution refuses what it cannot coerce).
 */
function keyOfVariables(variables: Record<string, unknown> | undefined): string | undefined {
  try {
    const text = JSON.stringify(variables ?? {});
    return text.length <= MAX_VARIABLES_LENGTH ? text : undefined;
  } catch {
    return undefined;
  }
}

export function readCachePlugin(options: ReadCacheOptions): ApolloServerPlugin<Context> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_READ_CACHE_MAX_AGE_MS;
  if (maxAgeMs <= 0) return {};
  const cache = new ReadCache(
    options.clock,
    maxAgeMs,
    options.maxEntries ?? DEFAULT_MAX_ENTRIES,
    options.maxObjects ?? DEFAULT_MAX_OBJECTS,
    options.onLookup,
  );
  return {
    async requestDidStart() {
      return new CacheableRequest(cache);
    },
  };
}

/** The answers kept, least recently served first, and the executions under way. */
class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private keptObjects = 0;
  /**
   * Executions under way, by key: a request that misses with the same reading waits for the one
   * running rather than running the same statements again (a write ends every kept answer at
   * once, and the requests after it would otherwise all run).
   */
  readonly running = new Map<string, { reading: string; kept: Promise<Entry | undefined> }>();

  constructor(
    readonly clock: CommitClock,
    private readonly maxAgeMs: number,
    private readonly maxEntries: number,
    readonly maxObjects: number,
    readonly heard: (outcome: ReadCacheOutcome) => void = () => {},
  ) {}

  /** Whether `entry` may be served to a request whose reading is `reading`, taken at `readAt`. */
  fresh(entry: Entry | undefined, reading: string, readAt: number): entry is Entry {
    return entry !== undefined && entry.reading === reading && readAt - entry.readAt < this.maxAgeMs;
  }

  /** The answer kept under `key` (marked as just served). */
  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Map keeps insertion order: re-inserted, it is the most recently served.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  keep(key: string, entry: Entry): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, entry);
    this.keptObjects += entry.objects;
    for (const [oldest, value] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.keptObjects <= this.maxObjects) break;
      this.drop(oldest, value);
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.keptObjects -= entry.objects;
  }
}

/** One request's way through the cache: Apollo calls these hooks as its methods. */
class CacheableRequest {
  private key: string | undefined;
  private reading: string | undefined;
  private readAt = 0;
  /** Set when this request runs the execution the others with its key and reading wait for. */
  private settle: ((entry: Entry | undefined) => void) | undefined;

  constructor(private readonly cache: ReadCache) {}

  async responseForOperation({ document, operation, queryHash, request, contextValue }: GraphQLRequestContextResponseForOperation<Context>) {
    // No operation (an unknown operationName): the execution refuses it.
    if (!contextValue.apiKey || !operation || !isCacheableQuery(document, operation)) return null;
    const variables = keyOfVariables(request.variables);
    if (variables === undefined) return null;
    const { cache } = this;
    let reading: string;
    try {
      this.readAt = performance.now();
      reading = this.reading = await cache.clock.now();
    } catch {
      // The database did not answer: the execution will say so.
      return null;
    }
    const key = (this.key = `${contextValue.apiKey.id}\n${queryHash}\n${operation.name?.value ?? ""}\n${variables}`);
    const entry = cache.get(key);
    if (cache.fresh(entry, reading, this.readAt)) return this.serve(entry, contextValue);
    const under = cache.running.get(key);
    if (under && under.reading === reading) {
      // Never longer than an execution of its own could take: past that, it runs.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const kept = await Promise.race([under.kept, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), MAX_WAIT_MS)))]);
      clearTimeout(timer);
      if (cache.fresh(kept, reading, this.readAt)) return this.serve(kept, contextValue);
    } else {
      const kept = new Promise<Entry | undefined>((resolve) => (this.settle = resolve)).finally(() => {
        if (cache.running.get(key)?.kept === kept) cache.running.delete(key);
      });
      cache.running.set(key, { reading, kept });
    }
    cache.heard("miss");
    return null;
  }

  async willSendResponse({ response, contextValue }: GraphQLRequestContextWillSendResponse<Context>) {
    const done = this.settle;
    if (!done) return;
    const entry = this.keepable(response.body.kind === "single" ? response.body.singleResult : undefined, contextValue);
    const key = this.key;
    if (!entry || key === undefined) return done(undefined);
    // After the answer: its reading is taken once every statement of the execution is done.
    this.cache.clock.now().then(
      (after) => {
        const unchanged = after === entry.reading;
        if (unchanged) this.cache.keep(key, entry);
        done(unchanged ? entry : undefined);
      },
      () => done(undefined),
    );
  }

  private serve(entry: Entry, contextValue: Context): GraphQLResponse {
    replayTally(contextValue, { objects: entry.objects, work: entry.work });
    this.cache.heard("hit");
    return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: "single", singleResult: { data: entry.data } } };
  }

  private keepable(result: FormattedExecutionResult | undefined, contextValue: Context): Entry | undefined {
    const { reading, readAt } = this;
    if (reading === undefined || !result) return undefined;
    const { data, errors } = result;
    const tally = meterOf(contextValue)?.tally();
    if (!data || errors?.length || !tally || tally.stopped || tally.objects > this.cache.maxObjects) return undefined;
    // Counted once here, as the settlement counts a response (actualCost): a hit replays the count.
    return { reading, readAt, data, objects: Math.max(tally.objects, countReturnedObjects(data)), work: tally.work };
  }
}

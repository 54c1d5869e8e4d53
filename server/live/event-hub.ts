/**
 * One instance's window on the event log: it stamps and reads each committed event once and
 * fans it out in memory to every subscriber on this instance.
 *
 * Wake-ups: a commit on this instance wakes its hub directly (after commit, never inside the
 * transaction); the hub that stamps new events sends one PostgreSQL NOTIFY so the other
 * instances read them; a slow poll covers writers that run no hub (scripts, other tools).
 */
import type { Connection, Database } from "../../drizzle/db.js";
import { type LoggedEvent, latestSeq, readEvents, STAMP_BATCH, stampEvents } from "../services/event-log.service.js";
import { onCommit } from "../../drizzle/transaction.js";
import { createLogger, type Logger, serializeError } from "../logger.js";

const CHANNEL = "backorder_events";

/** WebSocket close code for a subscriber that fell too far behind (resume with its last cursor). */
export const SUBSCRIBER_TOO_SLOW = 4413;
const READ_BATCH = 1000;

export interface EventHubOptions {
  /** Fallback poll, for commits that send no wake-up. Default 500 ms. */
  pollMs?: number;
  /** Events a subscriber may have queued before it is dropped as too slow. Default 5000. */
  maxQueue?: number;
  logger?: Logger;
}

/** Why a subscription ended early. */
export class SubscriberTooSlowError extends Error {
  constructor(readonly lastSeq: number) {
    super(`subscriber fell too far behind; resume with after set to the last cursor received`);
    this.name = "SubscriberTooSlowError";
  }
}

/** The code of {@link CursorExpiredError} in a GraphQL error's extensions. */
export const CURSOR_EXPIRED = "CURSOR_EXPIRED";

/**
 * Why a subscription cannot deliver every event after its cursor: some were pruned (the log keeps
 * EVENT_RETENTION_HOURS). Positions have no gaps, so a read that does not begin right after the
 * last position proves it. Its `extensions` become the GraphQL error's, so the subscription fails
 * with `code: CURSOR_EXPIRED` wherever the gap is found.
 */
export class CursorExpiredError extends Error {
  readonly extensions = { code: CURSOR_EXPIRED };

  constructor(readonly afterSeq: number) {
    super("events after this cursor were pruned: load a snapshot, read Query.eventCursor and subscribe with after set to it");
    this.name = "CursorExpiredError";
  }
}

/** A subscriber's live feed: events after `startSeq` that pass its filter, queued until read. */
export class EventFeed implements AsyncIterableIterator<LoggedEvent> {
  private queue: LoggedEvent[] = [];
  private waiting: { resolve: (result: IteratorResult<LoggedEvent>) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;
  private done = false;

  constructor(
    readonly startSeq: number,
    private readonly accepts: (event: LoggedEvent) => boolean,
    private readonly maxQueue: number,
    private readonly detach: (feed: EventFeed) => void,
    private readonly onOverflow?: (error: SubscriberTooSlowError) => void,
  ) {}

  /** Events queued and not yet read (metrics). */
  get queued(): number {
    return this.queue.length;
  }

  /** Called by the hub for each new event. */
  push(event: LoggedEvent): void {
    if (this.done || event.seq <= this.startSeq || !this.accepts(event)) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      const error = new SubscriberTooSlowError(this.queue[0].seq - 1);
      this.fail(error);
      this.onOverflow?.(error);
      return;
    }
    this.queue.push(event);
  }

  /** Ends the feed with an error, delivered to the reader waiting or on the next read. */
  fail(error: Error): void {
    if (this.done) return;
    this.failure = error;
    this.queue = [];
    this.detach(this);
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = null;
      this.done = true;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<LoggedEvent>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.failure) {
      const error = this.failure;
      this.done = true;
      return Promise.reject(error);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<LoggedEvent>> {
    this.done = true;
    this.queue = [];
    this.detach(this);
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/**
 * Reads the log from a cursor up to where a live feed starts, then hands over to the feed. Every
 * page must begin right after the position read last (or the cursor): when pruning took events
 * in between, it fails with {@link CursorExpiredError} instead of skipping them.
 */
class ReplayThenLive implements AsyncIterableIterator<LoggedEvent> {
  private buffer: LoggedEvent[] = [];
  private replaying = true;

  constructor(
    private readonly db: Database,
    private readonly accepts: (event: LoggedEvent) => boolean,
    private position: number,
    private readonly feed: EventFeed,
  ) {}

  /** Reads the next page; the feed starts at an event the hub read, so up to it nothing may be missing. */
  async read(): Promise<void> {
    const page = await readEvents(this.db, this.position, READ_BATCH, this.feed.startSeq);
    if (page[0]?.seq !== this.position + 1) throw new CursorExpiredError(this.position);
    this.position = page[page.length - 1].seq;
    this.buffer = page.filter(this.accepts);
    this.replaying = this.position < this.feed.startSeq;
  }

  async next(): Promise<IteratorResult<LoggedEvent>> {
    while (this.replaying && this.buffer.length === 0) {
      try {
        await this.read();
      } catch (error) {
        this.feed.return();
        throw error;
      }
    }
    const event = this.buffer.shift();
    return event ? { value: event, done: false } : this.feed.next();
  }

  return(): Promise<IteratorResult<LoggedEvent>> {
    this.replaying = false;
    this.buffer = [];
    return this.feed.return();
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

export class EventHub {
  private feeds = new Set<EventFeed>();
  private listeners = new Set<(event: LoggedEvent) => void>();
  private lastSeq = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopCommit: (() => void) | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private closed = false;
  private readonly pollMs: number;
  private readonly logger: Logger;
  readonly maxQueue: number;

  constructor(
    private readonly connection: Connection,
    options: EventHubOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.maxQueue = options.maxQueue ?? 5000;
    this.logger = options.logger ?? createLogger();
  }

  get db(): Database {
    return this.connection.db;
  }

  /** The newest position this hub has delivered. */
  get position(): number {
    return this.lastSeq;
  }

  /** When (Date.now()) the hub last finished reading the log to its end; -Infinity before the first time and after `stop`. */
  get lastReadAt(): number {
    return this.closed ? Number.NEGATIVE_INFINITY : this.readAt;
  }

  get subscriberCount(): number {
    return this.feeds.size;
  }

  /** Events queued in all feeds together and in the fullest one (metrics; a feed past `maxQueue` is dropped). */
  queueDepths(): { queued: number; maxQueued: number } {
    let queued = 0;
    let maxQueued = 0;
    for (const feed of this.feeds) {
      queued += feed.queued;
      maxQueued = Math.max(maxQueued, feed.queued);
    }
    return { queued, maxQueued };
  }

  /** Starts following the log from its current end. */
  async start(): Promise<void> {
    const started = Date.now();
    await stampEvents(this.db);
    this.lastSeq = await latestSeq(this.db);
    this.readAt = started;
    this.stopCommit = onCommit(this.db, () => this.wake());
    if (this.connection.postgres) {
      const listener = await this.connection.postgres.listen(CHANNEL, () => this.wake());
      this.unlisten = () => listener.unlisten();
    }
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
  }

  /** Resolves once no read of the log is running or queued (a test measuring the database waits on it). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops following; open feeds end. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stopCommit?.();
    await this.unlisten?.().catch(() => {});
    await this.running?.catch(() => {});
    for (const feed of [...this.feeds]) feed.return();
  }

  /**
   * Opens a live feed of the events that pass `accepts`, after the hub's current position or
   * after `floor` when that is later. `onOverflow` hears when the feed is dropped as too slow.
   */
  attach(accepts: (event: LoggedEvent) => boolean, floor = 0, onOverflow?: (error: SubscriberTooSlowError) => void): EventFeed {
    const feed = new EventFeed(Math.max(this.lastSeq, floor), accepts, this.maxQueue, (f) => this.feeds.delete(f), onOverflow);
    this.feeds.add(feed);
    return feed;
  }

  /**
   * Every event after `after` that passes `accepts`, in order and each once: first those already
   * in the log (read from the database), then live ones. The live feed is attached before the
   * replay starts, so nothing that commits in between falls into the seam. The first page is read
   * before this resolves: it rejects with {@link CursorExpiredError} when the events right after
   * `after` were pruned, and once read they cannot be. A later page, or the hub itself, can still
   * find a gap (pruning during a long replay): the iterator then fails with the same error.
   */
  async stream(
    accepts: (event: LoggedEvent) => boolean,
    after: number | undefined,
    onOverflow?: (error: SubscriberTooSlowError) => void,
  ): Promise<AsyncIterableIterator<LoggedEvent>> {
    const feed = this.attach(accepts, after ?? 0, onOverflow);
    if (after === undefined || after >= feed.startSeq) return feed;
    const replay = new ReplayThenLive(this.db, accepts, after, feed);
    try {
      await replay.read();
    } catch (error) {
      feed.return();
      throw error;
    }
    return replay;
  }

  /**
   * Calls `listener` with every event this hub reads, of any type, in log order, before the
   * feeds get it (the WebSocket server hears API_KEY_REVOKED this way). Returns a remover.
   * A listener must not throw.
   */
  onEvent(listener: (event: LoggedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the hub to stamp and read new events soon; calls coalesce. */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.logger.warn("event hub could not read the log", { error: serializeError(error) }))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    const started = Date.now();
    const stamped = await stampEvents(this.db);
    if (stamped > 0 && this.connection.postgres) {
      // Other instances read what this one stamped; NOTIFY outside any business transaction.
      await this.connection.postgres.notify(CHANNEL, "").catch(() => {});
    }
    for (;;) {
      const events = await readEvents(this.db, this.lastSeq, READ_BATCH);
      if (events.length > 0 && events[0].seq !== this.lastSeq + 1) this.skipped(events[0].seq);
      for (const event of events) {
        this.lastSeq = event.seq;
        for (const listener of this.listeners) listener(event);
        for (const feed of this.feeds) feed.push(event);
      }
      if (events.length < READ_BATCH) break;
    }
    if (stamped >= STAMP_BATCH) this.again = true;
    // What committed before this read began has been heard.
    this.readAt = started;
  }

  /**
   * Events before `next` were pruned before this hub read them (it was stalled for longer than the
   * retention): the feeds that needed them end with CURSOR_EXPIRED rather than skip them.
   */
  private skipped(next: number): void {
    this.logger.warn("event hub: events were pruned before it read them; subscriptions that needed them end with CURSOR_EXPIRED", {
      lastSeq: this.lastSeq,
      nextSeq: next,
    });
    for (const feed of [...this.feeds]) if (feed.startSeq < next - 1) feed.fail(new CursorExpiredError(feed.startSeq));
  }
}

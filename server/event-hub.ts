/**
 * One instance's window on the event log: it stamps and reads each committed event once and
 * fans it out in memory to every subscriber on this instance.
 *
 * Wake-ups: a commit on this instance wakes its hub directly (after commit, never inside the
 * transaction); the hub that stamps new events sends one PostgreSQL NOTIFY so the other
 * instances read them; a slow poll covers writers that run no hub (scripts, other tools).
 */
import type { Connection, Database } from "../drizzle/db.js";
import { type LoggedEvent, latestSeq, readEvents, STAMP_BATCH, stampEvents } from "./services/event-log.service.js";
import { onCommit } from "./services/transaction.js";
import { createLogger, type Logger, serializeError } from "./logger.js";

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

/** A subscriber's live feed: events after `startSeq` that pass its filter, queued until read. */
export class EventFeed implements AsyncIterableIterator<LoggedEvent> {
  private queue: LoggedEvent[] = [];
  private waiting: ((result: IteratorResult<LoggedEvent>) => void) | null = null;
  private failure: Error | null = null;
  private done = false;

  constructor(
    readonly startSeq: number,
    private readonly accepts: (event: LoggedEvent) => boolean,
    private readonly maxQueue: number,
    private readonly detach: (feed: EventFeed) => void,
    private readonly onOverflow?: (error: SubscriberTooSlowError) => void,
  ) {}

  /** Called by the hub for each new event. */
  push(event: LoggedEvent): void {
    if (this.done || event.seq <= this.startSeq || !this.accepts(event)) return;
    if (this.waiting) {
      const resolve = this.waiting;
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

  /** Ends the feed with an error, delivered once the queue is read. */
  fail(error: Error): void {
    if (this.done) return;
    this.failure = error;
    this.queue = [];
    this.detach(this);
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      this.done = true;
      resolve({ value: undefined, done: true });
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
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LoggedEvent>> {
    this.done = true;
    this.queue = [];
    this.detach(this);
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/** Reads the log from a cursor up to where a live feed starts, then hands over to the feed. */
class ReplayThenLive implements AsyncIterableIterator<LoggedEvent> {
  private buffer: LoggedEvent[] = [];
  private replaying = true;

  constructor(
    private readonly db: Database,
    private readonly accepts: (event: LoggedEvent) => boolean,
    private position: number,
    private readonly feed: EventFeed,
  ) {}

  async next(): Promise<IteratorResult<LoggedEvent>> {
    while (this.replaying && this.buffer.length === 0) {
      const page = await readEvents(this.db, this.position, READ_BATCH, this.feed.startSeq);
      if (page.length === 0) this.replaying = false;
      else {
        this.position = page[page.length - 1].seq;
        this.buffer = page.filter(this.accepts);
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
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopCommit: (() => void) | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private closed = false;
  private readonly pollMs: number;
  private readonly logger: Logger;
  readonly maxQueue: number;

  constructor(private readonly connection: Connection, options: EventHubOptions = {}) {
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

  get subscriberCount(): number {
    return this.feeds.size;
  }

  /** Starts following the log from its current end. */
  async start(): Promise<void> {
    await stampEvents(this.db);
    this.lastSeq = await latestSeq(this.db);
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
   * replay starts, so nothing that commits in between falls into the seam.
   */
  stream(
    accepts: (event: LoggedEvent) => boolean,
    after: number | undefined,
    onOverflow?: (error: SubscriberTooSlowError) => void,
  ): AsyncIterableIterator<LoggedEvent> {
    const feed = this.attach(accepts, after ?? 0, onOverflow);
    if (after === undefined || after >= feed.startSeq) return feed;
    return new ReplayThenLive(this.db, accepts, after, feed);
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
    const stamped = await stampEvents(this.db);
    if (stamped > 0 && this.connection.postgres) {
      // Other instances read what this one stamped; NOTIFY outside any business transaction.
      await this.connection.postgres.notify(CHANNEL, "").catch(() => {});
    }
    for (;;) {
      const events = await readEvents(this.db, this.lastSeq, READ_BATCH);
      for (const event of events) {
        this.lastSeq = event.seq;
        for (const listener of this.listeners) listener(event);
        for (const feed of this.feeds) feed.push(event);
      }
      if (events.length < READ_BATCH) break;
    }
    if (stamped >= STAMP_BATCH) this.again = true;
  }
}

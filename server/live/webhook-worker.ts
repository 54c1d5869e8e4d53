/**
 * The webhook delivery loop of one instance (docs/ARCHITECTURE.md, "Webhooks"). After the event
 * hub reads new events (a commit here, a NOTIFY from another instance, its poll) it reads them into
 * deliveries (`fanOutWebhookBatch`), then claims due deliveries with a lease and POSTs each
 * one, signed, outside any transaction: a business transaction never waits for a receiver. At most
 * `maxInFlight` attempts at once and `perEndpoint` per endpoint, so a slow or dead endpoint holds
 * its own slots and no one else's. A poll covers what no wake-up announces: retries coming due,
 * leases lapsing after another instance died, endpoints created elsewhere.
 */
import type { Database } from "../../drizzle/db.js";
import { createLogger, type Logger, serializeError } from "../logger.js";
import {
  type AttemptResult,
  type ClaimedDelivery,
  claimDueDeliveries,
  FAN_OUT_BATCH,
  fanOutWebhookBatch,
  recordDeliveryAttempts,
  type AttemptToRecord,
  type RecordedAttempt,
} from "../services/webhook-delivery.service.js";
import { WEBHOOK_LIMITS } from "../services/webhook-endpoint.service.js";
import { signWebhook } from "../services/webhook-signature.js";
import { createWebhookAgents, postWebhook } from "./webhook-post.js";

export interface WebhookWorkerOptions {
  /** WEBHOOK_MAX_ATTEMPTS: attempts before a delivery is FAILED (the dead letter). Default 8. */
  maxAttempts?: number;
  /** WEBHOOK_TIMEOUT_MS: an attempt without an answer within this is failed. Default 10,000. */
  timeoutMs?: number;
  /**
   * WEBHOOK_ALLOW_PRIVATE_URLS: connect to whatever address an endpoint's host is or resolves to.
   * Default false: an attempt whose host is or resolves to a non-public address fails without
   * being sent (webhook-post.ts).
   */
  allowPrivateUrls?: boolean;
  /** How long a claim holds a delivery; longer than an attempt can take. Default twice the timeout, at least the timeout + 1 s. */
  leaseMs?: number;
  /** The fallback poll. Default 1,000 ms. */
  pollMs?: number;
  /**
   * Attempts in flight at once on this instance. Default 1,600: every endpoint there may be (at
   * most 50) times `perEndpoint`, so endpoints that hang never take a healthy one's slots.
   */
  maxInFlight?: number;
  /**
   * Attempts in flight at once to one endpoint on this instance. Default 32: a claim and a record
   * per delivery cost two round trips under load, so the slots of one endpoint bound its rate
   * (8 kept one endpoint at about 250 a second, behind the orders; two deliveries of one order
   * are never in flight together, whatever this is).
   */
  perEndpoint?: number;
  /** Retry backoff: up to `baseMs` before the first retry, doubling, at most `capMs` (full jitter from `random`). */
  backoff?: { baseMs?: number; capMs?: number; random?: () => number };
  /** How long `stop` waits for attempts in flight before leaving them to their lease. Default 5,000 ms. */
  stopWaitMs?: number;
  logger?: Logger;
}

/** The defaults of WEBHOOK_MAX_ATTEMPTS and WEBHOOK_TIMEOUT_MS, for a worker made without the configuration (config.ts has the same). */
const DEFAULT_WEBHOOK_MAX_ATTEMPTS = 8;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

const USER_AGENT = "backorder-engine-webhooks/1";

/** The default of `perEndpoint` (see there); the bench reads it to know what a dead endpoint can be sent. */
export const DEFAULT_SLOTS_PER_ENDPOINT = 32;
/** The default of `maxInFlight`: the most endpoints there can be times the slots of each. */
const DEFAULT_MAX_IN_FLIGHT = WEBHOOK_LIMITS.endpoints * DEFAULT_SLOTS_PER_ENDPOINT;

/** What a log line may say about where it was sent: scheme, host and path; never the query (it may carry a token). */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(malformed url)";
  }
}

export class WebhookWorker {
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxInFlight: number;
  private readonly perEndpoint: number;
  private readonly stopWaitMs: number;
  private readonly logger: Logger;
  private readonly allowPrivateUrls: boolean;
  /** This worker's keep-alive connections, closed by `stop`. */
  private readonly agents = createWebhookAgents();
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly endpointLoad = new Map<number, number>();
  /** The attempts in flight, aborted when `stop` gives up waiting: their lease hands them to a later claim. */
  private readonly aborts = new Set<AbortController>();
  private stopped = false;
  /**
   * Reading the log into deliveries and claiming them are two loops, each one pass at a time
   * (calls while a pass runs coalesce into one more): a claim never waits for a fan-out, so a
   * fast endpoint's slots are refilled as soon as its answers come, however busy the log is.
   */
  private readonly fanOut = new Serial(
    () => this.fanOutPass(),
    (error) => this.failed("fan-out", error),
  );
  private readonly claims = new Serial(
    () => this.claimPass(),
    (error) => this.failed("claim", error),
  );
  /** Attempts that finished, recorded together while the last record is on its way. */
  private readonly records = new Batches<AttemptToRecord, RecordedAttempt | null>((attempts) =>
    recordDeliveryAttempts(this.db, attempts, { maxAttempts: this.maxAttempts, ...this.options.backoff }),
  );
  /** Whether an enabled endpoint existed at the last look: without one, a hub wake-up costs no statement. */
  private endpoints = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly options: WebhookWorkerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? DEFAULT_WEBHOOK_MAX_ATTEMPTS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    this.leaseMs = Math.max(options.leaseMs ?? 2 * this.timeoutMs, this.timeoutMs + 1000);
    this.pollMs = options.pollMs ?? 1000;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.perEndpoint = options.perEndpoint ?? DEFAULT_SLOTS_PER_ENDPOINT;
    this.stopWaitMs = options.stopWaitMs ?? 5000;
    this.logger = options.logger ?? createLogger();
    this.allowPrivateUrls = options.allowPrivateUrls ?? false;
  }

  /** Attempts in flight on this instance now. */
  get attemptsInFlight(): number {
    return this.inFlight.size;
  }

  /** Starts the loop: a first pass (awaited, so that a start is quiet after it), then on every wake-up and poll. */
  async start(): Promise<void> {
    this.poll();
    await this.fanOut.idle();
    await this.claims.idle();
    this.pollTimer = setInterval(() => this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  /** New events are in the log (the hub heard them): read them into deliveries soon. Calls coalesce. */
  wake(): void {
    if (this.endpoints && !this.closed) this.fanOut.run();
  }

  /** The poll: a full pass whatever the last look said (an endpoint may have been created, a lease lapsed). */
  poll(): void {
    if (this.closed) return;
    this.endpoints = true;
    this.fanOut.run();
    this.claims.run();
  }

  /**
   * Stops the loop, waits up to `stopWaitMs` for attempts in flight, then aborts the rest without
   * recording them: their lease lapses and a later claim (here after a restart, or another
   * instance) attempts them again, with the same webhook-id.
   */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.fanOut.idle();
    await this.claims.idle();
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopWaitMs)));
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) {
      this.logger.info("webhook worker stopped with attempts in flight; their leases hand them to a later claim", { inFlight: this.inFlight.size });
      this.stopped = true;
      for (const abort of this.aborts) abort.abort(new DOMException("the worker stopped", "AbortError"));
      await all;
    }
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** Resolves once no pass is running and no attempt is in flight (tests). */
  async settled(): Promise<void> {
    while (this.fanOut.busy || this.claims.busy || this.inFlight.size > 0) {
      await this.fanOut.idle();
      await this.claims.idle();
      await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  private failed(what: string, error: unknown): void {
    this.logger.warn(`webhook worker ${what} pass failed`, { error: serializeError(error) });
  }

  /** Reads new events into deliveries; then, if it queued any, claims. */
  private async fanOutPass(): Promise<void> {
    let queued = 0;
    for (let n = FAN_OUT_BATCH; n >= FAN_OUT_BATCH && !this.closed; queued += n) {
      const batch = await fanOutWebhookBatch(this.db, { limit: FAN_OUT_BATCH });
      this.endpoints = batch.endpoints;
      n = batch.read;
    }
    if (this.endpoints && queued > 0) this.claims.run();
  }

  /** Fills the free slots with due deliveries. */
  private async claimPass(): Promise<void> {
    while (!this.closed && this.endpoints && this.inFlight.size < this.maxInFlight) {
      const claimed = await claimDueDeliveries(this.db, {
        limit: this.maxInFlight - this.inFlight.size,
        leaseMs: this.leaseMs,
        perEndpoint: this.perEndpoint,
        endpointLoad: this.endpointLoad,
      });
      if (claimed.length === 0) return;
      for (const delivery of claimed) this.begin(delivery);
    }
  }

  private begin(delivery: ClaimedDelivery): void {
    this.endpointLoad.set(delivery.endpointId, (this.endpointLoad.get(delivery.endpointId) ?? 0) + 1);
    // The endpoint's slot bounds the POSTs open to it: it comes free when the answer does, not
    // after the record (a round trip more). The delivery stays leased and PENDING until recorded,
    // so neither it nor its order's next delivery can be claimed meanwhile.
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const load = (this.endpointLoad.get(delivery.endpointId) ?? 1) - 1;
      if (load > 0) this.endpointLoad.set(delivery.endpointId, load);
      else this.endpointLoad.delete(delivery.endpointId);
    };
    const attempt = this.attempt(delivery, () => {
      release();
      this.claims.run();
    })
      .catch((error: unknown) =>
        this.logger.warn("webhook attempt could not be recorded; its lease hands it to a later claim", {
          deliveryId: delivery.id,
          endpointId: delivery.endpointId,
          error: serializeError(error),
        }),
      )
      .finally(() => {
        this.inFlight.delete(delivery.id);
        release();
        // A slot came free (if the attempt never got an answer), and the order's next delivery may be unblocked.
        this.claims.run();
      });
    this.inFlight.set(delivery.id, attempt);
  }

  private async attempt(delivery: ClaimedDelivery, answered: () => void): Promise<void> {
    const started = performance.now();
    const result = await this.send(delivery);
    answered();
    if (this.stopped) return;
    const recorded = await this.records.add({ claim: delivery, result });
    const fields = {
      deliveryId: delivery.id,
      endpointId: delivery.endpointId,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      attempt: delivery.attempts,
      responseStatus: result.status ?? null,
      durationMs: Math.round(performance.now() - started),
      status: recorded?.status ?? "superseded",
      url: where(delivery.url),
    };
    if (!recorded) this.logger.warn("webhook attempt answered after its claim was taken over; not recorded", fields);
    else if (recorded.status === "DELIVERED") this.logger.debug("webhook delivered", fields);
    else if (recorded.status === "FAILED") this.logger.warn("webhook delivery failed for good (dead letter)", { ...fields, error: result.error });
    else {
      this.logger.info("webhook attempt failed; retrying", { ...fields, error: result.error, nextAttemptAt: recorded.nextAttemptAt.toISOString() });
      this.retryWhen(recorded.nextAttemptAt.getTime());
    }
  }

  /** Wakes the loop when a retry comes due (the earliest of this instance's). */
  private retryWhen(at: number): void {
    if (this.closed || at >= this.retryAt) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.retryAt = Number.POSITIVE_INFINITY;
        this.claims.run();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.retryTimer.unref();
  }

  /**
   * One POST: a 2xx is success; a redirect, another status, no answer in time, a network error or
   * a host that is or resolves to a non-public address (unless allowed) is a failure.
   */
  private async send(delivery: ClaimedDelivery): Promise<AttemptResult> {
    const headers = {
      ...signWebhook(delivery.secret, delivery.eventId, Date.now() / 1000, delivery.body),
      "content-type": "application/json",
      "user-agent": USER_AGENT,
    };
    // A timer of our own rather than AbortSignal.any([AbortSignal.timeout(…), …]): on Node 20 the
    // timeout signal inside `any` can be garbage-collected before it fires (nodejs/node#57736),
    // and the attempt then hangs past its timeout and its lease.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException(`no answer within ${this.timeoutMs} ms`, "TimeoutError")), this.timeoutMs);
    this.aborts.add(abort);
    try {
      const options = { headers, body: delivery.body, signal: abort.signal, agents: this.agents, allowPrivate: this.allowPrivateUrls };
      const status = await postWebhook(new URL(delivery.url), options);
      if (status >= 200 && status <= 299) return { status };
      const redirect = status >= 300 && status <= 399 ? " (redirects are not followed)" : "";
      return { status, error: `HTTP ${status}${redirect}` };
    } catch (error) {
      // The request's error on an abort is an AbortError whatever the reason: the signal says which.
      if (abort.signal.aborted) {
        const reason = (abort.signal.reason as Error | undefined)?.name;
        return { error: reason === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : "aborted: the worker stopped" };
      }
      const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
      const text = [String((error as Error)?.message ?? error), cause?.code ?? cause?.message].filter(Boolean).join(": ");
      // Never the URL itself (its query may hold a token).
      return { error: text.split(delivery.url).join(where(delivery.url)) };
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }
}

/** One pass of `work` at a time; a call while one runs makes exactly one more after it. */
class Serial {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get busy(): boolean {
    return this.running !== null;
  }

  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.work()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }

  /** Resolves when no pass runs (one asked for meanwhile included). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

/** The most attempts one record statement takes. */
const MAX_RECORD_BATCH = 500;

/**
 * Hands items to `write` in batches: the first at once, and those that come while a batch is on its
 * way together after it. Under load one statement records many attempts; alone, one waits for nothing.
 */
class Batches<Item, Answer> {
  private readonly queue: { item: Item; resolve: (answer: Answer) => void; reject: (error: unknown) => void }[] = [];
  private writing = false;

  constructor(private readonly write: (items: Item[]) => Promise<Answer[]>) {}

  add(item: Item): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_RECORD_BATCH);
      try {
        const answers = await this.write(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(answers[i]));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.writing = false;
  }
}

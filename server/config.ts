/**
 * The server's configuration, from the environment (docs/ARCHITECTURE.md, "Running it"). Read once at start;
 * a bad value stops the server with a message instead of running misconfigured.
 */
import { LOG_LEVELS, type LogLevel } from "./logger.js";
import { parseQueryLimits, type QueryLimits } from "./graphql/limits/query-limits.js";
import { DEFAULT_READ_CACHE_MAX_AGE_MS } from "./graphql/read-cache.js";

/**
 * A variable with a value the server cannot run with. The message names the variable and says
 * what it accepts: it is the whole story, so the entry points print it as one line, without a stack.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; unset: embedded PGlite. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; `memory://` keeps nothing. */
  pgliteDir: string;
  /** Load the demo catalogue when the database is empty. */
  seedDemo: boolean;
  /** BOOTSTRAP_ADMIN_KEY: makes sure an ADMIN API key with this secret exists at start. */
  bootstrapAdminKey?: string;
  logLevel: LogLevel;
  /** QUERY_LIMITS: JSON overriding the per-role query limits, e.g. {"READER":{"capacity":10000}}. */
  queryLimits: QueryLimits;
  /** DATABASE_STATEMENT_TIMEOUT_MS: the longest a statement may run (PostgreSQL); unset: the app's default, 0: none. */
  statementTimeoutMs?: number;
  /** EVENT_RETENTION_HOURS: how long the event log keeps an event for subscribers to resume from; 0: forever. */
  eventRetentionHours: number;
  /** METRICS_TOKEN: when set, GET /metrics requires `Authorization: Bearer <token>`; unset: open. */
  metricsToken?: string;
  /** STOCK_MOVEMENT_RETENTION_DAYS: how long the stock ledger keeps a movement before folding it into its level's opening balance; 0: forever. */
  stockMovementRetentionDays: number;
  /** IDEMPOTENCY_KEY_RETENTION_HOURS: how long placeOrder remembers an idempotency key for replays; 0: forever. */
  idempotencyKeyRetentionHours: number;
  /** LOST_DEMAND_RETENTION_DAYS: how long refused demand is kept for the metrics; 0: forever. */
  lostDemandRetentionDays: number;
  /** WEBHOOK_DELIVERY_RETENTION_DAYS: how long a delivered webhook is kept (to be seen and redelivered); 0: forever. */
  webhookDeliveryRetentionDays: number;
  /** WEBHOOK_WORKER: whether this instance delivers webhooks (docs/ARCHITECTURE.md, "Webhooks"). */
  webhookWorker: boolean;
  /** WEBHOOK_MAX_ATTEMPTS: attempts of one delivery before it is FAILED (the dead letter). */
  webhookMaxAttempts: number;
  /** WEBHOOK_TIMEOUT_MS: how long one attempt waits for the receiver's answer. */
  webhookTimeoutMs: number;
  /**
   * WEBHOOK_ALLOW_PRIVATE_URLS: whether webhook URLs may point at loopback, private, link-local or
   * other non-public addresses (a receiver on the same machine or network); off, such URLs are
   * refused and no delivery connects to such an address (docs/ARCHITECTURE.md, "Webhooks").
   */
  webhookAllowPrivateUrls: boolean;
  /**
   * READ_CACHE_MAX_AGE_MS: how long the read cache may serve an answer again while the database
   * has committed nothing since it was read (docs/ARCHITECTURE.md, "The read cache"); 0: off.
   */
  readCacheMaxAgeMs: number;
}

/** Reads a boolean variable: true/false, 1/0, yes/no, on/off; `fallback` when unset or empty. */
export function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const normalized = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(normalized)) return true;
  if (["0", "false", "no", "off"].includes(normalized)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function parseStatementTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new ConfigError(`DATABASE_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds, got "${value}"`);
  return ms;
}

/** The default of EVENT_RETENTION_HOURS: a week. */
export const DEFAULT_EVENT_RETENTION_HOURS = 168;
/** A hundred years: anything longer is a typo, not a retention. */
const MAX_EVENT_RETENTION_HOURS = 876_000;

function parseEventRetention(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_EVENT_RETENTION_HOURS;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) > MAX_EVENT_RETENTION_HOURS) {
    throw new ConfigError(
      `EVENT_RETENTION_HOURS must be a whole number of hours up to ${MAX_EVENT_RETENTION_HOURS} (0: keep every event), got "${value}"`,
    );
  }
  return Number(value);
}

/** The default of STOCK_MOVEMENT_RETENTION_DAYS: 13 months, a year of history and a month to spare. */
export const DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS = 400;
/** The default of IDEMPOTENCY_KEY_RETENTION_HOURS: a week, well past any client's retries. */
export const DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS = 168;
/** The default of LOST_DEMAND_RETENTION_DAYS: 13 months, a year of demand and a month to spare. */
export const DEFAULT_LOST_DEMAND_RETENTION_DAYS = 400;
/** The default of WEBHOOK_DELIVERY_RETENTION_DAYS: a month to look back at and redeliver. */
export const DEFAULT_WEBHOOK_DELIVERY_RETENTION_DAYS = 30;

/**
 * A whole number of `unit` up to `max` (0: keep `what` forever); `fallback` when unset or empty.
 * One rule for the log retentions, as for EVENT_RETENTION_HOURS.
 */
function parseLogRetention(variable: string, value: string | undefined, fallback: number, unit: "days" | "hours", what: string): number {
  if (value === undefined || value.trim() === "") return fallback;
  const max = unit === "days" ? MAX_EVENT_RETENTION_HOURS / 24 : MAX_EVENT_RETENTION_HOURS;
  if (!/^\s*\d+\s*$/.test(value) || Number(value) > max) {
    throw new ConfigError(`${variable} must be a whole number of ${unit} up to ${max} (0: keep every ${what}), got "${value}"`);
  }
  return Number(value);
}

/** The defaults of WEBHOOK_MAX_ATTEMPTS and WEBHOOK_TIMEOUT_MS (docs/ARCHITECTURE.md, "Webhooks"). */
export const DEFAULT_WEBHOOK_MAX_ATTEMPTS = 8;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * A whole number from `min` to `max`; `fallback` when unset or empty. The bounds keep a typo from
 * retrying a delivery for ever (attempts: 1 to 50; with the 1-hour backoff cap, 50 attempts are
 * two days) or holding a slot for ever (timeout: 100 ms to 5 min).
 */
function parseBoundedInteger(variable: string, value: string | undefined, fallback: number, min: number, max: number, unit: string): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max)
    throw new ConfigError(`${variable} must be a whole number of ${unit} from ${min} to ${max}, got "${value}"`);
  return n;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 4000;
  const port = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || port > 65535) throw new ConfigError(`PORT must be a port number from 0 to 65535, got "${value}"`);
  return port;
}

/**
 * DATABASE_URL, when set, must be a postgres:// or postgresql:// URL. The value is not repeated in
 * the message: it may hold a password.
 */
function parseDatabaseUrl(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(text).protocol;
  } catch {
    // Not a URL at all.
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new ConfigError(
      "DATABASE_URL is not a valid PostgreSQL URL: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (unset it for the embedded database)",
    );
  }
  return text;
}

/** METRICS_TOKEN: one word (it travels in a header); unset or empty: /metrics needs no token. */
function parseMetricsToken(value: string | undefined): string | undefined {
  const token = value?.trim();
  if (!token) return undefined;
  // The value is not repeated: it is a secret.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError("METRICS_TOKEN must be printable ASCII without spaces");
  return token;
}

/** LOG_LEVEL, any case; unset or empty: info. */
function parseLogLevel(value: string | undefined): LogLevel {
  const level = value?.trim().toLowerCase();
  if (!level) return "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  return level as LogLevel;
}

/** QUERY_LIMITS, its parser's refusal named after the variable. */
function parseQueryLimitsVariable(value: string | undefined): QueryLimits {
  try {
    return parseQueryLimits(value);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(message.startsWith("QUERY_LIMITS") ? message : `QUERY_LIMITS: ${message}`);
  }
}

/**
 * The configuration in `env`. `defaults.seedDemo` is what SEED_DEMO means when unset: true for
 * `npm start`, false for everything else. Throws a {@link ConfigError} on a malformed value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaults: { seedDemo?: boolean } = {}): Config {
  const databaseUrl = parseDatabaseUrl(env.DATABASE_URL);
  return {
    port: parsePort(env.PORT),
    host: env.HOST?.trim() || "127.0.0.1",
    databaseUrl,
    pgliteDir: env.PGLITE_DIR?.trim() || "./.data/pglite",
    seedDemo: parseBoolean("SEED_DEMO", env.SEED_DEMO, defaults.seedDemo ?? false),
    bootstrapAdminKey: env.BOOTSTRAP_ADMIN_KEY || undefined,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    queryLimits: parseQueryLimitsVariable(env.QUERY_LIMITS),
    statementTimeoutMs: parseStatementTimeout(env.DATABASE_STATEMENT_TIMEOUT_MS),
    eventRetentionHours: parseEventRetention(env.EVENT_RETENTION_HOURS),
    metricsToken: parseMetricsToken(env.METRICS_TOKEN),
    stockMovementRetentionDays: parseLogRetention(
      "STOCK_MOVEMENT_RETENTION_DAYS",
      env.STOCK_MOVEMENT_RETENTION_DAYS,
      DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS,
      "days",
      "stock movement",
    ),
    idempotencyKeyRetentionHours: parseLogRetention(
      "IDEMPOTENCY_KEY_RETENTION_HOURS",
      env.IDEMPOTENCY_KEY_RETENTION_HOURS,
      DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS,
      "hours",
      "idempotency key",
    ),
    lostDemandRetentionDays: parseLogRetention(
      "LOST_DEMAND_RETENTION_DAYS",
      env.LOST_DEMAND_RETENTION_DAYS,
      DEFAULT_LOST_DEMAND_RETENTION_DAYS,
      "days",
      "lost demand",
    ),
    webhookDeliveryRetentionDays: parseLogRetention(
      "WEBHOOK_DELIVERY_RETENTION_DAYS",
      env.WEBHOOK_DELIVERY_RETENTION_DAYS,
      DEFAULT_WEBHOOK_DELIVERY_RETENTION_DAYS,
      "days",
      "delivered webhook",
    ),
    webhookWorker: parseBoolean("WEBHOOK_WORKER", env.WEBHOOK_WORKER, true),
    webhookMaxAttempts: parseBoundedInteger("WEBHOOK_MAX_ATTEMPTS", env.WEBHOOK_MAX_ATTEMPTS, DEFAULT_WEBHOOK_MAX_ATTEMPTS, 1, 50, "attempts"),
    webhookTimeoutMs: parseBoundedInteger("WEBHOOK_TIMEOUT_MS", env.WEBHOOK_TIMEOUT_MS, DEFAULT_WEBHOOK_TIMEOUT_MS, 100, 300_000, "milliseconds"),
    webhookAllowPrivateUrls: parseBoolean("WEBHOOK_ALLOW_PRIVATE_URLS", env.WEBHOOK_ALLOW_PRIVATE_URLS, false),
    readCacheMaxAgeMs: parseBoundedInteger("READ_CACHE_MAX_AGE_MS", env.READ_CACHE_MAX_AGE_MS, DEFAULT_READ_CACHE_MAX_AGE_MS, 0, 60_000, "milliseconds"),
  };
}

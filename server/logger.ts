/**
 * Structured logging: one JSON object per line on stdout, so a log shipper can index every field.
 * The level comes from LOG_LEVEL (debug, info, warn, error, silent; default info).
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL, else info. */
  level?: LogLevel | string;
  /** Where lines go; default stdout. */
  write?: (line: string) => void;
  /** Fields on every line. */
  base?: LogFields;
}

/** The level named by `value`, or info for anything else. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = value?.trim().toLowerCase();
  return level && level in RANK ? (level as LogLevel) : "info";
}

/**
 * An error as plain JSON, with its stack, SQLSTATE-like code and cause chain: everything needed
 * to find the bug, which is why it goes to the log and never to the client.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const extra = error as Error & { code?: unknown; detail?: unknown; cause?: unknown };
  return {
    name: error.name,
    message: error.message,
    code: extra.code,
    detail: extra.detail,
    stack: error.stack,
    cause: extra.cause !== undefined && depth < 5 ? serializeError(extra.cause, depth + 1) : undefined,
  };
}

/** Makes a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = parseLogLevel(options.level ?? process.env.LOG_LEVEL);
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const log = (at: Exclude<LogLevel, "silent">, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const entry: LogFields = { time: new Date().toISOString(), level: at, msg: message, ...base, ...fields };
    for (const [key, value] of Object.entries(entry)) if (value instanceof Error) entry[key] = serializeError(value);
    let line: string;
    try {
      line = JSON.stringify(entry, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
    } catch {
      line = JSON.stringify({ time: entry.time, level: at, msg: message, note: "fields were not serializable" });
    }
    write(line);
  };
  return {
    level,
    debug: (message, fields) => log("debug", message, fields),
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
    child: (fields) => createLogger({ level, write, base: { ...base, ...fields } }),
  };
}

/**
 * Structured logging: one JSON object per line on stdout, so a log shipper can index every field.
 * The level comes from LOG_LEVEL (debug, info, warn, error, silent; default info).
 */

/** The values of LOG_LEVEL, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
 * What a database error says about the values of a statement, and the redacted form that stays
 * in the log. Drizzle's DrizzleQueryError puts the parameters in its message ("Failed query: …\n
 * params: …"); PostgreSQL quotes the offending value in data errors (class 22: `invalid input
 * syntax for type uuid: "…"`) and the row or key in integrity errors' detail (class 23:
 * `Key (email)=(alice@example.com) already exists.`, `Failing row contains (…)`).
 */
const REDACTED = "[redacted]";
const redactMessage = (message: string, code: unknown): string => {
  let safe = message.replace(/\nparams: [\s\S]*$/, `\nparams: ${REDACTED}`);
  if (typeof code === "string" && code.startsWith("22")) safe = safe.replace(/: "[\s\S]*"$/, `: ${REDACTED}`);
  return safe;
};
const redactDetail = (detail: unknown): string | undefined => {
  if (typeof detail !== "string") return undefined;
  const key = /^(Key \([^)]*\)=)\([\s\S]*\)( [^()]*)$/.exec(detail);
  if (key) return `${key[1]}(${REDACTED})${key[2]}`;
  if (detail.startsWith("Failing row contains")) return `Failing row contains (${REDACTED}).`;
  // Other details (deadlocks, serialization failures) name processes and transactions, not values;
  // anything with a parenthesised or quoted value is dropped rather than guessed at.
  return /[("]/.test(detail) ? REDACTED : detail;
};

/**
 * An error as plain JSON, with its stack, SQLSTATE-like code, the SQL it ran and the cause chain:
 * everything needed to find the bug, which is why it goes to the log and never to the client.
 * Never the statement's parameters (customer e-mails, names, addresses): the drivers' parameter
 * fields (drizzle `params`, postgres.js `parameters`/`args`, PGlite `params`) are not copied, and
 * values quoted in messages and details are redacted, at every level of the cause chain.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const extra = error as Error & {
    code?: unknown;
    detail?: unknown;
    cause?: unknown;
    query?: unknown;
    constraint?: unknown;
    constraint_name?: unknown;
    table?: unknown;
    table_name?: unknown;
    column?: unknown;
    column_name?: unknown;
  };
  const message = redactMessage(error.message, extra.code);
  // The stack starts with "Name: message": the same redaction, applied to that copy.
  const stack = error.stack && error.message && message !== error.message ? error.stack.split(error.message).join(message) : error.stack;
  // postgres.js keeps the SQL as `query.string` only in debug mode; drizzle and PGlite as `query`.
  const query = typeof extra.query === "string" ? extra.query : undefined;
  return {
    name: error.name,
    message,
    code: extra.code,
    detail: redactDetail(extra.detail),
    query,
    constraint: extra.constraint ?? extra.constraint_name,
    table: extra.table ?? extra.table_name,
    column: extra.column ?? extra.column_name,
    stack,
    cause: extra.cause !== undefined && depth < 5 ? serializeError(extra.cause, depth + 1) : undefined,
  };
}

/**
 * Writes lines to stdout once per turn of the event loop, all the lines of that turn in one
 * write: stdout to a pipe or a file is a synchronous system call per write on Linux, and a busy
 * server logs a line per request. Whatever is pending is written when the process exits.
 */
function stdoutInBatches(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const chunk = `${pending.join("\n")}\n`;
    pending = [];
    process.stdout.write(chunk);
  };
  process.once("exit", flush);
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

let sharedStdout: ((line: string) => void) | undefined;

/** Whether every field is a string, a number, a boolean or null (nothing for the replacer to do). */
function flat(fields: LogFields): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (value !== null && value !== undefined && typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return false;
  }
  return true;
}

/** Makes a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = parseLogLevel(options.level ?? process.env.LOG_LEVEL);
  const write = options.write ?? (sharedStdout ??= stdoutInBatches());
  const base = options.base ?? {};
  const log = (at: Exclude<LogLevel, "silent">, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const entry: LogFields = { time: new Date().toISOString(), level: at, msg: message, ...base, ...fields };
    let line: string;
    try {
      // An Error anywhere in the fields is serialized (and redacted) the same way: JSON.stringify
      // alone would copy its enumerable fields, PGlite's `params` among them. Fields of plain
      // values (a request's line) need no replacer, which JSON.stringify calls for every key.
      line = flat(entry)
        ? JSON.stringify(entry)
        : JSON.stringify(entry, (_key, value: unknown) =>
            typeof value === "bigint" ? value.toString() : value instanceof Error ? serializeError(value) : value,
          );
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

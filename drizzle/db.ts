/**
 * The one database connection module: embedded PGlite when no `DATABASE_URL` is given,
 * PostgreSQL through postgres.js when it is. Both speak the same SQL, so the rest of the code
 * sees one `Database` type and never asks which it has.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema.js";

export { schema };

// The third parameter is the relational schema's extracted config, which differs between the PGlite
// and postgres.js drivers; `any` lets one type hold either (drizzle's own docs do the same).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one type for both drivers' databases
export type Database = PgDatabase<PgQueryResultHKT, typeof schema, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above, for their transactions
export type Transaction = PgTransaction<PgQueryResultHKT, typeof schema, any>;
/** Anything that runs SQL: the pool or an open transaction. */
export type Executor = Database | Transaction;

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface Connection {
  db: Database;
  kind: "pglite" | "postgres";
  /** Runs a plain SQL string outside drizzle (LISTEN, pg_terminate_backend, test schemas). */
  raw(text: string): Promise<unknown>;
  close(): Promise<void>;
  /** The postgres.js client when on PostgreSQL (for LISTEN/NOTIFY); null on PGlite. */
  postgres: postgres.Sql | null;
  /** The PGlite instance when embedded; null on PostgreSQL. */
  pglite: PGlite | null;
  /** The PostgreSQL URL, when on PostgreSQL. */
  url?: string;
  searchPath?: string;
}

export interface ConnectOptions {
  /** A PostgreSQL URL; without one the embedded database is used. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; `memory://` keeps nothing. */
  pgliteDir?: string;
  /** PostgreSQL pool size. */
  max?: number;
  /** A schema to put first on the search_path (tests use one schema per file). */
  searchPath?: string;
  /** PGlite only: start from this dumped data directory (tests load a migrated dump). */
  loadDataDir?: Blob;
  /**
   * PostgreSQL only: the server cancels any statement that runs longer (statement_timeout), so
   * a request stuck behind a lock or an overloaded database fails instead of hanging. Unset or 0: none.
   */
  statementTimeoutMs?: number;
}

type PostgresClient = postgres.Sql | postgres.TransactionSql;

/**
 * Starts a statement that is not prepared: PostgreSQL plans it for its parameters every time. For
 * statements over a queue whose size swings (empty while all is well, thousands when a receiver is
 * down): a prepared statement's generic plan, chosen while the table was empty, is kept until the
 * table is next analyzed, and a claim planned as a sequential scan of an empty table took seconds
 * once it held 15,000 rows.
 */
export const PLANNED_EACH_TIME = "/* planned each time */";

/**
 * The client as drizzle should see it: every statement prepared. drizzle's postgres.js driver
 * passes `{ prepare: false }` for each query it builds (unless the query was given a name), so
 * PostgreSQL would parse and plan every statement anew (measured: planning the nested reads'
 * statements took 1-30 ms each, the statements themselves under 1 ms). Prepared, a statement is
 * parsed once per connection and, once PostgreSQL finds a generic plan as good, planned once too.
 * postgres.js keys its prepared statements by the SQL text and parameter types; ours are a fixed
 * set (lists travel as one array parameter), so each connection holds a few hundred at most.
 * Transactions and savepoints hand their callback a client of their own: it is wrapped the same way.
 */
function preparing<T extends PostgresClient>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (query: string, parameters?: unknown[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, parameters as never, { ...options, prepare: !query.startsWith(PLANNED_EACH_TIME) });
      }
      if (property === "begin" || property === "savepoint") {
        const open = Reflect.get(target, property, receiver) as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => {
          const work = args.at(-1) as (inner: PostgresClient) => unknown;
          return open.call(target, ...args.slice(0, -1), (inner: PostgresClient) => work(preparing(inner)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Opens the database named by the options (PGlite by default). Throws when it cannot be reached. */
export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.max ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
      idle_timeout: 60,
      connection: {
        // Every statement here is short (OLTP); the planner's estimates for jsonb_to_recordset
        // and lateral joins pass jit_above_cost, and compiling costs 30+ ms a statement.
        jit: "off",
        // Unique per pool, so that an instance finds its own sessions in pg_stat_activity (its
        // pool metrics, server/http/metrics-endpoint.ts) and an operator sees which process holds one.
        application_name: `backorder-engine/${process.pid}/${randomBytes(3).toString("hex")}`,
        ...(options.searchPath ? { search_path: options.searchPath } : {}),
        ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      },
    });
    const db = drizzlePostgres(preparing(client), { schema }) as unknown as Database;
    return {
      db,
      kind: "postgres",
      raw: (text) => client.unsafe(text),
      close: () => client.end({ timeout: 5 }),
      postgres: client,
      pglite: null,
      url: options.databaseUrl,
      searchPath: options.searchPath,
    };
  }
  const dir = options.pgliteDir ?? "./.data/pglite";
  let unlock = () => {};
  if (!dir.startsWith("memory://")) {
    mkdirSync(dir, { recursive: true });
    unlock = lockPgliteDir(dir);
  }
  const client = new PGlite(dir, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  try {
    await client.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  if (options.searchPath) await client.exec(`SET search_path TO ${options.searchPath}`);
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    kind: "pglite",
    raw: (text) => client.exec(text),
    close: () => client.close().finally(unlock),
    postgres: null,
    pglite: client,
  };
}

/** A PGlite directory another live process has open. */
export class PgliteDirectoryLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `the embedded database in ${dir} is in use by process ${pid}: PGlite allows one process at a time. ` +
        `Stop that process (e.g. the server) first, or use PostgreSQL (DATABASE_URL). If no such process runs, delete ${lockFile}.`,
    );
    this.name = "PgliteDirectoryLockedError";
  }
}

/**
 * The one line to print when PostgreSQL at `databaseUrl` cannot be used — it is not running, the
 * host is unknown, the role or database does not exist, the password is wrong — naming
 * DATABASE_URL and what to do; undefined for any other failure. The password is never repeated.
 * Looks through the cause chain: drizzle wraps the driver's errors.
 */
export function describeConnectionFailure(error: unknown, databaseUrl: string): string | undefined {
  let found: (Error & { code?: unknown }) | undefined;
  for (let at = error, depth = 0; at instanceof Error && depth < 5 && !found; at = at.cause, depth++) {
    const { code } = at as Error & { code?: unknown };
    if (typeof code === "string" && /^(3D000|28000|28P01|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT)$/.test(code)) found = at;
  }
  if (!found) return undefined;
  const code = found.code;
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return undefined;
  }
  const host = decodeURIComponent(url.hostname) || url.searchParams.get("host") || "localhost";
  const port = url.port || "5432";
  const user = decodeURIComponent(url.username);
  const name = decodeURIComponent(url.pathname.slice(1)) || user || "postgres";
  const at = `PostgreSQL at ${host}:${port} (DATABASE_URL)`;
  const options = `-h ${host} -p ${port}${user ? ` -U ${user}` : ""}`;
  switch (code) {
    case "3D000":
      return `database "${name}" does not exist on ${at}: create it with \`createdb ${options} ${name}\` (or \`psql ${options} -d postgres -c 'CREATE DATABASE "${name}"'\`)`;
    case "28000":
    case "28P01":
      // PostgreSQL's own words name the role and the reason (no such role, password authentication failed).
      return `${at} refused the connection: ${found.message}; check the user and password in DATABASE_URL`;
    case "ECONNREFUSED":
      return `no PostgreSQL server answers at ${host}:${port} (DATABASE_URL): start it, or unset DATABASE_URL to use the embedded database`;
    case "CONNECT_TIMEOUT":
      return `${at} did not answer within the connect timeout: check the host and port in DATABASE_URL and that the server runs`;
    default:
      return `DATABASE_URL names host "${host}", which does not resolve: check the host in DATABASE_URL`;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes `<dir>.lock` for this process, or throws PgliteDirectoryLockedError. PGlite itself takes
 * no lock: two processes on one directory would each write their own copy of the pages and
 * corrupt it. A lock left by a process that died is taken over. Returns the release.
 */
function lockPgliteDir(dir: string): () => void {
  const lockFile = `${path.resolve(dir)}.lock`;
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lockFile, mine, { flag: "wx" });
      return () => {
        try {
          if (readFileSync(lockFile, "utf8") === mine) unlinkSync(lockFile);
        } catch {
          // Gone already.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: number;
      try {
        holder = Number(readFileSync(lockFile, "utf8"));
      } catch {
        continue; // Released meanwhile: try again.
      }
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) throw new PgliteDirectoryLockedError(dir, holder, lockFile);
      try {
        unlinkSync(lockFile); // left by a process that died
      } catch {
        // Another process took it over first; the next attempt sees whose it is.
      }
    }
  }
  throw new PgliteDirectoryLockedError(dir, 0, lockFile);
}

/** Applies the drizzle-kit migrations that have not run yet. */
export async function runMigrations(connection: Connection): Promise<void> {
  if (connection.kind === "postgres") {
    // Instances that start together against one database migrate one at a time: a session
    // advisory lock on a connection of its own, held while drizzle applies the migrations.
    const client = postgres(connection.url!, {
      max: 1,
      onnotice: () => {},
      connection: connection.searchPath ? { search_path: connection.searchPath } : undefined,
    });
    try {
      await client.unsafe("SELECT pg_advisory_lock(7263541)");
      await migratePostgres(drizzlePostgres(client), { migrationsFolder, migrationsSchema: connection.searchPath ?? "drizzle" });
    } finally {
      await client.end({ timeout: 5 });
    }
  } else {
    await migratePglite(connection.db as never, { migrationsFolder });
  }
}

/** Runs a statement and returns its rows, whichever driver is underneath. */
export async function rows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * A fresh, migrated database for each test file, on whichever database the vitest project runs
 * (`TEST_DB`, set in vitest.config.ts): in-memory PGlite, or a brand new PostgreSQL database
 * cloned from the run's template (test/support/global-setup.ts).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { connect, runMigrations, type Connection, type Database, type Transaction } from "../../drizzle/db.js";
import { expectCleanAudit } from "./audit.js";
import { adminClient, databaseUrlFor, ensureTemplate, newRunId, quoteName, TEST_DATABASE_PREFIX } from "./global-setup.js";

/** Which database this test process runs on. */
export type DatabaseKind = Connection["kind"];

/** True in the `postgres` vitest project: tests may open several connections and race them. */
export const onPostgres: boolean = process.env.TEST_DB === "postgres";

/** A database of one's own; `close()` disconnects and, on PostgreSQL, drops it. */
export interface FreshDatabase {
  connection: Connection;
  db: Database;
  kind: DatabaseKind;
  /** The database's URL on PostgreSQL (for a server process or a second pool); undefined on PGlite. */
  url?: string;
  close(): Promise<void>;
}

let adhocTemplate: Promise<string> | undefined;
let adhocRunId: string | undefined;

function postgresAdminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DB=postgres needs TEST_DATABASE_URL");
  return url;
}

/** The template and run id from the global setup; built here when a file runs without it. */
async function postgresRun(adminUrl: string): Promise<{ template: string; runId: string }> {
  const template = inject("postgresTemplate");
  const runId = inject("postgresRunId");
  if (template && runId) return { template, runId };
  adhocTemplate ??= ensureTemplate(adminUrl);
  adhocRunId ??= newRunId();
  return { template: await adhocTemplate, runId: adhocRunId };
}

async function migratedPglite(): Promise<Connection> {
  const connection = await connect({ pgliteDir: "memory://" });
  await runMigrations(connection);
  return connection;
}

/** In-memory PGlite loaded from the run's migrated dump (global-setup.ts), or null without one. */
async function pgliteFromSnapshot(): Promise<Connection | null> {
  const snapshot = inject("pgliteSnapshot");
  if (!snapshot || !existsSync(snapshot)) return null;
  return connect({ pgliteDir: "memory://", loadDataDir: new Blob([readFileSync(snapshot)]) });
}

/**
 * Opens a brand new migrated database: in-memory PGlite, or on PostgreSQL a database of its own
 * cloned from the migrated template. Throws when the database cannot be created or reached.
 */
export async function freshDatabase(): Promise<FreshDatabase> {
  if (!onPostgres) {
    const connection = (await pgliteFromSnapshot()) ?? (await migratedPglite());
    return { connection, db: connection.db, kind: "pglite", close: () => connection.close() };
  }
  const adminUrl = postgresAdminUrl();
  const { template, runId } = await postgresRun(adminUrl);
  const name = `${TEST_DATABASE_PREFIX}${runId}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = adminClient(adminUrl);
  try {
    await admin.unsafe(`CREATE DATABASE ${quoteName(name)} TEMPLATE ${quoteName(template)}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = databaseUrlFor(adminUrl, name);
  const connection = await connect({ databaseUrl: url });
  let closed = false;
  return {
    connection,
    db: connection.db,
    kind: "postgres",
    url,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await connection.close();
      } finally {
        // FORCE: a test that leaked a connection (a server it did not stop) must not keep it alive.
        const dropper = adminClient(adminUrl);
        try {
          await dropper.unsafe(`DROP DATABASE IF EXISTS ${quoteName(name)} WITH (FORCE)`);
        } finally {
          await dropper.end({ timeout: 5 });
        }
      }
    },
  };
}

/** What {@link useFreshDatabase} hands a test file; its fields are readable from `beforeAll` on. */
export interface DatabaseHandle {
  readonly connection: Connection;
  readonly db: Database;
  readonly kind: DatabaseKind;
  readonly url: string | undefined;
}

export interface UseFreshDatabaseOptions {
  /** Run the invariant audit in `afterAll` and fail the file on a violation. Default true. */
  audit?: boolean;
}

/**
 * Registers hooks in the calling scope (a file, or a `describe`): `beforeAll` opens a fresh
 * database, `afterAll` audits every invariant (failing the file with the violations) and closes it.
 * Hooks registered after this call run after the database is open, and their `afterAll` before it
 * is audited and closed, so a server started on it can be stopped first.
 */
export function useFreshDatabase(options: UseFreshDatabaseOptions = {}): DatabaseHandle {
  let current: FreshDatabase | undefined;
  beforeAll(async () => {
    current = await freshDatabase();
  });
  afterAll(async () => {
    if (!current) return;
    const database = current;
    current = undefined;
    try {
      if (options.audit !== false) await expectCleanAudit(database.db);
    } finally {
      await database.close();
    }
  });
  const open = (): FreshDatabase => {
    if (!current) throw new Error("the test database is open only between beforeAll and afterAll");
    return current;
  };
  return {
    get connection() {
      return open().connection;
    },
    get db() {
      return open().db;
    },
    get kind() {
      return open().kind;
    },
    get url() {
      return open().url;
    },
  };
}

/** Why concurrency suites are skipped on PGlite, printed once per file that has one. */
export const POSTGRES_ONLY_REASON = "skipped on PGlite: concurrency is proven only on PostgreSQL (set TEST_DATABASE_URL)";
let reasonPrinted = false;

/**
 * `describe` for what only PostgreSQL can prove (races, deadlocks, the outbox gap): PGlite is one
 * connection, so there its tests are skipped, and the file prints why in one line.
 */
export function describeOnPostgres(name: string, fn: () => void): void {
  if (onPostgres) {
    describe(name, fn);
    return;
  }
  if (!reasonPrinted) {
    reasonPrinted = true;
    console.log(POSTGRES_ONLY_REASON);
  }
  describe.skip(`${name} (${POSTGRES_ONLY_REASON})`, fn);
}

class RolledBack extends Error {}

/**
 * Runs `work` in a transaction that is always rolled back and returns what it returned: a test
 * can change rows, look at the result and leave nothing behind. An error `work` throws (a failed
 * assertion included) comes out as itself.
 */
export async function rolledBack<T>(db: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  let result: T | undefined;
  try {
    await db.transaction(async (tx) => {
      result = await work(tx as Transaction);
      throw new RolledBack();
    });
  } catch (error) {
    if (!(error instanceof RolledBack)) throw error;
  }
  return result as T;
}

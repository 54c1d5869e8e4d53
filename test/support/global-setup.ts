/**
 * vitest `globalSetup` of both projects: prepares a migrated database once per run, so each test
 * file starts from a copy instead of creating and migrating its own.
 *
 * - `postgres`: a template database; each file clones it (`CREATE DATABASE … TEMPLATE`, about
 *   0.1 s). Several runs may share one server (others run tests in the same tree): the template is
 *   named after a hash of the migrations and built under an advisory lock, and each run drops only
 *   its own databases, plus those of runs that died more than {@link STALE_AFTER_MS} ago.
 * - `pglite`: a dump of a migrated data directory in the temp folder; each file loads it
 *   (`loadDataDir`), which is several times faster than PGlite's initdb.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { connect, migrationsFolder, runMigrations } from "../../drizzle/db.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The migrated template database test databases are cloned from (postgres project only). */
    postgresTemplate: string;
    /** This run's id, part of every database it creates. */
    postgresRunId: string;
    /** A file holding a dump of a migrated PGlite data directory (pglite project only). */
    pgliteSnapshot: string;
  }
}

/** Every database the tests create starts with this; templates with {@link TEMPLATE_PREFIX}. */
export const TEST_DATABASE_PREFIX = "bo_t_";
const TEMPLATE_PREFIX = "bo_tpl_";
const STALE_AFTER_MS = 2 * 60 * 60 * 1000;
const TEMPLATE_LOCK = 7263542;

/** The URL of another database on the same server as `url`. */
export function databaseUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh run id: its creation time (base 36 seconds, so old leftovers can be told apart) and noise. */
export function newRunId(): string {
  return `${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(3).toString("hex")}`;
}

/** A client on the server's maintenance database (the one `url` names), for CREATE/DROP DATABASE. */
export function adminClient(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, idle_timeout: 5 });
}

/** Quotes an identifier we generated ourselves (lowercase letters, digits, underscores). */
export function quoteName(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
  return `"${name}"`;
}

function migrationsHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(entry.name).update(readFileSync(full));
    }
  };
  walk(migrationsFolder);
  return hash.digest("hex").slice(0, 16);
}

/**
 * Makes sure the template database for the current migrations exists and returns its name.
 * Safe to call from several processes at once: the build happens under an advisory lock, into a
 * scratch name that is renamed only once migrated, so nobody ever clones a half-built template.
 */
export async function ensureTemplate(adminUrl: string): Promise<string> {
  const template = `${TEMPLATE_PREFIX}${migrationsHash()}`;
  const admin = adminClient(adminUrl);
  try {
    const exists = async () => (await admin`SELECT 1 FROM pg_database WHERE datname = ${template}`).length > 0;
    if (await exists()) return template;
    await admin`SELECT pg_advisory_lock(${TEMPLATE_LOCK})`;
    try {
      if (await exists()) return template;
      const scratch = `${template}_build_${randomBytes(3).toString("hex")}`;
      await admin.unsafe(`CREATE DATABASE ${quoteName(scratch)}`);
      await admin.unsafe(`COMMENT ON DATABASE ${quoteName(scratch)} IS 'backorder-engine test template, built ${new Date().toISOString()}'`);
      const connection = await connect({ databaseUrl: databaseUrlFor(adminUrl, scratch), max: 1 });
      try {
        await runMigrations(connection);
      } finally {
        await connection.close();
      }
      await admin.unsafe(`ALTER DATABASE ${quoteName(scratch)} RENAME TO ${quoteName(template)}`);
      return template;
    } finally {
      await admin`SELECT pg_advisory_unlock(${TEMPLATE_LOCK})`;
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Drops this run's test databases (those starting with `bo_t_<runId>_`), and any test database,
 * half-built or outdated template left by a run that started more than two hours ago.
 */
export async function dropLeftovers(adminUrl: string, runId: string | null, currentTemplate: string | null): Promise<string[]> {
  const admin = adminClient(adminUrl);
  const dropped: string[] = [];
  try {
    const candidates = await admin<{ datname: string; comment: string | null }[]>`
      SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
      WHERE datname LIKE ${`${TEST_DATABASE_PREFIX}%`} OR datname LIKE ${`${TEMPLATE_PREFIX}%`}`;
    const now = Date.now();
    for (const { datname, comment } of candidates) {
      let drop = false;
      if (datname.startsWith(TEMPLATE_PREFIX)) {
        const built = Date.parse(comment?.match(/built (\S+)/)?.[1] ?? "");
        drop = datname !== currentTemplate && (!Number.isFinite(built) || now - built > STALE_AFTER_MS);
      } else if (runId && datname.startsWith(`${TEST_DATABASE_PREFIX}${runId}_`)) {
        drop = true;
      } else {
        const started = parseInt(datname.slice(TEST_DATABASE_PREFIX.length).split("_")[0] ?? "", 36) * 1000;
        drop = !Number.isFinite(started) || now - started > STALE_AFTER_MS;
      }
      if (!drop) continue;
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteName(datname)} WITH (FORCE)`);
      dropped.push(datname);
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  return dropped;
}

const SNAPSHOT_PREFIX = "bo-pglite-";

function pgliteVersion(): string {
  // The package does not export its package.json: walk up from its entry point.
  let dir = path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  while (dir !== path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (name === "@electric-sql/pglite" && version) return version;
    }
    dir = path.dirname(dir);
  }
  return "unknown";
}

/**
 * Makes sure a dump of a migrated PGlite data directory exists in the temp folder and returns its
 * path. Written to a scratch name and renamed, so concurrent runs never read half a file.
 */
export async function ensurePgliteSnapshot(): Promise<string> {
  // The dump's format is PGlite's: a new PGlite version gets a new file.
  const file = path.join(tmpdir(), `${SNAPSHOT_PREFIX}${pgliteVersion()}-${migrationsHash()}.tar`);
  if (existsSync(file)) return file;
  const connection = await connect({ pgliteDir: "memory://" });
  try {
    await runMigrations(connection);
    const dump = await connection.pglite!.dumpDataDir("none");
    const scratch = `${file}.${process.pid}.${randomBytes(3).toString("hex")}`;
    writeFileSync(scratch, Buffer.from(await dump.arrayBuffer()));
    renameSync(scratch, file);
  } finally {
    await connection.close();
  }
  for (const name of readdirSync(tmpdir())) {
    const other = path.join(tmpdir(), name);
    if (!name.startsWith(SNAPSHOT_PREFIX) || other === file) continue;
    try {
      if (Date.now() - statSync(other).mtimeMs > STALE_AFTER_MS) unlinkSync(other);
    } catch {
      // Another run removed it first.
    }
  }
  return file;
}

/** vitest entry point: prepares the project's migrated copy, hands it to the tests, cleans up after. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if ((project.config.env.TEST_DB ?? process.env.TEST_DB) !== "postgres") {
    project.provide("pgliteSnapshot", await ensurePgliteSnapshot());
    return undefined;
  }
  const adminUrl = project.config.env.TEST_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) throw new Error("the postgres test project needs TEST_DATABASE_URL");
  const runId = newRunId();
  const template = await ensureTemplate(adminUrl);
  project.provide("postgresTemplate", template);
  project.provide("postgresRunId", runId);
  return async () => {
    await dropLeftovers(adminUrl, runId, template);
  };
}

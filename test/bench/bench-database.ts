/**
 * The bench's own PostgreSQL databases, named `bo_bench_<run>_<label>`: each scenario gets a
 * fresh one, cloned from a template migrated once per run, and every one is dropped at the end.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { connect, runMigrations } from "../../drizzle/db.js";

export const BENCH_DATABASE_PREFIX = "bo_bench_";

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The URL of database `name` on the server of `url`. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export class BenchDatabases {
  private readonly run = `${Date.now().toString(36)}_${randomBytes(2).toString("hex")}`;
  private template: Promise<string> | undefined;
  private readonly created: string[] = [];

  /** `serverUrl`: any database on the PostgreSQL server to use (it is only connected to). */
  constructor(private readonly serverUrl: string) {}

  private admin() {
    return postgres(this.serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  }

  private async createTemplate(): Promise<string> {
    const name = `${BENCH_DATABASE_PREFIX}${this.run}_template`;
    const admin = this.admin();
    try {
      await admin.unsafe(`CREATE DATABASE ${quote(name)}`);
      this.created.push(name);
    } finally {
      await admin.end({ timeout: 5 });
    }
    const connection = await connect({ databaseUrl: databaseUrl(this.serverUrl, name), max: 1 });
    try {
      await runMigrations(connection);
    } finally {
      await connection.close();
    }
    return name;
  }

  /** A fresh migrated database; returns its URL. */
  async create(label: string): Promise<string> {
    this.template ??= this.createTemplate();
    const template = await this.template;
    const name = `${BENCH_DATABASE_PREFIX}${this.run}_${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}`;
    const admin = this.admin();
    try {
      await admin.unsafe(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(template)}`);
      this.created.push(name);
    } finally {
      await admin.end({ timeout: 5 });
    }
    return databaseUrl(this.serverUrl, name);
  }

  /** Drops one database made by `create`, closing whatever is still connected to it. */
  async drop(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    await this.dropNamed([name]);
  }

  /** Drops every database this run made. */
  async dropAll(): Promise<void> {
    await this.dropNamed([...this.created].reverse());
  }

  private async dropNamed(names: string[]): Promise<void> {
    const admin = this.admin();
    try {
      for (const name of names) {
        if (!this.created.includes(name)) continue;
        await admin.unsafe(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`);
        this.created.splice(this.created.indexOf(name), 1);
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  }
}

/**
 * What the database has committed, as a value that can be compared: PostgreSQL's current snapshot
 * (`pg_current_snapshot()`: the oldest transaction still running, the first not yet finished, and
 * those running in between). Two readings are equal only when no transaction that wrote anything
 * finished between them (a write gets a transaction id; reads get none), on any connection of any
 * instance. So a result read between two equal readings saw exactly what the first one names, and
 * stays true for as long as later readings equal it (docs/ARCHITECTURE.md, "The read cache").
 *
 * One statement serves every caller that asked before it was sent: a reading is always taken
 * after the call that asked for it, never before, and 32 requests at once cost one round trip.
 */
import { sql } from "drizzle-orm";
import { type Database, rows } from "./db.js";

export class CommitClock {
  /** The reading on its way to the database: it answers those that asked before it was sent. */
  private sent: Promise<string> | undefined;
  /** The reading that follows it, for those that asked since. */
  private following: Promise<string> | undefined;

  constructor(private readonly db: Database) {}

  /** A reading taken after this call. */
  now(): Promise<string> {
    if (!this.sent) return this.send();
    this.following ??= this.sent.then(
      () => this.send(),
      () => this.send(),
    );
    return this.following;
  }

  private send(): Promise<string> {
    this.following = undefined;
    const reading = rows<{ snapshot: string }>(this.db, sql`SELECT pg_current_snapshot()::text AS snapshot`).then((result) => result[0].snapshot);
    this.sent = reading;
    const done = () => {
      if (this.sent === reading) this.sent = undefined;
    };
    reading.then(done, done);
    return reading;
  }
}

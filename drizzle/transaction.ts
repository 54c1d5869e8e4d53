/**
 * One business operation, one transaction. PostgreSQL may abort a transaction that lost a
 * deadlock or a serialization race; such an abort is not the client's problem, so the whole
 * operation is run again, a bounded number of times, with a short jittered pause.
 */
import type { Database, Transaction } from "./db.js";

const RETRYABLE = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 8;

/** The SQLSTATE of a database error, looked up through drizzle's wrapping `cause` chain. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

const commitListeners = new WeakMap<Database, Set<() => void>>();

/**
 * Calls `listener` after each transaction that `inTransaction` commits on this database (the
 * event log's wake-up: it runs after commit, never inside the transaction). Returns a remover.
 */
export function onCommit(db: Database, listener: () => void): () => void {
  let listeners = commitListeners.get(db);
  if (!listeners) commitListeners.set(db, (listeners = new Set()));
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Runs `work` in one transaction, retrying it when PostgreSQL aborts it for a deadlock or serialization failure. */
export async function inTransaction<T>(db: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await db.transaction((tx) => work(tx as Transaction));
      commitListeners.get(db)?.forEach((listener) => listener());
      return result;
    } catch (error) {
      const state = sqlState(error);
      if (!state || !RETRYABLE.has(state) || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

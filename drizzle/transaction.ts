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
  return retried(async () => {
    const result = await db.transaction((tx) => work(tx as Transaction));
    commitListeners.get(db)?.forEach((listener) => listener());
    return result;
  });
}

/** Thrown inside a transaction to roll it back; carries the work's result out. Never leaves this module. */
class RolledBack<T> extends Error {
  constructor(readonly outcome: T) {
    super("rolled back");
  }
}

/**
 * Runs `work` in one transaction that is always rolled back, and returns what it returned: a
 * what-if (a restock simulation) runs the real statements and keeps none of their effects. Nothing
 * commits, so no commit listener hears of it. Retried like {@link inTransaction}.
 */
export async function inRolledBackTransaction<T>(db: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return retried(async () => {
    try {
      await db.transaction(async (tx) => {
        throw new RolledBack(await work(tx as Transaction));
      });
    } catch (error) {
      if (error instanceof RolledBack) return error.outcome as T;
      throw error;
    }
    throw new Error("a rolled-back transaction ended without being rolled back");
  });
}

/** Runs `attempt` again, after a short jittered pause, while PostgreSQL aborts it for a deadlock or a serialization failure. */
async function retried<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const state = sqlState(error);
      if (!state || !RETRYABLE.has(state) || n >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * n));
    }
  }
}

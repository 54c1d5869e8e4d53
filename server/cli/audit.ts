/**
 * `npm run audit`: checks every invariant of docs/ARCHITECTURE.md, "The model and its invariants" against a database and prints each
 * violation with the ids involved. PostgreSQL when `DATABASE_URL` is set, else the embedded
 * database in `PGLITE_DIR` (default ./.data/pglite; stop the server first: PGlite is one process).
 * Exit code: 0 clean, 1 violations found, 2 the audit could not run.
 */
import { existsSync } from "node:fs";
import { connect } from "../../drizzle/db.js";
import { auditInvariants, AUDITED_INVARIANTS, formatViolation } from "../services/audit.service.js";

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const pgliteDir = process.env.PGLITE_DIR || "./.data/pglite";
  if (!databaseUrl && !pgliteDir.startsWith("memory://") && !existsSync(pgliteDir)) {
    console.error(`audit: no database at ${pgliteDir} (set DATABASE_URL or PGLITE_DIR)`);
    return 2;
  }
  const connection = await connect({ databaseUrl, pgliteDir, max: 1 });
  try {
    const started = performance.now();
    const violations = await auditInvariants(connection.db);
    for (const violation of violations) console.log(formatViolation(violation));
    const ms = Math.round(performance.now() - started);
    console.log(`audit: ${violations.length} violations (${AUDITED_INVARIANTS.length} invariants checked on ${connection.kind} in ${ms} ms)`);
    return violations.length > 0 ? 1 : 0;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // drizzle wraps the driver's error ("Failed query: …"); its cause says what went wrong.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    console.error("audit: could not run:", cause instanceof Error ? cause.message : cause);
    process.exit(2);
  },
);

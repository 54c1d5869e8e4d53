/**
 * `npm run audit`: checks every invariant of docs/ARCHITECTURE.md, "The model and its invariants" against a database and prints each
 * violation with the ids involved. PostgreSQL when `DATABASE_URL` is set, else the embedded
 * database in `PGLITE_DIR` (default ./.data/pglite). PGlite allows one process per directory:
 * while the server has it open, the audit runs in the server, through its `auditReport` query
 * (server/cli/running-server.ts: BACKORDER_URL or HOST and PORT, and the ADMIN key in BACKORDER_API_KEY or the
 * development ADMIN key), and prints the same; the API lists the first 100 violations of the count.
 * Exit code: 0 clean, 1 violations found, 2 the audit could not run.
 */
import { existsSync } from "node:fs";
import { connect, PgliteDirectoryLockedError } from "../../drizzle/db.js";
import { auditInvariants, AUDITED_INVARIANTS, formatViolation } from "../services/audit.service.js";
import { reachRunningServer, RunningServerError, RunningServerUnavailableError } from "./running-server.js";

interface AuditReportAnswer {
  auditReport: {
    invariants: string[];
    violationCount: number;
    violations: { invariant: string; message: string; ids: string[] }[];
  };
}

/** The audit of the embedded database `locked` names, run by the server that holds it. */
async function auditThroughServer(locked: PgliteDirectoryLockedError): Promise<number> {
  const server = await reachRunningServer(locked, process.env, "audit");
  console.error(`audit: the server (process ${server.pid}) has the embedded database open: auditing through its API at ${server.url}.`);
  const started = performance.now();
  const { auditReport: report } = await server.request<AuditReportAnswer>(
    "{ auditReport { invariants violationCount violations { invariant message ids } } }",
  );
  // The same line as formatViolation's.
  for (const violation of report.violations) console.log(`${violation.invariant}: ${violation.message} [${violation.ids.join(" ")}]`);
  const unlisted = report.violationCount - report.violations.length;
  if (unlisted > 0) console.log(`audit: ${unlisted} more violations not listed by the API (stop the server and run npm run audit for every one)`);
  const ms = Math.round(performance.now() - started);
  console.log(`audit: ${report.violationCount} violations (${report.invariants.length} invariants checked on pglite in ${ms} ms)`);
  return report.violationCount > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const pgliteDir = process.env.PGLITE_DIR || "./.data/pglite";
  if (!databaseUrl && !pgliteDir.startsWith("memory://") && !existsSync(pgliteDir)) {
    console.error(`audit: no database at ${pgliteDir} (set DATABASE_URL or PGLITE_DIR)`);
    return 2;
  }
  let connection;
  try {
    connection = await connect({ databaseUrl, pgliteDir, max: 1 });
  } catch (error) {
    if (error instanceof PgliteDirectoryLockedError && error.pid > 0) return auditThroughServer(error);
    throw error;
  }
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
    if (error instanceof RunningServerUnavailableError || error instanceof RunningServerError) {
      console.error(error.message);
      process.exit(2);
    }
    // drizzle wraps the driver's error ("Failed query: …"); its cause says what went wrong.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    console.error("audit: could not run:", cause instanceof Error ? cause.message : cause);
    process.exit(2);
  },
);

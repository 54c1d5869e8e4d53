/**
 * The invariant audit as a test assertion. Test files normally get it for free from
 * `useFreshDatabase()` (test/support/database.ts), which audits in `afterAll`; call
 * `expectCleanAudit` directly to check in the middle of a test.
 */
import type { Executor } from "../../drizzle/db.js";
import { auditInvariants, formatViolation, type Violation } from "../../server/services/audit.service.js";

/** The violations, one per line, under a count: what a failing audit prints. */
export function formatViolations(violations: readonly Violation[]): string {
  return [`audit: ${violations.length} violations`, ...violations.map((v) => `  ${formatViolation(v)}`)].join("\n");
}

/** Fails (throws) with every violation printed, one per line, unless the database is consistent. */
export async function expectCleanAudit(db: Executor): Promise<void> {
  const violations = await auditInvariants(db);
  if (violations.length > 0) throw new Error(formatViolations(violations));
}

/** The invariant audit (ADMIN only): what `npm run audit` checks, for a server whose database no other process may open. */
import "reflect-metadata";
import { Authorized, Ctx, Query, Resolver } from "type-graphql";
import { AuditReport } from "../../../schema/audit.type.js";
import { AUDIT } from "../auth-checker.js";
import type { Context } from "../context.js";
import { auditInvariants, AUDITED_INVARIANTS } from "../../services/audit.service.js";

/** The most violations one answer lists; `violationCount` still counts them all. */
export const MAX_AUDIT_VIOLATIONS = 100;

@Resolver(() => AuditReport)
export class AuditResolver {
  @Authorized(...AUDIT)
  @Query(() => AuditReport, { description: "Checks every invariant of the model over the whole database, from one snapshot. ADMIN only." })
  async auditReport(@Ctx() context: Context): Promise<AuditReport> {
    const violations = await auditInvariants(context.db);
    return {
      ok: violations.length === 0,
      invariants: [...AUDITED_INVARIANTS],
      violationCount: violations.length,
      violations: violations.slice(0, MAX_AUDIT_VIOLATIONS).map((violation) => ({
        invariant: violation.invariant,
        message: violation.message,
        ids: Object.entries(violation.ids).map(([name, id]) => `${name}=${id}`),
      })),
    };
  }
}

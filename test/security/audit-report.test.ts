/**
 * `auditReport` (issue 12, item 8): the invariant audit over the API, for ADMIN keys only. It says
 * what `npm run audit` says: the invariants checked, every violation counted, the first 100 listed
 * in the audit's own order with the ids as `name=id`.
 */
import { sql } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { MAX_AUDIT_VIOLATIONS } from "../../server/graphql/resolvers/audit.resolver.js";
import { auditInvariants, AUDITED_INVARIANTS, formatViolation } from "../../server/services/audit.service.js";
import { schema } from "../../drizzle/db.js";
import { createRoleKeys, type RoleKey } from "../support/access.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database);
let reader: RoleKey;

beforeAll(async () => {
  reader = (await createRoleKeys(database.db, "audit")).READER;
});

const REPORT = "{ auditReport { ok invariants violationCount violations { invariant message ids } } }";

it("answers an ADMIN key with every invariant checked and no violation on a consistent database", async () => {
  await newProduct(database.db, { initialStock: 3 });

  const { auditReport } = await server.data(REPORT);

  expect(auditReport).toEqual({ ok: true, invariants: [...AUDITED_INVARIANTS], violationCount: 0, violations: [] });
});

it("counts every violation, lists the first 100 as the audit orders them, with the ids npm run audit prints", async () => {
  for (let i = 0; i <= MAX_AUDIT_VIOLATIONS; i++) await newProduct(database.db, { initialStock: 1 });
  // Every stock level one unit above its ledger: a violation of stock.on-hand-matches-ledger each.
  await database.db.execute(sql`UPDATE ${schema.stockLevels} SET on_hand = on_hand + 1`);
  try {
    const direct = await auditInvariants(database.db);
    expect(direct.length).toBeGreaterThan(MAX_AUDIT_VIOLATIONS);

    const { auditReport } = await server.data(REPORT);

    expect(auditReport.ok).toBe(false);
    expect(auditReport.violationCount).toBe(direct.length);
    expect(auditReport.violations).toHaveLength(MAX_AUDIT_VIOLATIONS);
    const printed = auditReport.violations.map(
      (v: { invariant: string; message: string; ids: string[] }) => `${v.invariant}: ${v.message} [${v.ids.join(" ")}]`,
    );
    expect(printed).toEqual(direct.slice(0, MAX_AUDIT_VIOLATIONS).map(formatViolation));
  } finally {
    await database.db.execute(sql`UPDATE ${schema.stockLevels} SET on_hand = on_hand - 1`);
  }
});

it("refuses a READER key with FORBIDDEN and no data", async () => {
  const response = await server.gql(REPORT, {}, { key: reader.secret });

  expect(response.body.data ?? null).toBeNull();
  expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(["FORBIDDEN"]);
});

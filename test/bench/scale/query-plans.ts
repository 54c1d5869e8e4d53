/**
 * The plans of the statements a request ran: each captured statement (statement-capture.ts) is
 * PREPAREd with the parameter types the server declared and EXPLAINed with the values it sent,
 * twice: as a custom plan (the values known to the planner) and as the generic plan.
 *
 * Which one the server runs: a statement sent unnamed (drizzle on postgres.js sends its queries
 * so) is planned afresh with its values at every execution, a custom plan. A named prepared
 * statement is reused, and `plan_cache_mode = auto` switches it to the generic plan from the sixth
 * execution on when that does not cost more, by PostgreSQL's rule (plancache.c
 * `choose_custom_plan`): the generic one when its cost is below the custom plan's plus the
 * planning cost PostgreSQL charges it, 1000 × cpu_operator_cost per range-table entry plus one
 * (the entries are approximated here by the plan's scans).
 */
import postgres from "postgres";
import type { CapturedStatement } from "./statement-capture.js";

/** Tables that grow with the orders: a list query must never read one whole. */
export const GROWING_TABLES = ["orders", "order_lines", "backorders", "events", "stock_movements"] as const;

/** Statements of the server's background work and session set-up, not of the request: not planned. */
const BACKGROUND = /\bevents\b|pg_try_advisory|pg_advisory|pg_notify|^\s*(listen|unlisten|set|reset|show)\b|pg_catalog\.pg_type|"cost_budgets"/i;
const READ_ONLY = /^\s*(select|with)\b/i;
const WRITES = /\b(insert|update|delete)\b/i;

/** cpu_operator_cost's default, as plancache.c charges planning: 1000 × it per range-table entry. */
const PLANNING_COST_PER_RELATION = 1000 * 0.0025;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Scan Direction"?: string;
  "Total Cost": number;
  "Subplan Name"?: string;
  Plans?: PlanNode[];
}

export interface StatementPlan {
  /** The statement's text, whitespace collapsed. */
  text: string;
  params: (string | null)[];
  /** EXPLAIN (FORMAT JSON) of the custom plan and of the generic one (null without parameters). */
  custom: PlanNode | null;
  generic: PlanNode | null;
  /** Which of the two the server runs: custom for an unnamed statement; for a named one, what PostgreSQL picks after five executions. */
  used: "custom" | "generic";
  /** The plan in use on one line: each node with its relation and index, children in brackets. */
  shape: string;
  /** Growing tables the plan in use reads with a sequential scan. */
  seqScans: string[];
  /** The same for the generic plan of a named statement when the custom one is in use (a risk if the costs move), or the other way round. */
  otherSeqScans: string[];
  /** Why it could not be planned, if it could not. */
  error?: string;
}

/** Whether a captured statement is the request's own read (not background work, not a write). */
export function isRequestRead(statement: CapturedStatement): boolean {
  return READ_ONLY.test(statement.text) && !WRITES.test(statement.text) && !BACKGROUND.test(statement.text);
}

function nodes(plan: PlanNode | null): PlanNode[] {
  if (!plan) return [];
  return [plan, ...(plan.Plans ?? []).flatMap((child) => nodes(child))];
}

function seqScans(plan: PlanNode | null): string[] {
  const growing = new Set<string>(GROWING_TABLES);
  return [
    ...new Set(
      nodes(plan)
        .filter((node) => node["Node Type"] === "Seq Scan" && growing.has(node["Relation Name"] ?? ""))
        .map((node) => node["Relation Name"]!),
    ),
  ];
}

/** A plan on one line, e.g. `Limit[Index Scan Backward orders_pkey on orders]`. */
export function planShape(plan: PlanNode | null): string {
  if (!plan) return "";
  const direction = plan["Scan Direction"] === "Backward" ? " Backward" : "";
  const index = plan["Index Name"] ? ` ${plan["Index Name"]}` : "";
  const relation = plan["Relation Name"] ? ` on ${plan["Relation Name"]}` : "";
  const children = (plan.Plans ?? []).map(planShape);
  return `${plan["Node Type"]}${direction}${index}${relation}${children.length ? `[${children.join("; ")}]` : ""}`;
}

function literal(value: string | null): string {
  return value === null ? "NULL" : `'${value.replace(/'/g, "''")}'`;
}

/**
 * Plans each distinct request read among `statements` on the database at `url` (see the file's
 * comment). Never throws for a statement: one that cannot be planned carries its error.
 */
export async function explainStatements(url: string, statements: readonly CapturedStatement[]): Promise<StatementPlan[]> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const typeNames = new Map<number, string>();
  const typeName = async (oid: number) => {
    if (oid === 0) return "unknown";
    if (!typeNames.has(oid)) {
      const [row] = await client.unsafe<{ name: string }[]>(`SELECT format_type(${Number(oid)}, NULL) AS name`);
      typeNames.set(oid, row.name);
    }
    return typeNames.get(oid)!;
  };
  const seen = new Set<string>();
  const plans: StatementPlan[] = [];
  try {
    await client.unsafe("SET jit = off");
    for (const statement of statements) {
      if (!isRequestRead(statement)) continue;
      const key = JSON.stringify([statement.text, statement.params]);
      if (seen.has(key)) continue;
      seen.add(key);
      const text = statement.text.replace(/\s+/g, " ").trim();
      const plan: StatementPlan = {
        text,
        params: statement.params,
        custom: null,
        generic: null,
        used: "custom",
        shape: "",
        seqScans: [],
        otherSeqScans: [],
      };
      plans.push(plan);
      if (statement.binary) {
        plan.error = "a parameter was sent in binary format";
        continue;
      }
      try {
        const count = Math.max(statement.params.length, statement.types.length);
        const types = await Promise.all(Array.from({ length: count }, (_, i) => typeName(statement.types[i] ?? 0)));
        await client.unsafe(`PREPARE scale_plan${count ? `(${types.join(", ")})` : ""} AS ${statement.text}`);
        const execute = `EXECUTE scale_plan${count ? `(${statement.params.map(literal).join(", ")})` : ""}`;
        const explain = async (mode: string) => {
          await client.unsafe(`SET plan_cache_mode = ${mode}`);
          const [row] = await client.unsafe<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>(`EXPLAIN (FORMAT JSON) ${execute}`);
          return row["QUERY PLAN"][0].Plan;
        };
        try {
          plan.custom = await explain("force_custom_plan");
          if (count > 0) plan.generic = await explain("force_generic_plan");
        } finally {
          await client.unsafe("DEALLOCATE scale_plan");
          await client.unsafe("RESET plan_cache_mode");
        }
        if (plan.generic && statement.named) {
          const relations = nodes(plan.custom).filter((node) => node["Relation Name"]).length;
          const customCost = plan.custom["Total Cost"] + PLANNING_COST_PER_RELATION * (relations + 1);
          if (plan.generic["Total Cost"] < customCost) plan.used = "generic";
        }
        const [used, other] = plan.used === "generic" ? [plan.generic, plan.custom] : [plan.custom, plan.generic];
        plan.shape = planShape(used);
        plan.seqScans = seqScans(used);
        plan.otherSeqScans = statement.named ? seqScans(other) : [];
      } catch (error) {
        plan.error = error instanceof Error ? error.message : String(error);
      }
    }
  } finally {
    await client.end({ timeout: 5 });
  }
  return plans;
}

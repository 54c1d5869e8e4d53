/**
 * Scale (issue 16): every list of the schema at 100,000 and at 10,000,000 orders.
 *
 * Two fresh databases get the scale fixture (scale/orders.fixture.ts: bulk-loaded, consistent
 * enough for the audit, which is run at the small size). Each list query (scale/list-queries.ts),
 * without and with its total, is then asked of a real server process per database over HTTP: a
 * few rounds to warm up, then rounds of one request each at both sizes, without and with the
 * total, until each has `--scale-runs`; the median is the figure. Targets per row: at the large size within 3× of the small and within
 * 50 ms, and no plan behind it reading a growing table whole. Per list, the issue's check: the
 * page with its total within 3× of the page without.
 *
 * The plans: before timing, a server per database whose connection goes through a capturing
 * proxy (scale/statement-capture.ts) answers each query once more; every statement it sent is
 * EXPLAINed custom and generic (scale/query-plans.ts). They are printed to stderr, one line per
 * statement, and written in full beside `--json FILE` as FILE's name + `.scale-plans.json`.
 */
import { writeFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import { connect, rows } from "../../../drizzle/db.js";
import { auditInvariants, formatViolation } from "../../../server/services/audit.service.js";
import { GraphQLClient } from "../graphql-client.js";
import { median } from "../latency.js";
import { step } from "../progress.js";
import type { ScenarioContext } from "../scenario.js";
import { measureBacklogMetrics } from "../scale/backlog-metrics-query.js";
import { countFields, type ListQuery, type ListSubjects, listQueries } from "../scale/list-queries.js";
import { loadScaleFixture, type ScaleFixture } from "../scale/orders.fixture.js";
import { explainStatements, type StatementPlan } from "../scale/query-plans.js";
import { withCapturedServer } from "../scale/captured-server.js";
import type { CapturedStatement } from "../scale/statement-capture.js";

/** At the large size, a list's page is within this factor of the same page at the small size … */
const GROWTH_TARGET = 3;
/** … and answers within this many ms. */
const LATENCY_TARGET_MS = 50;
/** The page with its total within this factor of the page without (the issue's check). */
const COUNT_TARGET = 3;
const WARMUP_REQUESTS = 3;
/** A list that slow stops early (after three rounds): its figures are a miss either way. */
const ROW_BUDGET_MS = 60_000;
/** The whole scenario, both loads included, on the bench's two cores. */
const SCENARIO_TARGET_S = 15 * 60;

interface Sized {
  size: number;
  label: string;
  url: string;
  fixture: ScaleFixture;
  subjects: ListSubjects;
}

/** One list asked one way: without its total, or with it. */
interface Variant {
  list: ListQuery;
  withCount: boolean;
  name: string;
  query: string;
}

interface Timing {
  medianMs: number | null;
  runs: number;
  error?: string;
}

const format = (n: number) => n.toLocaleString("en-US");

/** The product with the deepest queue, an in-stock product with few orders, the newest order's customer. */
async function findSubjects(url: string): Promise<ListSubjects> {
  const connection = await connect({ databaseUrl: url, max: 1 });
  try {
    const [busy] = await rows<{ id: number }>(connection.db, sql`SELECT id FROM products ORDER BY waiting_orders DESC, id LIMIT 1`);
    const [quiet] = await rows<{ id: number }>(connection.db, sql`SELECT id FROM products WHERE backordered = 0 ORDER BY id DESC LIMIT 1`);
    const [newest] = await rows<{ customer: string }>(connection.db, sql`SELECT customer FROM orders ORDER BY id DESC LIMIT 1`);
    return { busyProductId: Number(busy.id), quietProductId: Number(quiet.id), customer: newest.customer };
  } finally {
    await connection.close();
  }
}

async function timeRequest(client: GraphQLClient, variant: Variant, variables: Record<string, unknown> | undefined): Promise<number> {
  const started = performance.now();
  const response = await client.request(variant.query, variables);
  const ms = performance.now() - started;
  if (response.errors?.length || !response.data) throw new Error(JSON.stringify(response.errors ?? response).slice(0, 300));
  return ms;
}

export async function scaleScenario(context: ScenarioContext): Promise<void> {
  const started = performance.now();
  const { options } = context;
  const runs = options.scaleRuns;

  const sized: Sized[] = [];
  for (const size of options.scaleOrders) {
    const label = `${format(size)} orders`;
    const url = await context.databases.create(`${context.name}_${size}`);
    // The large database is gigabytes: gone as soon as the scenario ends, not at the end of the run.
    if (!options.keepDatabases) context.defer(() => context.databases.drop(url));
    step(`loading ${label}`);
    const fixture = await loadScaleFixture(url, size, label);
    const total = fixture.steps.reduce((sum, s) => sum + s.ms, 0);
    step(`${label}: loaded in ${(total / 1000).toFixed(0)} s, ${(fixture.bytes / 1e9).toFixed(2)} GB; rows: ${JSON.stringify(fixture.tables)}`);
    context.record({
      name: `load ${label}`,
      unit: "s",
      value: total / 1000,
      note: `${(fixture.bytes / 1e9).toFixed(2)} GB; ${fixture.steps.map((s) => `${s.name} ${(s.ms / 1000).toFixed(1)} s`).join("; ")}; order counters rebuilt: ${fixture.countersRebuilt}`,
    });
    sized.push({ size, label, url, fixture, subjects: await findSubjects(url) });
  }
  const [small, large] = sized;
  // The same products at both sizes (the catalogue is the same); the customer is each database's own.
  small.subjects = { ...large.subjects, customer: small.subjects.customer };

  step(`${small.label}: the invariant audit`);
  {
    const connection = await connect({ databaseUrl: small.url, max: 1 });
    try {
      const violations = await auditInvariants(connection.db);
      for (const violation of violations.slice(0, 10)) step(`    ${formatViolation(violation)}`);
      context.record({
        name: `audit violations at ${small.label}`,
        unit: "",
        value: violations.length,
        target: { on: "value", op: "<=", bound: 0 },
      });
    } finally {
      await connection.close();
    }
  }

  // Each list's variants, with the total's fields the server has.
  const lists = listQueries(large.subjects);
  const planned = new Map<string, { small: StatementPlan[]; large: StatementPlan[] }>();
  let variants: Variant[] = [];
  for (const at of sized) {
    step(`${at.label}: capturing each list's statements through a proxy, then EXPLAIN`);
    await withCapturedServer(context, at.url, async (client, capture) => {
      if (variants.length === 0) {
        const counts = await countFields(
          client,
          lists.map((list) => list.connection),
        );
        variants = lists.flatMap((list) => [
          { list, withCount: false, name: list.name, query: list.query("") },
          {
            list,
            withCount: true,
            name: `${list.name} +${counts.get(list.connection)!.replace(" ", " +")}`,
            query: list.query(counts.get(list.connection)!),
          },
        ]);
      }
      const subjects = listQueries(at.subjects);
      for (const variant of variants) {
        const variables = subjects.find((list) => list.name === variant.list.name)?.variables;
        const ask = async () => {
          const response = await client.request(variant.query, variables);
          if (response.errors?.length) throw new Error(`${variant.name}: ${JSON.stringify(response.errors).slice(0, 300)}`);
        };
        let statements: CapturedStatement[];
        try {
          await ask();
          statements = await capture.capture(ask);
        } catch (error) {
          step(`  ${variant.name}: ${error instanceof Error ? error.message : String(error)}`);
          statements = [];
        }
        const plans = await explainStatements(at.url, statements);
        const entry = planned.get(variant.name) ?? { small: [], large: [] };
        entry[at === small ? "small" : "large"] = plans;
        planned.set(variant.name, entry);
      }
    });
  }

  step("timing each list over HTTP: a server per database; both sizes, without and with the total, in turn");
  const servers = [];
  for (const at of sized) servers.push(await context.startServer({ databaseUrl: at.url }));
  const clients = servers.map((server) => new GraphQLClient(server.url, 1));
  context.defer(() => clients.forEach((client) => client.close()));
  const timings = new Map<string, [Timing, Timing]>();
  for (const list of lists) {
    // Four series in turn, a request each per round: a burst of load from elsewhere on the
    // machine falls on all four, so neither ratio (growth, and the total's cost) takes it alone.
    const series = variants
      .filter((variant) => variant.list === list)
      .flatMap((variant) =>
        sized.map((at, k) => ({
          variant,
          k,
          client: clients[k],
          variables: listQueries(at.subjects).find((query) => query.name === list.name)?.variables,
          samples: [] as number[],
          error: undefined as string | undefined,
        })),
      );
    const listStarted = performance.now();
    for (let i = -WARMUP_REQUESTS; i < runs; i++) {
      for (const one of series) {
        if (one.error) continue;
        try {
          const ms = await timeRequest(one.client, one.variant, one.variables);
          if (i >= 0) one.samples.push(ms);
        } catch (error) {
          one.error = error instanceof Error ? error.message : String(error);
        }
      }
      if (i >= 2 && performance.now() - listStarted > ROW_BUDGET_MS) break;
    }
    const show = (t: Timing) => (t.medianMs === null ? `failed: ${t.error}` : `${t.medianMs.toFixed(1)} ms`);
    for (const variant of variants.filter((v) => v.list === list)) {
      const [atSmall, atLarge] = [0, 1].map((k): Timing => {
        const one = series.find((s) => s.variant === variant && s.k === k)!;
        return { medianMs: one.samples.length ? median(one.samples) : null, runs: one.samples.length, error: one.error };
      });
      timings.set(variant.name, [atSmall, atLarge]);
      step(`  ${variant.name}: ${show(atSmall)} at ${small.label}, ${show(atLarge)} at ${large.label} (median of ${atLarge.runs})`);
    }
  }

  // The figures: each list and variant against its targets, then each list's total against its page.
  for (const variant of variants) {
    const [atSmall, atLarge] = timings.get(variant.name)!;
    const plans = planned.get(variant.name)!;
    const scans = plans.large.flatMap((plan) => plan.seqScans.map((table) => `${table} in ${plan.text.slice(0, 160)}`));
    const risks = plans.large.flatMap((plan) =>
      plan.otherSeqScans.map((table) => `${table} (${plan.used === "custom" ? "generic" : "custom"} plan of a named statement)`),
    );
    const smallScans = plans.small.flatMap((plan) => plan.seqScans);
    const ratio = atLarge.medianMs !== null && atSmall.medianMs ? atLarge.medianMs / atSmall.medianMs : null;
    const pass = ratio !== null && atLarge.medianMs !== null && ratio <= GROWTH_TARGET && atLarge.medianMs <= LATENCY_TARGET_MS && scans.length === 0;
    const notes = [
      atLarge.error ? `failed at ${large.label}: ${atLarge.error}` : "",
      atSmall.error ? `failed at ${small.label}: ${atSmall.error}` : "",
      scans.length ? `sequential scan of ${scans.join("; ")}` : "",
      risks.length ? `the plan not in use would scan ${[...new Set(risks)].join(", ")}` : "",
      smallScans.length ? `at ${small.label} a sequential scan of ${[...new Set(smallScans)].join(", ")}` : "",
    ].filter(Boolean);
    context.record({
      name: `${variant.name} at ${large.label}`,
      unit: "ms",
      value: atLarge.medianMs,
      baselineName: `at ${small.label}`,
      baseline: atSmall.medianMs,
      ratio,
      targetText: `≤ ${GROWTH_TARGET}× and ≤ ${LATENCY_TARGET_MS} ms; no seq scan`,
      pass,
      note: notes.length ? notes.join("; ") : undefined,
    });
  }
  for (const list of lists) {
    const page = variants.find((variant) => variant.list === list && !variant.withCount)!;
    const counted = variants.find((variant) => variant.list === list && variant.withCount)!;
    const [, pageAtLarge] = timings.get(page.name)!;
    const [countedAtSmall, countedAtLarge] = timings.get(counted.name)!;
    const [pageAtSmall] = timings.get(page.name)!;
    context.record({
      name: `${list.name}: page with its total, at ${large.label}`,
      unit: "ms",
      value: countedAtLarge.medianMs,
      baselineName: "without",
      baseline: pageAtLarge.medianMs,
      target: { on: "ratio", op: "<=", bound: COUNT_TARGET },
      note:
        countedAtSmall.medianMs !== null && pageAtSmall.medianMs !== null
          ? `at ${small.label}: ${countedAtSmall.medianMs.toFixed(1)} ms with, ${pageAtSmall.medianMs.toFixed(1)} ms without`
          : undefined,
    });
  }

  // Query.backlogMetrics over a window of a million orders (issue 13): its own row, plans in its note.
  await measureBacklogMetrics(context, sized);

  // The plans: one line per statement on stderr (each list's statements with its total, a superset
  // of those without; the small size only where its plan differs); in full beside the JSON.
  step(`plans (custom: planned with the values each time; generic: a named statement's reused plan; ! marks a sequential scan of a growing table):`);
  for (const variant of variants.filter((v) => v.withCount)) {
    const plans = planned.get(variant.name)!;
    step(`  ${variant.list.name}`);
    plans.large.forEach((plan, index) => {
      const atSmall = plans.small[index];
      const show = (label: string, p: StatementPlan) =>
        step(`   ${p.seqScans.length ? "!" : " "} ${label} ${p.used}: ${p.error ? `not planned: ${p.error}` : p.shape}`);
      step(`      ${plan.text.slice(0, 200)}`);
      show(`${large.label},`, plan);
      if (atSmall && atSmall.text === plan.text && atSmall.shape !== plan.shape) show(`${small.label},`, atSmall);
    });
  }
  if (options.json) {
    const file = `${options.json.replace(/\.json$/, "")}.scale-plans.json`;
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          sizes: sized.map((at) => ({
            orders: at.size,
            subjects: at.subjects,
            tables: at.fixture.tables,
            bytes: at.fixture.bytes,
            steps: at.fixture.steps,
          })),
          lists: variants.map((variant) => ({
            name: variant.name,
            query: variant.query,
            timings: timings.get(variant.name),
            plans: planned.get(variant.name),
          })),
        },
        null,
        2,
      )}\n`,
    );
    step(`wrote the plans to ${file}`);
  }

  const seconds = (performance.now() - started) / 1000;
  context.record({
    name: "scenario time, both loads included",
    unit: "s",
    value: seconds,
    target: { on: "value", op: "<=", bound: SCENARIO_TARGET_S },
    note: `loads: ${sized.map((at) => `${at.label} ${(at.fixture.steps.reduce((sum, s) => sum + s.ms, 0) / 1000).toFixed(0)} s`).join(", ")}; the databases are dropped after it`,
  });
}

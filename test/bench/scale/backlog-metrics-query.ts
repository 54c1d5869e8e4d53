/**
 * The scale scenario's row for Query.backlogMetrics (issue 13: "a window over 1,000,000 orders
 * answers in under a second on PostgreSQL"). The fixture spreads its orders evenly over 365 days,
 * so the window is the last 365 × 1,000,000 / N days of the large database (36.5 days at the
 * default 10,000,000; the whole year when the large size is 1,000,000 or less), and the same
 * number of days at the small size. Asked over HTTP of a server per size, in turn, like the lists;
 * the median of `--scale-runs` is the figure, and the plan of each statement it ran (captured
 * through the proxy, EXPLAINed as scale/query-plans.ts does) is in the row's note.
 *
 * The selection is every field but `lostDemand { value }`: until the query cost rules know how
 * long its lists can be, each is priced at a page of 100 and that one at 100 × 100, past the
 * default 5,000 points. The service computes every figure whatever is selected.
 */
import { GraphQLClient } from "../graphql-client.js";
import { median } from "../latency.js";
import { step } from "../progress.js";
import type { ScenarioContext } from "../scenario.js";
import type { ScaleFixture } from "./orders.fixture.js";
import { explainStatements, GROWING_TABLES, planShape, type StatementPlan } from "./query-plans.js";
import { withCapturedServer } from "./captured-server.js";

/** The issue's bound, at the large size. */
const TARGET_MS = 1_000;
/** Orders the window holds at the large size (or every order, when it has fewer). */
const WINDOW_ORDERS = 1_000_000;
const SPAN_DAYS = 365;
const WARMUP_REQUESTS = 2;

/** A plan node as EXPLAIN (FORMAT JSON) gives it: what is read here. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

/**
 * The plan the server runs: the custom one. The service plans its statements for their values
 * (`plan_cache_mode = force_custom_plan` in its transaction), which query-plans.ts, judging a
 * named statement by PostgreSQL's default rule, cannot know.
 */
function planInUse(plan: StatementPlan): { shape: string; seqScans: string[] } {
  const growing = new Set<string>(GROWING_TABLES);
  const nodes = (node: PlanNode | null): PlanNode[] => (node ? [node, ...(node.Plans ?? []).flatMap(nodes)] : []);
  const custom = plan.custom as PlanNode | null;
  const seqScans = nodes(custom)
    .filter((node) => node["Node Type"] === "Seq Scan" && growing.has(node["Relation Name"] ?? ""))
    .map((node) => node["Relation Name"]!);
  return { shape: planShape(plan.custom), seqScans: [...new Set(seqScans)] };
}

const PERCENTILES = "p50Hours p90Hours maxHours";
const QUERY = `query BacklogMetrics($from: DateTime!, $to: DateTime!) {
  backlogMetrics(from: $from, to: $to) {
    from to ordersPlaced unitsOrdered unitsBackordered revenueProtected { amount currencyCode } lostDemand { code units }
    fillRateAtPlacement timeToFill { ${PERCENTILES} } backlogAge { ${PERCENTILES} } backorderCancelRate etaAccuracy
    waitingUnits delayedBackorders atRiskBackorders
  }
}`;

export interface MetricsSize {
  size: number;
  label: string;
  url: string;
  fixture: ScaleFixture;
}

interface Measured {
  medianMs: number | null;
  ordersPlaced: number | null;
  plans: StatementPlan[];
  error?: string;
}

/** The window of one database: the last `days` days of its timeline (the fixture's `now` included). */
function windowOf(at: MetricsSize, days: number): { from: string; to: string } {
  const to = new Date(at.fixture.now.getTime() + 1000);
  return { from: new Date(to.getTime() - days * 86_400_000).toISOString(), to: to.toISOString() };
}

async function planOf(context: ScenarioContext, at: MetricsSize, variables: Record<string, unknown>): Promise<StatementPlan[]> {
  return withCapturedServer(context, at.url, async (client, capture) => {
    await client.data(QUERY, variables);
    return explainStatements(at.url, await capture.capture(() => client.data(QUERY, variables)));
  });
}

/** Measures backlogMetrics at both sizes and records its row (see the file's comment). */
export async function measureBacklogMetrics(context: ScenarioContext, sized: readonly MetricsSize[]): Promise<void> {
  const [small, large] = sized;
  const days = SPAN_DAYS * Math.min(1, WINDOW_ORDERS / large.size);
  const measured = new Map<MetricsSize, Measured>();
  const servers = [];
  for (const at of sized) {
    step(`backlogMetrics over the last ${days} days at ${at.label}: capturing its statements through a proxy, then EXPLAIN`);
    let plans: StatementPlan[] = [];
    let error: string | undefined;
    try {
      plans = await planOf(context, at, windowOf(at, days));
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    measured.set(at, { medianMs: null, ordersPlaced: null, plans, error });
    servers.push(await context.startServer({ databaseUrl: at.url }));
  }
  const clients = servers.map((server) => new GraphQLClient(server.url, 1));
  try {
    const samples = sized.map(() => [] as number[]);
    for (let i = -WARMUP_REQUESTS; i < context.options.scaleRuns; i++) {
      // Both sizes in turn, a request each per round: a burst of load elsewhere falls on both.
      for (const [k, at] of sized.entries()) {
        const entry = measured.get(at)!;
        if (entry.error) continue;
        try {
          const started = performance.now();
          const data = await clients[k].data<{ backlogMetrics: { ordersPlaced: number } }>(QUERY, windowOf(at, days));
          const ms = performance.now() - started;
          if (i >= 0) samples[k].push(ms);
          entry.ordersPlaced = data.backlogMetrics.ordersPlaced;
        } catch (caught) {
          entry.error = caught instanceof Error ? caught.message : String(caught);
        }
      }
    }
    sized.forEach((at, k) => {
      const entry = measured.get(at)!;
      entry.medianMs = samples[k].length ? median(samples[k]) : null;
    });
  } finally {
    clients.forEach((client) => client.close());
    for (const server of servers) await server.stop();
  }

  const [atSmall, atLarge] = sized.map((at) => measured.get(at)!);
  const show = (one: Measured) => (one.medianMs === null ? `failed: ${one.error}` : `${one.medianMs.toFixed(1)} ms`);
  step(
    `  backlogMetrics: ${show(atSmall)} at ${small.label} (${atSmall.ordersPlaced} orders), ${show(atLarge)} at ${large.label} (${atLarge.ordersPlaced} orders)`,
  );
  for (const [at, entry] of [
    [small, atSmall],
    [large, atLarge],
  ] as const) {
    for (const plan of entry.plans) {
      const used = planInUse(plan);
      step(`   ${used.seqScans.length ? "!" : " "} ${at.label}, custom: ${plan.error ? `not planned: ${plan.error}` : used.shape}`);
      step(`      ${plan.text.slice(0, 200)}`);
    }
  }
  const scans = atLarge.plans.flatMap((plan) => planInUse(plan).seqScans);
  const ratio = atLarge.medianMs !== null && atSmall.medianMs ? atLarge.medianMs / atSmall.medianMs : null;
  const notes = [
    atLarge.error ? `failed at ${large.label}: ${atLarge.error}` : "",
    atSmall.error ? `failed at ${small.label}: ${atSmall.error}` : "",
    `window: the last ${days} days, ${atLarge.ordersPlaced ?? "?"} orders at ${large.label}, ${atSmall.ordersPlaced ?? "?"} at ${small.label}`,
    scans.length ? `sequential scans at ${large.label}: ${[...new Set(scans)].join(", ")}` : `no sequential scan of a growing table at ${large.label}`,
    // The fixture has backorders for its last 55 days only: a window of 36.5 days holds two thirds of them, read whole by choice.
    days >= SPAN_DAYS
      ? "(the window is the whole timeline: the tables are read whole)"
      : scans.includes("backorders")
        ? "(the fixture's backorders are its last 55 days: the window holds most of them)"
        : "",
    `custom plans at ${large.label}: ${atLarge.plans
      .filter((plan) => /orders|order_lines|backorders|lost_demand/.test(plan.text))
      .map((plan) => (plan.error ? `not planned: ${plan.error}` : planInUse(plan).shape))
      .join(" | ")}`,
  ].filter(Boolean);
  context.record({
    name: `backlogMetrics, last ${days} days, at ${large.label}`,
    unit: "ms",
    value: atLarge.medianMs,
    baselineName: `at ${small.label}`,
    baseline: atSmall.medianMs,
    ratio,
    targetText: `< ${TARGET_MS.toLocaleString("en-US")} ms`,
    pass: atLarge.medianMs !== null && atLarge.medianMs < TARGET_MS,
    note: notes.join("; "),
  });
}

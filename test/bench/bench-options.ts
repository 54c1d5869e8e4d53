/** The command line of `npm run bench`. */
import { parseArgs } from "node:util";

export const SCENARIOS = ["orders", "hot-product", "restock-fill", "fan-out", "query-cost", "webhooks", "scale"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Run only when named with --scenario: `scale` loads 10,000,000 orders (gigabytes, about a quarter of an hour). */
const ON_REQUEST: readonly ScenarioName[] = ["scale"];

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

export interface BenchOptions {
  quick: boolean;
  scenarios: ScenarioName[];
  /** PostgreSQL server to create the bench databases on (any database of it). */
  databaseUrl: string;
  /** Embedded PGlite instead: only single-connection figures. */
  pglite: boolean;
  json?: string;
  keepDatabases: boolean;
  /** Concurrent HTTP clients (and in-process baseline workers). */
  clients: number;
  products: number;
  /** Seconds measured per phase, after `warmup` seconds. */
  duration: number;
  warmup: number;
  /** Server and baseline phases alternate this many times each. */
  rounds: number;
  /** Waiting backorders for the restock fill: a small and a large backlog. */
  backlog: [number, number];
  subscribers: number;
  /** Mutations whose events are timed at every subscriber. */
  events: number;
  pageSizes: number[];
  /** Orders in the scale scenario's two databases: small, large. */
  scaleOrders: [number, number];
  /** Timed requests per list and size in the scale scenario. */
  scaleRuns: number;
}

export const USAGE = `npm run bench -- [options]

  --quick                 a run of a few minutes (shorter phases, one round; the same sizes)
  --scenario NAME         run only this scenario; repeatable. One of:
                          ${SCENARIOS.join(", ")} (${ON_REQUEST.join(", ")} only when named)
  --json FILE             also write the figures as JSON
  --database-url URL      PostgreSQL server for the bench databases (default: DATABASE_URL,
                          else ${DEFAULT_DATABASE_URL}); databases bo_bench_* are created and dropped
  --pglite                embedded PGlite: runs only the single-connection figures
  --keep-databases        leave the bench databases in place
  --clients N             concurrent clients (default 32; hot-product and webhooks use half)
  --products N            products for the orders and webhooks scenarios (default 1000)
  --duration S            measured seconds per phase (default 20, quick 5)
  --warmup S              warm-up seconds per phase (default 3, quick 1.5)
  --rounds N              server/baseline phases, alternating (default 2, quick 1)
  --backlog SMALL,LARGE   waiting backorders for the restock fill (default 10000,100000;
                          on PGlite 2000,20000)
  --subscribers N         WebSocket subscribers (default 1000)
  --events N              timed events in the fan-out (default 30, quick 10)
  --page-sizes A,B,C      page sizes of the query-cost scenario (default 10,50,100)
  --scale-orders S,L      orders in the scale scenario's two databases (default 100000,10000000)
  --scale-runs N          timed requests per list and size in the scale scenario (default 15, quick 5)
  --help
`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function list(name: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return value.split(",").map((part) => Math.round(positive(name, part.trim(), 0)));
}

/** Parses the arguments; throws with a message on a bad one. Returns null for --help. */
export function parseOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", multiple: true },
      json: { type: "string" },
      "database-url": { type: "string" },
      pglite: { type: "boolean", default: false },
      "keep-databases": { type: "boolean", default: false },
      clients: { type: "string" },
      products: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      backlog: { type: "string" },
      subscribers: { type: "string" },
      events: { type: "string" },
      "page-sizes": { type: "string" },
      "scale-orders": { type: "string" },
      "scale-runs": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const scenarios = (values.scenario ?? SCENARIOS.filter((name) => !ON_REQUEST.includes(name))).map((name) => {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"; one of ${SCENARIOS.join(", ")}`);
    return name as ScenarioName;
  });
  // PGlite runs in one process at a fraction of PostgreSQL's speed: smaller backlogs by default.
  const backlog = list("backlog", values.backlog, values.pglite ? [2_000, 20_000] : [10_000, 100_000]);
  if (backlog.length !== 2 || backlog[0] >= backlog[1]) throw new Error("--backlog takes two sizes, SMALL,LARGE, small first");
  const scaleOrders = list("scale-orders", values["scale-orders"], [100_000, 10_000_000]);
  if (scaleOrders.length !== 2 || scaleOrders[0] >= scaleOrders[1]) throw new Error("--scale-orders takes two sizes, SMALL,LARGE, small first");
  return {
    quick,
    scenarios: [...new Set(scenarios)],
    databaseUrl: values["database-url"] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    pglite: values.pglite ?? false,
    json: values.json,
    keepDatabases: values["keep-databases"] ?? false,
    clients: Math.round(positive("clients", values.clients, 32)),
    products: Math.round(positive("products", values.products, 1000)),
    duration: positive("duration", values.duration, quick ? 5 : 20),
    warmup: positive("warmup", values.warmup, quick ? 1.5 : 3),
    rounds: Math.round(positive("rounds", values.rounds, quick ? 1 : 2)),
    backlog: [backlog[0], backlog[1]],
    subscribers: Math.round(positive("subscribers", values.subscribers, 1000)),
    events: Math.round(positive("events", values.events, quick ? 10 : 30)),
    pageSizes: list("page-sizes", values["page-sizes"], [10, 50, 100]),
    scaleOrders: [scaleOrders[0], scaleOrders[1]],
    scaleRuns: Math.round(positive("scale-runs", values["scale-runs"], quick ? 5 : 15)),
  };
}

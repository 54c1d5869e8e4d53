/**
 * `npm run simulate [-- --seed N --days N --scenario on-time|late|mixed --products N]`: plays a
 * seeded month of a shop (random orders, restocks early, on time and late, cancellations, DENY and
 * capped products) against a fresh in-memory embedded database through the services, under a
 * virtual clock, and prints the backlog metrics as a table (docs/ARCHITECTURE.md, "Simulating a
 * month"). The same options print the same table. Exit code: 0 done, 2 bad options or a failure.
 */
import { simulate } from "./simulation-run.js";
import { DEFAULT_START, SIMULATION_KINDS, SIMULATION_LIMITS, type SimulationKind, type ScenarioOptions } from "./simulation-scenario.js";
import { formatSimulation } from "./simulation-table.js";

const USAGE = "usage: npm run simulate -- [--seed N] [--days 1..365] [--scenario on-time|late|mixed] [--products 1..100]";

class UsageError extends Error {}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^-?\d+$/.test(text) || value < min || value > max)
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}`);
  return value;
}

/** The options from the command line; UsageError for anything else. */
export function parseSimulateArgs(args: readonly string[]): ScenarioOptions {
  const options: ScenarioOptions = { seed: 1, days: 30, kind: "mixed", products: 6, start: DEFAULT_START };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2) as [string, string | undefined];
    const value = inline ?? args[++i];
    switch (flag) {
      case "--seed":
        options.seed = integer(flag, value, 0, 2 ** 32 - 1);
        break;
      case "--days":
        options.days = integer(flag, value, SIMULATION_LIMITS.days.min, SIMULATION_LIMITS.days.max);
        break;
      case "--products":
        options.products = integer(flag, value, SIMULATION_LIMITS.products.min, SIMULATION_LIMITS.products.max);
        break;
      case "--scenario":
        if (!SIMULATION_KINDS.includes(value as SimulationKind)) throw new UsageError(`--scenario is one of ${SIMULATION_KINDS.join(", ")}`);
        options.kind = value as SimulationKind;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return options;
}

async function main(): Promise<number> {
  let options: ScenarioOptions;
  try {
    options = parseSimulateArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`simulate: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (process.env.DATABASE_URL) console.error("simulate: DATABASE_URL is ignored: the simulation runs on a fresh in-memory embedded database.");
  const started = performance.now();
  const result = await simulate(options);
  console.log(formatSimulation(result));
  console.log(`\nsimulated ${options.days} day${options.days === 1 ? "" : "s"} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("simulate: failed:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(2);
  },
);

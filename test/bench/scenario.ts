/** What every scenario gets from the run: its options, databases, servers, and where figures go. */
import type { BenchOptions, ScenarioName } from "./bench-options.js";
import type { BenchDatabases } from "./bench-database.js";
import type { Figure } from "./report.js";
import type { ServerProcess, StartServerOptions } from "./server-process.js";

export interface ScenarioContext {
  name: ScenarioName;
  options: BenchOptions;
  databases: BenchDatabases;
  /** Adds a figure to the table. */
  record(figure: Omit<Figure, "scenario">): void;
  /** Skips the rest of the scenario, with the reason printed under the table. */
  skip(reason: string): void;
  /** Starts a server process, stopped when the scenario ends. */
  startServer(options: StartServerOptions): Promise<ServerProcess>;
  /** Runs `cleanup` when the scenario ends, last registered first. */
  defer(cleanup: () => Promise<void> | void): void;
}

export type Scenario = (context: ScenarioContext) => Promise<void>;

/** A small deterministic generator, so the server and its baseline draw the same sequence. */
export function generator(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

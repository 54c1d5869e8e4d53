/**
 * A closed-loop load: `clients` workers, each issuing its next operation as soon as the previous
 * one answers. A warm-up runs first and is not counted; then every operation that finishes inside
 * the measured window counts towards the rate (unbiased in steady state), with its latency.
 */
import { now } from "./latency.js";
import { status } from "./progress.js";

export interface LoadOptions {
  label: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** One operation by worker `worker`; its `n`-th. Throws on failure. */
  operation: (worker: number, n: number) => Promise<void>;
  /** Called when the measured window opens and when it closes (e.g. to read a process's CPU time). */
  onWindow?: (edge: "open" | "close") => void;
}

export interface LoadResult {
  /** Operations finished in the measured window. */
  completed: number;
  failed: number;
  /** Operations per second over the measured window. */
  rate: number;
  /** Latency of each counted operation, ms. */
  latencies: number[];
  firstError?: string;
}

/** Runs the load and returns what was measured; stops early when more than 1% of operations fail. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const startedAt = now();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latencies: number[] = [];
  let completed = 0;
  let failed = 0;
  let attempts = 0;
  let firstError: string | undefined;
  let stop = false;

  const opens = setTimeout(() => options.onWindow?.("open"), options.warmupMs);
  const closes = setTimeout(() => options.onWindow?.("close"), options.warmupMs + options.durationMs);
  const ticker = setInterval(() => {
    const t = now();
    const phase = t < windowStart ? "warm-up" : "measuring";
    const elapsed = Math.max(0.001, (t - windowStart) / 1000);
    const rate = t < windowStart ? "" : `, ${(completed / elapsed).toFixed(0)}/s`;
    status(`${options.label}: ${phase}, ${completed} done${rate}${failed ? `, ${failed} failed` : ""}`);
  }, 2000);

  const worker = async (id: number) => {
    for (let n = 0; !stop; n++) {
      const begun = now();
      if (begun >= windowEnd) break;
      try {
        await options.operation(id, n);
        const finished = now();
        if (finished >= windowStart && finished <= windowEnd) {
          completed++;
          latencies.push(finished - begun);
        }
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      attempts++;
      if (attempts >= 100 && failed > attempts / 100) stop = true;
    }
  };

  try {
    await Promise.all(Array.from({ length: options.clients }, (_, i) => worker(i)));
  } finally {
    clearInterval(ticker);
    clearTimeout(opens);
    clearTimeout(closes);
  }
  const windowMs = Math.min(now(), windowEnd) - windowStart;
  return { completed, failed, rate: windowMs > 0 ? (completed * 1000) / windowMs : 0, latencies, firstError };
}

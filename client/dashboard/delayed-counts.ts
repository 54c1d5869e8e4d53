/**
 * Each product's number of delayed backorders. The API has no such figure on a product, but
 * `backlog(filter: { productId, delayed: true }, first: 0) { totalCount }` counts them without
 * loading any; this asks it for up to {@link BATCH} products in one request, one alias each, so
 * hundreds of products take a handful of requests (each alias costs one point).
 *
 * The document depends on how many products it asks about, so it is built here rather than
 * generated from client/operations; its result type is spelled out below.
 */
import type { Operation } from "../subscriber.js";

/** Products per request: the aliases of one request, well within a READER's cost limit. */
export const BATCH = 100;

type DelayedCountsResult = Record<string, { totalCount: number }>;
type DelayedCountsVariables = Record<string, string>;

/** Runs a query on the dashboard's connection (the subscriber's `query`). */
export type RunQuery = <TResult, TVariables>(operation: Operation<TResult, TVariables>, variables: TVariables) => Promise<TResult>;

/** The query counting the delayed backorders of `productIds` (at most {@link BATCH}), and its variables. */
export function delayedCountsQuery(productIds: readonly string[]): {
  operation: Operation<DelayedCountsResult, DelayedCountsVariables>;
  variables: DelayedCountsVariables;
} {
  const variables: DelayedCountsVariables = {};
  const parameters: string[] = [];
  const fields: string[] = [];
  productIds.forEach((id, index) => {
    variables[`p${index}`] = id;
    parameters.push(`$p${index}: ID!`);
    fields.push(`  p${index}: backlog(filter: { productId: $p${index}, delayed: true }, first: 0) { totalCount }`);
  });
  const text = `query DashboardDelayedCounts(${parameters.join(", ")}) {\n${fields.join("\n")}\n}`;
  return { operation: { toString: () => text }, variables };
}

/**
 * Keeps delayed counts current: `request(ids)` marks products to count again; a short moment
 * later (so a burst of events costs one request) their counts are read in batches and handed to
 * `onCount`. A product asked for while its count is being read is read once more afterwards, so
 * the last count always reflects the last request. A failed read is reported and tried again.
 */
export class DelayedCounter {
  private readonly pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly run: RunQuery,
    private readonly onCount: (productId: string, delayed: number) => void,
    private readonly onFailure: (error: unknown) => void,
    private readonly delayMs = 150,
  ) {}

  /** Counts these products again soon. */
  request(productIds: Iterable<string>): void {
    for (const id of productIds) this.pending.add(id);
    this.schedule(this.delayMs);
  }

  /** Reads nothing more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.running || this.timer !== undefined || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    this.running = true;
    let retryMs = this.delayMs;
    try {
      while (!this.stopped && this.pending.size > 0) {
        const batch = [...this.pending].slice(0, BATCH);
        for (const id of batch) this.pending.delete(id);
        const { operation, variables } = delayedCountsQuery(batch);
        try {
          const result = await this.run(operation, variables);
          if (this.stopped) return;
          batch.forEach((id, index) => this.onCount(id, result[`p${index}`].totalCount));
        } catch (error) {
          for (const id of batch) this.pending.add(id);
          if (!this.stopped) this.onFailure(error);
          retryMs = 5_000;
          return;
        }
      }
    } finally {
      this.running = false;
      this.schedule(retryMs);
    }
  }
}

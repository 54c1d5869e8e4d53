/**
 * The total backlog before the page opened, rebuilt from replayed `backlogChanged` events for the
 * chart. Each event says a product's backordered units right after it, not before: for a product's
 * first replayed event the log does not say what it had. Until then the product counts with that
 * first figure, so every step drawn is a real change (the first change of each product in the
 * window is the one left out); a product with no replayed event counts with its snapshot figure.
 */
import type { BacklogChange } from "../subscriber.js";

/** A total at a time (ms since the epoch). */
export interface BacklogPoint {
  t: number;
  value: number;
}

export class PastBacklog {
  private readonly events: { productId: string; t: number; backordered: number }[] = [];

  /** `snapshot`: each product's backordered units as the snapshot loaded them. */
  constructor(private readonly snapshot: ReadonlyMap<string, number>) {}

  /** Adds a replayed event (in log order). */
  add(event: Pick<BacklogChange, "backordered" | "product" | "at">): void {
    this.events.push({ productId: event.product.id, t: new Date(event.at).getTime(), backordered: event.backordered });
  }

  /** The total after each replayed event, oldest first. */
  series(): BacklogPoint[] {
    const figures = new Map(this.snapshot);
    const seen = new Set<string>();
    for (const event of this.events) {
      if (seen.has(event.productId)) continue;
      seen.add(event.productId);
      figures.set(event.productId, event.backordered);
    }
    let total = [...figures.values()].reduce((sum, value) => sum + value, 0);
    return this.events.map((event) => {
      total += event.backordered - figures.get(event.productId)!;
      figures.set(event.productId, event.backordered);
      return { t: event.t, value: total };
    });
  }
}

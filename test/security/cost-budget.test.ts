/** The leaky buckets of query cost (server/cost-budget.ts), on a clock the test moves. */
import { describe, expect, it } from "vitest";
import { CostBudget } from "../../server/graphql/limits/cost-budget.js";

function budgetAt(start = 0) {
  const clock = { now: start };
  return { clock, budget: new CostBudget({ now: () => clock.now }) };
}

const SIZE = { capacity: 100, refillPerSecond: 10 };

describe("cost budget", () => {
  it("starts full and takes what a request costs", () => {
    const { budget } = budgetAt();
    expect(budget.remaining("a", SIZE)).toBe(100);
    expect(budget.withdraw("a", 30, SIZE)).toEqual({ ok: true, remaining: 70 });
    expect(budget.remaining("a", SIZE)).toBe(70);
  });

  it("refuses what would overflow the bucket, changes nothing, and says when it would fit", () => {
    const { budget } = budgetAt();
    budget.withdraw("a", 90, SIZE);
    expect(budget.withdraw("a", 30, SIZE)).toEqual({ ok: false, remaining: 10, retryAfterSeconds: 2 });
    expect(budget.remaining("a", SIZE)).toBe(10);
  });

  it("drains at refillPerSecond, never above the capacity", () => {
    const { clock, budget } = budgetAt();
    budget.withdraw("a", 100, SIZE);
    clock.now = 2.5;
    expect(budget.remaining("a", SIZE)).toBe(25);
    clock.now = 60;
    expect(budget.remaining("a", SIZE)).toBe(100);
  });

  it("keeps one bucket per key", () => {
    const { budget } = budgetAt();
    budget.withdraw("a", 100, SIZE);
    expect(budget.withdraw("b", 100, SIZE).ok).toBe(true);
  });

  it("gives back what a request did not use, up to a full bucket", () => {
    const { budget } = budgetAt();
    budget.withdraw("a", 80, SIZE);
    budget.refund("a", 50, SIZE);
    expect(budget.remaining("a", SIZE)).toBe(70);
    budget.refund("a", 500, SIZE);
    expect(budget.remaining("a", SIZE)).toBe(100);
  });

  it("never admits a request larger than the bucket, however long one waits", () => {
    const { budget } = budgetAt();
    expect(budget.withdraw("a", 101, SIZE)).toMatchObject({ ok: false, retryAfterSeconds: Number.POSITIVE_INFINITY });
  });

  it("forgets drained buckets first when it holds too many, and stays bounded under a flood of keys", () => {
    const clock = { now: 0 };
    const budget = new CostBudget({ now: () => clock.now, maxBuckets: 3 });
    budget.withdraw("old", 100, SIZE);
    clock.now = 20;
    budget.withdraw("a", 100, SIZE);
    budget.withdraw("b", 100, SIZE);
    budget.withdraw("c", 100, SIZE);
    // "old" drained long ago and was forgotten; a, b and c still owe and are kept.
    expect(budget.remaining("a", SIZE)).toBe(0);
    expect(budget.remaining("c", SIZE)).toBe(0);
    for (let i = 0; i < 1000; i += 1) budget.withdraw(`flood-${i}`, 100, SIZE);
    expect((budget as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(3);
  });
});

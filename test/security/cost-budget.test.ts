/** The leaky buckets of query cost (server/graphql/limits/cost-budget.ts), on a clock the test moves. */
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

describe("cost budget shared through a store", () => {
  it("sends what each caller spent since the last sync, net of refunds, and takes the shared level back", async () => {
    const { budget } = budgetAt();
    budget.withdraw("a", 30, SIZE);
    budget.refund("a", 10, SIZE);
    budget.withdraw("b", 5, SIZE);
    const sent: unknown[] = [];
    // Another instance spent 50 on "a": the shared level is what both spent.
    await budget.sync(async (spending) => {
      sent.push(...spending);
      return new Map([
        ["a", { level: 70, refillPerSecond: 10 }],
        ["b", { level: 5, refillPerSecond: 10 }],
        ["c", { level: 100, refillPerSecond: 10 }],
      ]);
    });
    expect(sent).toEqual([
      { caller: "a", spent: 20, refillPerSecond: 10 },
      { caller: "b", spent: 5, refillPerSecond: 10 },
    ]);
    expect(budget.remaining("a", SIZE)).toBe(30);
    expect(budget.withdraw("a", 40, SIZE).ok).toBe(false);
    // "c" spent everything on another instance: its first request here meets that.
    expect(budget.withdraw("c", 1, SIZE).ok).toBe(false);
    // Nothing spent since: the next sync sends nothing, and still hears the shared levels.
    const next: unknown[] = [];
    await budget.sync(async (spending) => (next.push(...spending), new Map()));
    expect(next).toEqual([]);
  });

  it("keeps the shared bucket of a caller served by one instance equal to its local one, draining included", async () => {
    const { clock, budget } = budgetAt();
    // The store as cost_budgets behaves: drains a row by the time since it was merged, then adds.
    const rows = new Map<string, { level: number; at: number }>();
    const store = async (spending: readonly { caller: string; spent: number; refillPerSecond: number }[]) => {
      for (const { caller, spent, refillPerSecond } of spending) {
        const row = rows.get(caller);
        const drained = row ? Math.max(0, row.level - (clock.now - row.at) * refillPerSecond) : 0;
        rows.set(caller, { level: Math.max(0, drained + spent), at: clock.now });
      }
      return new Map([...rows].map(([caller, row]) => [caller, { level: Math.max(0, row.level - (clock.now - row.at) * 10), refillPerSecond: 10 }]));
    };
    budget.withdraw("a", 100, SIZE);
    clock.now = 1;
    await budget.sync(store);
    expect(rows.get("a")!.level).toBeCloseTo(90);
    clock.now = 2;
    budget.withdraw("a", 10, SIZE);
    await budget.sync(store);
    expect(rows.get("a")!.level).toBeCloseTo(90);
    expect(budget.remaining("a", SIZE)).toBeCloseTo(10);
    // The Retry-After a refusal gives is right: after it, the request fits.
    const refused = budget.withdraw("a", 30, SIZE);
    expect(refused.ok).toBe(false);
    clock.now += (refused as { retryAfterSeconds: number }).retryAfterSeconds + 0.001;
    await budget.sync(store);
    expect(budget.withdraw("a", 30, SIZE).ok).toBe(true);
  });

  it("keeps what was spent while a sync was on its way, and keeps the spending of a sync that failed", async () => {
    const { budget } = budgetAt();
    budget.withdraw("a", 10, SIZE);
    await budget.sync(async () => {
      budget.withdraw("a", 5, SIZE);
      return new Map([["a", { level: 60, refillPerSecond: 10 }]]);
    });
    // The shared 60 plus the 5 spent here meanwhile, which the next sync sends.
    expect(budget.remaining("a", SIZE)).toBe(35);
    await expect(budget.sync(async () => Promise.reject(new Error("database away")))).rejects.toThrow("database away");
    const sent: unknown[] = [];
    await budget.sync(async (spending) => (sent.push(...spending), new Map()));
    expect(sent).toEqual([{ caller: "a", spent: 5, refillPerSecond: 10 }]);
  });
});

/** "Delayed" has one definition (docs/ARCHITECTURE.md, "Expected dates"): its SQL and TypeScript forms agree. */
import { describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { schema } from "../../drizzle/db.js";
import { delayedCondition, delayedFilter, isDelayed } from "../../server/services/backorder-delay.js";
import { rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { rolledBack, useFreshDatabase } from "../support/database.js";

const database = useFreshDatabase();
const { backorders } = schema;

const now = new Date("2030-06-15T12:00:00.000Z");
const at = (days: number) => new Date(now.getTime() + days * 86_400_000);

describe("delayed", () => {
  it("is the same for delayedCondition in SQL and isDelayed in TypeScript, for every kind of date", async () => {
    const { db } = database;
    const product = await newProduct(db, { backorderPolicy: "ALLOW" });
    const { order } = await placeOrder(db, { customer: "c", lines: [{ productId: product.id, quantity: 1 }] });
    const cases: { status: "WAITING" | "FILLED"; promisedAt: Date | null; expectedAt: Date | null }[] = [];
    for (const status of ["WAITING", "FILLED"] as const) {
      for (const promisedAt of [null, at(-1), at(2)]) {
        for (const expectedAt of [null, at(-2), at(1), at(2), at(3)]) cases.push({ status, promisedAt, expectedAt });
      }
    }
    const judged = await rolledBack(db, async (tx) => {
      const found: { backorder: typeof backorders.$inferSelect; delayed: boolean }[] = [];
      for (const values of cases) {
        await tx.update(backorders).set(values).where(eq(backorders.orderId, order.id));
        const [row] = await tx
          .select({ backorder: backorders, delayed: sql<boolean>`${delayedCondition(backorders, now)}`.mapWith(Boolean) })
          .from(backorders)
          .where(eq(backorders.orderId, order.id));
        found.push(row);
      }
      return found;
    });
    expect(judged.filter((row) => row.delayed).length).toBeGreaterThan(0);
    expect(judged.filter((row) => !row.delayed).length).toBeGreaterThan(0);
    for (const row of judged) expect(row.delayed, JSON.stringify(row.backorder)).toBe(isDelayed(row.backorder, now));
  });

  it("is what delayedFilter (the flag, or a passed promise) selects, as the engine keeps the flag", async () => {
    const { db } = database;
    const product = await newProduct(db, { backorderPolicy: "ALLOW" });
    const days = (n: number) => new Date(Date.now() + n * 86_400_000);
    const restock = await scheduleRestock(db, { productId: product.id, quantity: 2, expectedAt: days(5) });
    for (let i = 0; i < 4; i++) await placeOrder(db, { customer: `c${i}`, lines: [{ productId: product.id, quantity: 1 }] });
    // The restock slips: the two it covered are late now (their flag is set); the two behind it have no date and no promise.
    await rescheduleRestock(db, restock.id, days(9));
    // Time passes for one backorder without the overdue sweep: its promise is behind it, its flag not set.
    const [first] = await db.select().from(backorders).where(eq(backorders.productId, product.id)).orderBy(backorders.id).limit(1);
    await db.execute(
      sql`UPDATE backorders SET promised_at = now() - interval '1 hour', expected_at = now() + interval '1 day', delayed = false WHERE id = ${first.id}`,
    );
    const rows = await db
      .select({
        id: backorders.id,
        flag: backorders.delayed,
        judged: sql<boolean>`${delayedCondition(backorders)}`.mapWith(Boolean),
        filtered: sql<boolean>`${delayedFilter(backorders)}`.mapWith(Boolean),
      })
      .from(backorders)
      .where(eq(backorders.productId, product.id));
    expect(rows.filter((row) => row.judged).length).toBeGreaterThan(1);
    expect(rows.some((row) => row.judged && !row.flag)).toBe(true);
    for (const row of rows) expect(row.filtered, JSON.stringify(row)).toBe(row.judged);
  });
});

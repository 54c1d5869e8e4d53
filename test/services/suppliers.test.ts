/**
 * Suppliers through the services, on a real database (docs/ARCHITECTURE.md, "Suppliers and honest
 * ranges"): createSupplier's checks, a product's supplier, restocks recording theirs and the date
 * first announced, and the reliability figures computed from hand-built receipts.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { schema } from "../../drizzle/db.js";
import { updateProduct } from "../../server/services/product.service.js";
import { receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { lateEnd, SUPPLIER_HISTORY, supplierReliabilities } from "../../server/services/supplier.query.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { daysFromNow, newProduct, tableCounts, uniqueSku } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";
import { supplierHistory } from "../support/suppliers.js";

const database = useFreshDatabase();
const DAY = 86_400_000;
const { restocks, suppliers } = schema;

async function supplierCount() {
  return (await database.db.select({ id: suppliers.id }).from(suppliers)).length;
}

/** Sets a received restock's receipt `lateDays` after the date first announced for it (negative: early). */
async function receivedLate(restockId: number, lateDays: number) {
  await database.db
    .update(restocks)
    .set({ receivedAt: sql`${restocks.originalExpectedAt} + ${lateDays} * interval '24 hours'` })
    .where(eq(restocks.id, restockId));
}

describe("createSupplier", () => {
  it("creates a supplier with its name trimmed and its lead time", async () => {
    const supplier = await createSupplier(database.db, { name: "  Acme Tools  ", leadTimeDays: 14 });
    expect(supplier).toMatchObject({ name: "Acme Tools", leadTimeDays: 14 });
    expect(supplier.createdAt).toBeInstanceOf(Date);
    const none = await createSupplier(database.db, { name: uniqueSku("No lead time") });
    expect(none.leadTimeDays).toBeNull();
  });

  it("refuses a name taken in another case with DUPLICATE and creates nothing", async () => {
    await createSupplier(database.db, { name: "Globex" });
    const before = await supplierCount();
    const error = await refusal(createSupplier(database.db, { name: " GLOBEX ", leadTimeDays: 3 }));
    expect(error.issues).toEqual([expect.objectContaining({ code: "DUPLICATE", field: ["input", "name"] })]);
    expect(await supplierCount()).toBe(before);
  });

  it.each([
    ["an empty name", { name: "   " }, ["input", "name"]],
    ["a name of 201 characters", { name: "x".repeat(201) }, ["input", "name"]],
    ["a negative lead time", { name: uniqueSku("S"), leadTimeDays: -1 }, ["input", "leadTimeDays"]],
    ["a lead time past a year", { name: uniqueSku("S"), leadTimeDays: 366 }, ["input", "leadTimeDays"]],
    ["a fractional lead time", { name: uniqueSku("S"), leadTimeDays: 1.5 }, ["input", "leadTimeDays"]],
  ])("refuses %s with INVALID_INPUT and creates nothing", async (_case, input, field) => {
    const before = await supplierCount();
    const error = await refusal(createSupplier(database.db, input));
    expect(error.issues).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field })]);
    expect(await supplierCount()).toBe(before);
  });

  it("accepts a name of exactly 200 characters and lead times 0 and 365", async () => {
    expect((await createSupplier(database.db, { name: `${uniqueSku("L")}-`.padEnd(200, "y"), leadTimeDays: 0 })).name).toHaveLength(200);
    expect((await createSupplier(database.db, { name: uniqueSku("Year"), leadTimeDays: 365 })).leadTimeDays).toBe(365);
  });
});

describe("a product's supplier", () => {
  it("is set at creation, changed and cleared by updateProduct, and refused with NOT_FOUND when unknown", async () => {
    const first = await createSupplier(database.db, { name: uniqueSku("First") });
    const second = await createSupplier(database.db, { name: uniqueSku("Second") });
    const product = await newProduct(database.db, { supplierId: first.id });
    expect(product.supplierId).toBe(first.id);
    expect((await updateProduct(database.db, product.id, { supplierId: second.id })).supplierId).toBe(second.id);
    expect((await updateProduct(database.db, product.id, { name: "renamed" })).supplierId).toBe(second.id);
    expect((await updateProduct(database.db, product.id, { supplierId: null })).supplierId).toBeNull();

    const before = await tableCounts(database.db);
    const created = await refusal(newProduct(database.db, { supplierId: 999_999 }));
    expect(created.issues).toEqual([expect.objectContaining({ code: "NOT_FOUND", field: ["input", "supplierId"] })]);
    const updated = await refusal(updateProduct(database.db, product.id, { supplierId: 999_999, name: "not this" }));
    expect(updated.issues).toEqual([expect.objectContaining({ code: "NOT_FOUND", field: ["input", "supplierId"] })]);
    expect(await tableCounts(database.db)).toEqual(before);
    const [row] = await database.db.select().from(schema.products).where(eq(schema.products.id, product.id));
    expect(row).toMatchObject({ name: "renamed", supplierId: null });
  });
});

describe("restocks", () => {
  it("record the product's supplier at scheduling and keep the first announced date through reschedules", async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Restocker") });
    const product = await newProduct(database.db, { supplierId: supplier.id });
    const firstDate = daysFromNow(5);
    const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 3, expectedAt: firstDate });
    expect(restock).toMatchObject({ supplierId: supplier.id, originalExpectedAt: firstDate, expectedAt: firstDate });

    const later = daysFromNow(9);
    const moved = await rescheduleRestock(database.db, restock.id, later);
    expect(moved).toMatchObject({ supplierId: supplier.id, originalExpectedAt: firstDate, expectedAt: later });

    // The product's supplier changing later does not rewrite who was to deliver this restock.
    await updateProduct(database.db, product.id, { supplierId: null });
    const { restock: received } = await receiveRestock(database.db, restock.id);
    expect(received).toMatchObject({ status: "RECEIVED", supplierId: supplier.id, originalExpectedAt: firstDate });

    const unsupplied = await newProduct(database.db);
    expect(await scheduleRestock(database.db, { productId: unsupplied.id, quantity: 1, expectedAt: firstDate })).toMatchObject({ supplierId: null });
  });
});

describe("reliability", () => {
  it("is learned from received restocks against their first date: 0, 0, 2 and 5 days late give 0.5 on time, 1.75 days on average, 4.1 at p90", async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Measured") });
    const product = await newProduct(database.db, { supplierId: supplier.id });
    const schedule = (days: number) => scheduleRestock(database.db, { productId: product.id, quantity: 1, expectedAt: daysFromNow(days) });
    const early = await schedule(2);
    const onTime = await schedule(3);
    const rescheduled = await schedule(4);
    const late = await schedule(5);
    // Moved 3 days later, then received 2 days after its first date: on time by the new date, 2 days late by the first.
    await rescheduleRestock(database.db, rescheduled.id, daysFromNow(7));
    for (const restock of [early, onTime, rescheduled, late]) await receiveRestock(database.db, restock.id);
    await receivedLate(early.id, -1);
    await receivedLate(onTime.id, 0);
    await receivedLate(rescheduled.id, 2);
    await receivedLate(late.id, 5);
    // Open and cancelled restocks are no history: only receipts in full count.
    await schedule(6);

    const [figures] = await supplierReliabilities(database.db, [supplier.id]);
    expect(figures.received).toBe(4);
    expect(figures.onTimeRate).toBe(0.5);
    expect(figures.averageDelayDays).toBeCloseTo(1.75, 9);
    // Lateness sorted 0, 0, 2, 5: the 0.9 quantile sits at 0.9 × 3 = 2.7, between 2 and 5: 2 + 0.7 × 3.
    expect(figures.lateP90Days).toBeCloseTo(4.1, 9);

    const expectedAt = new Date("2030-01-10T00:00:00Z");
    expect(lateEnd(expectedAt, figures)?.getTime()).toBe(expectedAt.getTime() + 4.1 * DAY);
  });

  it("counts a receipt on the first date itself as on time, and a restock from before migration 0017 against its expected date", async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Legacy") });
    const product = await supplierHistory(database.db, supplier.id, [0, 3]);
    // The older row as migration 0017 found it: no first date recorded.
    await database.db.execute(sql`
      UPDATE restocks SET original_expected_at = NULL, expected_at = received_at - interval '12 hours'
       WHERE product_id = ${product.id} AND received_at = (SELECT min(received_at) FROM restocks WHERE product_id = ${product.id})`);
    const [figures] = await supplierReliabilities(database.db, [supplier.id]);
    expect(figures).toMatchObject({ received: 2, onTimeRate: 0 });
    expect(figures.averageDelayDays).toBeCloseTo((0.5 + 3) / 2, 9);
  });

  it("is null for a supplier without history and for an unknown id, and answers a batch in the ids' order", async () => {
    const quiet = await createSupplier(database.db, { name: uniqueSku("Quiet") });
    await newProduct(database.db, { supplierId: quiet.id });
    const steady = await createSupplier(database.db, { name: uniqueSku("Steady") });
    await supplierHistory(database.db, steady.id, [0, 0]);
    const found = await supplierReliabilities(database.db, [steady.id, quiet.id, 999_999, steady.id]);
    const empty = { received: 0, onTimeRate: null, averageDelayDays: null, lateP90Days: null };
    expect(found).toEqual([
      { supplierId: steady.id, received: 2, onTimeRate: 1, averageDelayDays: 0, lateP90Days: 0 },
      { supplierId: quiet.id, ...empty },
      { supplierId: 999_999, ...empty },
      { supplierId: steady.id, received: 2, onTimeRate: 1, averageDelayDays: 0, lateP90Days: 0 },
    ]);
    expect(lateEnd(new Date(), found[1])).toBeNull();
    expect(lateEnd(null, found[0])).toBeNull();
  });

  it(`reads only the newest ${SUPPLIER_HISTORY} receipts: a late one before them no longer counts`, async () => {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Reformed") });
    await supplierHistory(database.db, supplier.id, [30, ...Array.from({ length: SUPPLIER_HISTORY }, () => 0)]);
    const [figures] = await supplierReliabilities(database.db, [supplier.id]);
    expect(figures).toMatchObject({ received: SUPPLIER_HISTORY, onTimeRate: 1, averageDelayDays: 0, lateP90Days: 0 });

    // One more late receipt, the newest: it enters the window and the oldest on-time one leaves.
    const other = await createSupplier(database.db, { name: uniqueSku("Relapsed") });
    await supplierHistory(database.db, other.id, [...Array.from({ length: SUPPLIER_HISTORY }, () => 0), 10]);
    const [relapsed] = await supplierReliabilities(database.db, [other.id]);
    expect(relapsed).toMatchObject({ received: SUPPLIER_HISTORY, onTimeRate: (SUPPLIER_HISTORY - 1) / SUPPLIER_HISTORY });
    expect(relapsed.averageDelayDays).toBeCloseTo(10 / SUPPLIER_HISTORY, 9);
  });
});

describeOnPostgres("racing creations", () => {
  it("lets one of two suppliers named alike ignoring case be created; the other is DUPLICATE", async () => {
    const name = uniqueSku("Race");
    const results = await Promise.allSettled([
      createSupplier(database.db, { name: name.toLowerCase() }),
      createSupplier(database.db, { name: name.toUpperCase() }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason.issues).toEqual([expect.objectContaining({ code: "DUPLICATE" })]);
  });
});

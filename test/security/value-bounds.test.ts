/**
 * Values the database cannot hold, pushed through the API (docs/ARCHITECTURE.md, "Access and limits"):
 * an order total past numeric(14,2), a product's waiting units past integer range, units on hand
 * and incoming past integer range, a 21st location. Each boundary is accepted exactly and refused
 * one past it with a coded userError at its field, never INTERNAL_SERVER_ERROR, and the refusal
 * changes nothing.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { fromGlobalId } from "../../server/graphql/node-id.js";
import { LIMITS } from "../../server/services/validation.js";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import {
  ADJUST_STOCK,
  CREATE_LOCATION,
  expectNoLeak,
  expectRefusal,
  mutationClient,
  PLACE_ORDER,
  RECEIVE_RESTOCK,
  SCHEDULE_RESTOCK,
} from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { gql } = server;
const { mutation, ok, createProduct, placeOne, scheduleRestock, readProduct, databaseState } = mutationClient(database, server);

const INT_MAX = 2_147_483_647;
const dbId = (globalId: string) => fromGlobalId(globalId)!.id;

/** Runs a mutation that must be refused with `code` at `field`, and proves it changed nothing. */
async function expectRefusedUnchanged(query: string, variables: Record<string, unknown>, code: string, field: string[]) {
  const before = await databaseState();
  const response = await gql(query, variables);
  expectNoLeak(response);
  expect(response.body.errors, response.text).toBeUndefined();
  expectRefusal(Object.values(response.body.data!)[0] as Record<string, unknown>, code, field);
  expect(await databaseState()).toEqual(before);
}

/**
 * Gives the product `units` more on hand at its default location, as a count would, but in one
 * SQL statement: the API moves at most a million units at a time. The ledger gets the movement too.
 */
async function addOnHand(productId: string, units: number) {
  await database.db.execute(sql`
    WITH level AS (
      UPDATE stock_levels SET on_hand = on_hand + ${units}::int WHERE product_id = ${dbId(productId)}::int RETURNING product_id, location_id
    )
    INSERT INTO stock_movements (product_id, location_id, delta, kind, reason)
    SELECT product_id, location_id, ${units}::int, 'ADJUSTMENT', 'test setup' FROM level`);
}

describe("order totals within numeric(14,2)", () => {
  const MAX_TOTAL = "999999999999.99";

  it("accepts an order whose total is exactly 999,999,999,999.99", async () => {
    const top = await createProduct({ price: "1000000000.00" });
    const justBelow = await createProduct({ price: "999999999.99" });
    const { order } = await ok(PLACE_ORDER, {
      input: {
        customer: "big-spender",
        lines: [
          { productId: top.id, quantity: 999 },
          { productId: justBelow.id, quantity: 1 },
        ],
      },
    });
    expect(order.total).toEqual({ amount: MAX_TOTAL, currencyCode: "USD" });
  });

  it("refuses an order one cent over the largest total with INVALID_INPUT at its lines and changes nothing", async () => {
    const top = await createProduct({ price: "1000000000.00" });
    const alsoTop = await createProduct({ price: "1000000000.00" });
    await expectRefusedUnchanged(
      PLACE_ORDER,
      {
        input: {
          customer: "too-big",
          lines: [
            { productId: top.id, quantity: 999 },
            { productId: alsoTop.id, quantity: 1 },
          ],
        },
      },
      "INVALID_INPUT",
      ["input", "lines"],
    );
  });

  it("refuses 1,001 units at 999,999,999.99 with INVALID_INPUT, not an internal error", async () => {
    const product = await createProduct({ price: "999999999.99", initialStock: 5 });
    await expectRefusedUnchanged(PLACE_ORDER, { input: { customer: "too-big", lines: [{ productId: product.id, quantity: 1001 }] } }, "INVALID_INPUT", [
      "input",
      "lines",
    ]);
  });
});

describe("a product's waiting units within integer range", () => {
  /** A product with `units` waiting in one backorder: placed through the API, then grown in SQL (lines, backorder, product together). */
  async function productWithWaiting(units: number) {
    const product = await createProduct({ price: "0.00" });
    await placeOne(product.id, 1);
    const more = units - 1;
    await database.db.execute(sql`
      WITH lines AS (UPDATE order_lines SET quantity = quantity + ${more}::int, waiting = waiting + ${more}::int WHERE product_id = ${dbId(product.id)}::int),
           queue AS (UPDATE backorders SET quantity = quantity + ${more}::int, remaining = remaining + ${more}::int WHERE product_id = ${dbId(product.id)}::int)
      UPDATE products SET backordered = backordered + ${more}::int WHERE id = ${dbId(product.id)}::int`);
    return product;
  }

  it("backorders units up to exactly 2,147,483,647 waiting", async () => {
    const product = await productWithWaiting(INT_MAX - 5);
    const { order, userErrors } = await placeOne(product.id, 5);
    expect(userErrors).toEqual([]);
    expect(order.lines[0]).toMatchObject({ quantity: 5, backordered: 5 });
    expect((await readProduct(product.id)).stock.backordered).toBe(INT_MAX);
  });

  it("refuses one unit past 2,147,483,647 waiting with INVALID_INPUT at the line's quantity and changes nothing", async () => {
    const product = await productWithWaiting(INT_MAX);
    await expectRefusedUnchanged(PLACE_ORDER, { input: { customer: "one-more", lines: [{ productId: product.id, quantity: 1 }] } }, "INVALID_INPUT", [
      "input",
      "lines",
      "0",
      "quantity",
    ]);
  });
});

describe("a product's units on hand and incoming within integer range", () => {
  it("takes a count up to exactly 2,147,483,647 on hand and refuses one unit more at delta, changing nothing", async () => {
    const product = await createProduct();
    await addOnHand(product.id, INT_MAX - 5);
    const { stockLevel } = await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 5, reason: "found a pallet" } });
    expect(stockLevel.onHand).toBe(INT_MAX);
    await expectRefusedUnchanged(ADJUST_STOCK, { input: { productId: product.id, delta: 1, reason: "one more" } }, "INVALID_INPUT", ["input", "delta"]);
    // Taking units away is always possible.
    await ok(ADJUST_STOCK, { input: { productId: product.id, delta: -1, reason: "lost one" } });
  });

  it("schedules a restock up to the cap, refuses one unit more at quantity, and receives it all without passing integer range", async () => {
    const product = await createProduct();
    await addOnHand(product.id, INT_MAX - LIMITS.quantity);
    const restock = await scheduleRestock(product.id, LIMITS.quantity, daysFromNow(3));
    await expectRefusedUnchanged(
      SCHEDULE_RESTOCK,
      { input: { productId: product.id, quantity: 1, expectedAt: daysFromNow(4).toISOString() } },
      "INVALID_INPUT",
      ["input", "quantity"],
    );
    // A count cannot add what is already on its way either.
    await expectRefusedUnchanged(ADJUST_STOCK, { input: { productId: product.id, delta: 1, reason: "one more" } }, "INVALID_INPUT", ["input", "delta"]);
    // Incoming units were counted when scheduled: receiving them moves them on hand, at most to the cap.
    const { restock: received } = await ok(RECEIVE_RESTOCK, { id: restock.id });
    expect(received.receivedQuantity).toBe(LIMITS.quantity);
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: INT_MAX, incoming: 0 });
  });
});

// Last: it fills the shop's locations.
describe("locations", () => {
  it(`creates locations up to ${LIMITS.locations} and refuses one more with INVALID_STATE, changing nothing`, async () => {
    const createLocation = () => mutation(CREATE_LOCATION, { input: { code: uniqueSku("LOC"), name: "Another shed", priority: 10 } });
    const before = Number((await databaseState()).locations);
    for (let count = before; count < LIMITS.locations; count += 1) expect((await createLocation()).userErrors).toEqual([]);
    await expectRefusedUnchanged(CREATE_LOCATION, { input: { code: uniqueSku("LOC"), name: "One too many", priority: 10 } }, "INVALID_STATE", ["input"]);
  });
});

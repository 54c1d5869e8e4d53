/** Locations and products over real HTTP: creating and updating them, and their refusals as coded userErrors that change nothing. */
import { describe, expect, it } from "vitest";
import { uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { ADJUST_STOCK, CREATE_LOCATION, CREATE_PRODUCT, expectRefusal, mutationClient, UPDATE_PRODUCT } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { data } = server;
const { mutation, ok, createProduct, placeOne, readProduct, readBackorder, databaseState } = mutationClient(database, server);

describe("locations and products", () => {
  it("creates a location that the locations query then lists", async () => {
    const code = uniqueSku("LOC");
    const { location } = await ok(CREATE_LOCATION, { input: { code, name: "Overflow store", priority: 10 } });
    expect(location).toEqual({ id: expect.any(String), code, name: "Overflow store", priority: 10 });
    const { locations } = await data(`{ locations { id code priority } }`);
    expect(locations).toContainEqual({ id: location.id, code, priority: 10 });
  });

  it("creates a product with its initial stock on hand at the default location", async () => {
    const sku = uniqueSku("NEW");
    const { product } = await ok(CREATE_PRODUCT, {
      input: {
        sku,
        name: "Kettle",
        price: "24.50",
        backorderPolicy: "ALLOW",
        backorderLimit: 40,
        minOrderQuantity: 1,
        maxOrderQuantity: 9,
        leadTimeDays: 14,
        initialStock: 7,
      },
    });
    expect(product).toMatchObject({
      sku,
      name: "Kettle",
      price: { amount: "24.50", currencyCode: "USD" },
      backorderPolicy: "ALLOW",
      backorderLimit: 40,
      minOrderQuantity: 1,
      maxOrderQuantity: 9,
      leadTimeDays: 14,
      stock: { onHand: 7, allocated: 0, available: 7, backordered: 0, incoming: 0, projected: 7, nextRestockAt: null },
    });
    const { locations } = await data(`{ locations { code } }`);
    expect(product.stockLevels).toEqual([
      { onHand: 7, allocated: 0, available: 7, safetyStock: 0, location: { id: expect.any(String), code: locations[0].code } },
    ]);
  });

  it("defaults a new product to DENY, a minimum of 1 and no stock", async () => {
    const { product } = await ok(CREATE_PRODUCT, { input: { sku: uniqueSku("DEF"), name: "Plain", price: "1" } });
    expect(product).toMatchObject({
      backorderPolicy: "DENY",
      backorderLimit: null,
      minOrderQuantity: 1,
      maxOrderQuantity: null,
      price: { amount: "1.00" },
    });
    expect(product.stock.onHand).toBe(0);
  });

  it("updates only the fields given, and null clears an optional limit", async () => {
    const product = await createProduct({ backorderLimit: 5, maxOrderQuantity: 8, leadTimeDays: 3 });
    const { product: updated } = await ok(UPDATE_PRODUCT, {
      id: product.id,
      input: { name: "Renamed", price: "12.34", backorderLimit: null, backorderPolicy: "DENY" },
    });
    expect(updated).toMatchObject({
      id: product.id,
      sku: product.sku,
      name: "Renamed",
      price: { amount: "12.34", currencyCode: "USD" },
      backorderPolicy: "DENY",
      backorderLimit: null,
      maxOrderQuantity: 8,
      leadTimeDays: 3,
    });
    expect(await readProduct(product.id)).toMatchObject({ name: "Renamed", backorderLimit: null, maxOrderQuantity: 8 });
  });

  it("re-dates waiting backorders when the product's lead time changes", async () => {
    const product = await createProduct();
    const { order } = await placeOne(product.id, 1);
    expect(order.lines[0].backorder).toMatchObject({ etaSource: "UNKNOWN", expectedAt: null });
    await ok(UPDATE_PRODUCT, { id: product.id, input: { leadTimeDays: 7 } });
    const backorder = await readBackorder(order.lines[0].backorder.id);
    expect(backorder.etaSource).toBe("LEAD_TIME");
    expect(Math.abs(Date.parse(backorder.expectedAt) - (Date.parse(backorder.createdAt) + 7 * 86_400_000))).toBeLessThanOrEqual(3_600_000);
  });

  it("adjusts stock at the default location with a reason and sets safety stock", async () => {
    const product = await createProduct({ initialStock: 2 });
    const { stockLevel } = await ok(ADJUST_STOCK, { input: { productId: product.id, delta: 5, reason: "cycle count", safetyStock: 1 } });
    expect(stockLevel).toMatchObject({ onHand: 7, allocated: 0, available: 6, safetyStock: 1, product: { id: product.id } });
    expect((await readProduct(product.id)).stock).toMatchObject({ onHand: 7, available: 6 });
  });

  it("adjusts stock at a named location", async () => {
    const product = await createProduct();
    const { location } = await ok(CREATE_LOCATION, { input: { code: uniqueSku("SIDE"), name: "Side room", priority: 20 } });
    const { stockLevel } = await ok(ADJUST_STOCK, { input: { productId: product.id, locationId: location.id, delta: 4, reason: "found" } });
    expect(stockLevel).toMatchObject({ onHand: 4, location: { code: location.code } });
    const levels = (await readProduct(product.id)).stockLevels;
    expect(levels).toContainEqual(expect.objectContaining({ onHand: 4, location: { id: location.id, code: location.code } }));
  });

  it("refuses a stock fall below what is allocated with INSUFFICIENT_STOCK and changes nothing", async () => {
    const product = await createProduct({ initialStock: 3 });
    await placeOne(product.id, 2);
    const before = await databaseState();
    const payload = await mutation(ADJUST_STOCK, { input: { productId: product.id, delta: -2, reason: "breakage" } });
    expectRefusal(payload, "INSUFFICIENT_STOCK", ["input", "delta"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a second product with a taken SKU as DUPLICATE and creates nothing", async () => {
    const product = await createProduct();
    const before = await databaseState();
    const payload = await mutation(CREATE_PRODUCT, { input: { sku: product.sku, name: "Copy", price: "1.00" } });
    expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses renaming a product to another's SKU as DUPLICATE and changes nothing", async () => {
    const first = await createProduct();
    const second = await createProduct();
    const before = await databaseState();
    const payload = await mutation(UPDATE_PRODUCT, { id: second.id, input: { sku: first.sku } });
    expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
    expect(await databaseState()).toEqual(before);
  });

  it("refuses a second location with a taken code as DUPLICATE", async () => {
    const code = uniqueSku("TWICE");
    await ok(CREATE_LOCATION, { input: { code, name: "First", priority: 30 } });
    const before = await databaseState();
    const payload = await mutation(CREATE_LOCATION, { input: { code, name: "Second", priority: 31 } });
    expectRefusal(payload, "DUPLICATE", ["input", "code"]);
    expect(await databaseState()).toEqual(before);
  });
});

/** Racing requests over real HTTP, on PostgreSQL: one order per idempotency key, one product per SKU. */
import { expect, it } from "vitest";
import { createApiKey } from "../../server/services/api-key.service.js";
import { uniqueSku } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { CREATE_PRODUCT, expectRefusal, mutationClient, PLACE_ORDER } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { gql } = server;
const { ok, createProduct, databaseState } = mutationClient(database, server);

describeOnPostgres("racing requests over HTTP", () => {
  it("answers racing identical placeOrder requests with one order, every other one replayed", async () => {
    const product = await createProduct({ initialStock: 100 });
    const input = { customer: "race", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: uniqueSku("RACE") };
    const before = await databaseState();
    const payloads = await Promise.all(Array.from({ length: 12 }, () => ok(PLACE_ORDER, { input })));
    expect(new Set(payloads.map((payload) => payload.order.id)).size).toBe(1);
    expect(payloads.filter((payload) => !payload.replayed)).toHaveLength(1);
    expect((await databaseState()).orders).toBe(Number(before.orders) + 1);
  });

  it("answers racing identical placeOrder requests from two API keys with one order per key", async () => {
    const keys = await Promise.all(["race a", "race b"].map(async (name) => (await createApiKey(database.db, { name, role: "STOREFRONT" })).secret));
    const product = await createProduct({ initialStock: 100 });
    const input = { customer: "race", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: uniqueSku("RACE") };
    const before = await databaseState();
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => gql(PLACE_ORDER, { input }, { key: keys[i % 2] })));
    const payloads = responses.map((response) => response.body.data!.placeOrder);
    for (const payload of payloads) expect(payload.userErrors).toEqual([]);
    for (const k of [0, 1]) {
      const ofKey = payloads.filter((_, i) => i % 2 === k);
      expect(new Set(ofKey.map((payload) => payload.order.id)).size).toBe(1);
      expect(ofKey.filter((payload) => !payload.replayed)).toHaveLength(1);
    }
    expect((await databaseState()).orders).toBe(Number(before.orders) + 2);
  });

  it("answers racing creations of one SKU with one product and DUPLICATE for the rest, never an internal error", async () => {
    const sku = uniqueSku("RACE");
    const responses = await Promise.all(Array.from({ length: 8 }, () => gql(CREATE_PRODUCT, { input: { sku, name: "Racer", price: "1.00" } })));
    for (const response of responses) expect(response.body.errors, response.text).toBeUndefined();
    const payloads = responses.map((response) => response.body.data.createProduct);
    expect(payloads.filter((payload) => payload.product !== null)).toHaveLength(1);
    for (const payload of payloads.filter((each) => each.product === null)) expectRefusal(payload, "DUPLICATE", ["input", "sku"]);
  });
});

/**
 * Idempotency keys are scoped to the API key that sent them (docs/ARCHITECTURE.md, "Access and limits"):
 * two storefronts that happen to use the same string place two orders and neither sees the
 * other's order or refusal. Racing duplicates from one key are in test/graphql/racing.test.ts.
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../drizzle/db.js";
import { fromGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { expectRefusal, mutationClient, PLACE_ORDER } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { data } = server;
const { createProduct } = mutationClient(database, server);
let shopA: string;
let shopB: string;

beforeAll(async () => {
  shopA = (await createApiKey(database.db, { name: "shop a", role: "STOREFRONT" })).secret;
  shopB = (await createApiKey(database.db, { name: "shop b", role: "STOREFRONT" })).secret;
});

/** placeOrder's payload, sent with `key`. */
async function placeAs(key: string, input: Record<string, unknown>) {
  return (await data(PLACE_ORDER, { input }, { key })).placeOrder;
}

describe("idempotency keys per API key", () => {
  it("places two orders for the same idempotency key sent by two API keys", async () => {
    const product = await createProduct({ initialStock: 10 });
    const idempotencyKey = uniqueSku("SHARED");
    const first = await placeAs(shopA, { customer: "a", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey });
    // Other input too: it is not a reuse of shop A's key.
    const second = await placeAs(shopB, { customer: "b", lines: [{ productId: product.id, quantity: 2 }], idempotencyKey });
    expect([first.userErrors, second.userErrors, first.replayed, second.replayed]).toEqual([[], [], false, false]);
    expect(second.order.id).not.toBe(first.order.id);
    expect(second.order.customer).toBe("b");
  });

  it("replays the first order for the same key and input from the same API key, and refuses that key for other input", async () => {
    const product = await createProduct({ initialStock: 10 });
    const input = { customer: "a", lines: [{ productId: product.id, quantity: 1 }], idempotencyKey: uniqueSku("RETRY") };
    const first = await placeAs(shopA, input);
    const retry = await placeAs(shopA, input);
    expect([retry.replayed, retry.order.id]).toEqual([true, first.order.id]);
    const reused = await placeAs(shopA, { ...input, customer: "someone else" });
    expectRefusal(reused, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"]);
    // Shop B's first use of the string is its own.
    expect((await placeAs(shopB, input)).replayed).toBe(false);
  });

  it("records lost demand once per API key for a refused order retried with one idempotency key", async () => {
    const product = await createProduct({ backorderPolicy: "DENY" });
    const input = { customer: "a", lines: [{ productId: product.id, quantity: 3 }], allowPartial: false, idempotencyKey: uniqueSku("LOST") };
    for (const key of [shopA, shopA, shopB, shopB]) expectRefusal(await placeAs(key, input), "OUT_OF_STOCK", ["input", "lines", "0", "quantity"]);
    const [row] = await rows<{ n: number; units: number }>(
      database.db,
      sql`SELECT count(*)::int AS n, sum(quantity)::int AS units FROM lost_demand WHERE product_id = ${fromGlobalId(product.id)!.id}::int`,
    );
    expect(row).toEqual({ n: 2, units: 6 });
  });
});

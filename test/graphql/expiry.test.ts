/**
 * Expiry of stale backorders over real HTTP (docs/ARCHITECTURE.md, "Expiry of stale backorders"):
 * `Backorder.expiresAt` and `keepWaiting`, `keepWaiting`'s refusals as userErrors with nothing
 * changed, `autoCancelAfterDays` on products and its bounds, and the app's sweep at its clock.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { cancelOrder, placeOrder } from "../../server/services/order.service.js";
import { receiveRestock, scheduleRestock } from "../../server/services/restock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { backorderOfOrder, daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const DAY_MS = 86_400_000;
const database = useFreshDatabase();
/** The app's clock: the test moves it to sweep. */
let now = new Date();
const server = useTestServer(database, { clock: () => now, delaySweepMs: 0, expirySweepMs: 0 });
const { data } = server;

let keys: Record<ApiKeyRole, RoleKey>;
beforeAll(async () => {
  keys = await createRoleKeys(database.db, "expiry");
});

const BACKORDER = `query($id: ID!) { node(id: $id) { ... on Backorder { id status keepWaiting expiresAt promisedAt createdAt } } }`;
const KEEP_WAITING = `mutation($id: ID!) { keepWaiting(id: $id) { backorder { id status keepWaiting expiresAt } userErrors { code field message } } }`;
const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id autoCancelAfterDays } userErrors { code field message } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) {
  product { id autoCancelAfterDays } userErrors { code field message } } }`;

const digest = () => databaseDigest(database.db);

/** A waiting backorder of a product that expires after `days` (null: never), promised at `promise` by a restock. */
async function waiting(days: number | null, promise = daysFromNow(2)) {
  const product = await newProduct(database.db, { autoCancelAfterDays: days });
  const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 1, expectedAt: promise });
  const { order } = await placeOrder(database.db, { customer: "http-expiry", lines: [{ productId: product.id, quantity: 1 }] });
  const backorder = await backorderOfOrder(database.db, order.id);
  return { product, restock, order, backorder, id: toGlobalId("Backorder", backorder.id), promise };
}

describe("Backorder.expiresAt and keepWaiting", () => {
  it("shows when a backorder expires, and null once the customer chose to keep waiting", async () => {
    const { id, promise, product } = await waiting(3);
    const shown = (await data(BACKORDER, { id })).node;
    expect(shown).toMatchObject({ status: "WAITING", keepWaiting: false, promisedAt: promise.toISOString() });
    expect(shown.expiresAt).toBe(new Date(promise.getTime() + 3 * DAY_MS).toISOString());

    // The queue page reads it through the product loader too.
    const page = await data(`query($id: ID!) { backlog(filter: { productId: $id }) { nodes { id expiresAt } } }`, {
      id: toGlobalId("Product", product.id),
    });
    expect(page.backlog.nodes).toEqual([{ id, expiresAt: shown.expiresAt }]);

    const kept = (await data(KEEP_WAITING, { id }, { key: keys.STOREFRONT.secret })).keepWaiting;
    expect(kept).toEqual({ backorder: { id, status: "WAITING", keepWaiting: true, expiresAt: null }, userErrors: [] });
    // Idempotent: the same answer again.
    expect((await data(KEEP_WAITING, { id }, { key: keys.STOREFRONT.secret })).keepWaiting).toEqual(kept);
    expect((await data(BACKORDER, { id })).node).toMatchObject({ keepWaiting: true, expiresAt: null });
  });

  it("shows null for a product without autoCancelAfterDays, and for a backorder that no longer waits", async () => {
    const never = await waiting(null);
    expect((await data(BACKORDER, { id: never.id })).node).toMatchObject({ status: "WAITING", expiresAt: null });
    const filled = await waiting(1);
    await receiveRestock(database.db, filled.restock.id);
    expect((await data(BACKORDER, { id: filled.id })).node).toMatchObject({ status: "FILLED", expiresAt: null });
  });

  it("refuses bad ids and backorders that no longer wait as userErrors, with nothing changed", async () => {
    const cancelled = await waiting(2);
    await cancelOrder(database.db, cancelled.order.id);
    const filled = await waiting(2);
    await receiveRestock(database.db, filled.restock.id);
    const cases: [string, string, string][] = [
      ["xyz", "INVALID_INPUT", "a malformed id"],
      ["", "INVALID_INPUT", "an empty id"],
      [toGlobalId("Product", cancelled.product.id), "NOT_FOUND", "another type's id"],
      [toGlobalId("Backorder", 2_000_000_000), "NOT_FOUND", "an unknown backorder"],
      [cancelled.id, "INVALID_STATE", "a cancelled backorder"],
      [filled.id, "INVALID_STATE", "a filled backorder"],
    ];
    const before = await digest();
    for (const [id, code, what] of cases) {
      const answer = (await data(KEEP_WAITING, { id }, { key: keys.OPERATOR.secret })).keepWaiting;
      expect(answer, what).toEqual({ backorder: null, userErrors: [{ code, field: ["id"], message: expect.any(String) }] });
    }
    expect(await digest()).toEqual(before);
  });

  it("is refused to a READER key (FORBIDDEN), with nothing changed", async () => {
    const { id } = await waiting(2);
    const before = await digest();
    const response = await server.gql(KEEP_WAITING, { id }, { key: keys.READER.secret });
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(await digest()).toEqual(before);
  });
});

describe("autoCancelAfterDays", () => {
  it("is set at creation, changed and cleared by updateProduct, and shown on Product", async () => {
    const created = (await data(CREATE, { input: { sku: uniqueSku(), name: "Expiring", price: "1.00", autoCancelAfterDays: 14 } })).createProduct;
    expect(created).toMatchObject({ product: { autoCancelAfterDays: 14 }, userErrors: [] });
    const id = created.product.id;
    expect((await data(UPDATE, { id, input: { autoCancelAfterDays: 3650 } })).updateProduct.product.autoCancelAfterDays).toBe(3650);
    expect((await data(UPDATE, { id, input: { name: "Renamed" } })).updateProduct.product.autoCancelAfterDays, "left alone when not given").toBe(3650);
    expect((await data(UPDATE, { id, input: { autoCancelAfterDays: null } })).updateProduct.product.autoCancelAfterDays).toBeNull();
    expect((await data(UPDATE, { id, input: { autoCancelAfterDays: 1 } })).updateProduct.product.autoCancelAfterDays).toBe(1);
  });

  it("refuses a number of days outside 1 to 3650 with INVALID_INPUT on the field, creating and changing nothing", async () => {
    const product = await newProduct(database.db, { autoCancelAfterDays: 5 });
    const id = toGlobalId("Product", product.id);
    const before = await digest();
    for (const days of [0, -1, 3651, 2_000_000_000]) {
      const create = (await data(CREATE, { input: { sku: uniqueSku(), name: "Bad", price: "1.00", autoCancelAfterDays: days } })).createProduct;
      expect(create, `create with ${days}`).toEqual({
        product: null,
        userErrors: [{ code: "INVALID_INPUT", field: ["input", "autoCancelAfterDays"], message: expect.any(String) }],
      });
      const update = (await data(UPDATE, { id, input: { autoCancelAfterDays: days } })).updateProduct;
      expect(update, `update with ${days}`).toEqual({
        product: null,
        userErrors: [{ code: "INVALID_INPUT", field: ["input", "autoCancelAfterDays"], message: expect.any(String) }],
      });
    }
    expect(await digest()).toEqual(before);
  });
});

describe("the app's expiry sweep", () => {
  it("runs at the app's clock: the order's units are cancelled with an EXPIRED refund once expiresAt is reached", async () => {
    const { id, order } = await waiting(1);
    const { expiresAt } = (await data(BACKORDER, { id })).node;
    now = new Date(new Date(expiresAt).getTime() - 1);
    await server.app.sweepExpiries();
    expect((await data(BACKORDER, { id })).node.status).toBe("WAITING");
    now = new Date(expiresAt);
    const swept = await server.app.sweepExpiries();
    expect(swept.orderIds).toContain(order.id);
    const view = (
      await data(`query($id: ID!) { order(id: $id) { status refunds { reason status amount { amount } } refundTotal { amount } } }`, {
        id: toGlobalId("Order", order.id),
      })
    ).order;
    expect(view).toEqual({
      status: "CANCELLED",
      refunds: [{ reason: "EXPIRED", status: "PENDING", amount: { amount: "10.00" } }],
      refundTotal: { amount: "10.00" },
    });
    expect((await data(BACKORDER, { id })).node).toMatchObject({ status: "CANCELLED", expiresAt: null });
  });
});

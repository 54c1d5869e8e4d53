/**
 * Work beyond the objects a field returns (docs/ARCHITECTURE.md, "Access and limits";
 * FIELD_WORK in server/graphql/limits/query-cost.ts): admitted at its bound, settled at the work
 * done. A simulation is charged its price whatever it returns, a refused one nothing, and metrics
 * over a window the orders the window really held.
 */
import { describe, expect, it } from "vitest";
import { backlogMetricsWork, FIELD_WORK } from "../../server/graphql/limits/query-cost.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { type GraphQLResponse, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database);

interface Cost {
  requested: number;
  actual: number;
  charged: number;
}
const costOf = (response: GraphQLResponse) => (response.body as { extensions: { cost: Cost } }).extensions.cost;

const SIMULATE = `query($input: SimulateRestockInput!) { simulateRestock(input: $input) { filledUnits delayedAfter } }`;

describe("work beyond the objects", () => {
  it("charges a simulation its price for the work it did, and a refused one nothing beyond the request", async () => {
    const product = await newProduct(database.db, { backorderPolicy: "ALLOW" });
    await placeOrder(database.db, { customer: "work", lines: [{ productId: product.id, quantity: 2 }] });
    const productId = toGlobalId("Product", product.id);
    const price = (input: Record<string, unknown>) => FIELD_WORK["Query.simulateRestock"]!((name) => (name === "input" ? input : undefined));

    const scheduled = await server.gql(SIMULATE, { input: { productId, quantity: 2, expectedAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(scheduled.body.data.simulateRestock.filledUnits).toBe(0);
    // One object back (the simulation), and the work of a re-dating.
    expect(costOf(scheduled).actual).toBe(1 + price({ receiveNow: false }));

    const received = await server.gql(SIMULATE, { input: { productId, quantity: 2, receiveNow: true } });
    expect(received.body.data.simulateRestock.filledUnits).toBe(2);
    expect(costOf(received).actual).toBe(1 + price({ receiveNow: true }));
    expect(price({ receiveNow: true })).toBeGreaterThan(price({ receiveNow: false }));

    const refused = await server.gql(SIMULATE, { input: { productId, quantity: 0, receiveNow: true } });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    // Admitted at the receipt's price, charged none of it: the simulation never ran.
    expect(costOf(refused).requested).toBeGreaterThanOrEqual(price({ receiveNow: true }));
    expect(costOf(refused).actual).toBe(0);
  });

  it("admits metrics at what their window may hold and charges the orders it held", async () => {
    const product = await newProduct(database.db, { initialStock: 10 });
    for (const customer of ["m-1", "m-2", "m-3"]) await placeOrder(database.db, { customer, lines: [{ productId: product.id, quantity: 1 }] });
    const response = await server.gql(`{ backlogMetrics { ordersPlaced } }`);
    const ordersPlaced = response.body.data.backlogMetrics.ordersPlaced as number;
    expect(ordersPlaced).toBeGreaterThanOrEqual(3);
    const bound = FIELD_WORK["Query.backlogMetrics"]!(() => undefined);
    expect(costOf(response).requested).toBe(1 + bound);
    expect(costOf(response).actual).toBe(1 + backlogMetricsWork(ordersPlaced));
    expect(backlogMetricsWork(ordersPlaced)).toBeLessThan(bound);
  });
});

/**
 * The README's examples, run as written against a freshly seeded demo catalogue: what the README
 * says each one shows is what it does (README.md, "GraphQL API").
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../server/cli/seed.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database);

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The `index`-th graphql block (0 first) under the README heading `heading`. */
function example(heading: string, index = 0): string {
  const start = README.indexOf(`### ${heading}\n`);
  expect(start, `README has no heading "${heading}"`).toBeGreaterThanOrEqual(0);
  const section = README.slice(start, README.indexOf("\n### ", start + 1));
  const blocks = [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]);
  expect(blocks.length, `README section "${heading}" has no graphql block ${index}`).toBeGreaterThan(index);
  return blocks[index];
}

interface Line {
  product: { sku: string };
  quantity: number;
  allocated: number;
  backordered: number;
  backorder: { position: number; etaSource: string } | null;
}

describe("the README's examples on the demo catalogue", () => {
  beforeAll(async () => {
    expect(await seedDemo(database.db)).toBe(true);
  });

  it("places the 'partly backordered' order partly allocated and partly backordered", async () => {
    const { placeOrder } = await server.data(example("Place an order that is partly backordered"));
    expect(placeOrder.userErrors).toEqual([]);
    const lines = placeOrder.order.lines as Line[];
    const allocated = lines.reduce((sum, line) => sum + line.allocated, 0);
    const backordered = lines.reduce((sum, line) => sum + line.backordered, 0);
    expect(allocated, "units allocated at once").toBeGreaterThan(0);
    expect(backordered, "units backordered").toBeGreaterThan(0);
    expect(placeOrder.order.status).toBe("AWAITING_STOCK");
    // The waiting units sit at the end of a queue that restocks date.
    const waiting = lines.filter((line) => line.backordered > 0);
    expect(waiting.every((line) => line.backorder !== null && line.backorder.position > 1 && line.backorder.etaSource === "RESTOCK")).toBe(true);
  });

  it("quotes the hoodie: nothing in stock, all five would wait behind its queue, dated by its second restock", async () => {
    const { product } = await server.data(example("Quote an order before it is placed"));
    const { product: queue } = await server.data(`{ product(sku: "HOODIE-GRY-L") { backlog(first: 0) { totalCount } } }`);
    expect(product.maxWaitDays).toBeNull();
    expect(product.quote).toMatchObject({ allocatable: 0, backorderable: 5, refused: 0, code: null, etaSource: "RESTOCK" });
    expect(product.quote.position).toBe(queue.backlog.totalCount + 1);
    // 54 units wait: the 40 due in 3 days cannot cover them, the 60 due in 12 days can.
    const days = (Date.parse(product.quote.expectedAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(11);
    expect(days).toBeLessThan(12.1);
  });

  it("schedules the example restock: its date is still ahead", async () => {
    const { scheduleRestock } = await server.data(example("Schedule and receive a restock", 0));
    expect(scheduleRestock.userErrors).toEqual([]);
    expect(scheduleRestock.restock.status).toBe("SCHEDULED");
  });

  it("receives part of the example restock: PARTIALLY_RECEIVED, with the units it gave each backorder", async () => {
    const { receiveRestock } = await server.data(example("Schedule and receive a restock", 1));
    expect(receiveRestock.userErrors).toEqual([]);
    expect(receiveRestock.restock).toEqual({ status: "PARTIALLY_RECEIVED", receivedQuantity: 25 });
    // The second customer ordered 25 and got 23 of this receipt's 25 units.
    expect(receiveRestock.filledBackorders.map((b: { quantity: number }) => b.quantity)).toEqual([2, 25]);
    expect(receiveRestock.fills.map((f: { filledUnits: number }) => f.filledUnits)).toEqual([2, 23]);
  });
});

/**
 * Query.simulateRestock over HTTP (docs/ARCHITECTURE.md, "Restock simulation"): the answer the
 * real scheduleRestock / receiveRestock mutations then bear out, nothing left in the database,
 * nothing delivered to a live subscriber or the event hub, BAD_USER_INPUT for bad input, and
 * FORBIDDEN for roles that may not schedule restocks.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../drizzle/db.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import type { LoggedEvent } from "../../server/services/event-log.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { MAX_AFFECTED } from "../../server/services/restock-simulation.service.js";
import { rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import type { ApiKeyRole } from "../../server/services/types.js";
import { createRoleKeys, databaseDigest, type RoleKey } from "../support/access.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { onPostgres, useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { collect, type Collected, waitFor } from "../support/live.js";

const database = useFreshDatabase();
// No timed sweeps: the delay sweep would write DELAYED events for the late backlogs these tests
// build at whatever moment its minute comes round, inside a "nothing is written" window.
const server = useTestServer(database, { delaySweepMs: 0, expirySweepMs: 0 });
let keys: Record<ApiKeyRole, RoleKey>;
const open: Collected[] = [];

beforeAll(async () => {
  keys = await createRoleKeys(database.db, "simulation");
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.dispose()));
});

const SIMULATE = `query($input: SimulateRestockInput!) {
  simulateRestock(input: $input) {
    product { id sku }
    filledUnits filledBackorders remainingBackordered delayedBefore delayedAfter
    affected {
      backorder { id remaining status expectedAt delayed }
      filledUnits expectedAtBefore expectedAtAfter delayedBefore delayedAfter
    }
  }
}`;

const BACKLOG = `query($id: ID!) { product(id: $id) { stock { backordered } backlog(first: 100) { nodes { id remaining expectedAt delayed } } } }`;

interface Affected {
  backorder: { id: string; remaining: number; status: string; expectedAt: string | null; delayed: boolean };
  filledUnits: number;
  expectedAtBefore: string | null;
  expectedAtAfter: string | null;
  delayedBefore: boolean;
  delayedAfter: boolean;
}

/** A product whose three backorders (1, 2 and 3 units) were promised a restock on day 3 that now comes on day 20: all three late. */
async function lateBacklog() {
  const product = await newProduct(database.db);
  const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 6, expectedAt: daysFromNow(3) });
  for (const quantity of [1, 2, 3]) await placeOrder(database.db, { customer: "gql", lines: [{ productId: product.id, quantity }] });
  await rescheduleRestock(database.db, restock.id, daysFromNow(20));
  return { product, id: toGlobalId("Product", product.id) };
}

async function backlogOf(id: string) {
  const { product } = await server.data(BACKLOG, { id });
  return product as {
    stock: { backordered: number };
    backlog: { nodes: { id: string; remaining: number; expectedAt: string | null; delayed: boolean }[] };
  };
}

/** The backlog (by backorder id) as the simulation says the restock leaves it. */
function predictedBacklog(before: Awaited<ReturnType<typeof backlogOf>>, affected: Affected[]) {
  const changes = new Map(affected.map((a) => [a.backorder.id, a]));
  return before.backlog.nodes
    .map((node) => {
      const change = changes.get(node.id);
      if (!change) return node;
      return { id: node.id, remaining: node.remaining - change.filledUnits, expectedAt: change.expectedAtAfter, delayed: change.delayedAfter };
    })
    .filter((node) => node.remaining > 0);
}

describe("simulateRestock", () => {
  it("answers what the scheduleRestock that follows it then does, and shows each backorder as it still is", async () => {
    const { id } = await lateBacklog();
    const before = await backlogOf(id);
    const expectedAt = daysFromNow(2).toISOString();
    const { simulateRestock: simulation } = await server.data(SIMULATE, { input: { productId: id, quantity: 5, expectedAt } });
    // Day 2 keeps the promises of the first two backorders (3 units); the others stay on day 20.
    expect(simulation).toMatchObject({ product: { id }, filledUnits: 0, filledBackorders: 0, remainingBackordered: 6, delayedBefore: 3, delayedAfter: 1 });
    // `backorder` is the row as it is now: the simulation's changes were rolled back.
    for (const entry of simulation.affected as Affected[]) {
      const node = before.backlog.nodes.find((n) => n.id === entry.backorder.id)!;
      expect(entry.backorder).toEqual({ ...node, status: "WAITING" });
      expect(entry).toMatchObject({ expectedAtBefore: node.expectedAt, delayedBefore: node.delayed });
    }
    await server.data(`mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code } } }`, {
      input: { productId: id, quantity: 5, expectedAt },
    });
    const after = await backlogOf(id);
    expect(after.backlog.nodes).toEqual(predictedBacklog(before, simulation.affected));
    expect(after.stock.backordered).toBe(simulation.remainingBackordered);
    expect(after.backlog.nodes.filter((n) => n.delayed)).toHaveLength(simulation.delayedAfter);
  });

  it("answers what receiving it now then does: the units each backorder gets, and what is left late", async () => {
    const { id } = await lateBacklog();
    const before = await backlogOf(id);
    const { simulateRestock: simulation } = await server.data(SIMULATE, { input: { productId: id, quantity: 4, receiveNow: true } });
    // The third backorder gets 1 of its 3 units; the other 2 still wait for day 20, late.
    expect(simulation).toMatchObject({ filledUnits: 4, filledBackorders: 3, remainingBackordered: 2, delayedBefore: 3, delayedAfter: 1 });
    const { scheduleRestock } = await server.data(`mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } } }`, {
      input: { productId: id, quantity: 4, expectedAt: new Date().toISOString() },
    });
    const { receiveRestock } = await server.data(
      `mutation($id: ID!) { receiveRestock(id: $id) { fills { filledUnits backorder { id } } userErrors { code } } }`,
      { id: scheduleRestock.restock.id },
    );
    expect(receiveRestock.fills.map((f: { filledUnits: number; backorder: { id: string } }) => [f.backorder.id, f.filledUnits])).toEqual(
      (simulation.affected as Affected[]).filter((a) => a.filledUnits > 0).map((a) => [a.backorder.id, a.filledUnits]),
    );
    const after = await backlogOf(id);
    expect(after.backlog.nodes).toEqual(predictedBacklog(before, simulation.affected));
    expect(after.stock.backordered).toBe(simulation.remainingBackordered);
    expect(after.backlog.nodes.filter((n) => n.delayed)).toHaveLength(simulation.delayedAfter);
  });

  it(`lists at most ${MAX_AFFECTED} backorders, the first in queue order`, async () => {
    const product = await newProduct(database.db);
    const ids: number[] = [];
    for (let i = 0; i < MAX_AFFECTED + 5; i++) {
      const { order } = await placeOrder(database.db, { customer: "many", lines: [{ productId: product.id, quantity: 1 }] });
      const [row] = await rows<{ id: number }>(database.db, sql`SELECT id FROM backorders WHERE order_id = ${order.id}`);
      ids.push(Number(row.id));
    }
    await prioritizeBackorder(database.db, ids.at(-1)!, 1);
    const { simulateRestock: simulation } = await server.data(
      `query($input: SimulateRestockInput!) { simulateRestock(input: $input) { filledUnits filledBackorders affected { backorder { id } filledUnits } } }`,
      { input: { productId: toGlobalId("Product", product.id), quantity: MAX_AFFECTED + 5, receiveNow: true } },
    );
    expect(simulation).toMatchObject({ filledUnits: MAX_AFFECTED + 5, filledBackorders: MAX_AFFECTED + 5 });
    expect(simulation.affected.map((a: { backorder: { id: string } }) => a.backorder.id)).toEqual(
      [ids.at(-1)!, ...ids.slice(0, -1)].slice(0, MAX_AFFECTED).map((n) => toGlobalId("Backorder", n)),
    );
  });
});

describe("leaving no trace", () => {
  it("writes nothing and delivers nothing to a live subscriber, the event hub or other instances", async () => {
    const { product, id } = await lateBacklog();
    const { eventCursor: after } = await server.data("{ eventCursor }");
    const restockEvents = await collect(
      server.url,
      `subscription($ids: [ID!], $after: String) { restockChanged(productIds: $ids, after: $after) { kind restock { id } } }`,
      { ids: [id], after },
    );
    const backlogEvents = await collect(
      server.url,
      `subscription($ids: [ID!], $after: String) { backlogChanged(productIds: $ids, after: $after) { reason productVersion } }`,
      { ids: [id], after },
    );
    const orderEvents = await collect(server.url, `subscription($after: String) { orderChanged(customer: "gql", after: $after) { kind } }`, { after });
    open.push(restockEvents, backlogEvents, orderEvents);
    const heard: LoggedEvent[] = [];
    const stopHearing = server.app.hub.onEvent((event) => heard.push(event));
    // On PostgreSQL, what the other instances would hear: the hub's NOTIFY after it stamps events.
    const notifications: string[] = [];
    const listener = onPostgres ? await database.connection.postgres!.listen("backorder_events", (payload) => notifications.push(payload)) : null;
    try {
      const digest = await databaseDigest(database.db);
      const [row] = await rows<{ version: number | string }>(database.db, sql`SELECT version FROM products WHERE id = ${product.id}`);
      const version = Number(row.version);
      const started = Date.now();
      const received = await server.data(SIMULATE, { input: { productId: id, quantity: 6, receiveNow: true } });
      const scheduled = await server.data(SIMULATE, { input: { productId: id, quantity: 7, expectedAt: daysFromNow(1).toISOString() } });
      expect(received.simulateRestock.filledUnits).toBe(6);
      expect(scheduled.simulateRestock.delayedAfter).toBe(0);
      // The hub has read the log since (its poll), and found nothing.
      await waitFor(() => server.app.hub.lastReadAt > started + 50, "the hub to read the log again", 5000);
      expect(heard).toEqual([]);
      if (listener) {
        await database.connection.postgres!.notify("backorder_events", "probe");
        await waitFor(() => notifications.length > 0, "the probe notification");
        expect(notifications).toEqual(["probe"]);
      }
      expect(await databaseDigest(database.db)).toEqual(digest);
      // Then a real restock: its events are the first and only ones each subscriber gets.
      const real = await scheduleRestock(database.db, { productId: product.id, quantity: 7, expectedAt: daysFromNow(1) });
      await waitFor(() => restockEvents.events.length >= 1 && backlogEvents.events.length >= 1, "the real restock's events");
      expect(restockEvents.events).toEqual([{ kind: "SCHEDULED", restock: { id: toGlobalId("Restock", real.id) } }]);
      expect(backlogEvents.events).toEqual([{ reason: "RESTOCK_SCHEDULED", productVersion: version + 1 }]);
      expect(orderEvents.events).toEqual([]);
      expect(heard.every((event) => event.productVersion === version + 1 || event.restockId === real.id)).toBe(true);
    } finally {
      stopHearing();
      await listener?.unlisten();
    }
  });
});

describe("bad input", () => {
  it("is BAD_USER_INPUT on the field at fault, and changes nothing", async () => {
    const { product, id } = await lateBacklog();
    const location = toGlobalId("Location", 999_999);
    const at = daysFromNow(3).toISOString();
    const cases: [Record<string, unknown>, string][] = [
      [{ productId: id, quantity: 0, expectedAt: at }, "input.quantity"],
      [{ productId: id, quantity: -3, receiveNow: true }, "input.quantity"],
      [{ productId: id, quantity: 1_000_001, receiveNow: true }, "input.quantity"],
      [{ productId: id, quantity: 1, expectedAt: daysFromNow(-1).toISOString() }, "input.expectedAt"],
      [{ productId: id, quantity: 1, expectedAt: "yesterday" }, "input.expectedAt"],
      [{ productId: id, quantity: 1 }, "input.expectedAt"],
      [{ productId: id, quantity: 1, receiveNow: false, expectedAt: null }, "input.expectedAt"],
      [{ productId: toGlobalId("Product", product.id + 100_000), quantity: 1, receiveNow: true }, "input.productId"],
      [{ productId: toGlobalId("Order", product.id), quantity: 1, receiveNow: true }, "input.productId"],
      [{ productId: "not an id", quantity: 1, receiveNow: true }, "input.productId"],
      [{ productId: id, quantity: 1, receiveNow: true, locationId: location }, "input.locationId"],
    ];
    const digest = await databaseDigest(database.db);
    for (const [input, argument] of cases) {
      const response = await server.gql(SIMULATE, { input });
      expect(response.status, response.text).toBe(200);
      expect(response.body.errors, response.text).toHaveLength(1);
      expect(response.body.errors![0].extensions, response.text).toMatchObject({ code: "BAD_USER_INPUT", argument });
      expect(response.body.data ?? null).toBeNull();
    }
    expect(await databaseDigest(database.db)).toEqual(digest);
  });
});

describe("access", () => {
  it("is for OPERATOR and ADMIN; READER and STOREFRONT get FORBIDDEN", async () => {
    const { id } = await lateBacklog();
    const input = { productId: id, quantity: 2, receiveNow: true };
    for (const role of ["ADMIN", "OPERATOR"] as const) {
      const { simulateRestock } = await server.data(SIMULATE, { input }, { key: keys[role].secret });
      expect(simulateRestock.filledUnits, role).toBe(2);
    }
    for (const role of ["READER", "STOREFRONT"] as const) {
      const response = await server.gql(SIMULATE, { input }, { key: keys[role].secret });
      expect(response.body.errors?.[0]).toMatchObject({ path: ["simulateRestock"], extensions: { code: "FORBIDDEN" } });
      expect(response.body.data ?? null).toBeNull();
    }
  });
});

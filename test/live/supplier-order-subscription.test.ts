/**
 * Subscription.supplierOrderChanged over real WebSockets to a real server (docs/ARCHITECTURE.md,
 * "Dropship" and "Events and live updates", issue 15 item 3): each act on a supplier order reaches
 * a subscriber with the supplier order as it is at delivery (an acknowledgement's ship date
 * included), a SUPPLIER key hears its own supplier's orders only, a READER sees pseudonyms, and
 * `after` replays from the event log.
 */
import type { Client } from "graphql-ws";
import { afterAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { daysFromNow, newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { collect, type Collected, waitFor } from "../support/live.js";
import { USER_ERRORS } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });
const gid = toGlobalId;
const open: Collected[] = [];

afterAll(async () => {
  await Promise.all(open.map((c) => c.dispose()));
});

const SUBSCRIPTION = `subscription($supplierId: ID, $after: String) {
  supplierOrderChanged(supplierId: $supplierId, after: $after) {
    cursor at kind status supplierOrder { id status customer expectedShipAt trackingNumber rejectReason }
  }
}`;

async function subscribe(variables: Record<string, unknown>, key?: string) {
  const collected = await collect(server.url, SUBSCRIPTION, variables, key === undefined ? {} : { key });
  open.push(collected);
  return collected;
}

/** A second subscription on a connection already open (a SUPPLIER key may hold 2 connections). */
function subscribeOn(client: Client, variables: Record<string, unknown>) {
  const result = { events: [] as any[], errors: [] as unknown[] };
  client.subscribe(
    { query: SUBSCRIPTION, variables },
    {
      next: (value) => {
        if (value.errors) result.errors.push(...value.errors);
        if (value.data?.supplierOrderChanged) result.events.push(value.data.supplierOrderChanged);
      },
      error: (error) => result.errors.push(error),
      complete: () => {},
    },
  );
  return result;
}

async function cursorNow(): Promise<string> {
  return (await server.data("{ eventCursor }")).eventCursor;
}

/** A supplier with a lead time of `leadTimeDays`, and a DROPSHIP product of it. */
async function dropshipSupplier(leadTimeDays = 5) {
  const supplier = await createSupplier(database.db, { name: uniqueSku("Live supplier"), leadTimeDays });
  const product = await newProduct(database.db, { fulfillment: "DROPSHIP", supplierId: supplier.id });
  return { supplier, supplierId: gid("Supplier", supplier.id), productId: gid("Product", product.id) };
}

/** Places a one-line order of a DROPSHIP product over HTTP: the order's id and its supplier order's. */
async function dropshipOrder(productId: string, customer = "drop@example.com") {
  const { placeOrder } = await server.data(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id lines { supplierOrder { id } } } ${USER_ERRORS} } }`,
    { input: { customer, lines: [{ productId, quantity: 2 }] } },
  );
  expect(placeOrder.userErrors).toEqual([]);
  return { orderId: placeOrder.order.id as string, supplierOrderId: placeOrder.order.lines[0].supplierOrder.id as string };
}

async function acknowledge(id: string, at: Date) {
  const { acknowledgeSupplierOrder } = await server.data(
    `mutation($id: ID!, $at: DateTime!) { acknowledgeSupplierOrder(id: $id, expectedShipAt: $at) { ${USER_ERRORS} } }`,
    { id, at: at.toISOString() },
  );
  expect(acknowledgeSupplierOrder.userErrors).toEqual([]);
}

async function reject(id: string, reason = "discontinued") {
  const { rejectSupplierOrder } = await server.data(`mutation($id: ID!, $r: String!) { rejectSupplierOrder(id: $id, reason: $r) { ${USER_ERRORS} } }`, {
    id,
    r: reason,
  });
  expect(rejectSupplierOrder.userErrors).toEqual([]);
}

async function ship(id: string, tracking: string) {
  const { shipSupplierOrder } = await server.data(`mutation($id: ID!, $t: String) { shipSupplierOrder(id: $id, trackingNumber: $t) { ${USER_ERRORS} } }`, {
    id,
    t: tracking,
  });
  expect(shipSupplierOrder.userErrors).toEqual([]);
}

const kinds = (collected: { events: any[] }) => collected.events.map((event) => [event.kind, event.supplierOrder.id]);

describe("supplierOrderChanged", () => {
  it("delivers CREATED when a dropship order is placed, then ACKNOWLEDGED with the acknowledged ship date", async () => {
    const { supplierId, productId } = await dropshipSupplier(5);
    const sub = await subscribe({ supplierId, after: await cursorNow() });
    const { supplierOrderId } = await dropshipOrder(productId);
    await waitFor(() => sub.events.length >= 1, "the CREATED event");
    const [created] = sub.events;
    expect(created).toMatchObject({
      kind: "CREATED",
      status: "OPEN",
      supplierOrder: { id: supplierOrderId, status: "OPEN", customer: "drop@example.com" },
    });
    expect(typeof created.cursor).toBe("string");
    expect(Math.abs(new Date(created.at).getTime() - Date.now())).toBeLessThan(60_000);
    // Until acknowledged, the line is dated by the supplier's lead time.
    const leadTimeDate = new Date(created.supplierOrder.expectedShipAt).getTime();
    expect(leadTimeDate).toBeGreaterThan(daysFromNow(4.9).getTime());

    const shipDate = new Date(Math.floor(daysFromNow(2).getTime() / 1000) * 1000);
    await acknowledge(supplierOrderId, shipDate);
    await waitFor(() => sub.events.length >= 2, "the ACKNOWLEDGED event");
    expect(sub.errors).toEqual([]);
    const acknowledged = sub.events[1];
    expect(acknowledged).toMatchObject({ kind: "ACKNOWLEDGED", status: "ACKNOWLEDGED", supplierOrder: { id: supplierOrderId, status: "ACKNOWLEDGED" } });
    expect(new Date(acknowledged.supplierOrder.expectedShipAt).getTime()).toBe(shipDate.getTime());
    expect(acknowledged.cursor).not.toBe(created.cursor);
  });

  it("delivers REJECTED, SHIPPED and CANCELLED, each with its status and the supplier order as it is", async () => {
    const { supplierId, productId } = await dropshipSupplier(3);
    const sub = await subscribe({ supplierId, after: await cursorNow() });
    const rejected = await dropshipOrder(productId);
    await reject(rejected.supplierOrderId, "out of production");
    const shipped = await dropshipOrder(productId);
    await ship(shipped.supplierOrderId, "TRACK-42");
    const cancelled = await dropshipOrder(productId);
    const { cancelOrder } = await server.data(`mutation($id: ID!) { cancelOrder(id: $id) { ${USER_ERRORS} } }`, { id: cancelled.orderId });
    expect(cancelOrder.userErrors).toEqual([]);

    await waitFor(() => sub.events.length >= 6, "six supplier-order events");
    expect(sub.errors).toEqual([]);
    expect(kinds(sub)).toEqual([
      ["CREATED", rejected.supplierOrderId],
      ["REJECTED", rejected.supplierOrderId],
      ["CREATED", shipped.supplierOrderId],
      ["SHIPPED", shipped.supplierOrderId],
      ["CREATED", cancelled.supplierOrderId],
      ["CANCELLED", cancelled.supplierOrderId],
    ]);
    expect(sub.events.map((event) => event.status)).toEqual(["OPEN", "REJECTED", "OPEN", "SHIPPED", "OPEN", "CANCELLED"]);
    expect(sub.events[1].supplierOrder).toMatchObject({ status: "REJECTED", rejectReason: "out of production" });
    expect(sub.events[3].supplierOrder).toMatchObject({ status: "SHIPPED", trackingNumber: "TRACK-42" });
    expect(sub.events[5].supplierOrder).toMatchObject({ status: "CANCELLED" });
  });

  it("gives a SUPPLIER key its own supplier's changes only; naming another supplier, or an unknown one, receives nothing", async () => {
    const mine = await dropshipSupplier();
    const theirs = await dropshipSupplier();
    const { secret } = await createApiKey(database.db, { name: "live supplier", role: "SUPPLIER", supplierId: mine.supplier.id });
    // The supplier's portal reads its own starting point (eventCursor is open to SUPPLIER keys).
    const after = (await server.data("{ eventCursor }", {}, { key: secret })).eventCursor;
    expect(after).toBe(await cursorNow());
    const own = await subscribe({ after }, secret);
    const named = subscribeOn(own.client, { supplierId: mine.supplierId, after });
    const another = subscribeOn(own.client, { supplierId: theirs.supplierId, after });
    const unknown = subscribeOn(own.client, { supplierId: gid("Supplier", 987_654), after });
    // Everything else is the admin's view of the same changes: the other supplier's interleaved with mine.
    const everything = await subscribe({ after });

    const a = await dropshipOrder(mine.productId, "ann@example.com");
    const b = await dropshipOrder(theirs.productId, "bob@example.com");
    await acknowledge(b.supplierOrderId, daysFromNow(3));
    await acknowledge(a.supplierOrderId, daysFromNow(4));
    await reject(b.supplierOrderId);

    await waitFor(() => everything.events.length >= 5, "every change, for the admin");
    await waitFor(() => own.events.length >= 2 && named.events.length >= 2, "the SUPPLIER key's own changes");
    // Log order: the other supplier's changes came before my last one, so none slipped in.
    expect(kinds(own)).toEqual([
      ["CREATED", a.supplierOrderId],
      ["ACKNOWLEDGED", a.supplierOrderId],
    ]);
    expect(kinds(named)).toEqual(kinds(own));
    // A SUPPLIER key sees whom it ships to.
    expect(own.events[0].supplierOrder.customer).toBe("ann@example.com");
    expect(kinds(everything).filter(([, id]) => id === b.supplierOrderId)).toHaveLength(3);
    // No error that tells another supplier's id from an id of nothing: both are silent.
    for (const silent of [another, unknown]) {
      expect(silent.errors).toEqual([]);
      expect(silent.events).toEqual([]);
    }
    expect(own.errors).toEqual([]);
    expect(named.errors).toEqual([]);
  });

  it("gives a READER key the customer's pseudonym, as supplierOrders does", async () => {
    const { supplierId, productId } = await dropshipSupplier();
    const { secret } = await createApiKey(database.db, { name: "live reader", role: "READER" });
    const sub = await subscribe({ supplierId, after: await cursorNow() }, secret);
    const { supplierOrderId } = await dropshipOrder(productId, "dora@example.com");
    await waitFor(() => sub.events.length >= 1, "the CREATED event");
    expect(sub.errors).toEqual([]);
    const { customer } = sub.events[0].supplierOrder;
    expect(customer).toMatch(/^customer-[0-9a-f]{10}$/);
    expect(JSON.stringify(sub.events)).not.toContain("dora@example.com");
    const listed = await server.data(
      `query($filter: SupplierOrderFilter) { supplierOrders(filter: $filter, first: 5) { nodes { id customer } } }`,
      { filter: { supplierId } },
      { key: secret },
    );
    expect(listed.supplierOrders.nodes).toEqual([{ id: supplierOrderId, customer }]);
  });

  it("lets a SUPPLIER key step back with eventCursor(back:) and replay its own recent changes only", async () => {
    const mine = await dropshipSupplier();
    const theirs = await dropshipSupplier();
    const { secret } = await createApiKey(database.db, { name: "supplier history", role: "SUPPLIER", supplierId: mine.supplier.id });
    const a = await dropshipOrder(mine.productId);
    const b = await dropshipOrder(theirs.productId);
    await acknowledge(b.supplierOrderId, daysFromNow(2));
    // Far enough back to cover both orders and the acknowledgement, whatever else they logged.
    const { eventCursor } = await server.data("{ eventCursor(back: 200) }", {}, { key: secret });
    const history = await subscribe({ after: eventCursor }, secret);
    await waitFor(() => history.events.some((e) => e.supplierOrder.id === a.supplierOrderId), "my order's CREATED, replayed");
    const own = await dropshipOrder(mine.productId);
    await waitFor(() => history.events.some((e) => e.supplierOrder.id === own.supplierOrderId), "a live change after the replay");
    expect(history.errors).toEqual([]);
    expect(history.events.map((e) => e.supplierOrder.id)).not.toContain(b.supplierOrderId);
  });

  it("replays from `after`: every change since the cursor first, then the live ones", async () => {
    const { supplierId, productId } = await dropshipSupplier();
    const start = await cursorNow();
    const first = await dropshipOrder(productId);
    await acknowledge(first.supplierOrderId, daysFromNow(3));

    const replayed = await subscribe({ supplierId, after: start });
    await waitFor(() => replayed.events.length >= 2, "the replayed changes");
    expect(kinds(replayed)).toEqual([
      ["CREATED", first.supplierOrderId],
      ["ACKNOWLEDGED", first.supplierOrderId],
    ]);
    // Resuming after the first event's cursor: the second, then what happens next.
    const resumed = await subscribe({ supplierId, after: replayed.events[0].cursor });
    const second = await dropshipOrder(productId);
    await waitFor(() => resumed.events.length >= 2 && replayed.events.length >= 3, "the live change after the replay");
    expect(kinds(resumed)).toEqual([
      ["ACKNOWLEDGED", first.supplierOrderId],
      ["CREATED", second.supplierOrderId],
    ]);
    expect(kinds(replayed)[2]).toEqual(["CREATED", second.supplierOrderId]);
    expect(replayed.errors).toEqual([]);
    expect(resumed.errors).toEqual([]);
  });

  it("refuses an unknown supplier or a malformed cursor to the other roles: BAD_USER_INPUT, this subscription only", async () => {
    const unknownSupplier = await subscribe({ supplierId: gid("Supplier", 987_654) });
    const badCursor = await subscribe({ after: "not-a-cursor" });
    await Promise.all([unknownSupplier.ended, badCursor.ended]);
    for (const refused of [unknownSupplier, badCursor]) {
      expect(refused.events).toEqual([]);
      expect(refused.errors).toMatchObject([{ extensions: { code: "BAD_USER_INPUT" } }]);
      expect(refused.closed).toBeNull();
    }
  });
});

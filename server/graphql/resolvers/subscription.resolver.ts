/**
 * The live subscriptions (docs/ARCHITECTURE.md, "Events and live updates" and "The GraphQL contract"), served over graphql-ws. Each reads the
 * instance's event hub: the events after `after` from the log first, then live ones, each once.
 * Bad arguments (a malformed or unknown cursor, an unknown id) fail this subscription only, and
 * so does a cursor whose following events were pruned (CURSOR_EXPIRED, see CursorExpiredError).
 */
import "reflect-metadata";
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import {
  BacklogChange,
  type ChangeReason,
  OrderChange,
  type OrderChangeKind,
  RestockChange,
  type RestockChangeKind,
  StockChange,
  SupplierOrderChange,
  type SupplierOrderChangeKind,
} from "../../../schema/subscription.type.js";
import { READ, refuseCustomerFilter, SUPPLIER_ORDER_READS } from "../auth-checker.js";
import { type Context, refreshLoaders } from "../context.js";
import { fromEventCursor, toEventCursor } from "../../services/event-cursor.js";
import { decodeId, type NodeTypeName } from "../node-id.js";
import { type LoggedEvent, latestSeq, MAX_EVENTS_BACK, positionBack, stampEvents } from "../../services/event-log.service.js";
import { ordersByIds } from "../../services/order.query.js";
import { productsByIds } from "../../services/product.query.js";
import { restocksByIds } from "../../services/restock.query.js";
import { supplierOrdersByIds } from "../../services/supplier-order.query.js";
import { suppliersByIds } from "../../services/supplier.query.js";
import type { EventType, OrderStatus, StockSnapshot, SupplierOrderStatus } from "../../services/types.js";
import { badUserInput, checkLength } from "./connection.js";
import { supplierScopeOf } from "./supplier-order.resolver.js";

const MAX_IDS = 1000;

interface SubscribeData<TArgs> {
  args: TArgs;
  context: Context;
}

/** Decodes subscription ids of one type, refusing malformed and unknown ones. */
async function existingIds(
  ids: string[] | null | undefined,
  type: NodeTypeName,
  argument: string,
  exists: (ids: number[]) => Promise<unknown[]>,
): Promise<Set<number> | null> {
  if (!ids) return null;
  if (ids.length > MAX_IDS) throw badUserInput(`${argument} takes at most ${MAX_IDS} ids`, argument);
  const decoded = ids.map((id) => {
    const dbId = decodeId(id, type);
    if (dbId === null) throw badUserInput(`${argument}: ${JSON.stringify(id).slice(0, 80)} is not a ${type} id`, argument);
    return dbId;
  });
  const found = await exists(decoded);
  const missing = decoded.filter((_, i) => !found[i]);
  if (missing.length > 0) throw badUserInput(`${argument}: no ${type} with id ${ids[decoded.indexOf(missing[0])]}`, argument);
  return new Set(decoded);
}

/** The position a cursor names, refusing malformed cursors and cursors from beyond this log. */
async function cursorPosition(context: Context, after: string | null | undefined): Promise<number | undefined> {
  if (after === undefined || after === null) return undefined;
  const seq = fromEventCursor(after);
  if (seq === null) throw badUserInput("after is not an event cursor of this server", "after");
  if (seq > (await latestSeq(context.db))) throw badUserInput("after is ahead of the event log: not a cursor of this server", "after");
  return seq;
}

function liveEvents(
  context: Context,
  type: EventType,
  accepts: (event: LoggedEvent) => boolean,
  after: number | undefined,
): Promise<AsyncIterableIterator<LoggedEvent>> {
  if (!context.liveEvents) throw badUserInput("subscriptions are served over WebSocket (graphql-transport-ws) at this path");
  return context.liveEvents((event) => event.type === type && accepts(event), after);
}

async function productEvents(type: EventType, { args, context }: SubscribeData<{ productIds?: string[] | null; after?: string | null }>) {
  const ids = await existingIds(args.productIds, "Product", "productIds", (dbIds) => productsByIds(context.db, dbIds));
  const after = await cursorPosition(context, args.after);
  return liveEvents(context, type, (event) => !ids || ids.has(event.productId!), after);
}

/**
 * The object an event is about, read once per event on this instance however many subscribers
 * ask for it, and only when one does: every subscriber of an event shares the same event object.
 */
const linkedObjects = new WeakMap<LoggedEvent, Map<string, Promise<unknown>>>();
function linked<T>(event: LoggedEvent, kind: string, load: () => Promise<T>): Promise<T> {
  let loaded = linkedObjects.get(event);
  if (!loaded) linkedObjects.set(event, (loaded = new Map()));
  let object = loaded.get(kind) as Promise<T> | undefined;
  if (!object) loaded.set(kind, (object = load()));
  return object;
}

/** Per event: fresh loaders for the fields below the linked object, read as they are now. */
function eventContext(context: Context): Context {
  refreshLoaders(context);
  return context;
}

const oneOf = <T>(rows: Promise<(T | null)[]>) => rows.then((found) => found[0] ?? null);

/**
 * What every delivered event has (its cursor and time) plus `fields`, and a lazily read `name`:
 * the object the event links to, read once per event and only when selected. The caller's loaders
 * are refreshed, so what is selected below that object is read as it is now.
 */
function logEntry<T extends object>(
  event: LoggedEvent,
  context: Context,
  fields: T,
  link: { name: string; load: (db: Context["db"]) => Promise<unknown> },
) {
  eventContext(context);
  const entry = { cursor: toEventCursor(event.seq), at: event.at, ...fields };
  return Object.defineProperty(entry, link.name, {
    enumerable: true,
    get: () => linked(event, link.name, () => link.load(context.db)),
  });
}

const productLink = (event: LoggedEvent) => ({ name: "product", load: (db: Context["db"]) => oneOf(productsByIds(db, [event.productId!])) });
const productFields = (event: LoggedEvent) => ({
  reason: event.payload.reason as ChangeReason,
  productVersion: event.productVersion,
});

const dateOrNull = (value: unknown) => (typeof value === "string" ? new Date(value) : null);

/**
 * The supplier whose events a supplierOrderChanged subscription receives, null for every one. A
 * SUPPLIER key's is its own whatever `supplierId` says: naming another supplier (or anything but
 * its own id) subscribes to nothing, -1 matching no event, the answer for an id of nothing, so ids
 * tell it nothing (docs/ARCHITECTURE.md, "Dropship"). The other roles' unknown ids are refused,
 * as the other subscriptions refuse theirs.
 */
async function subscribedSupplier(context: Context, supplierId: string | null | undefined): Promise<number | null> {
  const scope = supplierScopeOf(context).supplierId ?? null;
  if (supplierId === undefined || supplierId === null) return scope;
  if (scope !== null) return decodeId(supplierId, "Supplier") === scope ? scope : -1;
  const [named] = (await existingIds([supplierId], "Supplier", "supplierId", (dbIds) => suppliersByIds(context.db, dbIds)))!;
  return named;
}

@Resolver()
export class SubscriptionResolver {
  // SUPPLIER too: a supplier's portal loads its orders, then subscribes to supplierOrderChanged
  // after this cursor. A position in the log says nothing about what is in it, and whatever a
  // cursor replays passes the subscription's own filter (its supplier's orders only).
  @Authorized(...SUPPLIER_ORDER_READS)
  @Query(() => String, {
    description:
      "The cursor of the newest event in the log. Read it before you load a snapshot, then subscribe with `after` set to it: you miss nothing that happens after the snapshot. " +
      `With \`back\` (at most ${MAX_EVENTS_BACK}), the cursor that many events earlier (never before the oldest event kept): subscribing after it replays the last \`back\` events first, e.g. to show recent history.`,
  })
  async eventCursor(
    @Ctx() context: Context,
    @Arg("back", () => Int, { nullable: true, description: "How many events back from the newest; 0 or null: the newest." }) back?: number | null,
  ): Promise<string> {
    if (back !== undefined && back !== null && (back < 0 || back > MAX_EVENTS_BACK)) {
      throw badUserInput(`back must be between 0 and ${MAX_EVENTS_BACK}`, "back");
    }
    // Everything committed before this call gets its position first, so the cursor covers it.
    await stampEvents(context.db, { wait: true });
    return toEventCursor(back ? await positionBack(context.db, back) : await latestSeq(context.db));
  }

  @Authorized(...READ)
  @Subscription(() => StockChange, {
    description:
      "A product's stock changed. Give `after` (a cursor received earlier) to receive every event since it first. " +
      "Events older than the server's retention are pruned: a cursor from before them fails with CURSOR_EXPIRED (load a snapshot, then subscribe after `eventCursor`).",
    subscribe: (data: SubscribeData<{ productIds?: string[] | null; after?: string | null }>) => productEvents("STOCK_CHANGED", data),
  })
  async stockChanged(
    @Root() event: LoggedEvent,
    @Ctx() context: Context,
    @Arg("productIds", () => [ID], { nullable: true }) _productIds?: string[] | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ) {
    const stock = event.payload.stock as StockSnapshot;
    const snapshot = { ...stock, productId: event.productId, nextRestockAt: dateOrNull(stock.nextRestockAt) };
    return logEntry(event, context, { ...productFields(event), stock: snapshot }, productLink(event));
  }

  @Authorized(...READ)
  @Subscription(() => BacklogChange, {
    description: "A product's backlog changed: units and orders waiting, and when the first in line expects its units.",
    subscribe: (data: SubscribeData<{ productIds?: string[] | null; after?: string | null }>) => productEvents("BACKLOG_CHANGED", data),
  })
  async backlogChanged(
    @Root() event: LoggedEvent,
    @Ctx() context: Context,
    @Arg("productIds", () => [ID], { nullable: true }) _productIds?: string[] | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ) {
    return logEntry(
      event,
      context,
      {
        ...productFields(event),
        backordered: event.payload.backordered as number,
        waitingOrders: event.payload.waitingOrders as number,
        nextExpectedAt: dateOrNull(event.payload.nextExpectedAt),
      },
      productLink(event),
    );
  }

  @Authorized(...READ)
  @Subscription(() => RestockChange, {
    description: "A restock of these products was scheduled, moved, received or cancelled.",
    subscribe: (data: SubscribeData<{ productIds?: string[] | null; after?: string | null }>) => productEvents("RESTOCK_CHANGED", data),
  })
  async restockChanged(
    @Root() event: LoggedEvent,
    @Ctx() context: Context,
    @Arg("productIds", () => [ID], { nullable: true }) _productIds?: string[] | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ) {
    return logEntry(
      event,
      context,
      {
        kind: event.payload.kind as RestockChangeKind,
        filledUnits: event.payload.filledUnits as number,
      },
      { name: "restock", load: (db) => oneOf(restocksByIds(db, [event.restockId!])) },
    );
  }

  @Authorized(...READ)
  @Subscription(() => OrderChange, {
    description: "These orders (or every order of `customer`, or all orders) changed.",
    subscribe: async ({ args, context }: SubscribeData<{ orderIds?: string[] | null; customer?: string | null; after?: string | null }>) => {
      checkLength(args.customer, 200, "customer");
      refuseCustomerFilter(context, args.customer, "customer");
      const ids = await existingIds(args.orderIds, "Order", "orderIds", (dbIds) => ordersByIds(context.db, dbIds));
      const after = await cursorPosition(context, args.after);
      const customer = args.customer ?? null;
      return liveEvents(
        context,
        "ORDER_CHANGED",
        (event) => (!ids || ids.has(event.orderId!)) && (customer === null || event.payload.customer === customer),
        after,
      );
    },
  })
  async orderChanged(
    @Root() event: LoggedEvent,
    @Ctx() context: Context,
    @Arg("orderIds", () => [ID], { nullable: true }) _orderIds?: string[] | null,
    @Arg("customer", () => String, { nullable: true }) _customer?: string | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ) {
    return logEntry(
      event,
      context,
      {
        kind: event.payload.kind as OrderChangeKind,
        status: event.payload.status as OrderStatus,
      },
      { name: "order", load: (db) => oneOf(ordersByIds(db, [event.orderId!])) },
    );
  }

  @Authorized(...SUPPLIER_ORDER_READS)
  @Subscription(() => SupplierOrderChange, {
    description:
      "Supplier orders (of `supplierId`, or of every supplier) were opened, acknowledged, shipped, rejected or cancelled. " +
      "A SUPPLIER key receives its own supplier's only (a `supplierId` of another supplier receives nothing); a READER key sees customers' pseudonyms, as on supplierOrders.",
    subscribe: async ({ args, context }: SubscribeData<{ supplierId?: string | null; after?: string | null }>) => {
      const supplierId = await subscribedSupplier(context, args.supplierId);
      const after = await cursorPosition(context, args.after);
      return liveEvents(context, "SUPPLIER_ORDER_CHANGED", (event) => supplierId === null || event.payload.supplierId === supplierId, after);
    },
  })
  async supplierOrderChanged(
    @Root() event: LoggedEvent,
    @Ctx() context: Context,
    @Arg("supplierId", () => ID, { nullable: true }) _supplierId?: string | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ) {
    return logEntry(
      event,
      context,
      {
        kind: event.payload.kind as SupplierOrderChangeKind,
        status: event.payload.status as SupplierOrderStatus,
      },
      // Read once per event for every subscriber of this instance: no per-key check here, the
      // feed (subscribe above) is what keeps a SUPPLIER key to its own supplier's events.
      { name: "supplierOrder", load: (db) => oneOf(supplierOrdersByIds(db, [event.payload.supplierOrderId as number])) },
    );
  }
}

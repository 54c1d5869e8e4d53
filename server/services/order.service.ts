/**
 * Orders: placing them (allocate what is free, queue the rest), cancelling, shipping
 * (docs/ARCHITECTURE.md, "The rules"). Each call is one transaction that locks its products in id order.
 */
import { createHash } from "node:crypto";
import { and, eq, getTableName, isNull, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { type Database, type Executor, rows, schema } from "../../drizzle/db.js";
import { settleBacklog } from "./backlog.service.js";
import { orderStatusOf, refreshOrderStatuses } from "./order-status.js";
import { queueOutlooks, recomputeEta } from "./eta.service.js";
import { type FreeLevel, needsOutlook, planLine } from "./order-plan.js";
import { recordOrderChanges, recordProductChanges } from "./event.service.js";
import { cancelOpenSupplierOrders, openSupplierOrders } from "./dropship-lines.js";
import { type RecordedRefund, recordRefunds } from "./refund.service.js";
import { toRecord } from "../../drizzle/paging.js";
import { allocationOrder, freeStock } from "./location.query.js";
import { lockProducts } from "./product.service.js";
import { intArray, jsonb, name, names } from "../../drizzle/sql.js";
import { inTransaction } from "../../drizzle/transaction.js";
import type { RefundReason } from "../../drizzle/contract.js";
import {
  type ChangeReason,
  DomainError,
  type Issue,
  type OrderChangeKind,
  type OrderRecord,
  type PlaceOrderInput,
  type PlaceOrderResult,
  type ProductRecord,
  refuse,
} from "./types.js";
import { Checks, LIMITS, MAX_AMOUNT_CENTS, requireId, toCents } from "./validation.js";

const { allocations, backorders, idempotencyKeys, locations, lostDemand, orderLines, orders, products, stockLevels, stockMovements } = schema;

interface RequestedLine {
  productId?: number;
  sku?: string;
  quantity: number;
}

interface PlannedLine {
  lineNumber: number;
  product: ProductRecord;
  quantity: number;
  allocations: { locationId: number; quantity: number }[];
  waiting: number;
}

interface LostUnits {
  productId: number;
  quantity: number;
  code: Issue["code"];
}

function checkPlaceOrder(input: PlaceOrderInput) {
  const checks = new Checks(["input"]);
  const customer = checks.text(input.customer, ["customer"], LIMITS.customer);
  const idempotencyKey = checks.text(input.idempotencyKey, ["idempotencyKey"], LIMITS.idempotencyKey, { optional: true });
  const allowPartial = input.allowPartial ?? true;
  if (typeof allowPartial !== "boolean") checks.fail(["allowPartial"], "allowPartial must be true or false");
  const lines: RequestedLine[] = [];
  if (!Array.isArray(input.lines) || input.lines.length === 0) {
    checks.fail(["lines"], "an order needs at least one line");
  } else if (input.lines.length > LIMITS.lines) {
    checks.fail(["lines"], `an order has at most ${LIMITS.lines} lines`);
  } else {
    input.lines.forEach((line, i) => {
      const at = ["lines", String(i)];
      const quantity = checks.int(line?.quantity, [...at, "quantity"], 1, LIMITS.quantity);
      const hasId = line?.productId !== undefined && line?.productId !== null;
      const hasSku = line?.sku !== undefined && line?.sku !== null;
      if (hasId === hasSku) return checks.fail(at, "a line names its product by productId or by sku, not both");
      const sku = hasSku ? checks.text(line.sku, [...at, "sku"], LIMITS.sku) : undefined;
      if (quantity !== undefined && (hasId || sku)) lines.push({ productId: line.productId ?? undefined, sku, quantity });
    });
  }
  checks.throwIfAny();
  const idempotencyScope = input.idempotencyScope ?? null;
  return { customer: customer!, lines, allowPartial: allowPartial as boolean, idempotencyKey, idempotencyScope };
}

/**
 * Places an order in one transaction. Each line takes what is free (locations by ascending
 * priority, split when needed); the rest waits at the end of the product's queue under ALLOW, or
 * is refused under DENY. With `allowPartial` (the default) a refused line is cut to what can be
 * had and its issue returned with the order; without it, any issue refuses the whole order.
 * An idempotency key replays the first result for the same input, also when two requests race;
 * keys are scoped per `idempotencyScope` (the API key), so two callers' same string are two orders.
 * Refused units are recorded as lost demand even when the order is refused, once per idempotency key.
 * INVALID_INPUT, before anything is written, for an order the database cannot hold: a total past
 * numeric(14,2), or a product's waiting units or orders past integer range.
 */
export async function placeOrder(db: Database, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const request = checkPlaceOrder(input);
  const requestHash = createHash("sha256")
    .update(JSON.stringify([request.customer, request.lines, request.allowPartial]))
    .digest("hex");
  let lost: LostUnits[] = [];
  try {
    return await inTransaction(db, async (tx) => {
      lost = [];
      if (request.idempotencyKey) {
        const replay = await claimIdempotencyKey(tx, request.idempotencyKey, request.idempotencyScope, requestHash);
        if (replay) return replay;
      }
      const plan = await planOrder(tx, request, lost);
      const order = await writeOrder(tx, plan.orderId, request.customer, plan.lines);
      if (lost.length > 0) await recordLostDemand(tx, lost, request.idempotencyKey, request.idempotencyScope);
      if (request.idempotencyKey) {
        const scope = request.idempotencyScope;
        await tx
          .update(idempotencyKeys)
          .set({ orderId: order.id, issues: jsonb(plan.issues) })
          .where(
            and(eq(idempotencyKeys.key, request.idempotencyKey), scope === null ? isNull(idempotencyKeys.apiKeyId) : eq(idempotencyKeys.apiKeyId, scope)),
          );
      }
      return { order, issues: plan.issues, replayed: false };
    });
  } catch (error) {
    if (error instanceof DomainError && lost.length > 0) {
      await inTransaction(db, (tx) => recordLostDemand(tx, lost, request.idempotencyKey, request.idempotencyScope));
    }
    throw error;
  }
}

/**
 * Inserts the key in the caller's scope, or finds the first request's. A second request with the
 * key waits on the first's uncommitted row and then sees it, so racing duplicates replay instead
 * of double-placing.
 *
 * Rows written before keys were scoped (migration 0006) have no scope (api_key_id NULL) and we
 * cannot tell which API key sent them, so every caller also matches them: a client retrying
 * across the upgrade still gets its replay, and no new row is claimed next to such a row. Its own
 * row wins when both exist. Callers without an API key are the NULL scope themselves.
 */
async function claimIdempotencyKey(tx: Executor, key: string, scope: number | null, requestHash: string): Promise<PlaceOrderResult | null> {
  const k = idempotencyKeys;
  // One statement, as before scoping: the pre-0006 row is committed, so looking for it cannot race.
  const claimed = await rows<{ key: string }>(
    tx,
    sql`
    INSERT INTO ${k} (${names(k.key, k.apiKeyId, k.requestHash)})
    SELECT ${key}::text, ${scope}::int, ${requestHash}::text
    WHERE NOT EXISTS (SELECT 1 FROM ${k} WHERE ${k.key} = ${key} AND ${k.apiKeyId} IS NULL)
    ON CONFLICT DO NOTHING
    RETURNING ${k.key}`,
  );
  if (claimed.length > 0) return null;
  const [prior] = await tx
    .select()
    .from(k)
    .where(and(eq(k.key, key), sql`(${k.apiKeyId} = ${scope}::int OR ${k.apiKeyId} IS NULL)`))
    .orderBy(sql`${k.apiKeyId} NULLS LAST`)
    .limit(1);
  if (!prior || prior.requestHash !== requestHash || prior.orderId === null) {
    refuse("IDEMPOTENCY_KEY_REUSED", "this idempotency key was used for a different order", ["input", "idempotencyKey"]);
  }
  const [order] = await tx.select().from(orders).where(eq(orders.id, prior.orderId));
  const issues = (typeof prior.issues === "string" ? JSON.parse(prior.issues) : prior.issues) as Issue[];
  return { order, issues, replayed: true };
}

/**
 * Locks the order's products and reads their free stock. Three statements sent together, one round
 * trip (postgres.js pipelines a transaction's statements): the order's id reserved, the products
 * named by id or sku locked in id order, then their free stock, read by a statement that starts only
 * once the locks are held, so it sees what the last holder committed.
 */
async function planOrder(tx: Executor, request: ReturnType<typeof checkPlaceOrder>, lost: LostUnits[]) {
  const checks = new Checks(["input"]);
  const where = (i: number) => ["lines", String(i), request.lines[i].sku ? "sku" : "productId"];
  const ids: number[] = [];
  const skus: string[] = [];
  const impossible = new Set<number>();
  request.lines.forEach((line, i) => {
    if (line.sku) return skus.push(line.sku);
    const id = line.productId;
    if (typeof id === "number" && Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647) ids.push(id);
    else impossible.add(i);
  });
  const named = sql`${products.id} = ANY(${intArray(ids)}) OR ${products.sku} IN (SELECT jsonb_array_elements_text(${jsonb(skus)}))`;
  // All three through `rows`, the same path to the driver: they reach the connection in this order.
  const [[reserved], lockedRows, free] = await Promise.all([
    rows<{ id: number }>(tx, sql`SELECT nextval(pg_get_serial_sequence(${getTableName(orders)}, 'id'))::int AS id`),
    rows<Record<string, unknown>>(tx, sql`SELECT * FROM ${products} WHERE ${named} ORDER BY ${products.id} FOR UPDATE`),
    rows<{ product_id: number; location_id: number; free: number }>(tx, freeStock(sql`SELECT ${products.id} FROM ${products} WHERE ${named}`)),
  ]);
  const locked = lockedRows.map((row) => toRecord(products, row));
  const byId = new Map(locked.map((product) => [product.id, product]));
  const bySku = new Map(locked.map((product) => [product.sku, product]));
  const seen = new Set<number>();
  const productIds = request.lines.map((line, i) => {
    const product = impossible.has(i) ? undefined : line.sku ? bySku.get(line.sku) : byId.get(line.productId!);
    if (!product) checks.fail(where(i), "product not found", "NOT_FOUND");
    else if (seen.has(product.id)) checks.fail(["lines", String(i)], "each product may appear in one line only; add the quantities");
    if (product) seen.add(product.id);
    return product?.id;
  });
  checks.throwIfAny();
  if (new Set(locked.map((product) => product.currencyCode)).size > 1) {
    refuse("INVALID_INPUT", "an order's products must share one currency", ["input", "lines"]);
  }

  const freeOf = (productId: number): FreeLevel[] =>
    free.filter((level) => level.product_id === productId).map((level) => ({ locationId: Number(level.location_id), free: level.free }));
  // A wait cap needs the queue's outlook: one more statement, only for capped products that would wait.
  const capped = request.lines
    .map((line, i) => byId.get(productIds[i]!)!)
    .filter((product, i) => needsOutlook(product, freeOf(product.id), request.lines[i].quantity));
  const outlooks = await queueOutlooks(
    tx,
    capped.map((product) => product.id),
  );
  const issues: Issue[] = [];
  const lines: PlannedLine[] = [];
  request.lines.forEach((line, i) => {
    const product = byId.get(productIds[i]!)!;
    const at = ["input", "lines", String(i), "quantity"];
    const plan = planLine(product, freeOf(product.id), line.quantity, outlooks.get(product.id) ?? null);
    if (plan.rejected) return checks.fail(["lines", String(i), "quantity"], plan.rejected.message, plan.rejected.code);
    for (const cut of plan.cuts) {
      issues.push({ code: cut.code, message: cut.message, field: at });
      lost.push({ productId: product.id, quantity: cut.units, code: cut.code });
    }
    const quantity = plan.allocations.reduce((sum, a) => sum + a.quantity, 0) + plan.waiting;
    if (quantity > 0) lines.push({ lineNumber: i + 1, product, quantity, allocations: plan.allocations, waiting: plan.waiting });
  });
  if (orderTotalCents(lines) > MAX_AMOUNT_CENTS) {
    checks.fail(["lines"], `the order's total must be at most ${formatCents(MAX_AMOUNT_CENTS)}`);
  }
  // An order refused for its quantities never reached the stock question: no demand was lost.
  if (checks.issues.length > 0) lost.length = 0;
  checks.throwIfAny();
  if (issues.length > 0 && (!request.allowPartial || lines.length === 0)) throw new DomainError(issues);
  return { orderId: Number(reserved.id), lines, issues };
}

/** The order's total in exact cents (a Number loses cents past 2^53, which 100 lines at the top price pass). */
function orderTotalCents(lines: PlannedLine[]): bigint {
  return lines.reduce((sum, line) => sum + toCents(line.product.price) * BigInt(line.quantity), 0n);
}

function formatCents(cents: bigint): string {
  return `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
}

/** Writes the order, its lines, allocations, backorders and stock changes in one statement, then dates the new backorders. */
async function writeOrder(tx: Executor, orderId: number, customer: string, lines: PlannedLine[]): Promise<OrderRecord> {
  const lineRows = lines.map((line) => ({
    line_number: line.lineNumber,
    product_id: line.product.id,
    quantity: line.quantity,
    unit_price: line.product.price,
    allocated: line.quantity - line.waiting,
    waiting: line.waiting,
  }));
  const allocationRows = lines.flatMap((line) =>
    line.allocations.map((a) => ({ line_number: line.lineNumber, product_id: line.product.id, location_id: a.locationId, quantity: a.quantity })),
  );
  // A new order has nothing shipped or cancelled yet: its status is what its lines' waiting units say.
  const status = orderStatusOf({ quantity: sql`sum(quantity)`, cancelled: sql`0`, shipped: sql`0`, waiting: sql`sum(waiting)` });
  const st = alias(stockLevels, "st");
  const p = alias(products, "p");
  const productIds = lines.map((line) => line.product.id);
  // A dropship line waits at its supplier, not in the backlog ("Dropship"): no backorder, no
  // counter. Orders without one send the statement exactly as before.
  const dropshipIds = lines.filter((line) => line.product.fulfillment === "DROPSHIP").map((line) => line.product.id);
  const stockedOnly = (productId: SQL) => (dropshipIds.length === 0 ? sql`` : sql` AND NOT (${productId} = ANY(${intArray(dropshipIds)}))`);
  const writing = rows<Record<string, unknown> & { id: number; backorder_id: number | null; backorder_product_id: number | null }>(
    tx,
    sql`
    WITH requested AS (
      SELECT * FROM jsonb_to_recordset(${jsonb(lineRows)})
        AS r(line_number int, product_id int, quantity int, unit_price numeric, allocated int, waiting int)
    ), new_order AS (
      INSERT INTO ${orders} (${names(orders.id, orders.customer, orders.status, orders.total, orders.currencyCode)}) OVERRIDING SYSTEM VALUE
      VALUES (${orderId}::int, ${customer}, (SELECT ${status} FROM requested), ${formatCents(orderTotalCents(lines))}::numeric, ${lines[0].product.currencyCode})
      RETURNING *
    ), new_lines AS (
      INSERT INTO ${orderLines} (${names(orderLines.orderId, orderLines.productId, orderLines.lineNumber, orderLines.quantity, orderLines.unitPrice, orderLines.allocated, orderLines.waiting)})
      SELECT new_order.id, product_id, line_number, quantity, unit_price, allocated, waiting
      FROM new_order, requested ORDER BY line_number
      RETURNING ${orderLines.id}, ${orderLines.orderId}, ${orderLines.productId}, ${orderLines.lineNumber}, ${orderLines.waiting}
    ), split AS (
      SELECT * FROM jsonb_to_recordset(${jsonb(allocationRows)})
        AS a(line_number int, product_id int, location_id int, quantity int)
    ), new_allocations AS (
      INSERT INTO ${allocations} (${names(allocations.orderLineId, allocations.locationId, allocations.productId, allocations.quantity)})
      SELECT l.id, s.location_id, s.product_id, s.quantity FROM split s JOIN new_lines l USING (line_number)
    ), stock AS (
      UPDATE ${stockLevels} ${st} SET ${name(st.allocated)} = ${st.allocated} + t.quantity, ${name(st.updatedAt)} = now()
      FROM (SELECT product_id, location_id, sum(quantity)::int AS quantity FROM split GROUP BY 1, 2) t
      WHERE ${st.productId} = t.product_id AND ${st.locationId} = t.location_id
    ), backlog AS (
      UPDATE ${products} ${p} SET ${name(p.backordered)} = ${p.backordered} + r.waiting, ${name(p.waitingOrders)} = ${p.waitingOrders} + 1
      FROM requested r WHERE ${p.id} = r.product_id AND r.waiting > 0${stockedOnly(sql`r.product_id`)}
    ), new_backorders AS (
      -- Stamped when it joins the queue, under the product's lock (clock_timestamp(), not the
      -- transaction's start): queue order and createdAt then agree however transactions overlap.
      INSERT INTO ${backorders} (${names(backorders.productId, backorders.orderId, backorders.orderLineId, backorders.quantity, backorders.remaining, backorders.createdAt)})
      SELECT product_id, order_id, id, waiting, waiting, clock_timestamp() FROM new_lines WHERE waiting > 0${stockedOnly(sql`product_id`)} ORDER BY product_id
      RETURNING ${backorders.id}, ${backorders.orderId}, ${backorders.productId}
    )
    SELECT o.*, b.id AS backorder_id, b.product_id AS backorder_product_id
    FROM new_order o LEFT JOIN new_backorders b ON true
  `,
  );
  const placed = () => recordProductChanges(tx, productIds, "ORDER_PLACED", { ids: [orderId], kind: "PLACED" });
  if (lines.every((line) => line.waiting === 0)) {
    // Nothing waits, so nothing is dated: the events go with the write, in the same round trip.
    const [created] = await Promise.all([writing, placed()]);
    return toRecord(orders, created[0]);
  }
  const created = await writing;
  const delayedOrderIds = new Set<number>();
  for (const row of created) {
    if (row.backorder_id === null) continue;
    const backorderId = Number(row.backorder_id);
    // A new backorder (priority 0) is dated from its place on; those ahead of it keep their dates.
    const dated = await recomputeEta(tx, Number(row.backorder_product_id), {
      from: { priority: 0, id: backorderId },
      promise: [backorderId],
      deferDelayedEvents: true,
    });
    for (const id of dated.delayedOrderIds) delayedOrderIds.add(id);
  }
  await placed();
  if (dropshipIds.length > 0) await openSupplierOrders(tx, orderId);
  // An order is PLACED before anything happens to it: a backorder late from its first moment (its
  // restock's date has passed) is announced after that, as are the orders this one pushed back.
  await recordOrderChanges(tx, { ids: [...delayedOrderIds], kind: "DELAYED" });
  return toRecord(orders, created[0]);
}

/**
 * Records refused units; a retry of the same request (same idempotency key from the same API key)
 * adds nothing. A retry across the upgrade that scoped keys (0006) counts once more: lost demand is
 * a metric, not worth a lookup on every refusal.
 */
async function recordLostDemand(tx: Executor, lost: LostUnits[], idempotencyKey: string | undefined, scope: number | null) {
  await tx.execute(sql`
    INSERT INTO ${lostDemand} (${names(lostDemand.productId, lostDemand.quantity, lostDemand.code, lostDemand.idempotencyKey, lostDemand.apiKeyId)})
    SELECT product_id, quantity, code, ${idempotencyKey ?? null}::text, ${idempotencyKey ? scope : null}::int
    FROM jsonb_to_recordset(${jsonb(lost.map((l) => ({ product_id: l.productId, quantity: l.quantity, code: l.code })))})
      AS l(product_id int, quantity int, code text)
    ON CONFLICT DO NOTHING`);
}

/**
 * Locks an order for a change: its products first (id order, like every other operation), then
 * the order row. NOT_FOUND when there is no such order.
 */
export async function lockOrder(tx: Executor, id: number, field: string[]): Promise<OrderRecord> {
  const productIds = await tx.selectDistinct({ id: orderLines.productId }).from(orderLines).where(eq(orderLines.orderId, id));
  await lockProducts(
    tx,
    productIds.map((row) => row.id),
  );
  const [order] = await tx.select().from(orders).where(eq(orders.id, id)).for("update");
  if (!order) refuse("NOT_FOUND", "order not found", field);
  return order;
}

/** Units of one order line to cancel. */
export interface Release {
  orderId: number;
  lineId: number;
  /** Waiting units to cancel. */
  waiting: number;
  /** Allocated units to cancel (released to the backlog). */
  allocated: number;
}

/** A cancellation's order, as it is after it, and the refund the cancelled units are owed. */
export interface Cancellation {
  order: OrderRecord;
  refund: RecordedRefund;
}

/** Why units are cancelled: the refund's reason, the products' change reason and the orders' change kind. */
export interface CancelCause {
  refund: RefundReason;
  change: ChangeReason;
  kind: OrderChangeKind;
}

/** A customer's (or an operator's) cancellation: cancelOrder, cancelOrderLine. */
const CANCELLED: CancelCause = { refund: "CANCELLED", change: "ORDER_CANCELLED", kind: "CANCELLED" };

/**
 * Cancels units of order lines, of one order or of many, in one statement: waiting units leave
 * their backorders, allocated units are released (from the least preferred location first). The
 * customer paid for every unit, so the same round trip records their refunds, one per order, for
 * `cause.refund` (docs/ARCHITECTURE.md, "Refunds"). Then every product that got units back fills
 * its backlog, every queue that lost units is re-dated from the first place it lost, the orders'
 * statuses are refreshed and their events written (`cause.kind`, each naming its refund). The
 * caller holds the lines' products' locks, and at most one release names a line. Returns the
 * refunds in order id order.
 */
export async function cancelUnits(tx: Executor, releases: readonly Release[], cause: CancelCause = CANCELLED): Promise<RecordedRefund[]> {
  const a = alias(allocations, "a");
  const s = alias(stockLevels, "s");
  const l = alias(orderLines, "l");
  const b = alias(backorders, "b");
  const p = alias(products, "p");
  const orderIds = [...new Set(releases.map((r) => r.orderId))].sort((a, b) => a - b);
  // All three through `rows`, the same path to the driver: they reach the connection in this order.
  // The refunds read only the lines' unit prices, which the cancellation does not change; the
  // dropship lines' open supplier orders are cancelled after the lines ("Dropship").
  const [touched, refunds] = await Promise.all([
    rows<{ product_id: number; released: number; priority: number | null; backorder_id: number | null }>(
      tx,
      sql`
    WITH req AS (
      SELECT * FROM jsonb_to_recordset(${jsonb(releases.map((r) => ({ line_id: r.lineId, waiting: r.waiting, allocated: r.allocated })))})
        AS r(line_id int, waiting int, allocated int)
    ), open AS (
      SELECT ${a.orderLineId}, ${a.locationId}, ${a.productId}, ${a.quantity}, r.allocated AS to_release,
             sum(${a.quantity}) OVER (PARTITION BY ${a.orderLineId} ORDER BY ${allocationOrder(locations, "release")}) - ${a.quantity} AS before
      FROM ${allocations} ${a} JOIN req r ON r.line_id = ${a.orderLineId} JOIN ${locations} ON ${locations.id} = ${a.locationId}
      WHERE ${a.quantity} > 0 AND r.allocated > 0
    ), released AS (
      SELECT order_line_id, location_id, product_id, least(quantity, greatest(0, to_release - before))::int AS quantity
      FROM open WHERE to_release - before > 0
    ), allocations_left AS (
      UPDATE ${allocations} ${a} SET ${name(a.quantity)} = ${a.quantity} - r.quantity, ${name(a.updatedAt)} = now()
      FROM released r WHERE ${a.orderLineId} = r.order_line_id AND ${a.locationId} = r.location_id
    ), stock AS (
      UPDATE ${stockLevels} ${s} SET ${name(s.allocated)} = ${s.allocated} - t.quantity, ${name(s.updatedAt)} = now()
      FROM (SELECT product_id, location_id, sum(quantity)::int AS quantity FROM released GROUP BY 1, 2) t
      WHERE ${s.productId} = t.product_id AND ${s.locationId} = t.location_id
    ), lines AS (
      UPDATE ${orderLines} ${l}
      SET ${name(l.waiting)} = ${l.waiting} - r.waiting, ${name(l.allocated)} = ${l.allocated} - r.allocated,
          ${name(l.cancelled)} = ${l.cancelled} + r.waiting + r.allocated
      FROM req r WHERE ${l.id} = r.line_id
      RETURNING ${l.id}, ${l.productId}
    ), left_queue AS (
      UPDATE ${backorders} ${b}
      SET ${name(b.remaining)} = ${b.remaining} - r.waiting, ${name(b.cancelled)} = ${b.cancelled} + r.waiting,
          ${name(b.status)} = CASE WHEN ${b.remaining} = r.waiting THEN 'CANCELLED' ELSE ${b.status} END,
          ${name(b.cancelledAt)} = CASE WHEN ${b.remaining} = r.waiting THEN now() ELSE ${b.cancelledAt} END
      FROM req r WHERE ${b.orderLineId} = r.line_id AND ${b.status} = 'WAITING' AND r.waiting > 0
      RETURNING ${b.id}, ${b.productId}, ${b.orderLineId}, ${b.priority}, ${b.status}, r.waiting
    ), backlog AS (
      UPDATE ${products} ${p} SET ${name(p.backordered)} = ${p.backordered} - t.waiting, ${name(p.waitingOrders)} = ${p.waitingOrders} - t.left
      FROM (SELECT product_id, sum(waiting)::int AS waiting, count(*) FILTER (WHERE status = 'CANCELLED')::int AS left
            FROM left_queue GROUP BY 1) t
      WHERE ${p.id} = t.product_id
    )
    -- One row per line (a line has at most one waiting backorder): a batch of many orders'
    -- lines of one product stays one row each, not lines × backorders.
    SELECT l.product_id,
           coalesce((SELECT sum(quantity) FROM released r WHERE r.order_line_id = l.id), 0)::int AS released,
           q.priority, q.id AS backorder_id
    FROM lines l LEFT JOIN left_queue q ON q.order_line_id = l.id
  `,
    ),
    recordRefunds(
      tx,
      cause.refund,
      releases.map((r) => ({ orderLineId: r.lineId, quantity: r.waiting + r.allocated })),
      orderIds.length === 1 ? { orderId: orderIds[0] } : {},
    ),
    cancelOpenSupplierOrders(
      tx,
      releases.filter((r) => r.waiting > 0).map((r) => r.lineId),
    ),
  ]);
  const productIds = [...new Set(touched.map((row) => Number(row.product_id)))].sort((a, b) => a - b);
  for (const productId of productIds) {
    const rowsOfProduct = touched.filter((row) => Number(row.product_id) === productId);
    const released = rowsOfProduct.some((row) => row.released > 0);
    // The first place the queue lost (queue order: priority descending, then id).
    const [left] = rowsOfProduct
      .filter((row) => row.backorder_id !== null)
      .sort((x, y) => Number(y.priority) - Number(x.priority) || Number(x.backorder_id) - Number(y.backorder_id));
    const fill = released ? await settleBacklog(tx, productId) : { units: 0 };
    if (left && fill.units === 0) {
      // Those behind the cancelled units move up; those ahead keep their dates.
      await recomputeEta(tx, productId, { from: { priority: Number(left.priority), id: Number(left.backorder_id) } });
    }
  }
  await refreshOrderStatuses(tx, orderIds);
  // Every cancellation cancels at least one unit of each order (the callers refuse one that would not).
  if (refunds.length !== orderIds.length) throw new Error(`cancellation of orders ${orderIds.join(", ")} cancelled no units of some`);
  await recordProductChanges(tx, productIds, cause.change, {
    ids: orderIds,
    kind: cause.kind,
    refunds: refunds.map((refund) => ({ orderId: refund.orderId, id: refund.id })),
  });
  return refunds;
}

/**
 * Cancels every unit of an order that has not shipped: waiting units first, then allocated ones,
 * which go at once to the oldest waiting backorders. INVALID_STATE when nothing is left to cancel.
 * The order as it is after; {@link cancelOrderWithRefund} also answers the refund it recorded.
 */
export async function cancelOrder(db: Database, id: number, reason?: string | null): Promise<OrderRecord> {
  return (await cancelOrderWithRefund(db, id, reason)).order;
}

/** {@link cancelOrder}, answering the order and the refund (reason CANCELLED) its units are owed. */
export async function cancelOrderWithRefund(db: Database, id: number, reason?: string | null): Promise<Cancellation> {
  const orderId = requireId(id, ["id"], "order");
  const checks = new Checks();
  const why = checks.text(reason, ["reason"], LIMITS.reason, { optional: true });
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const order = await lockOrder(tx, orderId, ["id"]);
    const lines = await tx.select().from(orderLines).where(eq(orderLines.orderId, order.id));
    const releases = lines
      .filter((line) => line.waiting + line.allocated > 0)
      .map((line) => ({ orderId: order.id, lineId: line.id, waiting: line.waiting, allocated: line.allocated }));
    if (releases.length === 0) refuse("INVALID_STATE", `order ${order.number} is ${order.status}: nothing left to cancel`, ["id"]);
    const [refund] = await cancelUnits(tx, releases);
    if (why) await tx.update(orders).set({ cancelReason: why }).where(eq(orders.id, order.id));
    const [updated] = await tx.select().from(orders).where(eq(orders.id, order.id));
    return { order: updated, refund };
  });
}

/**
 * Cancels `quantity` units of one order line (all that have not shipped when omitted): waiting
 * units first, then allocated ones. INVALID_INPUT when more are asked than can be cancelled.
 * The line's order as it is after; {@link cancelOrderLineWithRefund} also answers the refund.
 */
export async function cancelOrderLine(db: Database, id: number, quantity?: number | null): Promise<OrderRecord> {
  return (await cancelOrderLineWithRefund(db, id, quantity)).order;
}

/** {@link cancelOrderLine}, answering the order and the refund (reason CANCELLED) the units are owed. */
export async function cancelOrderLineWithRefund(db: Database, id: number, quantity?: number | null): Promise<Cancellation> {
  const lineId = requireId(id, ["id"], "order line");
  const checks = new Checks();
  if (quantity !== undefined && quantity !== null) checks.int(quantity, ["quantity"], 1, LIMITS.quantity);
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const [found] = await tx.select({ orderId: orderLines.orderId }).from(orderLines).where(eq(orderLines.id, lineId));
    if (!found) refuse("NOT_FOUND", "order line not found", ["id"]);
    const order = await lockOrder(tx, found.orderId, ["id"]);
    const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, lineId));
    const open = line.waiting + line.allocated;
    if (open === 0) refuse("INVALID_STATE", "every unit of this line has shipped or been cancelled", ["id"]);
    const wanted = quantity ?? open;
    if (wanted > open) refuse("INVALID_INPUT", `only ${open} units of this line can be cancelled`, ["quantity"]);
    const waiting = Math.min(wanted, line.waiting);
    const [refund] = await cancelUnits(tx, [{ orderId: order.id, lineId, waiting, allocated: wanted - waiting }]);
    const [updated] = await tx.select().from(orders).where(eq(orders.id, order.id));
    return { order: updated, refund };
  });
}

/**
 * Ships every allocated unit of an order: onHand and allocated fall together at each location,
 * with a SHIPMENT movement in the ledger. INVALID_STATE when nothing is allocated.
 */
export async function shipOrder(db: Database, id: number): Promise<OrderRecord> {
  const orderId = requireId(id, ["id"], "order");
  return inTransaction(db, async (tx) => {
    const order = await lockOrder(tx, orderId, ["id"]);
    const a = alias(allocations, "a");
    const l = alias(orderLines, "l");
    const s = alias(stockLevels, "s");
    const shipped = await rows<{ product_id: number }>(
      tx,
      sql`
      WITH open AS (
        SELECT ${a.orderLineId}, ${a.locationId}, ${a.productId}, ${a.quantity}
        FROM ${allocations} ${a} JOIN ${orderLines} ${l} ON ${l.id} = ${a.orderLineId}
        WHERE ${l.orderId} = ${order.id} AND ${a.quantity} > 0
      ), allocations_shipped AS (
        UPDATE ${allocations} ${a} SET ${name(a.shipped)} = ${a.shipped} + o.quantity, ${name(a.quantity)} = 0, ${name(a.updatedAt)} = now()
        FROM open o WHERE ${a.orderLineId} = o.order_line_id AND ${a.locationId} = o.location_id
      ), per_stock AS (
        SELECT product_id, location_id, sum(quantity)::int AS quantity FROM open GROUP BY 1, 2
      ), stock AS (
        UPDATE ${stockLevels} ${s}
        SET ${name(s.onHand)} = ${s.onHand} - p.quantity, ${name(s.allocated)} = ${s.allocated} - p.quantity, ${name(s.updatedAt)} = now()
        FROM per_stock p WHERE ${s.productId} = p.product_id AND ${s.locationId} = p.location_id
      ), ledger AS (
        INSERT INTO ${stockMovements} (${names(stockMovements.productId, stockMovements.locationId, stockMovements.delta, stockMovements.kind, stockMovements.orderId)})
        SELECT product_id, location_id, -quantity, 'SHIPMENT', ${order.id}::int FROM per_stock
      ), lines AS (
        UPDATE ${orderLines} ${l} SET ${name(l.shipped)} = ${l.shipped} + ${l.allocated}, ${name(l.allocated)} = 0
        WHERE ${l.orderId} = ${order.id} AND ${l.allocated} > 0
      )
      SELECT DISTINCT product_id FROM per_stock`,
    );
    if (shipped.length === 0) refuse("INVALID_STATE", `order ${order.number} has no allocated units to ship`, ["id"]);
    await refreshOrderStatuses(tx, [order.id]);
    await recordProductChanges(
      tx,
      shipped.map((row) => Number(row.product_id)),
      "ORDER_SHIPPED",
      { ids: [order.id], kind: "SHIPPED" },
    );
    const [updated] = await tx.select().from(orders).where(eq(orders.id, order.id));
    return updated;
  });
}

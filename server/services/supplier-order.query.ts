/**
 * Reading supplier orders (docs/ARCHITECTURE.md, "Dropship"): by id, by order line, a supplier's
 * list, and the open ones late to ship or on time (the dashboard's "Suppliers" card,
 * docs/ARCHITECTURE.md "Supplier dashboard"). Each comes as a {@link SupplierOrderView}: the row
 * with what a supplier needs to ship it (order number, customer, SKU, product name), its expected
 * ship date and whether it is late, read in the same statement, so a SUPPLIER key is answered
 * without reaching Order, OrderLine or Product.
 */
import { type SQL, sql } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { boundedCount, boundedResult, decodeCursor, lazyCount, type Page, type PageArgs, pageSize, toPage, toRecord } from "../../drizzle/paging.js";
import { intArray, toDate, cursorInstant } from "../../drizzle/sql.js";
import type { SupplierOrderRecord, SupplierOrderStatus } from "./types.js";

const { orders, products, supplierOrders, suppliers } = schema;

/** A supplier order with the fields of its order and product that shipping needs. */
export interface SupplierOrderView extends SupplierOrderRecord {
  orderNumber: string;
  customer: string;
  sku: string;
  productName: string;
  /**
   * When the supplier will ship it: the acknowledged `expected_ship_at`, else `created_at` plus the
   * supplier's lead time in 24-hour days ("Expected dates"), else null. The line's expected date.
   */
  shipBy: Date | null;
  /** Open (OPEN or ACKNOWLEDGED) and its `shipBy` has passed: {@link lateSql}. */
  late: boolean;
}

/** Which supplier orders to list; `supplierId` is also how a SUPPLIER key's list is scoped. */
export interface SupplierOrderFilter {
  supplierId?: number | null;
  status?: SupplierOrderStatus | null;
  /**
   * Open orders only, oldest first: true those late to ship ({@link lateSql}), false those on time
   * (OPEN without a date included). Null or absent: every order, newest first.
   */
  late?: boolean | null;
}

/** The statuses of an order still at its supplier: `supplier_orders_open_idx` holds exactly these. */
const OPEN_STATUSES = ["OPEN", "ACKNOWLEDGED"] as const satisfies readonly SupplierOrderStatus[];

/** The expected ship date of `so` (a supplier order) whose supplier is `s` ({@link SupplierOrderView.shipBy}). */
export function shipBySql(so: typeof supplierOrders, s: typeof suppliers): SQL {
  return sql`coalesce(${so.expectedShipAt}, ${so.createdAt} + ${s.leadTimeDays} * interval '24 hours')`;
}

/**
 * Whether `so` is late to ship: still open and its expected ship date ({@link shipBySql}: the
 * acknowledged date, else the lead time's) is past. False without a date: nothing was promised.
 */
export function lateSql(so: typeof supplierOrders, s: typeof suppliers): SQL {
  return sql`(${so.status} IN ('OPEN', 'ACKNOWLEDGED') AND coalesce(${shipBySql(so, s)} < now(), false))`;
}

/** The view's statement: the supplier orders `where` selects, joined to their order, product and supplier. */
function viewQuery(where: SQL, tail: SQL = sql``): SQL {
  return sql`
    SELECT ${supplierOrders}.*, ${orders.number} AS order_number, ${orders.customer} AS customer,
           ${products.sku} AS sku, ${products.name} AS product_name, ${shipBySql(supplierOrders, suppliers)} AS ship_by,
           ${lateSql(supplierOrders, suppliers)} AS late
      FROM ${supplierOrders}
      JOIN ${orders} ON ${orders.id} = ${supplierOrders.orderId}
      JOIN ${products} ON ${products.id} = ${supplierOrders.productId}
      JOIN ${suppliers} ON ${suppliers.id} = ${supplierOrders.supplierId}
     WHERE ${where} ${tail}`;
}

function toView(row: Record<string, unknown>): SupplierOrderView {
  return {
    ...toRecord(supplierOrders, row),
    orderNumber: String(row.order_number),
    customer: String(row.customer),
    sku: String(row.sku),
    productName: String(row.product_name),
    shipBy: toDate(row.ship_by),
    late: row.late === true,
  };
}

/** The supplier orders with these ids, in the ids' order; null where none exists. One statement. */
export async function supplierOrdersByIds(db: Executor, ids: readonly number[]): Promise<(SupplierOrderView | null)[]> {
  if (ids.length === 0) return [];
  const found = (await rows<Record<string, unknown>>(db, viewQuery(sql`${supplierOrders.id} = ANY(${intArray([...ids])})`))).map(toView);
  const byId = new Map(found.map((view) => [view.id, view]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** The supplier order of each order line (one at most: `supplier_orders_order_line_key`), in the ids' order. One statement. */
export async function supplierOrdersByLines(db: Executor, lineIds: readonly number[]): Promise<(SupplierOrderView | null)[]> {
  if (lineIds.length === 0) return [];
  const found = (await rows<Record<string, unknown>>(db, viewQuery(sql`${supplierOrders.orderLineId} = ANY(${intArray([...lineIds])})`))).map(toView);
  const byLine = new Map(found.map((view) => [view.orderLineId, view]));
  return lineIds.map((id) => byLine.get(id) ?? null);
}

/**
 * A page of supplier orders, newest first (id descending: `supplier_orders_supplier_idx` with a
 * supplier, the primary key without), with a total counted up to COUNT_BOUND. With `late` set,
 * the open ones late or on time, oldest first ({@link listOpenSupplierOrders}). INVALID_INPUT for
 * a bad `first` or cursor (a cursor of the other order included).
 */
export async function listSupplierOrders(db: Executor, filter: SupplierOrderFilter, page: PageArgs): Promise<Page<SupplierOrderView>> {
  if (filter.late !== undefined && filter.late !== null) return listOpenSupplierOrders(db, { ...filter, late: filter.late }, page);
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, ["int"]);
  const so = supplierOrders;
  const conditions: SQL[] = [sql`true`];
  if (filter.supplierId !== undefined && filter.supplierId !== null) conditions.push(sql`${so.supplierId} = ${filter.supplierId}::int`);
  if (filter.status) conditions.push(sql`${so.status} = ${filter.status}`);
  const where = sql.join(conditions, sql` AND `);
  const keyset = after ? sql`AND ${so.id} < ${after[0]}::int` : sql``;
  const found = await rows<Record<string, unknown>>(db, viewQuery(sql`${where} ${keyset}`, sql`ORDER BY ${so.id} DESC LIMIT ${limit + 1}`));
  const count = lazyCount(() => boundedCount(db, sql`SELECT 1 FROM ${so} WHERE ${where}`));
  return toPage(found.map(toView), limit, (view) => [view.id], count);
}

/** The open list's cursor: (created_at as exact UTC text, id), as refund.query.ts's pending list. */
const OPEN_CURSOR = ["text", "int"] as const;
const SORT_AT = cursorInstant(sql.raw("created_at"));

/**
 * The open supplier orders late to ship (`late`) or on time, oldest first by (created_at, id): the
 * next to chase at the top, as pending refunds are listed. One arm per open status, each one
 * forward range of the partial index `supplier_orders_open_idx` (status, created_at), read in
 * order and filtered, stopping at the page; the arms are merged by created_at. The late among the
 * open are the oldest, so a page of them reads little more than the page. An OPEN order's range
 * ends where the shortest lead time of the suppliers it may be of has not yet passed: no newer
 * OPEN order can be late. The statuses are written into the statement, not bound: a generic plan
 * of `status = $1` could not prove the partial index's predicate.
 */
async function listOpenSupplierOrders(db: Executor, filter: SupplierOrderFilter & { late: boolean }, page: PageArgs): Promise<Page<SupplierOrderView>> {
  const limit = pageSize(page.first);
  const after = decodeCursor(page.after, OPEN_CURSOR);
  const so = supplierOrders;
  const statuses = OPEN_STATUSES.filter((status) => !filter.status || filter.status === status);
  const named = filter.supplierId !== undefined && filter.supplierId !== null ? filter.supplierId : null;
  const supplier = named === null ? sql`true` : sql`${so.supplierId} = ${named}::int`;
  const lateness = filter.late ? lateSql(so, suppliers) : sql`NOT ${lateSql(so, suppliers)}`;
  const keyset = after
    ? sql`AND ${so.createdAt} >= ${after[0]}::timestamptz AND (${so.createdAt}, ${so.id}) > (${after[0]}::timestamptz, ${after[1]}::int)`
    : sql``;
  // Implied by lateness, for the index range only: an OPEN order is late after its supplier's lead time, so after the shortest.
  const shortestLead = sql`(SELECT min(${suppliers.leadTimeDays}) FROM ${suppliers} WHERE ${named === null ? sql`true` : sql`${suppliers.id} = ${named}::int`})`;
  const arm = (status: (typeof OPEN_STATUSES)[number]) => {
    const soonest = status === "OPEN" && filter.late ? sql`AND ${so.createdAt} < now() - ${shortestLead} * interval '24 hours'` : sql``;
    return sql`(${viewQuery(
      sql`${so.status} = ${sql.raw(`'${status}'`)} AND ${supplier} AND ${lateness} ${soonest} ${keyset}`,
      sql`ORDER BY ${so.createdAt}, ${so.id} LIMIT ${limit + 1}`,
    )})`;
  };
  const found =
    statuses.length === 0
      ? []
      : await rows<Record<string, unknown>>(
          db,
          sql`SELECT listed.*, ${SORT_AT} AS sort_at FROM (${sql.join(statuses.map(arm), sql` UNION ALL `)}) listed ORDER BY created_at, id LIMIT ${limit + 1}`,
        );
  const views = found.map((row) => ({ view: toView(row), sortAt: String(row.sort_at) }));
  const count = lazyCount(() =>
    statuses.length === 0
      ? Promise.resolve(boundedResult(0))
      : boundedCount(
          db,
          sql`SELECT 1 FROM ${so} JOIN ${suppliers} ON ${suppliers.id} = ${so.supplierId}
               WHERE ${so.status} IN (${sql.raw(statuses.map((status) => `'${status}'`).join(", "))}) AND ${supplier} AND ${lateness}`,
        ),
  );
  const cut = toPage(views, limit, (entry) => [entry.sortAt, entry.view.id], count);
  return { ...cut, items: cut.items.map((entry) => entry.view) };
}

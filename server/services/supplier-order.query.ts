/**
 * Reading supplier orders (docs/ARCHITECTURE.md, "Dropship"): by id, by order line, a supplier's
 * list. Each comes as a {@link SupplierOrderView}: the row with what a supplier needs to ship it
 * (order number, customer, SKU, product name) and its expected ship date, read in the same
 * statement, so a SUPPLIER key is answered without reaching Order, OrderLine or Product.
 */
import { type SQL, sql } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { boundedCount, decodeCursor, lazyCount, type Page, type PageArgs, pageSize, toPage, toRecord } from "../../drizzle/paging.js";
import { intArray, toDate } from "../../drizzle/sql.js";
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
}

/** Which supplier orders to list; `supplierId` is also how a SUPPLIER key's list is scoped. */
export interface SupplierOrderFilter {
  supplierId?: number | null;
  status?: SupplierOrderStatus | null;
}

/** The expected ship date of `so` (a supplier order) whose supplier is `s` ({@link SupplierOrderView.shipBy}). */
export function shipBySql(so: typeof supplierOrders, s: typeof suppliers): SQL {
  return sql`coalesce(${so.expectedShipAt}, ${so.createdAt} + ${s.leadTimeDays} * interval '24 hours')`;
}

/** The view's statement: the supplier orders `where` selects, joined to their order, product and supplier. */
function viewQuery(where: SQL, tail: SQL = sql``): SQL {
  return sql`
    SELECT ${supplierOrders}.*, ${orders.number} AS order_number, ${orders.customer} AS customer,
           ${products.sku} AS sku, ${products.name} AS product_name, ${shipBySql(supplierOrders, suppliers)} AS ship_by
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
 * supplier, the primary key without), with a total counted up to COUNT_BOUND. INVALID_INPUT for a
 * bad `first` or cursor.
 */
export async function listSupplierOrders(db: Executor, filter: SupplierOrderFilter, page: PageArgs): Promise<Page<SupplierOrderView>> {
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

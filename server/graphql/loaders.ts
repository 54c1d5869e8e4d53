/**
 * The per-request DataLoaders: every relation reachable from a list goes through one, so a
 * page of N objects costs a fixed number of statements, not N. Made fresh for every request
 * (and after every mutation, so a payload never shows what was cached before the write);
 * a subscription makes them per event.
 */
import DataLoader from "dataloader";
import { type Executor, schema } from "../../drizzle/db.js";
import { rowsByKeys } from "../../drizzle/lookup.js";
import type { Count, Page } from "../../drizzle/paging.js";
import { backlogPages, type BacklogPageRequest, type QueuedBackorder, type QueuePlace, queuePlaces } from "../services/backlog.query.js";
import { orderLinesByOrders, type OrderWaitingSummary, orderWaitingSummaries } from "../services/order.query.js";
import { type StockLevelView, type StockSummaryRecord, stockLevelsByProducts, stockSummaries } from "../services/product.query.js";
import { type Quote, quoteOrderLines, type QuoteRequest } from "../services/quote.service.js";
import { type RefundLineView, refundLinesByRefunds, refundsByOrders, refundTotals } from "../services/refund.query.js";
import type { RefundRecord } from "../services/refund.service.js";
import { restockPages, type RestockPageRequest } from "../services/restock.query.js";
import {
  type DeliveryCountRequest,
  deliveryCounts,
  type DeliveryPageRequest,
  deliveryPages,
  webhookDeliveriesByIds,
  type WebhookDeliveryRecord,
  webhookEndpointsByIds,
} from "../services/webhook.query.js";
import {
  supplierProductCounts,
  supplierProductPages,
  type SupplierProductPageRequest,
  type SupplierReliability,
  supplierReliabilities,
} from "../services/supplier.query.js";
import { supplierOrdersByIds, supplierOrdersByLines } from "../services/supplier-order.query.js";
import type { BackorderRecord, LocationRecord, OrderLineRecord, OrderRecord, ProductRecord, RestockRecord, SupplierRecord } from "../services/types.js";

const { backorders, locations, orderLines, orders, products, refunds, restocks, suppliers } = schema;

/** Big enough for any page (100) times any fan-out a query can reach, small enough for one bind array. */
const MAX_BATCH = 1000;

function batch<TKey, TValue>(load: (keys: readonly TKey[]) => Promise<(TValue | Error)[]>, cacheKeyFn?: (key: TKey) => string) {
  return new DataLoader<TKey, TValue, unknown>(load, { maxBatchSize: MAX_BATCH, cacheKeyFn });
}

/** How each loader is made, over the request's `db`. */
const LOADERS = {
  location: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, locations, "id", ids)),
  product: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, products, "id", ids)),
  productBySku: (db: Executor) => batch((skus: readonly string[]) => rowsByKeys(db, products, "sku", skus)),
  stockSummary: (db: Executor) => batch<number, StockSummaryRecord | null>((ids) => stockSummaries(db, ids)),
  stockLevels: (db: Executor) => batch<number, StockLevelView[]>((ids) => stockLevelsByProducts(db, ids)),
  order: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, orders, "id", ids)),
  orderByNumber: (db: Executor) => batch((numbers: readonly string[]) => rowsByKeys(db, orders, "number", numbers)),
  orderWaiting: (db: Executor) => batch<number, OrderWaitingSummary>((ids) => orderWaitingSummaries(db, ids)),
  orderLine: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, orderLines, "id", ids)),
  linesByOrder: (db: Executor) => batch<number, OrderLineRecord[]>((ids) => orderLinesByOrders(db, ids)),
  backorder: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, backorders, "id", ids)),
  backorderByLine: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, backorders, "orderLineId", ids)),
  queuePlace: (db: Executor) => batch<number, QueuePlace | null>((ids) => queuePlaces(db, ids)),
  /** Product.backlog pages of a whole product page, in one statement (a window per product). */
  backlogPage: (db: Executor) =>
    batch<BacklogPageRequest, Page<QueuedBackorder>>(
      (requests) => backlogPages(db, requests),
      (r) => JSON.stringify([r.productId, r.first ?? null, r.after ?? null]),
    ),
  /** Product.quote of a whole product page, in one statement (one snapshot); a refusal is the key's error. */
  quote: (db: Executor) =>
    batch<QuoteRequest, Quote>(
      (requests) => quoteOrderLines(db, requests),
      (r) => `${r.productId}:${r.quantity}`,
    ),
  restock: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, restocks, "id", ids)),
  refund: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, refunds, "id", ids)),
  /** Order.refunds of a whole page of orders, in one statement. */
  refundsByOrder: (db: Executor) => batch<number, RefundRecord[]>((ids) => refundsByOrders(db, ids)),
  /** Order.refundTotal of a whole page of orders, summed in one statement. */
  refundTotal: (db: Executor) => batch<number, string>((ids) => refundTotals(db, ids)),
  /** Refund.lines of every refund a response reaches, in one statement. */
  refundLines: (db: Executor) => batch<number, RefundLineView[]>((ids) => refundLinesByRefunds(db, ids)),
  /** Product.restocks pages of a whole product page, in one statement. */
  restockPage: (db: Executor) =>
    batch<RestockPageRequest, Page<RestockRecord>>(
      (requests) => restockPages(db, requests),
      (r) => JSON.stringify([r.productId, r.status ?? null, r.first ?? null, r.after ?? null]),
    ),
  supplier: (db: Executor) => batch((ids: readonly number[]) => rowsByKeys(db, suppliers, "id", ids)),
  /** Supplier figures and Backorder.expectedAtLate: the history of every supplier a response reaches, in one statement. */
  supplierReliability: (db: Executor) => batch<number, SupplierReliability>((ids) => supplierReliabilities(db, ids)),
  /**
   * Supplier.products pages of a whole supplier page, in one statement; their counts in one more,
   * only when a response asks for one.
   */
  supplierProductPage: (db: Executor) => {
    const counts = batch<number, Count>((ids) => supplierProductCounts(db, ids));
    return batch<SupplierProductPageRequest, Page<ProductRecord>>(
      (requests) => supplierProductPages(db, requests, (id) => counts.load(id)),
      (r) => JSON.stringify([r.supplierId, r.first ?? null, r.after ?? null]),
    );
  },
  /** Supplier orders by id (node, the mutations' answers) and by order line (OrderLine.supplierOrder), each batch one statement. */
  supplierOrder: (db: Executor) => batch((ids: readonly number[]) => supplierOrdersByIds(db, ids)),
  supplierOrderOfLine: (db: Executor) => batch((ids: readonly number[]) => supplierOrdersByLines(db, ids)),
  webhookEndpoint: (db: Executor) => batch((ids: readonly number[]) => webhookEndpointsByIds(db, ids)),
  webhookDelivery: (db: Executor) => batch((ids: readonly number[]) => webhookDeliveriesByIds(db, ids)),
  /**
   * WebhookEndpoint.deliveries pages of a whole page of endpoints, in one statement; their counts
   * in one more, only when a response asks for one.
   */
  webhookDeliveryPage: (db: Executor) => {
    const counts = batch<DeliveryCountRequest, Count>(
      (requests) => deliveryCounts(db, requests),
      (r) => JSON.stringify([r.endpointId, r.status ?? null]),
    );
    return batch<DeliveryPageRequest, Page<WebhookDeliveryRecord>>(
      (requests) => deliveryPages(db, requests, (request) => counts.load(request)),
      (r) => JSON.stringify([r.endpointId, r.status ?? null, r.first ?? null, r.after ?? null]),
    );
  },
};

/** The loaders of one request: each made the first time a resolver asks for it (a request uses a few of them). */
export type Loaders = { readonly [K in keyof typeof LOADERS]: ReturnType<(typeof LOADERS)[K]> };

class LazyLoaders {
  readonly made: Partial<Record<keyof Loaders, unknown>> = {};
  constructor(readonly db: Executor) {}
}
for (const [key, make] of Object.entries(LOADERS) as [keyof Loaders, (db: Executor) => unknown][]) {
  Object.defineProperty(LazyLoaders.prototype, key, {
    get(this: LazyLoaders) {
      return (this.made[key] ??= make(this.db));
    },
  });
}

/** Creates the loaders of one request (or one subscription event) over `db`. */
export function createLoaders(db: Executor): Loaders {
  return new LazyLoaders(db) as unknown as Loaders;
}

/** Seeds the by-id loaders with rows a list already read, so their relations do not read them again. */
export function primeLoaders(
  loaders: Loaders,
  rows: {
    products?: readonly ProductRecord[];
    orders?: readonly OrderRecord[];
    backorders?: readonly BackorderRecord[];
    restocks?: readonly RestockRecord[];
    locations?: readonly LocationRecord[];
    suppliers?: readonly SupplierRecord[];
  },
): void {
  for (const row of rows.products ?? []) loaders.product.prime(row.id, row);
  for (const row of rows.orders ?? []) loaders.order.prime(row.id, row);
  for (const row of rows.backorders ?? []) loaders.backorder.prime(row.id, row);
  for (const row of rows.restocks ?? []) loaders.restock.prime(row.id, row);
  for (const row of rows.locations ?? []) loaders.location.prime(row.id, row);
  for (const row of rows.suppliers ?? []) loaders.supplier.prime(row.id, row);
}

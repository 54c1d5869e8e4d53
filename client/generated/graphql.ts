/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** What happens to ordered units beyond the available stock. */
export type BackorderPolicy =
  /** Queued as a backorder, up to the product's backorderLimit. */
  | 'ALLOW'
  /** Refused with OUT_OF_STOCK (or cut, with allowPartial). */
  | 'DENY';

/** The operation that changed a product's stock or backlog. */
export type ChangeReason =
  | 'BACKORDER_EXPIRED'
  | 'BACKORDER_PRIORITIZED'
  | 'ETA_CHANGED'
  | 'ORDER_CANCELLED'
  | 'ORDER_PLACED'
  | 'ORDER_SHIPPED'
  | 'PRODUCT_CREATED'
  | 'PRODUCT_UPDATED'
  | 'RESTOCK_CANCELLED'
  | 'RESTOCK_RECEIVED'
  | 'RESTOCK_RESCHEDULED'
  | 'RESTOCK_SCHEDULED'
  | 'STOCK_ADJUSTED';

/** Whether a connection's totalCount is the number of matches or a lower bound. */
export type CountPrecision =
  /** There are at least totalCount matches: counting stopped at the bound. */
  | 'AT_LEAST'
  /** totalCount is the number of matches. */
  | 'EXACT';

/** Why a mutation refused (part of) its input. */
export type ErrorCode =
  | 'ABOVE_MAX_ORDER_QUANTITY'
  | 'BACKORDER_LIMIT_EXCEEDED'
  | 'BELOW_MIN_ORDER_QUANTITY'
  | 'DUPLICATE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INSUFFICIENT_STOCK'
  | 'INVALID_INPUT'
  | 'INVALID_STATE'
  | 'NOT_FOUND'
  | 'OUT_OF_STOCK'
  | 'WAIT_TOO_LONG';

/** Where a backorder's expectedAt comes from. */
export type EtaSource =
  /** Beyond scheduled supply: placed at + the product's lead time. */
  | 'LEAD_TIME'
  /** A scheduled restock covers it. */
  | 'RESTOCK'
  /** Nothing tells when. */
  | 'UNKNOWN';

export type OrderChangeKind =
  | 'ALLOCATED'
  /** Waiting units of the order were allocated from a restock or released stock. */
  | 'BACKORDER_FILLED'
  | 'CANCELLED'
  /** A waiting backorder of the order became late: its expected date passed its promise, or became unknown. */
  | 'DELAYED'
  | 'EXPIRED'
  | 'PLACED'
  | 'SHIPPED';

/** Where an order stands; the first that applies wins, in the order listed from CANCELLED up. */
export type OrderStatus =
  | 'AWAITING_STOCK'
  | 'CANCELLED'
  | 'PARTIALLY_SHIPPED'
  | 'READY_TO_SHIP'
  | 'SHIPPED';

/** Why units were cancelled, and so paid back. */
export type RefundReason =
  /** cancelOrder or cancelOrderLine. */
  | 'CANCELLED'
  /** A backorder waited past the product's autoCancelAfterDays. */
  | 'EXPIRED'
  /** The supplier rejected a dropship line. */
  | 'SUPPLIER_REJECTED';

export type RestockChangeKind =
  | 'CANCELLED'
  | 'RECEIVED'
  | 'RESCHEDULED'
  | 'SCHEDULED';

export type RestockStatus =
  /** Cancelled; units received before stay on hand. */
  | 'CANCELLED'
  /** Some units received, the rest still expected: still open (incoming, dates the backlog, can be rescheduled, received or cancelled). */
  | 'PARTIALLY_RECEIVED'
  /** Every unit received. */
  | 'RECEIVED'
  /** Expected; nothing received yet. */
  | 'SCHEDULED';

export type ScheduleRestockInput = {
  expectedAt: string;
  /** Default: the default location. */
  locationId?: string | number | null | undefined;
  productId: string | number;
  quantity: number;
  reference?: string | null | undefined;
};

/** A restock to simulate: scheduled at expectedAt, or received now. */
export type SimulateRestockInput = {
  /** When it would be expected (not in the past); required unless receiveNow. */
  expectedAt?: string | null | undefined;
  /** Where it would arrive. Default: the default location. */
  locationId?: string | number | null | undefined;
  productId: string | number;
  /** Units, 1 to 1,000,000. */
  quantity: number;
  /** Receive it now: the backlog is filled from it. */
  receiveNow?: boolean | null | undefined;
};

/** Where a dropship line's order at its supplier stands. */
export type SupplierOrderStatus =
  /** The supplier gave a ship date (expectedShipAt). */
  | 'ACKNOWLEDGED'
  /** The customer's units were cancelled. */
  | 'CANCELLED'
  /** Sent to the supplier, not acknowledged yet: dated by the supplier's lead time. */
  | 'OPEN'
  /** The supplier refused it: the line's units are cancelled and refunded (SUPPLIER_REJECTED). */
  | 'REJECTED'
  /** The supplier shipped it: the line's units are shipped. */
  | 'SHIPPED';

export type BacklogChangedSubscriptionVariables = Exact<{
  productIds?: Array<string | number> | string | number | null | undefined;
  after?: string | null | undefined;
}>;


export type BacklogChangedSubscription = { backlogChanged: { cursor: string, at: string, reason: ChangeReason, productVersion: number, backordered: number, waitingOrders: number, nextExpectedAt: string | null, product: { id: string, sku: string, name: string } } };

export type DashboardDelayedOrdersQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type DashboardDelayedOrdersQuery = { orders: { totalCount: number }, backlog: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, position: number | null, remaining: number, promisedAt: string | null, expectedAt: string | null, etaSource: EtaSource, createdAt: string, product: { id: string, sku: string, name: string }, order: { id: string, number: string, customer: string, status: OrderStatus } }> } };

export type DashboardHistoryCursorQueryVariables = Exact<{
  back: number;
}>;


export type DashboardHistoryCursorQuery = { eventCursor: string };

export type DashboardMetricsQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardMetricsQuery = { backlogMetrics: { from: string, to: string, ordersPlaced: number, unitsOrdered: number, unitsBackordered: number, fillRateAtPlacement: number | null, etaAccuracy: number | null, waitingUnits: number, delayedBackorders: number, atRiskBackorders: number, revenueProtected: Array<{ amount: string, currencyCode: string }>, lostDemand: Array<{ code: ErrorCode, units: number, value: Array<{ amount: string, currencyCode: string }> }> } };

export type DashboardOrderChangedSubscriptionVariables = Exact<{
  after?: string | null | undefined;
}>;


export type DashboardOrderChangedSubscription = { orderChanged: { cursor: string, at: string, kind: OrderChangeKind, status: OrderStatus, order: { id: string, number: string, delayed: boolean, promisedAt: string | null, expectedAt: string | null, lines: Array<{ quantity: number, product: { id: string, sku: string } }> } } };

export type DashboardProductQueueQueryVariables = Exact<{
  id: string | number;
  first: number;
  after?: string | null | undefined;
}>;


export type DashboardProductQueueQuery = { product: { id: string, sku: string, name: string, stock: { available: number, backordered: number, incoming: number, nextRestockAt: string | null }, backlog: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, position: number | null, priority: number, quantity: number, remaining: number, delayed: boolean, promisedAt: string | null, expectedAt: string | null, etaSource: EtaSource, createdAt: string, order: { id: string, number: string, customer: string } }> } } | null };

export type DashboardProductsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type DashboardProductsQuery = { products: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, sku: string, name: string, backorderPolicy: BackorderPolicy, stock: { onHand: number, allocated: number, available: number, backordered: number, incoming: number, projected: number, nextRestockAt: string | null }, backlog: { totalCount: number } }> } };

export type DashboardReceiveRestockMutationVariables = Exact<{
  id: string | number;
}>;


export type DashboardReceiveRestockMutation = { receiveRestock: { restock: { id: string, status: RestockStatus, receivedQuantity: number } | null, userErrors: Array<{ field: Array<string> | null, code: ErrorCode, message: string }> } };

export type DashboardRefundsQueryVariables = Exact<{
  first: number;
}>;


export type DashboardRefundsQuery = { refundsDue: { count: number, countPrecision: CountPrecision, oldestPendingAt: string | null, totals: Array<{ count: number, amount: { amount: string, currencyCode: string } }> }, refunds: { pageInfo: { hasNextPage: boolean }, nodes: Array<{ id: string, createdAt: string, reason: RefundReason, amount: { amount: string, currencyCode: string }, order: { id: string, number: string } }> } };

export type DashboardReplenishmentQueryVariables = Exact<{
  first: number;
}>;


export type DashboardReplenishmentQuery = { replenishmentPlan: { pageInfo: { hasNextPage: boolean }, nodes: Array<{ dailyDemand: number, uncoveredUnits: number, suggestedQuantity: number, neededBy: string | null, suggestedBackorderLimit: number | null, product: { id: string, sku: string, name: string, backorderLimit: number | null } }> } };

export type DashboardScheduleRestockMutationVariables = Exact<{
  input: ScheduleRestockInput;
}>;


export type DashboardScheduleRestockMutation = { scheduleRestock: { restock: { id: string, quantity: number, expectedAt: string, status: RestockStatus } | null, userErrors: Array<{ field: Array<string> | null, code: ErrorCode, message: string }> } };

export type DashboardSimulateRestockQueryVariables = Exact<{
  input: SimulateRestockInput;
}>;


export type DashboardSimulateRestockQuery = { simulateRestock: { filledUnits: number, filledBackorders: number, remainingBackordered: number, delayedBefore: number, delayedAfter: number, affected: Array<{ filledUnits: number, expectedAtBefore: string | null, expectedAtAfter: string | null, delayedBefore: boolean, delayedAfter: boolean, backorder: { id: string, position: number | null, remaining: number, promisedAt: string | null, order: { id: string, number: string, customer: string } } }> } };

export type DashboardSuppliersQueryVariables = Exact<{
  suppliers: number;
  orders: number;
}>;


export type DashboardSuppliersQuery = { suppliers: { pageInfo: { hasNextPage: boolean }, nodes: Array<{ id: string, name: string, leadTimeDays: number | null, onTimeRate: number | null, averageDelayDays: number | null }> }, late: { totalCount: number, totalCountPrecision: CountPrecision, pageInfo: { hasNextPage: boolean }, nodes: Array<{ id: string, orderNumber: string, sku: string, quantity: number, status: SupplierOrderStatus, late: boolean, expectedShipAt: string | null, createdAt: string, supplier: { id: string } }> }, onTime: { totalCount: number, totalCountPrecision: CountPrecision, pageInfo: { hasNextPage: boolean }, nodes: Array<{ id: string, orderNumber: string, sku: string, quantity: number, status: SupplierOrderStatus, late: boolean, expectedShipAt: string | null, createdAt: string, supplier: { id: string } }> } };

export type DashboardSupplierOrderFragment = { id: string, orderNumber: string, sku: string, quantity: number, status: SupplierOrderStatus, late: boolean, expectedShipAt: string | null, createdAt: string, supplier: { id: string } };

export type DashboardWebhookHealthQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardWebhookHealthQuery = { webhookHealth: { pending: number, failed: number, endpoints: Array<{ endpointId: string, host: string, enabled: boolean, pending: number, failed: number, failing: boolean, oldestPendingAt: string | null, lastDeliveredAt: string | null, lastFailureAt: string | null }> } };

export type EventCursorQueryVariables = Exact<{ [key: string]: never; }>;


export type EventCursorQuery = { eventCursor: string };

export type OrderChangedSubscriptionVariables = Exact<{
  orderIds?: Array<string | number> | string | number | null | undefined;
  customer?: string | null | undefined;
  after?: string | null | undefined;
}>;


export type OrderChangedSubscription = { orderChanged: { cursor: string, at: string, kind: OrderChangeKind, status: OrderStatus, order: { id: string, number: string, status: OrderStatus, delayed: boolean, promisedAt: string | null, expectedAt: string | null } } };

export type ProductsBySkuQueryVariables = Exact<{
  skus: Array<string> | string;
}>;


export type ProductsBySkuQuery = { products: { nodes: Array<{ id: string, sku: string, name: string }> } };

export type RestockChangedSubscriptionVariables = Exact<{
  productIds?: Array<string | number> | string | number | null | undefined;
  after?: string | null | undefined;
}>;


export type RestockChangedSubscription = { restockChanged: { cursor: string, at: string, kind: RestockChangeKind, filledUnits: number, restock: { id: string, status: RestockStatus, quantity: number, receivedQuantity: number, expectedAt: string, receivedAt: string | null, reference: string | null, product: { id: string, sku: string, name: string }, location: { id: string, code: string } } } };

export type StockChangedSubscriptionVariables = Exact<{
  productIds?: Array<string | number> | string | number | null | undefined;
  after?: string | null | undefined;
}>;


export type StockChangedSubscription = { stockChanged: { cursor: string, at: string, reason: ChangeReason, productVersion: number, product: { id: string, sku: string, name: string }, stock: { onHand: number, allocated: number, available: number, backordered: number, incoming: number, projected: number, nextRestockAt: string | null } } };

export type WatchRefundsDueQueryVariables = Exact<{ [key: string]: never; }>;


export type WatchRefundsDueQuery = { refundsDue: { count: number, countPrecision: CountPrecision, oldestPendingAt: string | null, totals: Array<{ count: number, amount: { amount: string, currencyCode: string } }> } };

export type WatchWebhookHealthQueryVariables = Exact<{ [key: string]: never; }>;


export type WatchWebhookHealthQuery = { webhookHealth: { pending: number, failed: number, endpoints: Array<{ endpointId: string, host: string, enabled: boolean, pending: number, failed: number, failing: boolean }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DashboardSupplierOrderFragmentDoc = new TypedDocumentString(`
    fragment DashboardSupplierOrder on SupplierOrder {
  id
  orderNumber
  sku
  quantity
  status
  late
  expectedShipAt
  createdAt
  supplier {
    id
  }
}
    `, {"fragmentName":"DashboardSupplierOrder"}) as unknown as TypedDocumentString<DashboardSupplierOrderFragment, unknown>;
export const BacklogChangedDocument = new TypedDocumentString(`
    subscription BacklogChanged($productIds: [ID!], $after: String) {
  backlogChanged(productIds: $productIds, after: $after) {
    cursor
    at
    reason
    productVersion
    product {
      id
      sku
      name
    }
    backordered
    waitingOrders
    nextExpectedAt
  }
}
    `) as unknown as TypedDocumentString<BacklogChangedSubscription, BacklogChangedSubscriptionVariables>;
export const DashboardDelayedOrdersDocument = new TypedDocumentString(`
    query DashboardDelayedOrders($first: Int!, $after: String) {
  orders(filter: {delayed: true}, first: 0) {
    totalCount
  }
  backlog(filter: {delayed: true}, first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      position
      remaining
      promisedAt
      expectedAt
      etaSource
      createdAt
      product {
        id
        sku
        name
      }
      order {
        id
        number
        customer
        status
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardDelayedOrdersQuery, DashboardDelayedOrdersQueryVariables>;
export const DashboardHistoryCursorDocument = new TypedDocumentString(`
    query DashboardHistoryCursor($back: Int!) {
  eventCursor(back: $back)
}
    `) as unknown as TypedDocumentString<DashboardHistoryCursorQuery, DashboardHistoryCursorQueryVariables>;
export const DashboardMetricsDocument = new TypedDocumentString(`
    query DashboardMetrics {
  backlogMetrics {
    from
    to
    ordersPlaced
    unitsOrdered
    unitsBackordered
    revenueProtected {
      amount
      currencyCode
    }
    lostDemand {
      code
      units
      value {
        amount
        currencyCode
      }
    }
    fillRateAtPlacement
    etaAccuracy
    waitingUnits
    delayedBackorders
    atRiskBackorders
  }
}
    `) as unknown as TypedDocumentString<DashboardMetricsQuery, DashboardMetricsQueryVariables>;
export const DashboardOrderChangedDocument = new TypedDocumentString(`
    subscription DashboardOrderChanged($after: String) {
  orderChanged(after: $after) {
    cursor
    at
    kind
    status
    order {
      id
      number
      delayed
      promisedAt
      expectedAt
      lines {
        quantity
        product {
          id
          sku
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardOrderChangedSubscription, DashboardOrderChangedSubscriptionVariables>;
export const DashboardProductQueueDocument = new TypedDocumentString(`
    query DashboardProductQueue($id: ID!, $first: Int!, $after: String) {
  product(id: $id) {
    id
    sku
    name
    stock {
      available
      backordered
      incoming
      nextRestockAt
    }
    backlog(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        position
        priority
        quantity
        remaining
        delayed
        promisedAt
        expectedAt
        etaSource
        createdAt
        order {
          id
          number
          customer
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardProductQueueQuery, DashboardProductQueueQueryVariables>;
export const DashboardProductsDocument = new TypedDocumentString(`
    query DashboardProducts($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      sku
      name
      backorderPolicy
      stock {
        onHand
        allocated
        available
        backordered
        incoming
        projected
        nextRestockAt
      }
      backlog(first: 0) {
        totalCount
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardProductsQuery, DashboardProductsQueryVariables>;
export const DashboardReceiveRestockDocument = new TypedDocumentString(`
    mutation DashboardReceiveRestock($id: ID!) {
  receiveRestock(id: $id) {
    restock {
      id
      status
      receivedQuantity
    }
    userErrors {
      field
      code
      message
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardReceiveRestockMutation, DashboardReceiveRestockMutationVariables>;
export const DashboardRefundsDocument = new TypedDocumentString(`
    query DashboardRefunds($first: Int!) {
  refundsDue {
    count
    countPrecision
    oldestPendingAt
    totals {
      count
      amount {
        amount
        currencyCode
      }
    }
  }
  refunds(status: PENDING, first: $first) {
    pageInfo {
      hasNextPage
    }
    nodes {
      id
      createdAt
      reason
      amount {
        amount
        currencyCode
      }
      order {
        id
        number
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardRefundsQuery, DashboardRefundsQueryVariables>;
export const DashboardReplenishmentDocument = new TypedDocumentString(`
    query DashboardReplenishment($first: Int!) {
  replenishmentPlan(first: $first) {
    pageInfo {
      hasNextPage
    }
    nodes {
      product {
        id
        sku
        name
        backorderLimit
      }
      dailyDemand
      uncoveredUnits
      suggestedQuantity
      neededBy
      suggestedBackorderLimit
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardReplenishmentQuery, DashboardReplenishmentQueryVariables>;
export const DashboardScheduleRestockDocument = new TypedDocumentString(`
    mutation DashboardScheduleRestock($input: ScheduleRestockInput!) {
  scheduleRestock(input: $input) {
    restock {
      id
      quantity
      expectedAt
      status
    }
    userErrors {
      field
      code
      message
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardScheduleRestockMutation, DashboardScheduleRestockMutationVariables>;
export const DashboardSimulateRestockDocument = new TypedDocumentString(`
    query DashboardSimulateRestock($input: SimulateRestockInput!) {
  simulateRestock(input: $input) {
    filledUnits
    filledBackorders
    remainingBackordered
    delayedBefore
    delayedAfter
    affected {
      filledUnits
      expectedAtBefore
      expectedAtAfter
      delayedBefore
      delayedAfter
      backorder {
        id
        position
        remaining
        promisedAt
        order {
          id
          number
          customer
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardSimulateRestockQuery, DashboardSimulateRestockQueryVariables>;
export const DashboardSuppliersDocument = new TypedDocumentString(`
    query DashboardSuppliers($suppliers: Int!, $orders: Int!) {
  suppliers(first: $suppliers) {
    pageInfo {
      hasNextPage
    }
    nodes {
      id
      name
      leadTimeDays
      onTimeRate
      averageDelayDays
    }
  }
  late: supplierOrders(filter: {late: true}, first: $orders) {
    totalCount
    totalCountPrecision
    pageInfo {
      hasNextPage
    }
    nodes {
      ...DashboardSupplierOrder
    }
  }
  onTime: supplierOrders(filter: {late: false}, first: $orders) {
    totalCount
    totalCountPrecision
    pageInfo {
      hasNextPage
    }
    nodes {
      ...DashboardSupplierOrder
    }
  }
}
    fragment DashboardSupplierOrder on SupplierOrder {
  id
  orderNumber
  sku
  quantity
  status
  late
  expectedShipAt
  createdAt
  supplier {
    id
  }
}`) as unknown as TypedDocumentString<DashboardSuppliersQuery, DashboardSuppliersQueryVariables>;
export const DashboardWebhookHealthDocument = new TypedDocumentString(`
    query DashboardWebhookHealth {
  webhookHealth {
    pending
    failed
    endpoints {
      endpointId
      host
      enabled
      pending
      failed
      failing
      oldestPendingAt
      lastDeliveredAt
      lastFailureAt
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardWebhookHealthQuery, DashboardWebhookHealthQueryVariables>;
export const EventCursorDocument = new TypedDocumentString(`
    query EventCursor {
  eventCursor
}
    `) as unknown as TypedDocumentString<EventCursorQuery, EventCursorQueryVariables>;
export const OrderChangedDocument = new TypedDocumentString(`
    subscription OrderChanged($orderIds: [ID!], $customer: String, $after: String) {
  orderChanged(orderIds: $orderIds, customer: $customer, after: $after) {
    cursor
    at
    kind
    status
    order {
      id
      number
      status
      delayed
      promisedAt
      expectedAt
    }
  }
}
    `) as unknown as TypedDocumentString<OrderChangedSubscription, OrderChangedSubscriptionVariables>;
export const ProductsBySkuDocument = new TypedDocumentString(`
    query ProductsBySku($skus: [String!]!) {
  products(filter: {skus: $skus}, first: 100) {
    nodes {
      id
      sku
      name
    }
  }
}
    `) as unknown as TypedDocumentString<ProductsBySkuQuery, ProductsBySkuQueryVariables>;
export const RestockChangedDocument = new TypedDocumentString(`
    subscription RestockChanged($productIds: [ID!], $after: String) {
  restockChanged(productIds: $productIds, after: $after) {
    cursor
    at
    kind
    filledUnits
    restock {
      id
      status
      quantity
      receivedQuantity
      expectedAt
      receivedAt
      reference
      product {
        id
        sku
        name
      }
      location {
        id
        code
      }
    }
  }
}
    `) as unknown as TypedDocumentString<RestockChangedSubscription, RestockChangedSubscriptionVariables>;
export const StockChangedDocument = new TypedDocumentString(`
    subscription StockChanged($productIds: [ID!], $after: String) {
  stockChanged(productIds: $productIds, after: $after) {
    cursor
    at
    reason
    productVersion
    product {
      id
      sku
      name
    }
    stock {
      onHand
      allocated
      available
      backordered
      incoming
      projected
      nextRestockAt
    }
  }
}
    `) as unknown as TypedDocumentString<StockChangedSubscription, StockChangedSubscriptionVariables>;
export const WatchRefundsDueDocument = new TypedDocumentString(`
    query WatchRefundsDue {
  refundsDue {
    count
    countPrecision
    oldestPendingAt
    totals {
      count
      amount {
        amount
        currencyCode
      }
    }
  }
}
    `) as unknown as TypedDocumentString<WatchRefundsDueQuery, WatchRefundsDueQueryVariables>;
export const WatchWebhookHealthDocument = new TypedDocumentString(`
    query WatchWebhookHealth {
  webhookHealth {
    pending
    failed
    endpoints {
      endpointId
      host
      enabled
      pending
      failed
      failing
    }
  }
}
    `) as unknown as TypedDocumentString<WatchWebhookHealthQuery, WatchWebhookHealthQueryVariables>;
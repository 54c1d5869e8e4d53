/**
 * Every resolver class of the API, in one list for buildSchema.
 */
import type { BuildSchemaOptions } from "type-graphql";
import { ApiKeyResolver } from "./api-key.resolver.js";
import { AuditResolver } from "./audit.resolver.js";
import { BacklogMetricsResolver } from "./backlog-metrics.resolver.js";
import { BackorderResolver } from "./backlog.resolver.js";
import { BackorderExpiryResolver } from "./expiry.resolver.js";
import { LocationResolver } from "./location.resolver.js";
import { NodeResolver } from "./node.resolver.js";
import { OrderLineResolver, OrderResolver } from "./order.resolver.js";
import { ProductResolver } from "./product.resolver.js";
import { RefundLineResolver, RefundResolver } from "./refund.resolver.js";
import { ReplenishmentResolver } from "./replenishment.resolver.js";
import { RestockResolver } from "./restock.resolver.js";
import { RestockSimulationResolver } from "./restock-simulation.resolver.js";
import { StockLevelResolver } from "./stock.resolver.js";
import { SubscriptionResolver } from "./subscription.resolver.js";
import { WebhookDeliveryResolver, WebhookEndpointResolver } from "./webhook.resolver.js";
import {
  BackorderSupplierResolver,
  ProductSupplierResolver,
  QuoteSupplierResolver,
  RestockSupplierResolver,
  SupplierResolver,
} from "./supplier.resolver.js";
import { OrderLineSupplierOrderResolver, SupplierOrderResolver } from "./supplier-order.resolver.js";

export const resolvers: BuildSchemaOptions["resolvers"] = [
  NodeResolver,
  LocationResolver,
  ProductResolver,
  StockLevelResolver,
  OrderResolver,
  OrderLineResolver,
  BackorderResolver,
  BackorderExpiryResolver,
  RestockResolver,
  SupplierResolver,
  ProductSupplierResolver,
  RestockSupplierResolver,
  BackorderSupplierResolver,
  QuoteSupplierResolver,
  SupplierOrderResolver,
  OrderLineSupplierOrderResolver,
  RefundResolver,
  RefundLineResolver,
  RestockSimulationResolver,
  ReplenishmentResolver,
  BacklogMetricsResolver,
  SubscriptionResolver,
  ApiKeyResolver,
  AuditResolver,
  WebhookEndpointResolver,
  WebhookDeliveryResolver,
];

/**
 * Webhook endpoints, their deliveries and their health (docs/ARCHITECTURE.md, "Webhooks").
 * The endpoint's signing secret is never a field: it is shown once, in
 * CreateWebhookEndpointPayload. WebhookHealth is for dashboards (every role): it names an
 * endpoint by its origin only, since a URL's path or query can carry a token.
 */
import "reflect-metadata";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import {
  DELIVERY_STATUSES,
  type DeliveryStatus as DeliveryStatusValue,
  enumOf,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType as WebhookEventTypeValue,
} from "../drizzle/contract.js";
import { connectionOf } from "./connection.js";
import { UserError } from "./errors.js";
import { Node } from "./node.js";
import { DateTimeScalar } from "./scalars.js";

export const WebhookEventType = enumOf(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = WebhookEventTypeValue;
export const DeliveryStatus = enumOf(DELIVERY_STATUSES);
export type DeliveryStatus = DeliveryStatusValue;

registerEnumType(WebhookEventType, {
  name: "WebhookEventType",
  description: 'What an endpoint can subscribe to; sent as `type` in lower-case dotted form (ORDER_DELAYED → "order.delayed").',
});
registerEnumType(DeliveryStatus, {
  name: "DeliveryStatus",
  valuesConfig: {
    PENDING: { description: "Not yet answered with a 2xx: due now, or retried later with backoff." },
    DELIVERED: { description: "The endpoint answered an attempt with a 2xx." },
    FAILED: { description: "Gave up after the last attempt (a dead letter); redeliverWebhooks queues it again." },
  },
});

@ObjectType({ implements: Node, description: "One message of one event for one endpoint, with its attempts so far." })
export class WebhookDelivery implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => WebhookEventType)
  eventType!: WebhookEventType;

  @Field(() => String, { description: "The `webhook-id` header: the same for every attempt and redelivery, so receivers dedupe on it." })
  eventId!: string;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field(() => Int, { description: "Attempts since it was queued (a redelivery starts again at 0)." })
  attempts!: number;

  @Field(() => DateTimeScalar, { nullable: true })
  lastAttemptAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it is due next; null once DELIVERED or FAILED." })
  nextAttemptAt!: Date | null;

  @Field(() => Int, { nullable: true, description: "The HTTP status of the last attempt; null when it got no answer (or none was made)." })
  responseStatus!: number | null;

  @Field(() => String, { nullable: true, description: "Why the last attempt failed (a status, a timeout, a refused connection)." })
  lastError!: string | null;
}

export const WebhookDeliveryConnection = connectionOf(WebhookDelivery, "WebhookDelivery");
export type WebhookDeliveryConnection = InstanceType<typeof WebhookDeliveryConnection>;

@ObjectType({ implements: Node, description: "Where customer-facing changes are POSTed (Standard Webhooks). Its secret is never shown again." })
export class WebhookEndpoint implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [WebhookEventType], { description: "What it subscribes to, in the enum's order." })
  events!: WebhookEventType[];

  @Field(() => Boolean, { description: "A disabled endpoint gets no new deliveries." })
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  // deliveries(status, first, after): a field resolver (server/graphql/resolvers/webhook.resolver.ts).
}

export const WebhookEndpointConnection = connectionOf(WebhookEndpoint, "WebhookEndpoint");
export type WebhookEndpointConnection = InstanceType<typeof WebhookEndpointConnection>;

@ObjectType()
export class CreateWebhookEndpointPayload {
  @Field(() => WebhookEndpoint, { nullable: true })
  endpoint!: WebhookEndpoint | null;

  @Field(() => String, {
    nullable: true,
    description: "The signing secret (whsec_…, Standard Webhooks): verify each delivery's webhook-signature with it. It cannot be read again.",
  })
  secret!: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class WebhookEndpointPayload {
  @Field(() => WebhookEndpoint, { nullable: true, description: "The endpoint as it is now (after deleteWebhookEndpoint: as it was)." })
  endpoint!: WebhookEndpoint | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class RedeliverPayload {
  @Field(() => Int, { description: "Deliveries queued again." })
  queued!: number;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

const BOUNDED = "Counted up to 10,000 (COUNT_BOUND): 10,000 means at least that many.";
const RECENT = "Among the endpoint's newest 1,000 deliveries (by event position).";

@ObjectType({ description: "How one endpoint is doing: no URL path, query or secret (they can carry tokens)." })
export class WebhookEndpointHealth {
  @Field(() => ID, { description: "The WebhookEndpoint's global id (node(id:) answers it to ADMIN keys only)." })
  endpointId!: string;

  @Field(() => String, { description: 'The URL\'s origin only: scheme, host and port ("https://shop.example.com").' })
  host!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => Int, { description: `Deliveries PENDING (due or waiting for a retry). ${BOUNDED}` })
  pending!: number;

  @Field(() => Int, { description: `Dead letters: deliveries FAILED after their last attempt. ${BOUNDED}` })
  failed!: number;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "When the oldest PENDING delivery was queued; null when none is. Past 10,000 pending, the oldest of the 10,000 counted.",
  })
  oldestPendingAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: `The latest attempt answered with a 2xx. ${RECENT} Null when none.` })
  lastDeliveredAt!: Date | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: `The latest failed attempt (of a dead letter, or of a delivery waiting for its retry). ${RECENT} Null when none.`,
  })
  lastFailureAt!: Date | null;

  @Field(() => Boolean, {
    description:
      `True when the endpoint's most recent attempt failed: lastFailureAt is set and later than lastDeliveredAt (or there is no lastDeliveredAt). ` +
      `A dead letter newer than the last success makes it true; older dead letters alone do not (see failed). ${RECENT}`,
  })
  failing!: boolean;
}

@ObjectType({ description: "Webhook delivery at a glance, for dashboards (every role)." })
export class WebhookHealth {
  @Field(() => [WebhookEndpointHealth], { description: "Every endpoint (at most 50), oldest first." })
  endpoints!: WebhookEndpointHealth[];

  @Field(() => Int, { description: "The endpoints' pending added up (each counted up to 10,000)." })
  pending!: number;

  @Field(() => Int, { description: "The endpoints' dead letters added up (each counted up to 10,000)." })
  failed!: number;
}

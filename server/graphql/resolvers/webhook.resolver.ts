/**
 * Webhooks (docs/ARCHITECTURE.md, "Webhooks"): endpoints and their deliveries
 * (ADMIN only: a URL can carry a token, and the deliveries say what the shop's customers were
 * told), the mutations that manage them, and the health figures every role may read.
 */
import "reflect-metadata";
import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { CreateWebhookEndpointInput, UpdateWebhookEndpointInput } from "../../../schema/webhook.input.js";
import {
  CreateWebhookEndpointPayload,
  DeliveryStatus,
  RedeliverPayload,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookEndpoint,
  WebhookEndpointConnection,
  WebhookEndpointPayload,
  WebhookHealth,
} from "../../../schema/webhook.type.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { MANAGE_WEBHOOKS, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { reportWork } from "../limits/object-meter.js";
import { FIELD_WORK, webhookHealthWork } from "../limits/query-cost.js";
import { toGlobalId } from "../node-id.js";
import { fromEventCursor } from "../../services/event-cursor.js";
import { redeliverWebhooks } from "../../services/webhook-delivery.service.js";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  updateWebhookEndpoint,
  type WebhookEndpointRecord,
} from "../../services/webhook-endpoint.service.js";
import { checkDeliveryCursor, listWebhookEndpoints, type WebhookDeliveryRecord, webhookHealth } from "../../services/webhook.query.js";
import { refuse } from "../../services/types.js";
import { checkFirst, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId } from "./payload.js";

const NO_ENDPOINT = { endpoint: null as WebhookEndpointRecord | null };

@Resolver(() => WebhookEndpoint)
export class WebhookEndpointResolver {
  @FieldResolver(() => ID)
  id(@Root() endpoint: WebhookEndpointRecord): string {
    return toGlobalId("WebhookEndpoint", endpoint.id);
  }

  @FieldResolver(() => WebhookDeliveryConnection, {
    description: "Its deliveries, newest first (by event position), of `status` when given; totalCount counts up to 10,000.",
  })
  async deliveries(
    @Root() endpoint: WebhookEndpointRecord,
    @Ctx() context: Context,
    @Arg("status", () => DeliveryStatus, { nullable: true }) status?: DeliveryStatus | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<WebhookDeliveryRecord>> {
    checkFirst(first);
    await readOrBadInput(() => checkDeliveryCursor(after));
    return toConnection(await context.loaders.webhookDeliveryPage.load({ endpointId: endpoint.id, status, first, after }));
  }

  @Authorized(...MANAGE_WEBHOOKS)
  @Query(() => WebhookEndpointConnection, { description: "Every webhook endpoint (at most 50), oldest first. Secrets are never shown again." })
  async webhookEndpoints(
    @Ctx() context: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<WebhookEndpointRecord>> {
    checkFirst(first);
    return toConnection(await readOrBadInput(() => listWebhookEndpoints(context.db, { first, after })));
  }

  @Authorized(...READ)
  @Query(() => WebhookHealth, {
    description: "How webhook delivery is going, per endpoint and in all, for dashboards: origins only, no URL paths or secrets.",
  })
  async webhookHealth(@Ctx() context: Context, @Info() info: GraphQLResolveInfo) {
    const health = await webhookHealth(context.db);
    // Admitted at the endpoints' windows; charged for the windows and the rows the counts found.
    reportWork(
      context,
      info.rootValue,
      FIELD_WORK["Query.webhookHealth"]!(() => undefined),
      webhookHealthWork(health.endpoints.length, health.pending + health.failed),
    );
    return { ...health, endpoints: health.endpoints.map((endpoint) => ({ ...endpoint, endpointId: toGlobalId("WebhookEndpoint", endpoint.endpointId) })) };
  }

  @Authorized(...MANAGE_WEBHOOKS)
  @Mutation(() => CreateWebhookEndpointPayload, {
    description: "Creates an enabled endpoint (at most 50 in all: INVALID_STATE beyond). Its secret is in this answer and nowhere else, ever.",
  })
  createWebhookEndpoint(@Arg("input", () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() context: Context) {
    return mutate(context, { ...NO_ENDPOINT, secret: null as string | null }, async () => {
      const created = await createWebhookEndpoint(context.db, { url: input.url, events: input.events }, context.webhookUrls);
      // The origin only: a URL's path or query may carry the receiver's token.
      context.logger.info("webhook endpoint created", { webhookEndpointId: created.endpoint.id, origin: new URL(created.endpoint.url).origin });
      return created;
    });
  }

  @Authorized(...MANAGE_WEBHOOKS)
  @Mutation(() => WebhookEndpointPayload, { description: "Changes the fields given; the secret stays." })
  updateWebhookEndpoint(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() context: Context,
  ) {
    return mutate(context, NO_ENDPOINT, async () => ({
      endpoint: await updateWebhookEndpoint(context.db, requireNodeId(id, "WebhookEndpoint", ["id"]), input, context.webhookUrls),
    }));
  }

  @Authorized(...MANAGE_WEBHOOKS)
  @Mutation(() => WebhookEndpointPayload, { description: "Deletes the endpoint and its deliveries (pending ones are never sent); answers it as it was." })
  deleteWebhookEndpoint(@Arg("id", () => ID) id: string, @Ctx() context: Context) {
    return mutate(context, NO_ENDPOINT, async () => {
      const endpoint = await deleteWebhookEndpoint(context.db, requireNodeId(id, "WebhookEndpoint", ["id"]));
      context.logger.info("webhook endpoint deleted", { webhookEndpointId: endpoint.id });
      return { endpoint };
    });
  }

  @Authorized(...MANAGE_WEBHOOKS)
  @Mutation(() => RedeliverPayload, {
    description:
      "Queues again every delivery of the endpoint whose event comes after the event cursor `after` (from eventCursor or an event), " +
      "whatever its status, under its original webhook-id (receivers dedupe on it).",
  })
  redeliverWebhooks(@Arg("endpointId", () => ID) endpointId: string, @Arg("after", () => String) after: string, @Ctx() context: Context) {
    return mutate(context, { queued: 0 }, async () => {
      const id = requireNodeId(endpointId, "WebhookEndpoint", ["endpointId"]);
      const seq = fromEventCursor(after);
      if (seq === null) refuse("INVALID_INPUT", "after is not an event cursor", ["after"]);
      const queued = await redeliverWebhooks(context.db, id, seq);
      context.logger.info("webhooks redelivered", { webhookEndpointId: id, afterSeq: seq, queued });
      return { queued };
    });
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @FieldResolver(() => ID)
  id(@Root() delivery: WebhookDeliveryRecord): string {
    return toGlobalId("WebhookDelivery", delivery.id);
  }

  // The column keeps its last due time; a finished delivery is due never.
  @FieldResolver(() => DateTimeScalar, { nullable: true })
  nextAttemptAt(@Root() delivery: WebhookDeliveryRecord): Date | null {
    return delivery.status === "PENDING" ? delivery.nextAttemptAt : null;
  }
}

/** The inputs of createWebhookEndpoint and updateWebhookEndpoint (docs/ARCHITECTURE.md, "Webhooks"). */
import "reflect-metadata";
import { Field, InputType } from "type-graphql";
import { WebhookEventType } from "./webhook.type.js";

@InputType()
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: "An http or https URL without user, password or fragment; at most 2,048 characters." })
  url!: string;

  @Field(() => [WebhookEventType], { description: "At least one; repeats count once (at most as many as WebhookEventType has)." })
  events!: WebhookEventType[];
}

@InputType({ description: "Only the fields given change." })
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => [WebhookEventType], { nullable: true, description: "Replaces the list; at least one." })
  events?: WebhookEventType[] | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}

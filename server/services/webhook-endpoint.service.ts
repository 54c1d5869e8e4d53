/**
 * Webhook endpoints (docs/ARCHITECTURE.md, "Webhooks"): where the shop wants its
 * customer-facing changes POSTed, with the secret each delivery is signed with. Created with a new
 * random secret that is answered once; the API never reads it back (only the delivery worker does).
 */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../drizzle/contract.js";
import { type Database, rows, schema } from "../../drizzle/db.js";
import { inTransaction } from "../../drizzle/transaction.js";
import { nonPublicHost } from "./public-address.js";
import { refuse } from "./types.js";
import { Checks, requireId } from "./validation.js";

const { webhookEndpoints } = schema;

/** An endpoint as the API shows it: everything but its secret. */
export type WebhookEndpointRecord = Omit<typeof schema.webhookEndpoints.$inferSelect, "secret">;

/** The columns of {@link WebhookEndpointRecord}: every read and RETURNING of the API leaves the secret out. */
export const ENDPOINT_COLUMNS = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  events: webhookEndpoints.events,
  enabled: webhookEndpoints.enabled,
  createdAt: webhookEndpoints.createdAt,
  updatedAt: webhookEndpoints.updatedAt,
};

export const WEBHOOK_LIMITS = {
  /** Endpoints in all: every queued event fans out to each subscribed one, so the fan-out stays cheap. */
  endpoints: 50,
  /** Characters of a URL, as given and as normalized (browsers and proxies agree up to about this). */
  url: 2048,
  /** Events an endpoint may list: each type once. */
  events: WEBHOOK_EVENT_TYPES.length,
} as const;

/** Every secret starts with this (Standard Webhooks: the key is the base64 after it). */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

export interface CreateWebhookEndpointInput {
  url: string;
  events: readonly string[];
}

export interface UpdateWebhookEndpointInput {
  url?: string | null;
  events?: readonly string[] | null;
  enabled?: boolean | null;
}

/** Where an endpoint's URL may point. */
export interface WebhookUrlOptions {
  /**
   * WEBHOOK_ALLOW_PRIVATE_URLS: accept a URL whose host is a loopback, private, link-local or
   * otherwise non-public IP address, or `localhost`. Default false (docs/ARCHITECTURE.md, "Webhooks").
   */
  allowPrivateUrls?: boolean;
}

/** An endpoint as created: the record, and its secret, which the API never shows again. */
export interface CreatedWebhookEndpoint {
  endpoint: WebhookEndpointRecord;
  secret: string;
}

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (the HMAC-SHA256 key). */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/**
 * A URL deliveries may be POSTed to, normalized (`URL.href`): http or https, no user or password
 * (they would travel in every request and show in every list), no fragment (never sent), no
 * whitespace or control characters (the URL parser would drop them silently, so what is stored
 * would not be what was typed), at most {@link WEBHOOK_LIMITS.url} characters before and after
 * normalization; unless `allowPrivate`, not `localhost` nor an IP address that is not public (a
 * name is not resolved here: what it resolves to may change, so the worker checks each
 * connection's address). Each problem is an INVALID_INPUT on `field`.
 */
function checkUrl(checks: Checks, value: unknown, field: string[], allowPrivate = false): string | undefined {
  if (typeof value !== "string") return void checks.fail(field, "url must be a string");
  const text = value.trim();
  if (text.length === 0) return void checks.fail(field, "url must not be empty");
  if (text.length > WEBHOOK_LIMITS.url) return void checks.fail(field, `url must be at most ${WEBHOOK_LIMITS.url} characters`);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return void checks.fail(field, "url must not contain whitespace or control characters");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return void checks.fail(field, "url is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return void checks.fail(field, "url must be http or https");
  if (url.username !== "" || url.password !== "") return void checks.fail(field, "url must not contain a user name or password");
  if (text.includes("#")) return void checks.fail(field, "url must not have a fragment (#…)");
  if (url.hostname === "") return void checks.fail(field, "url must name a host");
  const nonPublic = allowPrivate ? undefined : nonPublicHost(url.hostname);
  if (nonPublic) return void checks.fail(field, `url must point at a public address: ${nonPublic}`);
  if (url.href.length > WEBHOOK_LIMITS.url) return void checks.fail(field, `url must be at most ${WEBHOOK_LIMITS.url} characters`);
  return url.href;
}

/**
 * The event types of a list, each once, in the contract's order. Refused (INVALID_INPUT on
 * `field`): not a list, an empty one, one longer than the enum (checked before anything else of
 * it: a list of a million repeats is not read), or a value that is not a `WebhookEventType`.
 */
function checkEvents(checks: Checks, value: unknown, field: string[]): WebhookEventType[] | undefined {
  if (!Array.isArray(value)) return void checks.fail(field, "events must be a list");
  if (value.length === 0) return void checks.fail(field, "events must name at least one event type");
  if (value.length > WEBHOOK_LIMITS.events) return void checks.fail(field, `events may name at most ${WEBHOOK_LIMITS.events} event types`);
  const known = new Set<string>(WEBHOOK_EVENT_TYPES);
  const bad = value.findIndex((type) => typeof type !== "string" || !known.has(type));
  if (bad >= 0) return void checks.fail([...field, String(bad)], `events.${bad} is not a webhook event type`);
  const wanted = new Set<unknown>(value);
  return WEBHOOK_EVENT_TYPES.filter((type) => wanted.has(type));
}

/**
 * Creates an endpoint with a new secret, enabled. INVALID_INPUT (on `input.url`, `input.events`)
 * for a bad URL (one pointing at a non-public address included, unless `options` allow it) or
 * event list; INVALID_STATE when {@link WEBHOOK_LIMITS.endpoints} exist already.
 * The answered secret is the only copy the API ever gives out.
 */
export async function createWebhookEndpoint(
  db: Database,
  input: CreateWebhookEndpointInput,
  options: WebhookUrlOptions = {},
): Promise<CreatedWebhookEndpoint> {
  const checks = new Checks(["input"]);
  const url = checkUrl(checks, input?.url, ["url"], options.allowPrivateUrls);
  const events = checkEvents(checks, input?.events, ["events"]);
  checks.throwIfAny();
  const secret = generateWebhookSecret();
  return inTransaction(db, async (tx) => {
    // SHARE ROW EXCLUSIVE conflicts with itself and with writers: two creations count one after
    // the other, so the cap holds under concurrency; readers (and the worker's reads) never wait.
    await tx.execute(sql`LOCK TABLE ${webhookEndpoints} IN SHARE ROW EXCLUSIVE MODE`);
    const [{ n }] = await rows<{ n: number | string }>(tx, sql`SELECT count(*)::int AS n FROM ${webhookEndpoints}`);
    if (Number(n) >= WEBHOOK_LIMITS.endpoints) {
      refuse("INVALID_STATE", `there are already ${WEBHOOK_LIMITS.endpoints} webhook endpoints, the most allowed: delete one first`);
    }
    const [endpoint] = await tx.insert(webhookEndpoints).values({ url: url!, events: events!, secret }).returning(ENDPOINT_COLUMNS);
    return { endpoint, secret };
  });
}

/**
 * Changes the fields given (null or absent: unchanged) of endpoint `id`; the secret stays.
 * INVALID_INPUT as {@link createWebhookEndpoint} for the URL and events; NOT_FOUND (on `id`) for
 * an endpoint that does not exist. Checked before anything is read.
 */
export async function updateWebhookEndpoint(
  db: Database,
  id: number,
  input: UpdateWebhookEndpointInput,
  options: WebhookUrlOptions = {},
): Promise<WebhookEndpointRecord> {
  const endpointId = requireId(id, ["id"], "webhook endpoint");
  const checks = new Checks(["input"]);
  const changes: { url?: string; events?: WebhookEventType[]; enabled?: boolean } = {};
  if (input?.url !== undefined && input.url !== null) changes.url = checkUrl(checks, input.url, ["url"], options.allowPrivateUrls);
  if (input?.events !== undefined && input.events !== null) changes.events = checkEvents(checks, input.events, ["events"]);
  if (input?.enabled !== undefined && input.enabled !== null) {
    if (typeof input.enabled === "boolean") changes.enabled = input.enabled;
    else checks.fail(["enabled"], "enabled must be true or false");
  }
  checks.throwIfAny();
  return inTransaction(db, async (tx) => {
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(webhookEndpoints.id, endpointId))
      .returning(ENDPOINT_COLUMNS);
    if (!endpoint) refuse("NOT_FOUND", "webhook endpoint not found", ["id"]);
    return endpoint;
  });
}

/**
 * Deletes endpoint `id` and, by the foreign key's cascade, its deliveries (pending ones are never
 * sent); answers it as it was. NOT_FOUND (on `id`) for an endpoint that does not exist.
 */
export async function deleteWebhookEndpoint(db: Database, id: number): Promise<WebhookEndpointRecord> {
  const endpointId = requireId(id, ["id"], "webhook endpoint");
  return inTransaction(db, async (tx) => {
    const [endpoint] = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).returning(ENDPOINT_COLUMNS);
    if (!endpoint) refuse("NOT_FOUND", "webhook endpoint not found", ["id"]);
    return endpoint;
  });
}

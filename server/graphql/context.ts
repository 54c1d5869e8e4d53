/**
 * The request context every resolver receives: the database, the request's DataLoaders, its
 * id, the caller's API key (id and role, never the secret) and a logger that stamps them.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../../drizzle/db.js";
import type { ApiKeyRole } from "../services/types.js";
import type { LoggedEvent } from "../services/event-log.service.js";
import type { WebhookUrlOptions } from "../services/webhook-endpoint.service.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { Logger } from "../logger.js";

/**
 * The events after `after` (every one, when undefined) that `accepts` keeps, from the log and then
 * live. The transport provides it (the WebSocket server, from the event hub in server/live/), so
 * the GraphQL layer depends on this signature, not on the hub; the transport also decides what
 * happens to a subscriber too slow to keep up.
 */
export type LiveEvents = (accepts: (event: LoggedEvent) => boolean, after: number | undefined) => Promise<AsyncIterableIterator<LoggedEvent>>;

/** The key a request was authenticated with: never its secret. */
export interface AuthenticatedKey {
  id: number;
  role: ApiKeyRole;
  name: string;
  /** The non-secret display prefix, for logs. */
  prefix: string;
  /** A SUPPLIER key's supplier: the only one whose orders it sees (docs/ARCHITECTURE.md, "Dropship"). Absent for other roles. */
  supplierId?: number;
}

export interface Context {
  db: Database;
  /** The key the request (or WebSocket connection) authenticated with; the auth checker reads its role. */
  apiKey?: AuthenticatedKey;
  /** The client's IP address (HTTP): whose cost budget a request without a key spends. */
  clientAddress?: string;
  /** The live event log; present on WebSocket connections, which serve subscriptions. */
  liveEvents?: LiveEvents;
  /** Told of a key this request revoked, so the transport's key cache forgets it before the answer goes out. */
  onApiKeyRevoked?: (apiKeyId: number) => void;
  /** Where a webhook endpoint's URL may point (WEBHOOK_ALLOW_PRIVATE_URLS); absent: public addresses only. */
  webhookUrls?: WebhookUrlOptions;
  /** Replaced after every mutation (see `refreshLoaders`). */
  loaders: Loaders;
  requestId: string;
  logger: Logger;
}

export interface ContextOptions {
  db: Database;
  apiKey?: AuthenticatedKey;
  clientAddress?: string;
  liveEvents?: LiveEvents;
  onApiKeyRevoked?: (apiKeyId: number) => void;
  webhookUrls?: WebhookUrlOptions;
  logger: Logger;
  /** Default: a new UUID. */
  requestId?: string;
}

/** A context for one request (or one subscription event). */
export function createContext(options: ContextOptions): Context {
  const requestId = options.requestId ?? randomUUID();
  return {
    db: options.db,
    apiKey: options.apiKey,
    clientAddress: options.clientAddress,
    liveEvents: options.liveEvents,
    onApiKeyRevoked: options.onApiKeyRevoked,
    webhookUrls: options.webhookUrls,
    loaders: createLoaders(options.db),
    requestId,
    logger: options.logger.child(options.apiKey ? { requestId, apiKeyId: options.apiKey.id } : { requestId }),
  };
}

/**
 * Drops everything the request's loaders cached: called after a write, so the payload (and any
 * later mutation of the same operation) reads the state the write committed.
 */
export function refreshLoaders(context: Context): void {
  context.loaders = createLoaders(context.db);
}

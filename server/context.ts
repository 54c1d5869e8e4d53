/**
 * The request context every resolver receives: the database, the request's DataLoaders, its
 * id, the caller's API key (id and role, never the secret) and a logger that stamps them.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../drizzle/db.js";
import type { AuthenticatedKey } from "./auth-checker.js";
import type { EventHub } from "./event-hub.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { Logger } from "./logger.js";

export interface Context {
  db: Database;
  /** The key the request (or WebSocket connection) authenticated with; the auth checker reads its role. */
  apiKey?: AuthenticatedKey;
  /** The client's IP address (HTTP): whose cost budget a request without a key spends. */
  clientAddress?: string;
  /** This instance's event log reader; present on WebSocket connections, which serve subscriptions. */
  hub?: EventHub;
  /** Closes the WebSocket this subscription runs on (a subscriber too slow to keep up). */
  closeConnection?: (code: number, reason: string) => void;
  /** Replaced after every mutation (see `refreshLoaders`). */
  loaders: Loaders;
  requestId: string;
  logger: Logger;
}

export interface ContextOptions {
  db: Database;
  apiKey?: AuthenticatedKey;
  clientAddress?: string;
  hub?: EventHub;
  closeConnection?: (code: number, reason: string) => void;
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
    hub: options.hub,
    closeConnection: options.closeConnection,
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

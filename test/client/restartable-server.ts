/**
 * A test server the client tests can take away and bring back: stopped and started again on the
 * same port over the same database (a server restart), or cut off from the network while it
 * runs (every WebSocket dropped, new ones refused) and then reconnected.
 */
import type { Duplex } from "node:stream";
import type { Connection } from "../../drizzle/db.js";
import { type App, type AppOptions, createApp } from "../../server/http/app.js";
import { createLogger } from "../../server/logger.js";
import { TEST_ADMIN_KEY } from "../support/http.js";

export interface RestartableServer {
  /** The running app; throws while stopped. */
  readonly app: App;
  /** http://127.0.0.1:PORT/graphql: the same across restarts. */
  readonly url: string;
  /** ws://127.0.0.1:PORT/graphql. */
  readonly wsUrl: string;
  /** WebSockets opened so far, over every start. */
  readonly upgrades: number;
  /** Closes the app (subscribers see 1001 Going away); the database stays open. */
  stop(): Promise<void>;
  /** Starts a new app on the same port and database. */
  start(): Promise<void>;
  /** Drops every WebSocket at the TCP level, as a network failure would, and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
}

/**
 * Closing the server destroys its idle keep-alive connections, and on loopback their FIN is in
 * this process's own sockets at once; but fetch's pool (undici, in this same process) drops such
 * a socket only when an event-loop poll reads that FIN. A restart over PGlite can complete in
 * microtasks alone, so without a poll in between, the next fetch to the same port is written on
 * the dead socket and fails with "other side closed". A timer and then an immediate guarantee a
 * poll phase: the pool has let go of every connection to the old server when stop() resolves.
 */
async function letClientsSeeTheClose(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Starts an app on a free port over `connection` (migrated already), with the ADMIN key
 * TEST_ADMIN_KEY (test/support/http.ts). `options` go to every start (e.g. `live`). Log lines
 * are kept in `logLines`.
 */
export async function startRestartableServer(
  connection: Connection,
  options: Partial<AppOptions> = {},
  logLines: string[] = [],
): Promise<RestartableServer> {
  let app: App | undefined;
  let port = 0;
  let upgrades = 0;
  let blocked = false;
  const sockets = new Set<Duplex>();

  const start = async () => {
    const started = await createApp({
      port,
      connection,
      migrate: false,
      delaySweepMs: 0,
      bootstrapAdminKey: TEST_ADMIN_KEY,
      logger: createLogger({ level: "info", write: (line) => logLines.push(line) }),
      ...options,
    });
    // Before ws sees the upgrade: a refused one is destroyed, and ws then lets it go.
    started.httpServer.prependListener("upgrade", (_request, socket: Duplex) => {
      if (blocked) {
        socket.destroy();
        return;
      }
      upgrades += 1;
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    port = started.port;
    app = started;
  };
  await start();

  return {
    get app() {
      if (!app) throw new Error("the server is stopped");
      return app;
    },
    get url() {
      return `http://127.0.0.1:${port}/graphql`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${port}/graphql`;
    },
    get upgrades() {
      return upgrades;
    },
    async stop() {
      const running = app;
      app = undefined;
      await running?.close();
      await letClientsSeeTheClose();
    },
    start,
    cut() {
      blocked = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      blocked = false;
    },
  };
}

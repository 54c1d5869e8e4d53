/**
 * Database faults under a running server (issue 4, item 5), on PostgreSQL only. The server runs
 * in-process on a database of its own and reaches PostgreSQL through a TCP proxy the test
 * controls, with a statement deadline of {@link STATEMENT_TIMEOUT_MS}. The faults: its
 * connections killed (`pg_terminate_backend`), once with a request in flight and again and again
 * under load; the database refusing connections (`ALLOW_CONNECTIONS false`); PostgreSQL going
 * away and coming back (the proxy cuts every connection and refuses new ones, as a restart
 * does); a request stuck behind a lock another session holds.
 *
 * What correct is:
 *  - every request gets an answer within {@link REQUEST_DEADLINE_MS}: data, or HTTP 503 with
 *    `Retry-After` and errors whose `extensions.code` is SERVICE_UNAVAILABLE — never a hang,
 *    never INTERNAL_SERVER_ERROR, never a stack or SQL, and the server logs no error (an outage
 *    is a warning);
 *  - `/readyz` answers 503 with `database: false` while the database cannot be reached, and 200
 *    when it can (after `pg_terminate_backend` postgres.js reconnects at once, so 200 right after
 *    a kill is correct: the database is there);
 *  - the server recovers by itself, without a restart, as soon as the database is back, live
 *    updates included;
 *  - an order answered SERVICE_UNAVAILABLE, placed again with its idempotency key, exists once.
 *
 * First, on both databases: which errors count as the database being unavailable. The suite below
 * needs the PostgreSQL driver's repairs in patches/postgres+3.4.9.patch (without them it crashes
 * the test process and hangs requests: postgres.js 3.4.9 defects, patches/README.md);
 * test/reliability/postgres-driver-patch.test.ts checks that they are installed.
 */
import { createServer, type Server, type Socket, connect as connectSocket } from "node:net";
import { sql } from "drizzle-orm";
import { GraphQLError } from "graphql";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { type App, createApp } from "../../server/http/app.js";
import { isDatabaseUnavailable } from "../../server/graphql/database-unavailable.js";
import { createLogger } from "../../server/logger.js";
import { DomainError } from "../../server/services/types.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { quoteName } from "../support/global-setup.js";
import { type GraphQLBody, TEST_ADMIN_KEY } from "../support/http.js";
import { collect, waitFor } from "../support/live.js";

/** The server's statement deadline here (the default is 10 s; short keeps the test short). */
const STATEMENT_TIMEOUT_MS = 1500;
/** No request may take longer than this, whatever the database does. */
const REQUEST_DEADLINE_MS = 5000;
/** A request the database refuses outright is answered within this. */
const FAST_MS = 1000;

const PLACE_ORDER = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { replayed order { id customer lines { quantity } } userErrors { code } } }`;
const READ_PRODUCT = "query($id: ID!) { product(id: $id) { sku stock { onHand allocated available backordered } } }";

/** A TCP proxy in front of PostgreSQL that can play a restart: cut every connection, refuse new ones, come back. */
interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and stops listening: connecting is refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  };
  const up = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = connectSocket(target.port, target.host);
        track(client);
        track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        // Whatever one side sent before closing still reaches the other (PostgreSQL's FATAL message).
        client.once("close", () => upstream.end());
        upstream.once("close", () => client.end());
      });
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => {
        port = (listening.address() as { port: number }).port;
        server = listening;
        resolve();
      });
    });
  const down = async () => {
    const listening = server;
    server = null;
    if (!listening) return;
    const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await up();
  return {
    get port() {
      return port;
    },
    down,
    up,
    close: down,
  };
}

/** One answer, timed. `status` 0: no answer within the deadline (or none at all). */
interface Answer {
  status: number;
  ms: number;
  body: GraphQLBody;
  text: string;
  retryAfter: string | null;
}

type Outcome = "data" | "unavailable";

/**
 * What an answer is: data, or a proper SERVICE_UNAVAILABLE (503, Retry-After, only that code,
 * nothing internal in the text). Throws with the answer for anything else.
 */
function outcome(answer: Answer, what: string): Outcome {
  const fail = (why: string): never => {
    throw new Error(`${what}: ${why} (HTTP ${answer.status} after ${answer.ms} ms): ${answer.text.slice(0, 400)}`);
  };
  if (answer.status === 0) fail("no answer within the deadline");
  if (answer.ms > REQUEST_DEADLINE_MS) fail("answered after the deadline");
  if (/Failed query|select |insert |update |\bat \/|node_modules|stack/i.test(answer.text)) fail("internals in the answer");
  if (answer.status === 200 && !answer.body.errors?.length) return "data";
  if (answer.status !== 503) fail("neither data nor 503");
  const codes = (answer.body.errors ?? []).map((error) => error.extensions?.code);
  if (codes.length === 0 || codes.some((code) => code !== "SERVICE_UNAVAILABLE")) fail(`codes ${codes.join(",")}`);
  if (answer.retryAfter === null || !(Number(answer.retryAfter) > 0)) fail("no Retry-After");
  return "unavailable";
}

describe("what counts as the database being unavailable", () => {
  /** An error as drizzle hands it over: its own, with the driver's as the cause. */
  const drizzleWrapped = (cause: object) => Object.assign(new Error("Failed query: select 1\nparams: "), { cause });

  it("is a lost, refused or timed-out connection, a session PostgreSQL ended, or a statement past its deadline", () => {
    for (const cause of [
      { code: "CONNECTION_CLOSED" },
      { code: "CONNECTION_ENDED" },
      { code: "CONNECT_TIMEOUT" },
      { code: "ECONNREFUSED" },
      { code: "ECONNRESET" },
      { code: "57P01", severity: "FATAL" },
      { code: "57P03", severity: "FATAL" },
      { code: "08006" },
      { code: "55000", severity: "FATAL" }, // the database does not accept connections
      { code: "3D000", severity: "FATAL" }, // the database is gone
      { code: "57014", severity: "ERROR" }, // statement_timeout
    ]) {
      const error = drizzleWrapped(Object.assign(new Error("driver"), cause));
      expect(isDatabaseUnavailable(error), JSON.stringify(cause)).toBe(true);
      // As a resolver error reaches Apollo's formatError: a GraphQL error around it.
      expect(isDatabaseUnavailable(new GraphQLError("wrapped", { originalError: error })), JSON.stringify(cause)).toBe(true);
    }
  });

  it("is not a failed statement, a business refusal or a bug", () => {
    for (const error of [
      drizzleWrapped(Object.assign(new Error("duplicate key"), { code: "23505", severity: "ERROR" })),
      drizzleWrapped(Object.assign(new Error("deadlock detected"), { code: "40P01", severity: "ERROR" })),
      drizzleWrapped(Object.assign(new Error("not in prerequisite state"), { code: "55000", severity: "ERROR" })),
      new DomainError({ code: "OUT_OF_STOCK", message: "no" }),
      new TypeError("Cannot read properties of undefined"),
      new GraphQLError('Variable "$id" got invalid value', { extensions: { code: "BAD_USER_INPUT" } }),
      "a string",
      null,
    ]) {
      expect(isDatabaseUnavailable(error), String(error)).toBe(false);
    }
  });
});

describeOnPostgres("the server when its database fails", () => {
  const database = useFreshDatabase();
  let proxy: TcpProxy;
  let pool: Connection;
  let app: App;
  let admin: postgres.Sql;
  let name = "";
  let productId = "";
  let productDbId = 0;
  const logLines: string[] = [];
  let keys = 0;

  const readyUrl = () => app.url.replace(/\/graphql$/, "/readyz");

  async function timed(request: () => Promise<Response>): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await request();
      const text = await response.text();
      let body: GraphQLBody = {};
      try {
        body = JSON.parse(text) as GraphQLBody;
      } catch {
        // The text says it.
      }
      return { status: response.status, ms: Math.round(performance.now() - started), body, text, retryAfter: response.headers.get("retry-after") };
    } catch (error) {
      return { status: 0, ms: Math.round(performance.now() - started), body: {}, text: String((error as Error).cause ?? error), retryAfter: null };
    }
  }
  const gql = (query: string, variables: Record<string, unknown> = {}) =>
    timed(() =>
      fetch(app.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(REQUEST_DEADLINE_MS + 1000),
      }),
    );
  const readyz = () => timed(() => fetch(readyUrl(), { signal: AbortSignal.timeout(REQUEST_DEADLINE_MS + 1000) }));
  const orderInput = (customer: string) => ({ customer, lines: [{ productId, quantity: 1 }], idempotencyKey: `${customer}-${++keys}` });

  /** Ends every session on the server's database (the server's and any other), as an operator would. */
  async function killConnections(except: number[] = []): Promise<number> {
    const killed = await admin<{ killed: boolean }[]>`
      SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
      WHERE datname = ${name} AND pid <> pg_backend_pid() AND pid <> ALL(${except}::int[])`;
    return killed.filter((row) => row.killed).length;
  }

  /** Holds a product's row lock in a session of its own until `release`, as a stalled transaction would. */
  async function holdProductLock(): Promise<{ pid: number; release(): Promise<void> }> {
    const holder = postgres(database.url!, { max: 1, onnotice: () => {} });
    const session = await holder.reserve();
    await session`BEGIN`;
    const [{ pid }] = await session<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    await session`SELECT id FROM products WHERE id = ${productDbId} FOR UPDATE`;
    return {
      pid,
      async release() {
        await session`ROLLBACK`.catch(() => {});
        session.release();
        await holder.end({ timeout: 5 });
      },
    };
  }

  /** Waits until one of the server's sessions waits on a lock. */
  const serverWaitsOnLock = () =>
    waitFor(
      async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE datname = ${name} AND wait_event_type = 'Lock'`).length > 0,
      "a request waiting on the lock",
      3000,
    );

  /** The orders of `customer` and the idempotency keys they belong to. */
  async function ordersOf(customer: string) {
    return rows<{ id: number; key: string | null }>(
      database.db,
      sql`SELECT o.id, k.key FROM orders o LEFT JOIN idempotency_keys k ON k.order_id = o.id WHERE o.customer = ${customer}`,
    );
  }

  /** Places each order again with its key; each must now be answered with data. Returns how many were replayed. */
  async function retryOrders(inputs: Record<string, unknown>[]): Promise<{ replayed: number; placed: number }> {
    const counts = { replayed: 0, placed: 0 };
    for (const input of inputs) {
      const answer = await gql(PLACE_ORDER, { input });
      expect(outcome(answer, `retry of ${String(input.idempotencyKey)}`)).toBe("data");
      if (answer.body.data.placeOrder.replayed) counts.replayed += 1;
      else counts.placed += 1;
    }
    return counts;
  }

  beforeAll(async () => {
    const url = new URL(database.url!);
    name = decodeURIComponent(url.pathname.slice(1));
    quoteName(name);
    admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const viaProxy = new URL(database.url!);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    pool = await connect({ databaseUrl: viaProxy.toString(), max: 6, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    app = await createApp({
      port: 0,
      connection: pool,
      migrate: false,
      delaySweepMs: 0,
      bootstrapAdminKey: TEST_ADMIN_KEY,
      limits: { ADMIN: { capacity: 1e9, refillPerSecond: 1e9 } },
      live: { pollMs: 200 },
      logger: createLogger({ level: "warn", write: (line) => logLines.push(line) }),
    });
    productDbId = (await newProduct(database.db, { initialStock: 1000, backorderPolicy: "ALLOW" })).id;
    productId = toGlobalId("Product", productDbId);
  });

  afterAll(async () => {
    // Whatever a failed test left behind: the database takes connections and is reachable again.
    await admin?.unsafe(`ALTER DATABASE ${quoteName(name)} ALLOW_CONNECTIONS true`).catch(() => {});
    await proxy?.up().catch(() => {});
    await app?.close();
    await pool?.close();
    await proxy?.close();
    await admin?.end({ timeout: 5 });
    // An outage is a warning, never an error: nothing reached INTERNAL_SERVER_ERROR.
    const errors = logLines.filter((line) => JSON.parse(line).level === "error");
    expect(errors.slice(0, 3)).toEqual([]);
  });

  it("answers a request whose connection is killed in flight with SERVICE_UNAVAILABLE at once, and its retry places the order once", async () => {
    const lock = await holdProductLock();
    const input = orderInput("faults-in-flight");
    let answer: Answer;
    let sinceKill: number;
    try {
      const inFlight = gql(PLACE_ORDER, { input });
      await serverWaitsOnLock();
      const killedAt = performance.now();
      expect(await killConnections([lock.pid])).toBeGreaterThan(0);
      answer = await inFlight;
      sinceKill = performance.now() - killedAt;
    } finally {
      await lock.release();
    }
    expect(outcome(answer, "the order in flight")).toBe("unavailable");
    expect(sinceKill).toBeLessThan(FAST_MS);
    // Its transaction died with the connection: the retry places it, and a second retry replays it.
    expect(await retryOrders([input, input])).toEqual({ placed: 1, replayed: 1 });
    expect(await ordersOf("faults-in-flight")).toEqual([{ id: expect.any(Number), key: input.idempotencyKey }]);
  });

  it("answers every request during repeated connection kills with data or SERVICE_UNAVAILABLE within its deadline, and recovers without a restart", async () => {
    const customer = "faults-kills";
    const unavailableOrders: Record<string, unknown>[] = [];
    const tally = { data: 0, unavailable: 0, readyz: new Map<number, number>(), slowestMs: 0 };
    let running = true;
    const worker = async (index: number) => {
      while (running) {
        const roll = (index + tally.data + tally.unavailable) % 3;
        if (roll === 2) {
          const answer = await readyz();
          expect(answer.status === 200 || answer.status === 503, `readyz answered ${answer.status}: ${answer.text}`).toBe(true);
          tally.readyz.set(answer.status, (tally.readyz.get(answer.status) ?? 0) + 1);
          tally.slowestMs = Math.max(tally.slowestMs, answer.ms);
          continue;
        }
        const input = orderInput(customer);
        const answer = roll === 0 ? await gql(PLACE_ORDER, { input }) : await gql(READ_PRODUCT, { id: productId });
        tally.slowestMs = Math.max(tally.slowestMs, answer.ms);
        const result = outcome(answer, roll === 0 ? "placeOrder" : "product");
        tally[result] += 1;
        if (result === "unavailable" && roll === 0) unavailableOrders.push(input);
      }
    };
    const workers = Array.from({ length: 6 }, (_, i) => worker(i));
    let kills = 0;
    let killed = 0;
    try {
      for (; kills < 8; kills++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        killed += await killConnections();
      }
    } finally {
      running = false;
      await Promise.all(workers);
    }
    // Recovered by itself: ready, and a read and an order go through.
    await waitFor(async () => (await readyz()).status === 200, "readyz 200 after the kills", REQUEST_DEADLINE_MS);
    expect(outcome(await gql(READ_PRODUCT, { id: productId }), "a read after the kills")).toBe("data");
    expect(outcome(await gql(PLACE_ORDER, { input: orderInput(customer) }), "an order after the kills")).toBe("data");
    // Orders answered SERVICE_UNAVAILABLE: placed again with their keys, each exists once.
    const retried = await retryOrders(unavailableOrders);
    const stored = await ordersOf(customer);
    expect(stored.every((order) => order.key !== null)).toBe(true);
    expect(new Set(stored.map((order) => order.key)).size).toBe(stored.length);
    console.log(
      `db faults: ${kills} kills (${killed} sessions), ${tally.data + tally.unavailable} requests: ${tally.data} data, ${tally.unavailable} SERVICE_UNAVAILABLE; ` +
        `readyz ${[...tally.readyz].map(([status, n]) => `${status}×${n}`).join(" ")}; slowest ${tally.slowestMs} ms; ` +
        `${unavailableOrders.length} orders retried (${retried.replayed} had committed, ${retried.placed} placed now)`,
    );
    expect(tally.data).toBeGreaterThan(0);
  });

  it("reports a database that refuses connections on /readyz, answers SERVICE_UNAVAILABLE fast, and recovers by itself once it accepts them", async () => {
    const input = orderInput("faults-refused");
    await admin.unsafe(`ALTER DATABASE ${quoteName(name)} ALLOW_CONNECTIONS false`);
    try {
      await killConnections();
      await waitFor(async () => (await readyz()).status === 503, "readyz 503 while connections are refused", REQUEST_DEADLINE_MS);
      const ready = await readyz();
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toMatchObject({ status: "unavailable", database: false });
      for (const [what, answer] of [
        ["a read", await gql(READ_PRODUCT, { id: productId })],
        ["an order", await gql(PLACE_ORDER, { input })],
      ] as const) {
        expect(outcome(answer, what)).toBe("unavailable");
        expect(answer.ms).toBeLessThan(FAST_MS);
      }
    } finally {
      await admin.unsafe(`ALTER DATABASE ${quoteName(name)} ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => (await readyz()).status === 200, "readyz 200 once connections are allowed", REQUEST_DEADLINE_MS);
    expect(outcome(await gql(READ_PRODUCT, { id: productId }), "a read after")).toBe("data");
    expect(await retryOrders([input])).toEqual({ placed: 1, replayed: 0 });
  });

  it("rides out PostgreSQL going away and coming back: 503s while it is gone, then orders and live updates flow again", async () => {
    const ORDER_EVENTS = 'subscription { orderChanged(customer: "faults-restart") { kind cursor order { id } } }';
    const subscription = await collect(app.url, ORDER_EVENTS);
    try {
      await waitFor(() => app.hub.subscriberCount > 0, "the subscription to be live");
      await proxy.down();
      try {
        await waitFor(async () => (await readyz()).status === 503, "readyz 503 while PostgreSQL is gone", REQUEST_DEADLINE_MS);
        expect(JSON.parse((await readyz()).text)).toMatchObject({ database: false });
        const answer = await gql(PLACE_ORDER, { input: orderInput("faults-restart") });
        expect(outcome(answer, "an order while PostgreSQL is gone")).toBe("unavailable");
        expect(answer.ms).toBeLessThan(FAST_MS);
        // A subscription started meanwhile fails alone, with the code; its connection stays open.
        const refused = await new Promise<readonly { extensions?: Record<string, unknown> }[]>((resolve) => {
          subscription.client.subscribe(
            { query: ORDER_EVENTS },
            { next: () => {}, error: (errors) => resolve(errors as never), complete: () => resolve([]) },
          );
        });
        expect(refused.map((error) => error.extensions?.code)).toEqual(["SERVICE_UNAVAILABLE"]);
        // A new connection is refused with a close a client retries, not an internal error.
        await expect(collect(app.url, ORDER_EVENTS)).rejects.toThrow(/1011 Database unavailable/);
        expect(subscription.closed).toBeNull();
      } finally {
        await proxy.up();
      }
      await waitFor(async () => (await readyz()).status === 200, "readyz 200 once PostgreSQL is back", REQUEST_DEADLINE_MS);
      const placed = await gql(PLACE_ORDER, { input: orderInput("faults-restart") });
      expect(outcome(placed, "an order once PostgreSQL is back")).toBe("data");
      const orderId = placed.body.data.placeOrder.order.id as string;
      // The event hub follows the log again: the order's event reaches the subscription opened before.
      await waitFor(() => subscription.events.some((event) => event.order?.id === orderId), "the new order's event", REQUEST_DEADLINE_MS);
      expect(subscription.errors).toEqual([]);
      expect(subscription.closed).toBeNull();
    } finally {
      await subscription.dispose();
    }
  });

  it("fails a request stuck behind a lock with SERVICE_UNAVAILABLE at the statement deadline instead of hanging", async () => {
    const lock = await holdProductLock();
    const input = orderInput("faults-lock");
    let answer: Answer;
    try {
      answer = await gql(PLACE_ORDER, { input });
    } finally {
      await lock.release();
    }
    expect(outcome(answer, "an order behind the lock")).toBe("unavailable");
    expect(answer.ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
    expect(answer.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + FAST_MS);
    // Cancelled means rolled back: the retry places it, once.
    expect(await retryOrders([input, input])).toEqual({ placed: 1, replayed: 1 });
    expect((await ordersOf("faults-lock")).length).toBe(1);
  });
});

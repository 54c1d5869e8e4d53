/**
 * `npm run watch` (client/watch.ts) as a user runs it: a child process against a real server,
 * orders placed over HTTP, its output read line by line; across a server restart it carries on
 * and prints each change once; SIGINT ends it with exit code 0. With --refunds and --webhooks it
 * prints the refunds due and webhook delivery health at start and again when they change. Without options it finds the server
 * from HOST and PORT with the development READER key, and a server it cannot reach is said once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../drizzle/db.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { pruneEvents, stampEvents } from "../../server/services/event-log.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL, TEST_ADMIN_KEY } from "../support/http.js";
import { waitFor } from "../support/live.js";
import { type RestartableServer, startRestartableServer } from "./restartable-server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Starting the CLI compiles it with tsx first: allow for a loaded machine. */
const START_MS = 30_000;

const database = useFreshDatabase();
let server: RestartableServer;
const running = new Set<ChildProcess>();
const scratch = mkdtempSync(path.join(tmpdir(), "backorder-watch-"));

beforeAll(async () => {
  server = await startRestartableServer(database.connection);
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Watcher {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs the CLI in one process (`node --import tsx`, what `tsx client/watch.ts` runs) and collects
 * its lines. BACKORDER_API_KEY is the test's ADMIN key unless `extraEnv` says otherwise (undefined: unset).
 */
function runWatch(args: string[], extraEnv: Record<string, string | undefined> = {}): Watcher {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["BACKORDER_URL", "HOST", "PORT", "PGLITE_DIR", "DATABASE_URL"]) delete env[name];
  env.BACKORDER_API_KEY = TEST_ADMIN_KEY;
  for (const [name, value] of Object.entries(extraEnv)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(process.execPath, ["--import", "tsx", "client/watch.ts", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const watcher: Watcher = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) =>
      child.once("exit", (code) => {
        running.delete(child);
        resolve(code);
      }),
    ),
  };
  createInterface({ input: child.stdout! }).on("line", (line) => watcher.stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => watcher.stderr.push(line));
  return watcher;
}

async function started(watcher: Watcher): Promise<void> {
  await waitFor(() => watcher.stderr.some((line) => line.includes(" watching ")) || watcher.child.exitCode !== null, "the CLI to start", START_MS);
  expect(watcher.stderr.join("\n")).toContain(" watching ");
}

async function orderOverHttp(sku: string, quantity: number, customer = "cli@example.com") {
  const response = await postGraphQL(
    server.url,
    `mutation($sku: String!, $q: Int!, $c: String!) { placeOrder(input: { customer: $c, lines: [{ sku: $sku, quantity: $q }] }) { order { number } userErrors { code } } }`,
    { sku, q: quantity, c: customer },
  );
  expect(response.body.data?.placeOrder.userErrors).toEqual([]);
  return response.body.data.placeOrder.order.number as string;
}

const json = (watcher: Watcher): any[] => watcher.stdout.map((line) => JSON.parse(line));

describe("npm run watch", () => {
  it("prints one JSON line per change of the SKUs asked for, with the figures, and exits 0 on SIGINT", async () => {
    const watched = await newProduct(database.db, { initialStock: 2 });
    const other = await newProduct(database.db, { initialStock: 2 });
    const watcher = runWatch(["--url", server.wsUrl, "--json", "--sku", watched.sku]);
    await started(watcher);
    await orderOverHttp(other.sku, 1);
    await orderOverHttp(watched.sku, 3);
    await waitFor(() => watcher.stdout.length >= 2, "a stock line and a backlog line");
    const lines = json(watcher);
    expect(lines.map((line) => line.product?.sku)).toEqual([watched.sku, watched.sku]);
    expect(lines.find((line) => line.type === "stockChanged")).toMatchObject({
      reason: "ORDER_PLACED",
      product: { sku: watched.sku, name: watched.name },
      stock: { onHand: 2, allocated: 2, available: 0, backordered: 1 },
      cursor: expect.any(String),
      at: expect.any(String),
    });
    expect(lines.find((line) => line.type === "backlogChanged")).toMatchObject({ backordered: 1, waitingOrders: 1 });

    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("prints readable lines, orders too with --orders", async () => {
    const watched = await newProduct(database.db, { initialStock: 5 });
    const watcher = runWatch(["--url", server.wsUrl, "--sku", watched.sku, "--orders"]);
    await started(watcher);
    const number = await orderOverHttp(watched.sku, 2);
    await waitFor(() => watcher.stdout.length >= 3, "a stock, a backlog and an order line");
    const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    expect(watcher.stdout).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${time}  ${watched.sku}  stock ORDER_PLACED  on hand 5  allocated 2  available 3  backordered 0 `)),
        expect.stringMatching(new RegExp(`^${time}  ${watched.sku}  backlog ORDER_PLACED  nothing waiting$`)),
        expect.stringMatching(new RegExp(`^${time}  ${number}  order PLACED  READY_TO_SHIP`)),
      ]),
    );
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("keeps going across a server restart and prints what changed while the server was down, each once", async () => {
    const watched = await newProduct(database.db, { initialStock: 50 });
    const watcher = runWatch(["--url", server.wsUrl, "--json", "--sku", watched.sku]);
    await started(watcher);
    const stockLines = () => json(watcher).filter((line) => line.type === "stockChanged");
    await orderOverHttp(watched.sku, 1);
    await waitFor(() => stockLines().length === 1, "the first change");

    await server.stop();
    await waitFor(() => watcher.stderr.some((line) => line.includes(" disconnected ")), "the CLI to report the disconnect");
    const orderDirectly = () => placeOrder(database.db, { customer: "down@example.com", lines: [{ productId: watched.id, quantity: 1 }] });
    for (let i = 0; i < 3; i++) await orderDirectly();
    await server.start();
    // Straight to the database: fetch may still hold a keep-alive socket to the stopped server.
    await orderDirectly();

    await waitFor(() => stockLines().at(-1)?.stock.allocated === 5, "every change up to the one after the restart");
    expect(stockLines().map((line) => line.stock.allocated)).toEqual([1, 2, 3, 4, 5]);
    expect(watcher.stderr.filter((line) => line.includes(" connected ")).length).toBeGreaterThanOrEqual(2);
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("with --after, first prints what changed since that cursor", async () => {
    const watched = await newProduct(database.db, { initialStock: 10 });
    const after = (await postGraphQL(server.url, "{ eventCursor }")).body.data.eventCursor as string;
    await orderOverHttp(watched.sku, 1);
    await orderOverHttp(watched.sku, 2);
    const watcher = runWatch(["--url", server.wsUrl, "--json", "--sku", watched.sku, "--after", after]);
    await started(watcher);
    await waitFor(() => json(watcher).filter((line) => line.type === "stockChanged").length >= 2, "the two changes since the cursor", START_MS);
    expect(
      json(watcher)
        .filter((line) => line.type === "stockChanged")
        .map((line) => line.stock.allocated),
    ).toEqual([1, 3]);
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("with a cursor the server no longer keeps events after, says so in one line and goes on from now", async () => {
    const watched = await newProduct(database.db, { initialStock: 10 });
    const expired = (await postGraphQL(server.url, "{ eventCursor }")).body.data.eventCursor as string;
    await orderOverHttp(watched.sku, 1);
    await orderOverHttp(watched.sku, 1);
    // A retention shorter than the cursor's age: every event but the newest is pruned.
    await stampEvents(database.db, { wait: true });
    await pruneEvents(database.db, new Date(Date.now() + 60_000));
    const watcher = runWatch(["--url", server.wsUrl, "--json", "--sku", watched.sku, "--orders", "--after", expired]);
    await started(watcher);
    await waitFor(() => watcher.stderr.some((line) => line.includes("continuing from now")), "the expiry line", START_MS);
    const number = await orderOverHttp(watched.sku, 3);
    await waitFor(() => json(watcher).some((line) => line.type === "orderChanged"), "the change made after it", START_MS);
    await waitFor(() => json(watcher).some((line) => line.type === "stockChanged"), "its stock line");
    const expiries = watcher.stderr.filter((line) => line.includes("cursor expired"));
    expect(expiries).toHaveLength(1);
    expect(expiries[0]).toContain(`no longer keeps the changes after ${expired}`);
    expect(
      json(watcher)
        .filter((line) => line.type === "stockChanged")
        .map((line) => line.stock.allocated),
    ).toEqual([5]);
    expect(json(watcher).find((line) => line.type === "orderChanged")).toMatchObject({ order: { number } });
    expect(watcher.child.exitCode).toBeNull();
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("without --url or a key, watches the server at HOST and PORT with the development READER key beside PGLITE_DIR", async () => {
    const { secret } = await createApiKey(database.db, { name: "development reader", role: "READER" });
    const dir = mkdtempSync(path.join(scratch, "data-"));
    // What the first npm start writes (server/cli/dev-keys.ts): the file beside the PGlite directory.
    writeFileSync(path.join(dir, "dev-keys.json"), JSON.stringify({ admin: { secret: "bo_not_this_one" }, reader: { secret } }));
    const watched = await newProduct(database.db, { initialStock: 3 });
    const port = new URL(server.url).port;
    const watcher = runWatch(["--json", "--sku", watched.sku], {
      BACKORDER_API_KEY: undefined,
      HOST: "127.0.0.1",
      PORT: port,
      PGLITE_DIR: path.join(dir, "pglite"),
    });
    await started(watcher);
    expect(watcher.stderr.join("\n")).toContain(`using the development READER key from ${path.join(dir, "dev-keys.json")}`);
    expect(watcher.stderr.join("\n")).toContain(` connected ws://127.0.0.1:${port}/graphql`);
    await orderOverHttp(watched.sku, 1);
    await waitFor(() => json(watcher).some((line) => line.type === "stockChanged"), "the change, read with the READER key");
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });

  it("without a key anywhere, says to set BACKORDER_API_KEY and exits 2", async () => {
    const dir = mkdtempSync(path.join(scratch, "empty-"));
    const watcher = runWatch([], { BACKORDER_API_KEY: undefined, PORT: new URL(server.url).port, PGLITE_DIR: path.join(dir, "pglite") });
    expect(await watcher.exited).toBe(2);
    expect(watcher.stderr).toHaveLength(1);
    expect(watcher.stderr[0]).toMatch(/^no API key: set BACKORDER_API_KEY to a READER key/);
    expect(watcher.stderr[0]).toContain(`${path.join(dir, "dev-keys.json")} has none`);
  });

  it("says once that it cannot reach the server, retries with backoff in silence, and goes on when the server is back", async () => {
    const watched = await newProduct(database.db, { initialStock: 3 });
    let attempts = 0;
    const countAttempt = () => void attempts++;
    // Counted before the server refuses it: every attempt, even while cut off.
    server.app.httpServer.prependListener("upgrade", countAttempt);
    server.cut();
    try {
      const watcher = runWatch(["--url", server.wsUrl, "--json", "--sku", watched.sku]);
      // Backoff from 250 ms: the fourth attempt comes within a few seconds.
      await waitFor(() => attempts >= 4, "four attempts to connect", START_MS);
      const unreachable = watcher.stderr.filter((line) => line.includes("cannot reach the server"));
      expect(unreachable).toHaveLength(1);
      expect(unreachable[0]).toContain(`cannot reach the server at ${server.wsUrl} (is it running? \`npm start\`); retrying with backoff`);
      expect(watcher.stderr.filter((line) => line.includes(" connecting "))).toHaveLength(1);
      expect(watcher.stderr.filter((line) => line.includes(" disconnected "))).toEqual([]);

      server.restore();
      await started(watcher);
      await orderOverHttp(watched.sku, 1);
      await waitFor(() => json(watcher).some((line) => line.type === "stockChanged"), "the change after the server came back");
      watcher.child.kill("SIGINT");
      expect(await watcher.exited).toBe(0);
    } finally {
      server.restore();
      server.app.httpServer.off("upgrade", countAttempt);
    }
  });

  it("refuses an unknown SKU with exit code 2", async () => {
    const watcher = runWatch(["--url", server.wsUrl, "--sku", "NO-SUCH-SKU"]);
    expect(await watcher.exited).toBe(2);
    expect(watcher.stderr.join("\n")).toContain("no product with SKU NO-SUCH-SKU");
  });
});

describe("npm run watch --refunds --webhooks", () => {
  /** Places an order of `quantity` units at `price` francs and cancels it over HTTP. */
  async function cancelledOrder(price: string, quantity: number): Promise<void> {
    const product = await newProduct(database.db, { price, currencyCode: "CHF", initialStock: quantity });
    const placed = await postGraphQL(
      server.url,
      `mutation($sku: String!, $q: Int!) { placeOrder(input: { customer: "refund@example.com", lines: [{ sku: $sku, quantity: $q }] }) { order { id } userErrors { code } } }`,
      { sku: product.sku, q: quantity },
    );
    const orderId = placed.body.data?.placeOrder.order.id;
    expect(orderId, placed.text).toEqual(expect.any(String));
    const cancelled = await postGraphQL(server.url, `mutation($id: ID!) { cancelOrder(id: $id) { userErrors { code } } }`, { id: orderId });
    expect(cancelled.body.data?.cancelOrder.userErrors).toEqual([]);
  }

  /** An endpoint whose delivery an hour ago succeeded and whose latest, two minutes ago, was given up. */
  async function failingEndpoint(): Promise<void> {
    const [endpoint] = await database.db
      .insert(schema.webhookEndpoints)
      .values({ url: "https://crm.example.com/hooks/secret-token", secret: "whsec_dGVzdA==", events: ["SUPPLIER_ORDER_CREATED"] })
      .returning();
    const delivery = (eventId: string, status: "DELIVERED" | "FAILED", attempts: number, minutesAgo: number) => ({
      endpointId: endpoint.id,
      eventId,
      eventType: "REFUND_DUE" as const,
      eventSeq: 1,
      payload: {},
      status,
      attempts,
      lastAttemptAt: sql`now() - make_interval(mins => ${minutesAgo})`,
    });
    await database.db.insert(schema.webhookDeliveries).values([delivery("evt_ok", "DELIVERED", 1, 60), delivery("evt_dead", "FAILED", 8, 2)] as never);
  }

  it("prints the refunds due and webhook health at start, and again as JSON lines when a cancellation and a dead letter change them", async () => {
    const watcher = runWatch(["--url", server.wsUrl, "--json", "--refunds", "--webhooks"]);
    await started(watcher);
    const of = (type: string) => json(watcher).filter((line) => line.type === type);
    await waitFor(() => of("refundsDue").length === 1 && of("webhookHealth").length === 1, "the first figures");
    expect(of("refundsDue")[0]).toMatchObject({ count: 0, totals: [], oldestPendingAt: null });
    expect(of("webhookHealth")[0]).toMatchObject({ pending: 0, failed: 0, endpoints: [] });
    expect(watcher.stdout.every((line) => ["refundsDue", "webhookHealth"].includes(JSON.parse(line).type))).toBe(true);

    await cancelledOrder("7.25", 2);
    // Read again on the cancellation's event, well before the 30 s poll.
    await waitFor(() => of("refundsDue").length === 2, "the refunds due after the cancellation", 15_000);
    expect(of("refundsDue")[1]).toMatchObject({
      count: 1,
      countPrecision: "EXACT",
      totals: [{ count: 1, amount: { amount: "14.50", currencyCode: "CHF" } }],
    });

    await failingEndpoint();
    // Deliveries write no event: the 10 s poll sees them.
    await waitFor(() => of("webhookHealth").length === 2, "webhook health after the dead letter", 25_000);
    expect(of("webhookHealth")[1]).toMatchObject({
      pending: 0,
      failed: 1,
      endpoints: [{ host: "https://crm.example.com", enabled: true, failed: 1, pending: 0, failing: true }],
    });
    expect(of("refundsDue"), "a poll that finds nothing new prints nothing").toHaveLength(2);
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  }, 60_000);

  it("prints them as readable lines in the style of the changes", async () => {
    const watcher = runWatch(["--url", server.wsUrl, "--refunds", "--webhooks"]);
    await started(watcher);
    await waitFor(() => watcher.stdout.length >= 2, "the refunds and webhook lines");
    const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    expect(watcher.stdout).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${time}  refunds  due  1 refund pending  14\\.50 CHF \\(1\\)  oldest \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z$`)),
        expect.stringMatching(
          new RegExp(
            `^${time}  webhooks  health  1 endpoint  pending 0  dead letters 1  FAILING https://crm\\.example\\.com \\(1 dead letter, 0 pending\\)$`,
          ),
        ),
      ]),
    );
    expect(watcher.stdout.join("\n")).not.toContain("secret-token");
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
  });
});

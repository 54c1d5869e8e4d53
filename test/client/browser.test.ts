/**
 * The subscriber in a real browser (Chromium through playwright-core): client/subscriber.ts
 * bundled for the browser as a dashboard would bundle it, on the browser's own WebSocket,
 * receiving a change and resuming after the network drops. Skipped, with a line that says so,
 * where /usr/bin/chromium is missing (.ci/run installs it).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { placeOrder } from "../../server/services/order.service.js";
import { newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { TEST_ADMIN_KEY } from "../support/http.js";
import { type RestartableServer, startRestartableServer } from "./restartable-server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`skipped: no Chromium at ${CHROMIUM} (.ci/run installs Debian's package)`);

describe.skipIf(!hasChromium)("the subscriber in a browser", () => {
  const database = useFreshDatabase();
  let server: RestartableServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startRestartableServer(database.connection);
    // What a dashboard's bundler does: the library alone, for browsers, exposed as a global here.
    const bundle = await build({
      entryPoints: [path.join(root, "client/subscriber.ts")],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "BackorderClient",
      write: false,
      logLevel: "silent",
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("receives changes on the browser's WebSocket and resumes after the network drops", async () => {
    const product = await newProduct(database.db, { initialStock: 10 });
    await page.evaluate(
      async ({ url, authorization, productId }) => {
        const scope = globalThis as any;
        scope.events = [];
        scope.statuses = [];
        scope.subscriber = scope.BackorderClient.createSubscriber({
          url,
          authorization,
          retry: { minMs: 20, maxMs: 200 },
          onStatus: (status: string) => scope.statuses.push(status),
        });
        await scope.subscriber.stockChanged({ productIds: [productId] }, (event: any) => scope.events.push(event)).started;
      },
      { url: server.wsUrl, authorization: `Bearer ${TEST_ADMIN_KEY}`, productId: toGlobalId("Product", product.id) },
    );
    const order = () => placeOrder(database.db, { customer: "browser@example.com", lines: [{ productId: product.id, quantity: 1 }] });
    await order();
    await page.waitForFunction(() => (globalThis as unknown as { events: unknown[] }).events.length === 1, null, { timeout: 10_000 });

    server.cut();
    await page.waitForFunction(() => (globalThis as unknown as { subscriber: { status: string } }).subscriber.status !== "connected", null, {
      timeout: 10_000,
    });
    await order();
    await order();
    server.restore();
    await page.waitForFunction(() => (globalThis as unknown as { events: unknown[] }).events.length >= 3, null, { timeout: 10_000 });

    const seen = await page.evaluate(() => {
      const scope = globalThis as any;
      return { allocated: scope.events.map((event: any) => event.stock.allocated), statuses: scope.statuses };
    });
    expect(seen.allocated).toEqual([1, 2, 3]);
    expect(seen.statuses).toEqual(expect.arrayContaining(["connecting", "connected", "disconnected"]));
    await page.evaluate(() => (globalThis as unknown as { subscriber: { dispose(): Promise<void> } }).subscriber.dispose());
  });
});

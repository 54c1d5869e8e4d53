/**
 * `npx tsx test/browser/readme-screenshot.ts [out.png]`: makes the README's pictures of the
 * dashboard (default docs/dashboard.png, and beside it dashboard-queue.png and
 * dashboard-delayed.png). Starts the API on an in-memory database with the demo catalogue
 * (server/cli/seed.ts), opens /dashboard in headless Chromium with a READER key, then acts as the shop
 * would through the API over HTTP — orders, a restock received, one scheduled, one moved (which
 * delays its customers), a stock count. Half of it happens while the page is closed: the page
 * opened again replays those events from the log (and the ones it showed before), then follows the
 * rest live, so the feed and the chart show both; a full-page screenshot. Then a product's queue
 * (HOODIE-GRY-L, opened by its SKU) and the delayed orders (opened from their tile), each as the
 * window shows it. Not a test (not run by `npm test`).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../../server/http/app.js";
import { createLogger } from "../../server/logger.js";
import { seedDemo } from "../../server/cli/seed.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { API_KEY_STORAGE, launchChromium } from "../support/browser.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const output = path.resolve(process.argv[2] ?? path.join(root, "docs", "dashboard.png"));
const beside = (name: string) => path.join(path.dirname(output), `${path.basename(output, ".png")}-${name}.png`);
const DAY = 86_400_000;
/** Between two actions, so the chart shows steps rather than one jump. */
const PAUSE_MS = 1_500;

const adminKey = `bo_readme_${randomBytes(24).toString("base64url")}`;
const app = await createApp({
  port: 0,
  pgliteDir: "memory://",
  prepare: async (db) => void (await seedDemo(db)),
  bootstrapAdminKey: adminKey,
  delaySweepMs: 0,
  logger: createLogger({ level: "warn" }),
});
const browser = await launchChromium();

/** One operation with the ADMIN key; throws on any error or userError. */
async function api(query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(app.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, { userErrors?: unknown[] }>; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  for (const payload of Object.values(body.data ?? {})) {
    if (payload?.userErrors?.length) throw new Error(JSON.stringify(payload.userErrors));
  }
  return body.data;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

try {
  const { secret } = await createApiKey(app.db, { name: "readme screenshot", role: "READER" });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  await context.addInitScript(({ storage, key }) => localStorage.setItem(storage, key), { storage: API_KEY_STORAGE, key: secret });
  const open = async () => {
    const opened = await context.newPage();
    opened.on("pageerror", (error) => console.error("page error:", error.message));
    opened.on("console", (message) => {
      if (message.type() === "error") console.error("page console:", message.text());
    });
    await opened.goto(new URL("/dashboard", app.url).href);
    await opened.waitForFunction(
      () =>
        document.body.dataset.ready === "true" &&
        Array.from(document.querySelectorAll('#products td[data-field="delayed"]')).every((cell) => (cell as HTMLElement).dataset.value !== ""),
      null,
      { timeout: 20_000 },
    );
    return opened;
  };
  // A first visit: the page keeps where its history begins.
  let page = await open();

  const { restocks } = await api(`{ restocks(filter: { status: SCHEDULED }, first: 100) { nodes { id product { sku } } } }`);
  const restockOf = (sku: string) => restocks.nodes.find((restock: { product: { sku: string } }) => restock.product.sku === sku).id as string;
  const { product: cap } = await api(`{ product(sku: "CAP-LOGO") { id } }`);
  const { product: tshirt } = await api(`{ product(sku: "TSHIRT-BLK-M") { id } }`);
  const order = (customer: string, lines: { sku: string; quantity: number }[]) =>
    api(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code message } } }`, {
      input: { customer, lines },
    });

  const actions = [
    () => order("xavier@example.com", [{ sku: "HOODIE-GRY-L", quantity: 2 }]),
    () =>
      order("yara@example.com", [
        { sku: "SNEAKER-RUN-42", quantity: 1 },
        { sku: "MUG-CERAMIC", quantity: 2 },
      ]),
    () => api(`mutation($id: ID!) { receiveRestock(id: $id) { restock { id } userErrors { code message } } }`, { id: restockOf("SOCKS-3PK") }),
    () =>
      api(`mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code message } } }`, {
        input: { productId: cap.id, quantity: 50, expectedAt: new Date(Date.now() + 6 * DAY).toISOString(), reference: "PO-CAP-LOGO-6" },
      }),
    () => order("zoe@example.com", [{ sku: "CHAIR-ERGO", quantity: 3 }]),
    () =>
      api(`mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) { restock { id } userErrors { code message } } }`, {
        id: restockOf("MONITOR-27"),
        at: new Date(Date.now() + 24 * DAY).toISOString(),
      }),
    () =>
      api(`mutation($input: AdjustStockInput!) { adjustStock(input: $input) { stockLevel { onHand } userErrors { code message } } }`, {
        input: { productId: tshirt.id, delta: 24, reason: "returns back on the shelf" },
      }),
    () =>
      order("ana@example.com", [
        { sku: "HOODIE-GRY-L", quantity: 1 },
        { sku: "HEADPHONES-BT", quantity: 2 },
      ]),
  ];
  for (const [index, action] of actions.entries()) {
    // The first half while no page is open, then the page opened again.
    if (index === 2) await page.close();
    if (index === Math.floor(actions.length / 2)) page = await open();
    await pause();
    await action();
  }
  // Every action on the page, and the recounts of delayed backorders done.
  await page.waitForFunction((expected) => document.querySelectorAll("#feed li").length >= expected, actions.length, { timeout: 20_000 });
  await page.waitForFunction(
    () => (document.querySelector('#products tr[data-sku="MONITOR-27"] td[data-field="delayed"]') as HTMLElement | null)?.dataset.value === "2",
    null,
    { timeout: 20_000 },
  );
  await pause();
  mkdirSync(path.dirname(output), { recursive: true });
  await page.screenshot({ path: output, fullPage: true, animations: "disabled" });
  const saved = (file: string) => console.log(`${path.relative(process.cwd(), file)}: ${Math.round(statSync(file).size / 1024)} KB`);
  saved(output);

  const ready = (view: string) => page.waitForSelector(`#detail[data-view="${view}"][data-ready="true"][data-loading="false"]`, { timeout: 20_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.click('#products tr[data-sku="HOODIE-GRY-L"] a.sku');
  await ready("queue");
  await page.screenshot({ path: beside("queue"), animations: "disabled" });
  saved(beside("queue"));
  await page.click('[data-tile="delayed"]');
  await ready("delayed");
  await page.mouse.move(0, 0);
  await page.screenshot({ path: beside("delayed"), animations: "disabled" });
  saved(beside("delayed"));
} finally {
  await browser.close();
  await app.close();
}

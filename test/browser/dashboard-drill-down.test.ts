/**
 * The dashboard's past and its closer looks, in real headless Chromium over the demo catalogue
 * with a READER key: a first visit shows the last events of the log; a page opened again shows the
 * events its feed showed last and those made while it was closed (replayed from the event log); a product's SKU opens its queue in queue order; the
 * delayed orders view lists every late backorder; and none of it breaks the page's
 * Content-Security-Policy. Screenshots: artifacts/screenshots/dashboard-drill-down--*.png.
 */
import type { BrowserContext, Page } from "playwright-core";
import { beforeAll, expect, it } from "vitest";
import { seedDemo } from "../../server/cli/seed.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

/** What the page reported that it must not: console errors and Content-Security-Policy violations. */
interface Complaints {
  console: string[];
  violations(): Promise<string[]>;
}

/** Records console errors and CSP violations of `page` (its context's pages get the listener before any script). */
async function watch(context: BrowserContext, page: Page): Promise<Complaints> {
  await context.addInitScript(() => {
    const found: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = found;
    document.addEventListener("securitypolicyviolation", (event) => found.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  const console: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") console.push(message.text());
  });
  return {
    console,
    violations: () => page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []),
  };
}

async function expectNoComplaints(complaints: Complaints): Promise<void> {
  expect(await complaints.violations(), "Content-Security-Policy violations").toEqual([]);
  expect(complaints.console, "console errors").toEqual([]);
}

/** Waits until the page has its snapshot and every delayed count. */
async function waitForSnapshot(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const cells = Array.from(document.querySelectorAll('#products td[data-field="delayed"]')) as HTMLElement[];
      return document.body.dataset.ready === "true" && cells.length > 0 && cells.every((cell) => cell.dataset.value !== "");
    },
    null,
    { timeout: UI_TIMEOUT_MS },
  );
}

/** The subjects (order numbers, SKUs) of the feed's lines, top to bottom. */
function feedSubjects(page: Page): Promise<string[]> {
  return page.$$eval("#feed li .text strong", (nodes) => nodes.map((node) => node.textContent ?? ""));
}

/** Waits for the detail card to show `view` read to the end; returns its rows' data attributes. */
async function detailRows(page: Page, view: "queue" | "delayed"): Promise<Record<string, string | undefined>[]> {
  await page.waitForSelector(`#detail[data-view="${view}"][data-ready="true"][data-loading="false"]`, { timeout: UI_TIMEOUT_MS });
  return page.$$eval("#detail tbody tr", (rows) => rows.map((row) => ({ ...(row as HTMLElement).dataset })));
}

describeWithBrowser("the dashboard's history, queues and delayed orders", () => {
  const database = useFreshDatabase();
  const server = useTestServer(database);
  const chromium = useBrowser("dashboard-drill-down");
  let readerKey: string;

  const order = async (customer: string, sku: string, quantity: number): Promise<string> => {
    const data = await server.data(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code message } } }`, {
      input: { customer, lines: [{ sku, quantity }] },
    });
    expect(data.placeOrder.userErrors).toEqual([]);
    return data.placeOrder.order.number;
  };

  /** A product that backorders everything (no stock), and its id. */
  const emptyProduct = async (name: string): Promise<{ id: string; sku: string }> => {
    const sku = uniqueSku("QUEUE");
    const data = await server.data(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id sku } userErrors { code message } } }`,
      { input: { sku, name, price: "12.00", backorderPolicy: "ALLOW", leadTimeDays: 10 } },
    );
    return data.createProduct.product;
  };

  beforeAll(async () => {
    await seedDemo(database.db);
    readerKey = (await createApiKey(database.db, { name: "drill-down test reader", role: "READER" })).secret;
  });

  it("opened again, replays the events its feed showed and those made while it was closed, oldest below", async () => {
    const first = await chromium.newPage({ apiKey: readerKey });
    const context = first.context();
    await first.goto(new URL("/dashboard", server.url).href);
    await waitForSnapshot(first);
    // A first visit replays the last events of the log (eventCursor(back:)): the demo's orders are there.
    await first.waitForFunction(() => document.querySelectorAll("#feed li.past").length > 0, null, { timeout: UI_TIMEOUT_MS });
    const seen = await order("first-visit@example.com", "HOODIE-GRY-L", 1);
    await first.waitForSelector(`#feed li:has-text("${seen}")`, { timeout: UI_TIMEOUT_MS });
    await first.close();

    // While no page is open.
    const missed = await order("while-closed@example.com", "MUG-CERAMIC", 2);
    const { product } = await server.data(`{ product(sku: "CAP-LOGO") { id } }`);
    await server.data(`mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code message } } }`, {
      input: { productId: product.id, quantity: 40, expectedAt: daysFromNow(4).toISOString(), reference: "PO-WHILE-CLOSED" },
    });

    const page = await context.newPage();
    const complaints = await watch(context, page);
    await page.goto(new URL("/dashboard", server.url).href);
    await waitForSnapshot(page);
    // Newest first; below them, the demo's history this browser's feed began with. Each kind of event
    // replays on its own subscription, oldest first: the three newest lines settle once all have caught up.
    await expect.poll(async () => (await feedSubjects(page)).slice(0, 3), { timeout: UI_TIMEOUT_MS }).toEqual(["CAP-LOGO", missed, seen]);
    expect(await page.$$eval("#feed li", (lines) => lines.every((line) => line.classList.contains("past")))).toBe(true);
    // The chart starts with the replayed past: more than the one point the snapshot gives.
    const steps = () => page.$$eval("#chart path.line", (paths) => (paths[0]?.getAttribute("d") ?? "").split("V").length - 1);
    await expect.poll(steps, { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(2);

    // Then live, each event once: a new one on top, none of the replayed ones twice.
    const live = await order("live@example.com", "MUG-CERAMIC", 1);
    await page.waitForSelector(`#feed li.new:has-text("${live}")`, { timeout: UI_TIMEOUT_MS });
    const subjects = await feedSubjects(page);
    expect(subjects.slice(0, 4)).toEqual([live, "CAP-LOGO", missed, seen]);
    expect(subjects.filter((subject) => subject === live || subject === missed || subject === seen)).toHaveLength(3);
    await expectNoComplaints(complaints);
    await page.close();
  });

  it("with a kept history start that is not a cursor of this server (a new database), starts without history and stays live", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.context().addInitScript(() => localStorage.setItem("backorder.dashboard.historyStart", "ZXY6OTk5OTk5OTk"));
    const complaints = await watch(page.context(), page);
    await page.goto(new URL("/dashboard", server.url).href);
    await waitForSnapshot(page);
    const live = await order("after-reset@example.com", "MUG-CERAMIC", 1);
    await page.waitForSelector(`#feed li.new:has-text("${live}")`, { timeout: UI_TIMEOUT_MS });
    expect(await page.getAttribute("#connection", "data-state")).toBe("live");
    expect(await page.isHidden("#banner")).toBe(true);
    // The next page starts from this one's cursor instead.
    expect(await page.evaluate(() => localStorage.getItem("backorder.dashboard.historyStart"))).not.toBe("ZXY6OTk5OTk5OTk");
    await expectNoComplaints(complaints);
    expectNoPageErrors(chromium);
  });

  it("opens a product's queue from its SKU: every waiting backorder in queue order with its position, pseudonymous customer and dates", async () => {
    const product = await emptyProduct("Queue test lamp");
    const numbers = [
      await order("ana@example.com", product.sku, 2),
      await order("ben@example.com", product.sku, 1),
      await order("cleo@example.com", product.sku, 3),
    ];
    // Cleo's backorder jumps the queue.
    const { product: queued } = await server.data(`query($id: ID!) { product(id: $id) { backlog(first: 10) { nodes { id order { number } } } } }`, {
      id: product.id,
    });
    const cleo = queued.backlog.nodes.find((node: { order: { number: string } }) => node.order.number === numbers[2]);
    await server.data(`mutation($id: ID!) { prioritizeBackorder(id: $id, priority: 5) { backorder { position } userErrors { code message } } }`, {
      id: cleo.id,
    });

    const page = await chromium.newPage({ apiKey: readerKey });
    const complaints = await watch(page.context(), page);
    await page.goto(new URL("/dashboard", server.url).href);
    await waitForSnapshot(page);
    await page.click(`#products tr[data-sku="${product.sku}"] a.sku`);

    const rows = await detailRows(page, "queue");
    expect(rows.map((row) => [row.position, row.order])).toEqual([
      ["1", numbers[2]],
      ["2", numbers[0]],
      ["3", numbers[1]],
    ]);
    for (const row of rows) expect(row.customer, "a READER sees pseudonyms").toMatch(/^customer-[0-9a-f]{10}$/);
    expect(await page.textContent("#detail .title")).toBe(`Queue of ${product.sku}`);
    expect(await page.textContent("#detail .hint")).toContain("3 backorders waiting for 6 units");
    expect(await page.$$eval("#detail tbody tr:first-child td.date", (cells) => cells.map((cell) => (cell as HTMLElement).dataset.value ?? ""))).toEqual([
      expect.any(String),
      expect.stringMatching(/^\d{4}-/),
      expect.stringMatching(/^\d{4}-/),
    ]);
    expect(page.url()).toContain(`#/products/${encodeURIComponent(product.id)}`);

    // Kept current: a new order joins the end of the queue.
    const fourth = await order("dan@example.com", product.sku, 1);
    await page.waitForSelector(`#detail tbody tr[data-order="${fourth}"][data-position="4"]`, { timeout: UI_TIMEOUT_MS });
    await chromium.screenshot(page, "a product's queue");

    await page.click("#detail .close");
    await page.waitForSelector("#detail", { state: "hidden" });
    await expectNoComplaints(complaints);
    expectNoPageErrors(chromium);
  });

  it("lists every delayed order from the tile, and one that becomes late appears", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    const complaints = await watch(page.context(), page);
    await page.goto(new URL("/dashboard", server.url).href);
    await waitForSnapshot(page);
    await page.click('[data-tile="delayed"]');

    const { backlog, orders } = await server.data(
      `{ orders(filter: { delayed: true }, first: 0) { totalCount } backlog(filter: { delayed: true }, first: 100) { totalCount nodes { order { number } product { sku } } } }`,
    );
    expect(backlog.totalCount, "the demo has late customers").toBeGreaterThan(0);
    const rows = await detailRows(page, "delayed");
    expect(rows.map((row) => [row.order, row.sku])).toEqual(
      backlog.nodes.map((node: { order: { number: string }; product: { sku: string } }) => [node.order.number, node.product.sku]),
    );
    expect(await page.textContent("#detail .hint")).toContain(
      `${orders.totalCount} order${orders.totalCount === 1 ? "" : "s"} late, on ${backlog.totalCount} backorder`,
    );
    expect(await page.textContent("#detail tbody tr:first-child .late-by")).toMatch(/late|no expected date|promise passed/);

    // A restock moved past its customers' promise makes them late, and the view shows it.
    const product = await emptyProduct("Late lamp");
    const { scheduleRestock } = await server.data(
      `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code message } } }`,
      { input: { productId: product.id, quantity: 5, expectedAt: daysFromNow(3).toISOString() } },
    );
    const late = await order("late@example.com", product.sku, 2);
    await server.data(
      `mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) { restock { id } userErrors { code message } } }`,
      {
        id: scheduleRestock.restock.id,
        at: daysFromNow(20).toISOString(),
      },
    );
    const row = await page.waitForSelector(`#detail tbody tr[data-order="${late}"]`, { timeout: UI_TIMEOUT_MS });
    expect(await row.textContent()).toContain("17 days late");
    await chromium.screenshot(page, "the delayed orders");

    // Its SKU opens that product's queue.
    await page.click(`#detail tbody tr[data-order="${late}"] a.sku`);
    expect((await detailRows(page, "queue")).map((entry) => [entry.position, entry.order, entry.delayed])).toEqual([["1", late, undefined]]);
    expect(await page.getAttribute("#detail tbody tr td[data-delayed]", "data-delayed")).toBe("true");
    await expectNoComplaints(complaints);
    expectNoPageErrors(chromium);
  });
});

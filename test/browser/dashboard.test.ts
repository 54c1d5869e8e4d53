/**
 * The dashboard (/dashboard) in real headless Chromium, over the demo catalogue, with a READER
 * key: it shows every product as the API reports it; it follows orders and restocks that another
 * client makes through the API; and when the server goes away it says so, and when the server is
 * back (a restart on the same port and database) it says that too and catches up on what
 * happened meanwhile. Screenshots: artifacts/screenshots/dashboard--*.png.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { seedDemo } from "../../server/cli/seed.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { pruneEvents, stampEvents } from "../../server/services/event-log.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import type { ProductRecord } from "../../server/services/types.js";
import { type RestartableServer, startRestartableServer } from "../client/restartable-server.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { daysFromNow, newProduct } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL } from "../support/http.js";

/** A product's line in the table, as numbers (the cells' data-value). */
interface TableRow {
  sku: string;
  onHand: number;
  allocated: number;
  available: number;
  backordered: number;
  incoming: number;
  nextRestockAt: string | null;
  delayed: number | null;
}

function tableRows(page: Page): Promise<TableRow[]> {
  return page.$$eval("#products tr", (rows) =>
    rows.map((row) => {
      const value = (field: string) => (row.querySelector(`td[data-field="${field}"]`) as HTMLElement).dataset.value ?? "";
      const number = (field: string) => (value(field) === "" ? null : Number(value(field)));
      return {
        sku: (row as HTMLElement).dataset.sku!,
        onHand: number("onHand")!,
        allocated: number("allocated")!,
        available: number("available")!,
        backordered: number("backordered")!,
        incoming: number("incoming")!,
        nextRestockAt: value("nextRestockAt") || null,
        delayed: number("delayed"),
      };
    }),
  );
}

/** Waits until the row of `sku` has `field` equal to `expected` (its data-value). */
async function waitForCell(page: Page, sku: string, field: string, expected: number): Promise<void> {
  await page.waitForFunction(
    ({ sku, field, expected }) => {
      const cell = document.querySelector(`#products tr[data-sku="${sku}"] td[data-field="${field}"]`) as HTMLElement | null;
      return cell?.dataset.value === String(expected);
    },
    { sku, field, expected },
    { timeout: UI_TIMEOUT_MS },
  );
}

/** Waits for a line of the feed containing `text`; returns that line's text. */
async function waitForFeedLine(page: Page, text: string): Promise<string> {
  const line = await page.waitForSelector(`#feed li:has-text("${text}")`, { timeout: UI_TIMEOUT_MS });
  return (await line.textContent()) ?? "";
}

/** Waits for the first snapshot and every delayed count. */
async function waitForSnapshot(page: Page, products: number): Promise<void> {
  await page.waitForFunction(
    (products) => {
      const cells = Array.from(document.querySelectorAll('#products td[data-field="delayed"]')) as HTMLElement[];
      return document.body.dataset.ready === "true" && cells.length === products && cells.every((cell) => cell.dataset.value !== "");
    },
    products,
    { timeout: UI_TIMEOUT_MS },
  );
}

describeWithBrowser("the dashboard in a browser", () => {
  const database = useFreshDatabase();
  const chromium = useBrowser("dashboard");
  let server: RestartableServer;
  let readerKey: string;

  const api = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const response = await postGraphQL(server.url, query, variables);
    expect(response.body.errors, response.text).toBeUndefined();
    for (const payload of Object.values(response.body.data ?? {})) {
      expect((payload as { userErrors?: unknown[] } | null)?.userErrors ?? [], response.text).toEqual([]);
    }
    return response.body.data;
  };
  const order = (customer: string, sku: string, quantity: number) =>
    api(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number status } userErrors { code message } } }`, {
      input: { customer, lines: [{ sku, quantity }] },
    });

  beforeAll(async () => {
    await seedDemo(database.db);
    server = await startRestartableServer(database.connection);
    readerKey = (await createApiKey(database.db, { name: "dashboard test reader", role: "READER" })).secret;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function openDashboard(): Promise<Page> {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.goto(new URL("/dashboard", server.url).href);
    const { products } = await api(`{ products(first: 0) { totalCount } }`);
    await waitForSnapshot(page, products.totalCount);
    return page;
  }

  it("shows every product with the figures and delayed counts the API reports", async () => {
    const page = await openDashboard();

    const { products } = await api(`{ products(first: 100) { nodes { sku stock { onHand allocated available backordered incoming nextRestockAt } } } }`);
    const { backlog } = await api(`{ backlog(filter: { delayed: true }, first: 100) { totalCount nodes { product { sku } } } }`);
    const delayedBySku = new Map<string, number>();
    for (const { product } of backlog.nodes) delayedBySku.set(product.sku, (delayedBySku.get(product.sku) ?? 0) + 1);
    const expected = products.nodes.map(({ sku, stock }: { sku: string; stock: Omit<TableRow, "sku" | "delayed"> }) => ({
      sku,
      ...stock,
      delayed: delayedBySku.get(sku) ?? 0,
    }));

    expect(expected).toHaveLength(20);
    expect(backlog.totalCount, "the demo has late customers").toBeGreaterThan(0);
    expect(await tableRows(page)).toEqual(expected);
    expect(await page.textContent('[data-tile="delayed"] .value')).toBe(String(backlog.totalCount));
    expect(await page.getAttribute("#connection", "data-state")).toBe("live");
    await expect.poll(() => page.isHidden("#banner")).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("updates when another client places an order and schedules and receives a restock", async () => {
    const page = await openDashboard();
    const hoodie = (await tableRows(page)).find((row) => row.sku === "HOODIE-GRY-L")!;
    const chartPoints = () => page.$$eval("#chart path.line", (paths) => (paths[0]?.getAttribute("d") ?? "").split("V").length - 1);
    const stepsBefore = await chartPoints();

    const placed = await order("browser@example.com", "HOODIE-GRY-L", 3);
    await waitForCell(page, "HOODIE-GRY-L", "backordered", hoodie.backordered + 3);
    expect(await waitForFeedLine(page, placed.placeOrder.order.number)).toContain("3 × HOODIE-GRY-L");

    const { product } = await api(`{ product(sku: "HOODIE-GRY-L") { id } }`);
    const scheduled = await api(
      `mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id } userErrors { code message } } }`,
      { input: { productId: product.id, quantity: 500, expectedAt: daysFromNow(1).toISOString(), reference: "PO-BROWSER-TEST" } },
    );
    await waitForCell(page, "HOODIE-GRY-L", "incoming", hoodie.incoming + 500);
    expect(await waitForFeedLine(page, "PO-BROWSER-TEST")).toContain("500 units expected");

    // A partial receipt first: the feed says so, and the rest stays incoming.
    const receive = (quantity?: number) =>
      api(
        `mutation($id: ID!, $quantity: Int) { receiveRestock(id: $id, quantity: $quantity) {
          restock { status receivedQuantity } fills { backorder { id } filledUnits } userErrors { code message } } }`,
        { id: scheduled.scheduleRestock.restock.id, quantity },
      );
    const filledBy = (payload: { receiveRestock: { fills: { filledUnits: number }[] } }) =>
      payload.receiveRestock.fills.reduce((sum, fill) => sum + fill.filledUnits, 0);
    const partly = await receive(2);
    expect(partly.receiveRestock.restock).toEqual({ status: "PARTIALLY_RECEIVED", receivedQuantity: 2 });
    expect(filledBy(partly)).toBe(2);
    await waitForCell(page, "HOODIE-GRY-L", "incoming", hoodie.incoming + 498);
    const partLine = await waitForFeedLine(page, "received 2 of 500 units (partly received)");
    expect(partLine).toContain("498 still expected");
    expect(partLine).toContain("filled 2 backordered units");
    expect(partLine).not.toContain("received all");

    const rest = await receive();
    expect(rest.receiveRestock.restock).toEqual({ status: "RECEIVED", receivedQuantity: 500 });
    expect(filledBy(rest)).toBe(hoodie.backordered + 1);
    await waitForCell(page, "HOODIE-GRY-L", "backordered", 0);
    await waitForCell(page, "HOODIE-GRY-L", "delayed", 0);
    await waitForCell(page, "HOODIE-GRY-L", "incoming", hoodie.incoming);
    const fullLine = await waitForFeedLine(page, "received all 500 units");
    expect(fullLine).toContain(`filled ${hoodie.backordered + 1} backordered unit`);
    expect(fullLine).not.toContain("partly");

    // The totals and the chart follow: the backlog went up by 3, then down by all of the hoodie's.
    const rows = await tableRows(page);
    const total = rows.reduce((sum, row) => sum + row.backordered, 0);
    await expect.poll(() => page.textContent('[data-tile="backordered"] .value')).toBe(String(total));
    expect(await page.getAttribute("#chart svg", "aria-label")).toContain(`now ${total}`);
    expect(await chartPoints()).toBeGreaterThanOrEqual(stepsBefore + 2);
    expectNoPageErrors(chromium);
  });

  it("shows a banner when the server goes away, recovers after a restart and shows what happened meanwhile", async () => {
    const page = await openDashboard();
    const socks = (await tableRows(page)).find((row) => row.sku === "SOCKS-3PK")!;

    await server.stop();
    await page.waitForSelector('#banner[data-state="down"]', { state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#banner")).toMatch(/Connection lost at .* reconnecting/);
    expect(await page.getAttribute("#connection", "data-state")).toBe("down");
    await chromium.screenshot(page, "while the server is down");

    // Made while the dashboard cannot hear: straight into the database, as another instance would.
    const missed = await placeOrder(database.db, { customer: "offline@example.com", lines: [{ sku: "SOCKS-3PK", quantity: socks.available + 4 }] });
    await server.start();

    await page.waitForSelector('#banner[data-state="recovered"]', { state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#banner")).toContain("nothing was missed");
    expect(await page.evaluate(() => ({ ...document.body.dataset }))).toMatchObject({ connection: "live", drops: "1", recoveries: "1" });
    const line = await waitForFeedLine(page, missed.order.number);
    expect(line).toContain("caught up");
    await waitForCell(page, "SOCKS-3PK", "backordered", socks.backordered + 4);
    await waitForCell(page, "SOCKS-3PK", "available", 0);

    // And it is live again, not only caught up.
    const after = await order("back@example.com", "SOCKS-3PK", 1);
    await waitForCell(page, "SOCKS-3PK", "backordered", socks.backordered + 5);
    expect(await waitForFeedLine(page, after.placeOrder.order.number)).not.toContain("caught up");
    expectNoPageErrors(chromium);
  });
  it("reloads its snapshot and says so when the server no longer keeps the events it missed", async () => {
    const page = await openDashboard();
    const bottle = (await tableRows(page)).find((row) => row.sku === "BOTTLE-STEEL")!;

    await server.stop();
    await page.waitForSelector('#banner[data-state="down"]', { state: "visible", timeout: UI_TIMEOUT_MS });
    await placeOrder(database.db, { customer: "long-gone@example.com", lines: [{ sku: "BOTTLE-STEEL", quantity: 2 }] });
    await placeOrder(database.db, { customer: "long-gone@example.com", lines: [{ sku: "BOTTLE-STEEL", quantity: 3 }] });
    // Away for longer than the server keeps events: all but the newest are pruned.
    await stampEvents(database.db, { wait: true });
    await pruneEvents(database.db, new Date(Date.now() + 60_000));
    await server.start();

    await page.waitForSelector('#banner[data-state="reloaded"]', { state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#banner")).toContain("the figures were reloaded from a fresh snapshot");
    await waitForCell(page, "BOTTLE-STEEL", "allocated", bottle.allocated + 5);
    expect(await waitForFeedLine(page, "Reloaded")).toContain("changes in between are not listed");
    expect(await page.getAttribute("#connection", "data-state")).toBe("live");
    await chromium.screenshot(page, "after reloading the snapshot");

    // And it is live again after the reload.
    await order("back-again@example.com", "BOTTLE-STEEL", 1);
    await waitForCell(page, "BOTTLE-STEEL", "allocated", bottle.allocated + 6);
    expectNoPageErrors(chromium);
  });

  it("with a key the server does not know, says the key was refused and shows no data", async () => {
    const page = await chromium.newPage({ apiKey: "bo_not_a_key_the_server_knows_0123456789" });
    await page.goto(new URL("/dashboard", server.url).href);

    await page.waitForSelector('#banner[data-state="refused"]', { state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#banner")).toContain("UNAUTHENTICATED");
    expect(await page.getAttribute("#connection", "data-state")).toBe("refused");
    expect(await page.$$("#products tr")).toHaveLength(0);
    expectNoPageErrors(chromium);
  });

  // Last: it adds products the tests above do not expect.
  it("lists hundreds of products page by page, with the delayed counts of every one", async () => {
    const created: ProductRecord[] = [];
    for (let index = 0; index < 230; index += 1) created.push(await newProduct(database.db, { name: `Bulk product ${index}`, initialStock: index % 7 }));
    // Two late customers far down the list: promised in 5 days, then the restock moved to 15.
    for (const index of [150, 229]) {
      const product = created[index];
      const restock = await scheduleRestock(database.db, { productId: product.id, quantity: 5, expectedAt: daysFromNow(5) });
      // Its stock (index % 7 units), and 3 units to wait.
      await placeOrder(database.db, { customer: "late@example.com", lines: [{ productId: product.id, quantity: (index % 7) + 3 }] });
      await rescheduleRestock(database.db, restock.id, daysFromNow(15));
    }

    const page = await openDashboard();

    const rows = await tableRows(page);
    expect(rows).toHaveLength(250);
    expect(rows.slice(20).map((row) => row.sku)).toEqual(created.map((product) => product.sku));
    expect(rows.filter((row) => row.sku === created[150].sku || row.sku === created[229].sku)).toEqual([
      expect.objectContaining({ sku: created[150].sku, backordered: 3, delayed: 1 }),
      expect.objectContaining({ sku: created[229].sku, backordered: 3, delayed: 1 }),
    ]);
    expect(await page.textContent("#product-count")).toBe("250 products");
    await page.fill("#filter", created[229].sku);
    await expect
      .poll(() => page.$$eval("#products tr:not([hidden])", (visible) => visible.map((row) => (row as HTMLElement).dataset.sku)))
      .toEqual([created[229].sku]);
    expectNoPageErrors(chromium);
  }, 60_000);
});

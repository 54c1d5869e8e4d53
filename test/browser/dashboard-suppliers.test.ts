/**
 * The dashboard's "Suppliers" card (docs/ARCHITECTURE.md, "Supplier dashboard") in real headless
 * Chromium, over a real server, with a READER key: a supplier's reliability from a history of
 * received restocks computed by hand (on time 2 of 4, late 0, 2, 0 and 4 days: 50%, 1.5 days), its
 * open dropship orders awaiting acknowledgement and late to ship (an OPEN order moved back past
 * the lead time with SQL, as time would), the oldest to chase listed first with its number, SKU,
 * quantity, supplier, ship date and age; an order placed by another client shows without a
 * reload (its order event); the card's query fits a READER's cost limits.
 * Screenshots: artifacts/screenshots/dashboard-suppliers--*.png.
 */
import { sql } from "drizzle-orm";
import type { Page } from "playwright-core";
import { beforeAll, expect, it } from "vitest";
import { DashboardSuppliersDocument } from "../../client/generated/graphql.js";
import { SUPPLIER_ORDER_PAGE, SUPPLIER_ROWS, SUPPLIERS_POLL_MS } from "../../client/dashboard/suppliers.view.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { DEFAULT_QUERY_LIMITS } from "../../server/graphql/limits/query-limits.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { placeOrder } from "../../server/services/order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { newProduct, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { supplierHistory } from "../support/suppliers.js";

describeWithBrowser("the dashboard's suppliers card", () => {
  const database = useFreshDatabase();
  const server = useTestServer(database, { webhooks: { enabled: false } });
  const chromium = useBrowser("dashboard-suppliers");
  let readerKey: string;

  beforeAll(async () => {
    readerKey = (await createApiKey(database.db, { name: "suppliers test reader", role: "READER" })).secret;
  });

  async function openDashboard(): Promise<Page> {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.goto(new URL("/dashboard", server.url).href);
    await page.waitForSelector('#suppliers[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    return page;
  }

  /** A supplier with a lead time of 3 days and a DROPSHIP product of it; with `lateDays`, that history of received restocks. */
  async function dropshipSupplier(lateDays: number[] = []) {
    const supplier = await createSupplier(database.db, { name: uniqueSku("Kayak works"), leadTimeDays: 3 });
    if (lateDays.length > 0) await supplierHistory(database.db, supplier.id, lateDays);
    const product = await newProduct(database.db, { fulfillment: "DROPSHIP", supplierId: supplier.id, price: "649.00" });
    return { supplier, product, id: toGlobalId("Supplier", supplier.id) };
  }

  /** The cells of a row by field: raw value and text. */
  const cells = (page: Page, row: string) =>
    page.$eval(row, (tr) =>
      Object.fromEntries(Array.from(tr.querySelectorAll("td")).map((td) => [td.dataset.field, { value: td.dataset.value, text: td.textContent }])),
    );
  const figure = (page: Page, name: string) => page.getAttribute(`#suppliers [data-metric="${name}"] .value`, "data-value");

  it("shows a supplier's reliability, what it has not acknowledged, and its late order first in the list", async () => {
    const { supplier, product, id } = await dropshipSupplier([0, 2, -1, 4]);
    const late = await placeOrder(database.db, { customer: "late@example.com", lines: [{ productId: product.id, quantity: 2 }] });
    // Ordered 4 days ago with a 3-day lead time: due a day ago, never acknowledged.
    await database.db.execute(sql`UPDATE supplier_orders SET created_at = created_at - interval '4 days' WHERE order_id = ${late.order.id}`);
    const fresh = await placeOrder(database.db, { customer: "fresh@example.com", lines: [{ productId: product.id, quantity: 1 }] });

    const page = await openDashboard();
    const row = await cells(page, `#suppliers .supplier-rows tr[data-supplier-id="${id}"]`);
    expect(row.name.value).toBe(supplier.name);
    expect(row.name.text).toContain("lead time 3 days");
    expect(Number(row.onTimeRate.value)).toBe(0.5);
    expect(row.onTimeRate.text).toMatch(/50\s?%/);
    expect(Number(row.averageDelayDays.value)).toBeCloseTo(1.5, 9);
    expect(row.averageDelayDays.text).toBe("1.5 days");
    expect(row.awaiting.value).toBe("2");
    expect(row.late.value).toBe("1");
    // The supplier with something late is at the top.
    expect(await page.getAttribute("#suppliers .supplier-rows tr:first-child", "data-supplier-id")).toBe(id);

    const chase = await page.$$eval("#suppliers .chase-rows tr", (rows) => rows.map((tr) => (tr as HTMLElement).dataset.late));
    expect(chase).toEqual(["true", "false"]);
    const first = await cells(page, "#suppliers .chase-rows tr:first-child");
    expect(first.order.value).toBe(late.order.number);
    expect(first.order.text).toContain("not acknowledged");
    expect(first.sku.value).toBe(product.sku);
    expect(first.quantity.value).toBe("2");
    expect(first.supplier.value).toBe(supplier.name);
    expect(Math.abs(new Date(first.expectedShipAt.value!).getTime() - (Date.now() - 86_400_000))).toBeLessThan(60_000);
    expect(first.expectedShipAt.text).toContain("yesterday");
    expect(first.age.text).toBe("4 days");
    expect((await cells(page, "#suppliers .chase-rows tr:nth-child(2)")).order.value).toBe(fresh.order.number);

    expect(await figure(page, "late")).toBe("1");
    expect(await figure(page, "awaiting")).toBe("2");
    expect(await figure(page, "open")).toBe("2");
    expect(await page.getAttribute('#suppliers [data-metric="late"]', "data-tone")).toBe("bad");
    expect(await page.isHidden("#suppliers .notice")).toBe(true);
    // The dashboard's READER key: no customer on the page.
    expect(await page.textContent("#suppliers")).not.toContain("@example.com");
    expectNoPageErrors(chromium);
  });

  it("shows an order placed by another client without a reload, and a supplier without history as such", async () => {
    const { product, id } = await dropshipSupplier();
    const page = await openDashboard();
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    expect((await cells(page, `#suppliers .supplier-rows tr[data-supplier-id="${id}"]`)).onTimeRate.text).toBe("no history");

    const placed = await server.data(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code } } }`, {
      input: { customer: "live@example.com", lines: [{ sku: product.sku, quantity: 3 }] },
    });
    expect(placed.placeOrder.userErrors).toEqual([]);
    const number = placed.placeOrder.order.number;
    // Well before the card's poll: the order's event brought it.
    await page.waitForSelector(`#suppliers .chase-rows td[data-field="order"][data-value="${number}"]`, {
      timeout: Math.min(UI_TIMEOUT_MS, SUPPLIERS_POLL_MS - 5_000),
    });
    await page.waitForSelector('#suppliers[data-loading="false"]');
    const row = await cells(page, `#suppliers .supplier-rows tr[data-supplier-id="${id}"]`);
    expect(row.awaiting.value).toBe("1");
    expect(row.late.value).toBe("0");
    const line = await cells(page, `#suppliers .chase-rows tr:has(td[data-field="order"][data-value="${number}"])`);
    expect(line.quantity.value).toBe("3");
    expect(line.age.text).toBe("just now");
    expect(line.expectedShipAt.text).toContain("in 3 days");
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("asks for the card within a READER's cost limits", async () => {
    const response = await server.gql(
      DashboardSuppliersDocument.toString(),
      { suppliers: SUPPLIER_ROWS, orders: SUPPLIER_ORDER_PAGE },
      { key: readerKey },
    );
    expect(response.body.errors, response.text).toBeUndefined();
    const cost = (response.body as { extensions: { cost: { requested: number; actual: number } } }).extensions.cost;
    console.log(`cost requested / charged: suppliers card ${cost.requested} / ${cost.actual}`);
    expect(cost.requested).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.maxCost);
    // Polled every 30 s besides the order events: at its admission price, a small share of a READER's refill.
    expect(cost.requested / (SUPPLIERS_POLL_MS / 1000)).toBeLessThan(DEFAULT_QUERY_LIMITS.READER.refillPerSecond / 5);
  });
});

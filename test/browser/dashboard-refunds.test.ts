/**
 * The dashboard's "Refunds due" and "Webhook deliveries" cards (docs/parts/dashboard.md) in real
 * headless Chromium, over a real server, with a READER key: a shop that owes nothing and has no
 * endpoint says so; an order cancelled by another client shows in the refunds card without a
 * reload (the cancellation's event), with its amount, order number and reason; webhook delivery
 * rows written to the database (the worker is off, so they stay as written) show at the card's
 * next poll as an endpoint failing with one dead letter. Both cards' queries fit a READER's cost
 * limits. Screenshots: artifacts/screenshots/dashboard-refunds--*.png.
 */
import { sql } from "drizzle-orm";
import type { Page } from "playwright-core";
import { beforeAll, expect, it } from "vitest";
import { DashboardRefundsDocument, DashboardWebhookHealthDocument } from "../../client/generated/graphql.js";
import { REFUND_LINES } from "../../client/dashboard/refunds-due.view.js";
import { WEBHOOKS_POLL_MS } from "../../client/dashboard/webhook-health.view.js";
import { schema } from "../../drizzle/db.js";
import { DEFAULT_QUERY_LIMITS } from "../../server/graphql/limits/query-limits.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

describeWithBrowser("the dashboard's refunds due and webhook deliveries", () => {
  const database = useFreshDatabase();
  // The worker off: the delivery rows the test writes are what the card must show, untouched.
  const server = useTestServer(database, { webhooks: { enabled: false } });
  const chromium = useBrowser("dashboard-refunds");
  let readerKey: string;

  beforeAll(async () => {
    readerKey = (await createApiKey(database.db, { name: "refunds test reader", role: "READER" })).secret;
  });

  async function openDashboard(): Promise<Page> {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.goto(new URL("/dashboard", server.url).href);
    await page.waitForSelector('#refunds[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    await page.waitForSelector('#webhooks[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    return page;
  }

  /** A figure's raw value (`data-value`). */
  const figure = (page: Page, card: string, name: string) => page.getAttribute(`#${card} [data-metric="${name}"] .value`, "data-value");

  /** Places an order of `quantity` units at `price` and cancels it over HTTP, as another client would; its number. */
  async function cancelledOrder(price: string, quantity: number): Promise<string> {
    const created = await server.data(`mutation($input: CreateProductInput!) { createProduct(input: $input) { product { sku } userErrors { code } } }`, {
      input: { sku: uniqueSku("REFUND"), name: "Refunded lamp", price, backorderPolicy: "ALLOW", initialStock: quantity },
    });
    const placed = await server.data(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id number } userErrors { code } } }`, {
      input: { customer: "refund@example.com", lines: [{ sku: created.createProduct.product.sku, quantity }] },
    });
    const cancelled = await server.data(`mutation($id: ID!) { cancelOrder(id: $id) { refund { amount { amount } } userErrors { code } } }`, {
      id: placed.placeOrder.order.id,
    });
    expect(cancelled.cancelOrder.userErrors).toEqual([]);
    return placed.placeOrder.order.number;
  }

  it("says that nothing is owed and that there is no webhook endpoint", async () => {
    const page = await openDashboard();
    expect(await figure(page, "refunds", "pending")).toBe("0");
    expect(await page.textContent("#refunds .notice")).toContain("Nothing owed");
    expect(await page.$$("#refunds tbody tr")).toHaveLength(0);
    expect(await figure(page, "webhooks", "endpoints")).toBe("0");
    expect(await page.textContent("#webhooks .notice")).toContain("No webhook endpoints");
    expect(await page.isHidden("#banner")).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("shows an order cancelled by another client as a refund due, without a reload", async () => {
    const page = await openDashboard();
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const number = await cancelledOrder("12.50", 2);

    await page.waitForSelector(`#refunds tbody tr td[data-field="order"][data-value="${number}"]`, { timeout: UI_TIMEOUT_MS });
    await page.waitForSelector('#refunds[data-loading="false"]');
    expect(JSON.parse((await figure(page, "refunds", "owed"))!)).toEqual([{ amount: "25.00", currencyCode: "USD", count: 1 }]);
    expect(await figure(page, "refunds", "pending")).toBe("1");
    expect(await page.textContent('#refunds [data-metric="owed"] .value')).toMatch(/25\.00/);
    const row = await page.$eval("#refunds tbody tr", (tr) =>
      Object.fromEntries(Array.from(tr.querySelectorAll("td")).map((td) => [td.dataset.field, { value: td.dataset.value, text: td.textContent }])),
    );
    expect(row.order.value).toBe(number);
    expect(JSON.parse(row.amount.value!)).toEqual({ amount: "25.00", currencyCode: "USD" });
    expect(row.reason).toEqual({ value: "CANCELLED", text: "cancelled" });
    expect(row.age.text).toBe("just now");
    expect(await page.isHidden("#refunds .notice")).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("shows an endpoint whose latest delivery was given up as failing, with one dead letter, at the next poll", async () => {
    const page = await openDashboard();
    const [endpoint] = await database.db
      .insert(schema.webhookEndpoints)
      .values({ url: "https://crm.example.com/hooks/secret-token", secret: "whsec_dGVzdA==", events: ["SUPPLIER_ORDER_CREATED"] })
      .returning();
    const delivery = (id: string, status: "DELIVERED" | "FAILED" | "PENDING", attempts: number, minutesAgo: number | null) => ({
      endpointId: endpoint.id,
      eventId: id,
      eventType: "REFUND_DUE" as const,
      eventSeq: 1,
      payload: {},
      status,
      attempts,
      lastAttemptAt: minutesAgo === null ? null : sql`now() - make_interval(mins => ${minutesAgo})`,
    });
    await database.db
      .insert(schema.webhookDeliveries)
      .values([delivery("evt_ok", "DELIVERED", 1, 60), delivery("evt_dead", "FAILED", 8, 2), delivery("evt_waiting", "PENDING", 0, null)] as never);

    const row = `#webhooks tbody tr[data-failing="true"]`;
    await page.waitForSelector(row, { timeout: WEBHOOKS_POLL_MS + UI_TIMEOUT_MS });
    await page.waitForSelector('#webhooks[data-loading="false"]');
    const cells = await page.$eval(row, (tr) =>
      Object.fromEntries(Array.from(tr.querySelectorAll("td")).map((td) => [td.dataset.field, { value: td.dataset.value, text: td.textContent }])),
    );
    expect(cells.host.value).toBe("https://crm.example.com");
    expect(JSON.stringify(cells), "the URL's path (a token) is never shown").not.toContain("secret-token");
    expect(cells.state.text).toBe("failing");
    expect(cells.failed.value).toBe("1");
    expect(cells.pending.value).toBe("1");
    expect(cells.lastDeliveredAt.text).toBe("1 h ago");
    expect(cells.lastFailureAt.text).toBe("2 min ago");
    expect(await figure(page, "webhooks", "failed")).toBe("1");
    expect(await figure(page, "webhooks", "pending")).toBe("1");
    expect(await figure(page, "webhooks", "endpoints")).toBe("1");
    expect(await page.getAttribute('#webhooks [data-metric="failed"]', "data-tone")).toBe("bad");
    expect(await page.isHidden("#webhooks .notice")).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("asks for both cards within a READER's cost limits", async () => {
    const cost = async (query: string, variables: Record<string, unknown>) => {
      const response = await server.gql(query, variables, { key: readerKey });
      expect(response.body.errors, response.text).toBeUndefined();
      return (response.body as { extensions: { cost: { requested: number; actual: number } } }).extensions.cost;
    };
    const refunds = await cost(DashboardRefundsDocument.toString(), { first: REFUND_LINES });
    const webhooks = await cost(DashboardWebhookHealthDocument.toString(), {});
    console.log(
      `cost requested / charged: refunds card ${refunds.requested} / ${refunds.actual}, webhook card ${webhooks.requested} / ${webhooks.actual}`,
    );
    expect(refunds.requested).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.maxCost);
    expect(webhooks.requested).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.maxCost);
    // Polled every 30 s and 10 s besides the events: even at what each may be charged (its
    // admission price), a small share of a READER's refill per second.
    expect(refunds.requested / 30 + webhooks.requested / 10).toBeLessThan(DEFAULT_QUERY_LIMITS.READER.refillPerSecond / 5);
  });
});

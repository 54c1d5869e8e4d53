/**
 * The dashboard's backlog intelligence (docs/parts/dashboard.README.md) in real headless Chromium,
 * over a real server (HTTP and WebSocket) on a history built through the API: the metrics panel
 * shows the figures `backlogMetrics` reports; the panel and the replenishment list follow an order
 * placed by another client without a reload; the what-if form on a product's queue shows what
 * `simulateRestock` says and changes nothing until "Schedule" is pressed, after which the restock
 * exists; a READER key sees the metrics and, in place of the plan, a line saying an OPERATOR or
 * ADMIN key is needed. The pacing of the live re-reads and the form's reading of its fields are
 * tested without a browser. Screenshots: artifacts/screenshots/dashboard-intelligence--*.png.
 */
import type { Page } from "playwright-core";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DashboardMetricsDocument,
  type DashboardMetricsQuery,
  DashboardReplenishmentDocument,
  type DashboardReplenishmentQuery,
  DashboardSimulateRestockDocument,
  type DashboardSimulateRestockQuery,
} from "../../client/generated/graphql.js";
import { LiveRefresh, sumMoney } from "../../client/dashboard/metrics-panel.view.js";
import { PLAN_LINES } from "../../client/dashboard/replenishment.view.js";
import { readRestock } from "../../client/dashboard/what-if.view.js";
import { DEFAULT_QUERY_LIMITS } from "../../server/graphql/limits/query-limits.js";
import { createApiKey } from "../../server/services/api-key.service.js";
import { databaseDigest } from "../support/access.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

type Metrics = DashboardMetricsQuery["backlogMetrics"];
type PlanLine = DashboardReplenishmentQuery["replenishmentPlan"]["nodes"][number];
type Simulation = DashboardSimulateRestockQuery["simulateRestock"];

describe("the dashboard's live re-reads (LiveRefresh)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A LiveRefresh over fake timers, and when each read started (ms since the start). */
  function paced(readMs = 0) {
    vi.useFakeTimers();
    const start = Date.now();
    const reads: number[] = [];
    const refresh = new LiveRefresh(
      async () => {
        reads.push(Date.now() - start);
        if (readMs > 0) await new Promise((resolve) => setTimeout(resolve, readMs));
      },
      1_500,
      10_000,
    );
    return { refresh, reads };
  }

  it("reads once for a burst of events, 1.5 s after the last of them", async () => {
    const { refresh, reads } = paced();
    for (let event = 0; event < 5; event++) {
      refresh.request();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(499);
    expect(reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toEqual([5_500]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads, "no event, no read: it does not poll").toEqual([5_500]);
  });

  it("under a steady stream of events reads every 10 s", async () => {
    const { refresh, reads } = paced();
    for (let tick = 0; tick < 300; tick++) {
      refresh.request();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(reads).toEqual([10_000, 20_000, 30_000]);
  });

  it("counts the quiet time from the last event, and never reads twice within 1.5 s", async () => {
    const { refresh, reads } = paced();
    refresh.readNow();
    await vi.advanceTimersByTimeAsync(1_000);
    refresh.request();
    await vi.advanceTimersByTimeAsync(499);
    expect(reads).toEqual([0]);
    // 1.5 s after the event, not 1.5 s after the read.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reads).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toEqual([0, 2_500]);

    refresh.request();
    await vi.advanceTimersByTimeAsync(1_499);
    expect(reads, "the quiet time runs from the last read too").toEqual([0, 2_500]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toEqual([0, 2_500, 4_000]);
  });

  it("reads once more after a read during which an event came, and never two at once", async () => {
    const { refresh, reads } = paced(3_000);
    refresh.readNow();
    await vi.advanceTimersByTimeAsync(500);
    refresh.request();
    refresh.request();
    await vi.advanceTimersByTimeAsync(2_499);
    expect(reads).toEqual([0]);
    // The read ends at 3 s; the one asked for during it starts right then (a timer of 0 ms: 1 ms, as in Node).
    await vi.advanceTimersByTimeAsync(2);
    expect(reads).toEqual([0, 3_001]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reads).toEqual([0, 3_001]);
    refresh.stop();
    refresh.request();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reads, "stopped: reads nothing").toEqual([0, 3_001]);
  });
});

describe("the what-if form's fields and the money totals", () => {
  it("reads whole positive units and a date, or receive now, and says what is wrong otherwise", () => {
    const at = "2030-03-10T09:00";
    expect(readRestock("P1", { quantity: "12", expectedAt: at, receiveNow: false })).toEqual({
      input: { productId: "P1", quantity: 12, expectedAt: new Date(at).toISOString(), receiveNow: false },
    });
    expect(readRestock("P1", { quantity: "3", expectedAt: "", receiveNow: true })).toEqual({ input: { productId: "P1", quantity: 3, receiveNow: true } });
    for (const quantity of ["0", "-2", "2.5", "", "1e3", "ten"]) {
      expect(readRestock("P1", { quantity, expectedAt: at, receiveNow: false }), quantity).toEqual({
        problem: "Enter the units as a whole number, 1 or more.",
      });
    }
    expect(readRestock("P1", { quantity: "3", expectedAt: "", receiveNow: false })).toHaveProperty("problem");
  });

  it("adds money per currency exactly, in hundredths", () => {
    expect(
      sumMoney([
        { amount: "0.10", currencyCode: "USD" },
        { amount: "0.20", currencyCode: "USD" },
        { amount: "19.99", currencyCode: "EUR" },
        { amount: "1000000.05", currencyCode: "USD" },
      ]),
    ).toEqual([
      { amount: "1000000.35", currencyCode: "USD" },
      { amount: "19.99", currencyCode: "EUR" },
    ]);
  });
});

/** The metrics panel's figures, as the page holds them (`data-value`). */
function panelFigures(page: Page): Promise<Record<string, string>> {
  return page.$$eval("#metrics [data-metric]", (figures) =>
    Object.fromEntries(
      figures.map((figure) => [(figure as HTMLElement).dataset.metric!, (figure.querySelector(".value") as HTMLElement).dataset.value ?? ""]),
    ),
  );
}

/** What the panel must hold for an answer of `backlogMetrics`. */
function expectedFigures(metrics: Metrics): Record<string, string> {
  return {
    fillRate: String(metrics.fillRateAtPlacement ?? ""),
    etaAccuracy: String(metrics.etaAccuracy ?? ""),
    revenueProtected: JSON.stringify(metrics.revenueProtected),
    lostDemand: JSON.stringify(metrics.lostDemand),
    delayed: String(metrics.delayedBackorders),
    atRisk: String(metrics.atRiskBackorders),
  };
}

/** The replenishment list's rows, as the page holds them. */
function planRows(page: Page): Promise<Record<string, string>[]> {
  return page.$$eval("#replenishment tbody tr", (rows) =>
    rows.map((row) => {
      const value = (field: string) => (row.querySelector(`td[data-field="${field}"]`) as HTMLElement).dataset.value ?? "";
      return {
        sku: (row as HTMLElement).dataset.sku!,
        dailyDemand: value("dailyDemand"),
        uncoveredUnits: value("uncoveredUnits"),
        suggestedQuantity: value("suggestedQuantity"),
        neededBy: value("neededBy"),
        suggestedBackorderLimit: value("suggestedBackorderLimit"),
      };
    }),
  );
}

/** What the list must hold for the plan's lines. */
function expectedRows(lines: readonly PlanLine[]): Record<string, string>[] {
  return lines.map((line) => ({
    sku: line.product.sku,
    dailyDemand: String(line.dailyDemand),
    uncoveredUnits: String(line.uncoveredUnits),
    suggestedQuantity: String(line.suggestedQuantity),
    neededBy: line.neededBy ?? "",
    suggestedBackorderLimit:
      line.suggestedBackorderLimit === null || line.suggestedBackorderLimit === undefined ? "" : String(line.suggestedBackorderLimit),
  }));
}

describeWithBrowser("the dashboard's metrics, replenishment plan and what-if form", () => {
  const database = useFreshDatabase();
  // The cost rules give BacklogMetrics' lists (revenueProtected, lostDemand and its values) no
  // maximum yet, so they count 100 each and the panel's query is priced past the 5,000 points any
  // key may spend on a request; the page is tested here with room to spare, and its price against
  // the default limits is the last test's subject.
  const roomy = { maxCost: 1_000_000, capacity: 1_000_000, refillPerSecond: 1_000_000 };
  const server = useTestServer(database, { limits: { ADMIN: roomy, OPERATOR: roomy, STOREFRONT: roomy, READER: roomy } });
  const chromium = useBrowser("dashboard-intelligence");
  let readerKey: string;
  let operatorKey: string;
  /** Sold from stock, then on backorder. */
  let widget: { id: string; sku: string };
  /** In euros, nothing in stock: every unit waits. */
  let queued: { id: string; sku: string };
  /** DENY with nothing in stock: every order of it is lost demand. */
  let denied: { id: string; sku: string };

  const createProduct = async (input: Record<string, unknown>): Promise<{ id: string; sku: string }> => {
    const data = await server.data(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id sku } userErrors { code message } } }`,
      { input },
    );
    expect(data.createProduct.userErrors).toEqual([]);
    return data.createProduct.product;
  };

  /** Places an order; returns its userErrors (a refusal is part of the history too). */
  const order = async (customer: string, sku: string, quantity: number): Promise<{ code: string }[]> => {
    const data = await server.data(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code message } } }`, {
      input: { customer, lines: [{ sku, quantity }] },
    });
    return data.placeOrder.userErrors;
  };

  const metricsNow = async (key: string): Promise<Metrics> => (await server.data(DashboardMetricsDocument.toString(), {}, { key })).backlogMetrics;
  const planNow = async (): Promise<PlanLine[]> =>
    (await server.data(DashboardReplenishmentDocument.toString(), { first: PLAN_LINES }, { key: operatorKey })).replenishmentPlan.nodes;

  beforeAll(async () => {
    readerKey = (await createApiKey(database.db, { name: "intelligence test reader", role: "READER" })).secret;
    operatorKey = (await createApiKey(database.db, { name: "intelligence test operator", role: "OPERATOR" })).secret;
    widget = await createProduct({
      sku: uniqueSku("WIDGET"),
      name: "Widget",
      price: "10.00",
      backorderPolicy: "ALLOW",
      leadTimeDays: 10,
      initialStock: 5,
    });
    queued = await createProduct({
      sku: uniqueSku("QUEUED"),
      name: "Queued lamp",
      price: "40.00",
      currencyCode: "EUR",
      backorderPolicy: "ALLOW",
      leadTimeDays: 20,
    });
    denied = await createProduct({ sku: uniqueSku("DENIED"), name: "Denied gadget", price: "25.00", backorderPolicy: "DENY" });
    // The history: 3 widgets from stock; 4 more, 2 from stock and 2 on backorder; 2, 3 and 4 lamps
    // on backorder (in euros); 2 gadgets refused for want of stock.
    expect(await order("ann@example.com", widget.sku, 3)).toEqual([]);
    expect(await order("bob@example.com", widget.sku, 4)).toEqual([]);
    for (const [customer, quantity] of [
      ["cy@example.com", 2],
      ["di@example.com", 3],
      ["ed@example.com", 4],
    ] as const) {
      expect(await order(customer, queued.sku, quantity)).toEqual([]);
    }
    expect((await order("fay@example.com", denied.sku, 2)).map((error) => error.code)).toEqual(["OUT_OF_STOCK"]);
  });

  async function openDashboard(key: string, hash = ""): Promise<Page> {
    const page = await chromium.newPage({ apiKey: key });
    await page.goto(new URL(`/dashboard${hash}`, server.url).href);
    await page.waitForSelector('#metrics[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    return page;
  }

  it("shows the figures backlogMetrics reports for the history, and the plan's most urgent lines", async () => {
    const metrics = await metricsNow(operatorKey);
    // The history, computed by hand: the panel shows the API's figures, and these are them.
    expect(metrics.unitsBackordered).toBe(2 + 9);
    expect(metrics.revenueProtected).toEqual(
      expect.arrayContaining([
        { amount: "20.00", currencyCode: "USD" },
        { amount: "360.00", currencyCode: "EUR" },
      ]),
    );
    expect(metrics.lostDemand).toEqual([{ code: "OUT_OF_STOCK", units: 2, value: [{ amount: "50.00", currencyCode: "USD" }] }]);

    const page = await openDashboard(operatorKey);
    expect(await panelFigures(page)).toEqual(expectedFigures(metrics));
    const lost = await page.$$eval("#metrics .breakdown li", (items) =>
      items.map((item) => ({ ...(item as HTMLElement).dataset, text: item.textContent })),
    );
    expect(lost).toEqual([{ code: "OUT_OF_STOCK", units: "2", text: expect.stringContaining("out of stock") }]);
    expect(await page.textContent('#metrics [data-metric="revenueProtected"] .value')).toMatch(/360/);

    await page.waitForSelector('#replenishment[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    const lines = await planNow();
    expect(lines.map((line) => line.product.sku)).toEqual(expect.arrayContaining([queued.sku]));
    expect(await planRows(page)).toEqual(expectedRows(lines));
    // A SKU opens the product's queue, with the what-if form.
    await page.click(`#replenishment tr[data-sku="${queued.sku}"] a.sku`);
    await page.waitForSelector('#detail[data-view="queue"][data-ready="true"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.isVisible("#what-if")).toBe(true);
    expect(await page.isHidden("#banner")).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("updates the panel and the list without a reload when another client places an order", async () => {
    const page = await openDashboard(operatorKey);
    await page.waitForSelector('#replenishment[data-ready="true"][data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const before = await panelFigures(page);
    const rowsBefore = await planRows(page);

    expect(await order("gus@example.com", queued.sku, 5)).toEqual([]);
    const metrics = await metricsNow(operatorKey);
    const lines = await planNow();
    expect(expectedFigures(metrics)).not.toEqual(before);
    expect(expectedRows(lines)).not.toEqual(rowsBefore);

    await page.waitForFunction(
      (expected) => {
        const figures = Array.from(document.querySelectorAll("#metrics [data-metric]")) as HTMLElement[];
        return figures.every((figure) => (figure.querySelector(".value") as HTMLElement).dataset.value === expected[figure.dataset.metric!]);
      },
      expectedFigures(metrics),
      { timeout: UI_TIMEOUT_MS },
    );
    await page.waitForFunction(
      ({ sku, uncovered }) =>
        (document.querySelector(`#replenishment tr[data-sku="${sku}"] td[data-field="uncoveredUnits"]`) as HTMLElement | null)?.dataset.value ===
        uncovered,
      { sku: queued.sku, uncovered: String(lines.find((line) => line.product.sku === queued.sku)!.uncoveredUnits) },
      { timeout: UI_TIMEOUT_MS },
    );
    await page.waitForSelector('#replenishment[data-loading="false"]', { timeout: UI_TIMEOUT_MS });
    expect(await planRows(page)).toEqual(expectedRows(lines));
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("simulates a restock on a product's queue, changes nothing until Schedule is pressed, then schedules exactly that", async () => {
    const page = await openDashboard(operatorKey, `#/products/${encodeURIComponent(queued.id)}`);
    await page.waitForSelector('#detail[data-view="queue"][data-ready="true"]', { timeout: UI_TIMEOUT_MS });
    await page.waitForSelector('#replenishment[data-ready="true"]', { timeout: UI_TIMEOUT_MS });
    const expectedAtLocal = await page.evaluate(() => {
      const at = new Date(Date.now() + 5 * 86_400_000);
      const pad = (value: number) => String(value).padStart(2, "0");
      return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T09:00`;
    });
    const expectedAt = await page.evaluate((local) => new Date(local).toISOString(), expectedAtLocal);
    await page.fill('#what-if input[name="quantity"]', "4");
    await page.fill('#what-if input[name="expectedAt"]', expectedAtLocal);
    expect(await page.isDisabled("#what-if button.schedule"), "nothing simulated yet").toBe(true);

    const digest = await databaseDigest(database.db);
    await page.click("#what-if button.simulate");
    await page.waitForSelector('#what-if[data-state="simulated"]', { timeout: UI_TIMEOUT_MS });

    const input = { productId: queued.id, quantity: 4, expectedAt, receiveNow: false };
    const simulation: Simulation = (await server.data(DashboardSimulateRestockDocument.toString(), { input }, { key: operatorKey })).simulateRestock;
    expect(simulation.affected.length, "the restock re-dates the queue's first backorders").toBeGreaterThan(0);
    const figures = await page.$$eval("#what-if [data-figure] .value", (values) =>
      Object.fromEntries(values.map((value) => [(value.parentElement as HTMLElement).dataset.figure!, { ...(value as HTMLElement).dataset }])),
    );
    expect(figures).toEqual({
      filledUnits: { value: String(simulation.filledUnits) },
      filledBackorders: { value: String(simulation.filledBackorders) },
      delayed: { before: String(simulation.delayedBefore), after: String(simulation.delayedAfter) },
      remainingBackordered: { value: String(simulation.remainingBackordered) },
    });
    const rows = await page.$$eval("#what-if .what-if-rows tr", (rows) => rows.map((row) => ({ ...(row as HTMLElement).dataset })));
    expect(rows).toEqual(
      simulation.affected.map((entry) => ({
        order: entry.backorder.order.number,
        filled: String(entry.filledUnits),
        expectedBefore: entry.expectedAtBefore ?? "",
        expectedAfter: entry.expectedAtAfter ?? "",
      })),
    );
    expect(rows[0].expectedAfter, "moved earlier by the restock").not.toBe(rows[0].expectedBefore);
    expect(await databaseDigest(database.db), "simulating wrote nothing").toEqual(digest);
    await chromium.screenshot(page, "the simulated restock, before scheduling");

    // Changing a field withdraws the offer until it is simulated again.
    await page.fill('#what-if input[name="quantity"]', "5");
    await page.waitForSelector('#what-if[data-state="changed"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.isDisabled("#what-if button.schedule")).toBe(true);
    await page.fill('#what-if input[name="quantity"]', "4");
    await page.click("#what-if button.simulate");
    await page.waitForSelector('#what-if[data-state="simulated"]', { timeout: UI_TIMEOUT_MS });
    expect(await databaseDigest(database.db), "still nothing written").toEqual(digest);

    await page.click("#what-if button.schedule");
    await page.waitForSelector('#what-if[data-state="scheduled"]', { timeout: UI_TIMEOUT_MS });
    const { restocks } = await server.data(`query($id: ID!) { restocks(filter: { productId: $id }) { nodes { quantity expectedAt status } } }`, {
      id: queued.id,
    });
    expect(restocks.nodes).toEqual([{ quantity: 4, expectedAt, status: "SCHEDULED" }]);
    // The queue follows live: its first backorder is now expected when the simulation said.
    await page.waitForFunction(
      ({ order, expected }) =>
        (document.querySelector(`#detail .detail-table tr[data-order="${order}"] td.date:nth-of-type(8)`) as HTMLElement | null)?.dataset.value ===
        expected,
      { order: rows[0].order, expected: rows[0].expectedAfter },
      { timeout: UI_TIMEOUT_MS },
    );
    expect(await page.isDisabled("#what-if button.schedule"), "scheduled once, not twice").toBe(true);
    expectNoPageErrors(chromium);
  });

  it("receives now what it simulated receiving: the simulation's fills happen", async () => {
    const page = await openDashboard(operatorKey, `#/products/${encodeURIComponent(queued.id)}`);
    await page.waitForSelector('#detail[data-view="queue"][data-ready="true"]', { timeout: UI_TIMEOUT_MS });
    await page.fill('#what-if input[name="quantity"]', "3");
    await page.check('#what-if input[name="receiveNow"]');
    expect(await page.isDisabled('#what-if input[name="expectedAt"]')).toBe(true);
    await page.click("#what-if button.simulate");
    await page.waitForSelector('#what-if[data-state="simulated"]', { timeout: UI_TIMEOUT_MS });
    const simulation: Simulation = (
      await server.data(
        DashboardSimulateRestockDocument.toString(),
        { input: { productId: queued.id, quantity: 3, receiveNow: true } },
        { key: operatorKey },
      )
    ).simulateRestock;
    expect(simulation.filledUnits).toBe(3);
    expect(await page.getAttribute('#what-if [data-figure="filledUnits"] .value', "data-value")).toBe("3");
    // Another client's order for the product: the form simulates again, so it offers what receiving would do now.
    expect(await order("hal@example.com", queued.sku, 2)).toEqual([]);
    await page.waitForFunction(
      (expected) => (document.querySelector('#what-if [data-figure="remainingBackordered"] .value') as HTMLElement).dataset.value === expected,
      String(simulation.remainingBackordered + 2),
      { timeout: UI_TIMEOUT_MS },
    );
    await page.waitForSelector('#what-if[data-state="simulated"]', { timeout: UI_TIMEOUT_MS });
    const { product: before } = await server.data(`query($id: ID!) { product(id: $id) { stock { backordered } } }`, { id: queued.id });

    expect(await page.textContent("#what-if button.schedule")).toBe("Receive this restock now");
    await page.click("#what-if button.schedule");
    await page.waitForSelector('#what-if[data-state="scheduled"]', { timeout: UI_TIMEOUT_MS });
    const { product: after } = await server.data(`query($id: ID!) { product(id: $id) { stock { backordered } } }`, { id: queued.id });
    expect(after.stock.backordered).toBe(before.stock.backordered - simulation.filledUnits);
    expect(after.stock.backordered).toBe(simulation.remainingBackordered + 2);
    expectNoPageErrors(chromium);
  });

  it("with a READER key, shows the metrics and says the plan and the what-if need an OPERATOR or ADMIN key", async () => {
    const metrics = await metricsNow(readerKey);
    const page = await openDashboard(readerKey);
    expect(await panelFigures(page)).toEqual(expectedFigures(metrics));
    await page.waitForSelector('#replenishment[data-state="forbidden"]', { timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#replenishment .notice")).toContain("needs an OPERATOR or ADMIN key");
    expect(await page.$$("#replenishment tbody tr")).toHaveLength(0);
    expect(await page.isHidden("#banner"), "a refusal of the plan is not an error banner").toBe(true);
    expect(await page.getAttribute("#connection", "data-state")).toBe("live");

    await page.evaluate((id) => (location.hash = `#/products/${encodeURIComponent(id)}`), widget.id);
    await page.waitForSelector('#detail[data-view="queue"][data-ready="true"]', { timeout: UI_TIMEOUT_MS });
    await page.waitForSelector('#what-if[data-access="forbidden"] .what-if-access', { state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.textContent("#what-if .what-if-access")).toContain("FORBIDDEN");
    expect(await page.isDisabled("#what-if button.simulate")).toBe(true);
    expect(await page.isDisabled("#what-if button.schedule")).toBe(true);
    expectNoPageErrors(chromium);
  });

  it("asks for its figures within a READER's cost limits", async () => {
    const cost = async (query: string, variables: Record<string, unknown>, key: string) => {
      const response = await server.gql(query, variables, { key });
      expect(response.body.errors, response.text).toBeUndefined();
      return (response.body as { extensions: { cost: { requested: number; actual: number } } }).extensions.cost;
    };
    const metrics = await cost(DashboardMetricsDocument.toString(), {}, readerKey);
    const plan = await cost(DashboardReplenishmentDocument.toString(), { first: PLAN_LINES }, operatorKey);
    const simulation = await cost(
      DashboardSimulateRestockDocument.toString(),
      { input: { productId: queued.id, quantity: 1, receiveNow: true } },
      operatorKey,
    );
    console.log(
      `cost requested / charged: metrics ${metrics.requested} / ${metrics.actual}, plan ${plan.requested} / ${plan.actual}, simulation ${simulation.requested} / ${simulation.actual}`,
    );
    // Each is admitted by the default limits: the bound of its work fits one request (the metrics
    // a READER's). The metrics are charged the orders their window held, so the panel's re-read (at
    // most one every 1.5 s) stays within a READER's refill of 250 points a second.
    expect(metrics.requested, "the metrics panel's query, for a READER (LIST_MAXIMA must bound BacklogMetrics' lists)").toBeLessThanOrEqual(
      DEFAULT_QUERY_LIMITS.READER.maxCost,
    );
    expect(metrics.actual).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.READER.refillPerSecond);
    expect(plan.requested, "the replenishment list's query").toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.OPERATOR.maxCost);
    expect(simulation.requested, "a simulation").toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.OPERATOR.maxCost);
  });
});

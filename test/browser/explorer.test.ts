/**
 * The explorer (/explorer) in real headless Chromium: GraphiQL served by our own server, with
 * the API key field. A READER key runs a query and sees the data; no key gets the
 * UNAUTHENTICATED refusal; after a server restart on the same port and database it goes on
 * working without a reload. Screenshots: artifacts/screenshots/explorer--*.png.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApiKey } from "../../server/services/api-key.service.js";
import { type RestartableServer, startRestartableServer } from "../client/restartable-server.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL } from "../support/http.js";

/**
 * Replaces the query in GraphiQL's editor (CodeMirror 5), runs it, and returns the response pane's
 * text once the server has answered that request and the pane shows it.
 */
async function runQuery(page: Page, query: string): Promise<string> {
  await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: UI_TIMEOUT_MS });
  // The pane may already show something (the schema request's refusal, an earlier answer): empty it.
  await page.evaluate((text) => {
    const editor = (selector: string) => (document.querySelector(selector) as HTMLElement & { CodeMirror: { setValue(value: string): void } }).CodeMirror;
    editor(".graphiql-query-editor .CodeMirror").setValue(text);
    editor(".result-window .CodeMirror").setValue("");
  }, query);
  const answered = page.waitForResponse(
    (response) =>
      response.url().endsWith("/graphql") &&
      response.request().method() === "POST" &&
      (response.request().postData() ?? "").includes(JSON.stringify(query).slice(1, -1)),
    { timeout: UI_TIMEOUT_MS },
  );
  await page.click(".graphiql-execute-button");
  await answered;
  await page.waitForFunction(
    () => {
      const result = document.querySelector(".result-window .CodeMirror") as (HTMLElement & { CodeMirror: { getValue(): string } }) | null;
      return (result?.CodeMirror.getValue() ?? "").trim().startsWith("{");
    },
    null,
    { timeout: UI_TIMEOUT_MS },
  );
  return responseText(page);
}

function responseText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const result = document.querySelector(".result-window .CodeMirror") as (HTMLElement & { CodeMirror: { getValue(): string } }) | null;
    return result?.CodeMirror.getValue() ?? "";
  });
}

describeWithBrowser("the explorer in a browser", () => {
  const database = useFreshDatabase();
  const chromium = useBrowser("explorer");
  let server: RestartableServer;
  let readerKey: string;
  let sku: string;

  beforeAll(async () => {
    server = await startRestartableServer(database.connection);
    readerKey = (await createApiKey(database.db, { name: "explorer test reader", role: "READER" })).secret;
    sku = uniqueSku("EXPLORE");
    const created = await postGraphQL(
      server.url,
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { sku } userErrors { code } } }`,
      {
        input: { sku, name: "Explorer test lamp", price: "42.00", initialStock: 7 },
      },
    );
    expect(created.body.data?.createProduct.product.sku, created.text).toBe(sku);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const pageUrl = () => new URL("/explorer", server.url).href;
  const productQuery = (wanted: string) => `{ product(sku: "${wanted}") { sku name stock { onHand available } } }`;

  it("runs a query with a READER key and shows the data", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.goto(pageUrl());
    expect(await page.inputValue("#key")).toBe(readerKey);

    const response = JSON.parse(await runQuery(page, productQuery(sku)));

    expect(response.errors).toBeUndefined();
    expect(response.data.product).toEqual({ sku, name: "Explorer test lamp", stock: { onHand: 7, available: 7 } });
    expectNoPageErrors(chromium);
  });

  it("without a key, says so and shows the UNAUTHENTICATED refusal", async () => {
    const page = await chromium.newPage();
    await page.goto(pageUrl());
    await expect.poll(() => page.textContent("#status")).toContain("UNAUTHENTICATED");

    const response = JSON.parse(await runQuery(page, productQuery(sku)));

    expect(response.data).toBeUndefined();
    expect(response.errors.map((error: { extensions?: { code?: string } }) => error.extensions?.code)).toContain("UNAUTHENTICATED");
    expect(JSON.stringify(response)).not.toContain("Explorer test lamp");
    expectNoPageErrors(chromium);
  });

  it("keeps working after a server restart, without a reload", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    await page.goto(pageUrl());
    expect(JSON.parse(await runQuery(page, productQuery(sku))).data.product.sku).toBe(sku);

    await server.stop();
    await server.start();
    const after = uniqueSku("RESTARTED");
    const created = await postGraphQL(server.url, `mutation($input: CreateProductInput!) { createProduct(input: $input) { product { sku } } }`, {
      input: { sku: after, name: "Made after the restart", price: "1.00" },
    });
    expect(created.body.data?.createProduct.product.sku, created.text).toBe(after);

    const response = JSON.parse(await runQuery(page, productQuery(after)));

    expect(response.errors).toBeUndefined();
    expect(response.data.product).toMatchObject({ sku: after, name: "Made after the restart" });
    expectNoPageErrors(chromium);
  });
});

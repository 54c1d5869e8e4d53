/**
 * The pages' Content-Security-Policy in real headless Chromium (issue 10, item 5): the explorer
 * (GraphiQL) and the dashboard work under their policies without a single violation, over HTTP
 * and WebSocket alike, GraphiQL's dialogs (which add a <style> at run time) included; and neither
 * page can be framed.
 */
import type { Page } from "playwright-core";
import { beforeAll, expect, it } from "vitest";
import { createApiKey } from "../../server/services/api-key.service.js";
import { describeWithBrowser, expectNoPageErrors, UI_TIMEOUT_MS, useBrowser } from "../support/browser.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";

/** What the page reported against its policy: `securitypolicyviolation` events and console errors. */
interface Violations {
  events(): Promise<string[]>;
  console: string[];
}

/** Starts recording CSP violations of `page`, before any page script runs. */
async function recordViolations(page: Page): Promise<Violations> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (event) => {
      seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
    });
  });
  const console: string[] = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) console.push(message.text());
  });
  return {
    console,
    events: () => page.evaluate(() => [...(window as unknown as { __cspViolations: string[] }).__cspViolations]),
  };
}

async function expectNoViolations(violations: Violations): Promise<void> {
  expect(await violations.events(), "securitypolicyviolation events").toEqual([]);
  expect(violations.console, "CSP messages in the console").toEqual([]);
}

describeWithBrowser("the pages under their Content-Security-Policy", () => {
  const database = useFreshDatabase();
  const server = useTestServer(database, { delaySweepMs: 0 });
  const chromium = useBrowser("csp");
  let readerKey: string;

  beforeAll(async () => {
    readerKey = (await createApiKey(database.db, { name: "csp test reader", role: "READER" })).secret;
  });

  const pageUrl = (path: string) => new URL(path, server.url).href;

  it("runs GraphiQL in the explorer, a query over HTTP, a subscription over WebSocket and its dialogs, without a violation", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    const violations = await recordViolations(page);
    // GraphiQL reads the schema over HTTP (connect-src) before it runs anything.
    const schemaRead = page.waitForResponse(
      (response) => response.url().endsWith("/graphql") && (response.request().postData() ?? "").includes("IntrospectionQuery"),
      { timeout: UI_TIMEOUT_MS },
    );
    await page.goto(pageUrl("/explorer"));
    expect((await schemaRead).status()).toBe(200);
    await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: UI_TIMEOUT_MS });
    // The page's own inline style applies (the bar is styled, not a default block).
    expect(await page.$eval("#bar", (bar) => getComputedStyle(bar).display)).toBe("flex");

    // A subscription goes over ws://: connect-src must allow it.
    // Listening from the socket's first moment: the server's ack may come before any later listener.
    let acknowledged = false;
    page.on("websocket", (socket) =>
      socket.on("framereceived", (frame) => {
        if (String(frame.payload).includes("connection_ack")) acknowledged = true;
      }),
    );
    await page.evaluate(() => {
      const editor = document.querySelector(".graphiql-query-editor .CodeMirror") as HTMLElement & { CodeMirror: { setValue(value: string): void } };
      editor.CodeMirror.setValue("subscription { backlogChanged { backordered cursor } }");
    });
    // GraphiQL takes an edit after a debounce; its saved tab state shows when it has.
    await page.waitForFunction(() => (localStorage.getItem("graphiql:tabState") ?? "").includes("backlogChanged"), null, { timeout: UI_TIMEOUT_MS });
    await page.click(".graphiql-execute-button");
    await expect.poll(() => acknowledged, { timeout: UI_TIMEOUT_MS }).toBe(true);

    // The settings dialog adds a <style> at run time (react-remove-scroll), with the page's nonce.
    await page.click('button[aria-label="Open settings dialog"]');
    await page.waitForSelector('[role="dialog"]', { timeout: UI_TIMEOUT_MS });
    await page.keyboard.press("Escape");

    await expectNoViolations(violations);
    expectNoPageErrors(chromium);
  });

  it("runs the dashboard, its snapshot and live updates, without a violation", async () => {
    const page = await chromium.newPage({ apiKey: readerKey });
    const violations = await recordViolations(page);
    const socket = page.waitForEvent("websocket", { timeout: UI_TIMEOUT_MS });
    await page.goto(pageUrl("/dashboard"));
    await socket;
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: UI_TIMEOUT_MS });

    await expectNoViolations(violations);
    expectNoPageErrors(chromium);
  });

  it("refuses to show the explorer and the dashboard in a frame", async () => {
    const page = await chromium.newPage();
    // Another origin (the same server by its other name) frames both pages.
    const framer = new URL(server.url);
    framer.hostname = "localhost";
    await page.route(`${framer.origin}/framer`, (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<iframe id="explorer" src="${pageUrl("/explorer")}"></iframe><iframe id="dashboard" src="${pageUrl("/dashboard")}"></iframe>`,
      }),
    );
    await page.goto(`${framer.origin}/framer`);
    // Chromium replaces a frame its policy refuses with its error page.
    const children = () => page.frames().filter((frame) => frame !== page.mainFrame());
    await expect
      .poll(() => children().map((frame) => frame.url()), { timeout: UI_TIMEOUT_MS })
      .toEqual(["chrome-error://chromewebdata/", "chrome-error://chromewebdata/"]);
  });
});

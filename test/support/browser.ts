/**
 * Real headless Chromium for the browser tests (test/browser/): Debian's package at
 * /usr/bin/chromium (`.ci/run` installs it), driven by playwright-core. Each test gets a fresh
 * browser context (its own cookies and localStorage, optionally holding an API key the way the
 * pages store it), and leaves a screenshot in artifacts/screenshots/ for a person to look at
 * after the run, passed or failed.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, type TestContext } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

/** Quiet, reproducible headless Chromium: no sandbox (containers), no GPU, no calls home. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the screenshots go (git-ignored). */
export const SCREENSHOT_DIR = path.join(root, "artifacts", "screenshots");

/** The localStorage entry where the explorer and the dashboard keep the API key. */
export const API_KEY_STORAGE = "backorder.apiKey";

/** How long a browser-side condition may take before the test fails. */
export const UI_TIMEOUT_MS = 15_000;

const SKIP_REASON = `skipped: no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium package)`;
let reasonPrinted = false;

/** `describe` that needs Chromium: where it is missing its tests are skipped, and the file says why in one line. */
export function describeWithBrowser(name: string, fn: () => void): void {
  if (hasChromium) {
    describe(name, fn);
    return;
  }
  if (!reasonPrinted) {
    reasonPrinted = true;
    console.log(SKIP_REASON);
  }
  describe.skip(`${name} (${SKIP_REASON})`, fn);
}

/**
 * Launches Chromium. playwright-core gives every launch a fresh temporary user-data directory
 * (and removes it at close), so nothing carries over between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
}

/** A file name from a test's name: `dashboard--updates-when-….png`. */
export function screenshotName(prefix: string, testName: string): string {
  const slug = testName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 90);
  return `${prefix}--${slug}.png`;
}

/** Saves a full-page screenshot of `page` in artifacts/screenshots/ and returns its path. */
export async function saveScreenshot(page: Page, fileName: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, fileName);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface BrowserPageOptions {
  /** Stored in localStorage before any page script runs, as if typed into the key field earlier. */
  apiKey?: string;
  viewport?: { width: number; height: number };
}

/** What {@link useBrowser} hands a test file. */
export interface BrowserSession {
  readonly browser: Browser;
  /** A page in a new context, closed (after its screenshot) when the test ends. */
  newPage(options?: BrowserPageOptions): Promise<Page>;
  /** Uncaught exceptions of the test's pages so far (a page script that threw). */
  readonly pageErrors: string[];
  /** Saves a screenshot now (a state the end of the test will not show), named after `label`. */
  screenshot(page: Page, label: string): Promise<string>;
}

/**
 * Registers hooks in the calling scope: Chromium is launched in `beforeAll` and closed in
 * `afterAll`; after each test every page it opened is screenshotted to
 * artifacts/screenshots/`<prefix>--<test name>[-n]`.png and its context closed.
 */
export function useBrowser(name: string): BrowserSession {
  // Both database projects run the same files at the same time: one set of pictures each.
  const prefix = `${name}-${process.env.TEST_DB ?? "pglite"}`;
  let browser: Browser | undefined;
  let contexts: { context: BrowserContext; page: Page }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async (context: TestContext) => {
    const opened = contexts;
    contexts = [];
    pageErrors.length = 0;
    for (const [index, { context: browserContext, page }] of opened.entries()) {
      const name = screenshotName(prefix, context.task.name).replace(/\.png$/, index === 0 ? ".png" : `-${index + 1}.png`);
      try {
        if (!page.isClosed()) await saveScreenshot(page, name);
      } finally {
        await browserContext.close();
      }
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  return {
    get browser() {
      if (!browser) throw new Error("Chromium runs only between beforeAll and afterAll");
      return browser;
    },
    pageErrors,
    screenshot: (page, label) => saveScreenshot(page, screenshotName(prefix, label)),
    async newPage(options = {}) {
      if (!browser) throw new Error("Chromium runs only between beforeAll and afterAll");
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 } });
      if (options.apiKey !== undefined) {
        await context.addInitScript(
          ({ storage, key }) => {
            // Only before the first page script: a key the test types later must not be overwritten by a reload.
            if (localStorage.getItem(storage) === null) localStorage.setItem(storage, key);
          },
          { storage: API_KEY_STORAGE, key: options.apiKey },
        );
      }
      const page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      page.on("pageerror", (error) => pageErrors.push(error.message));
      contexts.push({ context, page });
      return page;
    },
  };
}

/** Fails the test when a page script threw. */
export function expectNoPageErrors(session: BrowserSession): void {
  expect(session.pageErrors, "uncaught exceptions in the page").toEqual([]);
}

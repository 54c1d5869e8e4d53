/** Unexpected failures over real HTTP: masked as INTERNAL_SERVER_ERROR with a generic message, never a stack or SQL, and logged in full. */
import { describe, expect, it } from "vitest";
import type { App } from "../../server/http/app.js";
import { freshDatabase, useFreshDatabase } from "../support/database.js";
import { postGraphQL, startTestServer, useTestServer } from "../support/http.js";
import { CREATE_PRODUCT, expectNoLeak, productInput } from "../support/mutations.js";

const database = useFreshDatabase();
useTestServer(database);

// ---- unexpected failures ----

/**
 * Runs `work` against a second, throwaway server whose database has lost its products table:
 * every statement on products fails inside the server, without any mock. (Not a closed
 * connection: the API key lookup comes first and would fail before any resolver runs.)
 */
async function withLostDatabase(work: (url: string, logLines: string[]) => Promise<void>): Promise<void> {
  const throwaway = await freshDatabase();
  let closed: Promise<void> | undefined;
  const closeDatabase = () => (closed ??= throwaway.close());
  const logLines: string[] = [];
  let app: App | undefined;
  try {
    app = await startTestServer(throwaway.connection, logLines);
    await throwaway.connection.raw("ALTER TABLE products RENAME TO products_lost");
    await work(app.url, logLines);
  } finally {
    await app?.close();
    await closeDatabase();
  }
}

/** `extensions` holds the query cost (server/graphql/limits/query-limits.plugin.ts), on every response. */
const MASKED = {
  data: null,
  errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }],
  extensions: { cost: expect.any(Object) },
};

describe("unexpected failures", () => {
  it("answers a query on a lost database as INTERNAL_SERVER_ERROR with a generic message and no stack, and logs it", async () => {
    await withLostDatabase(async (url, logLines) => {
      const response = await postGraphQL(url, `query Doomed { products(first: 1) { totalCount } }`);
      expectNoLeak(response);
      expect(response.body).toEqual(MASKED);
      const logged = logLines.map((text) => JSON.parse(text)).find((entry) => entry.msg === "unexpected error" && entry.operationName === "Doomed");
      expect(logged).toMatchObject({ level: "error", path: "products" });
      expect(logged.error.stack).toEqual(expect.any(String));
    });
  });

  it("answers a mutation on a lost database as INTERNAL_SERVER_ERROR, not as a userError", async () => {
    await withLostDatabase(async (url) => {
      const response = await postGraphQL(url, CREATE_PRODUCT, productInput({}));
      expectNoLeak(response);
      expect(response.body).toEqual(MASKED);
    });
  });
});

/**
 * Secrets and customer data never reach the log (issue 10, item 5): a failed statement is logged
 * with its SQL but without its parameters, whatever the driver or wrapper put them in (drizzle's
 * message, postgres.js `parameters`, PGlite `params`, PostgreSQL's detail), through the whole
 * cause chain; API key secrets appear in no log line, only key ids and prefixes.
 */
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../server/http/app.js";
import { createLogger, serializeError } from "../../server/logger.js";
import { uniqueSku } from "../support/catalogue.js";
import { type FreshDatabase, freshDatabase } from "../support/database.js";
import { postGraphQL, startTestServer, TEST_ADMIN_KEY } from "../support/http.js";
import { CREATE_PRODUCT, PLACE_ORDER } from "../support/mutations.js";

const EMAIL = "alice@example.com";
/** The customer whose order the database refuses (a CHECK constraint the test adds). */
const DOOMED_EMAIL = "alice.doomed@example.com";

describe("serializeError", () => {
  const SQL = 'insert into "orders" ("customer", "total") values ($1, $2)';

  it("keeps drizzle's SQL and drops its parameters, from the message and the stack too", () => {
    const error = new DrizzleQueryError(SQL, [EMAIL, "12.00"], new Error("boom"));
    const logged = JSON.stringify(serializeError(error));
    expect(logged).not.toContain(EMAIL);
    expect(logged).not.toContain("12.00");
    expect(serializeError(error)).toMatchObject({ query: SQL, message: `Failed query: ${SQL}\nparams: [redacted]` });
  });

  it("drops postgres.js and PGlite parameter fields and values in PostgreSQL's detail and message, through every cause", () => {
    const postgresError = Object.assign(new Error('new row for relation "orders" violates check constraint "doomed"'), {
      code: "23514",
      detail: `Failing row contains (7, ${EMAIL}, 12.00).`,
      query: SQL,
      parameters: [EMAIL],
      args: [EMAIL],
      constraint_name: "doomed",
    });
    const pgliteError = Object.assign(new Error(`invalid input syntax for type integer: "${EMAIL}"`), {
      code: "22P02",
      query: SQL,
      params: [EMAIL],
      queryOptions: {},
      cause: postgresError,
    });
    const unique = Object.assign(new Error('duplicate key value violates unique constraint "orders_customer_key"'), {
      code: "23505",
      detail: `Key (customer)=(${EMAIL}) already exists.`,
      cause: pgliteError,
    });
    const wrapped = new DrizzleQueryError(SQL, [EMAIL], unique);

    const logged = serializeError(wrapped) as { cause: { detail: string; cause: { message: string; query: string; cause: { constraint: string } } } };

    expect(JSON.stringify(logged)).not.toContain(EMAIL);
    expect(logged.cause.detail).toBe("Key (customer)=([redacted]) already exists.");
    expect(logged.cause.cause.message).toBe("invalid input syntax for type integer: [redacted]");
    expect(logged.cause.cause.query).toBe(SQL);
    expect(logged.cause.cause.cause.constraint).toBe("doomed");
  });

  it("serializes an error nested anywhere in a log line's fields the same way", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", write: (line) => lines.push(line) });
    const pgliteError = Object.assign(new Error("boom"), { query: SQL, params: [EMAIL] });
    logger.error("nested", { failures: [{ error: pgliteError }] });
    expect(lines[0]).not.toContain(EMAIL);
    expect(lines[0]).toContain("orders");
  });
});

describe("the log of a running server", () => {
  let database: FreshDatabase;
  let app: App;
  const logLines: string[] = [];
  let productId: string;

  beforeAll(async () => {
    database = await freshDatabase();
    app = await startTestServer(database.connection, logLines);
    const created = await postGraphQL(app.url, CREATE_PRODUCT, {
      input: { sku: uniqueSku("SECRET"), name: "Log scan lamp", price: "12.00", initialStock: 5 },
    });
    productId = created.body.data?.createProduct.product.id;
    expect(productId, created.text).toEqual(expect.any(String));
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it("holds no customer e-mail and no key secret, while a failed statement's SQL is logged", async () => {
    // A key made over the API, then used: its secret went through the server twice.
    const made = await postGraphQL(
      app.url,
      `mutation { createApiKey(input: { name: "log scan", role: STOREFRONT }) { secret apiKey { id } userErrors { code } } }`,
    );
    const secret: string = made.body.data?.createApiKey.secret;
    expect(secret, made.text).toMatch(/^bo_/);
    const placed = await postGraphQL(app.url, PLACE_ORDER, { input: { customer: EMAIL, lines: [{ productId, quantity: 1 }] } }, { key: secret });
    expect(placed.body.data?.placeOrder.order.customer, placed.text).toBe(EMAIL);
    // A wrong key that looks like a real one: refused, and not written down either.
    const forged = `${secret.slice(0, -4)}AAAA`;
    expect((await postGraphQL(app.url, "{ __typename }", {}, { key: forged })).status).toBe(401);

    // The database refuses this one customer's order: the statement that fails carries the e-mail.
    await database.connection.raw(`ALTER TABLE orders ADD CONSTRAINT orders_doomed_customer CHECK (customer <> '${DOOMED_EMAIL}')`);
    const failed = await postGraphQL(
      app.url,
      `mutation PlaceDoomed($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }`,
      {
        input: { customer: DOOMED_EMAIL, lines: [{ productId, quantity: 1 }] },
      },
      { key: secret },
    );
    expect(failed.body.errors?.[0]?.extensions?.code, failed.text).toBe("INTERNAL_SERVER_ERROR");

    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const logged = entries.find((entry) => entry.msg === "unexpected error" && entry.operationName === "PlaceDoomed");
    expect(logged, logLines.join("\n")).toBeDefined();
    // Still enough to find the bug: the SQL and the SQLSTATE are there.
    const error = logged?.error as { query?: string; cause?: { code?: string } };
    expect(error.query).toMatch(/insert into "?orders"?/i);
    expect(error.cause?.code).toBe("23514");

    for (const line of logLines) {
      expect(line).not.toContain(EMAIL);
      expect(line).not.toContain(DOOMED_EMAIL);
      expect(line).not.toContain(secret);
      expect(line).not.toContain(secret.replace(/^bo_/, ""));
      expect(line).not.toContain(forged);
      expect(line).not.toContain(TEST_ADMIN_KEY);
    }
    // The request log names the key by its id.
    expect(entries.some((entry) => entry.msg === "graphql request" && typeof entry.apiKeyId === "number")).toBe(true);
  });
});

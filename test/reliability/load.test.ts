/**
 * Concurrency through the GraphQL API (issue 4, item 3), on PostgreSQL only: `LOAD_CLIENTS`
 * (default 16) clients post every operation over HTTP for `LOAD_SECONDS` (default 10) at once,
 * mostly on 3 hot products and now and then on 50 cold ones. Then:
 *
 *  - no client ever got an internal error, a deadlock or a serialization failure, or a refusal
 *    the operation cannot give (each operation has its list of business refusals);
 *  - every acknowledged order exists, with the number, customer, lines and quantities it was
 *    told, and the shipped and cancelled units its owner was told (only the owner ships and
 *    cancels an order, so its last answer is exact); no order exists that nobody was told about;
 *  - every product's onHand is its opening stock plus the acknowledged adjustments and receipts
 *    minus the acknowledged shipments, and every restock's received units are the acknowledged ones;
 *  - an order placed again with its idempotency key, also twice at the same instant, is
 *    replayed, never placed twice;
 *  - the invariant audit finds nothing.
 *
 * It prints its figures (operations, clients, duration, refusals, violations) for the README.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connect, type Connection, rows } from "../../drizzle/db.js";
import { type App, createApp } from "../../server/http/app.js";
import { createLogger } from "../../server/logger.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { auditInvariants } from "../../server/services/audit.service.js";
import { formatViolations } from "../support/audit.js";
import { newProduct } from "../support/catalogue.js";
import { describeOnPostgres, useFreshDatabase } from "../support/database.js";
import { seededRandom } from "../support/random.js";

const CLIENTS = Math.max(1, Number(process.env.LOAD_CLIENTS ?? 16));
const SECONDS = Math.max(1, Number(process.env.LOAD_SECONDS ?? 10));
const SEED = Number(process.env.LOAD_SEED ?? Date.now() % 1_000_000);
const HOT = 3;
const COLD = 50;
const ADMIN_KEY = `load-${"cd34".repeat(8)}`;

// ---- the operations, as clients send them ----

const ORDER_FIELDS = "id number customer status lines { id quantity allocated backordered shipped cancelled product { id } }";
const OPS = {
  placeOrder: `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { replayed order { ${ORDER_FIELDS} } userErrors { code } } }`,
  cancelOrder: `mutation($id: ID!) { cancelOrder(id: $id, reason: "load") { order { ${ORDER_FIELDS} } userErrors { code } } }`,
  cancelOrderLine: `mutation($id: ID!, $quantity: Int) { cancelOrderLine(id: $id, quantity: $quantity) { order { ${ORDER_FIELDS} } userErrors { code } } }`,
  shipOrder: `mutation($id: ID!) { shipOrder(id: $id) { order { ${ORDER_FIELDS} } userErrors { code } } }`,
  scheduleRestock:
    "mutation($input: ScheduleRestockInput!) { scheduleRestock(input: $input) { restock { id quantity receivedQuantity } userErrors { code } } }",
  rescheduleRestock: "mutation($id: ID!, $at: DateTime!) { rescheduleRestock(id: $id, expectedAt: $at) { restock { id } userErrors { code } } }",
  receiveRestock:
    "mutation($id: ID!, $quantity: Int) { receiveRestock(id: $id, quantity: $quantity) { restock { id receivedQuantity status } filledBackorders { id } userErrors { code } } }",
  cancelRestock: "mutation($id: ID!) { cancelRestock(id: $id) { restock { id status } userErrors { code } } }",
  adjustStock: "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { stockLevel { onHand } userErrors { code } } }",
  prioritizeBackorder:
    "mutation($id: ID!, $priority: Int!) { prioritizeBackorder(id: $id, priority: $priority) { backorder { id } userErrors { code } } }",
  updateProduct: "mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id } userErrors { code } } }",
  readStock: "query($id: ID!) { product(id: $id) { stock { onHand allocated available backordered incoming projected nextRestockAt } } }",
  readBacklog: "query($id: ID!) { product(id: $id) { backlog(first: 20) { totalCount nodes { id position unitsAhead expectedAt delayed } } } }",
  readOrders: `query($customer: String) { orders(first: 20, filter: { customer: $customer }) { totalCount nodes { ${ORDER_FIELDS} } } }`,
} as const;
type Operation = keyof typeof OPS;

/** The refusals each operation may give under this load; any other code is a failure. */
const EXPECTED_REFUSALS: Record<Operation, string[]> = {
  placeOrder: ["OUT_OF_STOCK", "BACKORDER_LIMIT_EXCEEDED", "BELOW_MIN_ORDER_QUANTITY", "ABOVE_MAX_ORDER_QUANTITY", "IDEMPOTENCY_KEY_REUSED"],
  cancelOrder: ["INVALID_STATE"],
  cancelOrderLine: ["INVALID_STATE"],
  shipOrder: ["INVALID_STATE"],
  scheduleRestock: [],
  rescheduleRestock: ["INVALID_STATE"],
  receiveRestock: ["INVALID_STATE"],
  cancelRestock: ["INVALID_STATE"],
  adjustStock: ["INSUFFICIENT_STOCK"],
  // The backorder may have been filled or cancelled by another client since the backlog was read.
  prioritizeBackorder: ["INVALID_STATE"],
  updateProduct: ["INVALID_INPUT"],
  readStock: [],
  readBacklog: [],
  readOrders: [],
};

interface OrderLineView {
  id: string;
  quantity: number;
  allocated: number;
  backordered: number;
  shipped: number;
  cancelled: number;
  product: { id: string };
}
interface OrderView {
  id: string;
  number: string;
  customer: string;
  status: string;
  lines: OrderLineView[];
}

/** What a client was told about one of its orders. */
interface ToldOrder {
  view: OrderView;
  key: string;
  input: Record<string, unknown>;
}

interface Figures {
  operations: number;
  byOperation: Map<string, number>;
  failures: string[];
}

describeOnPostgres("many concurrent clients over HTTP", () => {
  const database = useFreshDatabase();
  let pool: Connection;
  let app: App;
  const logLines: string[] = [];
  const hot: string[] = [];
  const cold: string[] = [];
  /** Units on hand at the start, per product global id. */
  const opening = new Map<string, number>();
  const productIds = new Map<string, number>();

  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 24 });
    app = await createApp({
      port: 0,
      connection: pool,
      migrate: false,
      delaySweepMs: 0,
      bootstrapAdminKey: ADMIN_KEY,
      // This is about correctness under contention, not about the per-key budget.
      limits: { ADMIN: { capacity: 1e9, refillPerSecond: 1e9 } },
      logger: createLogger({ level: "warn", write: (line) => logLines.push(line) }),
    });
    const pick = seededRandom(SEED);
    for (let i = 0; i < HOT + COLD; i++) {
      const isHot = i < HOT;
      const stock = isHot ? 20 : Math.floor(pick() * 6);
      const product = await newProduct(pool.db, {
        initialStock: stock,
        backorderPolicy: isHot || pick() < 0.6 ? "ALLOW" : "DENY",
        backorderLimit: !isHot && pick() < 0.3 ? 10 : null,
        maxOrderQuantity: !isHot && pick() < 0.2 ? 4 : null,
        leadTimeDays: pick() < 0.5 ? 7 : null,
      });
      const id = toGlobalId("Product", product.id);
      (isHot ? hot : cold).push(id);
      opening.set(id, stock);
      productIds.set(id, product.id);
    }
  });

  afterAll(async () => {
    await app?.close();
    await pool?.close();
  });

  it(
    `keeps every promise with ${CLIENTS} clients for ${SECONDS} s on ${HOT} hot and ${COLD} cold products`,
    async () => {
      const figures: Figures = { operations: 0, byOperation: new Map(), failures: [] };
      const count = (what: string) => figures.byOperation.set(what, (figures.byOperation.get(what) ?? 0) + 1);
      const adjusted = new Map<string, number>();
      const received = new Map<string, number>();
      const shipped = new Map<string, number>();
      const add = (map: Map<string, number>, key: string, units: number) => map.set(key, (map.get(key) ?? 0) + units);
      const told: ToldOrder[] = [];
      const restocksTold = new Map<string, { productId: string; quantity: number; received: number; open: boolean }>();

      /** Posts one operation; returns its payload (or data) when the answer is one the operation may give, else records a failure. */
      async function call(operation: Operation, variables: Record<string, unknown>): Promise<Record<string, any> | undefined> {
        figures.operations += 1;
        let status = 0;
        let text = "";
        try {
          const response = await fetch(app.url, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
            body: JSON.stringify({ query: OPS[operation], variables }),
          });
          status = response.status;
          text = await response.text();
        } catch (error) {
          figures.failures.push(`${operation}: no answer (${String(error)})`);
          return undefined;
        }
        const failure = (why: string) => {
          figures.failures.push(`${operation}: ${why}: ${status} ${text.slice(0, 300)}`);
          return undefined;
        };
        if (/deadlock|serializ|could not serialize/i.test(text)) return failure("a deadlock or serialization error reached the client");
        if (status !== 200) return failure("HTTP status");
        const body = JSON.parse(text);
        if (body.errors?.length) return failure("GraphQL errors");
        const payload = Object.values(body.data)[0] as Record<string, any>;
        const codes: string[] = (payload?.userErrors ?? []).map((error: { code: string }) => error.code);
        const unexpected = codes.filter((code) => !EXPECTED_REFUSALS[operation].includes(code));
        if (unexpected.length > 0) return failure(`refusal ${unexpected.join(",")}`);
        count(codes.length ? `${operation} ${codes[0]}` : `${operation} ok`);
        return payload;
      }

      /** Takes in what an answer says about one of this client's orders (only its owner ships and cancels it). */
      function learn(mine: Map<string, ToldOrder>, view: OrderView | null | undefined): void {
        const entry = view ? mine.get(view.id) : undefined;
        if (!view || !entry) return;
        for (const line of view.lines) {
          const earlier = entry.view.lines.find((l) => l.id === line.id);
          add(shipped, line.product.id, line.shipped - (earlier?.shipped ?? 0));
        }
        entry.view = view;
      }

      async function client(index: number, deadline: number): Promise<void> {
        const pick = seededRandom(SEED * 31 + index);
        const choose = <T>(items: readonly T[]) => items[Math.floor(pick() * items.length)];
        const product = () => (pick() < 0.85 ? choose(hot) : choose(cold));
        const mine = new Map<string, ToldOrder>();
        const myRestocks: string[] = [];
        let sequence = 0;
        let last: ToldOrder | undefined;
        const customer = `client-${index}`;

        /** Records an order the client was told was placed (not replayed). */
        const remember = (view: OrderView, key: string, input: Record<string, unknown>) => {
          if (mine.has(view.id)) figures.failures.push(`placeOrder: ${key} placed an order that was already told (${view.id})`);
          const entry: ToldOrder = { view, key, input: { ...input, idempotencyKey: key } };
          mine.set(view.id, entry);
          told.push(entry);
          last = entry;
        };
        const place = async (input: Record<string, unknown>, key: string) => {
          const payload = await call("placeOrder", { input: { ...input, idempotencyKey: key } });
          const view: OrderView | undefined = payload?.order ?? undefined;
          if (!view) return;
          if (!payload!.replayed) remember(view, key, input);
          else if (mine.get(view.id)?.key !== key)
            figures.failures.push(`placeOrder: the replay of ${key} returned ${view.id}, not the order first placed`);
        };
        /** The same request twice at the same instant (a client retrying at once): one order, one replay. */
        const placeTwice = async (input: Record<string, unknown>, key: string) => {
          const answers = await Promise.all([0, 1].map(() => call("placeOrder", { input: { ...input, idempotencyKey: key } })));
          const views = answers.map((payload) => payload?.order as OrderView | undefined);
          if (!views[0] || !views[1]) {
            if (views[0] || views[1]) figures.failures.push(`placeOrder: racing duplicates of ${key}: one placed, one refused`);
            return;
          }
          if (views[0].id !== views[1].id) figures.failures.push(`placeOrder: one key, two orders (${views[0].id}, ${views[1].id})`);
          const placed = answers.filter((payload) => !payload!.replayed);
          if (placed.length !== 1) figures.failures.push(`placeOrder: racing duplicates of ${key}: ${placed.length} placed`);
          else remember(placed[0]!.order, key, input);
        };

        while (Date.now() < deadline) {
          const roll = pick();
          const orders = [...mine.values()];
          const anOrder = () => (orders.length ? choose(orders) : undefined);
          if (roll < 0.34) {
            const products = new Set<string>();
            const lineCount = 1 + Math.floor(pick() * 3);
            while (products.size < lineCount) products.add(product());
            const input = {
              customer,
              allowPartial: pick() < 0.7,
              lines: [...products].map((productId) => ({ productId, quantity: 1 + Math.floor(pick() * 4) })),
            };
            const key = `${customer}-${++sequence}`;
            await (pick() < 0.05 ? placeTwice(input, key) : place(input, key));
          } else if (roll < 0.38 && last) {
            // A retry of the last order with its key: the first answer again, nothing placed.
            await place(Object.fromEntries(Object.entries(last.input).filter(([k]) => k !== "idempotencyKey")), last.key);
          } else if (roll < 0.4 && last) {
            // The last key with another order: refused.
            const payload = await call("placeOrder", { input: { customer, lines: [{ productId: product(), quantity: 9 }], idempotencyKey: last.key } });
            if (payload && payload.userErrors[0]?.code !== "IDEMPOTENCY_KEY_REUSED")
              figures.failures.push(`placeOrder: key ${last.key} reused for another order was not refused`);
          } else if (roll < 0.5) {
            const order = anOrder();
            if (order) learn(mine, (await call("shipOrder", { id: order.view.id }))?.order);
          } else if (roll < 0.56) {
            const order = anOrder();
            if (order) learn(mine, (await call("cancelOrder", { id: order.view.id }))?.order);
          } else if (roll < 0.62) {
            const order = anOrder();
            const line = order ? choose(order.view.lines) : undefined;
            if (order && line) {
              const open = line.quantity - line.shipped - line.cancelled;
              const quantity = open > 1 && pick() < 0.7 ? 1 + Math.floor(pick() * (open - 1)) : undefined;
              learn(mine, (await call("cancelOrderLine", { id: line.id, quantity }))?.order);
            }
          } else if (roll < 0.68) {
            const productId = choose(hot);
            const quantity = 1 + Math.floor(pick() * 8);
            const payload = await call("scheduleRestock", {
              input: { productId, quantity, expectedAt: new Date(Date.now() + (1 + pick() * 30) * 86_400_000).toISOString() },
            });
            if (payload?.restock) {
              restocksTold.set(payload.restock.id, { productId, quantity, received: 0, open: true });
              myRestocks.push(payload.restock.id);
            }
          } else if (roll < 0.76) {
            const restockId = myRestocks.find((id) => restocksTold.get(id)!.open);
            if (restockId) {
              const restock = restocksTold.get(restockId)!;
              const outstanding = restock.quantity - restock.received;
              const quantity = pick() < 0.5 ? 1 + Math.floor(pick() * outstanding) : undefined;
              const payload = await call("receiveRestock", { id: restockId, quantity });
              if (payload?.restock) {
                const units = payload.restock.receivedQuantity - restock.received;
                if (units !== (quantity ?? outstanding))
                  figures.failures.push(
                    `receiveRestock: told ${payload.restock.receivedQuantity} received after asking for ${quantity ?? outstanding} more of ${restock.received}`,
                  );
                restock.received = payload.restock.receivedQuantity;
                restock.open = payload.restock.status === "SCHEDULED";
                add(received, restock.productId, units);
              }
            }
          } else if (roll < 0.78) {
            const restockId = myRestocks.find((id) => restocksTold.get(id)!.open);
            if (restockId) await call("rescheduleRestock", { id: restockId, at: new Date(Date.now() + (1 + pick() * 30) * 86_400_000).toISOString() });
          } else if (roll < 0.8) {
            const restockId = myRestocks.find((id) => restocksTold.get(id)!.open);
            if (restockId && (await call("cancelRestock", { id: restockId }))?.restock) restocksTold.get(restockId)!.open = false;
          } else if (roll < 0.86) {
            const productId = product();
            const delta = pick() < 0.6 ? 1 + Math.floor(pick() * 5) : -(1 + Math.floor(pick() * 3));
            const payload = await call("adjustStock", { input: { productId, delta, reason: delta > 0 ? "found" : "damaged" } });
            if (payload?.stockLevel) add(adjusted, productId, delta);
          } else if (roll < 0.89) {
            const data = await call("readBacklog", { id: choose(hot) });
            const nodes = data?.backlog?.nodes ?? [];
            if (nodes.length) await call("prioritizeBackorder", { id: choose(nodes as { id: string }[]).id, priority: Math.floor(pick() * 7) - 3 });
          } else if (roll < 0.91) {
            const productId = choose(cold);
            await call("updateProduct", {
              id: productId,
              input: pick() < 0.5 ? { backorderPolicy: choose(["ALLOW", "DENY"]) } : { leadTimeDays: choose([null, 3, 14]) },
            });
          } else if (roll < 0.95) {
            await call("readStock", { id: product() });
          } else {
            await call("readOrders", { customer });
          }
        }
      }

      const started = performance.now();
      const deadline = Date.now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, deadline)));
      const seconds = (performance.now() - started) / 1000;

      // Every acknowledged order, as its owner was last told; none that nobody was told about.
      const dbOrders = await rows<{ id: number; number: string; customer: string }>(pool.db, sql`SELECT id, number, customer FROM orders`);
      const dbLines = await rows<{
        id: number;
        order_id: number;
        product_id: number;
        quantity: number;
        allocated: number;
        waiting: number;
        shipped: number;
        cancelled: number;
      }>(pool.db, sql`SELECT id, order_id, product_id, quantity, allocated, waiting, shipped, cancelled FROM order_lines`);
      const ordersById = new Map(dbOrders.map((o) => [toGlobalId("Order", Number(o.id)), o]));
      const linesById = new Map(dbLines.map((l) => [toGlobalId("OrderLine", Number(l.id)), l]));
      const lost: string[] = [];
      for (const { view } of told) {
        const order = ordersById.get(view.id);
        if (!order || order.number !== view.number || order.customer !== view.customer) {
          lost.push(`order ${view.number}: ${order ? `is ${order.number} of ${order.customer}` : "missing"}`);
          continue;
        }
        for (const line of view.lines) {
          const row = linesById.get(line.id);
          const same =
            row &&
            toGlobalId("Order", Number(row.order_id)) === view.id &&
            toGlobalId("Product", Number(row.product_id)) === line.product.id &&
            row.quantity === line.quantity &&
            row.shipped === line.shipped &&
            row.cancelled === line.cancelled;
          if (!same) lost.push(`order ${view.number} line ${line.id}: told ${JSON.stringify(line)}, stored ${JSON.stringify(row ?? null)}`);
        }
        if (dbLines.filter((l) => toGlobalId("Order", Number(l.order_id)) === view.id).length !== view.lines.length)
          lost.push(`order ${view.number}: line count`);
      }
      const unknownOrders = dbOrders.length - told.length;

      // Stock conservation: opening + adjustments + receipts − shipments, per product.
      const levels = await rows<{ product_id: number; on_hand: number }>(
        pool.db,
        sql`SELECT product_id, sum(on_hand)::int AS on_hand FROM stock_levels GROUP BY product_id`,
      );
      const unbalanced: string[] = [];
      for (const [globalId, start] of opening) {
        const expected = start + (adjusted.get(globalId) ?? 0) + (received.get(globalId) ?? 0) - (shipped.get(globalId) ?? 0);
        const actual = Number(levels.find((l) => Number(l.product_id) === productIds.get(globalId))?.on_hand ?? 0);
        if (actual !== expected) unbalanced.push(`${globalId}: onHand ${actual}, expected ${expected}`);
      }
      const restockRows = await rows<{ id: number; received_quantity: number }>(pool.db, sql`SELECT id, received_quantity FROM restocks`);
      for (const [id, restock] of restocksTold) {
        const row = restockRows.find((r) => toGlobalId("Restock", Number(r.id)) === id);
        if (!row || row.received_quantity !== restock.received)
          unbalanced.push(`restock ${id}: received ${row?.received_quantity}, told ${restock.received}`);
      }

      const violations = await auditInvariants(pool.db);
      const internalErrors = logLines.filter((line) => JSON.parse(line).level === "error");
      const ops = [...figures.byOperation]
        .sort()
        .map(([what, n]) => `${what} ${n}`)
        .join(", ");
      console.log(
        [
          `load: ${CLIENTS} clients, ${seconds.toFixed(1)} s, ${figures.operations} operations (${Math.round(figures.operations / seconds)}/s), seed ${SEED}`,
          `  orders acknowledged ${told.length}, missing or changed ${lost.length}, unknown ${unknownOrders}; stock or restock imbalances ${unbalanced.length}`,
          `  failures ${figures.failures.length}, server errors logged ${internalErrors.length}, audit violations ${violations.length}`,
          `  ${ops}`,
        ].join("\n"),
      );
      expect(figures.failures.slice(0, 20)).toEqual([]);
      expect(internalErrors.slice(0, 5)).toEqual([]);
      expect(lost.slice(0, 20)).toEqual([]);
      expect(unknownOrders).toBe(0);
      expect(unbalanced.slice(0, 20)).toEqual([]);
      if (violations.length > 0) throw new Error(formatViolations(violations));
      expect(told.length).toBeGreaterThan(CLIENTS);
    },
    SECONDS * 1000 + 60_000,
  );
});

/**
 * The invariant audit catches what it should and nothing else: a consistent hand-built state has no
 * violation, and each deliberately broken row is reported under the right invariant with its ids.
 * Every test builds its rows with plain SQL in a transaction that is rolled back, so the file's
 * database ends empty and its own audit in afterAll stays clean.
 */
import { sql } from "drizzle-orm";
import { describe, expect, test } from "vitest";
import { rows, type Transaction } from "../../drizzle/db.js";
import { auditInvariants, AUDITED_INVARIANTS, type Violation } from "../../server/services/audit.service.js";
import { rolledBack as rolledBackIn, useFreshDatabase } from "../support/database.js";

const database = useFreshDatabase();

/** Runs `build` in a transaction of this file's database that is always rolled back. */
const rolledBack = (build: (tx: Transaction) => Promise<void>) => rolledBackIn(database.db, build);

async function run(tx: Transaction, text: string): Promise<void> {
  await tx.execute(sql.raw(text));
}

async function insertId(tx: Transaction, text: string): Promise<number> {
  const [row] = await rows<{ id: number | string }>(tx, sql.raw(`${text} RETURNING id`));
  return Number(row.id);
}

/**
 * The refund a cancellation of `units` units of a line writes with it (docs/ARCHITECTURE.md,
 * "Refunds"): one refund and its line, at the line's unit price. Returns the refund's id.
 */
async function refund(tx: Transaction, lineId: number, units: number): Promise<number> {
  const refundId = await insertId(
    tx,
    `INSERT INTO refunds (order_id, reason, amount, currency_code)
     SELECT l.order_id, 'CANCELLED', ${units} * l.unit_price, o.currency_code FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.id = ${lineId}`,
  );
  await run(
    tx,
    `INSERT INTO refund_lines (refund_id, order_line_id, quantity, amount) SELECT ${refundId}, id, ${units}, ${units} * unit_price FROM order_lines WHERE id = ${lineId}`,
  );
  return refundId;
}

/** A timestamp literal: `time(3)` is three minutes past a fixed hour, so tests can order transactions. */
function time(minute: number): string {
  return `'2030-01-01T10:${String(minute).padStart(2, "0")}:00Z'`;
}

async function location(tx: Transaction, code: string, priority: number): Promise<number> {
  return insertId(tx, `INSERT INTO locations (code, name, priority) VALUES ('${code}', '${code}', ${priority})`);
}

async function product(tx: Transaction, sku: string): Promise<number> {
  return insertId(tx, `INSERT INTO products (sku, name, price, backorder_policy) VALUES ('${sku}', '${sku}', 10, 'ALLOW')`);
}

/** A stock level and the ledger movement that put its units there. */
async function stock(tx: Transaction, productId: number, locationId: number, onHand: number): Promise<void> {
  await run(tx, `INSERT INTO stock_levels (product_id, location_id, on_hand) VALUES (${productId}, ${locationId}, ${onHand})`);
  await run(tx, `INSERT INTO stock_movements (product_id, location_id, delta, kind) VALUES (${productId}, ${locationId}, ${onHand}, 'INITIAL')`);
}

interface Placed {
  orderId: number;
  lineId: number;
  backorderId: number | null;
}

/** An order of one line: `allocated` units reserved at `locationId`, `waiting` units in the backlog. */
async function order(
  tx: Transaction,
  line: { productId: number; locationId: number; allocated: number; waiting: number; priority?: number; at?: string },
): Promise<Placed> {
  const at = line.at ?? "now()";
  const orderId = await insertId(
    tx,
    `INSERT INTO orders (customer, status, total, currency_code, created_at)
     VALUES ('alice', '${line.waiting > 0 ? "AWAITING_STOCK" : "READY_TO_SHIP"}', 10, 'USD', ${at})`,
  );
  const quantity = line.allocated + line.waiting;
  const lineId = await insertId(
    tx,
    `INSERT INTO order_lines (order_id, product_id, line_number, quantity, unit_price, allocated, waiting)
     VALUES (${orderId}, ${line.productId}, 1, ${quantity}, 10, ${line.allocated}, ${line.waiting})`,
  );
  if (line.allocated > 0) {
    await run(
      tx,
      `INSERT INTO allocations (order_line_id, location_id, product_id, quantity)
       VALUES (${lineId}, ${line.locationId}, ${line.productId}, ${line.allocated})`,
    );
    await run(
      tx,
      `UPDATE stock_levels SET allocated = allocated + ${line.allocated}
       WHERE product_id = ${line.productId} AND location_id = ${line.locationId}`,
    );
  }
  let backorderId: number | null = null;
  if (line.waiting > 0) {
    backorderId = await insertId(
      tx,
      `INSERT INTO backorders (product_id, order_id, order_line_id, quantity, remaining, priority, created_at)
       VALUES (${line.productId}, ${orderId}, ${lineId}, ${line.waiting}, ${line.waiting}, ${line.priority ?? 0}, ${at})`,
    );
    await run(
      tx,
      `UPDATE products SET backordered = backordered + ${line.waiting}, waiting_orders = (SELECT count(*) FROM backorders b WHERE b.product_id = products.id AND b.status = 'WAITING') WHERE id = ${line.productId}`,
    );
  }
  return { orderId, lineId, backorderId };
}

/**
 * Receives `quantity` units at a location and gives them to one backorder, keeping every count
 * consistent (ledger, stock, line, allocation, product, order): only the choice of backorder can
 * be wrong.
 */
async function fill(tx: Transaction, backorderId: number, quantity: number, locationId: number, at = "now()"): Promise<number> {
  const [b] = await rows<{ product_id: number; order_id: number; order_line_id: number }>(
    tx,
    sql.raw(`SELECT product_id, order_id, order_line_id FROM backorders WHERE id = ${backorderId}`),
  );
  const fillId = await insertId(
    tx,
    `INSERT INTO backorder_fills (backorder_id, product_id, location_id, quantity, created_at)
     VALUES (${backorderId}, ${b.product_id}, ${locationId}, ${quantity}, ${at})`,
  );
  await run(
    tx,
    `UPDATE backorders SET remaining = remaining - ${quantity},
       status = CASE WHEN remaining = ${quantity} THEN 'FILLED' ELSE status END,
       filled_at = CASE WHEN remaining = ${quantity} THEN ${at} ELSE filled_at END
     WHERE id = ${backorderId}`,
  );
  await run(tx, `UPDATE order_lines SET waiting = waiting - ${quantity}, allocated = allocated + ${quantity} WHERE id = ${b.order_line_id}`);
  await run(
    tx,
    `INSERT INTO allocations (order_line_id, location_id, product_id, quantity)
     VALUES (${b.order_line_id}, ${locationId}, ${b.product_id}, ${quantity})
     ON CONFLICT (order_line_id, location_id) DO UPDATE SET quantity = allocations.quantity + EXCLUDED.quantity`,
  );
  await run(
    tx,
    `INSERT INTO stock_levels (product_id, location_id, on_hand, allocated) VALUES (${b.product_id}, ${locationId}, ${quantity}, ${quantity})
     ON CONFLICT (product_id, location_id) DO UPDATE
       SET on_hand = stock_levels.on_hand + EXCLUDED.on_hand, allocated = stock_levels.allocated + EXCLUDED.allocated`,
  );
  await run(
    tx,
    `INSERT INTO stock_movements (product_id, location_id, delta, kind, created_at)
     VALUES (${b.product_id}, ${locationId}, ${quantity}, 'RESTOCK', ${at})`,
  );
  await run(
    tx,
    `UPDATE products SET backordered = backordered - ${quantity}, waiting_orders = (SELECT count(*) FROM backorders b WHERE b.product_id = products.id AND b.status = 'WAITING') WHERE id = ${b.product_id}`,
  );
  await run(
    tx,
    `UPDATE orders o SET status = CASE WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.waiting > 0)
       THEN 'AWAITING_STOCK' ELSE 'READY_TO_SHIP' END WHERE o.id = ${b.order_id}`,
  );
  return fillId;
}

/** A product event as the event service writes it: the transaction's time and the product version. */
async function productEvent(tx: Transaction, productId: number, version: number, at: string, reason: string): Promise<void> {
  await run(
    tx,
    `INSERT INTO events (type, product_id, product_version, payload, created_at)
     VALUES ('BACKLOG_CHANGED', ${productId}, ${version}, '{"reason": "${reason}"}', ${at})`,
  );
}

interface BaseState {
  main: number;
  second: number;
  productId: number;
  /** 3 units allocated at `main`. */
  ready: Placed;
  /** 2 allocated at `main`, 2 waiting. */
  waiting: Placed & { backorderId: number };
  restockId: number;
}

/**
 * A consistent shop: two locations; a product with 5 units at `main`, all allocated (3 to one
 * order, 2 to another whose other 2 units wait in the backlog); a scheduled restock.
 */
async function baseState(tx: Transaction): Promise<BaseState> {
  const main = await location(tx, "main", 0);
  const second = await location(tx, "second", 1);
  const productId = await product(tx, "P-1");
  await stock(tx, productId, main, 5);
  const ready = await order(tx, { productId, locationId: main, allocated: 3, waiting: 0 });
  const waiting = await order(tx, { productId, locationId: main, allocated: 2, waiting: 2 });
  const restockId = await insertId(
    tx,
    `INSERT INTO restocks (product_id, location_id, quantity, expected_at) VALUES (${productId}, ${main}, 10, now() + interval '3 days')`,
  );
  return { main, second, productId, ready, waiting: { ...waiting, backorderId: waiting.backorderId! }, restockId };
}

type Expected = { invariant: string; ids: Record<string, number | string> };

/** The audit reports exactly these violations (by invariant and ids), in any order. */
async function expectViolations(tx: Transaction, expected: Expected[]): Promise<Violation[]> {
  const violations = await auditInvariants(tx);
  const simplify = (list: Expected[]) => list.map((v) => `${v.invariant} ${JSON.stringify(Object.fromEntries(Object.entries(v.ids).sort()))}`).sort();
  expect(simplify(violations), violations.map((v) => v.message).join("\n")).toEqual(simplify(expected));
  return violations;
}

test("a consistent hand-built state has no violations", async () => {
  await rolledBack(async (tx) => {
    await baseState(tx);
    await expectViolations(tx, []);
  });
});

test("an empty database has no violations", async () => {
  expect(await auditInvariants(database.db)).toEqual([]);
});

test("every invariant of docs/ARCHITECTURE.md ('The model and its invariants') has a check", () => {
  expect(AUDITED_INVARIANTS).toEqual(
    expect.arrayContaining([
      "stock.allocated-within-on-hand",
      "stock.no-idle-stock-while-waiting",
      "line.units-add-up",
      "line.matches-allocations",
      "line.waiting-matches-backorder",
      "stock.allocated-matches-allocations",
      "stock.on-hand-matches-ledger",
      "backlog.fifo",
      "product.backordered-matches-backlog",
      "product.waiting-orders-matches-backlog",
      "backorder.filled-matches-fills",
      "order.status-matches-lines",
      "restock.received-within-quantity",
      "restock.status-matches-receipt",
    ]),
  );
});

describe("stock levels", () => {
  test("allocated above onHand is invariant 1", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, "ALTER TABLE stock_levels DROP CONSTRAINT stock_levels_allocated_check");
      // One unit lost, with its ledger row: onHand 4 while 5 stay allocated.
      await run(tx, `UPDATE stock_levels SET on_hand = 4 WHERE product_id = ${s.productId} AND location_id = ${s.main}`);
      await run(tx, `INSERT INTO stock_movements (product_id, location_id, delta, kind) VALUES (${s.productId}, ${s.main}, -1, 'ADJUSTMENT')`);
      const [violation] = await expectViolations(tx, [
        { invariant: "stock.allocated-within-on-hand", ids: { productId: s.productId, locationId: s.main } },
      ]);
      expect(violation.message).toContain("allocated 5");
    });
  });

  test("units available at another location while the product has a backlog is invariant 2", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await stock(tx, s.productId, s.second, 3);
      await expectViolations(tx, [{ invariant: "stock.no-idle-stock-while-waiting", ids: { productId: s.productId, locationId: s.second } }]);
    });
  });

  test("units held back as safety stock are not idle", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await stock(tx, s.productId, s.second, 3);
      await run(tx, `UPDATE stock_levels SET safety_stock = 3 WHERE product_id = ${s.productId} AND location_id = ${s.second}`);
      await expectViolations(tx, []);
    });
  });

  test("allocated that differs from the open allocations is invariant 4", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      // 4 allocated of 5 with 1 held as safety stock: nothing idle, but allocations say 5.
      await run(tx, `UPDATE stock_levels SET allocated = 4, safety_stock = 1 WHERE product_id = ${s.productId} AND location_id = ${s.main}`);
      await expectViolations(tx, [{ invariant: "stock.allocated-matches-allocations", ids: { productId: s.productId, locationId: s.main } }]);
    });
  });

  test("an allocation at a location without a stock level is invariant 4", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE allocations SET location_id = ${s.second} WHERE order_line_id = ${s.ready.lineId}`);
      await expectViolations(tx, [
        { invariant: "stock.allocated-matches-allocations", ids: { productId: s.productId, locationId: s.main } },
        { invariant: "stock.allocated-matches-allocations", ids: { productId: s.productId, locationId: s.second } },
      ]);
    });
  });

  test("onHand that differs from the ledger is invariant 5", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `INSERT INTO stock_movements (product_id, location_id, delta, kind) VALUES (${s.productId}, ${s.main}, 1, 'ADJUSTMENT')`);
      const [violation] = await expectViolations(tx, [{ invariant: "stock.on-hand-matches-ledger", ids: { productId: s.productId, locationId: s.main } }]);
      expect(violation.message).toBe("onHand 5, ledger sum 6");
    });
  });

  test("a stock level without movements must have nothing on hand (invariant 5)", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      const other = await product(tx, "P-2");
      await run(tx, `INSERT INTO stock_levels (product_id, location_id, on_hand) VALUES (${other}, ${s.main}, 2)`);
      await run(tx, `INSERT INTO stock_movements (product_id, location_id, delta, kind) VALUES (${other}, ${s.second}, 7, 'INITIAL')`);
      await expectViolations(tx, [
        { invariant: "stock.on-hand-matches-ledger", ids: { productId: other, locationId: s.main } },
        { invariant: "stock.on-hand-matches-ledger", ids: { productId: other, locationId: s.second } },
      ]);
    });
  });
});

describe("order lines and orders", () => {
  test("units that do not add up to the quantity are invariant 3", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, "ALTER TABLE order_lines DROP CONSTRAINT order_lines_units_check");
      await run(tx, `UPDATE order_lines SET cancelled = 1 WHERE id = ${s.ready.lineId}`);
      await refund(tx, s.ready.lineId, 1);
      await expectViolations(tx, [{ invariant: "line.units-add-up", ids: { orderId: s.ready.orderId, orderLineId: s.ready.lineId } }]);
    });
  });

  test("a line's allocated that differs from its allocations is invariant 3", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE order_lines SET allocated = 2, cancelled = 1 WHERE id = ${s.ready.lineId}`);
      await refund(tx, s.ready.lineId, 1);
      await expectViolations(tx, [{ invariant: "line.matches-allocations", ids: { orderId: s.ready.orderId, orderLineId: s.ready.lineId } }]);
    });
  });

  test("a line's shipped that differs from its allocations is invariant 3", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE allocations SET shipped = 1 WHERE order_line_id = ${s.ready.lineId}`);
      await expectViolations(tx, [{ invariant: "line.matches-allocations", ids: { orderId: s.ready.orderId, orderLineId: s.ready.lineId } }]);
    });
  });

  test("a line's waiting that differs from its backorder's remaining is invariant 3", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE order_lines SET waiting = 1, cancelled = 1 WHERE id = ${s.waiting.lineId}`);
      await refund(tx, s.waiting.lineId, 1);
      await expectViolations(tx, [
        {
          invariant: "line.waiting-matches-backorder",
          ids: { orderId: s.waiting.orderId, orderLineId: s.waiting.lineId, backorderId: s.waiting.backorderId },
        },
      ]);
    });
  });

  test("an allocation of another product than its line's is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      const other = await product(tx, "P-2");
      await stock(tx, other, s.main, 3);
      await run(tx, `UPDATE stock_levels SET allocated = 3 WHERE product_id = ${other}`);
      await run(tx, `UPDATE stock_levels SET allocated = 2 WHERE product_id = ${s.productId}`);
      await run(tx, `UPDATE stock_levels SET safety_stock = 3 WHERE product_id = ${s.productId}`);
      await run(tx, `UPDATE allocations SET product_id = ${other} WHERE order_line_id = ${s.ready.lineId}`);
      await expectViolations(tx, [{ invariant: "allocation.matches-line", ids: { orderLineId: s.ready.lineId, locationId: s.main, productId: other } }]);
    });
  });

  test("an order status that the lines contradict is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE orders SET status = 'SHIPPED' WHERE id = ${s.ready.orderId}`);
      await run(tx, `UPDATE orders SET status = 'READY_TO_SHIP' WHERE id = ${s.waiting.orderId}`);
      const violations = await expectViolations(tx, [
        { invariant: "order.status-matches-lines", ids: { orderId: s.ready.orderId } },
        { invariant: "order.status-matches-lines", ids: { orderId: s.waiting.orderId } },
      ]);
      expect(violations.map((v) => v.message).join("\n")).toContain("status SHIPPED, lines say READY_TO_SHIP");
    });
  });

  test("order status follows the first matching rule", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      // 3 of 3 cancelled: CANCELLED.
      await run(tx, `UPDATE order_lines SET allocated = 0, cancelled = 3 WHERE id = ${s.ready.lineId}`);
      await refund(tx, s.ready.lineId, 3);
      await run(tx, `DELETE FROM allocations WHERE order_line_id = ${s.ready.lineId}`);
      await run(tx, `UPDATE stock_levels SET allocated = 2, safety_stock = 3 WHERE product_id = ${s.productId}`);
      await run(tx, `UPDATE orders SET status = 'CANCELLED' WHERE id = ${s.ready.orderId}`);
      // 2 shipped, 2 waiting: PARTIALLY_SHIPPED comes before AWAITING_STOCK.
      await run(tx, `UPDATE order_lines SET allocated = 0, shipped = 2 WHERE id = ${s.waiting.lineId}`);
      await run(tx, `UPDATE allocations SET quantity = 0, shipped = 2 WHERE order_line_id = ${s.waiting.lineId}`);
      await run(tx, `UPDATE stock_levels SET on_hand = 3, allocated = 0 WHERE product_id = ${s.productId}`);
      await run(tx, `INSERT INTO stock_movements (product_id, location_id, delta, kind) VALUES (${s.productId}, ${s.main}, -2, 'SHIPMENT')`);
      await run(tx, `UPDATE orders SET status = 'PARTIALLY_SHIPPED' WHERE id = ${s.waiting.orderId}`);
      await expectViolations(tx, []);
      await run(tx, `UPDATE orders SET status = 'AWAITING_STOCK' WHERE id = ${s.waiting.orderId}`);
      await expectViolations(tx, [{ invariant: "order.status-matches-lines", ids: { orderId: s.waiting.orderId } }]);
    });
  });

  test("an order without lines is reported", async () => {
    await rolledBack(async (tx) => {
      await baseState(tx);
      const orderId = await insertId(tx, "INSERT INTO orders (customer, status, total, currency_code) VALUES ('bob', 'READY_TO_SHIP', 0, 'USD')");
      await expectViolations(tx, [{ invariant: "order.status-matches-lines", ids: { orderId } }]);
    });
  });
});

describe("backlog", () => {
  test("a product's backordered that differs from its waiting backorders is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE products SET backordered = 3 WHERE id = ${s.productId}`);
      await expectViolations(tx, [{ invariant: "product.backordered-matches-backlog", ids: { productId: s.productId } }]);
    });
  });

  test("a product's waiting-order count that differs from its queue is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE products SET waiting_orders = waiting_orders + 1 WHERE id = ${s.productId}`);
      await expectViolations(tx, [{ invariant: "product.waiting-orders-matches-backlog", ids: { productId: s.productId } }]);
    });
  });

  test("filled units that the fill ledger does not show are reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(
        tx,
        `INSERT INTO backorder_fills (backorder_id, product_id, location_id, quantity)
         VALUES (${s.waiting.backorderId}, ${s.productId}, ${s.main}, 1)`,
      );
      await expectViolations(tx, [
        { invariant: "backorder.filled-matches-fills", ids: { backorderId: s.waiting.backorderId, orderLineId: s.waiting.lineId } },
      ]);
    });
  });

  test("a backorder that is not WAITING but has units remaining is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE backorders SET status = 'FILLED' WHERE id = ${s.waiting.backorderId}`);
      // Its line and product still count the units as waiting, and say so too.
      await expectViolations(tx, [
        { invariant: "backorder.status-matches-remaining", ids: { backorderId: s.waiting.backorderId } },
        { invariant: "line.waiting-matches-backorder", ids: { orderId: s.waiting.orderId, orderLineId: s.waiting.lineId } },
        { invariant: "product.backordered-matches-backlog", ids: { productId: s.productId } },
        { invariant: "product.waiting-orders-matches-backlog", ids: { productId: s.productId } },
      ]);
    });
  });

  test("a backorder on another product or order than its line's is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, `UPDATE backorders SET order_id = ${s.ready.orderId} WHERE id = ${s.waiting.backorderId}`);
      await expectViolations(tx, [{ invariant: "backorder.belongs-to-line", ids: { backorderId: s.waiting.backorderId, orderLineId: s.waiting.lineId } }]);
    });
  });

  test("a fill of another product than its backorder's is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      const other = await product(tx, "P-2");
      const placed = await order(tx, { productId: other, locationId: s.main, allocated: 0, waiting: 2 });
      const fillId = await fill(tx, placed.backorderId!, 1, s.second);
      await run(tx, `UPDATE backorder_fills SET product_id = ${s.productId} WHERE id = ${fillId}`);
      await expectViolations(tx, [{ invariant: "fill.matches-backorder", ids: { fillId, backorderId: placed.backorderId! } }]);
    });
  });
});

describe("FIFO (invariant 6)", () => {
  /** Product Q with two waiting backorders: `first` (placed first) and `second`, 2 units each. */
  async function twoWaiting(tx: Transaction, priorities: { first?: number; second?: number } = {}) {
    const s = await baseState(tx);
    const q = await product(tx, "Q-1");
    const first = await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, priority: priorities.first, at: time(1) });
    const second = await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, priority: priorities.second, at: time(2) });
    await productEvent(tx, q, 1, time(1), "ORDER_PLACED");
    await productEvent(tx, q, 2, time(2), "ORDER_PLACED");
    return { ...s, q, first: first.backorderId!, second: second.backorderId! };
  }

  test("units given to the head of the queue are not a violation", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx);
      await fill(tx, s.first, 2, s.main, time(5));
      await fill(tx, s.second, 1, s.main, time(5));
      await expectViolations(tx, []);
    });
  });

  test("units given to a backorder while an older one waits are reported", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx);
      const fillId = await fill(tx, s.second, 1, s.main, time(5));
      const [violation] = await expectViolations(tx, [
        { invariant: "backlog.fifo", ids: { productId: s.q, backorderId: s.second, fillId, aheadBackorderId: s.first } },
      ]);
      expect(violation.message).toContain(`while backorder ${s.first}, ahead of it in the queue`);
    });
  });

  test("a skipped backorder is reported even after a later restock filled it", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx);
      const fillId = await fill(tx, s.second, 2, s.main, time(5));
      await productEvent(tx, s.q, 3, time(5), "RESTOCK_RECEIVED");
      await fill(tx, s.first, 2, s.main, time(6));
      await productEvent(tx, s.q, 4, time(6), "RESTOCK_RECEIVED");
      await expectViolations(tx, [{ invariant: "backlog.fifo", ids: { productId: s.q, backorderId: s.second, fillId, aheadBackorderId: s.first } }]);
    });
  });

  test("a skipped backorder is reported even after it was cancelled", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx);
      const fillId = await fill(tx, s.second, 2, s.main, time(5));
      await productEvent(tx, s.q, 3, time(5), "RESTOCK_RECEIVED");
      const [first] = await rows<{ order_id: number; order_line_id: number }>(
        tx,
        sql.raw(`SELECT order_id, order_line_id FROM backorders WHERE id = ${s.first}`),
      );
      await run(tx, `UPDATE backorders SET status = 'CANCELLED', remaining = 0, cancelled = 2, cancelled_at = ${time(7)} WHERE id = ${s.first}`);
      await run(tx, `UPDATE order_lines SET waiting = 0, cancelled = 2 WHERE id = ${first.order_line_id}`);
      await refund(tx, first.order_line_id, 2);
      await run(tx, `UPDATE orders SET status = 'CANCELLED' WHERE id = ${first.order_id}`);
      await run(
        tx,
        `UPDATE products SET backordered = 0, waiting_orders = (SELECT count(*) FROM backorders b WHERE b.product_id = products.id AND b.status = 'WAITING') WHERE id = ${s.q}`,
      );
      await productEvent(tx, s.q, 4, time(7), "ORDER_CANCELLED");
      await expectViolations(tx, [{ invariant: "backlog.fifo", ids: { productId: s.q, backorderId: s.second, fillId, aheadBackorderId: s.first } }]);
    });
  });

  test("units given to a backorder after the older one was cancelled are not a violation", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx);
      const [first] = await rows<{ order_id: number; order_line_id: number }>(
        tx,
        sql.raw(`SELECT order_id, order_line_id FROM backorders WHERE id = ${s.first}`),
      );
      await run(tx, `UPDATE backorders SET status = 'CANCELLED', remaining = 0, cancelled = 2, cancelled_at = ${time(4)} WHERE id = ${s.first}`);
      await run(tx, `UPDATE order_lines SET waiting = 0, cancelled = 2 WHERE id = ${first.order_line_id}`);
      await refund(tx, first.order_line_id, 2);
      await run(tx, `UPDATE orders SET status = 'CANCELLED' WHERE id = ${first.order_id}`);
      await run(
        tx,
        `UPDATE products SET backordered = 2, waiting_orders = (SELECT count(*) FROM backorders b WHERE b.product_id = products.id AND b.status = 'WAITING') WHERE id = ${s.q}`,
      );
      await productEvent(tx, s.q, 3, time(4), "ORDER_CANCELLED");
      await fill(tx, s.second, 2, s.main, time(5));
      await productEvent(tx, s.q, 4, time(5), "RESTOCK_RECEIVED");
      await expectViolations(tx, []);
    });
  });

  test("a backorder prioritized ahead of an older one may be filled first", async () => {
    await rolledBack(async (tx) => {
      const s = await twoWaiting(tx, { second: 5 });
      await productEvent(tx, s.q, 3, time(3), "BACKORDER_PRIORITIZED");
      await fill(tx, s.second, 2, s.main, time(5));
      await productEvent(tx, s.q, 4, time(5), "RESTOCK_RECEIVED");
      await expectViolations(tx, []);
    });
  });

  test("units given to a backorder while one prioritized ahead of it waits are reported", async () => {
    await rolledBack(async (tx) => {
      // `second` was moved to the front, then the restock went to `first` anyway.
      const s = await twoWaiting(tx, { second: 5 });
      await productEvent(tx, s.q, 3, time(3), "BACKORDER_PRIORITIZED");
      const fillId = await fill(tx, s.first, 1, s.main, time(5));
      await productEvent(tx, s.q, 4, time(5), "RESTOCK_RECEIVED");
      await expectViolations(tx, [{ invariant: "backlog.fifo", ids: { productId: s.q, backorderId: s.first, fillId, aheadBackorderId: s.second } }]);
    });
  });

  test("a fill made before a later prioritization is judged by the queue of its time", async () => {
    await rolledBack(async (tx) => {
      // `first` was at the head and got a unit; only afterwards was `second` moved ahead of it.
      const s = await twoWaiting(tx, { second: 5 });
      await fill(tx, s.first, 1, s.main, time(5));
      await productEvent(tx, s.q, 3, time(5), "RESTOCK_RECEIVED");
      await productEvent(tx, s.q, 4, time(6), "BACKORDER_PRIORITIZED");
      await expectViolations(tx, []);
    });
  });

  test("a backorder placed after a fill is not ahead of the filled one", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      const q = await product(tx, "Q-1");
      // `last` was moved to the back (priority -1) and was the only one waiting when filled ...
      const last = await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, at: time(1) });
      await productEvent(tx, q, 1, time(1), "ORDER_PLACED");
      await run(tx, `UPDATE backorders SET priority = -1 WHERE id = ${last.backorderId}`);
      await productEvent(tx, q, 2, time(2), "BACKORDER_PRIORITIZED");
      await fill(tx, last.backorderId!, 1, s.main, time(5));
      await productEvent(tx, q, 3, time(5), "RESTOCK_RECEIVED");
      // ... and a backorder placed later now waits ahead of it: nothing was skipped.
      await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, at: time(6) });
      await productEvent(tx, q, 4, time(6), "ORDER_PLACED");
      await expectViolations(tx, []);
    });
  });

  test("a backorder placed before the fill and prioritized before it is ahead", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      const q = await product(tx, "Q-1");
      const moved = await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, at: time(1) });
      await productEvent(tx, q, 1, time(1), "ORDER_PLACED");
      const ahead = await order(tx, { productId: q, locationId: s.main, allocated: 0, waiting: 2, at: time(2) });
      await productEvent(tx, q, 2, time(2), "ORDER_PLACED");
      await run(tx, `UPDATE backorders SET priority = -1 WHERE id = ${moved.backorderId}`);
      await productEvent(tx, q, 3, time(3), "BACKORDER_PRIORITIZED");
      const fillId = await fill(tx, moved.backorderId!, 1, s.main, time(5));
      await productEvent(tx, q, 4, time(5), "RESTOCK_RECEIVED");
      await expectViolations(tx, [
        { invariant: "backlog.fifo", ids: { productId: q, backorderId: moved.backorderId!, fillId, aheadBackorderId: ahead.backorderId! } },
      ]);
    });
  });
});

describe("restocks", () => {
  test("more received than the restock's quantity is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      await run(tx, "ALTER TABLE restocks DROP CONSTRAINT restocks_quantity_check");
      await run(tx, `UPDATE restocks SET received_quantity = 11 WHERE id = ${s.restockId}`);
      await expectViolations(tx, [{ invariant: "restock.received-within-quantity", ids: { restockId: s.restockId, productId: s.productId } }]);
    });
  });

  test("a status that disagrees with the units received is reported", async () => {
    await rolledBack(async (tx) => {
      const s = await baseState(tx);
      // Partly received but still SCHEDULED: what every restock looked like before PARTIALLY_RECEIVED.
      await run(tx, `UPDATE restocks SET received_quantity = 1, status = 'SCHEDULED' WHERE id = ${s.restockId}`);
      await expectViolations(tx, [{ invariant: "restock.status-matches-receipt", ids: { restockId: s.restockId, productId: s.productId } }]);
    });
  });
});

/**
 * Refunds through the services, on a real database (docs/ARCHITECTURE.md, "Refunds"): every
 * cancellation writes what it owes in the same transaction, at the lines' unit prices, exactly;
 * markRefunded records the payment once; the audit holds refunds and cancelled units together.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Connection, rows, schema, type Transaction } from "../../drizzle/db.js";
import { auditInvariants, type Violation } from "../../server/services/audit.service.js";
import { cancelOrder, cancelOrderLineWithRefund, cancelOrderWithRefund, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { refundLinesByRefunds, refundsByOrders, refundTotals } from "../../server/services/refund.query.js";
import { markRefunded, recordRefund, recordRefunds } from "../../server/services/refund.service.js";
import { DomainError } from "../../server/services/types.js";
import { newProduct, tableCounts } from "../support/catalogue.js";
import { describeOnPostgres, rolledBack, useFreshDatabase } from "../support/database.js";
import { refusal } from "../support/refusal.js";

const database = useFreshDatabase();

/** The order's lines by product id. */
async function linesOf(orderId: number) {
  const lines = await database.db.select().from(schema.orderLines).where(eq(schema.orderLines.orderId, orderId));
  return new Map(lines.map((line) => [line.productId, line]));
}

/** Every refund and refund line in the database, and the tables a refused cancellation must not touch. */
async function refundState() {
  const [row] = await rows<{ refunds: number; lines: number; digest: string }>(
    database.db,
    sql`SELECT (SELECT count(*) FROM refunds)::int AS refunds, (SELECT count(*) FROM refund_lines)::int AS lines,
               (SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM refunds r) AS digest`,
  );
  return { ...row, tables: await tableCounts(database.db) };
}

/** A two-line order: 5 of a 19.99 product (2 on the shelf, 3 wait) and 3 of a 5.10 product (all wait). */
async function twoLineOrder() {
  const shelf = await newProduct(database.db, { price: "19.99", initialStock: 2 });
  const waiting = await newProduct(database.db, { price: "5.10" });
  const { order } = await placeOrder(database.db, {
    customer: "refund-customer",
    lines: [
      { productId: shelf.id, quantity: 5 },
      { productId: waiting.id, quantity: 3 },
    ],
  });
  const lines = await linesOf(order.id);
  return { order, shelfLine: lines.get(shelf.id)!, waitingLine: lines.get(waiting.id)! };
}

describe("cancelling writes the refund", () => {
  it("pays back each partial cancel of a multi-line order at the lines' unit prices, exactly, until the whole order is refunded", async () => {
    const { order, shelfLine, waitingLine } = await twoLineOrder();
    expect(order.total).toBe("115.25");
    expect(shelfLine).toMatchObject({ allocated: 2, waiting: 3 });

    // 4 of the first line: its 3 waiting units and 1 allocated one.
    const first = await cancelOrderLineWithRefund(database.db, shelfLine.id, 4);
    expect(first.refund).toMatchObject({ orderId: order.id, reason: "CANCELLED", status: "PENDING", amount: "79.96", currencyCode: "USD" });
    expect(first.refund).toMatchObject({ reference: null, refundedAt: null });
    expect(first.refund.lines).toEqual([{ id: expect.any(Number), refundId: first.refund.id, orderLineId: shelfLine.id, quantity: 4, amount: "79.96" }]);
    expect((await linesOf(order.id)).get(shelfLine.productId)).toMatchObject({ allocated: 1, waiting: 0, cancelled: 4 });

    // 1 waiting unit of the second line.
    const second = await cancelOrderLineWithRefund(database.db, waitingLine.id, 1);
    expect(second.refund).toMatchObject({ amount: "5.10", lines: [{ orderLineId: waitingLine.id, quantity: 1, amount: "5.10" }] });

    // The rest: the allocated unit left on the first line, the 2 waiting on the second.
    const rest = await cancelOrderWithRefund(database.db, order.id, "changed their mind");
    expect(rest.order).toMatchObject({ status: "CANCELLED", cancelReason: "changed their mind" });
    expect(rest.refund.amount).toBe("30.19");
    expect(rest.refund.lines.map((line) => [line.orderLineId, line.quantity, line.amount])).toEqual(
      [
        [shelfLine.id, 1, "19.99"],
        [waitingLine.id, 2, "10.20"],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );

    // Three cancellations, three refunds, oldest first; together exactly the order's total (in
    // JavaScript 79.96 + 5.10 + 30.19 === 115.24999999999999).
    const [refunds] = await refundsByOrders(database.db, [order.id]);
    expect(refunds.map((refund) => refund.id)).toEqual([first.refund.id, second.refund.id, rest.refund.id]);
    expect(refunds.map((refund) => refund.amount)).toEqual(["79.96", "5.10", "30.19"]);
    expect(await refundTotals(database.db, [order.id])).toEqual([order.total]);
    const lines = await refundLinesByRefunds(database.db, [rest.refund.id, first.refund.id]);
    expect(lines.map((list) => list.map((line) => [line.orderLineId, line.quantity, line.amount, line.currencyCode]))).toEqual([
      rest.refund.lines.map((line) => [line.orderLineId, line.quantity, line.amount, "USD"]),
      [[shelfLine.id, 4, "79.96", "USD"]],
    ]);
  });

  it("keeps amounts exact where binary floats are not: 3 × 4.35 is 13.05, 3 × 0.10 is 0.30, and 3 × 19.99 is 59.97", async () => {
    // In JavaScript 3 * 4.35 === 13.049999999999999 and 3 * 0.1 === 0.30000000000000004.
    const dear = await newProduct(database.db, { price: "19.99", initialStock: 3 });
    const odd = await newProduct(database.db, { price: "4.35", initialStock: 1 });
    const cheap = await newProduct(database.db, { price: "0.10" });
    const { order } = await placeOrder(database.db, {
      customer: "exact",
      lines: [
        { productId: dear.id, quantity: 3 },
        { productId: odd.id, quantity: 3 },
        { productId: cheap.id, quantity: 3 },
      ],
    });
    const { refund } = await cancelOrderWithRefund(database.db, order.id);
    expect(refund.amount).toBe("73.32");
    expect(Object.fromEntries(refund.lines.map((line) => [line.amount, line.quantity]))).toEqual({ "59.97": 3, "13.05": 3, "0.30": 3 });
    expect(await refundTotals(database.db, [order.id])).toEqual(["73.32"]);
  });

  it("pays back only the units cancelled, never the shipped ones", async () => {
    const product = await newProduct(database.db, { price: "7.25", initialStock: 2 });
    const { order } = await placeOrder(database.db, { customer: "shipped-part", lines: [{ productId: product.id, quantity: 5 }] });
    await shipOrder(database.db, order.id);
    const { refund } = await cancelOrderWithRefund(database.db, order.id);
    expect(refund).toMatchObject({ amount: "21.75", lines: [{ quantity: 3, amount: "21.75" }] });
    expect(await refundTotals(database.db, [order.id])).toEqual(["21.75"]);
  });

  it("answers the order as before through cancelOrder, with the refund written all the same", async () => {
    const product = await newProduct(database.db, { price: "2.50" });
    const { order } = await placeOrder(database.db, { customer: "plain-cancel", lines: [{ productId: product.id, quantity: 2 }] });
    const cancelled = await cancelOrder(database.db, order.id);
    expect(cancelled).toMatchObject({ id: order.id, status: "CANCELLED" });
    expect(cancelled).not.toHaveProperty("refund");
    expect((await refundsByOrders(database.db, [order.id]))[0].map((refund) => refund.amount)).toEqual(["5.00"]);
  });

  it("writes nothing when a cancellation is refused", async () => {
    const product = await newProduct(database.db, { price: "3.00", initialStock: 2 });
    const { order } = await placeOrder(database.db, { customer: "refused", lines: [{ productId: product.id, quantity: 2 }] });
    const [line] = (await linesOf(order.id)).values();
    await shipOrder(database.db, order.id);
    const before = await refundState();
    expect((await refusal(cancelOrderWithRefund(database.db, order.id))).code).toBe("INVALID_STATE");
    expect((await refusal(cancelOrderLineWithRefund(database.db, line.id, 1))).code).toBe("INVALID_STATE");
    expect((await refusal(cancelOrderWithRefund(database.db, 987_654))).code).toBe("NOT_FOUND");

    const open = await placeOrder(database.db, { customer: "too-many", lines: [{ productId: product.id, quantity: 2 }] });
    const [openLine] = (await linesOf(open.order.id)).values();
    const beforeTooMany = await refundState();
    expect(beforeTooMany.refunds).toBe(before.refunds);
    expect((await refusal(cancelOrderLineWithRefund(database.db, openLine.id, 3))).code).toBe("INVALID_INPUT");
    expect(await refundState()).toEqual(beforeTooMany);
    await cancelOrder(database.db, open.order.id);
  });
});

describe("recordRefunds", () => {
  it("writes one refund per order for lines of several orders, adding up repeated lines and leaving out empty ones", async () => {
    const product = await newProduct(database.db, { price: "1.15" });
    const other = await newProduct(database.db, { price: "0.35" });
    const a = await placeOrder(database.db, { customer: "sweep-a", lines: [{ productId: product.id, quantity: 4 }] });
    const b = await placeOrder(database.db, {
      customer: "sweep-b",
      lines: [
        { productId: product.id, quantity: 2 },
        { productId: other.id, quantity: 3 },
      ],
    });
    const [aLine] = (await linesOf(a.order.id)).values();
    const bLines = await linesOf(b.order.id);
    // In a transaction that is rolled back: the units are not really cancelled, so nothing may stay.
    const recorded = await rolledBack(database.db, (tx) =>
      recordRefunds(tx, "EXPIRED", [
        { orderLineId: bLines.get(other.id)!.id, quantity: 3 },
        { orderLineId: aLine.id, quantity: 1 },
        { orderLineId: bLines.get(product.id)!.id, quantity: 0 },
        { orderLineId: aLine.id, quantity: 2 },
      ]),
    );
    expect(recorded.map((refund) => [refund.orderId, refund.reason, refund.status, refund.amount, refund.lines.length])).toEqual([
      [a.order.id, "EXPIRED", "PENDING", "3.45", 1],
      [b.order.id, "EXPIRED", "PENDING", "1.05", 1],
    ]);
    expect(recorded[0].lines[0]).toMatchObject({ orderLineId: aLine.id, quantity: 3, amount: "3.45" });
    expect(await refundsByOrders(database.db, [a.order.id, b.order.id])).toEqual([[], []]);
    expect(await rolledBack(database.db, (tx) => recordRefunds(tx, "CANCELLED", [{ orderLineId: aLine.id, quantity: 0 }]))).toEqual([]);
    expect(await rolledBack(database.db, (tx) => recordRefund(tx, a.order.id, "CANCELLED", []))).toBeNull();
    for (const id of [a.order.id, b.order.id]) await cancelOrder(database.db, id);
  });

  it("throws, writing nothing, for a line of another order or one that does not exist", async () => {
    const product = await newProduct(database.db, { price: "1.00" });
    const a = await placeOrder(database.db, { customer: "mine", lines: [{ productId: product.id, quantity: 1 }] });
    const b = await placeOrder(database.db, { customer: "theirs", lines: [{ productId: product.id, quantity: 1 }] });
    const [bLine] = (await linesOf(b.order.id)).values();
    await expect(rolledBack(database.db, (tx) => recordRefund(tx, a.order.id, "CANCELLED", [{ orderLineId: bLine.id, quantity: 1 }]))).rejects.toThrow(
      /not of order/,
    );
    await expect(rolledBack(database.db, (tx) => recordRefunds(tx, "CANCELLED", [{ orderLineId: 2_000_000_000, quantity: 1 }]))).rejects.toThrow(
      /does not exist/,
    );
    for (const id of [a.order.id, b.order.id]) await cancelOrder(database.db, id);
  });
});

describe("markRefunded", () => {
  it("records the payment with its trimmed reference once; the same reference again changes nothing", async () => {
    const product = await newProduct(database.db, { price: "12.00" });
    const { order } = await placeOrder(database.db, { customer: "paid-back", lines: [{ productId: product.id, quantity: 1 }] });
    const { refund } = await cancelOrderWithRefund(database.db, order.id);
    const confirmed = await markRefunded(database.db, refund.id, "  pay_3Kx9  ");
    expect(confirmed).toMatchObject({ id: refund.id, status: "REFUNDED", reference: "pay_3Kx9", amount: "12.00", createdAt: refund.createdAt });
    expect(confirmed.refundedAt).toBeInstanceOf(Date);
    const again = await markRefunded(database.db, refund.id, "pay_3Kx9");
    expect(again).toEqual(confirmed);
  });

  it("refuses another reference for a refunded refund with INVALID_STATE and keeps the first", async () => {
    const product = await newProduct(database.db, { price: "12.00" });
    const { order } = await placeOrder(database.db, { customer: "paid-twice", lines: [{ productId: product.id, quantity: 1 }] });
    const { refund } = await cancelOrderWithRefund(database.db, order.id);
    const confirmed = await markRefunded(database.db, refund.id, "pay_first");
    const error = await refusal(markRefunded(database.db, refund.id, "pay_second"));
    expect(error.issues).toEqual([{ code: "INVALID_STATE", message: expect.stringContaining("another reference"), field: ["reference"] }]);
    expect((await refundsByOrders(database.db, [order.id]))[0]).toEqual([confirmed]);
  });

  it("answers an unknown refund with NOT_FOUND and a bad reference with INVALID_INPUT, changing nothing", async () => {
    const product = await newProduct(database.db, { price: "1.00" });
    const { order } = await placeOrder(database.db, { customer: "bad-input", lines: [{ productId: product.id, quantity: 1 }] });
    const { refund } = await cancelOrderWithRefund(database.db, order.id);
    const before = await refundState();
    for (const id of [987_654, 0, -1, 1.5, 2 ** 31])
      expect((await refusal(markRefunded(database.db, id, "ref"))).issues[0]).toMatchObject({ code: "NOT_FOUND", field: ["id"] });
    for (const reference of ["", "   ", "x".repeat(201), "line\nbreak", 42 as unknown as string, null as unknown as string]) {
      expect((await refusal(markRefunded(database.db, refund.id, reference))).issues[0]).toMatchObject({ code: "INVALID_INPUT", field: ["reference"] });
    }
    expect(await refundState()).toEqual(before);
    expect((await markRefunded(database.db, refund.id, "x".repeat(200))).reference).toHaveLength(200);
  });
});

describe("the audit", () => {
  /** A cancelled order line and its refund, corrupted by `corrupt` in a transaction rolled back after the audit. */
  async function auditAfter(corrupt: (tx: Transaction, ids: { orderId: number; lineId: number; refundId: number }) => Promise<void>) {
    const product = await newProduct(database.db, { price: "4.99" });
    const { order } = await placeOrder(database.db, { customer: "audited", lines: [{ productId: product.id, quantity: 3 }] });
    const [line] = (await linesOf(order.id)).values();
    const { refund } = await cancelOrderLineWithRefund(database.db, line.id, 2);
    const ids = { orderId: order.id, lineId: line.id, refundId: refund.id };
    const violations = await rolledBack(database.db, async (tx) => {
      await corrupt(tx, ids);
      return auditInvariants(tx);
    });
    await cancelOrder(database.db, order.id);
    return { ids, found: violations.map((v: Violation) => `${v.invariant} ${JSON.stringify(v.ids)}`).sort() };
  }

  it("finds nothing wrong with refunds the services wrote", async () => {
    const { found } = await auditAfter(async () => undefined);
    expect(found).toEqual([]);
  });

  it("reports cancelled units without their refund", async () => {
    const { ids, found } = await auditAfter(async (tx, { refundId }) => {
      await tx.execute(sql`DELETE FROM refund_lines WHERE refund_id = ${refundId}`);
      await tx.execute(sql`DELETE FROM refunds WHERE id = ${refundId}`);
    });
    expect(found).toEqual([`refund.lines-match-cancelled ${JSON.stringify({ orderId: ids.orderId, orderLineId: ids.lineId })}`]);
  });

  it("reports units refunded twice", async () => {
    const { ids, found } = await auditAfter(async (tx, { orderId, lineId }) => {
      await recordRefund(tx, orderId, "CANCELLED", [{ orderLineId: lineId, quantity: 1 }]);
    });
    expect(found).toEqual([`refund.lines-match-cancelled ${JSON.stringify({ orderId: ids.orderId, orderLineId: ids.lineId })}`]);
  });

  it("reports a refund line priced off its unit price, and a refund that is not its lines' sum", async () => {
    const line = await auditAfter(async (tx, { refundId }) => {
      await tx.execute(sql`UPDATE refund_lines SET amount = amount + 0.01 WHERE refund_id = ${refundId}`);
      await tx.execute(sql`UPDATE refunds SET amount = amount + 0.01 WHERE id = ${refundId}`);
    });
    expect(line.found).toEqual([
      `refund.amount-matches-lines ${JSON.stringify({ orderId: line.ids.orderId, refundId: line.ids.refundId })}`,
      `refund.lines-match-cancelled ${JSON.stringify({ orderId: line.ids.orderId, orderLineId: line.ids.lineId })}`,
    ]);
    const sum = await auditAfter(async (tx, { refundId }) => {
      await tx.execute(sql`UPDATE refunds SET amount = amount - 0.01 WHERE id = ${refundId}`);
    });
    expect(sum.found).toEqual([`refund.amount-matches-lines ${JSON.stringify({ orderId: sum.ids.orderId, refundId: sum.ids.refundId })}`]);
  });

  it("reports a refund in another currency than its order's, or of another order's line", async () => {
    const currency = await auditAfter(async (tx, { refundId }) => {
      await tx.execute(sql`UPDATE refunds SET currency_code = 'EUR' WHERE id = ${refundId}`);
    });
    expect(currency.found).toEqual([`refund.amount-matches-lines ${JSON.stringify({ orderId: currency.ids.orderId, refundId: currency.ids.refundId })}`]);
    const other = await placeOrder(database.db, { customer: "someone-else", lines: [{ productId: (await newProduct(database.db)).id, quantity: 1 }] });
    const foreign = await auditAfter(async (tx, { refundId }) => {
      await tx.execute(sql`UPDATE refunds SET order_id = ${other.order.id} WHERE id = ${refundId}`);
    });
    expect(foreign.found).toEqual([`refund.amount-matches-lines ${JSON.stringify({ orderId: other.order.id, refundId: foreign.ids.refundId })}`]);
    await cancelOrder(database.db, other.order.id);
  });
});

describeOnPostgres("races on PostgreSQL", () => {
  let pool: Connection;
  beforeAll(async () => {
    pool = await connect({ databaseUrl: database.url, max: 12 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("pays back exactly the units that racing partial cancels of one line cancelled, one refund each", async () => {
    const product = await newProduct(pool.db, { price: "19.99", initialStock: 2 });
    const { order } = await placeOrder(pool.db, { customer: "racing-cancels", lines: [{ productId: product.id, quantity: 6 }] });
    const [line] = (await linesOf(order.id)).values();
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => cancelOrderLineWithRefund(pool.db, line.id, 1)));
    const done = settled.filter((r) => r.status === "fulfilled").map((r) => r.value);
    expect(done).toHaveLength(6);
    for (const r of settled) if (r.status === "rejected") expect((r.reason as DomainError).code).toBe("INVALID_STATE");
    expect(done.map((d) => d.refund.amount)).toEqual(Array(6).fill("19.99"));
    const [refunds] = await refundsByOrders(pool.db, [order.id]);
    expect(refunds.map((refund) => refund.id).sort((a, b) => a - b)).toEqual(done.map((d) => d.refund.id).sort((a, b) => a - b));
    expect(await refundTotals(pool.db, [order.id])).toEqual(["119.94"]);
  });

  it("confirms a refund once when confirmations race: the same reference always succeeds, another is INVALID_STATE", async () => {
    const product = await newProduct(pool.db, { price: "8.00" });
    const { order } = await placeOrder(pool.db, { customer: "racing-confirmations", lines: [{ productId: product.id, quantity: 1 }] });
    const { refund } = await cancelOrderWithRefund(pool.db, order.id);
    const references = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? "pay-even" : "pay-odd"));
    const settled = await Promise.allSettled(references.map((reference) => markRefunded(pool.db, refund.id, reference)));
    const [stored] = (await refundsByOrders(pool.db, [order.id]))[0];
    expect(stored.status).toBe("REFUNDED");
    settled.forEach((result, i) => {
      if (references[i] === stored.reference) expect(result).toEqual({ status: "fulfilled", value: stored });
      else expect(result.status === "rejected" && (result.reason as DomainError).code).toBe("INVALID_STATE");
    });
  });
});

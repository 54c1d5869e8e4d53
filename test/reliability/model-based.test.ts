/**
 * Model-based property test (issue 4, item 2): random sequences of every operation run against
 * the real services on a real database and against the in-memory reference model of
 * test/support/model.ts. After every step the two agree on every quantity (stock levels,
 * backlogs, order lines, allocations), every status, every queue place and every date, a refusal
 * is refused by both with the same codes, and the invariant audit is clean.
 *
 * Runs: `MODEL_RUNS` (default 15) sequences of up to `MODEL_COMMANDS` (default 25) steps;
 * `MODEL_RUNS_POSTGRES`, when set, replaces MODEL_RUNS in the postgres project only (CI runs many
 * more there and keeps the PGlite run short). `MODEL_SEED` replays a reported seed;
 * `MODEL_STATS=1` prints how often each step was accepted or refused and which states were reached.
 * Each run starts from emptied tables (TRUNCATE … RESTART IDENTITY), not a new database:
 * creating one costs about a second on PGlite.
 *
 * Every step is also checked against the event log: a change appends events in its own
 * transaction, a refusal or an idempotent replay appends none.
 *
 * Dropship (docs/ARCHITECTURE.md, "Dropship"): each run also has a DROPSHIP product of a supplier
 * with a 7-day lead time, ordered alone or beside a stocked product; its supplier orders are
 * acknowledged, shipped and rejected, and stock of ours for it is refused. Every supplier order's
 * status and expected ship date are compared too.
 *
 * Time: restocks are expected in the year 2100 and lead times are 1-30 days, so no promise falls
 * due during a run and lateness depends only on the dates, not on the clock. The lead-time
 * fallback counts from a backorder's creation time, which the model takes from the database's
 * order row (the one value it does not decide itself).
 */
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { type Database, rows, schema } from "../../drizzle/db.js";
import { auditInvariants } from "../../server/services/audit.service.js";
import { prioritizeBackorder } from "../../server/services/backlog.service.js";
import { queuePlaces } from "../../server/services/backlog.query.js";
import { createLocation } from "../../server/services/location.service.js";
import { cancelOrder, cancelOrderLine, placeOrder, shipOrder } from "../../server/services/order.service.js";
import { supplierOrdersByIds } from "../../server/services/supplier-order.query.js";
import { acknowledgeSupplierOrder, rejectSupplierOrder, shipSupplierOrder } from "../../server/services/supplier-order.service.js";
import { createSupplier } from "../../server/services/supplier.service.js";
import { createProduct, updateProduct } from "../../server/services/product.service.js";
import { cancelRestock, receiveRestock, rescheduleRestock, scheduleRestock } from "../../server/services/restock.service.js";
import { adjustStock } from "../../server/services/stock.service.js";
import { DomainError } from "../../server/services/types.js";
import { formatViolations } from "../support/audit.js";
import { onPostgres, useFreshDatabase } from "../support/database.js";
import { BackorderModel, type Outcome, type PlaceOrderRequest, type Policy, type ProductPatch, type ProductRules } from "../support/model.js";

const database = useFreshDatabase();

const RUNS = Math.max(1, Number((onPostgres && process.env.MODEL_RUNS_POSTGRES) || process.env.MODEL_RUNS || 15));
const MAX_COMMANDS = Math.max(1, Number(process.env.MODEL_COMMANDS ?? 25));
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
/** Generous: a run of 25 steps takes well under a second; shrinking a failure takes many runs. */
const TIME_LIMIT_MS = Math.max(60_000, RUNS * MAX_COMMANDS * 400);

const PRODUCTS = 3;
/** Far from any real date: promises never fall due while the test runs. */
const RESTOCK_BASE = Date.UTC(2100, 0, 1);
/** An id no row has (valid in form, so it reaches the database and comes back NOT_FOUND). */
const MISSING_ID = 2_000_000_000;
const CUSTOMERS = ["ann", "bob", "cy"] as const;
const KEYS = ["k1", "k2", "k3"] as const;

/** Locations: MAIN is the default (lowest priority); EAST and WEST tie, so ids break the tie. */
const LOCATIONS = [
  { code: "MAIN", priority: 0 },
  { code: "EAST", priority: 5 },
  { code: "WEST", priority: 5 },
] as const;

/** The system under test for one run: the database and the model-id → database-id maps. */
interface Real {
  db: Database;
  productIds: number[];
  locationIds: number[];
  orders: Map<number, number>;
  lines: Map<number, number>;
  backorders: Map<number, number>;
  restocks: Map<number, number>;
  /** The run's DROPSHIP product (not among `productIds`: the stocked steps never name it). */
  dropshipProductId: number;
  supplierOrders: Map<number, number>;
}

/** The dropship product's supplier's lead time, in days. */
const SUPPLIER_LEAD_DAYS = 7;

// ---- what a run starts from ----

interface ProductSetup extends ProductRules {
  stock: number[];
  [fc.toStringMethod](): string;
}

/** Usually null (no limit, no lead time), sometimes a value. */
const mostlyNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: arb });

const rulesArb = fc.record({
  policy: fc.constantFrom<Policy>("ALLOW", "ALLOW", "DENY"),
  backorderLimit: mostlyNull(fc.integer({ min: 0, max: 12 })),
  minOrderQuantity: fc.constantFrom(1, 1, 1, 2),
  maxOrderQuantity: mostlyNull(fc.integer({ min: 3, max: 8 })),
  leadTimeDays: mostlyNull(fc.integer({ min: 1, max: 30 })),
});
const setupArb = fc.array(
  fc.record({ rules: rulesArb, stock: fc.tuple(fc.nat(4), fc.nat(2), fc.nat(2)) }).map(({ rules, stock }): ProductSetup => ({
    ...rules,
    stock,
    [fc.toStringMethod]() {
      const limits = [
        rules.backorderLimit !== null && `limit ${rules.backorderLimit}`,
        rules.minOrderQuantity !== 1 && `min ${rules.minOrderQuantity}`,
        rules.maxOrderQuantity !== null && `max ${rules.maxOrderQuantity}`,
        rules.leadTimeDays !== null && `lead ${rules.leadTimeDays}d`,
      ].filter(Boolean);
      return `{${rules.policy}${limits.length ? ` ${limits.join(" ")}` : ""}, stock MAIN/EAST/WEST ${stock.join("/")}}`;
    },
  })),
  { minLength: PRODUCTS, maxLength: PRODUCTS },
);

const TABLES = [
  "allocations",
  "backorder_fills",
  "backorders",
  "events",
  "idempotency_keys",
  "lost_demand",
  "order_lines",
  "orders",
  "restocks",
  "stock_movements",
  "stock_levels",
  "products",
  "locations",
  "supplier_orders",
  "suppliers",
];

/** Empties the database and builds the run's catalogue in it and in a new model. */
async function setup(db: Database, products: ProductSetup[]): Promise<{ model: BackorderModel; real: Real }> {
  await db.execute(sql.raw(`TRUNCATE ${TABLES.join(", ")} RESTART IDENTITY CASCADE`));
  const model = new BackorderModel();
  const real: Real = {
    db,
    productIds: [],
    locationIds: [],
    orders: new Map(),
    lines: new Map(),
    backorders: new Map(),
    restocks: new Map(),
    dropshipProductId: 0,
    supplierOrders: new Map(),
  };
  for (const { code, priority } of LOCATIONS) {
    const location = await createLocation(db, { code, name: code, priority });
    real.locationIds.push(location.id);
    model.addLocation(location.id, priority);
  }
  for (const [i, setup] of products.entries()) {
    const product = await createProduct(db, {
      sku: `P${i + 1}`,
      name: `Product ${i + 1}`,
      price: "10.00",
      backorderPolicy: setup.policy,
      backorderLimit: setup.backorderLimit,
      minOrderQuantity: setup.minOrderQuantity,
      maxOrderQuantity: setup.maxOrderQuantity === null ? null : Math.max(setup.maxOrderQuantity, setup.minOrderQuantity),
      leadTimeDays: setup.leadTimeDays,
      initialStock: setup.stock[0],
    });
    real.productIds.push(product.id);
    model.addProduct(product.id, {
      policy: setup.policy,
      backorderLimit: setup.backorderLimit,
      minOrderQuantity: setup.minOrderQuantity,
      maxOrderQuantity: product.maxOrderQuantity,
      leadTimeDays: setup.leadTimeDays,
    });
    model.level(product.id, real.locationIds[0]).onHand = setup.stock[0];
    for (const at of [1, 2]) {
      if (setup.stock[at] === 0) continue;
      await adjustStock(db, { productId: product.id, locationId: real.locationIds[at], delta: setup.stock[at], reason: "opening count" });
      model.level(product.id, real.locationIds[at]).onHand = setup.stock[at];
    }
  }
  const supplier = await createSupplier(db, { name: "Dropship supplier", leadTimeDays: SUPPLIER_LEAD_DAYS });
  const dropship = await createProduct(db, {
    sku: "PD",
    name: "Dropship product",
    price: "10.00",
    backorderPolicy: "ALLOW",
    fulfillment: "DROPSHIP",
    supplierId: supplier.id,
  });
  real.dropshipProductId = dropship.id;
  model.addDropshipProduct(dropship.id, SUPPLIER_LEAD_DAYS);
  await expectAgreement(model, real, "setup");
  return { model, real };
}

// ---- running one step on both sides ----

type DbOutcome<T> = { ok: true; value: T } | { ok: false; codes: string[] };

/** The service's result, or the codes of the DomainError it refused with (anything else is a bug and rethrown). */
async function attempt<T>(work: Promise<T>): Promise<DbOutcome<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    if (error instanceof DomainError) return { ok: false, codes: error.issues.map((issue) => issue.code) };
    throw error;
  }
}

function describeOutcome(outcome: { ok: boolean; codes?: string[] }): string {
  return outcome.ok ? "accepted" : `refused ${outcome.codes!.join(",")}`;
}

/** How often each kind of step was accepted or refused (and with what), and what states were reached. */
const coverage = new Map<string, number>();
function count(what: string, by = 1): void {
  coverage.set(what, (coverage.get(what) ?? 0) + by);
}

/** What the step being checked did: whether it changed anything (an accepted operation that is not a replay). */
let stepChanged = false;

/** Both accepted, or both refused with the same codes. */
function expectSameOutcome(step: string, model: Outcome<unknown>, db: DbOutcome<unknown>): void {
  count(`${step.slice(0, step.indexOf("("))} ${model.ok ? "ok" : model.codes[0]}`);
  stepChanged = model.ok;
  if (model.ok !== db.ok || (!model.ok && !db.ok && model.codes.join(",") !== db.codes.join(","))) {
    throw new Error(`${step}: the model ${describeOutcome(model)}, the database ${describeOutcome(db)}`);
  }
}

/**
 * A reference to the n-th thing of a kind the model has made (wrapping around), or (ref -1) to
 * nothing. Steps that refer to things are skipped while there is none of the kind yet.
 */
function resolve(count: number, ref: number): number {
  return ref < 0 || count === 0 ? -1 : (ref % count) + 1;
}

function dbId(map: Map<number, number>, modelId: number): number {
  return map.get(modelId) ?? MISSING_ID;
}

abstract class Step implements fc.AsyncCommand<BackorderModel, Real> {
  /** What the last run resolved references to, for the counterexample's printout. */
  protected resolved = "";
  check(_model: Readonly<BackorderModel>): boolean {
    return true;
  }
  abstract run(model: BackorderModel, real: Real): Promise<void>;
  abstract describe(): string;
  toString(): string {
    return this.resolved ? `${this.describe()} [${this.resolved}]` : this.describe();
  }
  /** Each run gets its own copy, so `resolved` describes the run being printed. */
  [fc.cloneMethod](): this {
    return Object.assign(Object.create(Object.getPrototypeOf(this)) as this, this, { resolved: "" });
  }
}

const lineText = (lines: { product: number; quantity: number }[]) => lines.map((l) => `P${l.product + 1}x${l.quantity}`).join(" ");
const productLabel = (index: number) => (index < PRODUCTS ? `P${index + 1}` : "P?");
const productId = (real: Real, index: number) => real.productIds[index] ?? MISSING_ID;
const locationLabel = (index: number | undefined) => (index === undefined ? "default" : (LOCATIONS[index]?.code ?? "nowhere"));
const locationId = (real: Real, index: number | undefined) => (index === undefined ? undefined : (real.locationIds[index] ?? MISSING_ID));
const restockDate = (day: number) => new Date(RESTOCK_BASE + day * 86_400_000);

class PlaceOrder extends Step {
  constructor(
    readonly customer: string,
    readonly lines: { product: number; quantity: number }[],
    readonly allowPartial: boolean | undefined,
    readonly key: string | undefined,
  ) {
    super();
  }
  describe() {
    const partial = this.allowPartial === undefined ? "" : ` allowPartial=${this.allowPartial}`;
    return `placeOrder(${this.customer}: ${lineText(this.lines)}${partial}${this.key ? ` key=${this.key}` : ""})`;
  }
  async run(model: BackorderModel, real: Real) {
    const request: PlaceOrderRequest = {
      customer: this.customer,
      lines: this.lines.map((l) => ({ productId: productId(real, l.product), quantity: l.quantity })),
      allowPartial: this.allowPartial,
      idempotencyKey: this.key,
    };
    await placeBoth(this.describe(), model, real, request, (text) => (this.resolved = text));
  }
}

/** Sends again, under the same key, exactly the request that first used it: a client's retry. */
class RetryOrder extends Step {
  constructor(readonly key: string) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return model.idempotencyKeys.has(this.key);
  }
  describe() {
    return `retryOrder(key=${this.key})`;
  }
  async run(model: BackorderModel, real: Real) {
    const { input } = model.idempotencyKeys.get(this.key)!;
    await placeBoth(this.describe(), model, real, input, (text) => (this.resolved = text));
  }
}

async function placeBoth(step: string, model: BackorderModel, real: Real, request: PlaceOrderRequest, note: (text: string) => void) {
  const db = await attempt(placeOrder(real.db, request));
  // A backorder is stamped when it joins its queue, a moment after its order's start.
  const joined = db.ok
    ? await real.db
        .select({ productId: schema.backorders.productId, createdAt: schema.backorders.createdAt })
        .from(schema.backorders)
        .where(sql`order_id = ${db.value.order.id}`)
    : [];
  const expected = model.placeOrder(request, db.ok ? db.value.order.createdAt : new Date(), new Map(joined.map((b) => [b.productId, b.createdAt])));
  expectSameOutcome(step, expected, db);
  if (!expected.ok || !db.ok) return;
  const { orderId, replayed, issueCodes } = expected.value;
  stepChanged = !replayed;
  note(`order #${orderId}${replayed ? " replayed" : ""}${issueCodes.length ? ` cut: ${issueCodes.join(",")}` : ""}`);
  expect(db.value.replayed, `${step}: replayed`).toBe(replayed);
  expect(
    db.value.issues.map((i) => i.code),
    `${step}: line issues`,
  ).toEqual(issueCodes);
  if (replayed) {
    expect(db.value.order.id, `${step}: the replay returns the first order`).toBe(real.orders.get(orderId));
    return;
  }
  // Learn the database ids of what the order created: lines by product, backorders by line.
  real.orders.set(orderId, db.value.order.id);
  const lines = await real.db
    .select()
    .from(schema.orderLines)
    .where(sql`order_id = ${db.value.order.id}`);
  const backorders = await real.db
    .select()
    .from(schema.backorders)
    .where(sql`order_id = ${db.value.order.id}`);
  for (const lineId of model.order(orderId)!.lineIds) {
    const line = model.line(lineId)!;
    const dbLine = lines.find((l) => l.productId === line.productId);
    if (!dbLine) throw new Error(`${step}: the database has no line for product ${line.productId}`);
    real.lines.set(lineId, dbLine.id);
    if (line.backorderId !== null) {
      const dbBackorder = backorders.find((b) => b.orderLineId === dbLine.id);
      if (!dbBackorder) throw new Error(`${step}: the database has no backorder for line ${dbLine.id}`);
      real.backorders.set(line.backorderId, dbBackorder.id);
    }
  }
  const supplierOrders = await real.db
    .select()
    .from(schema.supplierOrders)
    .where(sql`order_id = ${db.value.order.id}`);
  for (const so of model.supplierOrders.filter((so) => so.orderId === orderId)) {
    const dbOrder = supplierOrders.find((row) => row.orderLineId === real.lines.get(so.lineId));
    if (!dbOrder) throw new Error(`${step}: the database has no supplier order for line #${so.lineId}`);
    real.supplierOrders.set(so.id, dbOrder.id);
  }
  expect(supplierOrders.length, `${step}: supplier order count`).toBe(model.supplierOrders.filter((so) => so.orderId === orderId).length);
  expect(lines.length, `${step}: line count`).toBe(model.order(orderId)!.lineIds.length);
  expect(backorders.length, `${step}: backorder count`).toBe(model.order(orderId)!.lineIds.filter((id) => model.line(id)!.backorderId !== null).length);
}

/** An order with a line of the DROPSHIP product, and with `stocked` a line of a stocked product first (a mixed order). */
class PlaceDropship extends Step {
  constructor(
    readonly customer: string,
    readonly quantity: number,
    readonly stocked: { product: number; quantity: number } | null,
  ) {
    super();
  }
  describe() {
    return `placeDropship(${this.customer}: ${this.stocked ? `${lineText([this.stocked])} ` : ""}PDx${this.quantity})`;
  }
  async run(model: BackorderModel, real: Real) {
    const request: PlaceOrderRequest = {
      customer: this.customer,
      lines: [
        ...(this.stocked ? [{ productId: productId(real, this.stocked.product), quantity: this.stocked.quantity }] : []),
        { productId: real.dropshipProductId, quantity: this.quantity },
      ],
    };
    await placeBoth(this.describe(), model, real, request, (text) => (this.resolved = text));
  }
}

/** The supplier's three acts on the n-th supplier order. */
class SupplierAct extends Step {
  constructor(
    readonly act: "acknowledge" | "ship" | "reject",
    readonly ref: number,
    /** acknowledge: the ship date, days from now (negative: past, refused). */
    readonly days: number,
  ) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.supplierOrders.length > 0;
  }
  describe() {
    return `${this.act}SupplierOrder(supplierOrder@${this.ref}${this.act === "acknowledge" ? `, ${this.days} days` : ""})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.supplierOrders.length, this.ref);
    this.resolved = `supplier order #${id}`;
    const dbSupplierOrderId = dbId(real.supplierOrders, id);
    if (this.act === "acknowledge") {
      const now = new Date();
      const shipAt = new Date(now.getTime() + this.days * 86_400_000);
      const db = await attempt(acknowledgeSupplierOrder(real.db, dbSupplierOrderId, shipAt));
      expectSameOutcome(this.toString(), model.acknowledgeSupplierOrder(id, shipAt, now), db);
    } else if (this.act === "ship") {
      const db = await attempt(shipSupplierOrder(real.db, dbSupplierOrderId, "TRACK"));
      expectSameOutcome(this.toString(), model.shipSupplierOrder(id), db);
    } else {
      const db = await attempt(rejectSupplierOrder(real.db, dbSupplierOrderId, "cannot supply"));
      expectSameOutcome(this.toString(), model.rejectSupplierOrder(id), db);
    }
  }
}

/** Stock of ours for the DROPSHIP product: an adjustment or a restock, both refused. */
class StockDropship extends Step {
  constructor(readonly restock: boolean) {
    super();
  }
  describe() {
    return this.restock ? "scheduleRestock(PD: 2 on day 1)" : "adjustStock(PD: +2)";
  }
  async run(model: BackorderModel, real: Real) {
    const productId = real.dropshipProductId;
    if (this.restock) {
      const input = { productId, quantity: 2, expectedAt: restockDate(1) };
      expectSameOutcome(this.toString(), model.scheduleRestock(input), await attempt(scheduleRestock(real.db, input)));
    } else {
      const input = { productId, delta: 2, reason: "found some" };
      expectSameOutcome(this.toString(), model.adjustStock(input), await attempt(adjustStock(real.db, input)));
    }
  }
}

class CancelOrder extends Step {
  constructor(readonly ref: number) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.orders.length > 0;
  }
  describe() {
    return `cancelOrder(order@${this.ref})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.orders.length, this.ref);
    this.resolved = `order #${id}`;
    const db = await attempt(cancelOrder(real.db, dbId(real.orders, id), "changed my mind"));
    expectSameOutcome(this.toString(), model.cancelOrder(id), db);
  }
}

class CancelOrderLine extends Step {
  constructor(
    readonly ref: number,
    readonly quantity: number | undefined,
  ) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.lines.length > 0;
  }
  describe() {
    return `cancelOrderLine(line@${this.ref}${this.quantity === undefined ? "" : `, ${this.quantity}`})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.lines.length, this.ref);
    this.resolved = `line #${id}${id > 0 ? ` of order #${model.line(id)!.orderId}` : ""}`;
    const db = await attempt(cancelOrderLine(real.db, dbId(real.lines, id), this.quantity));
    expectSameOutcome(this.toString(), model.cancelOrderLine(id, this.quantity), db);
  }
}

class ShipOrder extends Step {
  constructor(readonly ref: number) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.orders.length > 0;
  }
  describe() {
    return `shipOrder(order@${this.ref})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.orders.length, this.ref);
    this.resolved = `order #${id}`;
    const db = await attempt(shipOrder(real.db, dbId(real.orders, id)));
    expectSameOutcome(this.toString(), model.shipOrder(id), db);
  }
}

class ScheduleRestock extends Step {
  constructor(
    readonly product: number,
    readonly location: number | undefined,
    readonly quantity: number,
    readonly day: number,
  ) {
    super();
  }
  describe() {
    return `scheduleRestock(${productLabel(this.product)} at ${locationLabel(this.location)}: ${this.quantity} on day ${this.day})`;
  }
  async run(model: BackorderModel, real: Real) {
    const input = {
      productId: productId(real, this.product),
      locationId: locationId(real, this.location),
      quantity: this.quantity,
      expectedAt: restockDate(this.day),
    };
    const db = await attempt(scheduleRestock(real.db, input));
    const expected = model.scheduleRestock(input);
    expectSameOutcome(this.toString(), expected, db);
    if (expected.ok && db.ok) {
      real.restocks.set(expected.value.id, db.value.id);
      this.resolved = `restock #${expected.value.id}`;
    }
  }
}

class RescheduleRestock extends Step {
  constructor(
    readonly ref: number,
    readonly day: number,
  ) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.restocks.length > 0;
  }
  describe() {
    return `rescheduleRestock(restock@${this.ref} to day ${this.day})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.restocks.length, this.ref);
    this.resolved = `restock #${id}`;
    const db = await attempt(rescheduleRestock(real.db, dbId(real.restocks, id), restockDate(this.day)));
    expectSameOutcome(this.toString(), model.rescheduleRestock(id, restockDate(this.day)), db);
  }
}

class ReceiveRestock extends Step {
  constructor(
    readonly ref: number,
    readonly quantity: number | undefined,
  ) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.restocks.length > 0;
  }
  describe() {
    return `receiveRestock(restock@${this.ref}${this.quantity === undefined ? "" : `, ${this.quantity}`})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.restocks.length, this.ref);
    this.resolved = `restock #${id}`;
    const db = await attempt(receiveRestock(real.db, dbId(real.restocks, id), this.quantity));
    const expected = model.receiveRestock(id, this.quantity);
    expectSameOutcome(this.toString(), expected, db);
    if (expected.ok && db.ok) {
      expect(
        db.value.filledBackorders.map((b) => b.id),
        `${this} filled, in queue order`,
      ).toEqual(expected.value.filled.map((modelId) => real.backorders.get(modelId)));
    }
  }
}

class CancelRestock extends Step {
  constructor(readonly ref: number) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.restocks.length > 0;
  }
  describe() {
    return `cancelRestock(restock@${this.ref})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.restocks.length, this.ref);
    this.resolved = `restock #${id}`;
    const db = await attempt(cancelRestock(real.db, dbId(real.restocks, id)));
    expectSameOutcome(this.toString(), model.cancelRestock(id), db);
  }
}

class AdjustStock extends Step {
  constructor(
    readonly product: number,
    readonly location: number | undefined,
    readonly delta: number,
    readonly safetyStock: number | undefined,
  ) {
    super();
  }
  describe() {
    const safety = this.safetyStock === undefined ? "" : `, safety ${this.safetyStock}`;
    return `adjustStock(${productLabel(this.product)} at ${locationLabel(this.location)}: ${this.delta >= 0 ? "+" : ""}${this.delta}${safety})`;
  }
  async run(model: BackorderModel, real: Real) {
    const input = {
      productId: productId(real, this.product),
      locationId: locationId(real, this.location),
      delta: this.delta,
      reason: this.delta >= 0 ? "found in a count" : "damaged",
      safetyStock: this.safetyStock,
    };
    const db = await attempt(adjustStock(real.db, input));
    expectSameOutcome(this.toString(), model.adjustStock(input), db);
  }
}

class PrioritizeBackorder extends Step {
  constructor(
    readonly ref: number,
    readonly priority: number,
  ) {
    super();
  }
  override check(model: Readonly<BackorderModel>) {
    return this.ref < 0 || model.backorders.length > 0;
  }
  describe() {
    return `prioritizeBackorder(backorder@${this.ref} to ${this.priority})`;
  }
  async run(model: BackorderModel, real: Real) {
    const id = resolve(model.backorders.length, this.ref);
    this.resolved = `backorder #${id}${id > 0 ? ` (P${real.productIds.indexOf(model.backorder(id)!.productId) + 1})` : ""}`;
    const db = await attempt(prioritizeBackorder(real.db, dbId(real.backorders, id), this.priority));
    expectSameOutcome(this.toString(), model.prioritizeBackorder(id, this.priority), db);
  }
}

class UpdateProduct extends Step {
  constructor(
    readonly product: number,
    readonly patch: ProductPatch,
  ) {
    super();
  }
  describe() {
    const fields = Object.entries(this.patch).map(([key, value]) => `${key}=${value}`);
    return `updateProduct(${productLabel(this.product)}: ${fields.join(" ") || "nothing"})`;
  }
  async run(model: BackorderModel, real: Real) {
    const { policy, ...rest } = this.patch;
    const db = await attempt(updateProduct(real.db, productId(real, this.product), { ...rest, backorderPolicy: policy }));
    expectSameOutcome(this.toString(), model.updateProduct(productId(real, this.product), this.patch), db);
  }
}

// ---- the generators ----

/** Mostly something that exists (wrapping around what the model has), now and then nothing. */
const ref = fc.oneof({ weight: 12, arbitrary: fc.nat(12) }, { weight: 1, arbitrary: fc.constant(-1) });
/** Usually a real product, now and then an unknown one. */
const product = fc.oneof({ weight: 20, arbitrary: fc.nat(PRODUCTS - 1) }, { weight: 1, arbitrary: fc.constant(PRODUCTS) });
/** The default location, one of the others, or (rarely) one that does not exist. */
const location = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) },
  { weight: 1, arbitrary: fc.constant(LOCATIONS.length) },
);
const orderLine = fc.record({ product, quantity: fc.integer({ min: 1, max: 6 }) });
const orderLines = fc.oneof(
  { weight: 9, arbitrary: fc.uniqueArray(orderLine, { minLength: 1, maxLength: 3, selector: (l) => l.product }) },
  // A product twice in one order is refused: the client must add the quantities.
  { weight: 1, arbitrary: fc.array(orderLine, { minLength: 2, maxLength: 3 }) },
);
const key = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...KEYS) });
const day = fc.nat(5);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const patch = fc.record(
  {
    policy: fc.constantFrom<Policy>("ALLOW", "DENY"),
    backorderLimit: fc.option(fc.nat(8)),
    minOrderQuantity: fc.integer({ min: 1, max: 3 }),
    maxOrderQuantity: fc.option(fc.integer({ min: 1, max: 8 })),
    leadTimeDays: fc.option(fc.integer({ min: 1, max: 30 })),
  },
  { requiredKeys: [] },
);

const placeOrderArb = fc
  .tuple(fc.constantFrom(...CUSTOMERS), orderLines, optional(fc.boolean()), key)
  .map(([customer, lines, allowPartial, idempotencyKey]) => new PlaceOrder(customer, lines, allowPartial, idempotencyKey));

const steps: fc.Arbitrary<Step>[] = [
  // Orders are what everything else acts on: they come up most often.
  ...Array.from({ length: 6 }, () => placeOrderArb),
  // Dropship: an order with a dropship line (alone or beside a stocked one), the supplier's acts.
  fc
    .tuple(
      fc.constantFrom(...CUSTOMERS),
      fc.integer({ min: 1, max: 4 }),
      fc.option(fc.record({ product: fc.nat(PRODUCTS - 1), quantity: fc.integer({ min: 1, max: 4 }) })),
    )
    .map(([customer, quantity, stocked]) => new PlaceDropship(customer, quantity, stocked)),
  fc.tuple(fc.constantFrom(...CUSTOMERS), fc.integer({ min: 1, max: 4 })).map(([customer, quantity]) => new PlaceDropship(customer, quantity, null)),
  fc
    .tuple(ref, fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: fc.constant(-2) }))
    .map(([r, d]) => new SupplierAct("acknowledge", r, d)),
  ref.map((r) => new SupplierAct("ship", r, 0)),
  ref.map((r) => new SupplierAct("ship", r, 0)),
  ref.map((r) => new SupplierAct("reject", r, 0)),
  fc.boolean().map((restock) => new StockDropship(restock)),
  fc.constantFrom(...KEYS).map((k) => new RetryOrder(k)),
  ref.map((r) => new CancelOrder(r)),
  fc.tuple(ref, optional(fc.integer({ min: 1, max: 4 }))).map(([r, q]) => new CancelOrderLine(r, q)),
  ref.map((r) => new ShipOrder(r)),
  ref.map((r) => new ShipOrder(r)),
  fc.tuple(product, location, fc.integer({ min: 1, max: 8 }), day).map(([p, l, q, d]) => new ScheduleRestock(p, l, q, d)),
  fc.tuple(product, location, fc.integer({ min: 1, max: 8 }), day).map(([p, l, q, d]) => new ScheduleRestock(p, l, q, d)),
  fc.tuple(ref, day).map(([r, d]) => new RescheduleRestock(r, d)),
  fc.tuple(ref, optional(fc.integer({ min: 1, max: 6 }))).map(([r, q]) => new ReceiveRestock(r, q)),
  fc.tuple(ref, optional(fc.integer({ min: 1, max: 6 }))).map(([r, q]) => new ReceiveRestock(r, q)),
  ref.map((r) => new CancelRestock(r)),
  fc
    .tuple(
      product,
      location,
      fc.integer({ min: -4, max: 6 }),
      fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(2) }),
    )
    .map(([p, l, d, s]) => new AdjustStock(p, l, d, s)),
  fc.tuple(ref, fc.integer({ min: -3, max: 3 })).map(([r, p]) => new PrioritizeBackorder(r, p)),
  fc.tuple(ref, fc.integer({ min: -3, max: 3 })).map(([r, p]) => new PrioritizeBackorder(r, p)),
  fc.tuple(product, patch).map(([p, x]) => new UpdateProduct(p, x)),
];

// ---- comparing the database with the model ----

type Fields = Record<string, string | number | boolean | null>;
const at = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/**
 * Reads everything the model decides from the database and compares it field by field; throws
 * one error listing every difference (up to 30), each named by the model's id and the database's.
 */
async function expectAgreement(model: BackorderModel, real: Real, step: string): Promise<void> {
  const { db } = real;
  const expected = new Map<string, Fields>();
  const actual = new Map<string, Fields>();

  for (const level of model.stockLevels()) {
    expected.set(`stock P${level.productId}@L${level.locationId}`, { onHand: level.onHand, allocated: level.allocated, safetyStock: level.safetyStock });
  }
  for (const level of await db.select().from(schema.stockLevels)) {
    actual.set(`stock P${level.productId}@L${level.locationId}`, { onHand: level.onHand, allocated: level.allocated, safetyStock: level.safetyStock });
  }
  // A stock level row appears the first time a location is used; until then it is all zeros.
  for (const [name, fields] of expected) if (!actual.has(name) && Object.values(fields).every((v) => v === 0)) actual.set(name, fields);

  for (const product of model.products.values()) {
    expected.set(`product ${product.id}`, {
      backordered: product.backordered,
      policy: product.policy,
      backorderLimit: product.backorderLimit,
      minOrderQuantity: product.minOrderQuantity,
      maxOrderQuantity: product.maxOrderQuantity,
      leadTimeDays: product.leadTimeDays,
    });
  }
  for (const product of await db.select().from(schema.products)) {
    actual.set(`product ${product.id}`, {
      backordered: product.backordered,
      policy: product.backorderPolicy,
      backorderLimit: product.backorderLimit,
      minOrderQuantity: product.minOrderQuantity,
      maxOrderQuantity: product.maxOrderQuantity,
      leadTimeDays: product.leadTimeDays,
    });
  }

  const orderName = (modelId: number) => `order #${modelId} (db ${real.orders.get(modelId)})`;
  for (const order of model.orders) {
    expected.set(orderName(order.id), { status: order.status, total: (order.totalCents / 100).toFixed(2), customer: order.customer });
  }
  const modelOrderOf = new Map([...real.orders].map(([m, d]) => [d, m]));
  for (const order of await db.select().from(schema.orders)) {
    actual.set(modelOrderOf.has(order.id) ? orderName(modelOrderOf.get(order.id)!) : `unexpected order (db ${order.id})`, {
      status: order.status,
      total: order.total,
      customer: order.customer,
    });
  }

  const lineName = (modelId: number) => `line #${modelId} (db ${real.lines.get(modelId)})`;
  const allocationName = (modelId: number, locationId: number) => `allocation line #${modelId}@L${locationId}`;
  for (const line of model.lines) {
    expected.set(lineName(line.id), {
      order: line.orderId,
      product: line.productId,
      lineNumber: line.lineNumber,
      quantity: line.quantity,
      allocated: line.allocated,
      waiting: line.waiting,
      shipped: line.shipped,
      cancelled: line.cancelled,
    });
    for (const location of model.locations) {
      const open = line.allocations.get(location.id) ?? 0;
      const shipped = line.shippedFrom.get(location.id) ?? 0;
      if (open + shipped > 0) expected.set(allocationName(line.id, location.id), { open, shipped });
    }
  }
  const modelLineOf = new Map([...real.lines].map(([m, d]) => [d, m]));
  for (const line of await db.select().from(schema.orderLines)) {
    actual.set(modelLineOf.has(line.id) ? lineName(modelLineOf.get(line.id)!) : `unexpected line (db ${line.id})`, {
      order: modelOrderOf.get(line.orderId) ?? -line.orderId,
      product: line.productId,
      lineNumber: line.lineNumber,
      quantity: line.quantity,
      allocated: line.allocated,
      waiting: line.waiting,
      shipped: line.shipped,
      cancelled: line.cancelled,
    });
  }
  for (const allocation of await db.select().from(schema.allocations)) {
    if (allocation.quantity + allocation.shipped === 0) continue;
    const modelLine = modelLineOf.get(allocation.orderLineId) ?? -allocation.orderLineId;
    actual.set(allocationName(modelLine, allocation.locationId), { open: allocation.quantity, shipped: allocation.shipped });
  }

  const backorderName = (modelId: number) => `backorder #${modelId} (db ${real.backorders.get(modelId)})`;
  const queued = new Map<number, ReturnType<BackorderModel["queue"]>[number]>();
  for (const productId of model.products.keys()) for (const entry of model.queue(productId)) queued.set(entry.backorder.id, entry);
  for (const backorder of model.backorders) {
    const entry = queued.get(backorder.id);
    expected.set(backorderName(backorder.id), {
      line: backorder.lineId,
      status: backorder.status,
      quantity: backorder.quantity,
      remaining: backorder.remaining,
      cancelled: backorder.cancelled,
      priority: backorder.priority,
      promisedAt: at(backorder.promisedAt),
      // Dates and places are defined while a backorder waits.
      position: entry?.position ?? null,
      unitsAhead: entry?.unitsAhead ?? null,
      expectedAt: entry ? at(entry.expectedAt) : null,
      etaSource: entry?.etaSource ?? null,
      delayed: entry?.delayed ?? null,
    });
  }
  const modelBackorderOf = new Map([...real.backorders].map(([m, d]) => [d, m]));
  const dbBackorders = await db.select().from(schema.backorders);
  const places = await queuePlaces(
    db,
    dbBackorders.map((b) => b.id),
  );
  dbBackorders.forEach((backorder, i) => {
    const waiting = backorder.status === "WAITING";
    actual.set(modelBackorderOf.has(backorder.id) ? backorderName(modelBackorderOf.get(backorder.id)!) : `unexpected backorder (db ${backorder.id})`, {
      line: modelLineOf.get(backorder.orderLineId) ?? -backorder.orderLineId,
      status: backorder.status,
      quantity: backorder.quantity,
      remaining: backorder.remaining,
      cancelled: backorder.cancelled,
      priority: backorder.priority,
      promisedAt: at(backorder.promisedAt),
      position: places[i]?.position ?? null,
      unitsAhead: places[i]?.unitsAhead ?? null,
      expectedAt: waiting ? at(backorder.expectedAt) : null,
      etaSource: waiting ? backorder.etaSource : null,
      delayed: waiting ? backorder.delayed : null,
    });
  });

  const restockName = (modelId: number) => `restock #${modelId} (db ${real.restocks.get(modelId)})`;
  for (const restock of model.restocks) {
    expected.set(restockName(restock.id), {
      product: restock.productId,
      location: restock.locationId,
      quantity: restock.quantity,
      received: restock.received,
      status: restock.status,
      expectedAt: at(restock.expectedAt),
    });
  }
  const modelRestockOf = new Map([...real.restocks].map(([m, d]) => [d, m]));
  for (const restock of await db.select().from(schema.restocks)) {
    actual.set(modelRestockOf.has(restock.id) ? restockName(modelRestockOf.get(restock.id)!) : `unexpected restock (db ${restock.id})`, {
      product: restock.productId,
      location: restock.locationId,
      quantity: restock.quantity,
      received: restock.receivedQuantity,
      status: restock.status,
      expectedAt: at(restock.expectedAt),
    });
  }

  const supplierOrderName = (modelId: number) => `supplier order #${modelId} (db ${real.supplierOrders.get(modelId)})`;
  for (const so of model.supplierOrders) {
    expected.set(supplierOrderName(so.id), { line: so.lineId, quantity: so.quantity, status: so.status, expectedShipAt: at(model.expectedShipAt(so)) });
    count(`supplier order ${so.status}`);
  }
  const modelSupplierOrderOf = new Map([...real.supplierOrders].map(([m, d]) => [d, m]));
  const dbSupplierOrders = await db.select({ id: schema.supplierOrders.id }).from(schema.supplierOrders);
  for (const view of await supplierOrdersByIds(
    db,
    dbSupplierOrders.map((row) => row.id),
  )) {
    actual.set(
      modelSupplierOrderOf.has(view!.id) ? supplierOrderName(modelSupplierOrderOf.get(view!.id)!) : `unexpected supplier order (db ${view!.id})`,
      {
        line: modelLineOf.get(view!.orderLineId) ?? -view!.orderLineId,
        quantity: view!.quantity,
        status: view!.status,
        expectedShipAt: at(view!.shipBy),
      },
    );
  }

  for (const entry of queued.values()) {
    count(`eta ${entry.etaSource}`);
    if (entry.delayed) count("delayed");
    if (entry.backorder.priority !== 0) count("prioritized");
    if (entry.backorder.quantity !== entry.backorder.remaining) count("partly filled");
  }

  const differences: string[] = [];
  for (const name of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(name);
    const got = actual.get(name);
    if (!want || !got) {
      differences.push(`${name}: ${want ? "missing from the database" : "not in the model"}`);
      continue;
    }
    for (const field of Object.keys(want)) {
      if (want[field] !== got[field]) differences.push(`${name}: ${field} is ${got[field]} in the database, ${want[field]} in the model`);
    }
  }
  if (differences.length > 0) {
    throw new Error(`after ${step}, the database and the model differ:\n  ${differences.slice(0, 30).join("\n  ")}`);
  }
  const violations = await auditInvariants(db);
  if (violations.length > 0) throw new Error(`after ${step}, ${formatViolations(violations)}`);
}

async function eventCount(db: Database): Promise<number> {
  const [row] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM events`);
  return Number(row.n);
}

/**
 * Wraps each step so that, after it ran on both sides, the whole state is compared, and the
 * event log checked: a change appends events in its transaction; a refusal or a replay appends none.
 */
class Checked implements fc.AsyncCommand<BackorderModel, Real> {
  constructor(readonly step: Step) {}
  check(model: Readonly<BackorderModel>) {
    return this.step.check(model);
  }
  async run(model: BackorderModel, real: Real) {
    const eventsBefore = await eventCount(real.db);
    stepChanged = false;
    await this.step.run(model, real);
    const appended = (await eventCount(real.db)) - eventsBefore;
    if (stepChanged !== appended > 0) {
      throw new Error(`${this.step}: ${stepChanged ? "changed the state but appended no event" : `appended ${appended} events without a change`}`);
    }
    await expectAgreement(model, real, this.step.toString());
  }
  toString() {
    return this.step.toString();
  }
  [fc.cloneMethod]() {
    return new Checked(this.step[fc.cloneMethod]());
  }
}

it(
  `agrees with the reference model after every step (${RUNS} runs of up to ${MAX_COMMANDS} steps)`,
  async () => {
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        setupArb,
        fc.commands(
          steps.map((arb) => arb.map((step) => new Checked(step))),
          { maxCommands: MAX_COMMANDS, size: "max" },
        ),
        async (products, commands) => {
          await fc.asyncModelRun(async () => setup(database.db, products), commands);
        },
      ),
      { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: true },
    );
    console.log(`model-based: ${RUNS} runs of up to ${MAX_COMMANDS} steps, ${Math.round(performance.now() - started)} ms on ${database.kind}`);
    if (process.env.MODEL_STATS)
      console.log(
        [...coverage]
          .sort()
          .map(([what, n]) => `  ${what}: ${n}`)
          .join("\n"),
      );
  },
  TIME_LIMIT_MS + 30_000,
);

/**
 * The reference model: the rules of docs/ARCHITECTURE.md, "The model and its invariants" and "The rules" and "Expected dates" in plain TypeScript, in memory, with
 * no database and nothing imported from the services. The model-based property test
 * (test/reliability/model-based.test.ts) runs every operation against it and against the real
 * services, and after each step the two must agree on every quantity, status, queue place and date.
 *
 * It is written to be obviously right rather than fast: loops over small arrays, one entity at a
 * time. Ids of orders, lines, backorders and restocks are the model's own (1, 2, 3 … in creation
 * order); the test maps them to the database's. Products and locations are created by the test
 * with the database's ids. Time comes from outside: the caller passes the creation time of an
 * order (the database's), because the lead-time fallback dates a backorder from it.
 *
 * Where docs/ARCHITECTURE.md leaves a choice open, the model takes the engine's documented one: under
 * `allowPartial`, a line over the backorder limit is cut to the room left (like a DENY line to
 * the stock), and a backorder whose last waiting units are cancelled is CANCELLED even when part
 * of it was filled. Not modelled: lost demand (a metric), the content of events, and lateness by
 * the clock (the test keeps every promise in the future).
 */

/** Why the model refuses an operation (the subset of docs/ARCHITECTURE.md, "The GraphQL contract"'s `ErrorCode` it decides). */
export type RefusalCode =
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "OUT_OF_STOCK"
  | "BACKORDER_LIMIT_EXCEEDED"
  | "BELOW_MIN_ORDER_QUANTITY"
  | "ABOVE_MAX_ORDER_QUANTITY"
  | "INSUFFICIENT_STOCK"
  | "INVALID_STATE"
  | "IDEMPOTENCY_KEY_REUSED";

/** What an operation did: its result, or the codes of the issues it was refused with (in order). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; codes: RefusalCode[] };

export type Policy = "ALLOW" | "DENY";
export type OrderStatus = "AWAITING_STOCK" | "READY_TO_SHIP" | "PARTIALLY_SHIPPED" | "SHIPPED" | "CANCELLED";
export type BackorderStatus = "WAITING" | "FILLED" | "CANCELLED";
export type RestockStatus = "SCHEDULED" | "PARTIALLY_RECEIVED" | "RECEIVED" | "CANCELLED";
/** Restocks still on their way: counted as supply, and open to reschedule, receive or cancel. */
const isOpen = (status: RestockStatus) => status === "SCHEDULED" || status === "PARTIALLY_RECEIVED";
export type EtaSource = "RESTOCK" | "LEAD_TIME" | "UNKNOWN";

export interface ModelLocation {
  id: number;
  /** Allocation order: lower first; the lowest is the default location. */
  priority: number;
}

export interface ProductRules {
  policy: Policy;
  backorderLimit: number | null;
  minOrderQuantity: number;
  maxOrderQuantity: number | null;
  leadTimeDays: number | null;
}

export interface ModelProduct extends ProductRules {
  id: number;
  priceCents: number;
  /** A DROPSHIP product (docs/ARCHITECTURE.md, "Dropship"): its supplier's lead time; absent for a stocked one. */
  dropship?: { leadTimeDays: number | null };
  /** Units waiting in the backlog. */
  backordered: number;
}

export interface ModelStockLevel {
  productId: number;
  locationId: number;
  onHand: number;
  allocated: number;
  safetyStock: number;
}

export interface ModelOrder {
  id: number;
  customer: string;
  status: OrderStatus;
  totalCents: number;
  lineIds: number[];
  createdAt: Date;
}

export interface ModelLine {
  id: number;
  orderId: number;
  productId: number;
  lineNumber: number;
  quantity: number;
  allocated: number;
  waiting: number;
  shipped: number;
  cancelled: number;
  /** Open (allocated, not shipped) units per location id. */
  allocations: Map<number, number>;
  /** Shipped units per location id. */
  shippedFrom: Map<number, number>;
  backorderId: number | null;
}

export interface ModelBackorder {
  id: number;
  productId: number;
  orderId: number;
  lineId: number;
  quantity: number;
  remaining: number;
  cancelled: number;
  status: BackorderStatus;
  priority: number;
  createdAt: Date;
  /** The ETA when the backorder was created; never changes. */
  promisedAt: Date | null;
}

export type SupplierOrderStatus = "OPEN" | "ACKNOWLEDGED" | "SHIPPED" | "REJECTED" | "CANCELLED";

/** A dropship line's order at its supplier: the line's whole quantity. */
export interface ModelSupplierOrder {
  id: number;
  orderId: number;
  lineId: number;
  quantity: number;
  status: SupplierOrderStatus;
  /** The acknowledged ship date. */
  shipAt: Date | null;
  createdAt: Date;
}

export interface ModelRestock {
  id: number;
  productId: number;
  locationId: number;
  quantity: number;
  received: number;
  expectedAt: Date;
  status: RestockStatus;
}

/** A waiting backorder as the queue sees it now. */
export interface QueueEntry {
  backorder: ModelBackorder;
  /** 1-based place in its product's queue. */
  position: number;
  /** Waiting units ahead of it. */
  unitsAhead: number;
  expectedAt: Date | null;
  etaSource: EtaSource;
  delayed: boolean;
}

export interface PlaceOrderRequest {
  customer: string;
  lines: { productId: number; quantity: number }[];
  allowPartial?: boolean;
  idempotencyKey?: string;
}

export interface PlacedOrder {
  orderId: number;
  replayed: boolean;
  /** Codes of the issues of lines that were cut (allowPartial). */
  issueCodes: RefusalCode[];
}

export interface ProductPatch {
  policy?: Policy;
  backorderLimit?: number | null;
  minOrderQuantity?: number;
  maxOrderQuantity?: number | null;
  leadTimeDays?: number | null;
}

const DAY_MS = 86_400_000;
const MAX_QUANTITY = 1_000_000;
const MAX_PRIORITY = 1_000_000;

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const no = <T>(...codes: RefusalCode[]): Outcome<T> => ({ ok: false, codes });
const isCount = (n: unknown, min: number, max: number) => typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

/** Queue order: higher priority first, then placement order. */
function queueOrder(a: ModelBackorder, b: ModelBackorder): number {
  return b.priority - a.priority || a.id - b.id;
}

/** The in-memory backorder engine. Every operation refuses without changing anything, or applies fully. */
export class BackorderModel {
  readonly locations: ModelLocation[] = [];
  readonly products = new Map<number, ModelProduct>();
  readonly orders: ModelOrder[] = [];
  readonly lines: ModelLine[] = [];
  readonly backorders: ModelBackorder[] = [];
  readonly restocks: ModelRestock[] = [];
  readonly supplierOrders: ModelSupplierOrder[] = [];
  /** idempotency key → the first request (normalised) and the order it placed. */
  readonly idempotencyKeys = new Map<string, { request: string; input: PlaceOrderRequest; orderId: number; issueCodes: RefusalCode[] }>();
  private readonly levels = new Map<string, ModelStockLevel>();

  // ---- set-up (the test mirrors what it creates in the database) ----

  addLocation(id: number, priority: number): void {
    this.locations.push({ id, priority });
    this.locations.sort((a, b) => a.priority - b.priority || a.id - b.id);
  }

  addProduct(id: number, rules: ProductRules, priceCents = 1000): void {
    this.products.set(id, { id, priceCents, backordered: 0, ...rules });
  }

  /** A DROPSHIP product: no stock of ours, shipped by a supplier with this lead time. */
  addDropshipProduct(id: number, supplierLeadTimeDays: number | null, priceCents = 1000): void {
    this.products.set(id, {
      id,
      priceCents,
      backordered: 0,
      policy: "ALLOW",
      backorderLimit: null,
      minOrderQuantity: 1,
      maxOrderQuantity: null,
      leadTimeDays: null,
      dropship: { leadTimeDays: supplierLeadTimeDays },
    });
  }

  /** The default location: the lowest priority number. */
  get defaultLocation(): ModelLocation {
    return this.locations[0];
  }

  /** A product's stock at a location (zeros when nothing was ever there). */
  level(productId: number, locationId: number): ModelStockLevel {
    const key = `${productId}:${locationId}`;
    let level = this.levels.get(key);
    if (!level) this.levels.set(key, (level = { productId, locationId, onHand: 0, allocated: 0, safetyStock: 0 }));
    return level;
  }

  /** Every stock level, in (product, location) order. */
  stockLevels(): ModelStockLevel[] {
    const all: ModelStockLevel[] = [];
    for (const product of this.products.values()) for (const location of this.locations) all.push(this.level(product.id, location.id));
    return all;
  }

  private free(level: ModelStockLevel): number {
    return Math.max(0, level.onHand - level.allocated - level.safetyStock);
  }

  order(id: number): ModelOrder | undefined {
    return this.orders[id - 1];
  }
  line(id: number): ModelLine | undefined {
    return this.lines[id - 1];
  }
  backorder(id: number): ModelBackorder | undefined {
    return this.backorders[id - 1];
  }
  restock(id: number): ModelRestock | undefined {
    return this.restocks[id - 1];
  }
  supplierOrder(id: number): ModelSupplierOrder | undefined {
    return this.supplierOrders[id - 1];
  }
  /** The line's supplier order while it is open (its units wait at the supplier). */
  private openSupplierOrderOf(line: ModelLine): ModelSupplierOrder | undefined {
    return this.supplierOrders.find((so) => so.lineId === line.id && (so.status === "OPEN" || so.status === "ACKNOWLEDGED"));
  }
  /** When the supplier will ship: the acknowledged date, else the order's time plus the supplier's lead time. */
  expectedShipAt(so: ModelSupplierOrder): Date | null {
    if (so.shipAt) return so.shipAt;
    const lead = this.products.get(this.line(so.lineId)!.productId)!.dropship!.leadTimeDays;
    return lead === null ? null : new Date(so.createdAt.getTime() + lead * DAY_MS);
  }

  // ---- placing orders (docs/ARCHITECTURE.md, "The rules", placeOrder and idempotency) ----

  /**
   * Places an order. `createdAt` is when it was placed; `joinedAt` (by product) when each of its
   * backorders joined its queue, a moment later (the lead-time fallback dates a backorder from
   * it), `createdAt` where not given. Checks in the order the rules give: the input's shape, the
   * idempotency key, unknown or repeated products, min/max quantities, then stock, policy and limits.
   */
  placeOrder(input: PlaceOrderRequest, createdAt: Date, joinedAt: ReadonlyMap<number, Date> = new Map()): Outcome<PlacedOrder> {
    const allowPartial = input.allowPartial ?? true;
    if (input.customer.trim() === "" || input.lines.length === 0 || input.lines.length > 100) return no("INVALID_INPUT");
    if (input.lines.some((line) => !isCount(line.quantity, 1, MAX_QUANTITY))) return no("INVALID_INPUT");
    const request = JSON.stringify([input.customer.trim(), input.lines.map((l) => [l.productId, l.quantity]), allowPartial]);
    if (input.idempotencyKey !== undefined) {
      const prior = this.idempotencyKeys.get(input.idempotencyKey);
      if (prior && prior.request !== request) return no("IDEMPOTENCY_KEY_REUSED");
      if (prior) return ok({ orderId: prior.orderId, replayed: true, issueCodes: prior.issueCodes });
    }

    const shape: RefusalCode[] = [];
    const seen = new Set<number>();
    for (const line of input.lines) {
      if (!this.products.has(line.productId)) shape.push("NOT_FOUND");
      else if (seen.has(line.productId)) shape.push("INVALID_INPUT");
      seen.add(line.productId);
    }
    if (shape.length > 0) return no(...shape);
    const quantityRules: RefusalCode[] = [];
    for (const line of input.lines) {
      const product = this.products.get(line.productId)!;
      if (line.quantity < product.minOrderQuantity) quantityRules.push("BELOW_MIN_ORDER_QUANTITY");
      else if (product.maxOrderQuantity !== null && line.quantity > product.maxOrderQuantity) quantityRules.push("ABOVE_MAX_ORDER_QUANTITY");
    }
    if (quantityRules.length > 0) return no(...quantityRules);

    // Plan every line before changing anything: a refused order changes nothing.
    const issues: RefusalCode[] = [];
    const planned: { lineNumber: number; product: ModelProduct; take: Map<number, number>; allocated: number; waiting: number }[] = [];
    input.lines.forEach((line, i) => {
      const product = this.products.get(line.productId)!;
      // A dropship line waits whole at its supplier: no stock, no policy, no limit.
      if (product.dropship) return void planned.push({ lineNumber: i + 1, product, take: new Map(), allocated: 0, waiting: line.quantity });
      const take = new Map<number, number>();
      let allocated = 0;
      // Stock never jumps the queue: while anyone waits, nothing is available (invariant 2).
      if (product.backordered === 0) {
        for (const location of this.locations) {
          const units = Math.min(line.quantity - allocated, this.free(this.level(product.id, location.id)));
          if (units > 0) take.set(location.id, units);
          allocated += Math.max(0, units);
        }
      }
      let waiting = line.quantity - allocated;
      if (waiting > 0 && product.policy === "DENY") {
        issues.push("OUT_OF_STOCK");
        waiting = 0;
      } else if (waiting > 0 && product.backorderLimit !== null && product.backordered + waiting > product.backorderLimit) {
        // The line is cut to what the limit leaves room for (and reported).
        issues.push("BACKORDER_LIMIT_EXCEEDED");
        waiting = Math.max(0, product.backorderLimit - product.backordered);
      }
      if (allocated + waiting > 0) planned.push({ lineNumber: i + 1, product, take, allocated, waiting });
    });
    if (issues.length > 0 && (!allowPartial || planned.length === 0)) return no(...issues);

    const order: ModelOrder = {
      id: this.orders.length + 1,
      customer: input.customer.trim(),
      status: "READY_TO_SHIP",
      totalCents: 0,
      lineIds: [],
      createdAt,
    };
    this.orders.push(order);
    const newBackorders: ModelBackorder[] = [];
    for (const plan of planned) {
      const line: ModelLine = {
        id: this.lines.length + 1,
        orderId: order.id,
        productId: plan.product.id,
        lineNumber: plan.lineNumber,
        quantity: plan.allocated + plan.waiting,
        allocated: plan.allocated,
        waiting: plan.waiting,
        shipped: 0,
        cancelled: 0,
        allocations: new Map(plan.take),
        shippedFrom: new Map(),
        backorderId: null,
      };
      this.lines.push(line);
      order.lineIds.push(line.id);
      order.totalCents += line.quantity * plan.product.priceCents;
      for (const [locationId, units] of plan.take) this.level(plan.product.id, locationId).allocated += units;
      if (plan.product.dropship) {
        this.supplierOrders.push({
          id: this.supplierOrders.length + 1,
          orderId: order.id,
          lineId: line.id,
          quantity: line.quantity,
          status: "OPEN",
          shipAt: null,
          createdAt,
        });
      } else if (plan.waiting > 0) {
        plan.product.backordered += plan.waiting;
        const backorder: ModelBackorder = {
          id: 0,
          productId: plan.product.id,
          orderId: order.id,
          lineId: line.id,
          quantity: plan.waiting,
          remaining: plan.waiting,
          cancelled: 0,
          status: "WAITING",
          priority: 0,
          createdAt: joinedAt.get(plan.product.id) ?? createdAt,
          promisedAt: null,
        };
        newBackorders.push(backorder);
      }
    }
    // One order's backorders are numbered in product order (they sit in different queues anyway).
    for (const backorder of newBackorders.sort((a, b) => a.productId - b.productId)) {
      backorder.id = this.backorders.length + 1;
      this.backorders.push(backorder);
      this.line(backorder.lineId)!.backorderId = backorder.id;
    }
    // The promise is the ETA at the moment of ordering.
    for (const backorder of newBackorders) backorder.promisedAt = this.entry(backorder)!.expectedAt;
    this.refreshStatus(order);
    if (input.idempotencyKey !== undefined) {
      this.idempotencyKeys.set(input.idempotencyKey, { request, input, orderId: order.id, issueCodes: issues });
    }
    return ok({ orderId: order.id, replayed: false, issueCodes: issues });
  }

  // ---- cancelling and shipping ----

  /** Cancels every unit that has not shipped: waiting first, then allocated (released to the backlog). */
  cancelOrder(orderId: number): Outcome<ModelOrder> {
    const order = this.order(orderId);
    if (!order) return no("NOT_FOUND");
    const open = order.lineIds.map((id) => this.line(id)!).filter((line) => line.waiting + line.allocated > 0);
    if (open.length === 0) return no("INVALID_STATE");
    this.cancelUnits(
      order,
      open.map((line) => ({ line, units: line.waiting + line.allocated })),
    );
    return ok(order);
  }

  /** Cancels `quantity` units of a line (all open ones when omitted): waiting first, then allocated. */
  cancelOrderLine(lineId: number, quantity?: number): Outcome<ModelOrder> {
    if (quantity !== undefined && !isCount(quantity, 1, MAX_QUANTITY)) return no("INVALID_INPUT");
    const line = this.line(lineId);
    if (!line) return no("NOT_FOUND");
    const open = line.waiting + line.allocated;
    if (open === 0) return no("INVALID_STATE");
    const units = quantity ?? open;
    if (units > open) return no("INVALID_INPUT");
    // A dropship line is one supplier order: cancelled whole or not at all.
    if (this.openSupplierOrderOf(line) && units < line.waiting) return no("INVALID_INPUT");
    const order = this.order(line.orderId)!;
    this.cancelUnits(order, [{ line, units }]);
    return ok(order);
  }

  private cancelUnits(order: ModelOrder, requests: { line: ModelLine; units: number }[]): void {
    const released = new Set<number>();
    for (const { line, units } of requests) {
      const waiting = Math.min(units, line.waiting);
      let allocated = units - waiting;
      line.waiting -= waiting;
      line.cancelled += units;
      const supplierOrder = this.openSupplierOrderOf(line);
      if (supplierOrder) {
        supplierOrder.status = "CANCELLED";
      } else if (waiting > 0) {
        const backorder = this.backorder(line.backorderId!)!;
        backorder.remaining -= waiting;
        backorder.cancelled += waiting;
        if (backorder.remaining === 0) backorder.status = "CANCELLED";
        this.products.get(line.productId)!.backordered -= waiting;
      }
      // Allocated units leave the least preferred location first, so the best stock stays reserved.
      line.allocated -= allocated;
      for (const location of [...this.locations].reverse()) {
        const open = line.allocations.get(location.id) ?? 0;
        const units = Math.min(open, allocated);
        if (units === 0) continue;
        line.allocations.set(location.id, open - units);
        this.level(line.productId, location.id).allocated -= units;
        allocated -= units;
        released.add(line.productId);
      }
    }
    for (const productId of [...released].sort((a, b) => a - b)) this.fillBacklog(productId);
    this.refreshStatus(order);
  }

  /** Ships every allocated unit of the order: onHand and allocated fall together. */
  shipOrder(orderId: number): Outcome<ModelOrder> {
    const order = this.order(orderId);
    if (!order) return no("NOT_FOUND");
    const lines = order.lineIds.map((id) => this.line(id)!);
    if (lines.every((line) => line.allocated === 0)) return no("INVALID_STATE");
    for (const line of lines) {
      for (const [locationId, units] of line.allocations) {
        if (units === 0) continue;
        const level = this.level(line.productId, locationId);
        level.onHand -= units;
        level.allocated -= units;
        line.shippedFrom.set(locationId, (line.shippedFrom.get(locationId) ?? 0) + units);
        line.allocations.set(locationId, 0);
      }
      line.shipped += line.allocated;
      line.allocated = 0;
    }
    this.refreshStatus(order);
    return ok(order);
  }

  // ---- restocks ----

  scheduleRestock(input: { productId: number; locationId?: number; quantity: number; expectedAt: Date }): Outcome<ModelRestock> {
    if (!isCount(input.quantity, 1, MAX_QUANTITY)) return no("INVALID_INPUT");
    if (!this.products.has(input.productId)) return no("NOT_FOUND");
    if (this.products.get(input.productId)!.dropship) return no("INVALID_STATE");
    const location = this.resolveLocation(input.locationId);
    if (!location) return no("NOT_FOUND");
    const restock: ModelRestock = {
      id: this.restocks.length + 1,
      productId: input.productId,
      locationId: location.id,
      quantity: input.quantity,
      received: 0,
      expectedAt: input.expectedAt,
      status: "SCHEDULED",
    };
    this.restocks.push(restock);
    return ok(restock);
  }

  private open(id: number): Outcome<ModelRestock> {
    const restock = this.restock(id);
    if (!restock) return no("NOT_FOUND");
    if (!isOpen(restock.status)) return no("INVALID_STATE");
    return ok(restock);
  }

  rescheduleRestock(id: number, expectedAt: Date): Outcome<ModelRestock> {
    const found = this.open(id);
    if (found.ok) found.value.expectedAt = expectedAt;
    return found;
  }

  cancelRestock(id: number): Outcome<ModelRestock> {
    const found = this.open(id);
    if (found.ok) found.value.status = "CANCELLED";
    return found;
  }

  /** Receives units (all outstanding when omitted); returns the backorders that got units, in queue order. */
  receiveRestock(id: number, quantity?: number): Outcome<{ restock: ModelRestock; filled: number[] }> {
    if (quantity !== undefined && !isCount(quantity, 1, MAX_QUANTITY)) return no("INVALID_INPUT");
    const found = this.open(id);
    if (!found.ok) return found;
    const restock = found.value;
    const outstanding = restock.quantity - restock.received;
    const units = quantity ?? outstanding;
    if (units > outstanding) return no("INVALID_INPUT");
    this.level(restock.productId, restock.locationId).onHand += units;
    restock.received += units;
    restock.status = restock.received === restock.quantity ? "RECEIVED" : "PARTIALLY_RECEIVED";
    return ok({ restock, filled: this.fillBacklog(restock.productId) });
  }

  // ---- dropship: the supplier's acts (docs/ARCHITECTURE.md, "Dropship") ----

  private actable(id: number, from: readonly SupplierOrderStatus[]): Outcome<ModelSupplierOrder> {
    const so = this.supplierOrder(id);
    if (!so) return no("NOT_FOUND");
    if (!from.includes(so.status)) return no("INVALID_STATE");
    return ok(so);
  }

  /** OPEN → ACKNOWLEDGED with a ship date from now (a minute's tolerance) to 730 days ahead. */
  acknowledgeSupplierOrder(id: number, shipAt: Date, now: Date): Outcome<ModelSupplierOrder> {
    if (shipAt.getTime() < now.getTime() - 60_000 || shipAt.getTime() > now.getTime() + 730 * DAY_MS) return no("INVALID_INPUT");
    const found = this.actable(id, ["OPEN"]);
    if (found.ok) {
      found.value.status = "ACKNOWLEDGED";
      found.value.shipAt = shipAt;
    }
    return found;
  }

  /** OPEN or ACKNOWLEDGED → SHIPPED: the line's waiting units ship. */
  shipSupplierOrder(id: number): Outcome<ModelSupplierOrder> {
    const found = this.actable(id, ["OPEN", "ACKNOWLEDGED"]);
    if (!found.ok) return found;
    const line = this.line(found.value.lineId)!;
    line.shipped += line.waiting;
    line.waiting = 0;
    found.value.status = "SHIPPED";
    this.refreshStatus(this.order(line.orderId)!);
    return found;
  }

  /** OPEN or ACKNOWLEDGED → REJECTED: the line's waiting units are cancelled. */
  rejectSupplierOrder(id: number): Outcome<ModelSupplierOrder> {
    const found = this.actable(id, ["OPEN", "ACKNOWLEDGED"]);
    if (!found.ok) return found;
    const line = this.line(found.value.lineId)!;
    line.cancelled += line.waiting;
    line.waiting = 0;
    found.value.status = "REJECTED";
    this.refreshStatus(this.order(line.orderId)!);
    return found;
  }

  // ---- stock and the queue ----

  /** A count correction at a location; a rise fills the backlog, a fall below allocated is refused. */
  adjustStock(input: { productId: number; locationId?: number; delta: number; reason: string; safetyStock?: number }): Outcome<ModelStockLevel> {
    if (!isCount(input.delta, -MAX_QUANTITY, MAX_QUANTITY) || input.reason.trim() === "") return no("INVALID_INPUT");
    if (input.safetyStock !== undefined && !isCount(input.safetyStock, 0, MAX_QUANTITY)) return no("INVALID_INPUT");
    if (input.delta === 0 && input.safetyStock === undefined) return no("INVALID_INPUT");
    if (!this.products.has(input.productId)) return no("NOT_FOUND");
    if (this.products.get(input.productId)!.dropship) return no("INVALID_STATE");
    const location = this.resolveLocation(input.locationId);
    if (!location) return no("NOT_FOUND");
    const level = this.level(input.productId, location.id);
    if (level.onHand + input.delta < level.allocated) return no("INSUFFICIENT_STOCK");
    level.onHand += input.delta;
    if (input.safetyStock !== undefined) level.safetyStock = input.safetyStock;
    this.fillBacklog(input.productId);
    return ok(level);
  }

  /** Moves a waiting backorder in its queue; what was allocated stays. */
  prioritizeBackorder(id: number, priority: number): Outcome<ModelBackorder> {
    if (!isCount(priority, -MAX_PRIORITY, MAX_PRIORITY)) return no("INVALID_INPUT");
    const backorder = this.backorder(id);
    if (!backorder) return no("NOT_FOUND");
    if (backorder.status !== "WAITING") return no("INVALID_STATE");
    backorder.priority = priority;
    return ok(backorder);
  }

  /** Changes a product's policy and limits; waiting backorders keep their place. */
  updateProduct(id: number, patch: ProductPatch): Outcome<ModelProduct> {
    const { backorderLimit, minOrderQuantity, maxOrderQuantity, leadTimeDays } = patch;
    if (backorderLimit != null && !isCount(backorderLimit, 0, MAX_QUANTITY * 100)) return no("INVALID_INPUT");
    if (minOrderQuantity !== undefined && !isCount(minOrderQuantity, 1, MAX_QUANTITY)) return no("INVALID_INPUT");
    if (maxOrderQuantity != null && !isCount(maxOrderQuantity, 1, MAX_QUANTITY)) return no("INVALID_INPUT");
    if (leadTimeDays != null && !isCount(leadTimeDays, 0, 3650)) return no("INVALID_INPUT");
    const product = this.products.get(id);
    if (!product) return no("NOT_FOUND");
    const min = minOrderQuantity ?? product.minOrderQuantity;
    const max = maxOrderQuantity === undefined ? product.maxOrderQuantity : maxOrderQuantity;
    if (max !== null && max < min) return no("INVALID_INPUT");
    if (patch.policy !== undefined) product.policy = patch.policy;
    if (backorderLimit !== undefined) product.backorderLimit = backorderLimit;
    product.minOrderQuantity = min;
    product.maxOrderQuantity = max;
    if (leadTimeDays !== undefined) product.leadTimeDays = leadTimeDays;
    return ok(product);
  }

  private resolveLocation(id: number | undefined): ModelLocation | undefined {
    return id === undefined ? this.defaultLocation : this.locations.find((location) => location.id === id);
  }

  /**
   * Gives the product's free units to its queue, first come first served: the head of the queue
   * takes from the locations in priority order until it is complete, then the next. Returns the
   * backorders that received units, in queue order.
   */
  private fillBacklog(productId: number): number[] {
    const product = this.products.get(productId)!;
    const filled: number[] = [];
    const touchedOrders = new Set<number>();
    for (const backorder of this.waiting(productId)) {
      for (const location of this.locations) {
        const level = this.level(productId, location.id);
        const units = Math.min(backorder.remaining, this.free(level));
        if (units === 0) continue;
        const line = this.line(backorder.lineId)!;
        backorder.remaining -= units;
        line.waiting -= units;
        line.allocated += units;
        line.allocations.set(location.id, (line.allocations.get(location.id) ?? 0) + units);
        level.allocated += units;
        product.backordered -= units;
        if (filled.at(-1) !== backorder.id) filled.push(backorder.id);
        touchedOrders.add(backorder.orderId);
      }
      if (backorder.remaining === 0) backorder.status = "FILLED";
      else break; // no free units are left anywhere
    }
    for (const orderId of touchedOrders) this.refreshStatus(this.order(orderId)!);
    return filled;
  }

  /** Order status from its lines, first match wins (docs/ARCHITECTURE.md, "The rules"). */
  private refreshStatus(order: ModelOrder): void {
    const lines = order.lineIds.map((id) => this.line(id)!);
    const sum = (pick: (line: ModelLine) => number) => lines.reduce((total, line) => total + pick(line), 0);
    const quantity = sum((l) => l.quantity);
    const cancelled = sum((l) => l.cancelled);
    const shipped = sum((l) => l.shipped);
    order.status =
      cancelled === quantity
        ? "CANCELLED"
        : shipped === quantity - cancelled
          ? "SHIPPED"
          : shipped > 0
            ? "PARTIALLY_SHIPPED"
            : sum((l) => l.waiting) > 0
              ? "AWAITING_STOCK"
              : "READY_TO_SHIP";
  }

  // ---- the queue and its dates (docs/ARCHITECTURE.md, "Expected dates") ----

  /** A product's waiting backorders in queue order. */
  waiting(productId: number): ModelBackorder[] {
    return this.backorders.filter((b) => b.productId === productId && b.status === "WAITING").sort(queueOrder);
  }

  /**
   * A product's queue with places and dates: walking the queue with a running sum of waiting
   * units and the scheduled restocks (by expected date, then scheduling order) with a running sum
   * of outstanding units, a backorder is expected on the date of the first restock whose sum
   * covers its own; beyond scheduled supply, at creation + lead time when the product has one.
   */
  queue(productId: number): QueueEntry[] {
    const product = this.products.get(productId)!;
    const supply = this.restocks
      .filter((r) => r.productId === productId && isOpen(r.status))
      .sort((a, b) => a.expectedAt.getTime() - b.expectedAt.getTime() || a.id - b.id);
    let ahead = 0;
    return this.waiting(productId).map((backorder, i) => {
      const through = ahead + backorder.remaining;
      let covered = 0;
      const restock = supply.find((r) => (covered += r.quantity - r.received) >= through);
      const expectedAt = restock
        ? restock.expectedAt
        : product.leadTimeDays !== null
          ? new Date(backorder.createdAt.getTime() + product.leadTimeDays * DAY_MS)
          : null;
      const etaSource: EtaSource = restock ? "RESTOCK" : product.leadTimeDays !== null ? "LEAD_TIME" : "UNKNOWN";
      // Late: a promise was made and the ETA is later or unknown. (The test keeps every promise in
      // the future, so "the promise has passed" never applies within a run.)
      const delayed = backorder.promisedAt !== null && (expectedAt === null || expectedAt.getTime() > backorder.promisedAt.getTime());
      const entry = { backorder, position: i + 1, unitsAhead: ahead, expectedAt, etaSource, delayed };
      ahead = through;
      return entry;
    });
  }

  /** The queue entry of a waiting backorder; undefined when it is not waiting. */
  entry(backorder: ModelBackorder): QueueEntry | undefined {
    return this.queue(backorder.productId).find((e) => e.backorder.id === backorder.id);
  }
}

/**
 * What an operation may cost, computed from its document and the schema before anything runs
 * (docs/ARCHITECTURE.md, "Access and limits"), the way GitHub and Shopify count:
 *
 *  - every field that returns an object (object, interface or union type) costs 1 point per
 *    object it may return; scalar and enum fields cost 0;
 *  - a field's selection is paid once per object the field may return;
 *  - a field that takes `first` is a connection: its `edges` and `nodes` lists hold `first`
 *    objects (20, the API's default page, when `first` is omitted or null; at most 100, the
 *    largest page the API serves);
 *  - any other list holds as many objects as it may at most ({@link LIST_MAXIMA}): an order's
 *    `lines` up to the 100 the services accept (`LIMITS.lines`), not "about 10"; a list without a
 *    known maximum counts as {@link UNBOUNDED_LIST_SIZE}, and what it returns beyond that is charged
 *    after execution (server/graphql/limits/object-meter.ts); introspection's lists are not
 *    multiplied (see below);
 *  - nested lists multiply: `lines { order { lines { … } } }` is 100 × 100 lines.
 *  - a connection's `totalCount` (with or without `totalCountPrecision`, one count answers both)
 *    costs the work of counting, once per connection object: {@link COUNTER_COUNT_COST} when a
 *    counter answers it ({@link COUNTED_CONNECTIONS}, decided by which fields of `filter` are
 *    set), else {@link BOUNDED_COUNT_COST}, the share of the {@link COUNT_BOUND} rows it may read;
 *  - a field that works beyond the objects it returns ({@link FIELD_WORK}: a quote, a
 *    simulation, metrics over a window) adds its price once per object it may return, and the
 *    settlement keeps charging it (a count's price is given back);
 *  - fragments and inline fragments count where they are spread; on an interface or a union the
 *    most expensive of its possible types counts; `@skip`/`@include` are honoured;
 *  - `first` given as a variable is read from the request's variables.
 *
 * Depth is the deepest chain of nested fields (a leaf counts as a level).
 *
 * Introspection (`__schema`, `__type`) is answered from memory, and graphql's own validation
 * bounds how deeply it nests: each object field selected in it costs 1 point, its lists not
 * multiplied (the standard introspection query costs 17). `ofType` adds no level and no cost: it
 * only unwraps a type reference (`[Order!]!` is three steps), its length is fixed by the schema,
 * and the standard introspection query spells out a chain of them, so that it is 6 levels deep.
 *
 * Both are computed as written: two selections that GraphQL would merge are counted twice, so the
 * figures may overestimate, never underestimate. Each fragment is measured once per type it lands
 * on, so a document whose fragments spread each other many times is measured in linear time.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isAbstractType,
  isCompositeType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type ValueNode,
  getNamedType,
} from "graphql";
import { ERROR_CODES } from "../../../drizzle/contract.js";
import { COUNT_BOUND, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../../drizzle/paging.js";
import { BACKLOG_METRICS_LIMITS } from "../../services/backlog-metrics.query.js";
import { countersCountBacklog } from "../../services/backlog.query.js";
import { countersCountOrders } from "../../services/order-counters.js";
import { SUPPLIER_HISTORY } from "../../services/supplier.query.js";
import { LIMITS } from "../../services/validation.js";
import { WEBHOOK_LIMITS } from "../../services/webhook-endpoint.service.js";
import { HEALTH_WINDOW } from "../../services/webhook.query.js";

/** Locations counted for `locations` and a product's `stockLevels` (one per location): the services' maximum. */
export const MAX_LOCATIONS = LIMITS.locations;

/** Currencies counted for a list of amounts, one per currency. */
export const MAX_CURRENCIES = 10;

/** Problems one mutation may report: one per line of the largest order, and a few about the rest. */
export const MAX_USER_ERRORS = LIMITS.lines + 10;

/** The size counted for a list whose maximum is not known (no `first`, not in {@link LIST_MAXIMA}). */
export const UNBOUNDED_LIST_SIZE = MAX_PAGE_SIZE;

/**
 * The most items each list field without `first` may return, by `Type.field` (`*.field`: on any
 * type), taken from the limits the services enforce.
 */
export const LIST_MAXIMA: Readonly<Record<string, number>> = Object.freeze({
  "Order.lines": LIMITS.lines,
  "Product.stockLevels": MAX_LOCATIONS,
  "Query.locations": MAX_LOCATIONS,
  // A restock fills at most one backorder per unit received; counted as a page, the rest charged after.
  "ReceiveRestockPayload.filledBackorders": MAX_PAGE_SIZE,
  "*.userErrors": MAX_USER_ERRORS,
  // One figure per currency: a shop sells in a few; more are charged after execution.
  "BacklogMetrics.revenueProtected": MAX_CURRENCIES,
  "LostDemand.value": MAX_CURRENCIES,
  // One entry per refusal code.
  "BacklogMetrics.lostDemand": ERROR_CODES.length,
  "RestockSimulation.affected": 100,
  // One line per order line (a unique index).
  "Refund.lines": LIMITS.lines,
  // One refund per cancellation: an order sees a few; more are charged after execution.
  "Order.refunds": 10,
  // Every endpoint (webhook-endpoint.service.ts caps them), and each event type once.
  "WebhookHealth.endpoints": WEBHOOK_LIMITS.endpoints,
  "WebhookEndpoint.events": WEBHOOK_LIMITS.events,
  // Pending refunds per currency (refund.query.ts refundsDue).
  "RefundsDue.totals": MAX_CURRENCIES,
});

/**
 * Rows a bounded count reads for one point. A point is one object returned: a row read, its
 * resolvers and its serialization, about 0.25 ms on PostgreSQL here (a page of 100 orders); a
 * count of 10,000 rows took 2 to 20 ms (an index-only scan, a semi-join over the backlog), 8 to 80
 * objects' worth (docs/ARCHITECTURE.md, "Counting"). 250 rows a point prices it at 40, within that
 * range, and keeps the dashboard's batch of 100 per-product counts under the 5,000-point request limit.
 */
export const ROWS_PER_POINT = 250;

/** What a `totalCount` answered by a counter costs: a few rows, like one object. */
export const COUNTER_COUNT_COST = 1;

/** What a `totalCount` counted up to the bound costs: {@link COUNT_BOUND} rows at {@link ROWS_PER_POINT}. */
export const BOUNDED_COUNT_COST = Math.ceil(COUNT_BOUND / ROWS_PER_POINT);

/**
 * Connection fields (`Type.field`) whose `totalCount` a counter may answer, and whether it does,
 * given the fields of the connection's `filter` that are set (to anything but null). The rule is
 * the one the service counts by, so the price is the work. Every other connection's count is bounded.
 */
export const COUNTED_CONNECTIONS: Readonly<Record<string, (filter: Readonly<Record<string, true>>) => boolean>> = Object.freeze({
  // Statuses and a product: order_counts and product_order_counts (order.query.ts listOrders).
  "Query.orders": countersCountOrders,
  // One product's whole queue: products.waiting_orders (backlog.query.ts listBacklog).
  "Query.backlog": countersCountBacklog,
  // A product's queue: products.waiting_orders (backlog.query.ts backlogPages).
  "Product.backlog": () => true,
});

/** What reading one supplier's history costs: {@link SUPPLIER_HISTORY} index entries at {@link ROWS_PER_POINT}, rounded up. */
export const SUPPLIER_HISTORY_WORK = Math.ceil(SUPPLIER_HISTORY / ROWS_PER_POINT);

/** The arguments of one field as the request gives them (literals or variables), by name. */
export type FieldArguments = (name: string) => unknown;

/**
 * Fields whose work goes beyond the objects they return (`Type.field`): the points each object
 * they may return adds, from its arguments: the admission prices every object the field may
 * return. The work returns no object, so the settlement adds it to the objects it finds, for each
 * priced field that answered, at its price for the arguments it ran with, or at what the field
 * reported it did (`reportWork`, object-meter.ts): unlike a count's price, it is not given back
 * (a simulation that returns three objects still did seconds of work), and a field that was
 * refused did none. A price is the time the work took on PostgreSQL here, at about 0.25 ms a
 * point ({@link ROWS_PER_POINT}).
 */
export const FIELD_WORK: Readonly<Record<string, (args: FieldArguments) => number>> = Object.freeze({
  // A product's free stock, its open restocks and the units deprioritized behind a new backorder,
  // in one statement for a whole page (quote.service.ts): 0.2-0.6 ms a quote on PostgreSQL here
  // with up to 100 open restocks. A product with thousands of open restocks costs more (20 quotes
  // over 1,000 restocks each: 130 ms); the statement timeout bounds that.
  "Product.quote": () => 3,
  // The window's order lines and lost demand, grouped per product (replenishment.query.ts). Measured
  // at about 1,600 orders a day on PostgreSQL here: every product over 28 days 255-300 ms, 100
  // named products 46-95 ms; the work grows with the window's days. The whole plan over a year
  // (0.7-1.4 s) is more than one request may cost.
  // The real restock's work in a transaction rolled back (restock-simulation.service.ts): with
  // receiveNow, a fill of the whole backlog (10,000 backorders about a second on PostgreSQL
  // here); scheduled only, a re-dating (10,000: 100-150 ms). The work follows the backlog's depth,
  // which the arguments cannot see; an input the estimate cannot read is priced as a receipt.
  "Query.simulateRestock": (args) => {
    const input = args("input");
    const receiveNow = input !== null && typeof input === "object" ? (input as { receiveNow?: unknown }).receiveNow : true;
    return receiveNow === false || receiveNow === undefined || receiveNow === null ? 500 : 2500;
  },
  // The window's orders, their lines and backorders, in a few statements (backlog-metrics.query.ts):
  // 818 ms for a window of 1,000,000 orders on PostgreSQL here, 116 ms for 100,000. Admitted at
  // what a busy shop's window may hold (60 points a day: 15,000 orders a day at ROWS_PER_POINT), at
  // most 4,000 points (the one-second bound for a million orders); the resolver reports the
  // orders it really read (backlogMetricsWork), and the settlement charges that.
  // Up to COUNT_BOUND + 1 pending refunds read from one range of refunds_pending_idx and summed
  // (refund.query.ts refundsDue): the work of a bounded count.
  "Query.refundsDue": () => BOUNDED_COUNT_COST,
  "Query.backlogMetrics": (args) => Math.min(4000, 60 * windowDays(args("from"), args("to"))),
  // A supplier's history: one range of restocks_supplier_received_idx of at most SUPPLIER_HISTORY
  // (100) entries, aggregated in the statement of its batch (supplier.query.ts supplierReliabilities),
  // read once per supplier a request reaches: at most 100 rows a point's worth (ROWS_PER_POINT)
  // each time one of these fields asks. Scalars: each adds its price, with no object of its own.
  "Supplier.onTimeRate": () => SUPPLIER_HISTORY_WORK,
  "Supplier.averageDelayDays": () => SUPPLIER_HISTORY_WORK,
  "Backorder.expectedAtLate": () => SUPPLIER_HISTORY_WORK,
  "Quote.expectedAtLate": () => SUPPLIER_HISTORY_WORK,
  // Per endpoint (at most 50), its newest HEALTH_WINDOW deliveries and two counts up to COUNT_BOUND
  // (webhook.query.ts webhookHealth). Admitted at the windows (50 × 1,000 rows at ROWS_PER_POINT):
  // counts are near zero while deliveries flow; the resolver reports the rows it really counted
  // (webhookHealthWork), and the settlement charges that.
  "Query.webhookHealth": () => webhookHealthWork(WEBHOOK_LIMITS.endpoints, 0),
  "Query.replenishmentPlan": (args) => {
    const days = clampInt(args("windowDays"), 1, 365, 28);
    const ids = args("productIds");
    return Array.isArray(ids) ? 20 + 2 * ids.length + 4 * days : 800 + 12 * days;
  },
});

/** The days of a metrics window from its arguments (ISO strings or Dates): the service's default without `from`, within its longest window. */
function windowDays(from: unknown, to: unknown): number {
  const at = (value: unknown) => (typeof value === "string" || value instanceof Date ? new Date(value).getTime() : Number.NaN);
  const end = Number.isFinite(at(to)) ? at(to) : Date.now();
  const days = Number.isFinite(at(from)) ? (end - at(from)) / 86_400_000 : BACKLOG_METRICS_LIMITS.defaultWindowDays;
  return Math.min(BACKLOG_METRICS_LIMITS.windowDays, Math.max(1, Math.ceil(days)));
}

/** What webhookHealth over `endpoints` endpoints whose counts found `counted` rows cost: their windows and counts at ROWS_PER_POINT. */
export function webhookHealthWork(endpoints: number, counted: number): number {
  return Math.ceil((endpoints * HEALTH_WINDOW + counted) / ROWS_PER_POINT);
}

/** What a metrics window that read `orders` orders cost: their rows at ROWS_PER_POINT, and a few statements. */
export function backlogMetricsWork(orders: number): number {
  return Math.ceil(orders / ROWS_PER_POINT) + 4;
}

/** An integer argument within min..max; `fallback` when it is not one (the default, or a bad value the resolver refuses before any work). */
function clampInt(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) return fallback;
  return value;
}

/** How lists are sized; the defaults are the API's. */
export interface CostRules {
  /** A connection's page when `first` is omitted. */
  defaultPageSize: number;
  /** The largest page a connection serves: a larger `first` is refused by the resolver. */
  maxPageSize: number;
  /** The most items of other lists, by `Type.field` or `*.field`. */
  listMaxima: Readonly<Record<string, number>>;
  /** Any other list. */
  unboundedListSize: number;
  /** A connection's count, when a counter answers it. */
  counterCountCost: number;
  /** A connection's count, when it counts rows up to the bound. */
  boundedCountCost: number;
  /** Which connections' counts a counter answers, by `Type.field`, from the set fields of their `filter`. */
  countedConnections: Readonly<Record<string, (filter: Readonly<Record<string, true>>) => boolean>>;
  /** Work beyond the returned objects, by `Type.field` ({@link FIELD_WORK}). */
  fieldWork: Readonly<Record<string, (args: FieldArguments) => number>>;
}

export const COST_RULES: Readonly<CostRules> = Object.freeze({
  defaultPageSize: DEFAULT_PAGE_SIZE,
  maxPageSize: MAX_PAGE_SIZE,
  listMaxima: LIST_MAXIMA,
  unboundedListSize: UNBOUNDED_LIST_SIZE,
  counterCountCost: COUNTER_COUNT_COST,
  boundedCountCost: BOUNDED_COUNT_COST,
  countedConnections: COUNTED_CONNECTIONS,
  fieldWork: FIELD_WORK,
});

export interface OperationCost {
  /** Levels of nested fields. */
  depth: number;
  /** Points, as the module comment counts them. */
  cost: number;
  /** The part of `cost` spent on `__schema` and `__type` (answered from memory, no database). */
  introspectionCost: number;
  /** Response keys of the root fields `__schema` and `__type` (their aliases when aliased). */
  introspectionKeys: string[];
  /**
   * The part of `cost` spent on connections' counts: priced for admission, given back at settlement
   * with what was not returned (docs/ARCHITECTURE.md, "Counting").
   */
  countCost: number;
  /**
   * The part of `cost` spent on work beyond the objects returned ({@link FIELD_WORK}). The
   * settlement charges the work the fields that answered did (object-meter.ts `ObjectTally.work`),
   * not this bound.
   */
  workCost: number;
}

interface Measure {
  depth: number;
  cost: number;
  /** The part of `cost` spent on counts. */
  counting: number;
  /** The part of `cost` spent on work beyond the objects ({@link FIELD_WORK}). */
  working: number;
}

const NOTHING: Measure = { depth: 0, cost: 0, counting: 0, working: 0 };
/** Fields whose selection is a list page of the enclosing connection. */
const PAGE_FIELDS = new Set(["edges", "nodes"]);
/** Fields of a connection answered by its count. */
const COUNT_FIELDS = new Set(["totalCount", "totalCountPrecision"]);

/**
 * Depth and cost of `operation` (one operation of `document`, which must have passed validation)
 * against `schema`, with `variables` as the request sent them. Never throws for a valid document.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> = {},
  rules: CostRules = COST_RULES,
): OperationCost {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const variableDefaults = new Map<string, ValueNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) variableDefaults.set(definition.variable.name.value, definition.defaultValue);
  }

  /** A literal or a variable's value; undefined when the request gives none. */
  const valueOf = (node: ValueNode): unknown => {
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (Object.hasOwn(variables, name) && variables[name] !== undefined) return variables[name];
      const fallback = variableDefaults.get(name);
      return fallback ? valueOf(fallback) : undefined;
    }
    if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
    if (node.kind === Kind.BOOLEAN) return node.value;
    if (node.kind === Kind.NULL) return null;
    if (node.kind === Kind.STRING || node.kind === Kind.ENUM) return node.value;
    // Input objects and lists, for the prices that read inside them (FIELD_WORK); fields left out stay out.
    if (node.kind === Kind.LIST) return node.values.map(valueOf);
    if (node.kind === Kind.OBJECT) return Object.fromEntries(node.fields.map((field) => [field.name.value, valueOf(field.value)]));
    return undefined;
  };

  const argument = (field: FieldNode, name: string): unknown => {
    const node = field.arguments?.find((arg) => arg.name.value === name);
    return node ? valueOf(node.value) : undefined;
  };

  /**
   * The fields of a field's `filter` argument that are set to anything but null, from a literal
   * object (its fields may be variables) or a variable.
   */
  const filterFields = (field: FieldNode): Record<string, true> => {
    const set: Record<string, true> = {};
    let node = field.arguments?.find((arg) => arg.name.value === "filter")?.value;
    if (node?.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (Object.hasOwn(variables, name) && variables[name] !== undefined) {
        const value = variables[name];
        if (value !== null && typeof value === "object") {
          for (const [key, entry] of Object.entries(value)) if (entry !== null && entry !== undefined) set[key] = true;
        }
        return set;
      }
      node = variableDefaults.get(name);
    }
    if (node?.kind !== Kind.OBJECT) return set;
    for (const entry of node.fields) {
      const value = entry.value.kind === Kind.VARIABLE ? valueOf(entry.value) : entry.value.kind === Kind.NULL ? null : true;
      if (value !== null && value !== undefined) set[entry.name.value] = true;
    }
    return set;
  };

  /** Whether a selection on a connection asks for its count, through fragments, as the directives leave it. */
  const selectsCount = (selectionSet: SelectionSetNode, seen = new Set<string>()): boolean =>
    selectionSet.selections.some((selection) => {
      if (!included(selection)) return false;
      if (selection.kind === Kind.FIELD) return COUNT_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return selectsCount(selection.selectionSet, seen);
      if (seen.has(selection.name.value)) return false;
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      return fragment !== undefined && selectsCount(fragment.selectionSet, seen);
    });

  /** What counting a connection field costs, when its selection asks for the count. */
  const countCost = (field: FieldNode, parent: GraphQLObjectType): number => {
    if (!field.selectionSet || !selectsCount(field.selectionSet)) return 0;
    const counted = rules.countedConnections[`${parent.name}.${field.name.value}`];
    return counted && counted(filterFields(field)) ? rules.counterCountCost : rules.boundedCountCost;
  };

  /** False when `@skip(if: true)` or `@include(if: false)` leaves the selection out. */
  const included = (selection: SelectionNode): boolean => {
    for (const directive of selection.directives ?? []) {
      const condition = directive.arguments?.find((arg) => arg.name.value === "if");
      if (!condition) continue;
      const value = valueOf(condition.value);
      if (directive.name.value === "skip" && value === true) return false;
      if (directive.name.value === "include" && value === false) return false;
    }
    return true;
  };

  /** The page a connection field serves: its `first`, the default when omitted, within 0..max. */
  const pageOf = (field: FieldNode, definition: GraphQLField<unknown, unknown>): number => {
    let first = argument(field, "first");
    if (first === undefined || first === null) first = definition.args.find((arg) => arg.name === "first")?.defaultValue;
    if (typeof first !== "number" || !Number.isFinite(first)) return rules.defaultPageSize;
    return Math.min(Math.max(Math.trunc(first), 0), rules.maxPageSize);
  };

  const fieldDefinition = (parent: GraphQLObjectType, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
    if (parent === schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    return parent.getFields()[name];
  };

  /** Whether a fragment on `condition` applies to objects of type `object`. */
  const applies = (condition: string | undefined, object: GraphQLObjectType): boolean => {
    if (condition === undefined || condition === object.name) return true;
    const type = schema.getType(condition);
    return type !== undefined && isAbstractType(type) && schema.isSubType(type, object);
  };

  const fragmentMeasures = new Map<string, Measure>();

  /** `selectionSet` on objects of `parent`; `page` is set when `parent` is a connection. */
  const measureOn = (selectionSet: SelectionSetNode, parent: GraphQLObjectType, page: number | undefined): Measure => {
    let depth = 0;
    let cost = 0;
    let counting = 0;
    let working = 0;
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      let part: Measure;
      if (selection.kind === Kind.FIELD) {
        part = measureField(selection, parent, page);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        part = applies(selection.typeCondition?.name.value, parent) ? measureOn(selection.selectionSet, parent, page) : NOTHING;
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || !applies(fragment.typeCondition.name.value, parent)) continue;
        const key = `${fragment.name.value}\u0000${parent.name}\u0000${page ?? ""}`;
        let known = fragmentMeasures.get(key);
        if (!known) {
          // A cycle cannot pass validation; this entry only keeps a broken document from recursing forever.
          fragmentMeasures.set(key, NOTHING);
          known = measureOn(fragment.selectionSet, parent, page);
          fragmentMeasures.set(key, known);
        }
        part = known;
      }
      depth = Math.max(depth, part.depth);
      cost += part.cost;
      counting += part.counting;
      working += part.working;
    }
    return { depth, cost, counting, working };
  };

  /** A selection on a field's type: the most expensive possible type of an interface or union. */
  const measureSelection = (selectionSet: SelectionSetNode, type: GraphQLCompositeType, page: number | undefined): Measure => {
    if (!isAbstractType(type)) return measureOn(selectionSet, type, page);
    let depth = 0;
    let cost = 0;
    let counting = 0;
    let working = 0;
    for (const possible of schema.getPossibleTypes(type)) {
      const part = measureOn(selectionSet, possible, page);
      depth = Math.max(depth, part.depth);
      if (part.cost > cost) ({ cost, counting, working } = part);
    }
    return { depth, cost, counting, working };
  };

  const measureField = (field: FieldNode, parent: GraphQLObjectType, page: number | undefined): Measure => {
    const definition = fieldDefinition(parent, field.name.value);
    // Unknown fields cannot pass validation.
    if (!definition) return { ...NOTHING, depth: 1 };
    const named = getNamedType(definition.type);
    if (!isCompositeType(named) || !field.selectionSet) {
      // A scalar returns no object; one priced in FIELD_WORK (a supplier's figures) adds its work.
      const pricedScalar = rules.fieldWork[`${parent.name}.${field.name.value}`];
      const scalarWork = pricedScalar ? Math.max(0, Math.ceil(pricedScalar((name) => argument(field, name)))) : 0;
      return { ...NOTHING, depth: 1, cost: scalarWork, working: scalarWork };
    }
    if (parent.name === "__Type" && field.name.value === "ofType") return measureSelection(field.selectionSet, named, undefined);
    const introspective = named.name.startsWith("__");
    const connectionPage = definition.args.some((arg) => arg.name === "first") ? pageOf(field, definition) : undefined;
    const listSize =
      page !== undefined && PAGE_FIELDS.has(field.name.value)
        ? page
        : (rules.listMaxima[`${parent.name}.${field.name.value}`] ?? rules.listMaxima[`*.${field.name.value}`] ?? rules.unboundedListSize);
    const count = introspective ? 1 : objectsReturned(definition.type, listSize);
    const below = measureSelection(field.selectionSet, named, connectionPage);
    const priced = rules.fieldWork[`${parent.name}.${field.name.value}`];
    const work = priced ? Math.max(0, Math.ceil(priced((name) => argument(field, name)))) : 0;
    const counting = connectionPage === undefined ? 0 : countCost(field, parent);
    return {
      depth: below.depth + 1,
      cost: count * (1 + below.cost + counting + work),
      counting: count * (below.counting + counting),
      working: count * (below.working + work),
    };
  };

  const root = rootType(schema, operation);
  if (!root) return { depth: 0, cost: 0, introspectionCost: 0, introspectionKeys: [], countCost: 0, workCost: 0 };
  const total = measureOn(operation.selectionSet, root, undefined);

  // The root fields `__schema` and `__type`, through any fragments spread at the root.
  let introspectionCost = 0;
  const introspectionKeys: string[] = [];
  const seen = new Set<string>();
  const collectRoot = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name !== SchemaMetaFieldDef.name && name !== TypeMetaFieldDef.name) continue;
        introspectionCost += measureField(selection, root, undefined).cost;
        introspectionKeys.push(selection.alias?.value ?? name);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collectRoot(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collectRoot(fragment.selectionSet);
      }
    }
  };
  collectRoot(operation.selectionSet);

  return { depth: total.depth, cost: total.cost, introspectionCost, introspectionKeys, countCost: total.counting, workCost: total.working };
}

/** How many objects a field of `type` may return: 1, or `listSize` per list level. */
function objectsReturned(type: GraphQLOutputType, listSize: number): number {
  let count = 1;
  let current: GraphQLOutputType = type;
  for (;;) {
    if (isNonNullType(current)) current = current.ofType;
    else if (isListType(current)) {
      count *= listSize;
      current = current.ofType;
    } else return count;
  }
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode): GraphQLObjectType | undefined {
  if (operation.operation === "query") return schema.getQueryType() ?? undefined;
  if (operation.operation === "mutation") return schema.getMutationType() ?? undefined;
  return schema.getSubscriptionType() ?? undefined;
}

/**
 * What an operation cost once it ran: the objects it returned (the meter's count, or the response's
 * when that is more: an execution without a meter counts none), the introspection as priced, and
 * the work its priced fields did (`ObjectTally.work`, object-meter.ts). Both transports settle by it.
 */
export function actualCost(
  measured: Pick<OperationCost, "introspectionCost" | "introspectionKeys">,
  data: unknown,
  tally?: { objects: number; work: number; complete?: boolean },
): number {
  // A replayed count (the read cache's) already holds the response's objects: not walked again.
  const objects = tally?.complete ? tally.objects : Math.max(tally?.objects ?? 0, countReturnedObjects(data, measured.introspectionKeys));
  return objects + measured.introspectionCost + (tally?.work ?? 0);
}

/**
 * The actual cost of a response: one point per object in `data` (the root excluded), the way the
 * requested cost counts objects but with the lists as long as they came back. The subtrees under
 * `skipKeys` at the root (introspection) are left out; the caller adds their requested cost.
 * Iterative: a response may nest deeper than the stack allows recursion.
 */
export function countReturnedObjects(data: unknown, skipKeys: readonly string[] = []): number {
  if (data === null || typeof data !== "object") return 0;
  const skip = new Set(skipKeys);
  const pending: unknown[] = [];
  for (const [key, value] of Object.entries(data)) if (!skip.has(key)) pending.push(value);
  let count = 0;
  while (pending.length > 0) {
    const value = pending.pop();
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
      continue;
    }
    count += 1;
    for (const item of Object.values(value)) pending.push(item);
  }
  return count;
}

/**
 * The query limits of docs/ARCHITECTURE.md, "Access and limits", per role, in one object: how deep and how costly one
 * operation may be (server/graphql/limits/query-cost.ts counts both), and each caller's budget of cost per
 * second (server/graphql/limits/cost-budget.ts), the hard cap on objects per response (object-meter.ts) and the
 * WebSocket caps. Used over HTTP (server/graphql/limits/query-limits.plugin.ts) and over WebSocket
 * (server/http/websocket.ts, through `prepareOperation`, the same pipeline).
 */
import {
  type DocumentNode,
  getOperationAST,
  GraphQLError,
  type GraphQLSchema,
  parse,
  type ParseOptions,
  specifiedRules,
  validate,
  type ValidationRule,
} from "graphql";
import type { BucketSize, CostBudget } from "./cost-budget.js";
import { measureOperation, type OperationCost } from "./query-cost.js";
import { documentBoundsError, REQUEST_LIMITS, type RequestLimits, variablesError } from "./request-guards.js";
import { API_KEY_ROLES, type ApiKeyRole } from "../../services/types.js";

/** A key's role, or ANONYMOUS for a caller without one (known by its address). */
export type LimitedRole = ApiKeyRole | "ANONYMOUS";

export const LIMITED_ROLES: readonly LimitedRole[] = [...API_KEY_ROLES, "ANONYMOUS"];

export interface RoleLimits extends BucketSize {
  /** Levels of nested fields one operation may have. */
  maxDepth: number;
  /** Points one operation may cost (and never more than `capacity`). */
  maxCost: number;
  /** Points every request costs at least, refused, failed and invalid ones too. */
  minimumCost: number;
  /** Objects one response (or one subscription event) may hold: past it, RESPONSE_TOO_LARGE. */
  maxObjects: number;
  /** Operations one WebSocket connection may run at once (subscriptions, and queries in flight). */
  maxSubscriptionsPerConnection: number;
  /** WebSocket connections one key may hold open on an instance. */
  maxConnectionsPerKey: number;
}

export type QueryLimits = Readonly<Record<LimitedRole, Readonly<RoleLimits>>>;

/** Any part of the limits: what is not given keeps its default. */
export type QueryLimitsOverride = Partial<Record<LimitedRole, Partial<RoleLimits>>>;

/** What every role shares by default. */
const COMMON_LIMITS = { maxDepth: 12, minimumCost: 1, maxObjects: 50_000, maxSubscriptionsPerConnection: 100 } as const;

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  ADMIN: Object.freeze({ ...COMMON_LIMITS, maxCost: 5_000, capacity: 20_000, refillPerSecond: 2_000, maxConnectionsPerKey: 50 }),
  OPERATOR: Object.freeze({ ...COMMON_LIMITS, maxCost: 5_000, capacity: 20_000, refillPerSecond: 2_000, maxConnectionsPerKey: 50 }),
  STOREFRONT: Object.freeze({ ...COMMON_LIMITS, maxCost: 5_000, capacity: 10_000, refillPerSecond: 1_000, maxConnectionsPerKey: 20 }),
  READER: Object.freeze({ ...COMMON_LIMITS, maxCost: 5_000, capacity: 5_000, refillPerSecond: 250, maxConnectionsPerKey: 10 }),
  // A supplier's shipping system polls its own orders (a page of 100 costs about 100 points) and
  // acts on a few: a READER's bucket refilled slower, few sockets, one kind of subscription (supplierOrderChanged).
  // maxCost as every role's, so an operation is refused for its role (FORBIDDEN) before its price.
  SUPPLIER: Object.freeze({
    ...COMMON_LIMITS,
    maxCost: 5_000,
    capacity: 5_000,
    refillPerSecond: 100,
    maxConnectionsPerKey: 2,
    maxSubscriptionsPerConnection: 10,
  }),
  ANONYMOUS: Object.freeze({ ...COMMON_LIMITS, maxCost: 1_000, capacity: 2_000, refillPerSecond: 100, maxConnectionsPerKey: 1 }),
});

const LIMIT_NAMES: readonly (keyof RoleLimits)[] = [
  "maxDepth",
  "maxCost",
  "capacity",
  "refillPerSecond",
  "minimumCost",
  "maxObjects",
  "maxSubscriptionsPerConnection",
  "maxConnectionsPerKey",
];

/** `base` with `override` applied. Throws on an unknown role or limit, or a value that is not a positive number. */
export function resolveQueryLimits(override: QueryLimitsOverride = {}, base: QueryLimits = DEFAULT_QUERY_LIMITS): QueryLimits {
  const resolved = {} as Record<LimitedRole, RoleLimits>;
  for (const role of Object.keys(override)) {
    if (!LIMITED_ROLES.includes(role as LimitedRole)) throw new Error(`query limits: unknown role "${role}" (one of ${LIMITED_ROLES.join(", ")})`);
  }
  for (const role of LIMITED_ROLES) {
    const given = override[role] ?? {};
    for (const [name, value] of Object.entries(given)) {
      if (!LIMIT_NAMES.includes(name as keyof RoleLimits))
        throw new Error(`query limits: unknown limit "${name}" for ${role} (one of ${LIMIT_NAMES.join(", ")})`);
      if (typeof value !== "number" || !(value > 0))
        throw new Error(`query limits: ${role}.${name} must be a positive number, got ${JSON.stringify(value)}`);
    }
    resolved[role] = Object.freeze({ ...base[role], ...given });
  }
  return Object.freeze(resolved);
}

/**
 * The `QUERY_LIMITS` environment variable: JSON in the shape of {@link QueryLimitsOverride},
 * e.g. `{"READER":{"capacity":10000,"refillPerSecond":500}}`. Unset or empty: the defaults.
 * Throws with a message naming the variable when it is malformed.
 */
export function parseQueryLimits(text: string | undefined): QueryLimits {
  if (text === undefined || text.trim() === "") return DEFAULT_QUERY_LIMITS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`QUERY_LIMITS must be JSON, e.g. {"READER":{"capacity":10000}}, got "${text}"`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("QUERY_LIMITS must be a JSON object of roles");
  for (const value of Object.values(parsed)) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("QUERY_LIMITS: each role must map to an object of limits");
  }
  try {
    return resolveQueryLimits(parsed as QueryLimitsOverride);
  } catch (error) {
    throw new Error(`QUERY_LIMITS: ${(error as Error).message.replace(/^query limits: /, "")}`, { cause: error });
  }
}

/** Who pays for an operation: the bucket's key and the role whose limits apply. */
export interface Caller {
  /** `key:<id>` for an API key, `ip:<address>` without one. */
  bucket: string;
  role: LimitedRole;
}

/** The caller of a request with `apiKey` (or, without one, from `address`). */
export function callerOf(apiKey: { id: number | string; role: ApiKeyRole } | undefined, address: string | undefined): Caller {
  return apiKey ? { bucket: `key:${apiKey.id}`, role: apiKey.role } : { bucket: `ip:${address ?? "unknown"}`, role: "ANONYMOUS" };
}

/** The most one operation of `limits` may cost: `maxCost`, and never more than the bucket holds. */
export function maxCostOf(limits: RoleLimits): number {
  return Math.min(limits.maxCost, limits.capacity);
}

function who(role: LimitedRole): string {
  return role === "ANONYMOUS" ? "a caller without a key" : `${role} keys`;
}

/**
 * QUERY_TOO_DEEP or QUERY_TOO_COSTLY when `measured` is over `role`'s limits, else undefined.
 * The error carries the limit and the computed value; `http` is what Apollo answers with.
 */
export function limitError(measured: OperationCost, role: LimitedRole, limits: RoleLimits, http?: { status: number }): GraphQLError | undefined {
  if (measured.depth > limits.maxDepth) {
    return new GraphQLError(`The operation nests fields ${measured.depth} levels deep; the limit for ${who(role)} is ${limits.maxDepth}.`, {
      extensions: { code: "QUERY_TOO_DEEP", depth: measured.depth, maxDepth: limits.maxDepth, ...(http ? { http } : {}) },
    });
  }
  const maxCost = maxCostOf(limits);
  if (measured.cost > maxCost) {
    return new GraphQLError(
      `The operation may cost ${measured.cost} points; the limit for ${who(role)} is ${maxCost} a request. ` +
        "Ask for smaller pages (first) or fewer nested lists.",
      { extensions: { code: "QUERY_TOO_COSTLY", cost: measured.cost, maxCost, ...(http ? { http } : {}) } },
    );
  }
  return undefined;
}

/** What graphql-ws sends to start an operation. */
export interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

export interface PreparedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string;
  variableValues?: Record<string, unknown>;
}

/** What an admitted operation paid, to settle once it ran (`settleCost`). */
export interface Admission {
  caller: Caller;
  limits: RoleLimits;
  kind: "query" | "mutation" | "subscription";
  measured: OperationCost;
  /** Points taken from the bucket so far: the minimum, and for a query or mutation its estimate. */
  withdrawn: number;
}

export interface PrepareOptions {
  /** The buckets to charge; without them nothing is charged (depth and cost limits still apply). */
  budget?: CostBudget;
  parseOptions?: ParseOptions;
  validationRules?: readonly ValidationRule[];
  requestLimits?: RequestLimits;
  /** The caller paid the minimum cost already (the WebSocket server charges it before anything waits). */
  minimumPaid?: boolean;
}

/** THROTTLED: `requested` points do not fit in the caller's bucket. */
export function throttledError(requested: number, remaining: number, limits: RoleLimits, waitSeconds: number): GraphQLError {
  const retryAfterSeconds = Math.ceil(waitSeconds * 1000) / 1000;
  return new GraphQLError(
    `Over the cost budget: this operation costs ${requested} points and ${Math.max(0, Math.floor(remaining))} are left, ` +
      `refilling at ${limits.refillPerSecond} a second. Retry in ${retryAfterSeconds} s.`,
    { extensions: { code: "THROTTLED", retryAfterSeconds } },
  );
}

/**
 * The pipeline every operation that does not come over HTTP passes (graphql-ws `onSubscribe`), in
 * the order the HTTP plugins apply it: the caller pays the minimum (THROTTLED when its bucket cannot),
 * the document is parsed (token limit) and bounded in bytes, fields and aliases BEFORE it is
 * validated, the variables are bounded and checked for unstorable text (BAD_USER_INPUT), the
 * operation is measured against the role's depth and cost limits, and a query or mutation then
 * pays its estimate (THROTTLED when it does not fit). A subscription's events are charged as they
 * are delivered. Returns the arguments to execute with and what was paid, or the errors to send on
 * that operation alone (what was paid stays paid).
 */
export function prepareOperation(
  schema: GraphQLSchema,
  payload: SubscribePayload,
  caller: Caller,
  limits: QueryLimits,
  options: PrepareOptions = {},
): { prepared: PreparedOperation; admission: Admission } | GraphQLError[] {
  const roleLimits = limits[caller.role];
  const budget = options.budget;
  const requestLimits = options.requestLimits ?? REQUEST_LIMITS;
  let withdrawn = 0;
  if (budget && options.minimumPaid) withdrawn = roleLimits.minimumCost;
  else if (budget) {
    const minimum = budget.withdraw(caller.bucket, roleLimits.minimumCost, roleLimits);
    if (!minimum.ok) return [throttledError(roleLimits.minimumCost, minimum.remaining, roleLimits, minimum.retryAfterSeconds)];
    withdrawn = roleLimits.minimumCost;
  }
  if (typeof payload.query !== "string") return [new GraphQLError("The operation has no query text.", { extensions: { code: "BAD_REQUEST" } })];
  let document: DocumentNode;
  try {
    document = parse(payload.query, options.parseOptions);
  } catch (error) {
    const syntax = error instanceof GraphQLError ? error : new GraphQLError(String(error));
    return [
      new GraphQLError(syntax.message, {
        nodes: syntax.nodes,
        source: syntax.source,
        positions: syntax.positions,
        extensions: { code: "GRAPHQL_PARSE_FAILED" },
      }),
    ];
  }
  const tooLarge = documentBoundsError(payload.query, document, requestLimits);
  if (tooLarge) return [new GraphQLError(tooLarge.message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })];
  const invalid = validate(schema, document, [...specifiedRules, ...(options.validationRules ?? [])]);
  if (invalid.length > 0) return [...invalid];
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) {
    return [new GraphQLError("Unable to identify the operation: name it with operationName.", { extensions: { code: "OPERATION_RESOLUTION_FAILURE" } })];
  }
  const badVariables = variablesError(payload.variables, requestLimits);
  if (badVariables) return [new GraphQLError(badVariables.message, { extensions: { code: badVariables.extensions.code } })];
  const measured = measureOperation(schema, document, operation, payload.variables ?? {});
  const refusal = limitError(measured, caller.role, roleLimits);
  if (refusal) return [refusal];
  if (budget && operation.operation !== "subscription") {
    const rest = Math.max(0, measured.cost - withdrawn);
    const withdrawal = budget.withdraw(caller.bucket, rest, roleLimits);
    if (!withdrawal.ok) return [throttledError(measured.cost, withdrawal.remaining + withdrawn, roleLimits, withdrawal.retryAfterSeconds)];
    withdrawn += rest;
  }
  return {
    prepared: { schema, document, operationName: payload.operationName ?? undefined, variableValues: payload.variables ?? undefined },
    admission: { caller, limits: roleLimits, kind: operation.operation, measured, withdrawn },
  };
}

/**
 * What an operation owes once it ran with `actual` objects: at least the minimum, and what it
 * returned, even beyond its estimate. Settles the bucket (gives back or charges the difference to
 * what was withdrawn) and returns the points charged in all.
 */
export function settleCost(budget: CostBudget, admission: Pick<Admission, "caller" | "limits" | "withdrawn">, actual: number): number {
  const owed = Math.max(actual, admission.limits.minimumCost);
  budget.settle(admission.caller.bucket, admission.withdrawn, owed, admission.limits);
  return owed;
}

/**
 * {@link prepareOperation} without a budget, answering with the execution arguments alone: the
 * depth, cost and size checks of one operation (the unit tests' view of the pipeline).
 */
export function prepareSubscription(
  schema: GraphQLSchema,
  payload: SubscribePayload,
  caller: Caller,
  limits: QueryLimits,
  options: Omit<PrepareOptions, "budget"> = {},
): PreparedOperation | GraphQLError[] {
  const result = prepareOperation(schema, payload, caller, limits, options);
  return Array.isArray(result) ? result : result.prepared;
}

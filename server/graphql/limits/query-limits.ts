/**
 * The query limits of docs/ARCHITECTURE.md, "Access and limits", per role, in one object: how deep and how costly one
 * operation may be (server/query-cost.ts counts both), and each caller's budget of cost per
 * second (server/cost-budget.ts). Used over HTTP (server/query-limits.plugin.ts) and for
 * subscriptions over WebSocket (server/websocket.ts).
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
import type { BucketSize } from "./cost-budget.js";
import { measureOperation, type OperationCost } from "./query-cost.js";
import { API_KEY_ROLES, type ApiKeyRole } from "../../services/types.js";

/** A key's role, or ANONYMOUS for a caller without one (known by its address). */
export type LimitedRole = ApiKeyRole | "ANONYMOUS";

export const LIMITED_ROLES: readonly LimitedRole[] = [...API_KEY_ROLES, "ANONYMOUS"];

export interface RoleLimits extends BucketSize {
  /** Levels of nested fields one operation may have. */
  maxDepth: number;
  /** Points one operation may cost (and never more than `capacity`). */
  maxCost: number;
}

export type QueryLimits = Readonly<Record<LimitedRole, Readonly<RoleLimits>>>;

/** Any part of the limits: what is not given keeps its default. */
export type QueryLimitsOverride = Partial<Record<LimitedRole, Partial<RoleLimits>>>;

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  ADMIN: Object.freeze({ maxDepth: 12, maxCost: 5_000, capacity: 20_000, refillPerSecond: 2_000 }),
  OPERATOR: Object.freeze({ maxDepth: 12, maxCost: 5_000, capacity: 20_000, refillPerSecond: 2_000 }),
  STOREFRONT: Object.freeze({ maxDepth: 12, maxCost: 5_000, capacity: 10_000, refillPerSecond: 1_000 }),
  READER: Object.freeze({ maxDepth: 12, maxCost: 5_000, capacity: 5_000, refillPerSecond: 250 }),
  ANONYMOUS: Object.freeze({ maxDepth: 12, maxCost: 1_000, capacity: 2_000, refillPerSecond: 100 }),
});

const LIMIT_NAMES: readonly (keyof RoleLimits)[] = ["maxDepth", "maxCost", "capacity", "refillPerSecond"];

/** `base` with `override` applied. Throws on an unknown role or limit, or a value that is not a positive number. */
export function resolveQueryLimits(override: QueryLimitsOverride = {}, base: QueryLimits = DEFAULT_QUERY_LIMITS): QueryLimits {
  const resolved = {} as Record<LimitedRole, RoleLimits>;
  for (const role of Object.keys(override)) {
    if (!LIMITED_ROLES.includes(role as LimitedRole)) throw new Error(`query limits: unknown role "${role}" (one of ${LIMITED_ROLES.join(", ")})`);
  }
  for (const role of LIMITED_ROLES) {
    const given = override[role] ?? {};
    for (const [name, value] of Object.entries(given)) {
      if (!LIMIT_NAMES.includes(name as keyof RoleLimits)) throw new Error(`query limits: unknown limit "${name}" for ${role} (one of ${LIMIT_NAMES.join(", ")})`);
      if (typeof value !== "number" || !(value > 0)) throw new Error(`query limits: ${role}.${name} must be a positive number, got ${JSON.stringify(value)}`);
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
    throw new Error(`QUERY_LIMITS: ${(error as Error).message.replace(/^query limits: /, "")}`);
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

/** What graphql-ws sends to start a subscription. */
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

/**
 * For graphql-ws `onSubscribe`: parses and validates `payload` as graphql-ws would (with
 * `parseOptions` and the extra `validationRules`), then measures its operation against `role`'s
 * depth and cost limits. Returns the arguments to execute it with, or the errors to send on that
 * subscription alone: the connection stays open. A subscription is measured once, when it starts
 * (the cost of one event); its events are not charged to the cost budget.
 */
export function prepareSubscription(
  schema: GraphQLSchema,
  payload: SubscribePayload,
  caller: Caller,
  limits: QueryLimits,
  options: { parseOptions?: ParseOptions; validationRules?: readonly ValidationRule[] } = {},
): PreparedOperation | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query, options.parseOptions);
  } catch (error) {
    const syntax = error instanceof GraphQLError ? error : new GraphQLError(String(error));
    return [new GraphQLError(syntax.message, { nodes: syntax.nodes, source: syntax.source, positions: syntax.positions, extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
  }
  const invalid = validate(schema, document, [...specifiedRules, ...(options.validationRules ?? [])]);
  if (invalid.length > 0) return [...invalid];
  const prepared: PreparedOperation = {
    schema,
    document,
    operationName: payload.operationName ?? undefined,
    variableValues: payload.variables ?? undefined,
  };
  const operation = getOperationAST(document, payload.operationName);
  // graphql-ws answers "Unable to identify operation" itself.
  if (!operation) return prepared;
  const refusal = limitError(measureOperation(schema, document, operation, payload.variables ?? {}), caller.role, limits[caller.role]);
  return refusal ? [refusal] : prepared;
}

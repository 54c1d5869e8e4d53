/**
 * An Apollo plugin enforcing the query limits (server/graphql/limits/query-limits.ts) on every HTTP request:
 *
 *  - when the request starts, before its document is parsed, the caller pays the role's
 *    `minimumCost`: every request costs something, invalid and refused ones too. A caller whose
 *    bucket cannot pay it gets THROTTLED whatever its request was, and its document is not
 *    validated (it is swapped for a stand-in, as request-guards.ts explains) nor run;
 *  - after validation, over the role's depth or cost limit: QUERY_TOO_DEEP / QUERY_TOO_COSTLY, HTTP 400;
 *  - more than the caller's bucket holds: THROTTLED, HTTP 429, `extensions.retryAfterSeconds`
 *    and a `Retry-After` header (whole seconds, rounded up);
 *  - otherwise the requested cost is withdrawn, the execution is metered (object-meter.ts: past
 *    the role's `maxObjects` it stops and the answer is RESPONSE_TOO_LARGE, `data: null`), and
 *    after execution the bucket is settled to the actual cost: the difference is given back, or,
 *    when more objects were resolved than estimated, charged.
 *
 * Every response that passes through Apollo's pipeline carries `extensions.cost`:
 * `{ requested, actual?, charged, budget: { remaining, capacity, refillPerSecond } }`. `requested`
 * is 0 when the operation was not measured (it did not parse or validate); `actual` is there when
 * the operation ran; `charged` is what the request cost in the end (at least the minimum).
 */
import { type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener, HeaderMap } from "@apollo/server";
import type { DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode } from "graphql";
import { CostBudget } from "./cost-budget.js";
import { meterObjects, meterOf, type ObjectMeter, responseTooLarge } from "./object-meter.js";
import { actualCost, measureOperation, type OperationCost } from "./query-cost.js";

/** An operation that never got measured (refused before, or no operation): nothing unseen to charge. */
const NOT_MEASURED = { introspectionCost: 0, introspectionKeys: [] };
import { type Caller, limitError, type QueryLimits, type RoleLimits, settleCost, throttledError } from "./query-limits.js";
import { refusedDocument } from "./request-guards.js";

/** What every response carries as `extensions.cost`. */
export interface CostExtension {
  requested: number;
  /** Objects returned (introspection at its requested cost); absent when the operation did not run. */
  actual?: number;
  /** Points this request cost in the end: at least the minimum, at least `actual`. */
  charged: number;
  budget: { remaining: number; capacity: number; refillPerSecond: number };
}

export interface QueryLimitsPluginOptions<TContext> {
  limits: QueryLimits;
  /** Who pays for a request. */
  caller: (context: TContext) => Caller;
  /** The buckets; default: new ones for this server. Share them with the WebSocket server. */
  budget?: CostBudget;
  /** Hears every refusal of this plugin, by code (the HTTP layer counts them for /metrics). Must not throw. */
  onRefusal?: (reason: LimitRefusal) => void;
}

/** The codes this plugin refuses a request with. */
export type LimitRefusal = "THROTTLED" | "QUERY_TOO_DEEP" | "QUERY_TOO_COSTLY" | "RESPONSE_TOO_LARGE";

/** THROTTLED with the HTTP answer Apollo gives it: 429 and Retry-After. */
function throttled(requested: number, remaining: number, limits: RoleLimits, waitSeconds: number): GraphQLError {
  const error = throttledError(requested, remaining, limits, waitSeconds);
  error.extensions.http = { status: 429, headers: new HeaderMap([["retry-after", String(retryAfterHeader(waitSeconds))]]) };
  return error;
}

function retryAfterHeader(waitSeconds: number): number {
  return Math.max(1, Math.ceil(Math.min(waitSeconds, 86_400)));
}

/**
 * What an operation without variables costs depends on its document alone, and Apollo hands every
 * request of the same text the same parsed document: measured once per operation node.
 */
const measuredWithoutVariables = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, OperationCost>>();

function measuredOnce(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
): OperationCost {
  if (operation.variableDefinitions?.length) return measureOperation(schema, document, operation, variables ?? {});
  let ofSchema = measuredWithoutVariables.get(schema);
  if (!ofSchema) measuredWithoutVariables.set(schema, (ofSchema = new WeakMap()));
  let measured = ofSchema.get(operation);
  if (!measured) ofSchema.set(operation, (measured = measureOperation(schema, document, operation)));
  return measured;
}

/** The plugin; one per server, holding the buckets of its callers. */
export function queryLimitsPlugin<TContext extends BaseContext>(options: QueryLimitsPluginOptions<TContext>): ApolloServerPlugin<TContext> {
  const budget = options.budget ?? new CostBudget();
  const refused = options.onRefusal ?? (() => {});
  return {
    async requestDidStart({ contextValue }): Promise<GraphQLRequestListener<TContext>> {
      const caller = options.caller(contextValue);
      const limits = options.limits[caller.role];
      // Paid before anything else is done for the request; refused ones keep it.
      const minimum = budget.withdraw(caller.bucket, limits.minimumCost, limits);
      const unpaid = minimum.ok ? undefined : throttled(limits.minimumCost, minimum.remaining, limits, minimum.retryAfterSeconds);
      if (unpaid) refused("THROTTLED");
      let requested = 0;
      let withdrawn = minimum.ok ? limits.minimumCost : 0;
      // What the operation was measured to cost before it ran (introspection, its keys).
      let measured: OperationCost | undefined;
      let meter: ObjectMeter | undefined;
      return {
        async validationDidStart(requestContext) {
          // A caller that cannot pay has its document left unvalidated.
          if (unpaid) (requestContext as { document: DocumentNode }).document = refusedDocument(unpaid);
        },
        async didResolveOperation({ schema, document, operation, request }) {
          if (unpaid) throw unpaid;
          if (!operation) return;
          measured = measuredOnce(schema, document, operation, request.variables);
          requested = measured.cost;
          const refusal = limitError(measured, caller.role, limits, { status: 400 });
          if (refusal) {
            refused(refusal.extensions.code as LimitRefusal);
            throw refusal;
          }
          const rest = Math.max(0, requested - withdrawn);
          const withdrawal = budget.withdraw(caller.bucket, rest, limits);
          if (!withdrawal.ok) {
            refused("THROTTLED");
            throw throttled(requested, withdrawal.remaining + withdrawn, limits, withdrawal.retryAfterSeconds);
          }
          withdrawn += rest;
        },
        async executionDidStart({ contextValue: context }) {
          meter = meterObjects(context, limits.maxObjects);
        },
        async willSendResponse({ response, contextValue: context }) {
          const result = response.body.kind === "single" ? response.body.singleResult : response.body.initialResult;
          let actual: number | undefined;
          // Not run but served again (server/graphql/read-cache.ts): the count it replayed.
          meter ??= meterOf(context);
          if (meter) {
            const tally = meter.tally();
            actual = actualCost(measured ?? NOT_MEASURED, result.data, tally);
            if (tally.stopped) {
              refused("RESPONSE_TOO_LARGE");
              // One error, not one per field that was cut off.
              const { message, extensions } = responseTooLarge(limits.maxObjects);
              result.data = null;
              result.errors = [{ message, extensions }];
            }
          }
          if (unpaid) {
            // Whatever else went wrong (a syntax error), the answer is: wait.
            const { message, extensions } = unpaid;
            const { http: _http, ...shown } = extensions;
            result.errors = [{ message, extensions: shown }];
            delete result.data;
            response.http.status = 429;
            response.http.headers.set("retry-after", String(retryAfterHeader(Number(extensions.retryAfterSeconds))));
          }
          // Refused before it ran (by this plugin or another): it owes the minimum.
          const charged = unpaid ? 0 : settleCost(budget, { caller, limits, withdrawn }, actual ?? 0);
          const cost: CostExtension = {
            requested,
            ...(actual === undefined ? {} : { actual }),
            charged,
            budget: {
              remaining: Math.max(0, Math.floor(budget.remaining(caller.bucket, limits))),
              capacity: limits.capacity,
              refillPerSecond: limits.refillPerSecond,
            },
          };
          result.extensions = { ...result.extensions, cost };
        },
      };
    },
  };
}

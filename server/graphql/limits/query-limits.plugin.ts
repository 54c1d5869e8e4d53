/**
 * An Apollo plugin enforcing the query limits (server/query-limits.ts) on every HTTP request,
 * after validation and before execution:
 *
 *  - over the role's depth or cost limit: QUERY_TOO_DEEP / QUERY_TOO_COSTLY, HTTP 400;
 *  - more than the caller's bucket holds: THROTTLED, HTTP 429, `extensions.retryAfterSeconds`
 *    and a `Retry-After` header (whole seconds, rounded up);
 *  - otherwise the requested cost is withdrawn from the bucket, and after execution the
 *    difference to the actual cost is given back.
 *
 * Every response that passes through Apollo's pipeline carries `extensions.cost`:
 * `{ requested, actual?, budget: { remaining, capacity, refillPerSecond } }`. `requested` is 0
 * when the operation was not measured (it did not parse or validate); `actual` is there when
 * the operation ran.
 */
import { type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener, HeaderMap } from "@apollo/server";
import { GraphQLError } from "graphql";
import { CostBudget } from "./cost-budget.js";
import { countReturnedObjects, measureOperation } from "./query-cost.js";
import { type Caller, limitError, type QueryLimits } from "./query-limits.js";

/** What every response carries as `extensions.cost`. */
export interface CostExtension {
  requested: number;
  /** Objects returned (introspection at its requested cost); absent when the operation did not run. */
  actual?: number;
  budget: { remaining: number; capacity: number; refillPerSecond: number };
}

export interface QueryLimitsPluginOptions<TContext> {
  limits: QueryLimits;
  /** Who pays for a request. */
  caller: (context: TContext) => Caller;
  /** The buckets; default: new ones for this server. */
  budget?: CostBudget;
}

function throttled(requested: number, remaining: number, refillPerSecond: number, waitSeconds: number): GraphQLError {
  const retryAfterSeconds = Math.ceil(waitSeconds * 1000) / 1000;
  return new GraphQLError(
    `Over the cost budget: this operation costs ${requested} points and ${Math.floor(remaining)} are left, ` +
      `refilling at ${refillPerSecond} a second. Retry in ${retryAfterSeconds} s.`,
    {
      extensions: {
        code: "THROTTLED",
        retryAfterSeconds,
        http: { status: 429, headers: new HeaderMap([["retry-after", String(Math.max(1, Math.ceil(waitSeconds)))]]) },
      },
    },
  );
}

/** The plugin; one per server, holding the buckets of its callers. */
export function queryLimitsPlugin<TContext extends BaseContext>(options: QueryLimitsPluginOptions<TContext>): ApolloServerPlugin<TContext> {
  const budget = options.budget ?? new CostBudget();
  return {
    async requestDidStart({ contextValue }): Promise<GraphQLRequestListener<TContext>> {
      const caller = options.caller(contextValue);
      const limits = options.limits[caller.role];
      let requested = 0;
      let withdrawn = 0;
      let introspectionCost = 0;
      let introspectionKeys: string[] = [];
      let executed = false;
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const measured = measureOperation(schema, document, operation, request.variables ?? {});
          requested = measured.cost;
          introspectionCost = measured.introspectionCost;
          introspectionKeys = measured.introspectionKeys;
          const refusal = limitError(measured, caller.role, limits, { status: 400 });
          if (refusal) throw refusal;
          const withdrawal = budget.withdraw(caller.bucket, requested, limits);
          if (!withdrawal.ok) throw throttled(requested, withdrawal.remaining, limits.refillPerSecond, withdrawal.retryAfterSeconds);
          withdrawn = requested;
        },
        async executionDidStart() {
          executed = true;
        },
        async willSendResponse({ response }) {
          let actual: number | undefined;
          if (response.body.kind === "single" && executed) {
            actual = countReturnedObjects(response.body.singleResult.data, introspectionKeys) + introspectionCost;
          }
          // Another plugin refused the operation after it was paid for: nothing ran, nothing is owed.
          if (withdrawn > 0) budget.refund(caller.bucket, actual === undefined ? withdrawn : withdrawn - actual, limits);
          const cost: CostExtension = {
            requested,
            ...(actual === undefined ? {} : { actual }),
            budget: {
              remaining: Math.floor(budget.remaining(caller.bucket, limits)),
              capacity: limits.capacity,
              refillPerSecond: limits.refillPerSecond,
            },
          };
          if (response.body.kind === "single") {
            const result = response.body.singleResult;
            result.extensions = { ...result.extensions, cost };
          } else {
            const result = response.body.initialResult;
            result.extensions = { ...result.extensions, cost };
          }
        },
      };
    },
  };
}

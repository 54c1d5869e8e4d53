/** Query.backlogMetrics (docs/ARCHITECTURE.md, "Backlog metrics"): figures only, no customer data, so every role may read them. */
import "reflect-metadata";
import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, ID, Info, Int, Query, Resolver } from "type-graphql";
import { BacklogMetrics } from "../../../schema/backlog-metrics.type.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { reportWork } from "../limits/object-meter.js";
import { backlogMetricsWork, FIELD_WORK } from "../limits/query-cost.js";
import { BACKLOG_METRICS_LIMITS, type BacklogMetricsRecord, backlogMetrics } from "../../services/backlog-metrics.query.js";
import { badUserInput, readOrBadInput } from "./connection.js";
import { requireNodeId } from "./payload.js";

const MAX_INT = 2_147_483_647;

/**
 * GraphQL's Int is 32 bits; a count or a sum of units past it would fail to serialize and be
 * answered INTERNAL_SERVER_ERROR. A window that large is refused as the caller's to narrow.
 */
function checkIntRange(metrics: BacklogMetricsRecord): BacklogMetricsRecord {
  const counts = [
    metrics.ordersPlaced,
    metrics.unitsOrdered,
    metrics.unitsBackordered,
    metrics.waitingUnits,
    metrics.delayedBackorders,
    metrics.atRiskBackorders,
    ...metrics.lostDemand.map((lost) => lost.units),
  ];
  if (counts.some((count) => count > MAX_INT)) {
    throw badUserInput(`the window holds more than ${MAX_INT} units: narrow it (from, to) or name fewer products`, "from");
  }
  return metrics;
}

@Resolver(() => BacklogMetrics)
export class BacklogMetricsResolver {
  @Authorized(...READ)
  @Query(() => BacklogMetrics, {
    description:
      "What backordering did over orders placed in [from, to) (default: the 30 days before to, which defaults to now; at most 400 days), " +
      "of productIds when given (at most 100), and the backlog now: at risk means waiting longer than atRiskHours (1 to 8760).",
  })
  backlogMetrics(
    @Ctx() context: Context,
    @Info() info: GraphQLResolveInfo,
    @Arg("from", () => DateTimeScalar, { nullable: true }) from?: Date | null,
    @Arg("to", () => DateTimeScalar, { nullable: true }) to?: Date | null,
    @Arg("productIds", () => [ID], { nullable: true }) productIds?: string[] | null,
    @Arg("atRiskHours", () => Int, { nullable: true, defaultValue: BACKLOG_METRICS_LIMITS.atRiskHours.default }) atRiskHours?: number | null,
  ): Promise<BacklogMetricsRecord> {
    return readOrBadInput(async () => {
      // Counted before decoding: the length is the first thing wrong with 10,000 ids.
      if (productIds && productIds.length > BACKLOG_METRICS_LIMITS.productIds) {
        throw badUserInput(`productIds may name at most ${BACKLOG_METRICS_LIMITS.productIds} products`, "productIds");
      }
      const ids = productIds?.map((id, index) => requireNodeId(id, "Product", ["productIds", String(index)]));
      const metrics = checkIntRange(await backlogMetrics(context.db, { from, to, productIds: ids, atRiskHours }));
      // Admitted at what the window may hold; charged for the orders it held.
      const given: Record<string, unknown> = { from: from ?? undefined, to: to ?? undefined };
      reportWork(
        context,
        info.rootValue,
        FIELD_WORK["Query.backlogMetrics"]!((name) => given[name]),
        backlogMetricsWork(metrics.ordersPlaced),
      );
      return metrics;
    });
  }
}

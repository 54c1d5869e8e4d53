/**
 * Backlog metrics (docs/ARCHITECTURE.md, "Backlog metrics"): what backordering did over a window
 * of orders, and the backlog now. The figures' exact meaning is written there; the descriptions
 * below are the short form a client sees.
 */
import "reflect-metadata";
import { Field, Float, Int, ObjectType } from "type-graphql";
import { ErrorCode } from "./errors.js";
import { Money } from "./money.type.js";
import { DateTimeScalar } from "./scalars.js";

@ObjectType({ description: "Percentiles of durations, in hours; null when nothing was measured." })
export class Percentiles {
  @Field(() => Float, { nullable: true })
  p50Hours!: number | null;

  @Field(() => Float, { nullable: true })
  p90Hours!: number | null;

  @Field(() => Float, { nullable: true })
  maxHours!: number | null;
}

@ObjectType({ description: "Units refused for one reason in the window, valued at today's prices." })
export class LostDemand {
  @Field(() => ErrorCode)
  code!: ErrorCode;

  @Field(() => Int)
  units!: number;

  @Field(() => [Money], { description: "units × each product's current price, per currency." })
  value!: Money[];
}

@ObjectType({ description: "What backordering did over orders placed in [from, to), and the backlog now." })
export class BacklogMetrics {
  @Field(() => DateTimeScalar, { description: "The window's start (included)." })
  from!: Date;

  @Field(() => DateTimeScalar, { description: "The window's end (excluded)." })
  to!: Date;

  @Field(() => Int, { description: "Orders placed in the window (with a line of the products, when productIds is given)." })
  ordersPlaced!: number;

  @Field(() => Int, { description: "Units of those orders' lines." })
  unitsOrdered!: number;

  @Field(() => Int, { description: "Units of those lines accepted on backorder at placement." })
  unitsBackordered!: number;

  @Field(() => [Money], { description: "Value of the units accepted on backorder (at the line's unit price), per currency." })
  revenueProtected!: Money[];

  @Field(() => [LostDemand], { description: "Units refused in the window, by code, with their value at today's prices." })
  lostDemand!: LostDemand[];

  @Field(() => Float, { nullable: true, description: "Units allocated at placement / units ordered (cancelled orders count); null without units." })
  fillRateAtPlacement!: number | null;

  @Field(() => Percentiles, { description: "Placement to fill, over the window's backorders that were filled." })
  timeToFill!: Percentiles;

  @Field(() => Percentiles, { description: "Age of the backorders waiting now (whatever their order's date)." })
  backlogAge!: Percentiles;

  @Field(() => Float, { nullable: true, description: "Backordered units cancelled since / units backordered, over the window's backorders." })
  backorderCancelRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "Filled backorders filled on or before their promisedAt / filled backorders with a promise, over the window's backorders.",
  })
  etaAccuracy!: number | null;

  @Field(() => Int, { description: "Units waiting now." })
  waitingUnits!: number;

  @Field(() => Int, { description: "Backorders waiting now that are delayed (see Backorder.delayed)." })
  delayedBackorders!: number;

  @Field(() => Int, { description: "Backorders that have waited longer than atRiskHours." })
  atRiskBackorders!: number;
}

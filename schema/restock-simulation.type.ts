/** simulateRestock: its input, and what a restock would do to a product's backlog. */
import "reflect-metadata";
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { Backorder } from "./backorder.type.js";
import { Product } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

@InputType({ description: "A restock to simulate: scheduled at expectedAt, or received now." })
export class SimulateRestockInput {
  @Field(() => ID)
  productId!: string;

  @Field(() => Int, { description: "Units, 1 to 1,000,000." })
  quantity!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it would be expected (not in the past); required unless receiveNow." })
  expectedAt?: Date | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "Receive it now: the backlog is filled from it." })
  receiveNow?: boolean | null;

  @Field(() => ID, { nullable: true, description: "Where it would arrive. Default: the default location." })
  locationId?: string | null;
}

@ObjectType({ description: "A waiting backorder the simulated restock would change, before and after." })
export class SimulatedBackorder {
  @Field(() => Backorder, { description: "The backorder as it is now (the simulation changed nothing)." })
  backorder!: Backorder;

  @Field(() => Int, { description: "Units the restock would give it." })
  filledUnits!: number;

  @Field(() => DateTimeScalar, { nullable: true })
  expectedAtBefore!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "Null when it would be filled completely, or when nothing would date it." })
  expectedAtAfter!: Date | null;

  @Field(() => Boolean)
  delayedBefore!: boolean;

  @Field(() => Boolean, { description: "False when it would be filled completely." })
  delayedAfter!: boolean;
}

@ObjectType({ description: "What scheduling (or receiving, receiveNow) this restock would do to the product's backlog; writes nothing." })
export class RestockSimulation {
  @Field(() => Product)
  product!: Product;

  @Field(() => Int, { description: "Units it would allocate to waiting backorders." })
  filledUnits!: number;

  @Field(() => Int, { description: "Backorders that would receive units (the last one possibly in part)." })
  filledBackorders!: number;

  @Field(() => Int, { description: "Units still waiting afterwards." })
  remainingBackordered!: number;

  @Field(() => Int, { description: "Waiting backorders delayed now." })
  delayedBefore!: number;

  @Field(() => Int, { description: "Waiting backorders delayed afterwards." })
  delayedAfter!: number;

  @Field(() => [SimulatedBackorder], {
    description: "Backorders whose filled units, expected date or lateness would change, in queue order; at most 100.",
  })
  affected!: SimulatedBackorder[];
}

/** A restock: units expected at a location on a date. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Backorder } from "./backorder.type.js";
import { connectionOf } from "./connection.js";
import { RestockStatus } from "./enums.js";
import { Location } from "./location.type.js";
import { Node } from "./node.js";
import { Product } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

@ObjectType({ implements: Node })
export class Restock implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => Product)
  product!: Product;

  @Field(() => Location)
  location!: Location;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Int)
  receivedQuantity!: number;

  @Field(() => DateTimeScalar)
  expectedAt!: Date;

  @Field(() => RestockStatus)
  status!: RestockStatus;

  @Field(() => String, { nullable: true, description: "The supplier's reference, e.g. a purchase order number." })
  reference!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  receivedAt!: Date | null;
}

export const RestockConnection = connectionOf(Restock, "Restock");
export type RestockConnection = InstanceType<typeof RestockConnection>;

@ObjectType({ description: "A backorder served by one receipt of a restock, and the units that receipt gave it." })
export class RestockFill {
  @Field(() => Backorder)
  backorder!: Backorder;

  @Field(() => Int, { description: "Units this receipt allocated to the backorder (its `quantity` is what was ordered in all)." })
  filledUnits!: number;
}

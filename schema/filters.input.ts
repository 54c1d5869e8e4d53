/** The filters of the list queries. */
import "reflect-metadata";
import { Field, ID, InputType, Int } from "type-graphql";
import { BackorderPolicy, OrderStatus, RestockStatus } from "./enums.js";

@InputType()
export class ProductFilter {
  @Field(() => [String], { nullable: true, description: "Exact SKUs (at most 100)." })
  skus?: string[] | null;

  @Field(() => String, { nullable: true, description: "Case-insensitive part of the SKU or the name." })
  search?: string | null;

  @Field(() => Boolean, { nullable: true, description: "true: only products with waiting backorders; false: only without." })
  hasBacklog?: boolean | null;

  @Field(() => BackorderPolicy, { nullable: true })
  backorderPolicy?: BackorderPolicy | null;
}

@InputType()
export class OrderFilter {
  @Field(() => [OrderStatus], { nullable: true, description: "Any of these statuses." })
  status?: OrderStatus[] | null;

  @Field(() => String, { nullable: true, description: "The exact customer identifier." })
  customer?: string | null;

  @Field(() => Boolean, { nullable: true, description: "true: only orders with a delayed waiting backorder; false: only without." })
  delayed?: boolean | null;

  @Field(() => ID, { nullable: true, description: "Only orders with a line for this product." })
  productId?: string | null;
}

@InputType()
export class BacklogFilter {
  @Field(() => ID, { nullable: true })
  productId?: string | null;

  @Field(() => Boolean, { nullable: true })
  delayed?: boolean | null;

  @Field(() => Int, { nullable: true, description: "Only backorders placed at least this many hours ago." })
  olderThanHours?: number | null;
}

@InputType()
export class RestockFilter {
  @Field(() => ID, { nullable: true })
  productId?: string | null;

  @Field(() => RestockStatus, { nullable: true })
  status?: RestockStatus | null;
}

/** Suppliers (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): who makes or ships a product, and how reliable its dates are. */
import "reflect-metadata";
import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { connectionOf } from "./connection.js";
import { UserError } from "./errors.js";
import { Node } from "./node.js";
import { ProductConnection } from "./product.type.js";
import { DateTimeScalar } from "./scalars.js";

/** The history the figures are read over; the service's SUPPLIER_HISTORY (schema/ imports only the contract). */
const HISTORY = "its last 100 restocks received in full, newest by receipt";

@ObjectType({ implements: Node, description: "Who makes or ships products: its restocks' history tells how reliable its dates are." })
export class Supplier implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true, description: "Days from order to delivery; null: not known." })
  leadTimeDays!: number | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => Float, {
    nullable: true,
    description: `The share of ${HISTORY}, that came on or before the date first announced for them (kept through reschedules); null without history.`,
  })
  onTimeRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: `The mean lateness in days of ${HISTORY}, against the date first announced (0 when early or on time); null without history.`,
  })
  averageDelayDays!: number | null;

  @Field(() => ProductConnection, { description: "Its products, in id order." })
  products!: ProductConnection;
}

export const SupplierConnection = connectionOf(Supplier, "Supplier");
export type SupplierConnection = InstanceType<typeof SupplierConnection>;

@ObjectType()
export class SupplierPayload {
  @Field(() => Supplier, { nullable: true })
  supplier!: Supplier | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

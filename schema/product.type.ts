/** A product of the catalogue, its stock and its backorder policy. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { BackorderConnection } from "./backorder.type.js";
import { connectionOf } from "./connection.js";
import { BackorderPolicy, EtaSource, Fulfillment } from "./enums.js";
import { Location } from "./location.type.js";
import { Money } from "./money.type.js";
import { Node } from "./node.js";
import { RestockConnection } from "./restock.type.js";
import { DateTimeScalar } from "./scalars.js";
import { ErrorCode } from "./errors.js";

@ObjectType({ description: "What an order of `quantity` units would get right now, by the rules placeOrder applies; writes nothing." })
export class Quote {
  @Field(() => Int)
  quantity!: number;

  @Field(() => Int, { description: "Units that would be allocated from stock now." })
  allocatable!: number;

  @Field(() => Int, { description: "Units that would wait in the product's queue." })
  backorderable!: number;

  @Field(() => Int, { description: "Units that would be refused; code says why." })
  refused!: number;

  @Field(() => ErrorCode, { nullable: true, description: "Why units would be refused (the first reason when there are several)." })
  code!: ErrorCode | null;

  @Field(() => Int, { nullable: true, description: "The place in the queue the waiting units would take (1: first)." })
  position!: number | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the last waiting unit would be expected." })
  expectedAt!: Date | null;

  @Field(() => EtaSource, { nullable: true })
  etaSource!: EtaSource | null;
}

@ObjectType({ description: "A product's quantities summed over its locations." })
export class StockSummary {
  @Field(() => Int, { description: "Units physically there (received, not shipped)." })
  onHand!: number;

  @Field(() => Int, { description: "Units of onHand reserved for order lines not yet shipped." })
  allocated!: number;

  @Field(() => Int, { description: "Sum over locations of max(0, onHand - allocated - safetyStock)." })
  available!: number;

  @Field(() => Int, { description: "Units still waiting in the product's backlog." })
  backordered!: number;

  @Field(() => Int, { description: "Units on scheduled restocks not yet received." })
  incoming!: number;

  @Field(() => Int, { description: "available + incoming - backordered; negative: demand no scheduled supply covers." })
  projected!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: "The earliest expected date of a scheduled restock." })
  nextRestockAt!: Date | null;
}

@ObjectType({ description: "A product at one location." })
export class StockLevel {
  @Field(() => Location)
  location!: Location;

  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  onHand!: number;

  @Field(() => Int)
  allocated!: number;

  @Field(() => Int)
  available!: number;

  @Field(() => Int, { description: "Units held back from allocation." })
  safetyStock!: number;
}

@ObjectType({ implements: Node })
export class Product implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  sku!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Money)
  price!: Money;

  @Field(() => BackorderPolicy)
  backorderPolicy!: BackorderPolicy;

  @Field(() => Int, { nullable: true, description: "The most units the backlog may hold; null: no limit." })
  backorderLimit!: number | null;

  @Field(() => Int)
  minOrderQuantity!: number;

  @Field(() => Int, { nullable: true })
  maxOrderQuantity!: number | null;

  @Field(() => Int, { nullable: true, description: "Days from order to delivery beyond scheduled restocks." })
  leadTimeDays!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "Units whose expected date is further away than this many days are refused with WAIT_TOO_LONG; null: no cap.",
  })
  maxWaitDays!: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "Waiting units this many days past their promise (past their placement when no date was promised) are cancelled and refunded by the expiry sweep, unless the customer chose keepWaiting; 1 to 3650, null: never.",
  })
  autoCancelAfterDays!: number | null;

  @Field(() => Fulfillment, { description: "STOCKED: from our stock; DROPSHIP: its supplier ships each order line (a SupplierOrder), no stock of ours." })
  fulfillment!: Fulfillment;

  @Field(() => StockSummary)
  stock!: StockSummary;

  @Field(() => [StockLevel])
  stockLevels!: StockLevel[];

  @Field(() => BackorderConnection, { description: "Its WAITING backorders, in queue order." })
  backlog!: BackorderConnection;

  @Field(() => RestockConnection, { description: "Its restocks, by expected date." })
  restocks!: RestockConnection;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

export const ProductConnection = connectionOf(Product, "Product");
export type ProductConnection = InstanceType<typeof ProductConnection>;

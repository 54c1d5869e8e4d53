/** What mutations return: the object (null when refused) and the userErrors. */
import "reflect-metadata";
import { Field, ObjectType } from "type-graphql";
import { ApiKey } from "./api-key.type.js";
import { Backorder } from "./backorder.type.js";
import { UserError } from "./errors.js";
import { Location } from "./location.type.js";
import { Order } from "./order.type.js";
import { Product, StockLevel } from "./product.type.js";
import { Refund } from "./refund.type.js";
import { Restock, RestockFill } from "./restock.type.js";

@ObjectType()
export class LocationPayload {
  @Field(() => Location, { nullable: true })
  location!: Location | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class ProductPayload {
  @Field(() => Product, { nullable: true })
  product!: Product | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class StockLevelPayload {
  @Field(() => StockLevel, { nullable: true })
  stockLevel!: StockLevel | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType({ description: "placeOrder with allowPartial may return the order and userErrors for the lines it cut." })
export class OrderPayload {
  @Field(() => Order, { nullable: true })
  order!: Order | null;

  @Field(() => [UserError])
  userErrors!: UserError[];

  @Field(() => Boolean, { description: "placeOrder: true when the idempotencyKey was seen and the first result is returned." })
  replayed!: boolean;

  @Field(() => Refund, {
    nullable: true,
    description: "cancelOrder, cancelOrderLine: the refund this cancellation created; null for other mutations and refusals.",
  })
  refund!: Refund | null;
}

@ObjectType()
export class RestockPayload {
  @Field(() => Restock, { nullable: true })
  restock!: Restock | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class ReceiveRestockPayload {
  @Field(() => Restock, { nullable: true })
  restock!: Restock | null;

  @Field(() => [Backorder], { description: "Backorders that received units from this receipt, in queue order." })
  filledBackorders!: Backorder[];

  @Field(() => [RestockFill], { description: "The same backorders, in queue order, each with the units this receipt gave it." })
  fills!: RestockFill[];

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class BackorderPayload {
  @Field(() => Backorder, { nullable: true })
  backorder!: Backorder | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType({ description: "The new key and its secret: the only time the secret is shown. Store it now." })
export class CreateApiKeyPayload {
  @Field(() => ApiKey, { nullable: true })
  apiKey!: ApiKey | null;

  @Field(() => String, { nullable: true, description: "Send it as `Authorization: Bearer <secret>`. It cannot be read again." })
  secret!: string | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

@ObjectType()
export class ApiKeyPayload {
  @Field(() => ApiKey, { nullable: true })
  apiKey!: ApiKey | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}

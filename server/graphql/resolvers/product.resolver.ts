/** Products: the catalogue queries, their stock and backlog, createProduct and updateProduct. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { BackorderConnection } from "../../../schema/backorder.type.js";
import { RestockStatus } from "../../../schema/enums.js";
import { ProductFilter } from "../../../schema/filters.input.js";
import { Money } from "../../../schema/money.type.js";
import { ProductPayload } from "../../../schema/payloads.js";
import { CreateProductInput, UpdateProductInput } from "../../../schema/product.input.js";
import { Product, ProductConnection, Quote, StockLevel, StockSummary } from "../../../schema/product.type.js";
import { RestockConnection } from "../../../schema/restock.type.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { decodeId, toGlobalId } from "../node-id.js";
import { checkBacklogCursor, type QueuedBackorder } from "../../services/backlog.query.js";
import { listProducts, type StockLevelView, type StockSummaryRecord } from "../../services/product.query.js";
import { createProduct, updateProduct } from "../../services/product.service.js";
import { checkQuoteQuantity } from "../../services/quote.service.js";
import { checkRestockCursor } from "../../services/restock.query.js";
import type { ProductRecord, RestockRecord, UpdateProductInput as UpdateProductValues } from "../../services/types.js";
import { badUserInput, checkFirst, checkLength, readOrBadInput, toConnection } from "./connection.js";
import { mutate, optionalNodeId, requireNodeId } from "./payload.js";
import type { QuoteSource } from "./supplier.resolver.js";

/** Drops the fields a client did not send, keeping explicit nulls (they clear optional limits). */
function given<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as Partial<T>;
}

@Resolver(() => Product)
export class ProductResolver {
  @FieldResolver(() => ID)
  id(@Root() product: ProductRecord): string {
    return toGlobalId("Product", product.id);
  }

  @FieldResolver(() => Money)
  price(@Root() product: ProductRecord) {
    return { amount: product.price, currencyCode: product.currencyCode };
  }

  @FieldResolver(() => Quote, { description: "What placeOrder would do with `quantity` units of this product right now; writes nothing." })
  quote(@Root() product: ProductRecord, @Arg("quantity", () => Int) quantity: number, @Ctx() context: Context): Promise<QuoteSource> {
    return readOrBadInput(async () => {
      checkQuoteQuantity(quantity);
      // The product goes along for Quote.expectedAtLate (its supplier's history: supplier.resolver.ts).
      return { ...(await context.loaders.quote.load({ productId: product.id, quantity })), product };
    });
  }

  @FieldResolver(() => StockSummary)
  async stock(@Root() product: ProductRecord, @Ctx() context: Context): Promise<StockSummaryRecord> {
    const summary = await context.loaders.stockSummary.load(product.id);
    // The product exists (it is the root), so a missing summary can only mean no rows yet.
    return (
      summary ?? {
        productId: product.id,
        onHand: 0,
        allocated: 0,
        available: 0,
        backordered: product.backordered,
        incoming: 0,
        projected: -product.backordered,
        nextRestockAt: null,
      }
    );
  }

  @FieldResolver(() => [StockLevel])
  stockLevels(@Root() product: ProductRecord, @Ctx() context: Context): Promise<StockLevelView[]> {
    return context.loaders.stockLevels.load(product.id);
  }

  @FieldResolver(() => BackorderConnection)
  async backlog(
    @Root() product: ProductRecord,
    @Ctx() context: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<QueuedBackorder>> {
    checkFirst(first);
    await readOrBadInput(() => checkBacklogCursor(after));
    const page = await context.loaders.backlogPage.load({ productId: product.id, first, after });
    primeLoaders(context.loaders, { backorders: page.items });
    return toConnection(page);
  }

  @FieldResolver(() => RestockConnection)
  async restocks(
    @Root() product: ProductRecord,
    @Ctx() context: Context,
    @Arg("status", () => RestockStatus, { nullable: true }) status?: RestockStatus | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<RestockRecord>> {
    checkFirst(first);
    await readOrBadInput(() => checkRestockCursor(after));
    const page = await context.loaders.restockPage.load({ productId: product.id, status, first, after });
    primeLoaders(context.loaders, { restocks: page.items });
    return toConnection(page);
  }

  @Authorized(...READ)
  @Query(() => Product, { nullable: true, description: "A product by id or by SKU; null when there is none (or they disagree)." })
  async product(
    @Ctx() context: Context,
    @Arg("id", () => ID, { nullable: true }) id?: string | null,
    @Arg("sku", () => String, { nullable: true }) sku?: string | null,
  ): Promise<ProductRecord | null> {
    if (id !== undefined && id !== null) {
      const productId = decodeId(id, "Product");
      const found = productId === null ? null : await context.loaders.product.load(productId);
      return found && (sku === undefined || sku === null || found.sku === sku) ? found : null;
    }
    if (sku === undefined || sku === null || sku.length > 200) return null;
    return context.loaders.productBySku.load(sku);
  }

  @Authorized(...READ)
  @Query(() => ProductConnection, { description: "Products in id order." })
  async products(
    @Ctx() context: Context,
    @Arg("filter", () => ProductFilter, { nullable: true }) filter?: ProductFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<ProductRecord>> {
    checkFirst(first);
    checkLength(filter?.search, 200, "filter.search");
    if (filter?.skus && filter.skus.length > 100) throw badUserInput("filter.skus takes at most 100 SKUs", "filter.skus");
    const page = await readOrBadInput(() => listProducts(context.db, filter, { first, after }));
    primeLoaders(context.loaders, { products: page.items });
    return toConnection(page);
  }

  @Authorized(...OPERATE)
  @Mutation(() => ProductPayload)
  createProduct(@Arg("input", () => CreateProductInput) input: CreateProductInput, @Ctx() context: Context) {
    return mutate(context, { product: null as ProductRecord | null }, async () => ({
      product: await createProduct(context.db, {
        sku: input.sku,
        name: input.name,
        price: input.price,
        currencyCode: input.currencyCode ?? undefined,
        backorderPolicy: input.backorderPolicy ?? undefined,
        backorderLimit: input.backorderLimit ?? null,
        minOrderQuantity: input.minOrderQuantity ?? undefined,
        maxOrderQuantity: input.maxOrderQuantity ?? null,
        leadTimeDays: input.leadTimeDays ?? null,
        maxWaitDays: input.maxWaitDays ?? null,
        autoCancelAfterDays: input.autoCancelAfterDays ?? null,
        initialStock: input.initialStock ?? undefined,
        supplierId: optionalNodeId(input.supplierId, "Supplier", ["input", "supplierId"]) ?? null,
        fulfillment: input.fulfillment ?? undefined,
      }),
    }));
  }

  @Authorized(...OPERATE)
  @Mutation(() => ProductPayload)
  updateProduct(@Arg("id", () => ID) id: string, @Arg("input", () => UpdateProductInput) input: UpdateProductInput, @Ctx() context: Context) {
    return mutate(context, { product: null as ProductRecord | null }, async () => {
      const productId = requireNodeId(id, "Product", ["id"]);
      const { supplierId, ...values } = given(input);
      // A Supplier's global id, or null to clear it; absent leaves it.
      const supplier = supplierId === undefined ? {} : { supplierId: optionalNodeId(supplierId, "Supplier", ["input", "supplierId"]) ?? null };
      return { product: await updateProduct(context.db, productId, { ...values, ...supplier } as UpdateProductValues) };
    });
  }
}

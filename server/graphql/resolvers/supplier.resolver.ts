/**
 * Suppliers (docs/ARCHITECTURE.md, "Suppliers and honest ranges"): their fields and figures, the
 * list, createSupplier, and what other objects say of their supplier: Product.supplier,
 * Restock.supplier, and the late end of a date's range (Backorder.expectedAtLate,
 * Quote.expectedAtLate). Every figure comes through the request's loaders, one statement per batch.
 */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { Backorder } from "../../../schema/backorder.type.js";
import type { ConnectionSource } from "../../../schema/connection.js";
import { Product, ProductConnection, Quote } from "../../../schema/product.type.js";
import { Restock } from "../../../schema/restock.type.js";
import { DateTimeScalar } from "../../../schema/scalars.js";
import { CreateSupplierInput } from "../../../schema/supplier.input.js";
import { Supplier, SupplierConnection, SupplierPayload } from "../../../schema/supplier.type.js";
import { OPERATE, READ } from "../auth-checker.js";
import type { Context } from "../context.js";
import { primeLoaders } from "../loaders.js";
import { toGlobalId } from "../node-id.js";
import type { Quote as QuoteRecord } from "../../services/quote.service.js";
import { checkSupplierProductCursor, lateEnd, listSuppliers } from "../../services/supplier.query.js";
import { createSupplier } from "../../services/supplier.service.js";
import type { BackorderRecord, ProductRecord, RestockRecord, SupplierRecord } from "../../services/types.js";
import { checkFirst, readOrBadInput, toConnection } from "./connection.js";
import { mutate } from "./payload.js";

/** A quote as Product.quote returns it: with the product it quotes, whose supplier dates its range. */
export type QuoteSource = QuoteRecord & { product: ProductRecord };

const NO_SUPPLIER = { supplier: null as SupplierRecord | null };

/**
 * `expectedAt` plus the 90th-percentile lateness of the product's supplier, whether the date
 * comes from a restock or from the lead time (a supplier late on restocks is late on lead times
 * too). Null without a date, a supplier or a history.
 */
async function lateEndOf(product: ProductRecord | null, expectedAt: Date | null, context: Context): Promise<Date | null> {
  if (expectedAt === null || product === null || product.supplierId === null) return null;
  return lateEnd(expectedAt, await context.loaders.supplierReliability.load(product.supplierId));
}

@Resolver(() => Supplier)
export class SupplierResolver {
  @FieldResolver(() => ID)
  id(@Root() supplier: SupplierRecord): string {
    return toGlobalId("Supplier", supplier.id);
  }

  @FieldResolver(() => Float, { nullable: true })
  async onTimeRate(@Root() supplier: SupplierRecord, @Ctx() context: Context): Promise<number | null> {
    return (await context.loaders.supplierReliability.load(supplier.id)).onTimeRate;
  }

  @FieldResolver(() => Float, { nullable: true })
  async averageDelayDays(@Root() supplier: SupplierRecord, @Ctx() context: Context): Promise<number | null> {
    return (await context.loaders.supplierReliability.load(supplier.id)).averageDelayDays;
  }

  @FieldResolver(() => ProductConnection)
  async products(
    @Root() supplier: SupplierRecord,
    @Ctx() context: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<ProductRecord>> {
    checkFirst(first);
    await readOrBadInput(() => checkSupplierProductCursor(after));
    const page = await context.loaders.supplierProductPage.load({ supplierId: supplier.id, first, after });
    primeLoaders(context.loaders, { products: page.items });
    return toConnection(page);
  }

  @Authorized(...READ)
  @Query(() => SupplierConnection, { description: "Suppliers in creation order." })
  async suppliers(
    @Ctx() context: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<SupplierRecord>> {
    checkFirst(first);
    const page = await readOrBadInput(() => listSuppliers(context.db, { first, after }));
    primeLoaders(context.loaders, { suppliers: page.items });
    return toConnection(page);
  }

  @Authorized(...OPERATE)
  @Mutation(() => SupplierPayload, {
    description: "Creates a supplier. DUPLICATE for a name taken (ignoring case); INVALID_INPUT for a bad name or a lead time outside 0..365.",
  })
  createSupplier(@Arg("input", () => CreateSupplierInput) input: CreateSupplierInput, @Ctx() context: Context) {
    return mutate(context, NO_SUPPLIER, async () => ({
      supplier: await createSupplier(context.db, { name: input.name, leadTimeDays: input.leadTimeDays ?? null }),
    }));
  }
}

@Resolver(() => Product)
export class ProductSupplierResolver {
  @FieldResolver(() => Supplier, {
    nullable: true,
    description:
      "Who supplies it: its restocks record this supplier, whose history widens its dates (expectedAtLate). Its lead time does not date this product's backorders: leadTimeDays does.",
  })
  supplier(@Root() product: ProductRecord, @Ctx() context: Context): Promise<SupplierRecord | null> | null {
    return product.supplierId === null ? null : context.loaders.supplier.load(product.supplierId);
  }
}

@Resolver(() => Restock)
export class RestockSupplierResolver {
  @FieldResolver(() => Supplier, { nullable: true, description: "The product's supplier when the restock was scheduled." })
  supplier(@Root() restock: RestockRecord, @Ctx() context: Context): Promise<SupplierRecord | null> | null {
    return restock.supplierId === null ? null : context.loaders.supplier.load(restock.supplierId);
  }
}

@Resolver(() => Backorder)
export class BackorderSupplierResolver {
  @FieldResolver(() => DateTimeScalar, {
    nullable: true,
    description:
      "The late end of the expected range: expectedAt plus the 90th-percentile lateness of the product's supplier over its last 100 received restocks. Null when expectedAt is, or the product has no supplier, or the supplier no history.",
  })
  async expectedAtLate(@Root() backorder: BackorderRecord, @Ctx() context: Context): Promise<Date | null> {
    if (backorder.expectedAt === null) return null;
    return lateEndOf(await context.loaders.product.load(backorder.productId), backorder.expectedAt, context);
  }
}

@Resolver(() => Quote)
export class QuoteSupplierResolver {
  @FieldResolver(() => DateTimeScalar, {
    nullable: true,
    description: "expectedAt plus the 90th-percentile lateness of the product's supplier, as Backorder.expectedAtLate; null when either is unknown.",
  })
  expectedAtLate(@Root() quote: QuoteSource, @Ctx() context: Context): Promise<Date | null> {
    return lateEndOf(quote.product, quote.expectedAt, context);
  }
}

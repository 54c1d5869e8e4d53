/**
 * Quotes (docs/ARCHITECTURE.md, "Quotes and the wait cap"): what `placeOrder` would do with one
 * line of `quantity` units of a product right now, written nowhere. The plan is `planLine`, the
 * function `placeOrder` plans by, on the same reads (the product, its free stock, the queue's
 * outlook), taken in one statement (one snapshot) instead of under the product's lock.
 */
import { sql } from "drizzle-orm";
import { type Executor, rows, schema } from "../../drizzle/db.js";
import { DomainError, type EtaSource, type ErrorCode } from "../../drizzle/contract.js";
import { intArray } from "../../drizzle/sql.js";
import { toRecord } from "../../drizzle/paging.js";
import { outlookQuery, type OutlookRow, toOutlook } from "./eta.service.js";
import { freeStock } from "./location.query.js";
import { expectedFor, planLine } from "./order-plan.js";
import { Checks, LIMITS, MAX_AMOUNT_CENTS, requireId, toCents } from "./validation.js";

const { products, suppliers } = schema;

export interface Quote {
  quantity: number;
  /** Units that would be allocated from stock now. */
  allocatable: number;
  /** Units that would wait in the queue. */
  backorderable: number;
  /** Units that would be refused; `code` says why (the first reason when there are several). */
  refused: number;
  code: ErrorCode | null;
  /** The place in the queue the waiting units would take (1: first); null when none would wait. */
  position: number | null;
  /** When the last waiting unit would be expected; null when none would wait or nothing dates them. */
  expectedAt: Date | null;
  etaSource: EtaSource | null;
}

export interface QuoteRequest {
  productId: number;
  quantity: number;
}

/** INVALID_INPUT (field `quantity`) for a quantity placeOrder would refuse outright: outside 1..1,000,000. */
export function checkQuoteQuantity(quantity: unknown): void {
  const checks = new Checks();
  checks.int(quantity, ["quantity"], 1, LIMITS.quantity);
  checks.throwIfAny();
}

/**
 * Quotes each request, in order: a {@link Quote}, or the DomainError placeOrder would answer
 * (INVALID_INPUT for the quantity, NOT_FOUND for an unknown product). One statement for all of
 * them, so a page of products is quoted in one round trip. Writes nothing, takes no lock.
 */
export async function quoteOrderLines(db: Executor, requests: readonly QuoteRequest[]): Promise<(Quote | DomainError)[]> {
  const ids = [...new Set(requests.map((r) => r.productId).filter((id) => Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647))];
  const found =
    ids.length === 0
      ? []
      : await rows<Record<string, unknown> & OutlookRow & { free: [number, number][] }>(
          db,
          sql`
          WITH outlook AS (${outlookQuery(ids)}), free AS (${freeStock(ids)})
          SELECT ${products}.*, o.units_ahead, o.orders_ahead, o.supply, o.now,
            (SELECT ${suppliers.leadTimeDays} FROM ${suppliers} WHERE ${suppliers.id} = ${products.supplierId}) AS supplier_lead_time_days,
            coalesce((SELECT json_agg(json_build_array(f.location_id, f.free) ORDER BY f.free_through) FROM free f WHERE f.product_id = ${products.id}), '[]'::json) AS free
          FROM ${products} JOIN outlook o ON o.product_id = ${products.id}
          WHERE ${products.id} = ANY(${intArray(ids)})`,
        );
  // `products.*` names the product `id`; the outlook's `product_id` is only joined on.
  const byId = new Map(found.map((row) => [Number(row.id), row]));
  return requests.map((request) => {
    try {
      requireId(request.productId, ["productId"], "product");
      checkQuoteQuantity(request.quantity);
      const row = byId.get(request.productId);
      if (!row) throw new DomainError({ code: "NOT_FOUND", message: "product not found", field: ["productId"] });
      return quote(row, request.quantity);
    } catch (error) {
      if (error instanceof DomainError) return error;
      throw error;
    }
  });
}

function quote(row: Record<string, unknown> & OutlookRow & { free: [number, number][] }, quantity: number): Quote {
  const product = toRecord(products, row);
  const outlook = toOutlook(row);
  const free = row.free.map(([locationId, units]) => ({ locationId: Number(locationId), free: Number(units) }));
  const plan = planLine(product, free, quantity, outlook);
  const allocatable = plan.allocations.reduce((sum, a) => sum + a.quantity, 0);
  const waiting = plan.waiting;
  // placeOrder refuses an order whose total orders.total cannot hold (INVALID_INPUT, no lost
  // demand), and a one-line order's total is its line's: a dear enough line alone passes it.
  if (toCents(product.price) * BigInt(allocatable + waiting) > MAX_AMOUNT_CENTS) {
    return { quantity, allocatable: 0, backorderable: 0, refused: quantity, code: "INVALID_INPUT", position: null, expectedAt: null, etaSource: null };
  }
  // A dropship line waits at its supplier, not in the queue ("Dropship"): dated by the supplier's
  // lead time from now, as its supplier order will be, with no place in the queue.
  const dropship = product.fulfillment === "DROPSHIP";
  const supplierLeadTime = row.supplier_lead_time_days === null || row.supplier_lead_time_days === undefined ? null : Number(row.supplier_lead_time_days);
  const expected =
    waiting === 0
      ? null
      : dropship
        ? expectedFor({ ...outlook, unitsAhead: 0, supply: [] }, supplierLeadTime, waiting)
        : expectedFor(outlook, product.leadTimeDays, waiting);
  return {
    quantity,
    allocatable,
    backorderable: waiting,
    refused: quantity - allocatable - waiting,
    code: plan.rejected?.code ?? plan.cuts[0]?.code ?? null,
    position: waiting > 0 && !dropship ? outlook.ordersAhead + 1 : null,
    expectedAt: expected?.at ?? null,
    etaSource: expected?.source ?? null,
  };
}

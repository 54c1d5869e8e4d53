/**
 * Input checks the services run before they touch the database. A `Checks` collects every
 * problem of an input so the client hears about all of them at once, then `throwIfAny` refuses
 * the operation with INVALID_INPUT issues pointing at each field.
 */
import { DomainError, type Issue } from "./types.js";

export const LIMITS = {
  code: 64,
  sku: 64,
  name: 200,
  customer: 200,
  reason: 500,
  reference: 200,
  idempotencyKey: 200,
  currencyCode: 3,
  lines: 100,
  quantity: 1_000_000,
  priority: 1_000_000,
  leadTimeDays: 3650,
  price: 1_000_000_000,
  /** Locations a shop may have (the query cost model counts a product's stock levels at this). */
  locations: 20,
  /**
   * Units an int4 counter holds. Bounds what a product may hold at once: units waiting
   * (products.backordered, waiting_orders) and units on hand plus incoming (whose sums the event
   * snapshots add in int4).
   */
  units: 2_147_483_647,
} as const;

/** The largest amount `numeric(14,2)` holds (orders.total), in cents. */
export const MAX_AMOUNT_CENTS = 99_999_999_999_999n;

/** A canonical decimal amount ("19.90", as numeric columns read) in exact cents. */
export function toCents(amount: string): bigint {
  const [whole, fraction = ""] = amount.trim().split(".");
  return BigInt(whole) * 100n + BigInt((fraction + "00").slice(0, 2));
}

const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

export class Checks {
  readonly issues: Issue[] = [];

  /** `prefix` is where the checked object sits among the operation's arguments, e.g. ["input"]. */
  constructor(private readonly prefix: string[] = []) {}

  fail(field: string[], message: string, code: Issue["code"] = "INVALID_INPUT"): void {
    this.issues.push({ code, message, field: [...this.prefix, ...field] });
  }

  /** A trimmed, non-empty string of at most `max` characters; returns it trimmed. */
  text(value: unknown, field: string[], max: number, { optional = false } = {}): string | undefined {
    if (value === undefined || value === null) {
      if (!optional) this.fail(field, `${field.at(-1)} is required`);
      return undefined;
    }
    if (typeof value !== "string") return void this.fail(field, `${field.at(-1)} must be a string`);
    const trimmed = value.trim();
    if (trimmed.length === 0) return void this.fail(field, `${field.at(-1)} must not be empty`);
    if (trimmed.length > max) return void this.fail(field, `${field.at(-1)} must be at most ${max} characters`);
    // Control characters have no place in names, SKUs or references and break logs and CSV exports.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(trimmed)) return void this.fail(field, `${field.at(-1)} must not contain control characters`);
    return trimmed;
  }

  /** A whole number in [min, max]. */
  int(value: unknown, field: string[], min: number, max: number): number | undefined {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      return void this.fail(field, `${field.at(-1)} must be a whole number`);
    }
    if (value < min || value > max) return void this.fail(field, `${field.at(-1)} must be between ${min} and ${max}`);
    return value;
  }

  /** A valid date between the years 2000 and 2200. */
  date(value: unknown, field: string[]): Date | undefined {
    const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) return void this.fail(field, `${field.at(-1)} must be a valid date`);
    if (date.getTime() < EARLIEST || date.getTime() > LATEST) {
      return void this.fail(field, `${field.at(-1)} must be between 2000 and 2200`);
    }
    return date;
  }

  /** A non-negative decimal with at most two places, as a canonical string ("19.90"). */
  money(value: unknown, field: string[]): string | undefined {
    const text = typeof value === "number" ? String(value) : value;
    if (typeof text !== "string" || !/^\d{1,10}(\.\d{1,2})?$/.test(text.trim())) {
      return void this.fail(field, `${field.at(-1)} must be a non-negative decimal with at most 2 places`);
    }
    const amount = Number(text);
    if (amount > LIMITS.price) return void this.fail(field, `${field.at(-1)} must be at most ${LIMITS.price}`);
    return amount.toFixed(2);
  }

  /** Refuses the operation when any check failed. */
  throwIfAny(): void {
    if (this.issues.length > 0) throw new DomainError(this.issues);
  }
}

/** A positive database id, or a NOT_FOUND refusal (ids from outside may be anything). */
export function requireId(value: unknown, field: string[], what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value <= 2_147_483_647) return value;
  throw new DomainError({ code: "NOT_FOUND", message: `${what} not found`, field });
}

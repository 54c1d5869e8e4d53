/**
 * The custom scalars of the contract (docs/ARCHITECTURE.md, "The GraphQL contract"): `DateTime` (ISO-8601) and `Decimal`
 * (a decimal string, so money never passes through a binary float).
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";

/** An ISO-8601 date (`2025-03-01`, midnight UTC) or date-time with a zone (`2025-03-01T12:00:00Z`). */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2})(?::?(\d{2}))?))?$/;

/**
 * Parses an ISO-8601 string. A malformed or impossible date ("2025-02-30") comes back as an
 * Invalid Date rather than an error, so that a mutation can answer it as a userError on the
 * field (INVALID_INPUT) like every other bad input; `isValidDate` tells the two apart.
 */
export function parseDateTime(text: string): Date {
  const invalid = new Date(Number.NaN);
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return invalid;
  const [, year, month, day, hour = "0", minute = "0", second = "0", offsetHours = "0", offsetMinutes = "0"] = match;
  // JavaScript would roll an impossible day over (Feb 30 → Mar 2): check the calendar first.
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth) return invalid;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return invalid;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return invalid;
  if (match[4] === undefined) return new Date(`${year}-${month}-${day}T00:00:00Z`);
  // JavaScript reads "+05:30" and "+0530" but not an hour-only offset ("+05"), which ISO-8601 allows.
  return new Date(text.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00"));
}

/** Whether a DateTime argument parsed to a real instant. */
export function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

function dateTimeFromInput(value: unknown): Date {
  if (typeof value === "string") return parseDateTime(value);
  throw new GraphQLError('DateTime must be an ISO-8601 string, e.g. "2025-03-01T12:00:00Z"', {
    extensions: { code: "BAD_USER_INPUT" },
  });
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: 'An instant as an ISO-8601 string, e.g. "2025-03-01T12:00:00.000Z" (a bare date means midnight UTC). Always returned in UTC.',
  specifiedByURL: "https://scalars.graphql.org/andimarek/date-time",
  serialize(value: unknown): string {
    const date = value instanceof Date ? value : typeof value === "string" || typeof value === "number" ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new TypeError(`DateTime cannot represent ${String(value)}`);
    return date.toISOString();
  },
  parseValue: dateTimeFromInput,
  parseLiteral(ast: ValueNode): Date {
    if (ast.kind !== Kind.STRING) return dateTimeFromInput(undefined);
    return dateTimeFromInput(ast.value);
  },
});

const DECIMAL = /^-?\d{1,20}(?:\.\d{1,10})?$/;

function decimalFromInput(value: unknown): string {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text === "string" && DECIMAL.test(text.trim())) return text.trim();
  throw new GraphQLError('Decimal must be a decimal number as a string, e.g. "19.99"', {
    extensions: { code: "BAD_USER_INPUT" },
  });
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: "Decimal",
  description: 'An exact decimal number as a string, e.g. "19.99".',
  serialize(value: unknown): string {
    if (typeof value === "string" && DECIMAL.test(value)) return value;
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    throw new TypeError(`Decimal cannot represent ${String(value)}`);
  },
  parseValue: decimalFromInput,
  parseLiteral(ast: ValueNode): string {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return decimalFromInput(ast.value);
    return decimalFromInput(undefined);
  },
});

/** Turning service pages into GraphQL connections, and refusing bad paging arguments. */
import { GraphQLError } from "graphql";
import type { ConnectionSource } from "../../../schema/connection.js";
import { MAX_PAGE_SIZE, type Page } from "../../../drizzle/paging.js";
import { DomainError } from "../../services/types.js";

/** A GraphQL error for a malformed argument of a query (docs/ARCHITECTURE.md, "The GraphQL contract": BAD_USER_INPUT). */
export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", ...(argument ? { argument } : {}) } });
}

/** Refuses a `first` outside 0..100 before anything runs. */
export function checkFirst(first: number | null | undefined): void {
  if (first === undefined || first === null) return;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 0 and ${MAX_PAGE_SIZE}`, "first");
  }
}

/** Refuses a string argument longer than `max`. */
export function checkLength(value: string | null | undefined, max: number, argument: string): void {
  if (typeof value === "string" && value.length > max) throw badUserInput(`${argument} must be at most ${max} characters`, argument);
}

/**
 * Runs a read that may refuse its arguments (a cursor that is not ours, a bad filter value),
 * turning the refusal into BAD_USER_INPUT: queries have no userErrors.
 */
export async function readOrBadInput<T>(read: () => Promise<T> | T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof DomainError) throw badUserInput(error.message, error.issues[0]?.field?.join("."));
    throw error;
  }
}

/** A page as a connection: its total and the total's precision come from one count. */
export function toConnection<T>(page: Page<T>): ConnectionSource<T> {
  return {
    edges: page.items.map((node, index) => ({ cursor: page.cursors[index], node })),
    nodes: page.items,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    totalCount: page.totalCount,
    totalCountPrecision: page.totalCountPrecision,
  };
}

/** The connection of nothing: a filter naming an id that cannot exist. */
export function emptyConnection<T>(): ConnectionSource<T> {
  return { edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0, totalCountPrecision: "EXACT" };
}

/**
 * Mutations answer with a payload: the object, or null and `userErrors` when a business rule or
 * a bad input said no (docs/ARCHITECTURE.md, "The GraphQL contract"). Services signal refusals with DomainError; this is
 * the one place that turns them into userErrors. Anything else is a bug and propagates, to be
 * logged and masked.
 */
import { ErrorCode } from "../../../schema/errors.js";
import { type Context, refreshLoaders } from "../context.js";
import { fromGlobalId, type NodeTypeName } from "../node-id.js";
import { DomainError, type Issue } from "../../services/types.js";

export interface UserErrorSource {
  field: string[] | null;
  code: ErrorCode;
  message: string;
}

/** Issues as userErrors. */
export function toUserErrors(issues: readonly Issue[]): UserErrorSource[] {
  return issues.map((issue) => ({
    field: issue.field ?? null,
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * Runs one mutation: `work` returns the payload's fields (without userErrors). A DomainError
 * becomes `{ <key>: null, ...empty, userErrors }`; on success the request's loaders are renewed.
 */
export async function mutate<TPayload extends object>(
  context: Context,
  empty: TPayload,
  work: () => Promise<TPayload & { userErrors?: UserErrorSource[] }>,
): Promise<TPayload & { userErrors: UserErrorSource[] }> {
  try {
    const result = await work();
    refreshLoaders(context);
    return { ...result, userErrors: result.userErrors ?? [] };
  } catch (error) {
    if (error instanceof DomainError) return { ...empty, userErrors: toUserErrors(error.issues) };
    throw error;
  }
}

/**
 * The database id inside a global id argument of a mutation. Malformed: INVALID_INPUT; an id
 * of another type: NOT_FOUND (no such `type` exists); both on `field`.
 */
export function requireNodeId(globalId: string, type: NodeTypeName, field: string[]): number {
  const decoded = fromGlobalId(globalId);
  if (decoded && decoded.type === type) return decoded.id;
  throw new DomainError(
    decoded
      ? { code: "NOT_FOUND", message: `${inWords(type)} not found`, field }
      : { code: "INVALID_INPUT", message: `${field.at(-1)} is not a valid ${type} id`, field },
  );
}

/** "OrderLine" → "order line", as the services word their messages. */
function inWords(type: NodeTypeName): string {
  return type.replace(/(?<!^)([A-Z])/g, " $1").toLowerCase();
}

/** An optional global id argument: undefined stays undefined (the service picks the default). */
export function optionalNodeId(globalId: string | null | undefined, type: NodeTypeName, field: string[]): number | undefined {
  return globalId === undefined || globalId === null ? undefined : requireNodeId(globalId, type, field);
}

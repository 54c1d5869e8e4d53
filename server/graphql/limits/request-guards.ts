/**
 * Limits every GraphQL request must meet before anything runs, whoever sends it (docs/ARCHITECTURE.md,
 * "The GraphQL contract": a malformed or abusive request is a coded GraphQL error, never an internal one).
 * The per-key cost budget of docs/ARCHITECTURE.md, "Access and limits" comes on top of these; they are the floor.
 *
 *  - parse:      at most `maxTokens` tokens, so a megabyte of `{a a a …}` is refused while parsing;
 *  - validation: at most `maxFields` fields and `maxAliases` aliases once fragments are expanded
 *                (1,000 aliases of one field would otherwise run it 1,000 times), and no string
 *                literal that text columns cannot hold;
 *  - operation:  subscriptions only over WebSocket, and no variable string that text columns
 *                cannot hold: PostgreSQL text cannot contain U+0000 (without this check a NUL in a
 *                search or a SKU reaches the database and fails as an internal error), and a lone
 *                surrogate would be stored as U+FFFD, silently changing what the client sent.
 *
 * Depth is checked once, with the cost, against the caller's role (server/query-limits.ts): after
 * validation, before execution, as QUERY_TOO_DEEP.
 *
 * Wiring: `parseOptions: REQUEST_PARSE_OPTIONS`, `validationRules: requestValidationRules` and the
 * plugin `requestGuardsPlugin()` on the ApolloServer (server/app.ts); the same validation rules on
 * the WebSocket server (server/websocket.ts).
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type ParseOptions,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";

export interface RequestLimits {
  /** Lexical tokens in the document. */
  maxTokens: number;
  /** Fields selected, with every fragment spread expanded where it is spread. */
  maxFields: number;
  /** Aliased fields, counted the same way. */
  maxAliases: number;
}

export const REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxTokens: 10_000,
  maxFields: 1_000,
  maxAliases: 100,
});

/** Apollo's `parseOptions`: the token limit. */
export const REQUEST_PARSE_OPTIONS: ParseOptions = { maxTokens: REQUEST_LIMITS.maxTokens };

interface Size {
  fields: number;
  aliases: number;
}

/**
 * Measures selection sets with fragments expanded. Each fragment is measured once and its size
 * reused wherever it is spread, so a document whose fragments spread each other many times (a
 * "fragment bomb", exponential when expanded) is measured in time linear in its length.
 */
function sizer(fragments: ReadonlyMap<string, FragmentDefinitionNode>): (set: SelectionSetNode | undefined) => Size {
  const known = new Map<string, Size>();
  const measuring = new Set<string>();
  const fragmentSize = (name: string): Size => {
    const cached = known.get(name);
    if (cached) return cached;
    const definition = fragments.get(name);
    // Unknown and cyclic fragments are refused by graphql's own rules; count them as nothing here.
    if (!definition || measuring.has(name)) return { fields: 0, aliases: 0 };
    measuring.add(name);
    const size = measure(definition.selectionSet);
    measuring.delete(name);
    known.set(name, size);
    return size;
  };
  const measure = (set: SelectionSetNode | undefined): Size => {
    const total: Size = { fields: 0, aliases: 0 };
    for (const selection of set?.selections ?? []) {
      let part: Size;
      if (selection.kind === Kind.FIELD) {
        const inner = measure(selection.selectionSet);
        part = { fields: inner.fields + 1, aliases: inner.aliases + (selection.alias ? 1 : 0) };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        part = measure(selection.selectionSet);
      } else {
        part = fragmentSize(selection.name.value);
      }
      total.fields += part.fields;
      total.aliases += part.aliases;
    }
    return total;
  };
  return measure;
}

/** A validation rule refusing operations over the field or alias limits, and string literals no text column can hold. */
export function requestLimitsRule(limits: RequestLimits = REQUEST_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const measure = sizer(fragments);
    return {
      OperationDefinition(node) {
        const size = measure(node.selectionSet);
        const name = node.name ? `Operation "${node.name.value}"` : "The operation";
        if (size.fields > limits.maxFields) {
          context.reportError(new GraphQLError(`${name} selects ${size.fields} fields; the limit is ${limits.maxFields}.`, { nodes: node }));
        }
        if (size.aliases > limits.maxAliases) {
          context.reportError(new GraphQLError(`${name} uses ${size.aliases} aliases; the limit is ${limits.maxAliases}.`, { nodes: node }));
        }
      },
      StringValue(node) {
        const reason = unstorable(node.value);
        if (reason) context.reportError(new GraphQLError(`A string ${reason}.`, { nodes: node }));
      },
    };
  };
}

/** Apollo's (and graphql-ws's) extra validation rules. */
export const requestValidationRules: ValidationRule[] = [requestLimitsRule()];

/** Why a string cannot be stored as PostgreSQL text, or undefined when it can. */
export function unstorable(text: string): string | undefined {
  if (text.includes("\u0000")) return "contains a NUL character (U+0000), which no text here can hold";
  // A lone surrogate is not Unicode: it would be stored as U+FFFD, silently changing the text.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) return "is not valid Unicode (a lone surrogate)";
  return undefined;
}

/**
 * The first string (or object key) in `value` that cannot be stored as text: its path and why;
 * undefined when there is none. Iterative: variables may nest arrays thousands deep (JSON allows it).
 */
export function findUnstorableText(value: unknown, name = ""): { path: string; reason: string } | undefined {
  const pending: [unknown, string][] = [[value, name]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === "string") {
      const reason = unstorable(current);
      if (reason) return { path, reason };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push([current[i], `${path}[${i}]`]);
    } else if (current !== null && typeof current === "object") {
      for (const [key, item] of Object.entries(current).reverse()) {
        const reason = unstorable(key);
        if (reason) return { path: path ? `${path}.${key}` : key, reason: `has a key that ${reason}` };
        pending.push([item, path ? `${path}.${key}` : key]);
      }
    }
  }
  return undefined;
}

function refusal(message: string, code: "BAD_REQUEST" | "BAD_USER_INPUT"): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

/**
 * Refuses, after the operation is known and before it runs: a subscription sent over HTTP
 * (it is served over WebSocket; over HTTP it would fail inside the executor), and a variable
 * holding text no column can store. Both are answered 400 with a code the client can act on.
 */
export function requestGuardsPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation?.operation === "subscription") {
            throw refusal("Subscriptions are served over WebSocket (protocol graphql-transport-ws) at this path, not over HTTP.", "BAD_REQUEST");
          }
          const found = findUnstorableText(request.variables ?? {});
          if (found) throw refusal(`Variable "$${found.path}" ${found.reason}.`, "BAD_USER_INPUT");
        },
      };
    },
  };
}

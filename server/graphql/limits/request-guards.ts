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
 * The document's size (bytes, fields, aliases) is checked BEFORE graphql's own validation, whose
 * cost grows faster than the document (overlapping fields are compared pairwise): a document over
 * them is refused after parsing (bounded by the tokens) and nothing else. Over HTTP, Apollo offers
 * no hook that may refuse between parsing and validation, so `requestGuardsPlugin` swaps such a
 * document, in `validationDidStart`, for a one-field stand-in that {@link refusedDocumentRule}
 * refuses with the original reason: validation then costs nothing, and the refusal is a
 * GRAPHQL_VALIDATION_FAILED like any other (and, failing validation, is never cached by Apollo).
 * Variables are bounded in size before anything reads them. The WebSocket server calls the same
 * functions in the same order (server/graphql/limits/query-limits.ts, `prepareOperation`).
 *
 * Depth is checked once, with the cost, against the caller's role (server/graphql/limits/query-limits.ts): after
 * validation, before execution, as QUERY_TOO_DEEP.
 *
 * Wiring: `parseOptions: REQUEST_PARSE_OPTIONS`, `validationRules: requestValidationRules` and the
 * plugin `requestGuardsPlugin()` on the ApolloServer (server/http/app.ts); the same functions on
 * the WebSocket server (server/http/websocket.ts).
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import {
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  parse,
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
  /** UTF-8 bytes of the document's text. */
  maxDocumentBytes: number;
  /** Size of the variables as JSON, about (strings and keys by their length, other values 8 each). */
  maxVariablesBytes: number;
}

export const REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxTokens: 10_000,
  maxFields: 1_000,
  maxAliases: 100,
  maxDocumentBytes: 100_000,
  // As large as the HTTP body may be (1 MB): a 10,000-line order must still reach the service and
  // be refused there with its user error. Larger ones are refused here before anything walks them.
  maxVariablesBytes: 1_000_000,
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

/**
 * Why `document` (parsed from `source`) is too large to validate: its bytes, or an operation's
 * fields or aliases with fragments expanded; undefined when it is within `limits`. Linear in the
 * document: run it before graphql's validation.
 */
export function documentBoundsError(source: string, document: DocumentNode, limits: RequestLimits = REQUEST_LIMITS): GraphQLError | undefined {
  const bytes = Buffer.byteLength(source, "utf8");
  if (bytes > limits.maxDocumentBytes) {
    return boundsRefusal(`The document is ${bytes} bytes; the limit is ${limits.maxDocumentBytes}.`);
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measure = sizer(fragments);
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const size = measure(definition.selectionSet);
    const name = definition.name ? `Operation "${definition.name.value}"` : "The operation";
    if (size.fields > limits.maxFields) return boundsRefusal(`${name} selects ${size.fields} fields; the limit is ${limits.maxFields}.`);
    if (size.aliases > limits.maxAliases) return boundsRefusal(`${name} uses ${size.aliases} aliases; the limit is ${limits.maxAliases}.`);
  }
  return undefined;
}

function boundsRefusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } } });
}

/**
 * Whether `variables` are larger than `max` (about, as JSON). Walks at most until it is sure, so a
 * megabyte of variables costs no more than `max` to refuse.
 */
export function variablesTooLarge(variables: unknown, max: number): boolean {
  let size = 0;
  const pending: unknown[] = [variables];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === "string") size += value.length + 2;
    else if (Array.isArray(value)) {
      size += 2 + value.length;
      if (size > max) return true;
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === "object") {
      size += 2;
      for (const [key, item] of Object.entries(value)) {
        size += key.length + 4;
        pending.push(item);
      }
    } else size += 8;
    if (size > max) return true;
  }
  return false;
}

/**
 * BAD_USER_INPUT (HTTP 400) when the variables are over the size limit or hold a string no text
 * column can store; undefined when they are fine. The size is checked first: it bounds the rest.
 */
export function variablesError(
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: RequestLimits = REQUEST_LIMITS,
): GraphQLError | undefined {
  if (!variables) return undefined;
  if (variablesTooLarge(variables, limits.maxVariablesBytes)) {
    return refusal(`The variables are larger than ${limits.maxVariablesBytes} bytes.`, "BAD_USER_INPUT");
  }
  const found = findUnstorableText(variables);
  return found ? refusal(`Variable "$${found.path}" ${found.reason}.`, "BAD_USER_INPUT") : undefined;
}

/** Stand-in documents (see the module comment), each with the refusal of the document it replaced. */
const refusedDocuments = new WeakMap<DocumentNode, GraphQLError>();

/** A one-field document that {@link refusedDocumentRule} refuses with `error`. */
export function refusedDocument(error: GraphQLError): DocumentNode {
  const document = parse("{ __typename }", { noLocation: true });
  refusedDocuments.set(document, error);
  return document;
}

/** Refuses a stand-in made by {@link refusedDocument} with its reason; passes every other document. */
export const refusedDocumentRule: ValidationRule = (context) => ({
  Document(node) {
    const error = refusedDocuments.get(node);
    if (error) context.reportError(new GraphQLError(error.message, { extensions: error.extensions }));
  },
});

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
export const requestValidationRules: ValidationRule[] = [refusedDocumentRule, requestLimitsRule()];

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
 * Refuses a document over the size limits before it is validated (see the module comment), and,
 * after the operation is known and before it runs: a subscription sent over HTTP (it is served
 * over WebSocket; over HTTP it would fail inside the executor), and variables too large or holding
 * text no column can store. All are answered 400 with a code the client can act on.
 */
export function requestGuardsPlugin<TContext extends BaseContext>(limits: RequestLimits = REQUEST_LIMITS): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async validationDidStart(requestContext) {
          const error = documentBoundsError(requestContext.source, requestContext.document, limits);
          // Read by Apollo after this hook returns: the stand-in is what it validates.
          if (error) (requestContext as { document: DocumentNode }).document = refusedDocument(error);
        },
        async didResolveOperation({ operation, request }) {
          if (operation?.operation === "subscription") {
            throw refusal("Subscriptions are served over WebSocket (protocol graphql-transport-ws) at this path, not over HTTP.", "BAD_REQUEST");
          }
          const error = variablesError(request.variables, limits);
          if (error) throw error;
        },
      };
    },
  };
}

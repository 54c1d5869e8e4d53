/**
 * Subscriptions that share their work: when many subscribers asked for the same thing (the same
 * operation text, variables and role), each live event is executed once and the one result goes
 * to all of them. The event hub hands every subscriber of an instance the same event object, so
 * the result is cached on that object and forgotten with it.
 */
import { createSourceEventStream, type DocumentNode, execute, type ExecutionArgs, type ExecutionResult, print } from "graphql";

const texts = new WeakMap<DocumentNode, string>();
const results = new WeakMap<object, Map<string, Promise<ExecutionResult> | ExecutionResult>>();

function textOf(document: DocumentNode): string {
  let text = texts.get(document);
  if (text === undefined) texts.set(document, (text = print(document)));
  return text;
}

/** Maps a source stream's events to execution results, passing `return` through to the source. */
class ResultStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly run: (event: unknown) => Promise<ExecutionResult> | ExecutionResult,
  ) {}

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const next = await this.source.next();
    if (next.done) return { value: undefined, done: true };
    return { value: await this.run(next.value), done: false };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/** graphql-ws's `subscribe`: graphql-js semantics, with one execution per event and shape of request. */
export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in (stream as object))) return stream as ExecutionResult;
  // The role decides what a result shows (READER sees pseudonyms), so it is part of the shape.
  const context = args.contextValue as { apiKey?: { role?: string } } | undefined;
  const shape = JSON.stringify([textOf(args.document), args.operationName ?? null, args.variableValues ?? {}, context?.apiKey?.role ?? null]);
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return new ResultStream(source, (event) => {
    if (typeof event !== "object" || event === null) return execute({ ...args, rootValue: event });
    let forEvent = results.get(event);
    if (!forEvent) results.set(event, (forEvent = new Map()));
    let result = forEvent.get(shape);
    if (!result) forEvent.set(shape, (result = execute({ ...args, rootValue: event })));
    return result;
  });
}

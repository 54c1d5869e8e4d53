/**
 * Counts the objects an operation resolves while it runs, and stops it once it passes a hard cap
 * (docs/ARCHITECTURE.md, "Access and limits"): the estimate of query-cost.ts is an upper bound only
 * where the services bound a list, so the executor itself keeps the count. Each field that returns
 * objects adds what it returned (1, or a list's items) to the count of its execution; past the cap
 * the field, and every object field resolved after it, fails with RESPONSE_TOO_LARGE, so the
 * server stops doing the work instead of building the response and measuring it afterwards.
 *
 * An execution is counted when its context was registered with {@link meterObjects} (the HTTP
 * plugin and the WebSocket server do); others (scripts, tests calling `execute`) are not. A
 * subscription's context serves every event: each event (the execution's root value) gets a count
 * of its own.
 */
import { FIELD_WORK } from "./query-cost.js";
import { defaultFieldResolver, getNamedType, type GraphQLFieldResolver, GraphQLError, type GraphQLSchema, isCompositeType, isObjectType } from "graphql";

/** The `extensions.code` of a response stopped at the object cap. */
export const RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE";

/** One execution's count. */
export interface ObjectTally {
  objects: number;
  /**
   * The work done beyond the objects (FIELD_WORK in query-cost.ts): each priced field that
   * answered adds its price for the arguments it ran with, corrected by what the field reported
   * ({@link reportWork}). A field that failed did not do its work and adds nothing.
   */
  work: number;
  /** Set once the count passed the cap: everything after fails. */
  stopped: boolean;
  /**
   * Set on a replayed count ({@link replayTally}): `objects` already counts every object of the
   * response, so the settlement (actualCost, query-cost.ts) does not walk the response again.
   */
  complete?: boolean;
}

/** The counts of executions under one context. */
export class ObjectMeter {
  private readonly main: ObjectTally = { objects: 0, work: 0, stopped: false };
  private readonly perRoot = new WeakMap<object, ObjectTally>();

  constructor(readonly maxObjects: number) {}

  /** The count of the execution with `rootValue` (a subscription event), or of the request. */
  tally(rootValue?: unknown): ObjectTally {
    if (rootValue === null || typeof rootValue !== "object") return this.main;
    let tally = this.perRoot.get(rootValue);
    if (!tally) this.perRoot.set(rootValue, (tally = { objects: 0, work: 0, stopped: false }));
    return tally;
  }
}

const meters = new WeakMap<object, ObjectMeter>();

/** Counts the executions run with `context` from now on, capped at `maxObjects` each; returns the meter. */
export function meterObjects(context: object, maxObjects: number): ObjectMeter {
  const meter = new ObjectMeter(maxObjects);
  meters.set(context, meter);
  return meter;
}

/**
 * Registers for `context` a meter that has already counted `counted`: an answer served again
 * without running (server/graphql/read-cache.ts) is charged what its execution was.
 */
export function replayTally(context: object, counted: { objects: number; work: number }): void {
  const meter = new ObjectMeter(Number.POSITIVE_INFINITY);
  Object.assign(meter.tally(), counted, { complete: true });
  meters.set(context, meter);
}

/** The meter registered for `context`, if any. */
export function meterOf(context: unknown): ObjectMeter | undefined {
  return context !== null && typeof context === "object" ? meters.get(context) : undefined;
}

/**
 * Reports that a field of the execution with `rootValue` did `actual` points of work where the
 * estimate priced `estimated` (FIELD_WORK): the settlement charges the work done, not the bound
 * admitted. No-op for an execution without a meter.
 */
export function reportWork(context: unknown, rootValue: unknown, estimated: number, actual: number): void {
  const meter = meterOf(context);
  if (meter) meter.tally(rootValue).work += actual - estimated;
}

/** The error of a response stopped at `maxObjects`. */
export function responseTooLarge(maxObjects: number): GraphQLError {
  return new GraphQLError(
    `The response would hold more than ${maxObjects} objects and was stopped. Ask for smaller pages (first) or fewer nested lists.`,
    { extensions: { code: RESPONSE_TOO_LARGE, maxObjects } },
  );
}

/** Whether a result's errors say it was stopped at the cap. */
export function wasStoppedAtCap(errors: readonly { extensions?: Record<string, unknown> }[] | undefined): boolean {
  return errors?.some((error) => error.extensions?.code === RESPONSE_TOO_LARGE) ?? false;
}

function countOf(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (!Array.isArray(value)) return 1;
  let count = 0;
  for (const item of value) count += countOf(item);
  return count;
}

const instrumented = new WeakSet<GraphQLSchema>();

/**
 * Wraps the resolver of every field of `schema` that returns objects or is priced in FIELD_WORK (introspection's own types
 * excepted: graphql shares them between schemas, and they are answered from memory) so that it
 * counts what it returns against the meter of its context. Changes `schema` in place, once; the
 * printed schema is unchanged. Returns `schema`.
 */
export function meterSchemaObjects(schema: GraphQLSchema): GraphQLSchema {
  if (instrumented.has(schema)) return schema;
  instrumented.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const priced = FIELD_WORK[`${type.name}.${field.name}`];
      // Scalars are no objects; a priced one (a supplier's figures: FIELD_WORK) is wrapped for its work alone.
      const returnsObjects = isCompositeType(getNamedType(field.type));
      if (!returnsObjects && !priced) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        const meter = meterOf(context);
        if (!meter) return resolve(source, args, context, info);
        const tally = meter.tally(info.rootValue);
        if (tally.stopped) throw responseTooLarge(meter.maxObjects);
        const count = (value: unknown) => {
          if (priced && value !== null && value !== undefined) tally.work += Math.max(0, Math.ceil(priced((name) => args[name])));
          if (returnsObjects) tally.objects += countOf(value);
          if (tally.objects > meter.maxObjects) {
            tally.stopped = true;
            throw responseTooLarge(meter.maxObjects);
          }
          return value;
        };
        const value = resolve(source, args, context, info);
        return value instanceof Promise ? value.then(count) : count(value);
      };
    }
  }
  return schema;
}

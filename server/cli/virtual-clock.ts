/**
 * A virtual clock for the whole process, so that `npm run simulate` can play a month in seconds
 * (docs/ARCHITECTURE.md, "Simulating a month"). It replaces the global `Date`: `Date.now()` and
 * `new Date()` answer the virtual instant, and so does the embedded database, because PGlite's
 * PostgreSQL (WebAssembly built with Emscripten) reads the wall clock through `clock_time_get`,
 * which for CLOCK_REALTIME calls `Date.now()` at each call (`_emscripten_date_now` in
 * `@electric-sql/pglite/dist`). `now()`, `clock_timestamp()` and column defaults therefore move
 * with it; `test/services/simulate.test.ts` proves it.
 *
 * The clock stands still between moves: every timestamp the database writes is a function of the
 * scenario alone, which is what makes a seeded run reproducible to the millisecond. PostgreSQL's
 * own timers (setitimer, e.g. the idle statistics flush) compare their deadline with the frozen
 * clock and re-arm until it moves, so close the database (or restore the clock) when done.
 * Monotonic clocks (`performance.now()`, timers) are left alone: durations stay real.
 */

const RealDate = Date;

let installed: VirtualClock | null = null;

/** The process's clock while a simulation runs. */
export interface VirtualClock {
  /** The virtual instant, in milliseconds since the epoch. */
  now(): number;
  /** Moves the clock forward to `ms`; an instant before the current one is an Error (time does not go back). */
  advanceTo(ms: number): void;
  /** Puts the real `Date` back. */
  restore(): void;
}

/**
 * Replaces the global `Date` with one whose current instant is `start` until moved. Throws when a
 * virtual clock is installed already. Dates built from arguments, `Date.parse`, `Date.UTC` and
 * `instanceof Date` behave as before: the replacement shares the real prototype.
 */
export function installVirtualClock(start: Date | number): VirtualClock {
  if (installed) throw new Error("a virtual clock is installed already");
  let current = typeof start === "number" ? start : start.getTime();
  if (!Number.isFinite(current)) throw new Error("the virtual clock needs a valid start");

  // A function, not a subclass: `Date()` called without `new` must still answer a string, and
  // instances must be plain Dates (printed, compared and serialized as before).
  function VirtualDate(this: unknown, ...args: unknown[]): Date | string {
    if (!new.target) return new RealDate(current).toString();
    return args.length === 0 ? new RealDate(current) : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  }
  VirtualDate.prototype = RealDate.prototype;
  VirtualDate.now = () => current;
  VirtualDate.parse = RealDate.parse;
  VirtualDate.UTC = RealDate.UTC;
  globalThis.Date = VirtualDate as unknown as DateConstructor;

  const clock: VirtualClock = {
    now: () => current,
    advanceTo(ms: number) {
      if (!(ms >= current))
        throw new Error(`the virtual clock cannot go back from ${new RealDate(current).toISOString()} to ${new RealDate(ms).toISOString()}`);
      current = ms;
    },
    restore() {
      if (installed !== clock) return;
      globalThis.Date = RealDate;
      installed = null;
    },
  };
  installed = clock;
  return clock;
}

/**
 * Progress on stderr, so stdout carries only the table: one line per step, and for a load phase
 * a line every two seconds (rewritten in place on a terminal).
 */
const started = performance.now();
const tty = process.stderr.isTTY === true;
let live = false;

function stamp(): string {
  return `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
}

function endLive(): void {
  if (live) process.stderr.write("\n");
  live = false;
}

/** A step of the run. */
export function step(message: string): void {
  endLive();
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** A status line for something still running; replaces the previous one on a terminal. */
export function status(message: string): void {
  if (tty) {
    process.stderr.write(`\r\x1b[2K${stamp()}   ${message}`);
    live = true;
  } else {
    process.stderr.write(`${stamp()}   ${message}\n`);
  }
}

/** Ends a run of status lines. */
export function done(): void {
  endLive();
}

#!/usr/bin/env node
/**
 * Repairs four defects of postgres.js 3.4.9 (the PostgreSQL driver) in node_modules, run by
 * `npm install` / `npm ci` (package.json "postinstall"). Plain JavaScript: it runs before anything
 * is compiled, also without dev dependencies. Idempotent; `--check` only reports.
 *
 * All four are in src/connection.js (and its cjs/ and cf/ builds), all are hit when PostgreSQL
 * ends sessions under a running server — pg_terminate_backend, a restart, a failover — and
 * test/reliability/db-faults.test.ts finds each within seconds. The first two are in its write
 * batching (`write` defers a small write to a `setImmediate`, `nextWrite` flushes it):
 *
 *  1. A write deferred on a connection whose socket has closed (the ROLLBACK postgres.js sends for
 *     a transaction whose connection died) runs `socket.write` on `null` inside the immediate:
 *     an uncaught TypeError that ends the whole server process. Patched: with no socket, the
 *     write is dropped and its queries are rejected with CONNECTION_CLOSED (upstream issues
 *     porsager/postgres#1154, #1208).
 *  2. Teardown (`closed`, `terminate`) cancels the pending immediate but leaves `nextWriteTimer`
 *     set, and `write` arms a new flush only while it is null: the connection, reconnected, never
 *     sends its startup message, and every request routed to it waits for CONNECT_TIMEOUT, for
 *     ever. Patched: teardown also resets `nextWriteTimer` and the half-written `chunk`.
 *  3. A query handed to a connection between its socket's error and its close (the pool still
 *     counts it busy) is never settled: `closed` rejects in-flight work only when the close came
 *     without an error. The request waits for ever. Patched: `closed` rejects it either way.
 *  4. A reconnected connection keeps the dead session's `query` and `errorResponse`. The first
 *     query of the new session then fails with the old session's error (57P01), and while the
 *     database refuses connections (ALLOW_CONNECTIONS false, starting up) its refusal is held for
 *     a ReadyForQuery that never comes: the query hangs and the driver reconnects in a tight loop
 *     until the database accepts connections again. Patched: a new session starts clean; work
 *     left from the dead one is rejected with CONNECTION_CLOSED (upstream porsager/postgres#1215).
 *
 * When postgres.js changes, this stops `npm ci` with a message rather than silently not patching:
 * check whether the new version has the fixes, then update or delete this script.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MARKER = "/* backorder-engine: patched session teardown */";
const BUILDS = ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"];

const REPLACEMENTS = [
  {
    what: "nextWrite without a socket",
    from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    to:
      `  function nextWrite(fn) {\n    ${MARKER}\n` +
      "    if (socket === null) {\n" +
      "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
      "      chunk = nextWriteTimer = null\n" +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n" +
      "      return false\n" +
      "    }\n" +
      "    const x = socket.write(chunk, fn)\n",
  },
  {
    what: "terminate() resets the write batch",
    from: "    clearImmediate(nextWriteTimer)\n    if (socket) {\n",
    to: "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {\n",
  },
  {
    what: "closed() resets the write batch",
    from: "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)\n",
    to: "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)\n",
  },
  {
    what: "closed() settles work sent after a socket error",
    from: "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    to: "    if (query || sent.length) error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
  },
  {
    what: "connected() starts a clean session",
    from: "  function connected() {\n    try {\n",
    to:
      "  function connected() {\n" +
      "    if (query || sent.length) {\n" +
      "      const stale = Errors.connection('CONNECTION_CLOSED', options, socket)\n" +
      "      query && queryError(query, stale)\n" +
      "      while (sent.length) queryError(sent.shift(), stale)\n" +
      "    }\n" +
      "    nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
      "    chunk = nextWriteTimer = query = results = errorResponse = null\n" +
      "    result = new Result()\n" +
      "    try {\n",
  },
];

function packageDir() {
  const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "package.json"));
  // The package exports no package.json: walk up from its CommonJS entry point.
  let dir = path.dirname(require.resolve("postgres"));
  while (dir !== path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
      if (manifest.name === "postgres") return { dir, version: manifest.version };
    } catch {
      // Not this folder.
    }
    dir = path.dirname(dir);
  }
  throw new Error("postgres.js is not installed");
}

function main() {
  const checkOnly = process.argv.includes("--check");
  const { dir, version } = packageDir();
  const problems = [];
  let patched = 0;
  for (const build of BUILDS) {
    const file = path.join(dir, build);
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      problems.push(`${build}: missing`);
      continue;
    }
    if (text.includes(MARKER)) continue;
    const missing = REPLACEMENTS.filter(({ from }) => text.split(from).length !== 2);
    if (missing.length > 0) {
      problems.push(`${build}: cannot find ${missing.map((m) => m.what).join(", ")}`);
      continue;
    }
    if (checkOnly) {
      problems.push(`${build}: not patched`);
      continue;
    }
    for (const { from, to } of REPLACEMENTS) text = text.replace(from, to);
    writeFileSync(file, text);
    patched += 1;
  }
  if (problems.length > 0) {
    console.error(
      `postgres.js ${version}: ${problems.join("; ")}.\n` +
        (checkOnly ? "Run: node drizzle/postgres-driver.patch.mjs\n" : "This patch was written for 3.4.9: see drizzle/postgres-driver.patch.mjs.\n"),
    );
    process.exit(1);
  }
  console.log(`postgres.js ${version}: session teardown ${checkOnly ? "is patched" : patched > 0 ? `patched in ${patched} builds` : "already patched"}`);
}

main();

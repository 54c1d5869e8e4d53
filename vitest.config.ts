/**
 * Every suite runs on a real database (docs/ARCHITECTURE.md, "Running it"): the `pglite` project always, and the
 * `postgres` project as well when `TEST_DATABASE_URL` or `DATABASE_URL` names a PostgreSQL server.
 * Each project tells its tests which one they are on through `TEST_DB` (see test/support/database.ts).
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);
const postgresUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || "";

export default defineConfig({
  resolve: {
    // One copy of graphql for type-graphql (CommonJS) and the tests (ESM), or graphql throws
    // "Cannot use GraphQLSchema from another module or realm" (docs/ARCHITECTURE.md, "Known traps").
    alias: { graphql: require.resolve("graphql") },
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The attack replays measure /healthz latency under attack: they run alone (npm run test:attacks,
    // a step of .ci/run of its own), not beside the other files competing for the same 2 cores.
    exclude: ["test/bench/**", "node_modules/**", ...(process.env.RUN_ATTACKS ? [] : ["test/security/attacks.test.ts"])],
    // Child processes: one in-memory PGlite (about 100 MB) per file is fine with 24 GB of RAM,
    // and a fork can be killed cleanly when a file hangs on a socket.
    pool: "forks",
    fileParallelism: true,
    maxWorkers: Math.max(2, availableParallelism()),
    // PGlite starts in about a second and migrates in a few hundred ms; the PostgreSQL
    // concurrency suites run bounded loads of several seconds.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    setupFiles: ["test/support/test-env.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "pglite",
          env: { TEST_DB: "pglite" },
          // Dumps a migrated data directory once per run; each file loads it.
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: "postgres",
                env: { TEST_DB: "postgres", TEST_DATABASE_URL: postgresUrl },
                // Migrates a template database once per run; each file clones it.
                globalSetup: ["test/support/global-setup.ts"],
              },
            },
          ]
        : []),
    ],
  },
});

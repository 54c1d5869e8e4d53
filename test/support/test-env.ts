/**
 * Runs before every test file (vitest `setupFiles`). A test finds its database through
 * test/support/database.ts, never through `DATABASE_URL`: a server or service started by a test
 * must not fall through to the shared database the developer happened to export, and a PGlite
 * run must not see a PostgreSQL URL at all.
 */
delete process.env.DATABASE_URL;
if (process.env.TEST_DB !== "postgres") delete process.env.TEST_DATABASE_URL;

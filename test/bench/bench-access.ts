/**
 * The bench's own API key. The server refuses requests without one (docs/ARCHITECTURE.md, "Access and limits"), and
 * meters each key's cost per second and caps its WebSocket connections: the bench runs as an
 * ADMIN key whose budget and cap are raised far beyond any load it makes (QUERY_LIMITS), so the
 * figures measure the engine, not the metering policy. Authenticating each request (the key
 * look-up) stays part of what is measured.
 */
import { randomBytes } from "node:crypto";
import { connect } from "../../drizzle/db.js";
import { ensureApiKey } from "../../server/services/api-key.service.js";

/** A fresh secret for this run's databases. */
export const BENCH_SECRET = `bo_bench_${randomBytes(24).toString("hex")}`;

/** The Authorization header value (over WebSocket: `connectionParams.authorization`). */
export const BENCH_AUTHORIZATION = `Bearer ${BENCH_SECRET}`;

/**
 * QUERY_LIMITS for the server: depth as default; cost, budget and the WebSocket connections one
 * key may hold (the fan-out's 1,000 subscribers share the bench's key) out of the way.
 */
export const BENCH_QUERY_LIMITS = JSON.stringify({
  ADMIN: { maxCost: 1e9, capacity: 1e12, refillPerSecond: 1e12, maxConnectionsPerKey: 1e6 },
});

/** Makes sure the bench's key exists in the database before the server starts. */
export async function ensureBenchKey(databaseUrl: string): Promise<void> {
  const connection = await connect({ databaseUrl, max: 1 });
  try {
    await ensureApiKey(connection.db, { secret: BENCH_SECRET, role: "ADMIN", name: "bench" });
  } finally {
    await connection.close();
  }
}

/**
 * The real server behind the statement-capturing proxy (statement-capture.ts): what the scale
 * scenario's rows EXPLAIN is exactly what the server sent for a request.
 */
import { GraphQLClient } from "../graphql-client.js";
import type { ScenarioContext } from "../scenario.js";
import { StatementCapture } from "./statement-capture.js";

/** Starts a server on `databaseUrl` through a capturing proxy, runs `work` with a client of it and the capture, then stops both. */
export async function withCapturedServer<T>(
  context: ScenarioContext,
  databaseUrl: string,
  work: (client: GraphQLClient, capture: StatementCapture) => Promise<T>,
): Promise<T> {
  const database = new URL(databaseUrl);
  const capture = new StatementCapture({ host: database.hostname, port: Number(database.port || 5432) });
  const proxied = new URL(databaseUrl);
  proxied.port = String(await capture.listen());
  const server = await context.startServer({ databaseUrl: proxied.toString() });
  const client = new GraphQLClient(server.url, 1);
  try {
    return await work(client, capture);
  } finally {
    client.close();
    await server.stop();
    await capture.close();
  }
}

import { startServer } from "../server-process.js";
import { GraphQLClient } from "../graphql-client.js";
import { runLoad } from "../load.js";
const url = `postgres://postgres@127.0.0.1:5432/${process.argv[2]}`;
const q = process.argv[3] ?? `{ products(first: 20) { nodes { sku stock { available backordered } backlog(first: 5) { totalCount } } } }`;
const server = await startServer({ databaseUrl: url, nodeArgs: ["--cpu-prof", "--cpu-prof-dir=/tmp/profq"] });
const client = new GraphQLClient(server.url, 32);
try {
  const r = await runLoad({ label: "q", clients: 32, warmupMs: 1000, durationMs: 6000, operation: async () => void (await client.data(q)) });
  console.log("rate", r.rate);
} finally { client.close(); await server.stop(); }

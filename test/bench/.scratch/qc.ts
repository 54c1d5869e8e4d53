import { StatementCounter } from "../statement-counter.js";
import { startServer } from "../server-process.js";
import { GraphQLClient } from "../graphql-client.js";
const db = process.argv[2];
const counter = new StatementCounter({ host: "127.0.0.1", port: 5432 });
const port = await counter.listen();
const server = await startServer({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/${db}` });
const client = new GraphQLClient(server.url, 1);
const NESTED = `query Nested($first: Int) { products(first: $first) { nodes { sku
  backlog(first: 5) { nodes { order { lines { product { sku } } } product { sku } } } } } }`;
try {
for (const first of [20, 20]) {
  let r: any;
  const c = await counter.count(async () => { r = await client.data(`{ products(first: 20) { nodes { sku stock { available backordered } backlog(first: 5) { totalCount } } } }`); });
  console.log(first, r.products.nodes.length, c.statements, c.background, c.texts.map((t) => t.slice(0, 60)));
}
} finally { client.close(); await server.stop(); await counter.close(); }

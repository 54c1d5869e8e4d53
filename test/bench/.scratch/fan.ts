import { StatementCounter } from "../statement-counter.js";
import { startServer } from "../server-process.js";
import { GraphQLClient } from "../graphql-client.js";
import { SubscriberSwarm } from "../ws-subscriber.js";
import { BenchDatabases } from "../bench-database.js";
import { connect } from "../../../drizzle/db.js";
import { createProduct } from "../../../server/services/product.service.js";
import { toGlobalId } from "../../../server/node-id.js";
const n = Number(process.argv[2] ?? 100);
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = new URL(await dbs.create("fanprobe"));
const c = await connect({ databaseUrl: url.toString() });
const p = await createProduct(c.db, { sku: "F", name: "f", price: "1.00", backorderPolicy: "ALLOW" });
const counter = new StatementCounter({ host: "127.0.0.1", port: 5432 });
url.port = String(await counter.listen());
const server = await startServer({ databaseUrl: url.toString() });
const client = new GraphQLClient(server.url, 1);
let got = 0; let done: () => void = () => {};
const swarm = new SubscriberSwarm(server.wsUrl, { query: `subscription($ids:[ID!]) { backlogChanged(productIds:$ids) { backordered cursor at } }`, variables: { ids: [toGlobalId("Product", p.id)] } }, () => { if (++got === n) done(); });
try {
  await swarm.connect(n);
  const M = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`;
  for (let i = 0; i < 3; i++) {
    got = 0;
    const all = new Promise<void>((r) => (done = r));
    const t = performance.now();
    const count = await counter.count(async () => { await client.data(M, { input: { customer: "x", lines: [{ productId: toGlobalId("Product", p.id), quantity: 1 }] } }); await all; });
    const byText = new Map<string, number>(); for (const t of count.texts) byText.set(t.slice(0, 70), (byText.get(t.slice(0, 70)) ?? 0) + 1);
    console.log(`${n} subscribers: all received after ${(performance.now() - t).toFixed(0)} ms; statements ${count.statements} (+${count.background} background)`, [...byText].filter(([, v]) => v > 2));
  }
} finally { swarm.close(); client.close(); await server.stop(); await counter.close(); await c.close(); await dbs.dropAll(); }

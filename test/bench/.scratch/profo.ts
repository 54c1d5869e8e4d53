import { startServer } from "../server-process.js";
import { GraphQLClient } from "../graphql-client.js";
import { runLoad } from "../load.js";
import { BenchDatabases } from "../bench-database.js";
import { connect } from "../../../drizzle/db.js";
import { createCatalogue } from "../catalogue.js";
import { toGlobalId } from "../../../server/node-id.js";
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = await dbs.create("profo");
const c = await connect({ databaseUrl: url });
const ids = await createCatalogue(c.db, 200, (i) => ({ sku: `P${i}`, name: "p", price: "1.00", backorderPolicy: "ALLOW", initialStock: 100000 }));
const server = await startServer({ databaseUrl: url, nodeArgs: process.argv[2] === "noprof" ? [] : ["--cpu-prof", "--cpu-prof-dir=/tmp/profo"] });
const client = new GraphQLClient(server.url, 32);
const M = process.argv[3] ?? `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { code message } } }`;
try {
  let n = 0;
  const { readFileSync } = await import("node:fs");
  const st = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8"); const x = f.slice(f.lastIndexOf(")") + 2).split(" "); return [Number(x[11]), Number(x[12])]; };
  const selfSt = () => { const u = process.cpuUsage(); return [u.user / 1e4, u.system / 1e4]; };
  const a = st(server.pid), sa = selfSt(); setTimeout(() => { const b = st(server.pid), sb = selfSt(); console.log(`server utime ${b[0] - a[0]} stime ${b[1] - a[1]} ticks over 8s; bench user ${(sb[0] - sa[0]).toFixed(0)} sys ${(sb[1] - sa[1]).toFixed(0)}`); }, 8000);
  const r = await runLoad({ label: "o", clients: 32, warmupMs: 1000, durationMs: 8000, operation: async (w) => void (await client.data(M, { input: { customer: "c", lines: [{ productId: toGlobalId("Product", ids[(n++ * 7) % 200]), quantity: 1 }] } })) });
  console.log("rate", r.rate, r.failed, r.firstError);
} finally { client.close(); await server.stop(); await c.close(); await dbs.dropAll(); }

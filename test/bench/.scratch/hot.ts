import { readFileSync } from "node:fs";
import { execSync } from "node:child_process";
import { connect } from "../../../drizzle/db.js";
import { BenchDatabases } from "../bench-database.js";
import { placeOrder } from "../../../server/services/order.service.js";
import { createProduct } from "../../../server/services/product.service.js";
import { startServer } from "../server-process.js";
import { GraphQLClient } from "../graphql-client.js";
import { toGlobalId } from "../../../server/node-id.js";

const ticks = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const pgTicks = () => execSync("ps -C postgres -o times=").toString().trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0);
function cpu() { const f = readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number); return { busy: f[0]+f[1]+f[2]+f[5]+f[6], total: f.reduce((a,b)=>a+b,0) }; }
const mode = process.argv[2] ?? "hot";
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = await dbs.create("hotprobe");
const c = await connect({ databaseUrl: url });
const server = await startServer({ databaseUrl: url });
const client = new GraphQLClient(server.url, 32);
try {
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) ids.push((await createProduct(c.db, { sku: `H${i}`, name: "p", price: "1.00", backorderPolicy: "ALLOW", initialStock: mode === "hot" ? 100 : 1000000 })).id);
  const M = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }`;
  const run = async (label: string, op: (w: number) => Promise<unknown>) => {
    const c0 = cpu(), s0 = ticks(server.pid), b0 = process.cpuUsage(), p0 = pgTicks(); const t = performance.now(); let n = 0;
    const end = t + 6000;
    await Promise.all(Array.from({ length: 32 }, async (_, w) => { while (performance.now() < end) { await op(w); n++; } }));
    const s = (performance.now() - t) / 1000; const c1 = cpu(); const b1 = process.cpuUsage(b0);
    console.log(`${label}: ${(n / s).toFixed(0)}/s machine ${(100 * (c1.busy - c0.busy) / (c1.total - c0.total)).toFixed(0)}% server ${((ticks(server.pid) - s0) / s).toFixed(0)}% bench ${((b1.user + b1.system) / 1e4 / s).toFixed(0)}% pg ${((pgTicks() - p0) / s * 100).toFixed(0)}%`);
  };
  await run("http", (w) => client.data(M, { input: { customer: "c", lines: [{ productId: toGlobalId("Product", ids[0]), quantity: 1 }] } }));
  await run("inproc", () => placeOrder(c.db, { customer: "c", lines: [{ productId: ids[1], quantity: 1 }] }));
  await run("http", (w) => client.data(M, { input: { customer: "c", lines: [{ productId: toGlobalId("Product", ids[2]), quantity: 1 }] } }));
  await run("inproc", () => placeOrder(c.db, { customer: "c", lines: [{ productId: ids[3], quantity: 1 }] }));
} finally { client.close(); await server.stop(); await c.close(); await dbs.dropAll(); }

import { connect } from "../../../drizzle/db.js";
import { BenchDatabases } from "../bench-database.js";
import { placeOrder } from "../../../server/services/order.service.js";
import { createProduct } from "../../../server/services/product.service.js";
import { readFileSync } from "node:fs";

function cpu() { const f = readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number); return { busy: f[0]+f[1]+f[2]+f[5]+f[6], total: f.reduce((a,b)=>a+b,0), iowait: f[4] }; }
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = await dbs.create("probe");
const c = await connect({ databaseUrl: url, debug: undefined } as never);
try {
  const ids: number[] = [];
  for (let i = 0; i < 100; i++) ids.push((await createProduct(c.db, { sku: `P${i}`, name: "p", price: "1.00", backorderPolicy: "ALLOW", initialStock: 100000 })).id);
  let t = performance.now();
  for (let i = 0; i < 300; i++) await placeOrder(c.db, { customer: "x", lines: [{ productId: ids[i % 100], quantity: 1 }] });
  console.log("sequential ms/order", (performance.now() - t) / 300);
  for (const conc of [1, 4, 10, 32]) {
    const c0 = cpu(); t = performance.now(); let n = 0;
    await Promise.all(Array.from({ length: conc }, async (_, w) => { for (let i = 0; i < 1200 / conc; i++) { await placeOrder(c.db, { customer: "x", lines: [{ productId: ids[(w * 7 + i) % 100], quantity: 1 }] }); n++; } }));
    const c1 = cpu(); const s = (performance.now() - t) / 1000;
    console.log(`conc ${conc}: ${(n / s).toFixed(0)}/s, machine busy ${(100 * (c1.busy - c0.busy) / (c1.total - c0.total)).toFixed(0)}% iowait ticks ${c1.iowait - c0.iowait}`);
  }
} finally { await c.close(); await dbs.dropAll(); }

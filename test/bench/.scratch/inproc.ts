import { runLoad } from "../load.js";
import { BenchDatabases } from "../bench-database.js";
import { connect } from "../../../drizzle/db.js";
import { createCatalogue } from "../catalogue.js";
import { placeOrder } from "../../../server/services/order.service.js";
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = await dbs.create("inproc");
const c = await connect({ databaseUrl: url });
const ids = await createCatalogue(c.db, 200, (i) => ({ sku: `P${i}`, name: "p", price: "1.00", backorderPolicy: "ALLOW", initialStock: 100000 }));
try {
  let n = 0; const u0 = process.cpuUsage();
  const r = await runLoad({ label: "o", clients: 32, warmupMs: 1000, durationMs: 8000, operation: async () => void (await placeOrder(c.db, { customer: "c", lines: [{ productId: ids[(n++ * 7) % 200], quantity: 1 }] })) });
  const u = process.cpuUsage(u0);
  console.log("rate", r.rate, "cpu ms per order (incl warmup)", ((u.user + u.system) / 1000 / n).toFixed(2), "user", (u.user/1000/n).toFixed(2));
} finally { await c.close(); await dbs.dropAll(); }

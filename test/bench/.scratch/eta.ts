import { sql, type SQL } from "drizzle-orm";
import { connect, rows, type Executor } from "../../../drizzle/db.js";
import { BenchDatabases } from "../bench-database.js";
import { queueBackorders, scheduleSupply } from "../backlog.fixture.js";
import { createProduct } from "../../../server/services/product.service.js";
import { getDefaultLocation } from "../../../server/services/location.service.js";
import { recomputeEta } from "../../../server/services/eta.service.js";
import { receiveRestock } from "../../../server/services/restock.service.js";
import { inTransaction } from "../../../server/services/transaction.js";
const n = Number(process.argv[2] ?? 100000);
const what = process.argv[3] ?? "eta";
const dbs = new BenchDatabases("postgres://postgres@127.0.0.1:5432/test");
const url = await dbs.create("etaprobe");
const c = await connect({ databaseUrl: url });
class Explained extends Error {}
function explaining(tx: Executor): Executor {
  return new Proxy(tx, { get(target, prop) {
    if (prop === "execute") return async (q: SQL) => {
      const t = performance.now();
      const plan = await rows<{ "QUERY PLAN": string }>(target, sql`EXPLAIN (ANALYZE, BUFFERS, SETTINGS) ${q}`);
      console.log(`---- ${(performance.now() - t).toFixed(0)} ms\n` + plan.map((r) => r["QUERY PLAN"]).join("\n"));
      return rows(target, q);
    };
    return (target as any)[prop];
  } }) as Executor;
}
try {
  if (process.env.FF) await c.db.execute(sql.raw(`ALTER TABLE backorders SET (fillfactor = ${process.env.FF})`));
  const loc = await getDefaultLocation(c.db);
  const p = await createProduct(c.db, { sku: "E", name: "e", price: "5.00", backorderPolicy: "ALLOW" });
  const b = await queueBackorders(c.db, p.id, n);
  const third = Math.ceil(b.units / 3);
  const [, , all] = await scheduleSupply(c.db, p.id, loc.id, [{ units: third, days: 3 }, { units: third, days: 6 }, { units: b.units, days: 10 }]);
  await c.db.execute(sql`ANALYZE`);
  if (what === "eta") {
    await inTransaction(c.db, async (tx) => { await recomputeEta(explaining(tx), p.id); throw new Explained(); }).catch((e) => { if (!(e instanceof Explained)) throw e; });
    let t = performance.now(); await inTransaction(c.db, (tx) => recomputeEta(tx, p.id)); console.log("eta first", performance.now() - t);
    t = performance.now(); await inTransaction(c.db, (tx) => recomputeEta(tx, p.id)); console.log("eta again (nothing changes)", performance.now() - t);
    t = performance.now(); await c.db.execute(sql`UPDATE backorders SET priority = priority WHERE product_id = ${p.id}`); console.log("update", performance.now() - t);
  } else if (what === "fillexplain") {
    const { fillBacklog } = await import("../../../server/services/backlog.service.js");
    await c.db.execute(sql`UPDATE stock_levels SET on_hand = on_hand + ${b.units} WHERE product_id = ${p.id}`);
    await inTransaction(c.db, async (tx) => { await fillBacklog(explaining(tx), p.id); throw new Explained(); }).catch((e) => { if (!(e instanceof Explained)) throw e; });
  } else {
    // time each statement of the fill
    const timing = (tx: Executor): Executor => new Proxy(tx, { get(target, prop) {
      if (prop === "execute") return async (q: SQL) => { const t = performance.now(); const r = await target.execute(q); const text = c.db.dialect.sqlToQuery(q).sql.replace(/\s+/g, " ").slice(0, 80); console.log(`${(performance.now() - t).toFixed(0).padStart(6)} ms ${text}`); return r; };
      if (prop === "select" || prop === "update") return (...a: unknown[]) => { console.log(`   (builder ${String(prop)})`); return (target as any)[prop](...a); };
      return (target as any)[prop];
    } }) as Executor;
    const db2 = new Proxy(c.db, { get(target, prop) { if (prop === "transaction") return (fn: any, cfg: any) => target.transaction((tx: any) => fn(timing(tx)), cfg); return (target as any)[prop]; } });
    const t = performance.now(); await receiveRestock(db2 as any, all); console.log("receive total", performance.now() - t);
  }
} finally { await c.close(); await dbs.dropAll(); }

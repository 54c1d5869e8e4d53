import { sql, type SQL } from "drizzle-orm";
import { connect, rows, type Executor } from "../../../drizzle/db.js";
import { backlogPages } from "../../../server/services/backlog.query.js";
import { stockSummaries, listProducts } from "../../../server/services/product.query.js";
const c = await connect({ databaseUrl: `postgres://postgres@127.0.0.1:5432/${process.argv[2]}` });
function explaining(tx: Executor): Executor {
  return new Proxy(tx, { get(target, prop) {
    if (prop === "execute") return async (q: SQL) => {
      const t = performance.now();
      const plan = await rows<{ "QUERY PLAN": string }>(target, sql`EXPLAIN (ANALYZE, BUFFERS) ${q}`);
      console.log(`---- ${(performance.now() - t).toFixed(0)} ms\n` + plan.map((r) => r["QUERY PLAN"]).join("\n"));
      return rows(target, q);
    };
    return (target as any)[prop];
  } }) as Executor;
}
try {
  const page = await listProducts(c.db, null, { first: 20 });
  const ids = ((page as any).nodes ?? (page as any).rows ?? (page as any).items).map((p: any) => p.id);
  for (let i = 0; i < 3; i++) {
    let t = performance.now(); await stockSummaries(c.db, ids); console.log("stockSummaries", (performance.now() - t).toFixed(1));
    t = performance.now(); await backlogPages(c.db, ids.map((id: number) => ({ productId: id, first: 5 }))); console.log("backlogPages", (performance.now() - t).toFixed(1));
    t = performance.now(); await listProducts(c.db, null, { first: 20 }); console.log("listProducts", (performance.now() - t).toFixed(1));
  }
  await stockSummaries(explaining(c.db), ids);
  await backlogPages(explaining(c.db), ids.map((id: number) => ({ productId: id, first: 5 })));
} finally { await c.close(); }

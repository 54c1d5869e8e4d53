import postgres from "postgres";
import { StatementCounter } from "../statement-counter.js";
const counter = new StatementCounter({ host: "127.0.0.1", port: 5432 });
const port = await counter.listen();
const sql = postgres(`postgres://postgres@127.0.0.1:${port}/test`, { max: 3 });
await sql`select 1`;
const big = "x".repeat(200000);
const c = await counter.count(async () => {
  await Promise.all([sql`select ${big}::text as a`, sql`select 2`, sql`select ${[1,2,3]}::int[]`, sql.begin(async (t) => { await t`select 3`; await t`select 4`; })]);
  for (let i = 0; i < 50; i++) await sql`select ${i}::int`;
});
console.log(c.statements, c.background, c.texts);
await sql.end(); await counter.close();

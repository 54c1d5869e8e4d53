/**
 * `npm run schema:emit`: writes schema/schema.graphql from the classes. With `--check` it writes
 * nothing and exits 1 when the committed file is stale (for CI).
 */
import { readFile, writeFile } from "node:fs/promises";
import { buildGraphQLSchema, printGraphQLSchema, schemaFile } from "../graphql/build-schema.js";

const printed = printGraphQLSchema(await buildGraphQLSchema());
if (process.argv.includes("--check")) {
  const current = await readFile(schemaFile, "utf8").catch(() => "");
  if (current !== printed) {
    process.stderr.write(`${schemaFile} is stale: run npm run schema:emit\n`);
    process.exit(1);
  }
  process.stdout.write(`${schemaFile} is up to date\n`);
} else {
  await writeFile(schemaFile, printed);
  process.stdout.write(`wrote ${schemaFile}\n`);
}

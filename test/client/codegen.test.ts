/**
 * The client's generated types are committed (client/generated/graphql.ts): this regenerates
 * them in memory from codegen.ts, the schema and client/operations, and fails when the committed
 * file differs — a changed schema or operation without `npm run codegen`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../../codegen.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("generated client types", () => {
  it("match what codegen.ts generates from the schema and the operations (run `npm run codegen` when not)", async () => {
    const outputs = await generate({ ...config, cwd: root, silent: true, verbose: false }, false);
    expect(outputs.map((output: { filename: string }) => path.relative(root, path.resolve(root, output.filename)))).toEqual([
      "client/generated/graphql.ts",
    ]);
    const committed = readFileSync(path.join(root, "client/generated/graphql.ts"), "utf8");
    expect(outputs[0].content === committed, "client/generated/graphql.ts is stale: run `npm run codegen` and commit it").toBe(true);
  });

  it("would notice an operation added without regenerating", async () => {
    const documents = [...(config.documents as string[]), "query ExtraForTheStalenessCheck { eventCursor }"];
    const [output] = await generate({ ...config, documents, cwd: root, silent: true }, false);
    expect(output.content).toContain("ExtraForTheStalenessCheckDocument");
    expect(output.content).not.toBe(readFileSync(path.join(root, "client/generated/graphql.ts"), "utf8"));
  });
});

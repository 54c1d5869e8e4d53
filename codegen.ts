/**
 * GraphQL Code Generator: the client's operations (client/operations/*.graphql) checked against
 * the committed schema and turned into typed documents in client/generated/graphql.ts.
 *
 * `npm run codegen` rewrites the file; test/client/codegen.test.ts fails when it is stale. The
 * output depends on nothing but these inputs (documents are loaded in sorted order, no dates or
 * paths in the file), so two runs on any machine write the same bytes.
 *
 * Documents are emitted as typed strings (`documentMode: "string"`), not parsed DocumentNodes:
 * the client sends them as they are and so needs no `graphql` package at run time, which keeps
 * it small in a browser.
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: ["client/operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "client/generated/graphql.ts": {
      // typescript-operations 6 writes the enums and input types the operations use by itself;
      // the `typescript` plugin beside it would declare every enum a second time (a type error)
      // and add the whole schema's types, which the client does not need.
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        enumType: "string-literal",
        strictScalars: true,
        scalars: {
          DateTime: { input: "string", output: "string" },
          Decimal: { input: "string", output: "string" },
        },
        useTypeImports: true,
        skipTypename: true,
        documentMode: "string",
        dedupeFragments: true,
      },
    },
  },
};

export default config;

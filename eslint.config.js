// @ts-check
/**
 * ESLint (flat config) for `npm run lint`: the JavaScript and typescript-eslint recommended sets over
 * every source folder. No stylistic rules: Prettier owns the layout (`npm run format:check`), so the two
 * never disagree.
 *
 * Not the type-aware `recommendedTypeChecked`: it takes about 17 s here, but reports some 1,100
 * `no-unsafe-*` findings, nearly all in tests that read GraphQL JSON answers typed `any` on purpose.
 */
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

/** A leading underscore marks a binding kept on purpose: a decorated argument, an Express error handler's `next`. */
const unusedVariables = {
  argsIgnorePattern: "^_",
  varsIgnorePattern: "^_",
  caughtErrorsIgnorePattern: "^_",
  destructuredArrayIgnorePattern: "^_",
  // `const { secret: _secret, ...rest } = row` drops a field; the rest is what is used.
  ignoreRestSiblings: true,
};

export default defineConfig(
  {
    ignores: ["client/generated/**", "drizzle/migrations/**", ".data/**", "artifacts/**", "scratch/**"],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  js.configs.recommended,
  {
    files: ["**/*.{js,mjs}"],
    languageOptions: { globals: globals.node },
    rules: { "no-unused-vars": ["error", unusedVariables] },
  },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: { "@typescript-eslint/no-unused-vars": ["error", unusedVariables] },
  },
  {
    files: ["client/dashboard/**"],
    languageOptions: { globals: globals.browser },
  },
  {
    // A classic script, loaded after the vendored React, ReactDOM, graphql-ws and GraphiQL bundles.
    files: ["client/explorer/explorer.js"],
    languageOptions: {
      sourceType: "script",
      globals: { ...globals.browser, React: "readonly", ReactDOM: "readonly", graphqlWs: "readonly", GraphiQL: "readonly" },
    },
  },
  {
    // Tests read GraphQL answers off the wire and name each field as they read it
    // (test/support/http.ts `GraphQLBody.data`); typing every answer would restate the schema.
    files: ["test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);

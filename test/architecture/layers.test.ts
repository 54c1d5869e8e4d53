/**
 * The layer rule of docs/ARCHITECTURE.md ("Layers"): imports run only downward,
 * cli → http → graphql / live → services → drizzle, with schema/ beside graphql and client/ on its
 * own, and no file is part of an import cycle. Read from the sources with TypeScript's own import
 * scanner (type-only imports count: they couple the layers as much as the others).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Layer = "drizzle" | "contract" | "services" | "schema" | "graphql" | "live" | "http" | "cli" | "config" | "logger" | "metrics" | "client";

/** The layer a repository file belongs to, or null for files outside the rule (tests, tooling). */
export function layerOf(file: string): Layer | null {
  if (file === "drizzle/contract.ts") return "contract";
  if (file.startsWith("drizzle/")) return "drizzle";
  if (file.startsWith("schema/")) return "schema";
  if (file.startsWith("client/")) return "client";
  if (file === "server/config.ts") return "config";
  if (file === "server/logger.ts") return "logger";
  if (file === "server/metrics.ts") return "metrics";
  const room = /^server\/(services|graphql|live|http|cli)\//.exec(file);
  if (room) return room[1] as Layer;
  return null;
}

/** What each layer may import (its own layer included). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  contract: ["contract"],
  drizzle: ["drizzle", "contract"],
  services: ["services", "drizzle", "contract"],
  // schema/ imports nothing of ours but the one source of the contract's value lists.
  schema: ["schema", "contract"],
  graphql: ["graphql", "schema", "services", "drizzle", "contract", "logger"],
  live: ["live", "services", "drizzle", "contract", "logger"],
  logger: ["logger"],
  // The Prometheus registry: recorded into and served by the HTTP layer only, so services stay free of it.
  metrics: ["metrics"],
  // The configuration parses the per-role query limits it hands to the HTTP layer.
  config: ["config", "logger", "graphql"],
  http: ["http", "config", "graphql", "live", "schema", "services", "drizzle", "contract", "logger", "metrics"],
  cli: ["cli", "http", "config", "graphql", "live", "schema", "services", "drizzle", "contract", "logger", "metrics"],
  client: ["client"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts"))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
}

/** The repository files `file` imports (relative specifiers only; packages are not ours). */
export function importsOf(file: string, text = readFileSync(path.join(root, file), "utf8")): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((entry) => entry.fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).replace(/\.js$/, ".ts"));
}

/** Every import that breaks the layer rule, as "from → to (layer → layer)". */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (from === null) continue;
    for (const target of imports) {
      const to = layerOf(target);
      if (to === null || !ALLOWED[from].includes(to)) found.push(`${file} → ${target} (${from} → ${to ?? "outside the layers"})`);
    }
  }
  return found;
}

/** Every import cycle, each as the files around it, found by a depth-first walk. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") cycles.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

function projectGraph(): Map<string, string[]> {
  const files = ["drizzle", "schema", "server", "client"].flatMap(sourceFiles);
  return new Map(files.map((file) => [file, importsOf(file)]));
}

describe("layers", () => {
  const graph = projectGraph();

  it("reads every layer's files", () => {
    const layers = new Set([...graph.keys()].map(layerOf));
    for (const layer of Object.keys(ALLOWED)) expect(layers, layer).toContain(layer);
  });

  it("has no import that runs upward or sideways", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("has no import cycle outside schema/ (GraphQL types refer to each other lazily there)", () => {
    const cycles = importCycles(graph).filter((cycle) => !cycle.every((file) => file.startsWith("schema/")));
    expect(cycles).toEqual([]);
  });

  it("keeps only config.ts, logger.ts and metrics.ts beside the layer folders in server/", () => {
    const entries = readdirSync(path.join(root, "server")).sort();
    expect(entries).toEqual(["cli", "config.ts", "graphql", "http", "live", "logger.ts", "metrics.ts", "services"]);
  });

  // The check itself: each rule must catch a deliberate break.
  it("catches a service importing the GraphQL layer, a sideways import and a cycle", () => {
    const broken = new Map(graph);
    broken.set("server/services/order.service.ts", [...(graph.get("server/services/order.service.ts") ?? []), "server/graphql/context.ts"]);
    broken.set("server/live/event-hub.ts", [...(graph.get("server/live/event-hub.ts") ?? []), "server/graphql/node-id.ts"]);
    expect(layerViolations(broken).sort()).toEqual([
      "server/live/event-hub.ts → server/graphql/node-id.ts (live → graphql)",
      "server/services/order.service.ts → server/graphql/context.ts (services → graphql)",
    ]);
    broken.set("drizzle/sql.ts", ["drizzle/paging.ts"]);
    broken.set("drizzle/paging.ts", [...(graph.get("drizzle/paging.ts") ?? []), "drizzle/sql.ts"]);
    const cycle = importCycles(broken).find((files) => files.includes("drizzle/sql.ts"));
    expect(new Set(cycle)).toEqual(new Set(["drizzle/sql.ts", "drizzle/paging.ts"]));
  });

  it("reads type-only imports and re-exports as imports", () => {
    const text = 'import type { A } from "./a.js";\nexport { B } from "../b.js";\nimport "./c.js";';
    expect(importsOf("server/graphql/x.ts", text)).toEqual(["server/graphql/a.ts", "server/b.ts", "server/graphql/c.ts"]);
  });
});

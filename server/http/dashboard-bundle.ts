/**
 * The dashboard's script: client/dashboard/main.ts with the typed subscriber library, bundled for
 * browsers by esbuild (ES2020, minified, with a linked source map). It is built once, into
 * `.data/dashboard/` (git-ignored), by `npm run build:dashboard`, which `npm ci` and
 * `npm install` run ("prepare"); a server that finds no build there, or one older than any of its
 * sources, builds it itself at start. So a server starts without bundling, and a fresh clone
 * installed with `--ignore-scripts`, or sources edited since, still get the current script.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where `npm run build:dashboard` and the server keep the built script. */
export const dashboardBuildDir = path.join(root, ".data", "dashboard");

const SCRIPT = "app.js";
const SOURCE_MAP = "app.js.map";
/** What the build read and when: the server rebuilds when any of these files changed since. */
const MANIFEST = "manifest.json";

export interface DashboardBundle {
  script: string;
  sourceMap: string;
}

interface Manifest {
  /** Milliseconds since the epoch, taken before esbuild read the sources. */
  builtAt: number;
  /** The files esbuild read, relative to the repository root. */
  inputs: string[];
}

/**
 * Bundles the dashboard's script and writes it to `dir`. Rejects when esbuild reports an error (a
 * type error does not stop it; `npm run typecheck` does) or the files cannot be written.
 */
export async function buildDashboard(dir = dashboardBuildDir): Promise<DashboardBundle> {
  const { bundle, manifest } = await bundleDashboard();
  await saveDashboard(dir, bundle, manifest);
  return bundle;
}

/**
 * The built script in `dir`, or null when there is none or one of its sources changed after it
 * was built (then call {@link buildDashboard}). Never rejects.
 */
export async function readBuiltDashboard(dir = dashboardBuildDir): Promise<DashboardBundle | null> {
  try {
    const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), "utf8")) as Manifest;
    for (const input of manifest.inputs) {
      if ((await stat(path.join(root, input))).mtimeMs >= manifest.builtAt) return null;
    }
    const [script, sourceMap] = await Promise.all([readFile(path.join(dir, SCRIPT), "utf8"), readFile(path.join(dir, SOURCE_MAP), "utf8")]);
    return { script, sourceMap };
  } catch {
    // Missing, unreadable, or a source gone: build again.
    return null;
  }
}

/**
 * The built script, built first when {@link readBuiltDashboard} finds none that is current. When
 * the build cannot be written (a read-only checkout), `onSaveError` is told and the script is
 * still returned, from memory. Rejects only when esbuild fails.
 */
export async function loadDashboard(options: { dir?: string; onSaveError?: (error: unknown) => void } = {}): Promise<DashboardBundle> {
  const dir = options.dir ?? dashboardBuildDir;
  const built = await readBuiltDashboard(dir);
  if (built) return built;
  const { bundle, manifest } = await bundleDashboard();
  await saveDashboard(dir, bundle, manifest).catch((error: unknown) => options.onSaveError?.(error));
  return bundle;
}

async function bundleDashboard(): Promise<{ bundle: DashboardBundle; manifest: Manifest }> {
  // Loaded only to build: a server with a current build never starts esbuild.
  const { build } = await import("esbuild");
  const builtAt = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(root, "client", "dashboard", "main.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: ["es2020"],
    minify: true,
    sourcemap: "linked",
    // Only names the output files (the source map's paths are relative to it): they are written
    // by saveDashboard.
    outfile: path.join(root, SCRIPT),
    write: false,
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
  });
  const script = result.outputFiles.find((file) => file.path.endsWith(".js"));
  const sourceMap = result.outputFiles.find((file) => file.path.endsWith(".js.map"));
  if (!script || !sourceMap) throw new Error("esbuild produced no dashboard script");
  return {
    bundle: { script: script.text, sourceMap: sourceMap.text },
    manifest: { builtAt, inputs: Object.keys(result.metafile.inputs) },
  };
}

/**
 * Writes each file under a temporary name and renames it, the manifest last: several servers or
 * test workers starting at once may build together, and none may read half a file.
 */
async function saveDashboard(dir: string, bundle: DashboardBundle, manifest: Manifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    [SCRIPT, bundle.script],
    [SOURCE_MAP, bundle.sourceMap],
    [MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`],
  ];
  for (const [name, text] of files) {
    const temporary = path.join(dir, `.${name}.${randomUUID()}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, path.join(dir, name));
  }
}

/**
 * The dashboard page, served by this server from its own files (no CDN, no build step):
 *
 *   GET /dashboard                 client/dashboard/index.html
 *   GET /dashboard/dashboard.css   its stylesheet
 *   GET /dashboard/app.js          client/dashboard/main.ts with the typed subscriber library,
 *                                  bundled for browsers by esbuild in memory when the server starts
 *   GET /dashboard/app.js.map      its source map
 *
 * The bundle is made once per process (a restarted app in the same process reuses it) and only
 * ever read from memory.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import express, { type Router } from "express";
import { createLogger, type Logger, serializeError } from "../logger.js";

const dashboardDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "client", "dashboard");

/**
 * The page may load its own script and stylesheet and talk to this server (HTTP and WebSocket),
 * nothing else: no inline script, no third party. The WebSocket origin is named as well as
 * 'self', for browsers that do not count ws: as 'self' yet.
 */
function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export interface DashboardBundle {
  script: string;
  sourceMap: string;
}

let bundling: Promise<DashboardBundle> | undefined;

/**
 * The dashboard's script, bundled for browsers (ES2020, minified, with a linked source map).
 * Rejects when esbuild reports an error (a type error does not stop it; `npm run typecheck` does);
 * the next call tries again.
 */
export function bundleDashboard(): Promise<DashboardBundle> {
  bundling ??= build({
    entryPoints: [path.join(dashboardDir, "main.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: ["es2020"],
    minify: true,
    sourcemap: "linked",
    // Only names the output files: nothing is written.
    outfile: "app.js",
    write: false,
    logLevel: "silent",
    legalComments: "none",
  }).then(
    (result) => {
      const script = result.outputFiles.find((file) => file.path.endsWith(".js"));
      const sourceMap = result.outputFiles.find((file) => file.path.endsWith(".js.map"));
      if (!script || !sourceMap) throw new Error("esbuild produced no dashboard script");
      return { script: script.text, sourceMap: sourceMap.text };
    },
    (error: unknown) => {
      bundling = undefined;
      throw error;
    },
  );
  return bundling;
}

/** Routes for `/dashboard` and its assets. Starts bundling the script at once. */
export function dashboardRouter(options: { logger?: Logger } = {}): Router {
  const logger = options.logger ?? createLogger();
  const router = express.Router();
  bundleDashboard().catch((error: unknown) => logger.error("bundling the dashboard failed", { error: serializeError(error) }));

  const sendBundle = (part: keyof DashboardBundle, type: string) => async (_req: express.Request, res: express.Response) => {
    try {
      const bundle = await bundleDashboard();
      res.type(type).set("cache-control", "no-cache").send(bundle[part]);
    } catch (error) {
      logger.error("bundling the dashboard failed", { error: serializeError(error) });
      res.status(500).type("text/plain").send("The dashboard script could not be built; the server log says why.");
    }
  };

  router.get("/dashboard", (req, res) => {
    res.set({ "content-security-policy": contentSecurityPolicy(req.get("host")), "cache-control": "no-cache" });
    res.sendFile(path.join(dashboardDir, "index.html"));
  });
  router.get("/dashboard/dashboard.css", (_req, res) => {
    res.sendFile(path.join(dashboardDir, "dashboard.css"), { headers: { "cache-control": "no-cache" } });
  });
  router.get("/dashboard/app.js", sendBundle("script", "text/javascript"));
  router.get("/dashboard/app.js.map", sendBundle("sourceMap", "application/json"));
  return router;
}

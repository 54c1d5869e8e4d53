/**
 * The dashboard page, served by this server from its own files (no CDN):
 *
 *   GET /dashboard                 client/dashboard/index.html
 *   GET /dashboard/dashboard.css   its stylesheet
 *   GET /dashboard/app.js          client/dashboard/main.ts with the typed subscriber library,
 *                                  bundled for browsers (server/http/dashboard-bundle.ts)
 *   GET /dashboard/app.js.map      its source map
 *
 * The script is built by `npm ci` / `npm install` into .data/dashboard/; the server reads it
 * once per process (a restarted app in the same process reuses it), and builds it first when it
 * is missing or older than its sources. It is only ever served from memory.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Router } from "express";
import { createLogger, type Logger, serializeError } from "../logger.js";
import { type DashboardBundle, loadDashboard } from "./dashboard-bundle.js";
import { pagePolicy } from "./security-headers.js";

const dashboardDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "client", "dashboard");

let loading: Promise<DashboardBundle> | undefined;

/**
 * The dashboard's script, read or built once per process. Rejects when it had to be built and
 * esbuild failed; the next call tries again.
 */
function dashboardBundle(logger: Logger): Promise<DashboardBundle> {
  loading ??= loadDashboard({
    onSaveError: (error) => logger.warn("could not save the dashboard build; serving it from memory", { error: serializeError(error) }),
  }).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** Routes for `/dashboard` and its assets. Starts reading (or building) the script at once. */
export function dashboardRouter(options: { logger?: Logger } = {}): Router {
  const logger = options.logger ?? createLogger();
  const router = express.Router();
  dashboardBundle(logger).catch((error: unknown) => logger.error("bundling the dashboard failed", { error: serializeError(error) }));

  const sendBundle = (part: keyof DashboardBundle, type: string) => async (_req: express.Request, res: express.Response) => {
    try {
      const bundle = await dashboardBundle(logger);
      res.type(type).set("cache-control", "no-cache").send(bundle[part]);
    } catch (error) {
      logger.error("bundling the dashboard failed", { error: serializeError(error) });
      res.status(500).type("text/plain").send("The dashboard script could not be built; the server log says why.");
    }
  };

  router.get("/dashboard", (req, res) => {
    // Its own script and stylesheet, this server over HTTP and WebSocket, nothing else (security-headers.ts).
    res.set({ "content-security-policy": pagePolicy({ host: req.get("host") }), "cache-control": "no-cache" });
    res.sendFile(path.join(dashboardDir, "index.html"));
  });
  router.get("/dashboard/dashboard.css", (_req, res) => {
    res.sendFile(path.join(dashboardDir, "dashboard.css"), { headers: { "cache-control": "no-cache" } });
  });
  router.get("/dashboard/app.js", sendBundle("script", "text/javascript"));
  router.get("/dashboard/app.js.map", sendBundle("sourceMap", "application/json"));
  return router;
}

/**
 * `npm run build:dashboard`: bundles the dashboard's script into .data/dashboard/ (run by
 * `npm ci` and `npm install` through "prepare"). Exits 1 when esbuild fails. A server that finds
 * no current build makes one itself at start, so this only saves that start the work.
 */
import path from "node:path";
import { buildDashboard, dashboardBuildDir } from "../http/dashboard-bundle.js";

try {
  const started = performance.now();
  const { script } = await buildDashboard();
  const where = path.relative(process.cwd(), dashboardBuildDir) || ".";
  process.stdout.write(`dashboard: wrote ${where}/app.js (${Math.round(script.length / 1024)} KiB) in ${Math.round(performance.now() - started)} ms\n`);
} catch (error) {
  process.stderr.write(`dashboard: build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

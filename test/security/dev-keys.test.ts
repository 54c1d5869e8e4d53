/**
 * Development keys (issue 10, item 5): `npm start` on an empty embedded database makes an ADMIN
 * and a READER key only when BOOTSTRAP_ADMIN_KEY is unset; their secrets go to the terminal
 * banner and to dev-keys.json (owner-only), never into a JSON log line. With BOOTSTRAP_ADMIN_KEY
 * set, the bootstrap key is the only key and no file is written. The real entry point
 * (server/cli/main.ts) runs as a child process on a PGlite directory of its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { connect, rows } from "../../drizzle/db.js";
import { type DevKeys, readDevKeys, writeDevKeys } from "../../server/cli/dev-keys.js";
import { freePort, START_DEADLINE_MS, waitForReady } from "../support/server-process.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BOOTSTRAP_SECRET = "bo_devkeystest_0123456789abcdefghijklmnopqrstuv";

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  /** Everything it wrote on stdout, line by line: JSON log lines and the banner. */
  lines: string[];
  dataDir: string;
  keysFile: string;
}

/**
 * Runs `node --import tsx server/cli/main.ts` (what `npm start` runs) on an empty PGlite directory
 * with the demo seed, waits until it is ready, stops it with SIGTERM, and hands back its output.
 */
async function startOnce(env: Record<string, string>): Promise<Started> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "dev-keys-"));
  scratch.push(dataDir);
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PGLITE_DIR: path.join(dataDir, "pglite"),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...env,
  };
  delete childEnv.DATABASE_URL;
  delete childEnv.SEED_DEMO;
  if (!("BOOTSTRAP_ADMIN_KEY" in env)) delete childEnv.BOOTSTRAP_ADMIN_KEY;
  for (const name of Object.keys(childEnv)) if (name.startsWith("VITEST") || name === "TEST_DB") delete childEnv[name];

  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/cli/main.ts"], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => lines.push(`stderr: ${line}`));
  try {
    await waitForReady(`http://127.0.0.1:${port}/readyz`, START_DEADLINE_MS, exited, () => lines.join("\n"));
    // The banner is written right after "listening"; wait for its last line.
    const deadline = Date.now() + 5000;
    while (!lines.some((line) => line.includes("Try:")) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  }
  return { lines, dataDir, keysFile: path.join(dataDir, "dev-keys.json") };
}

/** The API keys in a stopped server's PGlite directory. */
async function keysIn(dataDir: string): Promise<{ name: string; role: string }[]> {
  const connection = await connect({ pgliteDir: path.join(dataDir, "pglite") });
  try {
    return await rows<{ name: string; role: string }>(connection.db, sql`SELECT name, role FROM api_keys ORDER BY id`);
  } finally {
    await connection.close();
  }
}

const logLines = (lines: string[]) => lines.filter((line) => line.startsWith("{"));

it("with BOOTSTRAP_ADMIN_KEY set, makes no development keys on an empty embedded database and writes no dev-keys.json", async () => {
  const started = await startOnce({ BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_SECRET });

  expect(started.lines.join("\n")).toContain("demo catalogue loaded");
  expect(existsSync(started.keysFile), started.lines.join("\n")).toBe(false);
  expect(started.lines.join("\n")).not.toContain("development api keys created");
  expect(started.lines.join("\n")).not.toContain(BOOTSTRAP_SECRET);
  expect(await keysIn(started.dataDir)).toEqual([{ name: "bootstrap admin", role: "ADMIN" }]);
}, 150_000);

it("without it, makes development keys whose secrets are in the banner and an owner-only dev-keys.json, never in a log line", async () => {
  const started = await startOnce({});

  expect(existsSync(started.keysFile), started.lines.join("\n")).toBe(true);
  expect(statSync(started.keysFile).mode & 0o777).toBe(0o600);
  const file = JSON.parse(readFileSync(started.keysFile, "utf8")) as { admin: { secret: string }; reader: { secret: string } };
  const secrets = [file.admin.secret, file.reader.secret];
  for (const secret of secrets) expect(secret).toMatch(/^bo_/);
  const banner = started.lines.filter((line) => !line.startsWith("{")).join("\n");
  for (const secret of secrets) expect(banner).toContain(secret);

  const logs = logLines(started.lines);
  const created = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === "development api keys created");
  expect(created).toMatchObject({ apiKeyIds: [expect.any(Number), expect.any(Number)], file: started.keysFile });
  for (const line of logs) for (const secret of secrets) expect(line).not.toContain(secret);
  expect((await keysIn(started.dataDir)).map((key) => key.role)).toEqual(["ADMIN", "READER"]);
}, 150_000);

it("makes an existing dev-keys.json readable by its owner only, when writing it and when reading it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dev-keys-"));
  scratch.push(dir);
  const file = path.join(dir, "dev-keys.json");
  const keys: DevKeys = {
    admin: { id: 1, role: "ADMIN", name: "development admin", secret: "bo_admin_secret" },
    reader: { id: 2, role: "READER", name: "development reader", secret: "bo_reader_secret" },
  };
  writeFileSync(file, "{}", { mode: 0o644 });
  chmodSync(file, 0o644);
  writeDevKeys(file, keys);
  expect(statSync(file).mode & 0o777).toBe(0o600);

  chmodSync(file, 0o644);
  expect(readDevKeys(file)).toEqual(expect.objectContaining({ admin: keys.admin, reader: keys.reader }));
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

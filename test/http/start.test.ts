/**
 * `npm start` as a user runs it (issue 12, items 5-7): the process it gives stops the server on
 * SIGTERM and on Ctrl-C, it says what it is doing while it starts, and what stops a start (a port
 * in use, a malformed variable, a database that is not there) is one line on stderr, no stack.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { onPostgres } from "../support/database.js";
import { waitFor } from "../support/live.js";
import { freePort, START_DEADLINE_MS } from "../support/server-process.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** What the issue allows between a stop signal and a free port with no process left. */
const STOP_MS = 5000;
/** `npm start` runs PGlite whichever project this is: its tests run once, in the pglite project. */
const PGLITE_PROJECT_ONLY = "(in the pglite project only: npm start runs the embedded database either way)";

const scratch = mkdtempSync(path.join(tmpdir(), "backorder-start-"));
const started = new Set<ChildProcess>();

afterAll(() => {
  // Whatever a failed test left: each child leads a process group of its own (detached).
  for (const child of started) if (child.pid) signalGroup(child.pid, "SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

/** Whether any process is left in the group `pid` leads (npm, a shell, node, esbuild...). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Both streams, for failure messages. */
  output(): string;
}

/**
 * Runs `command` in the repository with `env` on top of a clean environment (no vitest variables,
 * no DATABASE_URL unless given), in a process group of its own, as a terminal would.
 */
function run(command: string, args: string[], env: Record<string, string>): Run {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) if (name.startsWith("VITEST") || name.startsWith("TEST_") || name === "DATABASE_URL") delete base[name];
  delete base.PGLITE_DIR;
  const child = spawn(command, args, { cwd: root, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.add(child);
  const result: Run = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    output: () => `stdout:\n${result.stdout.join("\n")}\nstderr:\n${result.stderr.join("\n")}`,
  };
  createInterface({ input: child.stdout! }).on("line", (line) => result.stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => result.stderr.push(line));
  return result;
}

/** `npm start` (npm from PATH) on a free port and a PGlite directory of its own; resolves once it listens. */
async function npmStart(env: Record<string, string> = {}): Promise<Run & { port: number }> {
  const port = await freePort();
  const started = run("npm", ["start"], { PORT: String(port), HOST: "127.0.0.1", PGLITE_DIR: mkdtempSync(path.join(scratch, "db-")) + "/pglite", ...env });
  const listening = () => started.stdout.some((line) => line.startsWith("Listening on "));
  await waitFor(() => listening() || started.child.exitCode !== null, "npm start to listen", START_DEADLINE_MS * 2).catch((error: Error) => {
    throw new Error(`${error.message}\n${started.output()}`);
  });
  expect(listening(), started.output()).toBe(true);
  return { ...started, port };
}

/** Runs the server's entry point directly (`node --import tsx`) and waits for it to exit. */
async function startFails(env: Record<string, string>) {
  const began = Date.now();
  const attempt = run(process.execPath, ["--import", "tsx", "server/cli/main.ts"], { SEED_DEMO: "false", ...env });
  const { code } = await attempt.exited;
  return { code, ms: Date.now() - began, stdout: attempt.stdout, stderr: attempt.stderr, output: attempt.output() };
}

/** One line on stderr, and nothing that looks like a stack or a dumped error object. */
function expectOneLine(stderr: string[]) {
  expect(stderr, stderr.join("\n")).toHaveLength(1);
  expect(stderr[0]).not.toMatch(/^\s+at |\{$|Error:/);
}

// A start with the demo catalogue under a full parallel suite on 2 cores can take most of a minute.
describe.skipIf(onPostgres)(`npm start, stopped with SIGTERM to the pid it gives ${PGLITE_PROJECT_ONLY}`, { timeout: 150_000 }, () => {
  let server: Run & { port: number };

  it("says what it is doing while it starts: the database and migrations, the demo catalogue, then where it listens", async () => {
    server = await npmStart();
    const progress = server.stdout.filter((line) => /^(Opening|Loading|Listening)/.test(line));
    expect(progress).toEqual([
      expect.stringMatching(/^Opening the embedded database in .*pglite and applying migrations…$/),
      "Loading the demo catalogue into the empty database…",
      expect.stringMatching(new RegExp(`^Listening on http://127\\.0\\.0\\.1:${server.port} \\(started in \\d+\\.\\d s\\)\\.$`)),
    ]);
  });

  it("frees the port and leaves no process behind within 5 s", async () => {
    expect(server, "the server of the test before").toBeDefined();
    const pid = server.child.pid!;
    expect(await portFree(server.port)).toBe(false);
    server.child.kill("SIGTERM");
    const sent = Date.now();
    const exit = await Promise.race([server.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_MS))]);
    expect(exit, `npm did not exit within ${STOP_MS} ms\n${server.output()}`).not.toBeNull();
    await waitFor(
      async () => !groupAlive(pid) && (await portFree(server.port)),
      "the process group to end and the port to be free",
      Math.max(0, STOP_MS - (Date.now() - sent)),
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server.stdout.join("\n")).toContain('"msg":"stopped"');
  });
});

describe.skipIf(onPostgres)(`npm start, stopped with Ctrl-C ${PGLITE_PROJECT_ONLY}`, { timeout: 150_000 }, () => {
  it("stops gracefully once although the terminal and npm each send SIGINT", async () => {
    const server = await npmStart({ PGLITE_DIR: "memory://", SEED_DEMO: "false" });
    signalGroup(server.child.pid!, "SIGINT"); // what a terminal does: the whole foreground group
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const log = server.stdout.join("\n");
    expect(log.match(/"msg":"stopping"/g)).toHaveLength(1);
    expect(log).toContain('"msg":"stopped"');
    expect(log).not.toContain("second stop signal");
    await waitFor(
      async () => !groupAlive(server.child.pid!) && (await portFree(server.port)),
      "the process group to end and the port to be free",
      STOP_MS,
    );
  });
});

describe("a start that cannot go on", () => {
  let holder: Server | undefined;
  afterAll(() => holder?.close());

  it("refuses a PORT in use at once, in one line naming PORT, before opening the database", async () => {
    holder = createServer();
    const port = await new Promise<number>((resolve) => holder!.listen(0, "127.0.0.1", () => resolve((holder!.address() as { port: number }).port)));
    const dir = path.join(mkdtempSync(path.join(scratch, "clash-")), "pglite");
    const result = await startFails({ PORT: String(port), HOST: "127.0.0.1", PGLITE_DIR: dir, SEED_DEMO: "true" });
    expect(result.code, result.output).toBe(1);
    expectOneLine(result.stderr);
    expect(result.stderr[0]).toBe(
      `PORT ${port} is already in use on 127.0.0.1 (another server, or an npm start still running?): stop it or set PORT to a free port`,
    );
    expect(result.stdout.join("\n")).not.toContain("Opening");
    expect(existsSync(dir), "the PGlite directory").toBe(false);
    // The proof that nothing slow ran first is the directory above and the missing "Opening" line:
    // loading tsx and the configuration only takes about 1 s on a quiet machine, within the issue's
    // 2 s, and 3.3 s under a full CI run on 2 cores. Wall-clock time is not asserted tightly in a
    // unit test; this bound only catches a start that waited on something (a database, a timeout).
    expect(result.ms).toBeLessThan(15_000);
  });

  it("refuses LOG_LEVEL=verbose with the allowed values, one line, exit code 2", async () => {
    const result = await startFails({ LOG_LEVEL: "verbose", PGLITE_DIR: "memory://" });
    expect(result.code, result.output).toBe(2);
    expectOneLine(result.stderr);
    expect(result.stderr[0]).toBe('LOG_LEVEL must be one of debug, info, warn, error, silent, got "verbose"');
    expect(result.stdout).toEqual([]);
  });

  it("refuses DATABASE_URL=notaurl as not a valid PostgreSQL URL, one line, exit code 2", async () => {
    const result = await startFails({ DATABASE_URL: "notaurl" });
    expect(result.code, result.output).toBe(2);
    expectOneLine(result.stderr);
    expect(result.stderr[0]).toMatch(/^DATABASE_URL is not a valid PostgreSQL URL: /);
  });

  it("says no PostgreSQL server answers at DATABASE_URL's address, one line, exit code 1", async () => {
    const port = await freePort();
    const result = await startFails({ DATABASE_URL: `postgres://app:s3cret@127.0.0.1:${port}/shop`, PORT: "0" });
    expect(result.code, result.output).toBe(1);
    expectOneLine(result.stderr);
    expect(result.stderr[0]).toBe(
      `no PostgreSQL server answers at 127.0.0.1:${port} (DATABASE_URL): start it, or unset DATABASE_URL to use the embedded database`,
    );
    expect(result.output).not.toContain("s3cret");
  });

  it.skipIf(!onPostgres)("says a database that does not exist does not exist, and how to create it (PostgreSQL only)", async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = "/backorder_no_such_database";
    const result = await startFails({ DATABASE_URL: url.toString(), PORT: "0" });
    expect(result.code, result.output).toBe(1);
    expectOneLine(result.stderr);
    expect(result.stderr[0]).toMatch(
      /^database "backorder_no_such_database" does not exist on PostgreSQL at .* \(DATABASE_URL\): create it with `createdb .* backorder_no_such_database`/,
    );
  });
});

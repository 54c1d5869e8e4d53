/**
 * The real server as a child process, for tests that kill it (test/reliability/crash.test.ts):
 * `node --import tsx server/cli/main.ts` — what `npm start` runs, configured only through its
 * environment (DATABASE_URL or PGLITE_DIR, PORT, SEED_DEMO=false, BOOTSTRAP_ADMIN_KEY, LOG_LEVEL).
 *
 * Why not `npx tsx server/cli/main.ts`: npx and tsx's CLI are two wrapper processes, and a SIGKILL
 * sent to the one we spawned would kill a wrapper and leave the server running. Here the pid we
 * hold is the server's own, so `kill()` is the crash it says.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** How long a start may take before the test fails (tsx compiles the server on each start). */
export const START_DEADLINE_MS = 60_000;
/** How long a graceful stop may take before it turns into a kill. */
const STOP_DEADLINE_MS = 10_000;

/** Every child still running: killed when the test process exits, however it exits. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface ServerProcessOptions {
  /** The PostgreSQL database it serves; without one, the embedded database in `pgliteDir`. */
  databaseUrl?: string;
  /** The PGlite directory it serves when there is no `databaseUrl` (it is the only process that may open it). */
  pgliteDir?: string;
  /** The secret of an ADMIN key made sure to exist at start (BOOTSTRAP_ADMIN_KEY); none: unset, as for `npm start`. */
  adminKey?: string;
  /** A fixed port (to come back on the same one after a crash); default: a free one. */
  port?: number;
  /** LOG_LEVEL; default "warn". */
  logLevel?: string;
  /** More environment (e.g. QUERY_LIMITS). */
  env?: Record<string, string>;
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  /** http://127.0.0.1:PORT/graphql */
  readonly url: string;
  /** ws://127.0.0.1:PORT/graphql */
  readonly wsUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the process has ended. */
  readonly exited: Promise<Exit>;
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** Its log lines at level error, parsed. */
  errorLines(): Record<string, unknown>[];
  /** SIGKILL: no shutdown, no flush, sockets reset. Resolves once it is gone. */
  kill(): Promise<Exit>;
  /** SIGTERM and a graceful stop; a kill when that takes longer than a deadline. */
  stop(): Promise<Exit>;
}

/** A TCP port nothing listens on right now (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Polls `readyUrl` until it answers 200, or fails after `ms` — at once when `exited` settles
 * first (the server died while starting). Each probe has its own short deadline.
 */
export async function waitForReady(readyUrl: string, ms: number, exited?: Promise<unknown>, describe: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + ms;
  let gone = false;
  void exited?.then(() => (gone = true));
  let last = "no answer";
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the server exited before it was ready:\n${describe()}`);
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server was not ready after ${ms} ms (last answer: ${last}):\n${describe()}`);
}

/**
 * Starts the server process and resolves once `/readyz` answers 200 (database reachable,
 * migrations applied). Rejects, with its last output, when it exits first or misses
 * {@link START_DEADLINE_MS}; the process is killed then.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  if (!options.databaseUrl && !options.pgliteDir) throw new Error("startServerProcess needs a databaseUrl or a pgliteDir");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    SEED_DEMO: "false",
    LOG_LEVEL: options.logLevel ?? "warn",
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.PGLITE_DIR;
  delete env.BOOTSTRAP_ADMIN_KEY;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  else env.PGLITE_DIR = options.pgliteDir;
  if (options.adminKey) env.BOOTSTRAP_ADMIN_KEY = options.adminKey;
  // vitest's own variables would make the child think it is a test worker.
  for (const name of Object.keys(env)) if (name.startsWith("VITEST") || name === "TEST_DB") delete env[name];

  const child = spawn(process.execPath, ["--import", "tsx", "server/cli/main.ts"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const recent: string[] = [];
  const errors: Record<string, unknown>[] = [];
  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > 60) recent.shift();
    if (line.startsWith("{")) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.level === "error") errors.push(entry);
      } catch {
        // Not a log line.
      }
    }
  };
  createInterface({ input: child.stdout! }).on("line", keep);
  createInterface({ input: child.stderr! }).on("line", keep);
  const output = () => recent.join("\n");

  const signal = async (name: NodeJS.Signals): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  try {
    await waitForReady(`http://127.0.0.1:${port}/readyz`, START_DEADLINE_MS, exited, output);
  } catch (error) {
    await signal("SIGKILL");
    throw error;
  }

  return {
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    port,
    pid: child.pid!,
    exited,
    output,
    errorLines: () => [...errors],
    kill: () => signal("SIGKILL"),
    async stop() {
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_DEADLINE_MS);
      try {
        return await signal("SIGTERM");
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The real server as a separate process: `node --import tsx server/cli/main.ts` (what `npm start`
 * runs, without npm and tsx's wrapper process in between, so the pid is the server's own and its
 * memory can be read from /proc). It listens on a free port (PORT=0) and logs its URL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BENCH_QUERY_LIMITS, BENCH_SECRET, ensureBenchKey } from "./bench-access.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const START_DEADLINE_MS = 60_000;

/**
 * The heap flags `npm start` gives node (package.json), read from there so the bench runs the
 * server as it is run; the baselines (bare Apollo) get them too, so the flags favour neither.
 */
const START_HEAP_FLAGS: string[] =
  (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start.match(/--max-[a-z-]+=\d+/g) ??
  [];
const STOP_DEADLINE_MS = 20_000;
/** How much of its log after start a server process keeps for error messages. */
const TAIL_CHARACTERS = 8_000;

export interface ServerProcess {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  pid: number;
  /** Resident memory of the server process, kB (VmRSS). */
  rssKb(): number;
  /** The last lines it wrote, for error messages. */
  recentOutput(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every server still running (on an interrupted run). */
export function killAllServers(): void {
  for (const child of running) child.kill("SIGKILL");
}

/** CPU time a process has used so far (user + system), ms, from /proc/PID/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Kernel clock ticks per second (USER_HZ), 100 on Linux. */
const CLOCK_TICKS = 100;

/** Resident memory of a process, kB, from /proc/PID/status. */
export function residentKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

export interface StartServerOptions {
  /** The PostgreSQL database it serves; unset: PGlite in `pgliteDir`. */
  databaseUrl?: string;
  pgliteDir?: string;
  /** More environment. */
  env?: Record<string, string>;
  /** Script to run instead of server/cli/main.ts (the raw WebSocket broadcaster). */
  script?: string;
  /** More node options, e.g. --cpu-prof to profile the server. */
  nodeArgs?: string[];
}

/** Starts the server and waits until it has logged the URL it listens on. */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  // The bench's key: made sure of here, and named to the server the documented way too.
  if (options.databaseUrl) await ensureBenchKey(options.databaseUrl);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEED_DEMO: "false",
    PORT: "0",
    HOST: "127.0.0.1",
    BOOTSTRAP_ADMIN_KEY: BENCH_SECRET,
    QUERY_LIMITS: BENCH_QUERY_LIMITS,
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.PGLITE_DIR;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.pgliteDir) env.PGLITE_DIR = options.pgliteDir;
  const child = spawn(process.execPath, [...START_HEAP_FLAGS, ...(options.nodeArgs ?? []), "--import", "tsx", options.script ?? "server/cli/main.ts"], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const recent: string[] = [];
  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
  };
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  createInterface({ input: child.stderr! }).on("line", keep);

  let listening = false;
  const stdoutLines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${START_DEADLINE_MS} ms:\n${recent.join("\n")}`)), START_DEADLINE_MS);
    void exit.then(() => reject(new Error(`server exited before listening:\n${recent.join("\n")}`)));
    stdoutLines.on("line", (line) => {
      keep(line);
      if (listening || !line.startsWith("{")) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "listening" && entry.url) {
          listening = true;
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
  }).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await exit;
    throw error;
  });

  // From here its log (a line per request) is drained in raw chunks, the last few kept for error
  // messages: split into lines, it cost this process, which shares the machine's 2 cores with the
  // server, about a tenth of the server's requests per second under the lightest loads.
  stdoutLines.removeAllListeners("line");
  stdoutLines.close();
  let tail = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_CHARACTERS);
  });
  child.stdout!.resume();

  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    pid: child.pid!,
    rssKb: () => residentKb(child.pid!),
    recentOutput: () => `${recent.join("\n")}\n${tail}`,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_DEADLINE_MS);
      await exit;
      clearTimeout(timer);
    },
  };
}

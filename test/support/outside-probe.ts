/**
 * Watches a server process from outside while a test attacks it (test/security/attacks.test.ts):
 * `/healthz` is asked every `intervalMs` on a new connection each time, whether or not the last
 * probe has answered (a stall then shows as every probe it delayed, not as one slow sample), and
 * the process's resident memory (VmRSS in /proc/<pid>/status) is sampled every `rssEveryMs`.
 *
 * The probe runs in a worker thread with an event loop of its own: the attacking clients in the
 * test's main thread (large bodies to serialize, hundreds of answers to parse) do not delay its
 * timers and so do not count against the server.
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";

export interface ProbeOptions {
  port: number;
  pid: number;
  /** Milliseconds between two /healthz probes. Default 20. */
  intervalMs?: number;
  /** Milliseconds between two memory samples. Default 100. */
  rssEveryMs?: number;
  /** A probe without an answer after this many milliseconds counts as failed. Default 5,000. */
  timeoutMs?: number;
}

export interface ProbeReport {
  /** Milliseconds each answered probe took, in the order they were sent. */
  latencies: number[];
  /** Probes that failed or timed out (or answered other than 200). */
  failures: number;
  /** Resident memory samples, bytes. */
  rss: number[];
  /** How long the probe ran, ms. */
  durationMs: number;
}

export interface Probe {
  /** Stops probing, waits for the probes in flight and hands back what was measured. */
  stop(): Promise<ProbeReport>;
}

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const fs = require("node:fs");
const { port, pid, intervalMs, rssEveryMs, timeoutMs } = workerData;
const latencies = [];
let failures = 0;
const rss = [];
let inFlight = 0;
let stopping = false;
const started = performance.now();
function sampleRss() {
  try {
    const match = /VmRSS:\\s+(\\d+) kB/.exec(fs.readFileSync("/proc/" + pid + "/status", "utf8"));
    if (match) rss.push(Number(match[1]) * 1024);
  } catch {}
}
function probe() {
  inFlight += 1;
  const sent = performance.now();
  let settled = false;
  const settle = (ok) => {
    if (settled) return;
    settled = true;
    inFlight -= 1;
    if (ok) latencies.push(performance.now() - sent);
    else failures += 1;
    finish();
  };
  const request = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: timeoutMs }, (response) => {
    response.resume();
    response.on("end", () => settle(response.statusCode === 200));
    response.on("error", () => settle(false));
  });
  request.on("timeout", () => request.destroy(new Error("timeout")));
  request.on("error", () => settle(false));
}
const probes = setInterval(probe, intervalMs);
const samples = setInterval(sampleRss, rssEveryMs);
sampleRss();
probe();
function finish() {
  if (!stopping || inFlight > 0) return;
  parentPort.postMessage({ latencies, failures, rss, durationMs: performance.now() - started });
}
parentPort.on("message", () => {
  stopping = true;
  clearInterval(probes);
  clearInterval(samples);
  sampleRss();
  finish();
});
`;

/** Starts probing `port` and sampling `pid`'s memory; call `stop()` to get the figures. */
export function startProbe(options: ProbeOptions): Probe {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      port: options.port,
      pid: options.pid,
      intervalMs: options.intervalMs ?? 20,
      rssEveryMs: options.rssEveryMs ?? 100,
      timeoutMs: options.timeoutMs ?? 5_000,
    },
  });
  const report = new Promise<ProbeReport>((resolve, reject) => {
    worker.once("message", (message: ProbeReport) => resolve(message));
    worker.once("error", reject);
  });
  return {
    async stop() {
      worker.postMessage("stop");
      try {
        return await report;
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** Resident memory of `pid` now, bytes (VmRSS). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The `p`-th percentile (0-100) of `values`, nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

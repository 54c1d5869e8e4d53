/**
 * The command-line tools alongside a running server (issue 12, item 8): while the real server
 * (`npm start`, a child process) holds the embedded database, `npm run keys` and `npm run audit`
 * go through its API with the development ADMIN key (or BACKORDER_API_KEY) and print what they
 * print on the database itself; without a key or a server to ask they refuse with one line that
 * says what to do; with the server stopped they open the database directly, as before.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../drizzle/db.js";
import { type DevKeys, devKeysFile, readDevKeys } from "../../server/cli/dev-keys.js";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { displayPrefix } from "../../server/services/api-key.service.js";
import { AUDITED_INVARIANTS } from "../../server/services/audit.service.js";
import { freePort, type ServerProcess, startServerProcess } from "../support/server-process.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** A CLI run compiles its imports with tsx: a few seconds on a busy machine. */
const CLI_DEADLINE_MS = 60_000;

const scratch = mkdtempSync(path.join(tmpdir(), "cli-alongside-"));
const pgliteDir = path.join(scratch, "pglite");
const keysFile = devKeysFile(pgliteDir)!;
let server: ServerProcess | undefined;
let devKeys: DevKeys;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `server/cli/<script>.ts` as `npm run` would, against the test's PGlite directory and server port. */
async function cli(script: "keys" | "audit", args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PGLITE_DIR: pgliteDir, HOST: "127.0.0.1", PORT: String(server?.port ?? 4000), ...env };
  delete childEnv.DATABASE_URL;
  if (!("BACKORDER_URL" in env)) delete childEnv.BACKORDER_URL;
  if (!("BACKORDER_API_KEY" in env)) delete childEnv.BACKORDER_API_KEY;
  for (const name of Object.keys(childEnv)) if (name.startsWith("VITEST") || name === "TEST_DB") delete childEnv[name];
  const child = spawn(process.execPath, ["--import", "tsx", `server/cli/${script}.ts`, ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), CLI_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearTimeout(timer);
  return { code, stdout: stdout.trimEnd(), stderr: stderr.trimEnd() };
}

/** Posts `{ __typename }` with `key`: the HTTP status says whether the server accepts it. */
async function statusWith(key: string): Promise<number> {
  const response = await fetch(server!.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  await response.text();
  return response.status;
}

/** The cells of a `keys list` table (columns are two spaces or more apart), without LAST USED: every request through the API moves it. */
function withoutLastUsed(table: string): string[][] {
  return table.split("\n").map((line) => line.split(/\s{2,}/).filter((_, column) => column !== 5));
}

const startServer = async () => {
  server = await startServerProcess({ pgliteDir, env: { SEED_DEMO: "true" } });
};

beforeAll(async () => {
  await startServer();
  devKeys = readDevKeys(keysFile)!;
  expect(devKeys, server!.output()).not.toBeNull();
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("while the server holds the embedded database", () => {
  it(
    "keys list goes through the server's API with the development ADMIN key and prints the keys as the direct path does",
    async () => {
      const run = await cli("keys", ["list"]);

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe(`keys: the server (process ${server!.pid}) has the embedded database open: going through its API at ${server!.url}.`);
      const lines = run.stdout.split("\n");
      expect(lines[0]).toMatch(/^ID\s+PREFIX\s+ROLE\s+NAME\s+CREATED\s+LAST USED\s+REVOKED$/);
      expect(lines.slice(1).map((line) => line.split(/\s{2,}/).slice(0, 4))).toEqual([
        [toGlobalId("ApiKey", devKeys.admin.id), displayPrefix(devKeys.admin.secret), "ADMIN", "development admin"],
        [toGlobalId("ApiKey", devKeys.reader.id), displayPrefix(devKeys.reader.secret), "READER", "development reader"],
      ]);
    },
    CLI_DEADLINE_MS,
  );

  it(
    "keys create makes a key the server accepts at once, and keys revoke (by listed id or number) refuses it from then on",
    async () => {
      const created = await cli("keys", ["create", "--role", "READER", "--name", "alongside"]);
      expect(created.code, created.stderr).toBe(0);
      const [, id] = /^Created READER key (\S+) "alongside"\.$/m.exec(created.stdout) ?? [];
      const [, secret] = /^Secret \(shown this once, store it now\): (bo_\S+)$/m.exec(created.stdout) ?? [];
      expect(id, created.stdout).toBeDefined();
      expect(created.stdout).toContain(`Use it as: Authorization: Bearer ${secret}`);
      expect(await statusWith(secret)).toBe(200);

      const revoked = await cli("keys", ["revoke", id]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`Revoked READER key ${id} "alongside" (${displayPrefix(secret)}…).`);
      expect(await statusWith(secret)).toBe(401);

      const second = await cli("keys", ["create", "--role", "OPERATOR", "--name", "by number"]);
      const [, secondId] = /^Created OPERATOR key (\S+) "by number"\.$/m.exec(second.stdout) ?? [];
      const plain = String(Buffer.from(secondId, "base64url").toString("utf8").split(":")[1]);
      const byNumber = await cli("keys", ["revoke", plain]);
      expect(byNumber.code, byNumber.stderr).toBe(0);
      expect(byNumber.stdout).toMatch(new RegExp(`^Revoked OPERATOR key ${secondId} "by number"`));
    },
    4 * CLI_DEADLINE_MS,
  );

  it(
    "keys revoke of a key that does not exist prints the service's refusal and exits 1",
    async () => {
      const run = await cli("keys", ["revoke", "999999"]);

      expect(run.code).toBe(1);
      expect(run.stderr.split("\n").at(-1)).toBe("api key not found");
    },
    CLI_DEADLINE_MS,
  );

  it(
    "npm run audit audits through the server's auditReport and prints the direct path's summary, exit code 0",
    async () => {
      const run = await cli("audit", []);

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe(`audit: the server (process ${server!.pid}) has the embedded database open: auditing through its API at ${server!.url}.`);
      expect(run.stdout).toMatch(new RegExp(`^audit: 0 violations \\(${AUDITED_INVARIANTS.length} invariants checked on pglite in \\d+ ms\\)$`));
    },
    CLI_DEADLINE_MS,
  );

  it(
    "with BACKORDER_API_KEY set, uses that key instead of the development key",
    async () => {
      const run = await cli("keys", ["list"], { BACKORDER_API_KEY: devKeys.admin.secret });
      expect(run.code, run.stderr).toBe(0);

      const wrong = await cli("keys", ["list"], { BACKORDER_API_KEY: "bo_not_a_key_at_all_0123456789" });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toBe(
        `keys: the embedded database in ${pgliteDir} is in use by process ${server!.pid}, and the server at ${server!.url} refused the API key from BACKORDER_API_KEY (UNAUTHENTICATED): set BACKORDER_API_KEY to an ADMIN key, or stop the server.`,
      );
    },
    2 * CLI_DEADLINE_MS,
  );

  it(
    "refuses with one line when its key's role may not run the audit (the development READER key)",
    async () => {
      const run = await cli("audit", [], { BACKORDER_API_KEY: devKeys.reader.secret });

      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr.split("\n").at(-1)).toContain(
        "refused the API key from BACKORDER_API_KEY (FORBIDDEN): set BACKORDER_API_KEY to an ADMIN key, or stop the server.",
      );
    },
    CLI_DEADLINE_MS,
  );

  it(
    "without any key (no BACKORDER_API_KEY, no dev-keys.json) refuses with one line that says what to do",
    async () => {
      const away = `${keysFile}.away`;
      renameSync(keysFile, away);
      try {
        const keys = await cli("keys", ["list"]);
        const audit = await cli("audit", []);

        expect(keys.code).toBe(1);
        expect(keys.stdout).toBe("");
        expect(keys.stderr).toBe(
          `keys: the embedded database in ${pgliteDir} is in use by process ${server!.pid}, and there is no API key to ask the server through its API ` +
            `(no BACKORDER_API_KEY, no ${keysFile}): set BACKORDER_API_KEY to an ADMIN key, or stop the server.`,
        );
        expect(audit.code).toBe(2);
        expect(audit.stderr).toBe(keys.stderr.replace(/^keys:/, "audit:"));
      } finally {
        renameSync(away, keysFile);
      }
    },
    2 * CLI_DEADLINE_MS,
  );

  it(
    "finds the server at BACKORDER_URL (the watch CLI's ws:// URL) before HOST and PORT",
    async () => {
      const run = await cli("keys", ["list"], { PORT: String(await freePort()), BACKORDER_URL: server!.wsUrl });

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`going through its API at ${server!.url}.`);
    },
    CLI_DEADLINE_MS,
  );

  it(
    "when no server answers at HOST:PORT refuses with one line that says what to do",
    async () => {
      const port = await freePort();
      const run = await cli("keys", ["list"], { PORT: String(port) });

      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `keys: the embedded database in ${pgliteDir} is in use by process ${server!.pid}, and no server answers at http://127.0.0.1:${port}/graphql: ` +
          `set HOST and PORT (or BACKORDER_URL) to where the server listens, or stop process ${server!.pid}. If no such process runs, delete ${path.resolve(pgliteDir)}.lock.`,
      );
    },
    CLI_DEADLINE_MS,
  );
});

describe("with the server stopped, and again alongside it", () => {
  it(
    "keys list opens the database directly and prints the same keys as through the API",
    async () => {
      const throughApi = await cli("keys", ["list"]);
      await server!.stop();
      server = undefined;

      const direct = await cli("keys", ["list"]);

      expect(direct.code, direct.stderr).toBe(0);
      expect(direct.stderr).toBe("");
      expect(withoutLastUsed(direct.stdout)).toEqual(withoutLastUsed(throughApi.stdout));
    },
    3 * CLI_DEADLINE_MS,
  );

  it(
    "npm run audit prints the same violations and exits 1 directly and through the server",
    async () => {
      // A stock level whose onHand disagrees with its ledger, made while nothing else has the directory open.
      const connection = await connect({ pgliteDir });
      try {
        await connection.db.execute(sql`UPDATE stock_levels SET on_hand = on_hand + 1 WHERE product_id = (SELECT min(product_id) FROM stock_levels)`);
      } finally {
        await connection.close();
      }
      const direct = await cli("audit", []);
      expect(direct.code, direct.stderr).toBe(1);
      expect(direct.stdout).toContain("stock.on-hand-matches-ledger: ");

      await startServer();
      const throughServer = await cli("audit", []);

      expect(throughServer.code, throughServer.stderr).toBe(1);
      const withoutTiming = (stdout: string) => stdout.replace(/ in \d+ ms\)$/, ")");
      expect(withoutTiming(throughServer.stdout)).toBe(withoutTiming(direct.stdout));
    },
    90_000 + 2 * CLI_DEADLINE_MS,
  );
});

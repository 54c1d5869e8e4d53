/**
 * `npm run keys -- <command>`: API keys from the command line, against DATABASE_URL or the
 * embedded database in PGLITE_DIR (default ./.data/pglite).
 *
 *   create --role ADMIN|OPERATOR|STOREFRONT|READER --name "Acme"   prints the secret, once
 *   create --role SUPPLIER --supplier ID --name "Acme shipping"   a key bound to one supplier
 *   list                                                            every key, without secrets
 *   revoke <id>                                                     refused from now on, everywhere
 *
 * The embedded database allows one process at a time. While the server has it open, the same
 * commands go through the server's API instead (server/cli/running-server.ts), with the ADMIN key
 * in BACKORDER_API_KEY or the development ADMIN key; the output is the same.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, PgliteDirectoryLockedError, runMigrations } from "../../drizzle/db.js";
import { loadConfig } from "../config.js";
import { decodeId, fromGlobalId, toGlobalId } from "../graphql/node-id.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../services/api-key.service.js";
import { type ApiKeyRecord, type ApiKeyRole, API_KEY_ROLES, DomainError } from "../services/types.js";
import { reachRunningServer, type RunningServer, RunningServerError, RunningServerUnavailableError } from "./running-server.js";

const USAGE = `Usage: npm run keys -- <command>

  create --role ${API_KEY_ROLES.join("|")} --name NAME [--supplier ID]
                 a new key; its secret is printed once and cannot be read again
                 (--supplier: the supplier a SUPPLIER key acts for, required with that role only)
  list           every key (id, prefix, role, name, created, last used, revoked)
  revoke ID      revokes a key (ID as listed): its requests and subscriptions are refused at once

Database: DATABASE_URL, else the embedded database in PGLITE_DIR (default ./.data/pglite).
While the server has the embedded database open, the commands go through its API at HOST:PORT
(default 127.0.0.1:4000) with the ADMIN key in BACKORDER_API_KEY, else the development ADMIN key
(dev-keys.json next to PGLITE_DIR).`;

class UsageError extends Error {}

function format(date: Date | null): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
}

/** What the commands print of a key (the database row or the API's ApiKey, alike). */
type ListedKey = Pick<ApiKeyRecord, "id" | "prefix" | "role" | "name" | "createdAt" | "lastUsedAt" | "revokedAt">;

function table(keys: ListedKey[]): string {
  const rows = [
    ["ID", "PREFIX", "ROLE", "NAME", "CREATED", "LAST USED", "REVOKED"],
    ...keys.map((key) => [
      toGlobalId("ApiKey", key.id),
      key.prefix,
      key.role,
      key.name,
      format(key.createdAt),
      format(key.lastUsedAt),
      format(key.revokedAt),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A key id as `list` prints it (a global id), or the plain number. */
function keyId(text: string | undefined): number {
  if (!text) throw new UsageError("revoke needs the key's ID (see `npm run keys -- list`)");
  if (/^[1-9][0-9]{0,9}$/.test(text)) return Number(text);
  const decoded = fromGlobalId(text);
  if (decoded?.type !== "ApiKey") throw new UsageError(`${text} is not an API key id (see \`npm run keys -- list\`)`);
  return decoded.id;
}

type Command = { name: "create"; role: ApiKeyRole; keyName: string; supplierId: number | null } | { name: "list" } | { name: "revoke"; id: number };

/** A supplier id as the API shows it (a global id), or the plain number. */
function supplierId(text: string): number {
  if (/^[1-9][0-9]{0,9}$/.test(text)) return Number(text);
  const id = decodeId(text, "Supplier");
  if (id === null) throw new UsageError(`${text} is not a supplier id`);
  return id;
}

/** The command in `argv`, checked before anything opens the database; UsageError when it is not one. */
function parseCommand([command, ...args]: string[]): Command {
  switch (command) {
    case "create": {
      const { values } = parseArgs({ args, options: { role: { type: "string" }, name: { type: "string" }, supplier: { type: "string" } } });
      const role = values.role?.toUpperCase();
      if (!role || !(API_KEY_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${API_KEY_ROLES.join(", ")}`);
      if (!values.name) throw new UsageError("--name is required (who or what the key is for)");
      if (role === "SUPPLIER" && !values.supplier) throw new UsageError("--supplier is required with --role SUPPLIER (the supplier the key acts for)");
      if (role !== "SUPPLIER" && values.supplier) throw new UsageError("--supplier is only for --role SUPPLIER");
      return { name: "create", role: role as ApiKeyRole, keyName: values.name, supplierId: values.supplier ? supplierId(values.supplier) : null };
    }
    case "list":
      parseArgs({ args, options: {} });
      return { name: "list" };
    case "revoke": {
      const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
      if (positionals.length > 1) throw new UsageError("revoke takes one ID");
      return { name: "revoke", id: keyId(positionals[0]) };
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : "no command given");
  }
}

/** Where the keys are: the database itself, or the running server that has it open. */
interface KeyStore {
  create(name: string, role: ApiKeyRole, supplierId: number | null): Promise<{ apiKey: ListedKey; secret: string }>;
  /** Every key, oldest first. */
  list(): Promise<ListedKey[]>;
  revoke(id: number): Promise<ListedKey>;
  close(): Promise<void>;
}

/** The keys in the database, through the services; throws DomainError for a refusal. */
async function databaseStore(env: NodeJS.ProcessEnv): Promise<KeyStore> {
  const config = loadConfig(env);
  const connection = await connect({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, max: 1 });
  const { db } = connection;
  try {
    await runMigrations(connection);
  } catch (error) {
    await connection.close();
    throw error;
  }
  return {
    create: (name, role, supplierId) => createApiKey(db, { name, role, supplierId }),
    async list() {
      const keys: ApiKeyRecord[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await listApiKeys(db, { first: 100, after });
        keys.push(...page.items);
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      return keys;
    },
    revoke: (id) => revokeApiKey(db, id),
    close: () => connection.close(),
  };
}

const KEY_FIELDS = "id prefix role name createdAt lastUsedAt revokedAt";

interface ApiKeyAnswer {
  id: string;
  prefix: string;
  role: ApiKeyRole;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface PayloadAnswer {
  userErrors: { message: string }[];
}

/** An ApiKey as the API answers it, as the database has it (global id decoded, dates parsed). */
function fromAnswer(key: ApiKeyAnswer): ListedKey {
  const id = decodeId(key.id, "ApiKey");
  if (id === null) throw new RunningServerError(`keys: the server answered an API key id that is not one: ${key.id}`);
  const date = (text: string | null) => (text === null ? null : new Date(text));
  return {
    id,
    prefix: key.prefix,
    role: key.role,
    name: key.name,
    createdAt: new Date(key.createdAt),
    lastUsedAt: date(key.lastUsedAt),
    revokedAt: date(key.revokedAt),
  };
}

/** A refusal in a mutation's payload, printed as the direct path prints the service's DomainError. */
function refusal(payload: PayloadAnswer): void {
  if (payload.userErrors.length > 0) throw new RunningServerError(payload.userErrors.map((error) => error.message).join("; "));
}

/** The keys through the running server's API (createApiKey, apiKeys, revokeApiKey). */
function serverStore(server: RunningServer): KeyStore {
  return {
    async create(name, role, supplierId) {
      const { createApiKey: payload } = await server.request<{ createApiKey: PayloadAnswer & { apiKey: ApiKeyAnswer | null; secret: string | null } }>(
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { ${KEY_FIELDS} } secret userErrors { message } } }`,
        { input: { name, role, ...(supplierId === null ? {} : { supplierId: toGlobalId("Supplier", supplierId) }) } },
      );
      refusal(payload);
      return { apiKey: fromAnswer(payload.apiKey!), secret: payload.secret! };
    },
    async list() {
      const keys: ListedKey[] = [];
      let after: string | null = null;
      for (;;) {
        type Page = { apiKeys: { nodes: ApiKeyAnswer[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
        const { apiKeys: page }: Page = await server.request<Page>(
          `query($after: String) { apiKeys(first: 100, after: $after) { nodes { ${KEY_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
          { after },
        );
        keys.push(...page.nodes.map(fromAnswer));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      return keys;
    },
    async revoke(id) {
      const { revokeApiKey: payload } = await server.request<{ revokeApiKey: PayloadAnswer & { apiKey: ApiKeyAnswer | null } }>(
        `mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { ${KEY_FIELDS} } userErrors { message } } }`,
        { id: toGlobalId("ApiKey", id) },
      );
      refusal(payload);
      return fromAnswer(payload.apiKey!);
    },
    close: async () => {},
  };
}

/**
 * The database, or the running server when it holds the embedded database. Throws
 * RunningServerUnavailableError when it holds it and cannot be asked.
 */
async function openStore(env: NodeJS.ProcessEnv, err: (text: string) => void): Promise<KeyStore> {
  try {
    return await databaseStore(env);
  } catch (error) {
    if (!(error instanceof PgliteDirectoryLockedError) || error.pid <= 0) throw error;
    const server = await reachRunningServer(error, env, "keys");
    err(`keys: the server (process ${server.pid}) has the embedded database open: going through its API at ${server.url}.`);
    return serverStore(server);
  }
}

async function run(store: KeyStore, command: Command, out: (text: string) => void): Promise<void> {
  switch (command.name) {
    case "create": {
      const { apiKey, secret } = await store.create(command.keyName, command.role, command.supplierId);
      out(`Created ${apiKey.role} key ${toGlobalId("ApiKey", apiKey.id)} "${apiKey.name}".`);
      out(`Secret (shown this once, store it now): ${secret}`);
      out(`Use it as: Authorization: Bearer ${secret}`);
      return;
    }
    case "list": {
      const keys = await store.list();
      out(keys.length > 0 ? table(keys) : 'No API keys yet: npm run keys -- create --role ADMIN --name "me"');
      return;
    }
    case "revoke": {
      const revoked = await store.revoke(command.id);
      out(`Revoked ${revoked.role} key ${toGlobalId("ApiKey", revoked.id)} "${revoked.name}" (${revoked.prefix}…).`);
      return;
    }
  }
}

/** Runs the CLI with `argv` (after the script name); returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out = console.log, err = console.error): Promise<number> {
  if (["help", "--help", "-h"].includes(argv[0] ?? "")) {
    out(USAGE);
    return 0;
  }
  let store: KeyStore | undefined;
  try {
    const command = parseCommand(argv);
    store = await openStore(env, err);
    await run(store, command, out);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (
      error instanceof DomainError ||
      error instanceof PgliteDirectoryLockedError ||
      error instanceof RunningServerUnavailableError ||
      error instanceof RunningServerError
    ) {
      err(error.message);
      return 1;
    }
    throw error;
  } finally {
    await store?.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}

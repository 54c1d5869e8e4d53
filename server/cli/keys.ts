/**
 * `npm run keys -- <command>`: API keys from the command line, against DATABASE_URL or the
 * embedded database in PGLITE_DIR (default ./.data/pglite).
 *
 *   create --role ADMIN|OPERATOR|STOREFRONT|READER --name "Acme"   prints the secret, once
 *   list                                                            every key, without secrets
 *   revoke <id>                                                     refused from now on, everywhere
 *
 * The embedded database allows one process at a time: stop `npm start` first, or run the
 * server on PostgreSQL, where this works while it runs.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, type Connection, PgliteDirectoryLockedError, runMigrations } from "../../drizzle/db.js";
import { loadConfig } from "../config.js";
import { fromGlobalId, toGlobalId } from "../graphql/node-id.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../services/api-key.service.js";
import { type ApiKeyRecord, type ApiKeyRole, API_KEY_ROLES, DomainError } from "../services/types.js";

const USAGE = `Usage: npm run keys -- <command>

  create --role ${API_KEY_ROLES.join("|")} --name NAME
                 a new key; its secret is printed once and cannot be read again
  list           every key (id, prefix, role, name, created, last used, revoked)
  revoke ID      revokes a key (ID as listed): its requests and subscriptions are refused at once

Database: DATABASE_URL, else the embedded database in PGLITE_DIR (default ./.data/pglite).
The embedded database allows one process at a time: stop the server first.`;

class UsageError extends Error {}

function format(date: Date | null): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
}

function table(keys: ApiKeyRecord[]): string {
  const rows = [
    ["ID", "PREFIX", "ROLE", "NAME", "CREATED", "LAST USED", "REVOKED"],
    ...keys.map((key) => [toGlobalId("ApiKey", key.id), key.prefix, key.role, key.name, format(key.createdAt), format(key.lastUsedAt), format(key.revokedAt)]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

/** A key id as `list` prints it (a global id), or the plain number. */
function keyId(text: string | undefined): number {
  if (!text) throw new UsageError("revoke needs the key's ID (see `npm run keys -- list`)");
  if (/^[1-9][0-9]{0,9}$/.test(text)) return Number(text);
  const decoded = fromGlobalId(text);
  if (decoded?.type !== "ApiKey") throw new UsageError(`${text} is not an API key id (see \`npm run keys -- list\`)`);
  return decoded.id;
}

type Command = { name: "create"; role: ApiKeyRole; keyName: string } | { name: "list" } | { name: "revoke"; id: number };

/** The command in `argv`, checked before anything opens the database; UsageError when it is not one. */
function parseCommand([command, ...args]: string[]): Command {
  switch (command) {
    case "create": {
      const { values } = parseArgs({ args, options: { role: { type: "string" }, name: { type: "string" } } });
      const role = values.role?.toUpperCase();
      if (!role || !(API_KEY_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${API_KEY_ROLES.join(", ")}`);
      if (!values.name) throw new UsageError("--name is required (who or what the key is for)");
      return { name: "create", role: role as ApiKeyRole, keyName: values.name };
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

async function run(connection: Connection, command: Command, out: (text: string) => void): Promise<void> {
  const { db } = connection;
  switch (command.name) {
    case "create": {
      const { apiKey, secret } = await createApiKey(db, { name: command.keyName, role: command.role });
      out(`Created ${apiKey.role} key ${toGlobalId("ApiKey", apiKey.id)} "${apiKey.name}".`);
      out(`Secret (shown this once, store it now): ${secret}`);
      out(`Use it as: Authorization: Bearer ${secret}`);
      return;
    }
    case "list": {
      const keys: ApiKeyRecord[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await listApiKeys(db, { first: 100, after });
        keys.push(...page.items);
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      out(keys.length > 0 ? table(keys) : "No API keys yet: npm run keys -- create --role ADMIN --name \"me\"");
      return;
    }
    case "revoke": {
      const revoked = await revokeApiKey(db, command.id);
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
  let connection: Connection | undefined;
  try {
    const command = parseCommand(argv);
    const config = loadConfig(env);
    connection = await connect({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, max: 1 });
    await runMigrations(connection);
    await run(connection, command, out);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
      err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError || error instanceof PgliteDirectoryLockedError) {
      err(error.message);
      return 1;
    }
    throw error;
  } finally {
    await connection?.close();
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

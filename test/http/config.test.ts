/**
 * The server's configuration from the environment (server/config.ts): defaults, and a clear refusal
 * of bad values that names the variable; and the one line for a PostgreSQL server that cannot be used.
 */
import { describe, expect, it } from "vitest";
import { describeConnectionFailure } from "../../drizzle/db.js";
import { ConfigError, DEFAULT_EVENT_RETENTION_HOURS, loadConfig } from "../../server/config.js";
import { LOG_LEVELS } from "../../server/logger.js";

describe("EVENT_RETENTION_HOURS", () => {
  it("defaults to a week when unset or empty", () => {
    expect(DEFAULT_EVENT_RETENTION_HOURS).toBe(168);
    expect(loadConfig({}).eventRetentionHours).toBe(168);
    expect(loadConfig({ EVENT_RETENTION_HOURS: " " }).eventRetentionHours).toBe(168);
  });

  it("reads a whole number of hours, 0 meaning keep every event", () => {
    expect(loadConfig({ EVENT_RETENTION_HOURS: "24" }).eventRetentionHours).toBe(24);
    expect(loadConfig({ EVENT_RETENTION_HOURS: " 720 " }).eventRetentionHours).toBe(720);
    expect(loadConfig({ EVENT_RETENTION_HOURS: "0" }).eventRetentionHours).toBe(0);
  });

  it("refuses anything else with the variable's name and the value", () => {
    for (const value of ["-1", "1.5", "a week", "1e9", "876001", "Infinity", "0x10"]) {
      expect(() => loadConfig({ EVENT_RETENTION_HOURS: value }), value).toThrow(
        `EVENT_RETENTION_HOURS must be a whole number of hours up to 876000 (0: keep every event), got "${value}"`,
      );
    }
  });
});

describe("a malformed variable", () => {
  it("is a ConfigError whose message names the variable", () => {
    for (const [name, value] of [
      ["PORT", "http"],
      ["SEED_DEMO", "maybe"],
      ["LOG_LEVEL", "verbose"],
      ["DATABASE_URL", "notaurl"],
      ["QUERY_LIMITS", "{"],
      ["QUERY_LIMITS", '{"NOBODY":{}}'],
      ["DATABASE_STATEMENT_TIMEOUT_MS", "soon"],
      ["EVENT_RETENTION_HOURS", "-1"],
    ]) {
      let thrown: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message, `${name}=${value}`).toMatch(new RegExp(`^${name}\\b`));
    }
  });
});

describe("PORT", () => {
  it("defaults to 4000 and reads 0 to 65535", () => {
    expect(loadConfig({}).port).toBe(4000);
    expect(loadConfig({ PORT: "0" }).port).toBe(0);
    expect(loadConfig({ PORT: " 65535 " }).port).toBe(65535);
  });

  it("refuses anything else with the range", () => {
    for (const value of ["-1", "65536", "80.5", "1e3", "0x50", "http"]) {
      expect(() => loadConfig({ PORT: value }), value).toThrow(`PORT must be a port number from 0 to 65535, got "${value}"`);
    }
  });
});

describe("DATABASE_URL", () => {
  it("is unset for the embedded database when unset or empty", () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: "  " }).databaseUrl).toBeUndefined();
  });

  it("takes postgres:// and postgresql:// URLs, a socket-only one too", () => {
    for (const url of ["postgres://app:pw@db.example:5433/shop", "postgresql://localhost/shop", "postgres:///shop?host=/var/run/postgresql"]) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });

  it("refuses anything else as not a valid PostgreSQL URL, without repeating the value (it may hold a password)", () => {
    for (const value of ["notaurl", "mysql://app:hunter2@db/shop", "db.example:5432/shop", "http://app:hunter2@db/shop"]) {
      expect(() => loadConfig({ DATABASE_URL: value }), value).toThrow(
        /^DATABASE_URL is not a valid PostgreSQL URL: expected postgres:\/\/USER\[:PASSWORD\]@HOST\[:PORT\]\/DATABASE/,
      );
      expect(() => loadConfig({ DATABASE_URL: value }), value).not.toThrow(/hunter2/);
    }
  });
});

describe("LOG_LEVEL", () => {
  it("defaults to info and reads every level in any case", () => {
    expect(loadConfig({}).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: "" }).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: " WARN " }).logLevel).toBe("warn");
    for (const level of LOG_LEVELS) expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it("refuses an unknown level with the allowed values", () => {
    expect(() => loadConfig({ LOG_LEVEL: "verbose" })).toThrow('LOG_LEVEL must be one of debug, info, warn, error, silent, got "verbose"');
  });
});

describe("a PostgreSQL server that cannot be used (describeConnectionFailure)", () => {
  const url = "postgres://app:s3cret@db.example:5433/shop";
  const failure = (code: string, message = "failed") => Object.assign(new Error(message), { code });

  it("says a database that does not exist does not exist, and how to create it", () => {
    const line = describeConnectionFailure(failure("3D000", 'database "shop" does not exist'), url);
    expect(line).toBe(
      'database "shop" does not exist on PostgreSQL at db.example:5433 (DATABASE_URL): create it with `createdb -h db.example -p 5433 -U app shop` ' +
        "(or `psql -h db.example -p 5433 -U app -d postgres -c 'CREATE DATABASE \"shop\"'`)",
    );
  });

  it("finds the driver's error under drizzle's wrapper", () => {
    const wrapped = new Error("Failed query: SELECT 1", { cause: failure("ECONNREFUSED") });
    expect(describeConnectionFailure(wrapped, url)).toBe(
      "no PostgreSQL server answers at db.example:5433 (DATABASE_URL): start it, or unset DATABASE_URL to use the embedded database",
    );
  });

  it("names DATABASE_URL for a refused role, an unknown host and a time-out, never with the password", () => {
    const lines = [
      describeConnectionFailure(failure("28P01", 'password authentication failed for user "app"'), url),
      describeConnectionFailure(failure("ENOTFOUND"), url),
      describeConnectionFailure(failure("CONNECT_TIMEOUT"), url),
    ];
    expect(lines[0]).toBe(
      'PostgreSQL at db.example:5433 (DATABASE_URL) refused the connection: password authentication failed for user "app"; check the user and password in DATABASE_URL',
    );
    expect(lines[1]).toBe('DATABASE_URL names host "db.example", which does not resolve: check the host in DATABASE_URL');
    expect(lines[2]).toMatch(/^PostgreSQL at db\.example:5433 \(DATABASE_URL\) did not answer/);
    for (const line of lines) expect(line).not.toContain("s3cret");
  });

  it("has nothing to say about other failures", () => {
    expect(describeConnectionFailure(failure("23505"), url)).toBeUndefined();
    expect(describeConnectionFailure(new Error("boom"), url)).toBeUndefined();
    expect(describeConnectionFailure("boom", url)).toBeUndefined();
  });
});

describe("WEBHOOK_WORKER, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_TIMEOUT_MS, WEBHOOK_ALLOW_PRIVATE_URLS", () => {
  it("default to a worker on, 8 attempts, 10 s and public addresses only", () => {
    const config = loadConfig({});
    expect([config.webhookWorker, config.webhookMaxAttempts, config.webhookTimeoutMs, config.webhookAllowPrivateUrls]).toEqual([true, 8, 10_000, false]);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: " " }).webhookAllowPrivateUrls).toBe(false);
  });

  it("read their values within the bounds", () => {
    const config = loadConfig({ WEBHOOK_WORKER: "off", WEBHOOK_MAX_ATTEMPTS: " 1 ", WEBHOOK_TIMEOUT_MS: "300000", WEBHOOK_ALLOW_PRIVATE_URLS: "true" });
    expect([config.webhookWorker, config.webhookMaxAttempts, config.webhookTimeoutMs, config.webhookAllowPrivateUrls]).toEqual([false, 1, 300_000, true]);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: "Yes" }).webhookAllowPrivateUrls).toBe(true);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: "0" }).webhookAllowPrivateUrls).toBe(false);
    expect(loadConfig({ WEBHOOK_MAX_ATTEMPTS: "50", WEBHOOK_TIMEOUT_MS: "100" })).toMatchObject({ webhookMaxAttempts: 50, webhookTimeoutMs: 100 });
  });

  it("refuse anything else, naming the variable and the bounds", () => {
    expect(() => loadConfig({ WEBHOOK_WORKER: "sometimes" })).toThrow('WEBHOOK_WORKER must be true or false, got "sometimes"');
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: "10.0.0.0/8" })).toThrow('WEBHOOK_ALLOW_PRIVATE_URLS must be true or false, got "10.0.0.0/8"');
    for (const value of ["0", "51", "-1", "2.5", "many", "1e1"]) {
      expect(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: value }), value).toThrow(
        new ConfigError(`WEBHOOK_MAX_ATTEMPTS must be a whole number of attempts from 1 to 50, got "${value}"`),
      );
    }
    for (const value of ["99", "300001", "10s"]) {
      expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: value }), value).toThrow(
        `WEBHOOK_TIMEOUT_MS must be a whole number of milliseconds from 100 to 300000, got "${value}"`,
      );
    }
  });
});

describe("READ_CACHE_MAX_AGE_MS", () => {
  it("defaults to 1 s, and reads 0 (off) to 60 s", () => {
    expect(loadConfig({}).readCacheMaxAgeMs).toBe(1_000);
    expect(loadConfig({ READ_CACHE_MAX_AGE_MS: " " }).readCacheMaxAgeMs).toBe(1_000);
    expect(loadConfig({ READ_CACHE_MAX_AGE_MS: "0" }).readCacheMaxAgeMs).toBe(0);
    expect(loadConfig({ READ_CACHE_MAX_AGE_MS: " 60000 " }).readCacheMaxAgeMs).toBe(60_000);
  });

  it("refuses anything else, naming the variable and the bounds", () => {
    for (const value of ["-1", "60001", "1.5", "1s", "off"]) {
      expect(() => loadConfig({ READ_CACHE_MAX_AGE_MS: value }), value).toThrow(
        new ConfigError(`READ_CACHE_MAX_AGE_MS must be a whole number of milliseconds from 0 to 60000, got "${value}"`),
      );
    }
  });
});

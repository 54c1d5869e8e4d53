/**
 * The log retentions from the environment (server/config.ts; docs/ARCHITECTURE.md, "Growth of the
 * logs"): defaults, 0 for keeping everything, and a refusal that names the variable.
 */
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS,
  DEFAULT_LOST_DEMAND_RETENTION_DAYS,
  DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS,
  loadConfig,
} from "../../server/config.js";

const variables = [
  { name: "STOCK_MOVEMENT_RETENTION_DAYS", field: "stockMovementRetentionDays", fallback: 400, unit: "days", max: 36_500, what: "stock movement" },
  { name: "IDEMPOTENCY_KEY_RETENTION_HOURS", field: "idempotencyKeyRetentionHours", fallback: 168, unit: "hours", max: 876_000, what: "idempotency key" },
  { name: "LOST_DEMAND_RETENTION_DAYS", field: "lostDemandRetentionDays", fallback: 400, unit: "days", max: 36_500, what: "lost demand" },
  { name: "WEBHOOK_DELIVERY_RETENTION_DAYS", field: "webhookDeliveryRetentionDays", fallback: 30, unit: "days", max: 36_500, what: "delivered webhook" },
] as const;

describe("the log retentions", () => {
  it("default to 400 days of stock movements, a week of idempotency keys and 400 days of lost demand", () => {
    expect([DEFAULT_STOCK_MOVEMENT_RETENTION_DAYS, DEFAULT_IDEMPOTENCY_KEY_RETENTION_HOURS, DEFAULT_LOST_DEMAND_RETENTION_DAYS]).toEqual([400, 168, 400]);
    for (const { name, field, fallback } of variables) {
      expect(loadConfig({})[field], name).toBe(fallback);
      expect(loadConfig({ [name]: " " })[field], name).toBe(fallback);
    }
  });

  it("read a whole number, 0 meaning keep every row", () => {
    for (const { name, field, max } of variables) {
      expect(loadConfig({ [name]: "0" })[field], name).toBe(0);
      expect(loadConfig({ [name]: " 30 " })[field], name).toBe(30);
      expect(loadConfig({ [name]: String(max) })[field], name).toBe(max);
    }
  });

  it("refuse anything else with a ConfigError naming the variable and the value", () => {
    for (const { name, unit, max, what } of variables) {
      for (const value of ["-1", "1.5", "a year", "1e3", String(max + 1), "0x10"]) {
        expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(ConfigError);
        expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(
          `${name} must be a whole number of ${unit} up to ${max} (0: keep every ${what}), got "${value}"`,
        );
      }
    }
  });
});

/** The server's configuration from the environment (server/config.ts): defaults, and a clear refusal of bad values. */
import { describe, expect, it } from "vitest";
import { DEFAULT_EVENT_RETENTION_HOURS, loadConfig } from "../../server/config.js";

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

/** How `npm run watch` words a restock change: a partial receipt says so, a full one does not. */
import { describe, expect, it } from "vitest";
import { readableLine } from "../../client/change-lines.js";
import type { RestockChange } from "../../client/subscriber.js";

function receipt(status: string, receivedQuantity: number): RestockChange {
  return {
    kind: "RECEIVED",
    filledUnits: 23,
    cursor: "ZXY6MQ",
    at: "2030-03-01T09:00:00.000Z",
    restock: {
      status,
      quantity: 40,
      receivedQuantity,
      reference: "PO-7",
      expectedAt: "2030-03-01T09:00:00.000Z",
      product: { sku: "MUG" },
      location: { code: "WH" },
    },
  } as unknown as RestockChange;
}

describe("watch's restock lines", () => {
  it("says a partial receipt is partly received, with what came of what was ordered", () => {
    const line = readableLine({ type: "restockChanged", change: receipt("PARTIALLY_RECEIVED", 25) });
    expect(line).toContain("MUG  restock RECEIVED  25 of 40 units received (partly received) at WH");
    expect(line).toContain("filled 23 backordered units (PO-7)");
  });

  it("words a complete receipt without the partial mark", () => {
    const line = readableLine({ type: "restockChanged", change: receipt("RECEIVED", 40) });
    expect(line).toContain("40 of 40 units received at WH");
    expect(line).not.toContain("partly");
  });
});

/// <reference lib="dom" />
/**
 * The "Refunds due" card: what the shop still owes customers whose units were cancelled
 * (`refundsDue`: per currency, how many, since when) and the oldest few pending refunds, the next
 * to pay (`refunds(status: PENDING)`, oldest first): order number, amount, reason and age.
 * Figures carry their raw value in `data-value` (the totals as JSON), rows `data-refund-id`.
 *
 * Read after every cancellation or expiry the live session sees (they write refunds), and every
 * {@link REFUNDS_POLL_MS}: `markRefunded` writes no event, so a refund paid leaves the card at the
 * next poll.
 */
import { DashboardRefundsDocument, type DashboardRefundsQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { age, count, plural, shortDate, words } from "./format.js";
import { fieldCell, LiveCard, showFigure, span } from "./live-card.js";
import { money, moneyList } from "./metrics-panel.view.js";

type Refunds = DashboardRefundsQuery;
type PendingRefund = Refunds["refunds"]["nodes"][number];

/** Pending refunds listed: the oldest. */
export const REFUND_LINES = 5;
/** How often the card is read without an event (a refund paid is not in the event log). */
export const REFUNDS_POLL_MS = 30_000;
/** A refund pending longer than this is shown as overdue. */
export const REFUND_OVERDUE_HOURS = 72;

/** One pending refund as a table row. */
function refundRow(refund: PendingRefund, now: Date): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.refundId = refund.id;
  const overdue = now.getTime() - new Date(refund.createdAt).getTime() > REFUND_OVERDUE_HOURS * 3_600_000;
  const waited = fieldCell("age", refund.createdAt, "num", span(age(refund.createdAt, now), overdue ? "pill warn" : ""));
  waited.title = `written ${new Date(refund.createdAt).toLocaleString()}`;
  tr.append(
    fieldCell("order", refund.order.number, "", span(refund.order.number, "sku")),
    fieldCell("amount", JSON.stringify(refund.amount), "num", span(money(refund.amount), "order")),
    fieldCell("reason", refund.reason, "", span(words(refund.reason))),
    waited,
  );
  return tr;
}

/** The card in `root` (index.html's `#refunds`). */
export class RefundsDuePanel extends LiveCard {
  constructor(root: HTMLElement, pollMs = REFUNDS_POLL_MS) {
    super(root, "The refunds due", pollMs);
  }

  protected clear(): void {
    for (const name of ["owed", "pending", "oldest"]) showFigure(this.root, name, { value: "–", note: "", raw: "" });
    this.part("tbody").replaceChildren();
  }

  protected async fetch(run: RunQuery): Promise<() => void> {
    const answer = await run(DashboardRefundsDocument, { first: REFUND_LINES });
    return () => this.show(answer);
  }

  /** Writes the figures and rows of one answer. */
  show({ refundsDue: due, refunds }: Refunds, now = new Date()): void {
    const atLeast = due.countPrecision === "AT_LEAST" ? "at least " : "";
    showFigure(this.root, "owed", {
      value: due.totals.length > 0 ? moneyList(due.totals.map((total) => total.amount)) : "–",
      note: due.count > 0 ? `owed to customers, ${atLeast}${plural(due.count, "refund")}` : "nothing owed",
      raw: JSON.stringify(due.totals.map((total) => ({ ...total.amount, count: total.count }))),
      tone: due.count > 0 ? "warn" : "good",
      title: due.totals.map((total) => `${money(total.amount)}: ${plural(total.count, "refund")}`).join("\n"),
    });
    showFigure(this.root, "pending", {
      value: `${atLeast ? "≥" : ""}${count(due.count)}`,
      note: due.count > 0 ? "pending: cancelled, not yet paid back" : "every cancellation paid back",
      raw: String(due.count),
    });
    const oldest = due.oldestPendingAt;
    const overdue = oldest !== null && now.getTime() - new Date(oldest).getTime() > REFUND_OVERDUE_HOURS * 3_600_000;
    showFigure(this.root, "oldest", {
      value: oldest ? age(oldest, now) : "–",
      note: oldest ? `waiting since ${shortDate(oldest, now)}` : "none waiting",
      raw: oldest ?? "",
      tone: overdue ? "bad" : "",
      title: oldest ? new Date(oldest).toLocaleString() : "",
    });
    this.part("tbody").replaceChildren(...refunds.nodes.map((refund) => refundRow(refund, now)));
    this.part(".hint").textContent = refunds.pageInfo.hasNextPage
      ? `the oldest ${count(refunds.nodes.length)} pending, next to pay first`
      : "oldest first";
    if (due.count === 0) this.message("Nothing owed: every cancelled unit has been paid back.");
  }
}

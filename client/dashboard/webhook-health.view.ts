/// <reference lib="dom" />
/**
 * The "Webhook deliveries" card (`webhookHealth`): how many endpoints, deliveries pending and dead
 * letters (deliveries given up after their last attempt) in all, and per endpoint its origin,
 * whether its latest attempt failed, its pending deliveries and dead letters, and when it last
 * succeeded and failed. Figures carry their raw value in `data-value`, rows `data-endpoint-id` and
 * `data-failing`. With no endpoint the card says so in one line.
 *
 * Deliveries are not in the event log, so the card is read every {@link WEBHOOKS_POLL_MS} (and,
 * like the others, when a key is used); at one small query each time it costs a few points.
 */
import { DashboardWebhookHealthDocument, type DashboardWebhookHealthQuery } from "../generated/graphql.js";
import type { RunQuery } from "./delayed-counts.js";
import { age, count } from "./format.js";
import { fieldCell, LiveCard, showFigure, span } from "./live-card.js";

type Health = DashboardWebhookHealthQuery["webhookHealth"];
type EndpointHealth = Health["endpoints"][number];

/** How often the card is read. */
export const WEBHOOKS_POLL_MS = 10_000;

/** "3 min ago" with the full date as a title, or a faint dash for never. */
function whenCell(field: string, iso: string | null | undefined, now: Date, className = ""): HTMLTableCellElement {
  const td = fieldCell(
    field,
    iso ?? "",
    "date",
    span(iso ? `${age(iso, now)}${age(iso, now) === "just now" ? "" : " ago"}` : "—", iso ? className : "zero"),
  );
  if (iso) td.title = new Date(iso).toLocaleString();
  return td;
}

/** The endpoint's state as a badge: failing, off (disabled) or ok. */
function stateBadge(endpoint: EndpointHealth): HTMLSpanElement {
  if (endpoint.failing) return span("failing", "pill bad");
  if (!endpoint.enabled) return span("off", "pill warn");
  return span("ok", "pill ok");
}

function endpointRow(endpoint: EndpointHealth, now: Date): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.endpointId = endpoint.endpointId;
  tr.dataset.failing = String(endpoint.failing);
  const pending = fieldCell("pending", String(endpoint.pending), "num", span(count(endpoint.pending), endpoint.pending === 0 ? "zero" : ""));
  if (endpoint.oldestPendingAt) pending.title = `the oldest queued ${new Date(endpoint.oldestPendingAt).toLocaleString()}`;
  tr.append(
    fieldCell("host", endpoint.host, "", span(endpoint.host, "host"), ...(endpoint.enabled ? [] : [span("disabled: nothing is sent", "sub")])),
    fieldCell("state", endpoint.failing ? "failing" : endpoint.enabled ? "ok" : "off", "", stateBadge(endpoint)),
    pending,
    fieldCell("failed", String(endpoint.failed), "num", span(count(endpoint.failed), endpoint.failed === 0 ? "zero" : "pill bad")),
    whenCell("lastDeliveredAt", endpoint.lastDeliveredAt, now),
    whenCell("lastFailureAt", endpoint.lastFailureAt, now, endpoint.failing ? "empty" : ""),
  );
  return tr;
}

/** The card in `root` (index.html's `#webhooks`). */
export class WebhookHealthPanel extends LiveCard {
  constructor(root: HTMLElement, pollMs = WEBHOOKS_POLL_MS) {
    super(root, "The webhook deliveries", pollMs);
  }

  protected clear(): void {
    for (const name of ["endpoints", "pending", "failed"]) showFigure(this.root, name, { value: "–", note: "", raw: "" });
    this.part("tbody").replaceChildren();
  }

  protected async fetch(run: RunQuery): Promise<() => void> {
    const { webhookHealth } = await run(DashboardWebhookHealthDocument, {});
    return () => this.show(webhookHealth);
  }

  /** Writes the figures and rows of one answer. */
  show(health: Health, now = new Date()): void {
    const failing = health.endpoints.filter((endpoint) => endpoint.failing).length;
    const enabled = health.endpoints.filter((endpoint) => endpoint.enabled).length;
    showFigure(this.root, "endpoints", {
      value: count(health.endpoints.length),
      note:
        health.endpoints.length === 0
          ? "none registered"
          : failing > 0
            ? `${count(failing)} failing, ${count(enabled)} enabled`
            : `${count(enabled)} enabled, none failing`,
      raw: String(health.endpoints.length),
      tone: failing > 0 ? "bad" : health.endpoints.length > 0 ? "good" : "",
    });
    showFigure(this.root, "pending", {
      value: count(health.pending),
      note: health.pending > 0 ? "waiting to be sent or retried" : "nothing waiting",
      raw: String(health.pending),
    });
    showFigure(this.root, "failed", {
      value: count(health.failed),
      note:
        health.failed > 0
          ? `${count(health.failed)} ${health.failed === 1 ? "delivery" : "deliveries"} given up: redeliver with redeliverWebhooks`
          : "no delivery given up",
      raw: String(health.failed),
      tone: health.failed > 0 ? "bad" : "",
    });
    this.part("tbody").replaceChildren(...health.endpoints.map((endpoint) => endpointRow(endpoint, now)));
    this.part(".hint").textContent = `every endpoint, oldest first · checked every ${WEBHOOKS_POLL_MS / 1000} s`;
    if (health.endpoints.length === 0) this.message("No webhook endpoints: an ADMIN key adds one with createWebhookEndpoint.");
  }
}

/// <reference lib="dom" />
/**
 * Where the live connection stands, shown twice: a small status pill in the header, and a banner
 * across the page when the connection drops (red, until it is back) and when it recovers (green,
 * for a while). The state is also written to `<body data-connection>` with counters
 * `data-drops` and `data-recoveries`, for scripts and tests.
 */
import { clock } from "./format.js";

export type ConnectionState = "idle" | "connecting" | "live" | "down" | "refused";

/** How long the "reconnected" banner stays. */
const RECOVERED_BANNER_MS = 20_000;

function seconds(ms: number): string {
  const total = Math.max(1, Math.round(ms / 1000));
  return total < 60 ? `${total} s` : `${Math.floor(total / 60)} min ${total % 60} s`;
}

/** The pill and the banner; `onDown` and `onUp` tell the session when the connection drops and comes back. */
export class ConnectionView {
  private everConnected = false;
  private downSince: Date | null = null;
  private hideTimer: ReturnType<typeof setTimeout> | undefined;
  private drops = 0;
  private recoveries = 0;

  constructor(
    private readonly pill: HTMLElement,
    private readonly banner: HTMLElement,
    private readonly onDown: (at: Date) => void = () => {},
    private readonly onUp: (downSince: Date, at: Date) => void = () => {},
  ) {}

  /** When the current outage began; null while connected. */
  get outageStart(): Date | null {
    return this.downSince;
  }

  /** Back to the start: no key, nothing connected. */
  reset(state: "idle" | "connecting" = "idle"): void {
    this.everConnected = false;
    this.downSince = null;
    this.hideBanner();
    this.setState(state, state === "idle" ? "No key" : "Connecting…");
  }

  connecting(): void {
    if (this.downSince) return this.setState("down", "Reconnecting…");
    this.setState("connecting", "Connecting…");
  }

  connected(): void {
    const now = new Date();
    if (this.downSince) {
      const since = this.downSince;
      this.downSince = null;
      this.recoveries += 1;
      this.showBanner(
        "recovered",
        `Connection restored at ${clock(now)} after ${seconds(now.getTime() - since.getTime())}. ` +
          "The dashboard resumed from the last event it received: nothing was missed.",
      );
      this.hideTimer = setTimeout(() => this.hideBanner(), RECOVERED_BANNER_MS);
      this.onUp(since, now);
    } else if (this.banner.dataset.state === "down") {
      // The first connection, after attempts that failed.
      this.hideBanner();
    }
    this.everConnected = true;
    this.setState("live", "Live");
  }

  disconnected(close?: { code: number; reason: string }): void {
    if (this.pill.dataset.state === "refused") return;
    const now = new Date();
    if (!this.everConnected) {
      this.setState("connecting", "Connecting…");
      this.showBanner("down", "Cannot reach the server: retrying. The figures appear as soon as it answers.");
      return;
    }
    if (this.downSince) return;
    this.downSince = now;
    this.drops += 1;
    const why = close && close.code !== 1000 ? ` (${close.code}${close.reason ? `: ${close.reason}` : ""})` : "";
    this.showBanner(
      "down",
      `Connection lost at ${clock(now)}${why}: reconnecting… The figures below are as of ${clock(now)}; ` +
        "when the connection is back the dashboard catches up on everything it missed.",
    );
    this.setState("down", "Offline");
    this.onDown(now);
  }

  /**
   * The server no longer had the events since the page's last one (older than its retention):
   * the session reloads its snapshot instead of catching up, and the banner says so.
   */
  reloaded(text: string): void {
    this.showBanner("reloaded", text);
    this.hideTimer = setTimeout(() => this.hideBanner(), RECOVERED_BANNER_MS);
  }

  /** The server refused the key or the request for good: nothing will retry. */
  refused(message: string): void {
    this.downSince = null;
    this.showBanner("refused", message);
    this.setState("refused", "Refused");
  }

  private setState(state: ConnectionState, label: string): void {
    this.pill.dataset.state = state;
    this.pill.textContent = label;
    document.body.dataset.connection = state;
    document.body.dataset.drops = String(this.drops);
    document.body.dataset.recoveries = String(this.recoveries);
  }

  private showBanner(state: "down" | "recovered" | "reloaded" | "refused", text: string): void {
    clearTimeout(this.hideTimer);
    this.banner.dataset.state = state;
    this.banner.textContent = text;
    this.banner.hidden = false;
    this.banner.setAttribute("role", state === "recovered" || state === "reloaded" ? "status" : "alert");
  }

  private hideBanner(): void {
    clearTimeout(this.hideTimer);
    this.banner.hidden = true;
    this.banner.dataset.state = "hidden";
  }
}

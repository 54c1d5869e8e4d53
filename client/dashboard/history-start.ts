/// <reference lib="dom" />
/**
 * Where the page's history begins: the cursor after which the event log holds the events its feed
 * showed last (at most FEED_LIMIT of them), kept in localStorage so a page opened again replays
 * them (and everything since) instead of starting empty.
 *
 * Why a cursor the page kept, and not "N events back": cursors are opaque, and the API gives out
 * only the newest one (`eventCursor`) and those of events it delivers; it has no way to ask for an
 * older one. So a browser opening the dashboard for the first time starts at `eventCursor`, and
 * from then on the page remembers.
 */

/** One entry per server origin (localStorage is per origin); any key reads the same event log. */
const STORAGE = "backorder.dashboard.historyStart";

/** The stored cursor, or null (never opened here, or storage unavailable). */
export function readHistoryStart(): string | null {
  try {
    return localStorage.getItem(STORAGE);
  } catch {
    return null;
  }
}

/** Keeps `cursor` as where the next page's history begins. */
export function saveHistoryStart(cursor: string): void {
  try {
    localStorage.setItem(STORAGE, cursor);
  } catch {
    // Private mode: the next page starts without history.
  }
}

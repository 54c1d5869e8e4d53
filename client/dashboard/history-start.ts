/// <reference lib="dom" />
/**
 * Where the page's history begins: the cursor after which the event log holds the events its feed
 * showed last (at most FEED_LIMIT of them), kept in localStorage so a page opened again replays
 * them (and everything since) instead of starting empty.
 *
 * A browser opening the dashboard for the first time has no such cursor: it starts at
 * `eventCursor(back: FEED_LIMIT)`, the last events of the log. From then on the page remembers
 * where its own feed began, which may reach further back than the last FEED_LIMIT events of a
 * busy log (they may be events of any kind; the feed shows what it shows).
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

/// <reference lib="dom" />
/**
 * The feed of recent events: newest first, one readable line each, the oldest dropped past a
 * limit. Lines are placed by the time of their event, not by arrival: events replayed from before
 * the page opened arrive alongside live ones and go below them.
 */
import type { FeedEntry } from "./feed-entries.js";
import { clock } from "./format.js";

/** Lines kept on the page: also how many past events the page shows again when it reopens. */
export const FEED_LIMIT = 200;

/** How a line came to the page. */
export type FeedSource = "live" | "caught-up" | "past";

function caughtUpMark(): HTMLSpanElement {
  const mark = document.createElement("span");
  mark.className = "caught-up";
  mark.textContent = "caught up";
  mark.title = "Happened while the connection was down; delivered when it came back";
  return mark;
}

/** The feed's list, and the line shown while it is empty. */
export class EventFeed {
  /** The cursor of each line that has one, to tell who dropped off the end. */
  private readonly cursors = new WeakMap<HTMLLIElement, string>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    /** Hears the cursor of each event whose line fell off the end: replaying after it shows every line still there. */
    private readonly onDrop: (cursor: string) => void = () => {},
  ) {}

  clear(): void {
    this.list.replaceChildren();
    this.empty.hidden = false;
  }

  /**
   * Adds a line in its place by time (the top for a live event). `caught-up`: it happened while
   * the connection was down; `past`: before the page opened (replayed from the event log).
   */
  add(entry: FeedEntry, source: FeedSource = "live"): void {
    const item = document.createElement("li");
    item.className = `tone-${entry.tone}${source === "live" ? " new" : ""}${source === "past" ? " past" : ""}`;
    item.dataset.at = String(entry.at.getTime());
    if (entry.cursor) this.cursors.set(item, entry.cursor);
    const time = document.createElement("time");
    time.dateTime = entry.at.toISOString();
    time.textContent = clock(entry.at);
    time.title = entry.at.toLocaleString();
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = entry.tag;
    const text = document.createElement("span");
    text.className = "text";
    const subject = document.createElement("strong");
    subject.textContent = entry.subject;
    text.append(subject, ` ${entry.text}`);
    item.append(time, tag, text);
    if (source === "caught-up") item.append(caughtUpMark());
    // Newest first; among lines of the same time, the one that arrived last on top.
    const t = entry.at.getTime();
    const below = Array.from(this.list.children).find((child) => Number((child as HTMLElement).dataset.at) <= t);
    this.list.insertBefore(item, below ?? null);
    while (this.list.children.length > FEED_LIMIT) {
      const dropped = this.list.lastElementChild as HTMLLIElement;
      dropped.remove();
      const cursor = this.cursors.get(dropped);
      if (cursor) this.onDrop(cursor);
    }
    this.empty.hidden = true;
  }

  /**
   * Marks the line of `cursor` as `source` after all: an event the history replay showed first
   * that the live subscriptions deliver too happened while the page was open (or away), not before.
   */
  promote(cursor: string, source: Exclude<FeedSource, "past">): void {
    const item = Array.from(this.list.children).find((child) => this.cursors.get(child as HTMLLIElement) === cursor) as HTMLLIElement | undefined;
    if (!item) return;
    item.classList.remove("past");
    if (source === "live") item.classList.add("new");
    else if (!item.querySelector(".caught-up")) item.append(caughtUpMark());
  }
}

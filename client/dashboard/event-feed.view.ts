/// <reference lib="dom" />
/** The feed of recent events: newest first, one readable line each, the oldest dropped past a limit. */
import type { FeedEntry } from "./feed-entries.js";
import { clock } from "./format.js";

/** Lines kept on the page. */
export const FEED_LIMIT = 150;

/** The feed's list, and the line shown while it is empty. */
export class EventFeed {
  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
  ) {}

  clear(): void {
    this.list.replaceChildren();
    this.empty.hidden = false;
  }

  /** Adds a line at the top; `caughtUp` marks an event that happened while the connection was down. */
  add(entry: FeedEntry, caughtUp = false): void {
    const item = document.createElement("li");
    item.className = `tone-${entry.tone}`;
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
    if (caughtUp) {
      const mark = document.createElement("span");
      mark.className = "caught-up";
      mark.textContent = "caught up";
      mark.title = "Happened while the connection was down; delivered when it came back";
      item.append(mark);
    }
    this.list.prepend(item);
    while (this.list.children.length > FEED_LIMIT) this.list.lastElementChild!.remove();
    this.empty.hidden = true;
  }
}

/** How the dashboard writes numbers, times and the API's enum values for people. */

const numbers = new Intl.NumberFormat(undefined);
const monthDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const monthDayYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", year: "numeric" });
const DAY_MS = 86_400_000;

/** 1,234 (in the browser's locale). */
export function count(value: number): string {
  return numbers.format(value);
}

/** "3 units", "1 unit". */
export function plural(value: number, word: string): string {
  return `${count(value)} ${word}${value === 1 ? "" : "s"}`;
}

const pad = (value: number) => String(value).padStart(2, "0");

/** 14:03:07, local time, 24-hour: the same width on every line of the feed. */
export function clock(at: Date): string {
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** "Mar 3" (with the year when it is not this year's), local time. */
export function shortDate(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  return (date.getFullYear() === now.getFullYear() ? monthDay : monthDayYear).format(date);
}

/** "today", "tomorrow", "in 3 days", "2 days ago": calendar days, local time. */
export function relativeDay(iso: string, now: Date = new Date()): string {
  const startOf = (date: Date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  const days = Math.round((startOf(new Date(iso)) - startOf(now)) / DAY_MS);
  if (days === 0) return "today";
  if (days === 1) return "tomorrow";
  if (days === -1) return "yesterday";
  return days > 0 ? `in ${days} days` : `${-days} days ago`;
}

/** ORDER_PLACED → "order placed"; READY_TO_SHIP → "ready to ship". */
export function words(value: string): string {
  return value.toLowerCase().replaceAll("_", " ");
}

/** How long ago: "just now", "12 min", "5 h", "3 days" (the age of a refund, the time since a delivery). */
export function age(iso: string, now: Date = new Date()): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 60_000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return plural(Math.floor(hours / 24), "day");
}

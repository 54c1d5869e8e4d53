/** Event cursors: the opaque form of a position in the event log, handed to subscribers. */

const PREFIX = "ev:";

/** The cursor of the event at `seq`. */
export function toEventCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`, "utf8").toString("base64url");
}

/** The position inside a cursor, or null when it is not one of ours. */
export function fromEventCursor(cursor: string): number | null {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 40 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const match = /^ev:(0|[1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : null;
}

/**
 * Standard Webhooks signing (docs/ARCHITECTURE.md, "Webhooks"): the receiver checks
 * `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), the key being the bytes of the
 * base64 after `whsec_`, with any Standard Webhooks library (`standardwebhooks`). node:crypto only.
 */
import { createHmac } from "node:crypto";

const SECRET_PREFIX = "whsec_";

/** The headers that carry a delivery's id, time and signature. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The key bytes of a `whsec_…` secret (a secret without the prefix is taken as the base64 itself). */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
}

/** Signs one attempt of a delivery: `timestamp` is the attempt's time, in whole seconds since the epoch. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): WebhookHeaders {
  const seconds = Math.floor(timestamp);
  const signature = createHmac("sha256", keyOf(secret)).update(`${id}.${seconds}.${body}`, "utf8").digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(seconds), "webhook-signature": `v1,${signature}` };
}

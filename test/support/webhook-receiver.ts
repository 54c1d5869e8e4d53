/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that verifies every request as a
 * shop's receiver would (`standardwebhooks`: `new Webhook(secret).verify(body, headers)`), records
 * it, and answers as the test says: a status, or never (the request is held open until `close`).
 * It also records how many requests of one webhook-id were open at once (`maxConcurrentPerId`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One request as it arrived. */
export interface ReceivedRequest {
  id: string;
  timestamp: string;
  raw: string;
  body: { type: string; timestamp: string; data: any };
  /** Date.now() at arrival. */
  at: number;
  /** Whether the signature verified (a request that does not is answered 401). */
  verified: boolean;
  /** The status answered; null while held open or when never answered. */
  answered: number | null;
}

/** What to answer: a status, "hang" (hold the request open), or a delay then a status. */
export type Answer = number | "hang" | { delayMs: number; status: number };

export interface WebhookReceiver {
  /** The URL to register: http://127.0.0.1:PORT/hooks?token=… (a query, which logs must not show). */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** The requests answered 2xx, in arrival order. */
  delivered(): ReceivedRequest[];
  /** The most requests of one webhook-id that were open at the same moment. */
  maxConcurrentPerId(): number;
  /** The most requests (of any id) that were open at the same moment. */
  maxOpen(): number;
  /** Decides each answer from now on (`n`: how many requests came before this one, of any id). */
  answer(decide: (request: ReceivedRequest, n: number) => Answer): void;
  /** Resolves when `predicate` holds over the requests; rejects after `timeoutMs`. */
  until(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, decide: (request: ReceivedRequest, n: number) => Answer = () => 200): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const requests: ReceivedRequest[] = [];
  const open = new Map<string, number>();
  let maxConcurrent = 0;
  let openNow = 0;
  let maxOpen = 0;
  let answer = decide;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => String(req.headers[name] ?? "");
      let verified = false;
      try {
        verifier.verify(raw, {
          "webhook-id": header("webhook-id"),
          "webhook-timestamp": header("webhook-timestamp"),
          "webhook-signature": header("webhook-signature"),
        });
        verified = true;
      } catch {
        // Recorded as unverified and answered 401.
      }
      let body: ReceivedRequest["body"];
      try {
        body = JSON.parse(raw);
      } catch {
        body = { type: "", timestamp: "", data: null };
      }
      const request: ReceivedRequest = {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        raw,
        body,
        at: Date.now(),
        verified,
        answered: null,
      };
      const n = requests.length;
      requests.push(request);
      const concurrent = (open.get(request.id) ?? 0) + 1;
      open.set(request.id, concurrent);
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      maxOpen = Math.max(maxOpen, ++openNow);
      const done = () => {
        openNow -= 1;
        open.set(request.id, (open.get(request.id) ?? 1) - 1);
      };
      res.on("close", done);
      const reply = verified ? answer(request, n) : 401;
      if (reply === "hang") return;
      const send = (status: number) => {
        request.answered = status;
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "no");
      };
      if (typeof reply === "number") send(reply);
      else setTimeout(() => send(reply.status), reply.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks?token=receiver-query-secret`,
    requests,
    delivered: () => requests.filter((r) => r.answered !== null && r.answered >= 200 && r.answered < 300),
    maxConcurrentPerId: () => maxConcurrent,
    maxOpen: () => maxOpen,
    answer: (next) => void (answer = next),
    async until(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(requests)) {
        if (Date.now() > deadline)
          throw new Error(
            `webhook receiver: condition not met within ${timeoutMs} ms; got ${requests.map((r) => `${r.id}:${r.body.type}:${r.answered}`).join(", ")}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
}

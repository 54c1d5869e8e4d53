/**
 * The webhooks scenario's receivers, in the bench process on 127.0.0.1 (node:http): a healthy one
 * that verifies every request with `standardwebhooks`, as a shop's receiver would, and stamps its
 * arrival with the bench's clock (latency.ts `now()`), and a dead one that accepts the connection,
 * reads the request and never answers. Unlike test/support/webhook-receiver.ts (its secret fixed
 * before its URL exists, every request kept whole), the secret here is set after the endpoint is
 * created through the API with the receiver's URL, and only an arrival time per id is kept: a phase
 * brings thousands of deliveries.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { now } from "./latency.js";

export interface HealthyReceiver {
  readonly url: string;
  /** Verifies with this secret (a createWebhookEndpoint's) from now on. */
  useSecret(secret: string): void;
  /** Arrival (`now()`) of the first verified request per `data.order.id` of its body. */
  readonly byOrder: Map<string, number>;
  /** Arrival of the first verified request per `webhook-id`. */
  readonly byId: Map<string, number>;
  /** The body of the last verified request. */
  lastBody(): string | undefined;
  /** Requests whose signature did not verify (answered 401). */
  unverified(): number;
  close(): Promise<void>;
}

export interface DeadReceiver {
  readonly url: string;
  /** Requests received (none answered). */
  requests(): number;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

function closer(server: http.Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

export async function startHealthyReceiver(): Promise<HealthyReceiver> {
  let verifier: Webhook | undefined;
  let last: string | undefined;
  let unverified = 0;
  const byOrder = new Map<string, number>();
  const byId = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const at = now();
      const raw = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => String(req.headers[name] ?? "");
      const id = header("webhook-id");
      let orderId: unknown;
      try {
        if (!verifier) throw new Error("no secret yet");
        verifier.verify(raw, { "webhook-id": id, "webhook-timestamp": header("webhook-timestamp"), "webhook-signature": header("webhook-signature") });
        orderId = (JSON.parse(raw) as { data?: { order?: { id?: unknown } } }).data?.order?.id;
      } catch {
        unverified += 1;
        res.writeHead(401).end();
        return;
      }
      last = raw;
      if (!byId.has(id)) byId.set(id, at);
      if (typeof orderId === "string" && !byOrder.has(orderId)) byOrder.set(orderId, at);
      res.writeHead(204).end();
    });
  });
  const url = await listen(server);
  return {
    url,
    useSecret: (secret) => void (verifier = new Webhook(secret)),
    byOrder,
    byId,
    lastBody: () => last,
    unverified: () => unverified,
    close: closer(server),
  };
}

export async function startDeadReceiver(): Promise<DeadReceiver> {
  let requests = 0;
  // The request is read (the sender's write completes) and then held: no status, no close.
  const server = http.createServer((req) => {
    requests += 1;
    req.resume();
  });
  const url = await listen(server);
  return { url, requests: () => requests, close: closer(server) };
}

/**
 * Many WebSocket subscribers speaking graphql-ws (`graphql-transport-ws`) with as little client
 * work as possible: each message is timestamped the moment it is dispatched, before it is parsed,
 * so what the bench measures is the server's delivery, not the client's bookkeeping.
 */
import WebSocket from "ws";
import { BENCH_AUTHORIZATION } from "./bench-access.js";
import { now } from "./latency.js";

export interface SubscriptionRequest {
  query: string;
  variables?: Record<string, unknown>;
}

/** Why subscribers could not subscribe (the server rejected the socket or the operation). */
export class SubscribeRefused extends Error {}

export class SubscriberSwarm {
  private readonly sockets: WebSocket[] = [];
  /** The first refusal any subscriber received. */
  refusal: string | undefined;
  /** Errors received on subscriptions after they were accepted. */
  errors: string[] = [];

  constructor(
    private readonly url: string,
    private readonly request: SubscriptionRequest,
    /** Called for every `next` payload with the subscriber's index and the receipt time. */
    private readonly onNext: (subscriber: number, payload: { data?: Record<string, unknown>; errors?: unknown[] }, at: number) => void,
  ) {}

  get size(): number {
    return this.sockets.length;
  }

  /** Opens one subscriber; resolves once the server acknowledged the connection and the subscribe went out. */
  private open(index: number, connectionParams: Record<string, unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, "graphql-transport-ws");
      this.sockets.push(socket);
      let acked = false;
      const refuse = (reason: string) => {
        this.refusal ??= reason;
        if (!acked) reject(new SubscribeRefused(reason));
      };
      socket.on("unexpected-response", (_req, res) => refuse(`WebSocket upgrade answered HTTP ${res.statusCode}`));
      socket.on("error", (error) => refuse(`WebSocket error: ${error.message}`));
      socket.on("close", (code, reason) => {
        if (!acked) refuse(`closed before connection_ack: ${code} ${reason.toString()}`);
      });
      socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: connectionParams })));
      socket.on("message", (raw: Buffer) => {
        const at = now();
        const message = JSON.parse(raw.toString("utf8")) as { type: string; id?: string; payload?: unknown };
        switch (message.type) {
          case "next":
            this.onNext(index, message.payload as { data?: Record<string, unknown> }, at);
            break;
          case "connection_ack":
            acked = true;
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: this.request }));
            resolve();
            break;
          case "ping":
            socket.send(JSON.stringify({ type: "pong" }));
            break;
          case "error": {
            const reason = `subscription refused: ${JSON.stringify(message.payload).slice(0, 300)}`;
            this.refusal ??= reason;
            this.errors.push(reason);
            break;
          }
          case "complete":
            this.errors.push("subscription completed by the server");
            break;
        }
      });
    });
  }

  /** Opens `count` subscribers, `parallel` at a time. Throws SubscribeRefused when the server refuses. */
  async connect(count: number, parallel = 50, connectionParams: Record<string, unknown> = { authorization: BENCH_AUTHORIZATION }): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(parallel, count) }, async () => {
        for (let i = next++; i < count; i = next++) await this.open(i, connectionParams);
      }),
    );
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
  }
}

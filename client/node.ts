/**
 * The subscriber for Node: {@link createSubscriber} with `ws` as the WebSocket (Node 20 has no
 * global one). Browsers import client/subscriber.ts, which has no Node imports.
 */
import WebSocket from "ws";
import { createSubscriber as createBrowserSubscriber, type Subscriber, type SubscriberOptions } from "./subscriber.js";

export * from "./subscriber.js";

/** {@link createBrowserSubscriber} with `ws` as the default `webSocketImpl`. */
export function createSubscriber(options: SubscriberOptions): Subscriber {
  return createBrowserSubscriber({ webSocketImpl: WebSocket, ...options });
}

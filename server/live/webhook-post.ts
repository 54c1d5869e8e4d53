/**
 * One webhook POST (docs/ARCHITECTURE.md, "Webhooks"), over `node:http` / `node:https` rather
 * than `fetch`: only they take a `lookup`, and the guard against requests into the server's own
 * network (WEBHOOK_ALLOW_PRIVATE_URLS off) has to sit there. A URL's name is checked when the
 * connection is made, by the look-up the connection uses: checked earlier (at creation, or by a
 * look-up of our own before the request), the name could resolve to a public address then and to
 * a private one a moment later (DNS rebinding). An IP literal is never looked up, so it is checked
 * before the request.
 */
import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { bareHost, nonPublicKind } from "../services/public-address.js";

/** Bytes of an answer's body read (so its connection can serve the next attempt); a longer body is dropped with its connection. */
const DRAIN_LIMIT = 64 * 1024;

/** A delivery refused because its host is, or resolves to, an address that is not public. */
export class PrivateAddressError extends Error {
  constructor(host: string, address: string, kind: string) {
    super(
      host === address ? `refused: ${address} is a private address (${kind})` : `refused: ${host} resolves to a private address (${address}, ${kind})`,
    );
    this.name = "PrivateAddressError";
  }
}

/**
 * A `lookup` for the connection: every address of `hostname` by `dns.lookup` (the resolver the
 * default look-up uses), and a {@link PrivateAddressError} when any one of them is not public,
 * so a name that also points inside is never connected to. Answers as `dns.lookup` would for the
 * `options` given (one address, or all of them when `all`, as Happy Eyeballs asks).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "");
    for (const { address } of addresses) {
      const kind = nonPublicKind(address);
      if (kind) return callback(new PrivateAddressError(hostname, address, kind), "");
    }
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  });
};

/** The connection pools of one worker: its sockets were all opened under its one rule. */
export interface WebhookAgents {
  http: http.Agent;
  https: https.Agent;
}

/** Keep-alive pools: an endpoint's deliveries reuse connections instead of opening (and leaving in TIME_WAIT) one each. */
export function createWebhookAgents(): WebhookAgents {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  /** Aborts the attempt (its timeout, or the worker stopping). */
  signal: AbortSignal;
  agents: WebhookAgents;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: connect wherever the name resolves (the default look-up). */
  allowPrivate: boolean;
}

/**
 * POSTs `body` to `url` and resolves with the answer's status; redirects are not followed. Rejects
 * with a {@link PrivateAddressError} (the request was never sent), a network error, or the abort.
 */
export function postWebhook(url: URL, options: PostOptions): Promise<number> {
  const host = bareHost(url.hostname);
  const kind = !options.allowPrivate && isIP(host) !== 0 ? nonPublicKind(host) : undefined;
  if (kind) return Promise.reject(new PrivateAddressError(host, host, kind));
  const secure = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    const request = (secure ? https : http).request(
      url,
      {
        method: "POST",
        headers: { ...options.headers, "content-length": String(Buffer.byteLength(options.body)) },
        signal: options.signal,
        agent: secure ? options.agents.https : options.agents.http,
        lookup: options.allowPrivate ? undefined : publicOnlyLookup,
      },
      (response) => {
        status = response.statusCode ?? 0;
        // The body is the receiver's, of any size: read up to DRAIN_LIMIT, else dropped unread.
        let bytes = 0;
        response.on("data", (chunk: Buffer) => {
          if ((bytes += chunk.length) > DRAIN_LIMIT) response.destroy();
        });
        response.on("close", () => resolve(status!));
      },
    );
    // After the status came (an abort or a reset while the body drains), the status stands.
    request.on("error", (error) => (status === undefined ? reject(error) : resolve(status)));
    request.end(options.body);
  });
}

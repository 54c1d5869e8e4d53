/**
 * GraphQL over real HTTP/1.1 with keep-alive: one socket per concurrent client, reused for every
 * request. Plain node:http rather than fetch: on a 2-core machine the bench shares the CPU with
 * the server and PostgreSQL, and node:http costs the client less per request.
 */
import http from "node:http";
import { BENCH_AUTHORIZATION } from "./bench-access.js";

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export class GraphQLClient {
  private readonly agent: http.Agent;
  private readonly target: URL;

  /** `authorization`: the Authorization header sent with every request (default: the bench's key). */
  constructor(
    url: string,
    sockets = 64,
    private readonly authorization: string = BENCH_AUTHORIZATION,
  ) {
    this.target = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  /** Posts one operation; rejects on a transport failure or a non-JSON answer, not on GraphQL errors. */
  request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
    const body = JSON.stringify(variables ? { query, variables } : { query });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: this.authorization },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve(JSON.parse(text) as GraphQLResponse<T>);
            } catch {
              reject(new Error(`HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Posts one operation and returns its data; throws on any GraphQL error. */
  async data<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const response = await this.request<T>(query, variables);
    if (response.errors?.length || !response.data) {
      throw new Error(`GraphQL error: ${JSON.stringify(response.errors ?? response).slice(0, 500)}`);
    }
    return response.data;
  }

  close(): void {
    this.agent.destroy();
  }
}

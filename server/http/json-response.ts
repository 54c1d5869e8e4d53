/** JSON answers written on a bare `node:http` response (Express's responses are ones too). */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/** Answers `body` as JSON with `status` (and more headers), as Express's `res.json` does, without its ETag. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/**
 * Security headers on every response: the API's JSON, the pages, their assets, the 404s and the
 * error answers. The default Content-Security-Policy allows nothing (a JSON answer opened in a
 * browser runs nothing and loads nothing); a page widens it for itself with {@link pagePolicy}.
 * Every policy says `frame-ancestors 'none'`: no page of this server may be framed (the explorer
 * holds an API key), and X-Frame-Options says the same to browsers without CSP 2.
 */
import type { ServerResponse } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/** The policy of every response that is not a page: JSON, scripts, stylesheets, 404s. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** What a page may add to the page policy. */
export interface PagePolicyOptions {
  /** The request's Host header: its ws:// and wss:// origins are allowed (browsers that do not count ws: as 'self'). */
  host?: string;
  /** More style-src sources: a `'nonce-…'` or `'sha256-…'` for the page's own inline styles. */
  styleSources?: string[];
}

/**
 * The policy of a page served from this server's own files: its scripts and stylesheets from this
 * origin only (no inline script, no eval, no third party), fonts and images from this origin or
 * data: URLs (GraphiQL's stylesheet embeds both), requests and WebSockets to this server only,
 * no forms, no <base>, no framing.
 */
export function pagePolicy(options: PagePolicyOptions = {}): string {
  const host = options.host && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(options.host) ? options.host : undefined;
  return [
    "default-src 'self'",
    "script-src 'self'",
    ["style-src 'self'", ...(options.styleSources ?? [])].join(" "),
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${host ? ` ws://${host} wss://${host}` : ""}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Sets the API's security headers on a response (Express's or a bare `node:http` one). */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("Content-Security-Policy", API_CONTENT_SECURITY_POLICY);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
}

/** Express middleware: the headers every response carries; pages replace the CSP with theirs. */
export function securityHeaders(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    setSecurityHeaders(res);
    next();
  };
}

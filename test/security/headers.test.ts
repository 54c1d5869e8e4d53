/**
 * Security headers (issue 10, item 5; docs/ARCHITECTURE.md, query safety): every answer of the
 * server, pages, API, probes, assets and 404s alike, carries a Content-Security-Policy that
 * forbids framing and `X-Content-Type-Options: nosniff`. The API's policy allows nothing at all;
 * the pages' policies allow their own scripts and styles and nothing inline but a nonce or hash.
 */
import { expect, it } from "vitest";
import { useFreshDatabase } from "../support/database.js";
import { authorizationHeader, useTestServer } from "../support/http.js";

const database = useFreshDatabase();
const server = useTestServer(database, { delaySweepMs: 0 });

const origin = () => new URL(server.url).origin;

/** The CSP's directives by name. */
function directives(policy: string | null): Map<string, string[]> {
  expect(policy, "Content-Security-Policy").toEqual(expect.any(String));
  return new Map(
    policy!
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...sources] = part.split(/\s+/);
        return [name!.toLowerCase(), sources];
      }),
  );
}

function expectCommonHeaders(response: Response): Map<string, string[]> {
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("x-frame-options")).toBe("DENY");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  const policy = directives(response.headers.get("content-security-policy"));
  expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
  return policy;
}

function expectApiPolicy(response: Response): void {
  const policy = expectCommonHeaders(response);
  expect(policy.get("default-src")).toEqual(["'none'"]);
}

function expectPagePolicy(response: Response): Map<string, string[]> {
  const policy = expectCommonHeaders(response);
  expect(policy.get("default-src")).toEqual(["'self'"]);
  expect(policy.get("script-src")).toEqual(["'self'"]);
  expect(policy.get("base-uri")).toEqual(["'none'"]);
  for (const sources of policy.values()) expect(sources).not.toContain("'unsafe-inline'");
  for (const sources of policy.values()) expect(sources).not.toContain("'unsafe-eval'");
  return policy;
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(new URL(path, origin()), { headers, redirect: "manual" });

it("answers POST /graphql with the API's policy and nosniff", async () => {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader() },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  expect(response.status).toBe(200);
  expectApiPolicy(response);
});

it("answers GET /graphql with a query, and a refused request, with the API's policy", async () => {
  const query = await get(`/graphql?query=${encodeURIComponent("{ __typename }")}`, { ...authorizationHeader(), "apollo-require-preflight": "true" });
  expect(query.status).toBe(200);
  expectApiPolicy(query);
  const refused = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(refused.status).toBe(401);
  expectApiPolicy(refused);
});

it("answers a browser's GET /graphql (a redirect to the explorer) with the headers", async () => {
  const response = await get("/graphql", { accept: "text/html" });
  expect(response.status).toBe(302);
  expectApiPolicy(response);
});

it("answers /healthz and /readyz with the API's policy", async () => {
  for (const path of ["/healthz", "/readyz"]) {
    const response = await get(path);
    expect(response.status, path).toBe(200);
    expectApiPolicy(response);
  }
});

it("answers a 404 and a body-parser refusal with the API's policy", async () => {
  const missing = await get("/no-such-page");
  expect(missing.status).toBe(404);
  expectApiPolicy(missing);
  const malformed = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader() },
    body: "{not json",
  });
  expect(malformed.status).toBe(400);
  expectApiPolicy(malformed);
});

it("serves /explorer with a page policy whose style nonce is fresh per response and on the page's <style>", async () => {
  const first = await get("/explorer");
  expect(first.status).toBe(200);
  const policy = expectPagePolicy(first);
  const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(policy.get("style-src")?.find((source) => source.startsWith("'nonce-")) ?? "")?.[1];
  expect(nonce, "a style nonce").toBeDefined();
  expect(policy.get("style-src")).toEqual(["'self'", `'nonce-${nonce}'`]);
  expect(policy.get("connect-src")).toEqual(expect.arrayContaining(["'self'", `ws://${new URL(origin()).host}`]));
  const html = await first.text();
  expect(html).toContain(`<style nonce="${nonce}">`);
  expect(html).not.toMatch(/<style>/);

  const second = directives((await get("/explorer")).headers.get("content-security-policy"));
  expect(second.get("style-src")).not.toEqual(policy.get("style-src"));
});

it("serves the explorer's assets with nosniff", async () => {
  for (const asset of ["graphiql.min.js", "graphiql.min.css", "explorer.js"]) {
    const response = await get(`/explorer/assets/${asset}`);
    expect(response.status, asset).toBe(200);
    expectApiPolicy(response);
  }
});

it("serves /dashboard with a page policy", async () => {
  const response = await get("/dashboard");
  expect(response.status).toBe(200);
  const policy = expectPagePolicy(response);
  expect(policy.get("connect-src")).toContain("'self'");
});

it("serves the start page with its one inline style allowed by hash", async () => {
  const response = await get("/");
  expect(response.status).toBe(200);
  const policy = expectPagePolicy(response);
  expect(policy.get("style-src")).toEqual(["'self'", expect.stringMatching(/^'sha256-[A-Za-z0-9+/=]+'$/)]);
});

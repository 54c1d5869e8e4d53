/**
 * The pages this server serves to a browser, from its own files (no CDN: partners behind
 * firewalls and machines without internet get the same pages): a start page, the GraphQL
 * explorer, and its assets taken from the installed packages.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Router } from "express";
import { pagePolicy } from "./security-headers.js";

const require = createRequire(import.meta.url);
const clientDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "client");

/** Asset name → file. Only these are served; nothing else under node_modules is reachable. */
const packageFile = (name: string, file: string) => path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
const EXPLORER_ASSETS: Record<string, string> = {
  "react.production.min.js": packageFile("react", "umd/react.production.min.js"),
  "react-dom.production.min.js": packageFile("react-dom", "umd/react-dom.production.min.js"),
  "graphql-ws.min.js": packageFile("graphql-ws", "umd/graphql-ws.min.js"),
  "graphiql.min.js": packageFile("graphiql", "graphiql.min.js"),
  "graphiql.min.css": packageFile("graphiql", "graphiql.min.css"),
  "explorer.js": path.join(clientDir, "explorer", "explorer.js"),
};

const START_PAGE_STYLE = "body{font:16px system-ui,sans-serif;max-width:40em;margin:3em auto;color:#0f172a}a{color:#0369a1}";
/** The start page's one inline style, allowed by its hash (the page never changes). */
const START_PAGE_POLICY = pagePolicy({ styleSources: [`'sha256-${createHash("sha256").update(START_PAGE_STYLE).digest("base64")}'`] });
const START_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backorder engine</title>
<style>${START_PAGE_STYLE}</style></head>
<body><h1>Backorder engine</h1>
<ul>
<li><a href="/explorer">GraphQL explorer</a>: run queries and subscriptions with your API key</li>
<li><a href="/dashboard">Dashboard</a>: live stock, backlog and restocks</li>
<li>API: <code>POST /graphql</code>, subscriptions at <code>ws://…/graphql</code> (graphql-transport-ws)</li>
<li><a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></li>
</ul></body></html>`;

/**
 * The explorer page with `nonce` on its <style> elements. GraphiQL needs a nonce rather than a
 * hash: its dialogs (settings, shortcuts) add a <style> element at run time (react-remove-scroll,
 * which takes the nonce from `window.__webpack_nonce__`; client/explorer/explorer.js sets that
 * from the page's own <style nonce>). Read once: the file only changes with a deploy.
 */
let explorerPage: string | undefined;
function explorerHtml(nonce: string): string {
  explorerPage ??= readFileSync(path.join(clientDir, "explorer", "index.html"), "utf8");
  return explorerPage.replace(/<style>/g, `<style nonce="${nonce}">`);
}

/** Routes for `/`, `/explorer` and its assets, and a browser's `GET /graphql` (sent to the explorer). */
export function pagesRouter(): Router {
  const router = express.Router();
  router.get("/", (_req, res) => {
    res.set("content-security-policy", START_PAGE_POLICY).type("html").send(START_PAGE);
  });
  router.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });
  router.get("/explorer", (req, res) => {
    // A fresh nonce per response: one that never changes would be no better than 'unsafe-inline'.
    const nonce = randomBytes(16).toString("base64");
    res.set({
      "content-security-policy": pagePolicy({ host: req.get("host"), styleSources: [`'nonce-${nonce}'`] }),
      "cache-control": "no-store",
    });
    res.type("html").send(explorerHtml(nonce));
  });
  router.get("/explorer/assets/:name", (req, res, next) => {
    const file = EXPLORER_ASSETS[req.params.name];
    if (!file) return next();
    res.sendFile(file, { maxAge: "1h" });
  });
  // A browser opening the API's URL gets the explorer; GraphQL clients (GET with ?query=) do not.
  router.get("/graphql", (req, res, next) => {
    if (req.query.query === undefined && req.accepts(["json", "html"]) === "html") return res.redirect(302, "/explorer");
    next();
  });
  return router;
}

/**
 * The HTTP layer's baseline (issue 11): a bare Apollo Server 5 in a process of its own, what the
 * engine's server is built on with nothing of ours: one field, `{ hello }`, no API key, no
 * database, no plugins, no limits, no request log. Driven by the same client at the same
 * concurrency as the engine's `{ __typename }`, it shows what Node and Apollo cost per request on
 * this machine; the ratio is what our layer adds on top (authentication, the guards and limits,
 * the context, the log).
 *
 * Two ways in, chosen by BARE_TRANSPORT: `express` (default, the issue's baseline) serves it with
 * @as-integrations/express5 behind `express.json()`, as Apollo documents; `node-http` reads the
 * body and writes the answer on `node:http` with nothing in between, as the engine's direct path
 * does for a plain JSON POST (server/http/graphql-http.ts): the floor under both.
 *
 * Started like the engine's server (server-process.ts, `script`): listens on 127.0.0.1, port 0,
 * and logs `{"msg":"listening","url":…}` on stdout.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";

const server = http.createServer();
const apollo = new ApolloServer({
  typeDefs: "type Query { hello: String! }",
  resolvers: { Query: { hello: () => "world" } },
  plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server })],
});
await apollo.start();

if (process.env.BARE_TRANSPORT === "node-http") {
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const headers = new HeaderMap();
      for (const name in req.headers) {
        const value = req.headers[name];
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method!, headers, search: "", body },
        context: async () => ({}),
      });
      for (const [name, value] of response.headers) res.setHeader(name, value);
      res.statusCode = response.status ?? 200;
      const text = response.body.kind === "complete" ? response.body.string : "";
      res.setHeader("content-length", Buffer.byteLength(text));
      res.end(text);
    });
  });
} else {
  const app = express();
  app.use("/graphql", express.json(), expressMiddleware(apollo));
  server.on("request", app);
}

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
const stop = () => void apollo.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

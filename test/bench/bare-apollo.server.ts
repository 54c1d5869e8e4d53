/**
 * The HTTP layer's baseline (issue 11): a bare Apollo Server 5 on Express 5 in a process of its
 * own, what the engine's server is built on with nothing of ours: one field, `{ hello }`, no API
 * key, no database, no plugins, no limits, no request log. Driven by the same client at the same
 * concurrency as the engine's `{ __typename }`, it shows what Node, Express and Apollo cost per
 * request on this machine; the ratio is what our layer adds on top (authentication, the guards and
 * limits, the context, the log).
 *
 * Started like the engine's server (server-process.ts, `script`): listens on 127.0.0.1, port 0,
 * and logs `{"msg":"listening","url":…}` on stdout.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";

const app = express();
const server = http.createServer(app);
const apollo = new ApolloServer({
  typeDefs: "type Query { hello: String! }",
  resolvers: { Query: { hello: () => "world" } },
  plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server })],
});
await apollo.start();
app.use("/graphql", express.json(), expressMiddleware(apollo));
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
const stop = () => void apollo.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

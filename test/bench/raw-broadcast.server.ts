/**
 * The fan-out baseline: a bare `ws` server in a process of its own that, on each POST, sends one
 * message shaped like a `backlogChanged` event to every connected socket. Like the real server,
 * it answers the request first and delivers after (the engine answers a mutation at commit, and
 * the event goes out when the hub has read it). It speaks just enough graphql-ws for the bench's
 * subscribers. Timed the same way as the real server, it shows what delivering one message to N
 * sockets over loopback costs on this machine, with no database, GraphQL or event log in between.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

let fired = 0;
const subscribed = new Set<WebSocket>();
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    fired += 1;
    const message = JSON.stringify({
      id: "1",
      type: "next",
      payload: { data: { backlogChanged: { backordered: fired, cursor: String(fired), at: new Date().toISOString() } } },
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: { fired } }));
    setImmediate(() => {
      for (const socket of subscribed) socket.send(message);
    });
  });
});
const sockets = new WebSocketServer({ server, path: "/graphql" });
sockets.on("connection", (socket) => {
  socket.on("message", (raw: Buffer) => {
    const message = JSON.parse(raw.toString("utf8")) as { type: string };
    if (message.type === "connection_init") socket.send(JSON.stringify({ type: "connection_ack" }));
    else if (message.type === "subscribe") subscribed.add(socket);
    else if (message.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
  });
  socket.on("close", () => subscribed.delete(socket));
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
const stop = () => {
  sockets.close();
  server.close(() => process.exit(0));
  for (const socket of subscribed) socket.terminate();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

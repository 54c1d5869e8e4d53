/**
 * The restart helper the client, explorer and dashboard tests stand on: a request right after a
 * restart must reach the new server, not a keep-alive socket of the old one still in fetch's pool
 * (without the helper's wait this failed on every restart: "other side closed").
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { useFreshDatabase } from "../support/database.js";
import { postGraphQL } from "../support/http.js";
import { type RestartableServer, startRestartableServer } from "./restartable-server.js";

const database = useFreshDatabase();
let server: RestartableServer;

beforeAll(async () => {
  server = await startRestartableServer(database.connection);
});
afterAll(async () => {
  await server?.stop();
});

it("answers the first request after each of several restarts on the same port", async () => {
  const port = new URL(server.url).port;
  for (let restart = 1; restart <= 5; restart += 1) {
    expect((await postGraphQL(server.url, "{ __typename }")).body.data).toEqual({ __typename: "Query" });
    await server.stop();
    await server.start();
    expect(new URL(server.url).port).toBe(port);
    const answer = await postGraphQL(server.url, "{ __typename }");
    expect(answer.status, `restart ${restart}`).toBe(200);
  }
});

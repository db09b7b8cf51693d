/**
 * The echo server of examples/echo.ts with a per-chunk Effect handler: every
 * chunk goes through `(chunk) => conn.write(chunk)` in the connection's fiber,
 * where examples/echo.ts passes `conn.write` itself and so runs as one
 * `Connection.copy` loop, without a fiber. It measures what a handler that
 * runs in a fiber and does something with each chunk pays:
 *
 *   deno task bench --lib-script bench/chunk_echo.ts --only echo64,echo1m,churn,idle --servers lib,raw
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { Address, Connection, Runtime, Server, Tcp } from "../mod.ts";

const port = Deno.args[Deno.args.indexOf("--port") + 1] ?? "7000";
const echo = Server.serveForever(
  (conn) => Connection.forEachChunk(conn, (chunk) => conn.write(chunk), { borrow: true }),
  { idleTimeout: Duration.infinity },
);
const main = Effect.flatMap(Server.Server, (server) => {
  console.log(`listening on ${Address.format(server.address)}`);
  return Effect.never;
}).pipe(Effect.provide(echo.pipe(Layer.provide(Tcp.layer(`127.0.0.1:${port}`)))));

if (import.meta.main) Runtime.runMain(main);

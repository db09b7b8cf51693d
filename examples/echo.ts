/**
 * The smallest echo server: every byte a client sends comes straight back.
 * The benchmark drives it.
 *
 *   deno run --allow-net=127.0.0.1 examples/echo.ts --port 7000
 *   deno run --allow-read --allow-write examples/echo.ts --unix /tmp/echo.sock
 *   deno run --unstable-net --allow-net=127.0.0.1 examples/echo.ts --port 7000 --reuse-port
 *
 * Prints `listening on ADDRESS` once ready.
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { Address, Connection, Runtime, Server, Tcp, Unix } from "../mod.ts";

const usage = `usage: echo.ts [--port P | --unix PATH] [--host H] [--reuse-port]`;

const main = (args: ReadonlyArray<string>): Effect.Effect<void> => {
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args.includes("--help")) {
    console.log(usage);
    return Effect.void;
  }
  const unixPath = flag("--unix");
  const listener = unixPath !== undefined
    ? Unix.layer(unixPath, { replaceStale: true })
    : Tcp.layer(`${flag("--host") ?? "127.0.0.1"}:${flag("--port") ?? "7000"}`, {
      reusePort: args.includes("--reuse-port"),
    });
  const echo = Server.serveForever(
    (conn) => Connection.forEachChunk(conn, conn.write, { borrow: true }),
    {
      idleTimeout: Duration.infinity,
    },
  );
  return Effect.flatMap(Server.Server, (server) => {
    console.log(`listening on ${Address.format(server.address)}`);
    return Effect.never;
  }).pipe(
    Effect.provide(echo.pipe(Layer.provide(listener))),
    Effect.catchTag("SocketError", (error) =>
      Effect.sync(() => {
        console.error(`echo: ${error.message}`);
        Deno.exit(1);
      })),
  );
};

if (import.meta.main) Runtime.runMain(main(Deno.args));

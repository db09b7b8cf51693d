/**
 * The smallest echo server: every byte a client sends comes straight back.
 * The benchmark drives it.
 *
 *   deno run --allow-net=127.0.0.1 examples/echo.ts --port 7000
 *   deno run --allow-net --allow-read --allow-write examples/echo.ts --unix /tmp/echo.sock
 *   deno run --unstable-net --allow-net=127.0.0.1 examples/echo.ts --port 7000 --reuse-port
 *   deno run examples/echo.ts --help
 *
 * Prints `listening on ADDRESS` once ready (`--port 0` picks a free port;
 * `--host` defaults to 127.0.0.1). Ctrl-C stops it. It never shows what
 * clients send.
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { Address, Server, type SocketError, Tcp, Unix } from "../mod.ts";
import { hostPort, parseFlags, runExample, type UsageError, write } from "./_terminal.ts";

const usage = `usage: echo.ts [--port P | --unix PATH] [--host H] [--reuse-port] | --help`;

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, SocketError.SocketError | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, {
      values: ["--port", "--unix", "--host"],
      switches: ["--reuse-port"],
    });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const unixPath = flags.value("--unix");
    const listener = unixPath !== undefined
      ? Unix.layer(unixPath, { replaceStale: true })
      : Tcp.layer(hostPort(flags.value("--host") ?? "127.0.0.1", flags.value("--port") ?? "7000"), {
        reusePort: flags.has("--reuse-port"),
      });
    // Server.echo is a copy loop that runs without a fiber per connection.
    // No idle timeout: the benchmark holds idle connections on purpose.
    const echo = Server.serveForever(Server.echo, { idleTimeout: Duration.infinity });
    yield* Effect.flatMap(Server.Server, (server) => {
      console.log(`listening on ${Address.format(server.address)}`);
      return Effect.never;
    }).pipe(Effect.provide(echo.pipe(Layer.provide(listener))));
  });

if (import.meta.main) runExample("echo", usage, main(Deno.args));

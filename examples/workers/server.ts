/**
 * A worker of the supervised server: greets each client with which worker
 * it reached, then echoes what it sends. Every worker listens on the same
 * port with `reusePort` (hence `--unstable-net`); the kernel spreads new
 * connections over them.
 *
 *   deno run --unstable-net --allow-net=127.0.0.1 --allow-env=FIBERNET_WORKER_INDEX,FIBERNET_WORKER_COUNT \
 *     examples/workers/server.ts --port 8000
 *
 * It is meant to be started by `supervisor.ts`, but runs alone too. It prints
 * `worker I ready on HOST:PORT (pid P)` once it listens and `worker I stopped`
 * once a SIGTERM or Ctrl-C has stopped it gracefully; it also stops if its
 * supervisor is killed.
 *
 * @module
 */
import { Effect, Layer, Option } from "effect";
import { Server, type SocketError, Tcp, Workers } from "../../mod.ts";
import { hostPort, parseFlags, runExample, UsageError, write } from "../_terminal.ts";

const usage = "usage: server.ts --port PORT [--host 127.0.0.1]";

const main: Effect.Effect<void, SocketError.SocketError | UsageError> = Effect.gen(function* () {
  const flags = yield* parseFlags(Deno.args, { values: ["--port", "--host"] });
  if (flags.has("--help") || flags.has("-h")) return yield* write(`${usage}\n`);
  const port = flags.value("--port");
  if (port === undefined || !/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return yield* new UsageError({ message: "--port needs a port number (1-65535)" });
  }
  const address = hostPort(flags.value("--host") ?? "127.0.0.1", port);
  const name = Option.match(Workers.current(), {
    onNone: () => "worker (alone)",
    onSome: ({ index }) => `worker ${index}`,
  });
  const greetThenEcho: Server.Handler<SocketError.SocketError, never> = (conn) =>
    Effect.zipRight(conn.write(`${name}\n`), Server.echo.effect(conn));
  const serving = Server.serveForever(greetThenEcho, { shutdownTimeout: "5 seconds" }).pipe(
    Layer.provide(Tcp.layer(address, { reusePort: true })),
  );
  yield* Effect.zipRight(write(`${name} ready on ${address} (pid ${Deno.pid})\n`), Effect.never)
    .pipe(
      Effect.provide(serving),
      Effect.ensuring(write(`${name} stopped\n`)),
      // Stop with the supervisor, even one killed without a chance to stop its workers.
      (serve) => Effect.race(serve, Workers.supervisorGone),
    );
});

runExample("server", usage, main);

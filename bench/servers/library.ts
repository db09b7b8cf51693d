/**
 * Runs a bench server built with this library: the handler the caller wrote,
 * served by `Server.serveForever` on TCP or a unix socket as the flags say
 * (see args.ts), under `DenoRuntime.runMain`, printing `listening on ADDRESS`.
 *
 * The server options differ from the defaults only where the benchmark needs
 * it: no idle timeout (the idle workload holds connections) and room for more
 * than its 10 000 connections; `--tracing` turns on the server's spans (to
 * Effect's own tracer: what the library adds, without an exporter's cost).
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { Address, type Connection, DenoRuntime, Server, Tcp, Unix } from "../../mod.ts";
import type { ServerArgs } from "./args.ts";

/** Serves `handler` where `args` say, until SIGINT or SIGTERM. */
export function runLibraryServer<E>(
  args: ServerArgs,
  handler: (conn: Connection.Connection) => Effect.Effect<void, E>,
): void {
  const listener = args.unix !== undefined
    ? Unix.layer(args.unix, { replaceStale: true })
    : Tcp.layer(Address.format(Address.inet(args.host, args.port)));
  const server = Server.serveForever(handler, {
    maxConnections: 100_000,
    idleTimeout: Duration.infinity,
    tracing: args.tracing,
  });
  const main = Effect.flatMap(Server.Server, (running) => {
    console.log(`listening on ${Address.format(running.address)}`);
    return Effect.never;
  }).pipe(Effect.provide(server.pipe(Layer.provide(listener))));
  DenoRuntime.runMain(main);
}

/** Exits with a message: the server does not speak `proto`. */
export function unsupported(name: string, proto: string): never {
  console.error(`${name}: --proto ${proto} is not served here (line or lp)`);
  Deno.exit(2);
}

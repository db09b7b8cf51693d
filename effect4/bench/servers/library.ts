/**
 * Runs a bench server built with the Effect 4 line of this library: the
 * handler the caller wrote, served by `Server.serveForever` on TCP or a unix
 * socket as the flags say (the root's bench/servers/args.ts, shared by every
 * Deno bench server), under `DenoRuntime.runMain`, printing
 * `listening on ADDRESS`. The counterpart of the root's
 * bench/servers/library.ts, with the same options: no idle timeout (the idle
 * workload holds connections) and room for more than its 10 000 connections.
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { Address, type Connection, DenoRuntime, Server, Tcp, Unix } from "../../mod.ts";
import type { ServerArgs } from "../../../bench/servers/args.ts";

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
  });
  const main = Effect.flatMap(Server.Server, (running) => {
    console.log(`listening on ${Address.format(running.address)}`);
    return Effect.never;
  }).pipe(Effect.provide(server.pipe(Layer.provide(listener))));
  DenoRuntime.runMain(main);
}

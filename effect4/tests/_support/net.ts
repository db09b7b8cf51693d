// Loopback networking for tests: connected pairs, servers, free ports, IPv6.
import { Effect, Fiber, Layer } from "effect";
import type * as Scope from "effect/Scope";
import { Connection, Listener, Server, type SocketError, Tcp } from "../../mod.ts";

/** True when ::1 can be bound on this machine. */
export const hasIpv6: boolean = (() => {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
})();

/**
 * A listener on a free loopback port of `host`, a client connected to it and
 * the accepted server side, all closed with the scope.
 */
export const pair = (host = "127.0.0.1"): Effect.Effect<
  {
    readonly listener: Listener.Listener;
    readonly client: Connection.Connection;
    readonly server: Connection.Connection;
  },
  SocketError.SocketError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const listener = yield* Tcp.listen(host.includes(":") ? `[${host}]:0` : `${host}:0`);
    const accepting = yield* Effect.forkChild(Listener.acceptScoped(listener));
    const client = yield* Tcp.connect(listener.address);
    const server = yield* Fiber.join(accepting);
    return { listener, client, server };
  });

/** A loopback TCP port nobody listens on (bound, then released). */
export const freePort = (): number => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
};

/** An echo handler: every chunk straight back. */
export const echo: Server.Handler<SocketError.SocketError, never> = (conn) =>
  Connection.forEachChunk(conn, conn.write);

/** Starts a server on a free loopback TCP port in the current scope; returns it. */
export const startServer = <E = never, R = never>(
  handler: Server.Handler<E, R> | Server.Loop,
  options?: Server.Options,
): Effect.Effect<Server.Server, SocketError.SocketError, Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const layer = Server.serveForever(handler, options).pipe(
      Layer.provide(Tcp.layer("127.0.0.1:0")),
    );
    const context = yield* Layer.buildWithScope(layer, scope);
    return yield* Effect.provide(Server.Server, context);
  });

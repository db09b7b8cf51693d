/**
 * Effect 4's `SocketServer` (`effect/socket/SocketServer`) for Deno: the
 * counterpart of `@effect/platform-node`'s `NodeSocketServer`, built on this
 * library's `Server` and listeners, so `effect/rpc`'s
 * `RpcServer.layerProtocolSocketServer` and other code written against
 * Effect 4's `SocketServer` serve TCP or Unix clients from Deno unchanged.
 *
 * Moving from Node is one line:
 *
 * ```ts ignore
 * // before: NodeSocketServer.layer({ port: 3000 })
 * DenoSocketServer.layer({ port: 3000 })
 * ```
 *
 * `address` is `effect/net`'s `SocketAddress` (an `InetAddress` or a
 * `UnixPathAddress`). Each connection is served by `Server.make` with its
 * options (most connections at once, idle and write timeouts, accept
 * back-off when out of file descriptors) and handed to the handler as a
 * `DenoSocket` over it: reads pulled, so a slow handler slows its client
 * instead of growing memory. A handler that ends because its socket closed
 * (a `SocketCloseError`, which is how every read loop ends) ended normally;
 * any other failure is logged by the server (`failureLogLevel`, one line
 * with the peer) and counted in `Server.metrics.failed`, and never stops
 * the server.
 *
 * Stopping is immediate, as with `NodeSocketServer`: when `run` is
 * interrupted the listener stops accepting and every connection's handler
 * is interrupted at once (its finalizers run, then its connection closes).
 * Handlers such as `effect/rpc`'s serve a connection until the client closes
 * it, and `effect/cluster` runners keep theirs open for minutes, so a drain
 * would only wait on the peers. Give `shutdownTimeout` to let handlers
 * finish on their own first. The listener stays bound as long as the
 * server's scope, so `address` is valid throughout and `run` may be called
 * again after an interrupted one; clients that arrive while no `run` is
 * active wait in the backlog.
 *
 * ```ts
 * import { SocketServer } from "effect/socket/SocketServer";
 * import { Effect } from "effect";
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 *
 * // An echo: every chunk goes back until the client closes its side.
 * const echo = Effect.gen(function* () {
 *   const server = yield* SocketServer;
 *   yield* server.run((socket) =>
 *     Effect.gen(function* () {
 *       const writer = yield* socket.writer;
 *       const reader = yield* socket.reader;
 *       while (true) yield* writer.writeAll(yield* reader.pull);
 *     }).pipe(Effect.scoped)
 *   );
 * }).pipe(Effect.provide(DenoSocketServer.layer({ host: "127.0.0.1", port: 9999 })));
 * ```
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as NetAddress from "effect/net/NetAddress";
import * as Result from "effect/Result";
import type * as Scope from "effect/Scope";
import * as Socket from "effect/socket/Socket";
import * as SocketServer from "effect/socket/SocketServer";
import * as Address from "../Address.ts";
import type * as Conn from "../Connection.ts";
import * as Listener from "../Listener.ts";
import * as Server from "../Server.ts";
import * as Tcp from "../Tcp.ts";
import * as Tls from "../Tls.ts";
import * as Unix from "../Unix.ts";
import * as DenoSocket from "./DenoSocket.ts";

/**
 * Where to listen, in `node:net`'s `listen` shape: `{ port, host, backlog }`
 * for TCP (port 0 or omitted picks a free port, read it from `address`; host
 * defaults to `"0.0.0.0"`, every IPv4 interface) or `{ path }` for a Unix
 * socket.
 *
 * @example
 * ```ts
 * import type { DenoSocketServer } from "@fibernet/socket/platform";
 * const tcp: DenoSocketServer.ListenOptions = { host: "127.0.0.1", port: 0, backlog: 128 };
 * const unix: DenoSocketServer.ListenOptions = { path: "/tmp/app.sock", replaceStale: true };
 * ```
 */
export type ListenOptions =
  | {
    /** Port; 0 or omitted picks a free one. */
    readonly port?: number | undefined;
    /** Host or IP literal to bind. Default `"0.0.0.0"`. */
    readonly host?: string | undefined;
    /** Pending-connection queue length. Default 511. */
    readonly backlog?: number | undefined;
    /** `SO_REUSEPORT` (needs `--unstable-net`). */
    readonly reusePort?: boolean | undefined;
  }
  | {
    /** Filesystem path of the Unix socket. */
    readonly path: string;
    /** Replace a stale socket file left by a crashed process. */
    readonly replaceStale?: boolean | undefined;
  };

/**
 * Options of a server: the `Server.Options` (limits, idle and write
 * timeouts, drain time, `noDelay`, `failureLogLevel`) plus the options of
 * each connection's socket.
 *
 * @example
 * ```ts
 * import type { DenoSocketServer } from "@fibernet/socket/platform";
 * const options: DenoSocketServer.ServerOptions = {
 *   maxConnections: 1000,
 *   idleTimeout: "1 minute",
 *   socket: { readSize: 16 * 1024 },
 * };
 * ```
 */
export interface ServerOptions extends Server.Options {
  /**
   * How long handlers may run on when `run` is interrupted before they are
   * interrupted. Default 0: at once (see the module notes).
   */
  readonly shutdownTimeout?: Duration.Input;
  /** Options of the `Socket` each connection is handed as. */
  readonly socket?: DenoSocket.Options | undefined;
}

/**
 * Everything {@link layer} and {@link make} accept in one object, as
 * `NodeSocketServer.layer` does.
 *
 * @example
 * ```ts
 * import type { DenoSocketServer } from "@fibernet/socket/platform";
 * const options: DenoSocketServer.Options = { port: 3000, maxConnections: 100 };
 * ```
 */
export type Options = ListenOptions & ServerOptions;

const openError = (cause: unknown): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({
    reason: new SocketServer.SocketServerOpenError({ cause }),
  });

/** This library's address as `effect/net`'s. */
const toSocketAddress = (address: Address.Address): NetAddress.SocketAddress => {
  if (address._tag === "UnixAddress") return NetAddress.unixPathAddress(address.path);
  const inet = NetAddress.inetAddressFromIpString(address.hostname, address.port);
  // A listener's address is the IP it bound, never a name.
  return Result.getOrThrow(inet);
};

const bind = (
  options: Options | Address.Input,
): Effect.Effect<Listener.Listener, SocketServer.SocketServerError, Scope.Scope> => {
  if (typeof options === "string" || "_tag" in options) {
    const listen = typeof options === "string"
      ? options.startsWith("unix:") ? Unix.listen(options) : Tcp.listen(options)
      : options._tag === "UnixAddress"
      ? Unix.listen(options)
      : Tcp.listen(options);
    return Effect.mapError(listen, openError);
  }
  if ("path" in options) {
    return Effect.mapError(
      Unix.listen(options.path, { replaceStale: options.replaceStale ?? false }),
      openError,
    );
  }
  return Effect.mapError(
    Tcp.listen(Address.inet(options.host ?? "0.0.0.0", options.port ?? 0), {
      ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
      ...(options.reusePort ? { reusePort: true } : {}),
    }),
    openError,
  );
};

/** A handler whose socket closed ended normally: that is how every read loop ends. */
const closedSocket = (error: unknown): boolean =>
  Socket.isSocketError(error) && error.reason._tag === "SocketCloseError";

/**
 * A `SocketServer` over a listener that is bound already. The listener is
 * not closed by `run`; its owner closes it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp } from "@fibernet/socket";
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* Tcp.listen("127.0.0.1:0");
 *   const server = DenoSocketServer.fromListener(listener, { maxConnections: 10 });
 *   yield* Effect.log(server.address);
 * }).pipe(Effect.scoped);
 * ```
 */
export const fromListener = (
  listener: Listener.Listener,
  options?: ServerOptions,
): SocketServer.SocketServer["Service"] => {
  // Server.make closes its listener when it stops; this one outlives every run.
  const shared: Listener.Listener = {
    address: listener.address,
    get accept() {
      return listener.accept;
    },
    close: Effect.void,
    raw: listener.raw,
    core: listener.core,
  };
  const socketOptions = options?.socket;
  const serverOptions: Server.Options = {
    ...options,
    shutdownTimeout: options?.shutdownTimeout ?? Duration.zero,
  };
  const run = <R, E, _>(
    handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>,
  ): Effect.Effect<never, SocketServer.SocketServerError, R> => {
    const serve = (conn: Conn.Connection): Effect.Effect<unknown, E, R> =>
      Effect.suspend(() => handler(DenoSocket.fromConnection(conn, socketOptions))).pipe(
        Effect.catchIf(closedSocket, () => Effect.void),
        Effect.provideService(DenoSocket.Connection, conn),
      ) as Effect.Effect<unknown, E, R>;
    return Effect.scoped(
      Effect.andThen(
        Effect.provideService(Server.make(serve, serverOptions), Listener.Listener, shared),
        Effect.never,
      ),
    ) as Effect.Effect<never, never, R>;
  };
  return SocketServer.SocketServer.of({ address: toSocketAddress(listener.address), run });
};

/**
 * Binds a listener (closed with the scope) and returns the `SocketServer`
 * serving it: the counterpart of `NodeSocketServer.make`. Accepts
 * {@link Options} or an address such as `"127.0.0.1:0"` or `"unix:/tmp/s"`.
 * A bind failure is a `SocketServerError` whose reason is a
 * `SocketServerOpenError` carrying this library's `SocketError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const server = yield* DenoSocketServer.make({ host: "127.0.0.1", port: 0 });
 *   yield* Effect.log(server.address);
 * }).pipe(Effect.scoped);
 * ```
 */
export const make = (
  options: Options | Address.Input,
  serverOptions?: ServerOptions,
): Effect.Effect<
  SocketServer.SocketServer["Service"],
  SocketServer.SocketServerError,
  Scope.Scope
> =>
  Effect.map(
    bind(options),
    (listener) =>
      fromListener(
        listener,
        typeof options === "object" && !("_tag" in options)
          ? { ...options, ...serverOptions }
          : serverOptions,
      ),
  );

/**
 * A Layer providing `SocketServer`: the counterpart of
 * `NodeSocketServer.layer`, with the same `{ port, host }` / `{ path }`
 * options plus the {@link ServerOptions}.
 *
 * @example
 * ```ts
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 * const ServerLive = DenoSocketServer.layer({ port: 3000, idleTimeout: "1 minute" });
 * ```
 */
export const layer = (
  options: Options | Address.Input,
  serverOptions?: ServerOptions,
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError> =>
  Layer.effect(SocketServer.SocketServer, make(options, serverOptions));

/**
 * A Layer providing `SocketServer` over whatever listener the
 * `Listener.Listener` service holds: `Tcp.layer`, `Unix.layer` or a TLS
 * listener's Layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { Tcp } from "@fibernet/socket";
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 *
 * const ServerLive = DenoSocketServer.layerListener({ maxConnections: 100 }).pipe(
 *   Layer.provide(Tcp.layer("127.0.0.1:3000")),
 * );
 * ```
 */
export const layerListener = (
  options?: ServerOptions,
): Layer.Layer<SocketServer.SocketServer, never, Listener.Listener> =>
  Layer.effect(
    SocketServer.SocketServer,
    Effect.map(Listener.Listener, (listener) => fromListener(listener, options)),
  );

/**
 * A Layer providing `SocketServer` over TLS: `Tls.layer`'s certificate
 * options, then the {@link ServerOptions}. Connections reach the handler
 * with their handshake done.
 *
 * @example
 * ```ts
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 * const ServerLive = DenoSocketServer.layerTls("127.0.0.1:8443", {
 *   certFile: "./cert.pem",
 *   keyFile: "./key.pem",
 * });
 * ```
 */
export const layerTls = (
  address: Address.Input,
  tlsOptions: Tls.ListenOptions,
  serverOptions?: ServerOptions,
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError> =>
  layerListener(serverOptions).pipe(
    Layer.provide(
      Layer.effect(Listener.Listener, Effect.mapError(Tls.listen(address, tlsOptions), openError)),
    ),
  );

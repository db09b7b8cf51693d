/**
 * `@effect/platform`'s `SocketServer.SocketServer` for Deno: the counterpart
 * of `@effect/platform-node`'s `NodeSocketServer`, built on this library's
 * `Server` and listeners, so `@effect/rpc`'s
 * `RpcServer.layerProtocolSocketServer` and other platform code serve TCP or
 * Unix clients from Deno unchanged.
 *
 * Moving from Node is one line:
 *
 * ```ts ignore
 * // before: NodeSocketServer.layer({ port: 3000 })
 * DenoSocketServer.layer({ port: 3000 })
 * ```
 *
 * Each connection is served by `Server.make` with its options — most
 * connections at once (`maxConnections`), an idle timeout, accept back-off
 * when out of file descriptors — and handed to the handler as a `DenoSocket`
 * (reads pulled, so a slow handler slows its client instead of growing
 * memory).
 *
 * Stopping is immediate, as with `NodeSocketServer`: when `run` is
 * interrupted the listener stops accepting and every connection's handler is
 * interrupted at once (its finalizers run, then its connection closes). The
 * handlers that platform code runs here — `@effect/rpc`'s server, for one —
 * serve a connection until the client closes it, and clients such as
 * `@effect/cluster` runners keep theirs open for minutes, so a drain would
 * only wait on the peers. Give `shutdownTimeout` to let handlers finish on
 * their own first. A handler's failure
 * is reported at the fiber's unhandled-error log level, as Node does, counted
 * in the server's `failed` metric (see `Server.metricsFor`), and never stops the server. The listener stays
 * bound as long as the Layer, so `address` is valid throughout and `run` may
 * be called again after an interrupted one; clients that arrive while no
 * `run` is active wait in the backlog.
 *
 * ```ts
 * import * as SocketServer from "@effect/platform/SocketServer";
 * import { Effect } from "effect";
 * import { DenoSocketServer } from "@fibernet/socket/platform";
 *
 * const echo = Effect.gen(function* () {
 *   const server = yield* SocketServer.SocketServer;
 *   yield* server.run((socket) =>
 *     Effect.gen(function* () {
 *       const write = yield* socket.writer;
 *       yield* socket.run(write);
 *     }).pipe(Effect.scoped)
 *   );
 * }).pipe(Effect.provide(DenoSocketServer.layer({ host: "127.0.0.1", port: 9999 })));
 * ```
 *
 * @module
 */
import type * as Socket from "@effect/platform/Socket";
import * as SocketServer from "@effect/platform/SocketServer";
import * as Cause from "effect/Cause";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as FiberRef from "effect/FiberRef";
import * as Layer from "effect/Layer";
import * as Metric from "effect/Metric";
import type * as Scope from "effect/Scope";
import type * as Address from "../Address.ts";
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
 * Options of a server: the {@link Server.Options} (limits, idle timeout,
 * drain time, `noDelay`) plus the options of each connection's socket.
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
  readonly shutdownTimeout?: Server.Options["shutdownTimeout"];
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
  new SocketServer.SocketServerError({ reason: "Open", cause });

const bind = (
  options: Options | Address.Input,
): Effect.Effect<Listener.Listener, SocketServer.SocketServerError, Scope.Scope> => {
  if (typeof options === "string" || "_tag" in options) {
    const listen = typeof options !== "string" && options._tag === "UnixAddress"
      ? Unix.listen(options)
      : typeof options === "string" && options.startsWith("unix:")
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
    Tcp.listen(
      { _tag: "TcpAddress", hostname: options.host ?? "0.0.0.0", port: options.port ?? 0 },
      {
        ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
        ...(options.reusePort ? { reusePort: true } : {}),
      },
    ),
    openError,
  );
};

/** Reports a handler's failure the way `NodeSocketServer` does, and counts it in `failed`. */
const reportFailure = <E>(
  failed: Metric.Metric.Counter<number>,
  cause: Cause.Cause<E>,
): Effect.Effect<void> =>
  Cause.isInterruptedOnly(cause) ? Effect.void : Effect.zipRight(
    Metric.increment(failed),
    Effect.flatMap(
      FiberRef.get(FiberRef.unhandledErrorLogLevel),
      (level) =>
        level._tag === "Some"
          ? Effect.logWithLevel(level.value, "Unhandled error in SocketServer", cause)
          : Effect.void,
    ),
  );

/**
 * A `SocketServer` over a listener that is already bound. The listener is
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
): SocketServer.SocketServer["Type"] => {
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
  // The server's own failure counter (see Server.metricsFor).
  const { failed } = Server.metricsFor(listener.address, options?.name);
  const socketOptions = options?.socket;
  const serverOptions: Server.Options = {
    ...options,
    shutdownTimeout: options?.shutdownTimeout ?? Duration.zero,
  };
  const run = <R, E, _>(
    handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>,
  ): Effect.Effect<never, SocketServer.SocketServerError, R> => {
    const serve = (conn: Conn.Connection): Effect.Effect<void, never, R> =>
      Effect.suspend(() => handler(DenoSocket.fromConnection(conn, socketOptions))).pipe(
        Effect.provideService(DenoSocket.Connection, conn),
        Effect.catchAllCause((cause) => reportFailure(failed, cause)),
      ) as Effect.Effect<void, never, R>;
    return Effect.scoped(
      Effect.zipRight(
        Effect.provideService(Server.make(serve, serverOptions), Listener.Listener, shared),
        Effect.never,
      ),
    ) as Effect.Effect<never, never, R>;
  };
  return SocketServer.SocketServer.of({ address: listener.address, run });
};

/**
 * Binds a listener (closed with the scope) and returns the `SocketServer`
 * serving it: the counterpart of `NodeSocketServer.make`. Accepts
 * {@link Options} or an address such as `"127.0.0.1:0"` or `"unix:/tmp/s"`.
 * A bind failure is a `SocketServerError` with reason `Open`.
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
  SocketServer.SocketServer["Type"],
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
 * A Layer providing `SocketServer.SocketServer`: the counterpart of
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
  Layer.scoped(SocketServer.SocketServer, make(options, serverOptions));

/**
 * A Layer providing `SocketServer.SocketServer` over whatever listener the
 * `Listener.Listener` service holds — `Tcp.layer`, `Unix.layer` or a TLS
 * listener Layer.
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
 * A Layer providing `SocketServer.SocketServer` over TLS: `Tls.layer`'s
 * certificate options, then the {@link ServerOptions}.
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
      Layer.mapError(
        Tls.layer(address, tlsOptions),
        (cause) => new SocketServer.SocketServerError({ reason: "Open", cause }),
      ),
    ),
  );

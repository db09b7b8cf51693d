/**
 * `@effect/platform`'s `Socket.Socket` for Deno: the counterpart of
 * `@effect/platform-node`'s `NodeSocket`, built on this library's
 * {@link Conn.Connection}, so `Socket.toChannel`, `@effect/rpc`'s
 * `RpcClient.layerProtocolSocket` and any other code written against the
 * platform's `Socket` run on Deno unchanged.
 *
 * Semantics, as the platform defines them:
 * - `run(handler)` (and `runRaw`, the same here) opens the connection (for
 *   {@link makeNet} a new one on every call), calls `handler` on every chunk
 *   received and completes when the peer ends its side (EOF). A handler may
 *   return an Effect; its failure fails `run`.
 * - `writer` is a scoped write function. Writing a `Socket.CloseEvent` closes
 *   the connection and ends `run` (a clean code such as 1000 ends it
 *   successfully, others fail it with `SocketCloseError`). Releasing the
 *   writer's scope half-closes: the peer reads EOF, and this side keeps
 *   reading its answer.
 * - Failures are `SocketGenericError` with reason `Open` (connect failed),
 *   `OpenTimeout` (`openTimeout` elapsed), `Read` (e.g. the peer reset the
 *   connection) or `Write`, and `SocketCloseError`. The `cause` is this
 *   library's `SocketError`, whose `reason` says precisely what happened.
 *
 * One difference from `NodeSocket`, on purpose: reads are pulled. The next
 * read starts only after the Effect the handler returned for the previous
 * chunk has completed, so a slow handler slows the peer through TCP flow
 * control instead of buffering without bound in memory. (Node reads in
 * flowing mode and forks every handler Effect.) A handler that must not hold
 * up reading can fork its work itself.
 *
 * ```ts
 * import * as Socket from "@effect/platform/Socket";
 * import { Effect } from "effect";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const socket = yield* Socket.Socket;
 *   const write = yield* socket.writer;
 *   yield* write("ping\n");
 *   yield* socket.run((chunk) => Effect.log(new TextDecoder().decode(chunk)));
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(DenoSocket.layerNet({ host: "127.0.0.1", port: 9999, openTimeout: "5 seconds" })),
 * );
 * ```
 *
 * @module
 */
import * as Socket from "@effect/platform/Socket";
import * as Channel from "effect/Channel";
import type * as Chunk from "effect/Chunk";
import * as Context from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as FiberId from "effect/FiberId";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Scope from "effect/Scope";
import * as Address from "../Address.ts";
import type * as Conn from "../Connection.ts";
import type { SocketError } from "../SocketError.ts";
import * as Tcp from "../Tcp.ts";
import * as Tls from "../Tls.ts";
import * as Unix from "../Unix.ts";

/**
 * Options of every Deno `Socket`.
 *
 * @example
 * ```ts
 * import type { DenoSocket } from "@fibernet/socket/platform";
 * const options: DenoSocket.Options = {
 *   openTimeout: "5 seconds",
 *   closeCodeIsError: (code) => code !== 1000,
 * };
 * ```
 */
export interface Options {
  /**
   * Fail `run` with `SocketGenericError` reason `OpenTimeout` when the
   * connection is not open within this time. Default: no limit.
   */
  readonly openTimeout?: Duration.DurationInput | undefined;
  /**
   * Which `CloseEvent` codes written to the writer make `run` fail with
   * `SocketCloseError`; the others end it successfully. Default: the
   * platform's `Socket.defaultCloseCodeIsError` (all but 1000 and 1006).
   */
  readonly closeCodeIsError?: ((code: number) => boolean) | undefined;
  /** Most bytes handed to the handler at once. Default 64 KiB. */
  readonly readSize?: number | undefined;
}

/**
 * Where {@link makeNet} connects, in `node:net`'s shape: `{ host, port }` for
 * TCP (host defaults to `"localhost"`) or `{ path }` for a Unix socket, plus
 * the socket {@link Options} and, for TCP, `noDelay` / `keepAlive`.
 *
 * @example
 * ```ts
 * import type { DenoSocket } from "@fibernet/socket/platform";
 * const tcp: DenoSocket.NetOptions = { host: "127.0.0.1", port: 9999, noDelay: true };
 * const unix: DenoSocket.NetOptions = { path: "/tmp/app.sock" };
 * ```
 */
export type NetOptions =
  & (
    | {
      /** Host name or IP literal. Default `"localhost"`. */
      readonly host?: string | undefined;
      /** Port to connect to. */
      readonly port: number;
      /** Disable Nagle's algorithm. Default true. */
      readonly noDelay?: boolean | undefined;
      /** Enable TCP keep-alive probes. */
      readonly keepAlive?: boolean | undefined;
    }
    | {
      /** Filesystem path of a Unix socket. */
      readonly path: string;
    }
  )
  & Options;

/**
 * The service giving a handler the {@link Conn.Connection} under its
 * `Socket`, e.g. for the peer's address — the counterpart of
 * `NodeSocket.NetSocket`. It is provided to the Effects a `run` handler
 * returns and to every `DenoSocketServer` connection handler (at run time;
 * type-wise it stays in a handler's requirements, so in a server handler
 * {@link connection} is often handier).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const peer = Effect.map(DenoSocket.Connection, (conn) => Address.format(conn.remoteAddress));
 * ```
 */
export interface Connection {
  /** Brand of the service identifier. */
  readonly _: unique symbol;
}

/**
 * The tag of the {@link Connection} service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const bytes = Effect.map(DenoSocket.Connection, (conn) => conn.bytesRead);
 * ```
 */
export const Connection: Context.Tag<Connection, Conn.Connection> = Context.GenericTag<
  Connection,
  Conn.Connection
>("@fibernet/socket/DenoSocket/Connection");

const DEFAULT_READ_SIZE = 64 * 1024;

/** One open connection as a `run` sees it. */
interface Open {
  readonly conn: Conn.Connection;
  /** Failed with the close error once a `CloseEvent` was written. */
  readonly closed: Deferred.Deferred<never, Socket.SocketCloseError>;
  closeError: Socket.SocketCloseError | undefined;
}

const openState = (conn: Conn.Connection): Open => ({
  conn,
  closed: Deferred.unsafeMake(FiberId.none),
  closeError: undefined,
});

const toOpenError = (error: unknown): Socket.SocketError => {
  if (Socket.isSocketError(error)) return error;
  const reason = (error as SocketError | undefined)?.reason;
  return new Socket.SocketGenericError({
    reason: reason === "TimedOut" ? "OpenTimeout" : "Open",
    cause: error,
  });
};

type Handler<_, E, R> = (data: Uint8Array) => Effect.Effect<_, E, R> | void;
type RunOptions = { readonly onOpen?: Effect.Effect<void> | undefined } | undefined;

/**
 * The socket proper. `fixed` is the connection of a socket made from an
 * existing one; without it every `run` acquires a new connection.
 */
const makeSocket = (
  acquire: Effect.Effect<Conn.Connection, Socket.SocketError, Scope.Scope>,
  options: Options | undefined,
  fixed: Open | undefined,
): Socket.Socket => {
  const closeCodeIsError = options?.closeCodeIsError ?? Socket.defaultCloseCodeIsError;
  const readSize = options?.readSize ?? DEFAULT_READ_SIZE;
  const openTimeout = options?.openTimeout;
  // Writes wait for an open connection, as the platform specifies.
  const latch = Effect.unsafeMakeLatch(fixed !== undefined);
  let current: Open | undefined = fixed;

  const readError = (open: Open, error: SocketError): Socket.SocketError =>
    open.closeError ??
      (error.reason === "Closed"
        ? new Socket.SocketCloseError({ reason: "Close", code: 1000 })
        : new Socket.SocketGenericError({ reason: "Read", cause: error }));

  // Pull a chunk, hand it over, wait for the handler's Effect, repeat.
  const readLoop = <_, E, R>(
    open: Open,
    handler: Handler<_, E, R>,
  ): Effect.Effect<void, Socket.SocketError | E, R> =>
    Effect.provideService(
      Effect.gen(function* () {
        const conn = open.conn;
        while (true) {
          const chunk = yield* Effect.mapError(
            conn.read(readSize),
            (error) => readError(open, error),
          );
          if (chunk._tag === "None") return;
          const result = handler(chunk.value);
          if (Effect.isEffect(result)) yield* result;
        }
      }),
      Connection,
      open.conn,
    );

  const acquireOpen = (scope: Scope.Scope): Effect.Effect<Open, Socket.SocketError> => {
    let connect = Scope.extend(acquire, scope);
    if (openTimeout !== undefined) {
      connect = Effect.timeoutFail(connect, {
        duration: openTimeout,
        onTimeout: () =>
          new Socket.SocketGenericError({
            reason: "OpenTimeout",
            cause: new Error(
              `no connection within ${Duration.format(Duration.decode(openTimeout))}`,
            ),
          }),
      });
    }
    return Effect.map(connect, openState);
  };

  const runRaw = <_, E = never, R = never>(
    handler: Handler<_, E, R>,
    runOptions?: RunOptions,
  ): Effect.Effect<void, Socket.SocketError | E, R> =>
    Effect.scopedWith((scope) =>
      Effect.gen(function* () {
        let open: Open;
        if (fixed !== undefined) {
          open = fixed;
        } else {
          open = yield* acquireOpen(scope);
          current = open;
          yield* latch.open;
          yield* Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              if (current === open) {
                current = undefined;
                latch.unsafeClose();
              }
            }),
          );
        }
        if (runOptions?.onOpen) yield* runOptions.onOpen;
        return yield* Effect.raceFirst(readLoop(open, handler), Deferred.await(open.closed));
      })
    ).pipe(
      Effect.catchIf(
        Socket.SocketCloseError.isClean((code) => !closeCodeIsError(code)),
        () => Effect.void,
      ),
      Effect.interruptible,
    );

  const write = (
    chunk: Uint8Array | string | Socket.CloseEvent,
  ): Effect.Effect<void, Socket.SocketError> =>
    latch.whenOpen(Effect.suspend(() => {
      const open = current;
      if (open === undefined) {
        return Effect.fail(
          new Socket.SocketGenericError({
            reason: "Write",
            cause: new Error("socket is not open"),
          }),
        );
      }
      if (Socket.isCloseEvent(chunk)) {
        if (open.closeError === undefined) {
          open.closeError = new Socket.SocketCloseError({
            reason: "Close",
            code: chunk.code,
            closeReason: chunk.reason,
          });
          Deferred.unsafeDone(open.closed, Exit.fail(open.closeError));
        }
        return open.conn.close;
      }
      return Effect.mapError(
        open.conn.write(chunk),
        (cause) => new Socket.SocketGenericError({ reason: "Write", cause }),
      );
    }));

  // Releasing the writer half-closes (FIN after the queued writes), without
  // making the releasing scope wait on a peer that does not read.
  const writer = Effect.acquireRelease(
    Effect.succeed(write),
    () =>
      Effect.suspend(() => {
        const open = current;
        if (open === undefined || open.closeError !== undefined) return Effect.void;
        return Effect.asVoid(Effect.forkDaemon(Effect.ignore(open.conn.closeWrite)));
      }),
  );

  const socket = Socket.Socket.of({
    [Socket.TypeId]: Socket.TypeId,
    run: runRaw,
    runRaw,
    writer,
  });
  connections.set(socket, () => current?.conn);
  return socket;
};

const connections = new WeakMap<Socket.Socket, () => Conn.Connection | undefined>();

/**
 * The {@link Conn.Connection} under a Deno `Socket`: for a server's socket or
 * one from {@link makeConnection}, its connection; for a {@link makeNet}
 * socket, the connection of the `run` in progress. `None` for other sockets
 * and between runs. Unlike the {@link Connection} service it adds nothing to
 * a handler's requirements.
 *
 * @example
 * ```ts
 * import type * as Socket from "@effect/platform/Socket";
 * import { Effect, Option } from "effect";
 * import { Address } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const handler = (socket: Socket.Socket) =>
 *   Option.match(DenoSocket.connection(socket), {
 *     onNone: () => Effect.void,
 *     onSome: (conn) => Effect.log(`peer ${Address.format(conn.remoteAddress)}`),
 *   });
 * ```
 */
export const connection = (socket: Socket.Socket): Option.Option<Conn.Connection> =>
  Option.fromNullable(connections.get(socket)?.());

/**
 * A `Socket` whose every `run` opens a new connection with `open` (closed
 * when that `run` ends) — the counterpart of `NodeSocket.fromDuplex`, and the
 * way to adapt any transport, e.g. `Tls.connect` or a connection with custom
 * options. `open`'s errors become `SocketGenericError` with reason `Open`
 * (`OpenTimeout` for a `TimedOut` connect).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const socket = DenoSocket.make(Tcp.connect("127.0.0.1:9999", { keepAlive: true }), {
 *   openTimeout: "3 seconds",
 * });
 * ```
 */
export const make = <E, R>(
  open: Effect.Effect<Conn.Connection, E, R>,
  options?: Options,
): Effect.Effect<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Effect.map(Effect.context<Exclude<R, Scope.Scope>>(), (context) =>
    makeSocket(
      Effect.mapInputContext(
        open as Effect.Effect<Conn.Connection, unknown, never>,
        (input: Context.Context<Scope.Scope>) =>
          Context.merge(context, input) as Context.Context<never>,
      ).pipe(Effect.mapError(toOpenError)) as Effect.Effect<
        Conn.Connection,
        Socket.SocketError,
        Scope.Scope
      >,
      options,
      undefined,
    ));

/**
 * A `Socket` over a connection that is already open, e.g. one accepted by a
 * server. Writes go out at once (no `run` needed first). The connection stays
 * its owner's to close, except that writing a `CloseEvent` closes it. `run`
 * reads it until EOF; a second `run` after EOF completes at once.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Server } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * // Serve with this library's Server and hand each connection to platform code.
 * const handler: Server.Handler<unknown, never> = (conn) =>
 *   Effect.flatMap(DenoSocket.makeConnection(conn), (socket) =>
 *     socket.run((chunk) => Effect.log(`${chunk.length} bytes`)));
 * ```
 */
export const makeConnection = (
  connection: Conn.Connection,
  options?: Options,
): Effect.Effect<Socket.Socket> => Effect.sync(() => fromConnection(connection, options));

/**
 * The synchronous form of {@link makeConnection}.
 *
 * @example
 * ```ts
 * import { type Connection } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const toSocket = (conn: Connection.Connection) => DenoSocket.fromConnection(conn);
 * ```
 */
export const fromConnection = (connection: Conn.Connection, options?: Options): Socket.Socket =>
  makeSocket(Effect.succeed(connection), options, openState(connection));

const isAddress = (u: unknown): u is Address.Address =>
  typeof u === "object" && u !== null && "_tag" in u;

/**
 * A `Socket` that connects over TCP or to a Unix socket each time it runs:
 * the counterpart of `NodeSocket.makeNet`, taking the same
 * `{ host, port }` / `{ path }` shape (or an address such as
 * `"127.0.0.1:9999"`, `"[::1]:80"`, `"unix:/tmp/app.sock"`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const socket = yield* DenoSocket.makeNet({ host: "127.0.0.1", port: 9999 });
 *   yield* socket.run((chunk) => Effect.log(chunk.length));
 * });
 * ```
 */
export const makeNet = (
  options: NetOptions | Address.Input,
  socketOptions?: Options,
): Effect.Effect<Socket.Socket> => {
  if (typeof options === "string" || isAddress(options)) {
    const address = Address.fromInput(options);
    if (address._tag === "Left") return make(Effect.fail(address.left), socketOptions);
    return address.right._tag === "UnixAddress"
      ? makeUnix(address.right, socketOptions)
      : makeTcp(address.right, socketOptions);
  }
  const merged = { ...socketOptions, ...options };
  if ("path" in options) return makeUnix(options.path, merged);
  return makeTcp(Address.tcp(options.host ?? "localhost", options.port), merged);
};

/**
 * A `Socket` that opens a TCP connection each time it runs. Nagle's
 * algorithm is off (`noDelay: true`) unless `noDelay: false` is given: the
 * platform's sockets carry messages, where batching small writes only adds
 * latency.
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const socket = DenoSocket.makeTcp("127.0.0.1:9999", { noDelay: true, openTimeout: "2 seconds" });
 * ```
 */
export const makeTcp = (
  address: Address.Input,
  options?: Options & Omit<Tcp.ConnectOptions, "timeout">,
): Effect.Effect<Socket.Socket> =>
  make(
    Tcp.connect(address, { noDelay: options?.noDelay ?? true, keepAlive: options?.keepAlive }),
    options,
  );

/**
 * A `Socket` that connects to a Unix socket each time it runs.
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const socket = DenoSocket.makeUnix("/tmp/app.sock");
 * ```
 */
export const makeUnix = (
  path: Unix.PathInput,
  options?: Options,
): Effect.Effect<Socket.Socket> => make(Unix.connect(path), options);

/**
 * A Channel over a new {@link makeNet} socket: the counterpart of
 * `NodeSocket.makeNetChannel`.
 *
 * @example
 * ```ts
 * import { Chunk, Stream } from "effect";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const replies = Stream.make(Chunk.of(new TextEncoder().encode("hi"))).pipe(
 *   Stream.flattenChunks,
 *   Stream.pipeThroughChannel(DenoSocket.makeNetChannel({ port: 9999 })),
 * );
 * ```
 */
export const makeNetChannel = <IE = never>(
  options: NetOptions | Address.Input,
): Channel.Channel<
  Chunk.Chunk<Uint8Array>,
  Chunk.Chunk<Uint8Array | string | Socket.CloseEvent>,
  Socket.SocketError | IE,
  IE,
  void,
  unknown
> => Channel.unwrapScoped(Effect.map(makeNet(options), Socket.toChannelWith<IE>()));

/**
 * A Layer providing `Socket.Socket` over TCP or a Unix socket: the
 * counterpart of `NodeSocket.layerNet`, e.g. for
 * `RpcClient.layerProtocolSocket`.
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const SocketLive = DenoSocket.layerNet({ host: "127.0.0.1", port: 9999 });
 * ```
 */
export const layerNet = (
  options: NetOptions | Address.Input,
  socketOptions?: Options,
): Layer.Layer<Socket.Socket> => Layer.effect(Socket.Socket, makeNet(options, socketOptions));

/**
 * A Layer providing `Socket.Socket` built with {@link make}, for transports
 * {@link layerNet} does not cover (e.g. `Tls.connect`).
 *
 * @example
 * ```ts
 * import { Tcp } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const SocketLive = DenoSocket.layer(Tcp.connect("127.0.0.1:9999", { keepAlive: true }));
 * ```
 */
export const layer = <E, R>(
  open: Effect.Effect<Conn.Connection, E, R>,
  options?: Options,
): Layer.Layer<Socket.Socket, never, Exclude<R, Scope.Scope>> =>
  Layer.effect(Socket.Socket, make(open, options));

/**
 * A `Socket` that opens a TLS connection (handshake included) each time it
 * runs; `tlsOptions` are `Tls.connect`'s (CA certificates, ALPN, client
 * certificate).
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const socket = DenoSocket.makeTls("localhost:8443", { caFiles: ["./ca.pem"] });
 * ```
 */
export const makeTls = (
  address: Address.Input,
  tlsOptions?: Tls.ConnectOptions,
  options?: Options,
): Effect.Effect<Socket.Socket> => make(Tls.connect(address, tlsOptions), options);

/**
 * A Layer providing `Socket.Socket` over TLS, e.g. for
 * `RpcClient.layerProtocolSocket` to a TLS server.
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const SocketLive = DenoSocket.layerTls("localhost:8443", { caFiles: ["./ca.pem"] });
 * ```
 */
export const layerTls = (
  address: Address.Input,
  tlsOptions?: Tls.ConnectOptions,
  options?: Options,
): Layer.Layer<Socket.Socket> => Layer.effect(Socket.Socket, makeTls(address, tlsOptions, options));

/**
 * Effect 4's `Socket` (`effect/socket/Socket`) for Deno: the counterpart of
 * `@effect/platform-node`'s `NodeSocket`, built on this library's
 * {@link Conn.Connection}, so `Socket.toChannel`, `effect/rpc`'s
 * `RpcClient.layerProtocolSocket` and any other code written against
 * Effect 4's `Socket` run on Deno unchanged.
 *
 * Semantics, as Effect 4 defines them:
 * - Acquiring `reader` opens the connection (for {@link makeNet}, a new one
 *   on every acquisition; its scope closes it). `pull` gives the next chunk
 *   (a batch of one, at most `readSize` bytes) and waits only when nothing
 *   has been read yet: a chunk already read is returned without suspending
 *   the fiber. Every end fails `pull` with a `SocketError` whose reason is a
 *   `SocketCloseError`: code 1000 at the peer's end of stream, the code of
 *   a `CloseEvent` this side wrote, 1006 when the reader's scope closed
 *   (which also fails a pull waiting in another fiber). A reset or another
 *   failure is a `SocketReadError` whose `cause` is this library's
 *   `SocketError`, saying precisely what happened.
 * - `writer` writes to the open connection; while none is open, writes wait
 *   for the next one. Writing a `CloseEvent` closes the connection. Releasing
 *   the writer's scope half-closes: the peer reads end of stream and this
 *   side keeps reading the answer.
 * - `Reader.upgrade` starts TLS in place on a TCP connection (STARTTLS): as
 *   a client for {@link makeNet} sockets, as a server for a server's
 *   sockets. It is refused with a `SocketUpgradeError` that says why when
 *   the connection is not plain TCP, not idle, holds bytes that arrived
 *   before it and were not read, or when Deno cannot do what the options
 *   ask (a client certificate, skipping certificate checks).
 * - Failing to open is a `SocketOpenError` (kind `Timeout` when `openTimeout`
 *   elapsed or the connect timed out) whose `cause` is this library's error.
 *
 * Reads are pulled: nothing is read from the socket until `pull` is called,
 * so a slow consumer slows the peer through TCP flow control.
 *
 * ```ts
 * import * as Socket from "effect/socket/Socket";
 * import { Effect } from "effect";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const socket = yield* Socket.Socket;
 *   const writer = yield* socket.writer;
 *   const pull = yield* Socket.readerBytes(socket); // acquires the reader: connects
 *   yield* writer.write("ping\n");
 *   const chunks = yield* pull; // fails with a SocketCloseError at the end of stream
 *   yield* Effect.log(new TextDecoder().decode(chunks[0]));
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(DenoSocket.layerNet({ host: "127.0.0.1", port: 9999, openTimeout: "5 seconds" })),
 * );
 * ```
 *
 * @module
 */
import type { NonEmptyReadonlyArray } from "effect/Array";
import * as Channel from "effect/Channel";
import * as Context from "effect/Context";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Latch from "effect/Latch";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import * as Socket from "effect/socket/Socket";
import * as Address from "../Address.ts";
import type * as Conn from "../Connection.ts";
import type { ReadReason, SocketError as LibSocketError } from "../SocketError.ts";
import * as Tcp from "../Tcp.ts";
import * as Tls from "../Tls.ts";
import * as Unix from "../Unix.ts";
import { type Side, upgrade } from "../internal/tls_upgrade.ts";

/**
 * Options of every Deno `Socket`.
 *
 * @example
 * ```ts
 * import type { DenoSocket } from "@fibernet/socket/platform";
 * const options: DenoSocket.Options = { openTimeout: "5 seconds", readSize: 16 * 1024 };
 * ```
 */
export interface Options {
  /**
   * Fail the reader's acquisition with a `SocketOpenError` of kind `Timeout`
   * when the connection is not open within this time. Default: no limit.
   */
  readonly openTimeout?: Duration.Input | undefined;
  /** Most bytes one `pull` returns. Default 64 KiB. */
  readonly readSize?: number | undefined;
  /** How long a `Reader.upgrade` handshake may take. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.Input | undefined;
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
 * The service giving a server's handler the {@link Conn.Connection} under
 * its `Socket`, e.g. for the peer's address: the counterpart of
 * `NodeSocket.NetSocket`. `DenoSocketServer` provides it to every handler at
 * run time (type-wise it is not in a handler's requirements, so
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
export const Connection: Context.Service<Connection, Conn.Connection> = Context.Service<
  Connection,
  Conn.Connection
>("@fibernet/socket/DenoSocket/Connection");

/**
 * The identifier of the {@link Connection} service (a brand: the service's
 * value is a `Connection.Connection`).
 *
 * @example
 * ```ts
 * import type { DenoSocket } from "@fibernet/socket/platform";
 * type NeedsConnection = DenoSocket.Connection;
 * ```
 */
export interface Connection {
  /** Brand of the service identifier. */
  readonly _: unique symbol;
}

const DEFAULT_READ_SIZE = 64 * 1024;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const closeError = (code: number, closeReason?: string): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketCloseError({ code, closeReason }) });

/** The end of stream, as every Effect 4 socket reports it. */
const END_OF_STREAM = closeError(1000);
/** The reader's scope closed under a pull. */
const RELEASED = closeError(1006);

const readError = (cause: LibSocketError<ReadReason>): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketReadError({ cause }) });

const writeError = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) });

const openError = (cause: unknown): Socket.SocketError => {
  if (Socket.isSocketError(cause)) return cause;
  const timedOut = (cause as { reason?: unknown } | undefined)?.reason === "TimedOut";
  return new Socket.SocketError({
    reason: new Socket.SocketOpenError({ kind: timedOut ? "Timeout" : "Unknown", cause }),
  });
};

/**
 * One open connection, as a reader and the writer see it. `conn` changes
 * once, when TLS is started in place.
 */
class Link {
  /** The failure every pull gives from now on, once the connection has ended. */
  ended: Effect.Effect<never, Socket.SocketError> | undefined = undefined;

  constructor(public conn: Conn.Connection, readonly side: Side) {}

  /** Ends reading with `error`, unless it ended already; the failure pulls give. */
  end(error: Socket.SocketError): Effect.Effect<never, Socket.SocketError> {
    return this.ended ??= Effect.fail(error);
  }

  /** A `CloseEvent` was written: pulls fail with its code, and the connection closes. */
  closeWith(event: Socket.CloseEvent): void {
    this.end(closeError(event.code, event.reason));
    this.conn.unsafeClose();
  }

  /** The reader's scope closed: a pull waiting anywhere fails, and the connection closes. */
  release(): void {
    this.end(RELEASED);
    this.conn.unsafeClose();
  }
}

/** The `pull` of a link: the connection's read, whose end or failure is sticky. */
const makePull = (
  link: Link,
  readSize: number,
): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> => {
  const onChunk = (
    chunk: Option.Option<Uint8Array>,
  ): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> =>
    chunk._tag === "Some" ? Effect.succeed([chunk.value]) : link.end(END_OF_STREAM);
  // A read of a connection this side closed ends as the closing said (a
  // CloseEvent, the reader's release), else it is a read error.
  const onFailure = (error: LibSocketError<ReadReason>) => link.ended ?? link.end(readError(error));
  return Effect.suspend(() =>
    link.ended ??
      Effect.matchEffect(link.conn.read(readSize), { onSuccess: onChunk, onFailure })
  );
};

/** What the socket is made from: a connection open already, or how to open one. */
type Source =
  | { readonly _tag: "Open"; readonly link: Link }
  | {
    readonly _tag: "Connect";
    readonly open: Effect.Effect<Conn.Connection, Socket.SocketError, Scope.Scope>;
  };

/** Maps a connection's write failure. */
const mapWrite = (effect: Effect.Effect<void, unknown>): Effect.Effect<void, Socket.SocketError> =>
  Effect.mapError(effect, writeError);

const encoder = new TextEncoder();

/** The chunks of a batch in one buffer: one write instead of several. */
const join = (chunks: NonEmptyReadonlyArray<Uint8Array | string>): Uint8Array => {
  const parts = chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

const connections = new WeakMap<Socket.Socket, () => Conn.Connection | undefined>();

/** The socket proper, over a connection open already or one opened per reader. */
const makeSocket = (source: Source, options: Options | undefined): Socket.Socket => {
  const readSize = options?.readSize ?? DEFAULT_READ_SIZE;
  const handshakeMs = options?.handshakeTimeout === undefined
    ? DEFAULT_HANDSHAKE_TIMEOUT_MS
    : Duration.toMillis(Duration.fromInputUnsafe(options.handshakeTimeout));
  // Writes wait for an open connection, as Effect 4 specifies.
  const latch = Latch.makeUnsafe(source._tag === "Open");
  let current: Link | undefined = source._tag === "Open" ? source.link : undefined;

  const readerOf = (link: Link): Socket.Reader<Uint8Array> => ({
    pull: makePull(link, readSize),
    upgrade: (upgradeOptions) =>
      Effect.suspend(() => {
        if (link.ended !== undefined) {
          return Effect.fail(
            new Socket.SocketError({
              reason: new Socket.SocketUpgradeError({ cause: new Error("the socket is closed") }),
            }),
          );
        }
        return Effect.map(upgrade(link.conn, link.side, upgradeOptions, handshakeMs), (tls) => {
          link.conn = tls;
        });
      }),
  });

  const reader: Socket.Socket["reader"] = source._tag === "Open"
    ? Effect.suspend(() => {
      const link = source.link;
      return Effect.as(
        Effect.addFinalizer(() => Effect.sync(() => link.release())),
        readerOf(link),
      );
    })
    : Effect.gen(function* () {
      const conn = yield* source.open;
      const link = new Link(conn, "client");
      current = link;
      latch.openUnsafe();
      // Runs before the connection's own finalizer: the end is set first.
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          link.release();
          if (current === link) {
            current = undefined;
            latch.closeUnsafe();
          }
        })
      );
      return readerOf(link);
    });

  const write = (
    chunk: Uint8Array | string | Socket.CloseEvent,
  ): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() => {
      const link = current;
      if (link === undefined) return latch.whenOpen(write(chunk));
      if (Socket.isCloseEvent(chunk)) return Effect.sync(() => link.closeWith(chunk));
      return mapWrite(link.conn.write(chunk));
    });

  const writeAll = (
    chunks: NonEmptyReadonlyArray<Uint8Array | string>,
  ): Effect.Effect<void, Socket.SocketError> =>
    chunks.length === 1 ? write(chunks[0]) : Effect.suspend(() => write(join(chunks)));

  // Releasing the writer half-closes (FIN after the queued writes) without
  // making the releasing scope wait on a peer that does not read.
  const writer: Socket.Socket["writer"] = Effect.acquireRelease(
    Effect.succeed<Socket.Writer>({ write, writeAll }),
    () =>
      Effect.suspend(() => {
        const link = current;
        if (link === undefined || link.ended !== undefined) return Effect.void;
        return Effect.asVoid(Effect.forkDetach(Effect.ignore(link.conn.closeWrite)));
      }),
  );

  const socket = Socket.make({ reader, writer });
  connections.set(socket, () => current?.conn);
  return socket;
};

/**
 * The {@link Conn.Connection} under a Deno `Socket`: for a server's socket or
 * one from {@link fromConnection}, its connection (after a TLS upgrade, the
 * TLS one); for a {@link makeNet} socket, the connection of the reader open
 * now. `None` for other sockets and while none is open.
 *
 * @example
 * ```ts
 * import type * as Socket from "effect/socket/Socket";
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
  Option.fromNullishOr(connections.get(socket)?.());

/**
 * A `Socket` whose every reader acquisition opens a new connection with
 * `open` (closed with the reader's scope): the counterpart of
 * `NodeSocket.fromDuplex`, and the way to adapt any transport, e.g. a
 * connection with custom options. `open`'s failures become
 * `SocketOpenError` (kind `Timeout` for a connect that timed out).
 *
 * @example
 * ```ts
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
  Effect.map(Effect.context<Exclude<R, Scope.Scope>>(), (context) => {
    let connect = Effect.mapError(
      Effect.updateContext(
        open as Effect.Effect<Conn.Connection, E, Scope.Scope>,
        (input: Context.Context<Scope.Scope>) => Context.merge(context, input),
      ),
      openError,
    );
    const openTimeout = options?.openTimeout;
    if (openTimeout !== undefined) {
      connect = Effect.timeoutOrElse(connect, {
        duration: openTimeout,
        orElse: () =>
          Effect.fail(
            new Socket.SocketError({
              reason: new Socket.SocketOpenError({
                kind: "Timeout",
                cause: new Error(
                  `no connection within ${Duration.format(Duration.fromInputUnsafe(openTimeout))}`,
                ),
              }),
            }),
          ),
      });
    }
    return makeSocket({ _tag: "Connect", open: connect }, options);
  });

/**
 * A `Socket` over a connection that is open already, e.g. one a server
 * accepted. Writes go out at once; the reader can be acquired at once, and
 * its scope owns the connection from then on (closing it closes the
 * connection, as `NodeSocketServer` does). `Reader.upgrade` makes this side
 * the TLS server.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Server } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 *
 * // Serve with this library's Server and hand each connection to platform code.
 * const handler: Server.Handler<unknown, never> = (conn) =>
 *   Effect.gen(function* () {
 *     const socket = DenoSocket.fromConnection(conn);
 *     const reader = yield* socket.reader;
 *     const chunks = yield* reader.pull;
 *     yield* Effect.log(`${chunks[0].length} bytes`);
 *   }).pipe(Effect.scoped);
 * ```
 */
export const fromConnection = (
  connection: Conn.Connection,
  options?: Options & { readonly side?: Side | undefined },
): Socket.Socket =>
  makeSocket({ _tag: "Open", link: new Link(connection, options?.side ?? "server") }, options);

/**
 * {@link fromConnection} as an Effect.
 *
 * @example
 * ```ts
 * import { type Connection } from "@fibernet/socket";
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const toSocket = (conn: Connection.Connection) => DenoSocket.makeConnection(conn);
 * ```
 */
export const makeConnection = (
  connection: Conn.Connection,
  options?: Options & { readonly side?: Side | undefined },
): Effect.Effect<Socket.Socket> => Effect.sync(() => fromConnection(connection, options));

const isAddress = (u: unknown): u is Address.Address =>
  typeof u === "object" && u !== null && "_tag" in u;

/**
 * A `Socket` that connects over TCP or to a Unix socket each time its reader
 * is acquired: the counterpart of `NodeSocket.makeNet`, taking the same
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
 *   const reader = yield* socket.reader;
 *   yield* Effect.log((yield* reader.pull).length);
 * }).pipe(Effect.scoped);
 * ```
 */
export const makeNet = (
  options: NetOptions | Address.Input,
  socketOptions?: Options,
): Effect.Effect<Socket.Socket> => {
  if (typeof options === "string" || isAddress(options)) {
    const address = Address.fromInput(options);
    if (address._tag === "Failure") {
      return make(Effect.fail(address.failure), socketOptions);
    }
    return address.success._tag === "UnixAddress"
      ? makeUnix(address.success, socketOptions)
      : makeTcp(address.success, socketOptions);
  }
  const merged = { ...socketOptions, ...options };
  if ("path" in options) return makeUnix(options.path, merged);
  return makeTcp(Address.inet(options.host ?? "localhost", options.port), merged);
};

/**
 * A `Socket` that opens a TCP connection each time its reader is acquired.
 * Nagle's algorithm is off (`noDelay: true`) unless `noDelay: false` is
 * given: these sockets carry messages, where batching small writes only
 * adds latency.
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
  Effect.succeed(makeSocket({
    _tag: "Connect",
    open: Effect.mapError(
      Tcp.connect(address, {
        noDelay: options?.noDelay ?? true,
        ...(options?.keepAlive ? { keepAlive: true } : {}),
        ...(options?.openTimeout !== undefined ? { timeout: options.openTimeout } : {}),
      }),
      openError,
    ),
  }, options));

/**
 * A `Socket` that connects to a Unix socket each time its reader is acquired.
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
): Effect.Effect<Socket.Socket> =>
  Effect.succeed(makeSocket({
    _tag: "Connect",
    open: Effect.mapError(
      Unix.connect(
        path,
        options?.openTimeout !== undefined ? { timeout: options.openTimeout } : undefined,
      ),
      openError,
    ),
  }, options));

/**
 * A Channel over a new {@link makeNet} socket: the counterpart of
 * `NodeSocket.makeNetChannel`.
 *
 * @example
 * ```ts
 * import { DenoSocket } from "@fibernet/socket/platform";
 * const channel = DenoSocket.makeNetChannel({ host: "127.0.0.1", port: 9999 });
 * ```
 */
export const makeNetChannel = <IE = never>(
  options: NetOptions | Address.Input,
): Channel.Channel<
  NonEmptyReadonlyArray<Uint8Array>,
  Socket.SocketError | IE,
  void,
  NonEmptyReadonlyArray<Uint8Array | string | Socket.CloseEvent>,
  IE
> => Channel.unwrap(Effect.map(makeNet(options), Socket.toChannelWith<IE>()));

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
 * {@link layerNet} does not cover.
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
 * A `Socket` that opens a TLS connection (handshake included) each time its
 * reader is acquired; `tlsOptions` are `Tls.connect`'s (CA certificates,
 * ALPN, client certificate, handshake timeout).
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
): Effect.Effect<Socket.Socket> =>
  Effect.succeed(makeSocket({
    _tag: "Connect",
    open: Effect.mapError(
      Tls.connect(address, tlsOptions),
      openError,
    ) as Effect.Effect<Conn.Connection, Socket.SocketError, Scope.Scope>,
  }, options));

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

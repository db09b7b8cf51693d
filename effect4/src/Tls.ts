/**
 * TLS over TCP: {@link connect}, {@link listen} (and {@link layer} for
 * `Server.serveForever`), and client-side STARTTLS with {@link startTls}.
 * A TLS connection is a `Connection.Connection` like any other, so framing,
 * file transfer and servers work over it unchanged.
 *
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tls.connect("localhost:8443", {
 *     caFiles: ["./ca.pem"], // trust a private CA (or a self-signed certificate)
 *     alpnProtocols: ["echo/1"],
 *   });
 *   const { alpnProtocol } = yield* conn.handshake; // already done: connect waits for it
 *   yield* conn.write("hello");
 *   const reply = yield* conn.read();
 *   if (Option.isSome(reply)) console.log(alpnProtocol, new TextDecoder().decode(reply.value));
 * }).pipe(Effect.scoped);
 * ```
 *
 * **Handshakes.** `connect` and `startTls` complete the handshake before
 * returning, within `handshakeTimeout` (default 10 seconds), so a bad
 * certificate is a `connect` error, not a surprise on the first read. A
 * failed handshake is `InvalidData` with a message that says what to fix:
 * unknown issuer (add the CA to `caCerts`), host name mismatch, no ALPN
 * protocol in common, or a peer that does not speak TLS. A silent peer is
 * `TimedOut`. On the server side each accepted connection starts its
 * handshake at once, with the same deadline, and its reads and writes wait
 * for it: a client that fails the handshake only fails its own handler, and
 * one that never finishes it (silent, or stopped half-way) is cut off at the
 * deadline, its socket closed then, so such clients cannot pile up open
 * descriptors while the server keeps serving.
 *
 * **Servers run TLS on node:tls.** Deno's own server TLS (`Deno.listenTls`)
 * keeps the socket of a connection whose handshake is pending open after
 * `close()` until the client sends or leaves. So `listen` accepts TCP and
 * runs the server side of TLS over it with `node:tls` (rustls inside Deno),
 * whose connections can be closed at any moment. It costs server CPU on bulk
 * transfers (measured: 1.8 times as much per byte on one connection, 1.3
 * times with eight), not on small requests and replies. Clients (`connect`,
 * `startTls`) use Deno's TLS.
 *
 * **What Deno 2.9 cannot do.** A server cannot request or verify client
 * certificates (clients can present one: `cert`/`key` on `connect`), there is
 * no server-side STARTTLS, `startTls` cannot present a client certificate,
 * the SNI name is always the host connected to, and client connections have
 * no `setNoDelay` (a no-op there; a server's connections have it).
 *
 * @module
 */
import type * as Context from "effect/Context";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Metric from "effect/Metric";
import * as Result from "effect/Result";
import type * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import { fromUnknown, type Reason, SocketError } from "./SocketError.ts";
import { ExplainedError } from "./core/failure.ts";
import { listenTls } from "./core/tls/listen.ts";
import * as Pem from "./core/tls/pem.ts";
import * as Reasons from "./core/tls/reasons.ts";
import { startTlsFailure, startTlsRefusal } from "./core/tls/start_tls.ts";
import { type HandshakeInfo as CoreHandshakeInfo, TlsSocket } from "./core/tls/tls_socket.ts";
import { hostPort } from "./internal/address.ts";
import { fromExplained } from "./internal/failures.ts";
import { connectWith } from "./internal/open.ts";
import { acquireInterruptible } from "./internal/scoped.ts";
import { childSpan, peerAttributes } from "./internal/tracing.ts";

const DEFAULT_HANDSHAKE_TIMEOUT = Duration.seconds(10);

/**
 * Reasons a TLS handshake can fail with: `InvalidData` for a certificate or
 * protocol problem, `TimedOut` when the peer never completes it.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.HandshakeReason = "InvalidData";
 * ```
 */
export type HandshakeReason = Reasons.HandshakeReason;

/**
 * Reasons {@link connect} can fail with: those of `Tcp.connect`, plus
 * `InvalidData` for a failed handshake or unusable PEM text.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.ConnectReason = "InvalidData";
 * ```
 */
export type ConnectReason = Reasons.TlsConnectReason;

/**
 * Reasons {@link listen} can fail with: those of `Tcp.listen`, plus
 * `InvalidData` for a certificate or key that cannot be used.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.ListenReason = "InvalidData";
 * ```
 */
export type ListenReason = Reasons.TlsListenReason;

/**
 * Reasons {@link startTls} can fail with: a handshake failure, a CA file
 * that cannot be read, or a connection that cannot be upgraded
 * (`Unsupported`: not TCP, or already TLS).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.StartTlsReason = "Unsupported";
 * ```
 */
export type StartTlsReason = Reasons.StartTlsReason;

const handshakeReasons: ReadonlySet<HandshakeReason> = new Set(Reasons.HANDSHAKE_REASONS);
const connectReasons: ReadonlySet<ConnectReason> = new Set(Reasons.TLS_CONNECT_REASONS);
const listenReasons: ReadonlySet<ListenReason> = new Set(Reasons.TLS_LISTEN_REASONS);
const startTlsReasons: ReadonlySet<StartTlsReason> = new Set(Reasons.START_TLS_REASONS);

/**
 * What the handshake settled.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const isH2 = (info: Tls.HandshakeInfo): boolean => info.alpnProtocol === "h2";
 * ```
 */
export type HandshakeInfo = CoreHandshakeInfo;

/**
 * A TLS connection: a `Connection.Connection` plus its handshake.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import type { Tls } from "@fibernet/socket";
 * const protocol = (conn: Tls.TlsConnection) =>
 *   Effect.map(conn.handshake, (info) => info.alpnProtocol ?? "none");
 * ```
 */
export interface TlsConnection extends Connection.Connection {
  /**
   * Completes the handshake if it has not happened yet (within the
   * handshake timeout) and tells what it settled. Reads and writes wait for
   * it by themselves; a failed handshake closes the connection.
   */
  readonly handshake: Effect.Effect<HandshakeInfo, SocketError<HandshakeReason>>;
  /** The underlying TLS connection (on a server, one over node:tls). */
  readonly raw: Deno.TlsConn;
}

/**
 * Trusted certificate authorities, added to the system's roots: PEM text in
 * `caCerts`, files of PEM text in `caFiles`. A self-signed certificate can be
 * its own CA when it is not marked as a CA (`basicConstraints=CA:FALSE`).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const trust: Tls.TrustOptions = { caFiles: ["/etc/myapp/ca.pem"] };
 * ```
 */
export type TrustOptions = Pem.TrustOptions;

/**
 * A certificate chain and its private key, each as PEM text or as a path of
 * a PEM file (reading a file needs `--allow-read`).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const identity: Tls.KeyPair = { certFile: "./cert.pem", keyFile: "./key.pem" };
 * ```
 */
export type KeyPair = Pem.KeyPair;

/**
 * Options for {@link connect}. `cert`/`key` (or the `…File` forms) present a
 * client certificate, for servers that require one (mutual TLS).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.ConnectOptions = {
 *   caFiles: ["./ca.pem"],
 *   alpnProtocols: ["h2", "http/1.1"],
 *   timeout: "5 seconds",
 * };
 * ```
 */
export interface ConnectOptions extends TrustOptions, KeyPair {
  /** ALPN protocols to offer, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Give up (with `TimedOut`) if the TCP connection is not made within this time. */
  readonly timeout?: Duration.Input;
  /** Give up (with `TimedOut`) if the handshake takes longer. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.Input;
}

/**
 * Options for {@link listen}: the server's certificate and key are required.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.ListenOptions = {
 *   certFile: "./cert.pem",
 *   keyFile: "./key.pem",
 *   alpnProtocols: ["echo/1"],
 * };
 * ```
 */
export interface ListenOptions extends KeyPair {
  /** ALPN protocols the server accepts, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Pending-connection queue length (Python's `listen(backlog)`). Default 511. */
  readonly backlog?: number;
  /**
   * How long each accepted connection may take to complete its handshake,
   * counted from accept; then its socket is closed. Default 10 seconds.
   */
  readonly handshakeTimeout?: Duration.Input;
}

/**
 * Options for {@link startTls}.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.StartTlsOptions = { hostname: "mail.example.com" };
 * ```
 */
export interface StartTlsOptions extends TrustOptions {
  /** The name the server's certificate must match. Default: the connected IP address. */
  readonly hostname?: string;
  /** ALPN protocols to offer. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Give up (with `TimedOut`) if the handshake takes longer. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.Input;
}

// ---------------------------------------------------------------------------
// From the core's promises and errors to Effects and SocketErrors

/** Runs a core step that rejects with ExplainedErrors (PEM loading). */
const fromCore = <A, R extends Reason>(
  run: () => Promise<A>,
  operation: "connect" | "listen" | "handshake",
  allowed: ReadonlySet<R>,
): Effect.Effect<A, SocketError<R>> =>
  Effect.tryPromise({
    try: run,
    catch: (error) =>
      error instanceof ExplainedError
        ? fromExplained(error, allowed)
        : fromUnknown(error, operation, undefined, allowed),
  });

const millis = (duration: Duration.Input): number =>
  Duration.toMillis(Duration.fromInputUnsafe(duration));

/** The handshake of `socket` as an Effect: at once when already settled. */
const handshakeOf = (
  socket: TlsSocket,
): Effect.Effect<HandshakeInfo, SocketError<HandshakeReason>> =>
  Effect.suspend(() => {
    const info = socket.handshakeInfo;
    if (info !== undefined) return Effect.succeed(info);
    const failure = socket.handshakeFailure;
    if (failure !== undefined) return Effect.fail(fromExplained(failure, handshakeReasons));
    return Effect.callback<HandshakeInfo, SocketError<HandshakeReason>>((resume) => {
      socket.handshake().then(
        (settled) => resume(Effect.succeed(settled)),
        (error) =>
          resume(Effect.fail(
            error instanceof ExplainedError
              ? fromExplained(error, handshakeReasons)
              : fromUnknown(error, "handshake", socket.label, handshakeReasons),
          )),
      );
    });
  });

/** The handshake histogram with these attributes. */
const handshakeHistogram = (attributes: Record<string, string>): Metric.Histogram<number> =>
  Metric.histogram("socket.tls.handshake.duration", {
    description: "TLS handshake durations, in seconds",
    boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 16 }),
    attributes: { ...attributes, unit: "s" },
  });

/**
 * Every TLS handshake's duration, in seconds, with the side (`tls.side`:
 * client or server) and its outcome (ok or failed) as attributes; updated in
 * the metric registry of the Context the connection or listener was made in.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect";
 * import { Tls } from "@fibernet/socket";
 * const serverOk = Metric.value(
 *   Metric.withAttributes(Tls.handshakeDuration, { "tls.side": "server", outcome: "ok" }),
 * );
 * ```
 */
export const handshakeDuration: Metric.Histogram<number> = handshakeHistogram({});

/** The histogram for each side and outcome, made once. */
const handshakeOutcomes = {
  client: {
    ok: handshakeHistogram({ "tls.side": "client", outcome: "ok" }),
    failed: handshakeHistogram({ "tls.side": "client", outcome: "failed" }),
  },
  server: {
    ok: handshakeHistogram({ "tls.side": "server", outcome: "ok" }),
    failed: handshakeHistogram({ "tls.side": "server", outcome: "failed" }),
  },
};

/** Records the handshake's duration once it settles, in `context`'s metric registry. */
const measureHandshake = (
  socket: TlsSocket,
  side: "client" | "server",
  context: Context.Context<never>,
): void => {
  const record = (outcome: "ok" | "failed") => {
    const ms = socket.handshakeDurationMs;
    if (ms === undefined) return;
    handshakeOutcomes[side][outcome].updateUnsafe(ms / 1000, context);
  };
  socket.handshake().then(() => record("ok"), () => record("failed"));
};

/**
 * The ordinary Connection face over a TLS socket, plus its handshake (a
 * child span `socket.tls.handshake` inside a traced parent, such as a server
 * with `tracing: true`).
 */
const toTlsConnection = (
  socket: TlsSocket,
  side: "client" | "server",
  context: Context.Context<never>,
): TlsConnection => {
  measureHandshake(socket, side, context);
  const handshake = childSpan(handshakeOf(socket), "socket.tls.handshake", {
    "tls.side": side,
    ...peerAttributes(side === "server" ? "network.peer" : "server", socket.remoteAddress),
  });
  return Object.assign(Connection.fromSocket(socket), { handshake }) as
    & Connection.Connection
    & { handshake: TlsConnection["handshake"] } as TlsConnection;
};

/**
 * True for a connection made by this module (`connect`, `listen`,
 * `startTls`), which has a {@link TlsConnection.handshake}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { type Connection, Tls } from "@fibernet/socket";
 *
 * const protocolOf = (conn: Connection.Connection) =>
 *   Tls.isTlsConnection(conn)
 *     ? Effect.map(conn.handshake, (info) => info.alpnProtocol)
 *     : Effect.succeed(null);
 * ```
 */
export const isTlsConnection = (connection: Connection.Connection): connection is TlsConnection =>
  connection.socket instanceof TlsSocket && "handshake" in connection;

const tcpAddress = (
  input: Address.Input,
  allowPortZero: boolean,
  operation: "connect" | "listen",
): Result.Result<Address.InetAddress, SocketError<"InvalidAddress">> =>
  hostPort(input, {
    allowPortZero,
    operation,
    unixDetail: "TLS runs over TCP: the address is host:port",
  });

/** Acquires a client's TLS connection in the scope, then completes its handshake. */
const openAndHandshake = <E>(
  open: Effect.Effect<Deno.TlsConn, E>,
  timeout: Duration.Input,
  alpnProtocols: ReadonlyArray<string> | undefined,
): Effect.Effect<TlsConnection, E | SocketError<HandshakeReason>, Scope.Scope> =>
  Effect.tap(
    acquireInterruptible(
      Effect.map(Effect.zip(open, Effect.context<never>()), ([raw, context]) =>
        toTlsConnection(
          new TlsSocket(raw, {
            side: "client",
            handshakeTimeoutMs: millis(timeout),
            alpnProtocols,
          }),
          "client",
          context,
        )),
      (conn) => conn.close,
    ),
    (conn) => conn.handshake,
  );

/**
 * Opens a TLS connection and completes its handshake, closed when the scope
 * closes. Certificates are checked against the system's roots plus
 * `caCerts`/`caFiles`, and against the host name (or IP address) connected to.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tls } from "@fibernet/socket";
 *
 * const program = Tls.connect("example.com:443", { alpnProtocols: ["http/1.1"] }).pipe(
 *   Effect.flatMap((conn) => conn.write("HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n")),
 *   Effect.scoped,
 * );
 * ```
 */
export const connect = (
  address: Address.Input,
  options?: ConnectOptions,
): Effect.Effect<TlsConnection, SocketError<ConnectReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const parsed = tcpAddress(address, false, "connect");
    if (Result.isFailure(parsed)) return Effect.fail(parsed.failure);
    const { hostname, port } = parsed.success;
    const label = Address.format(parsed.success);
    const alpn = options?.alpnProtocols;
    const pem = fromCore(
      () =>
        Promise.all([
          Pem.loadTrust(options, "connect"),
          Pem.loadKeyPair(options, "connect", false),
        ]),
      "connect",
      connectReasons,
    );
    return Effect.flatMap(pem, ([caCerts, pair]) =>
      openAndHandshake(
        connectWith(
          label,
          () =>
            Deno.connectTls({
              hostname,
              port,
              ...(caCerts !== undefined ? { caCerts } : {}),
              ...(alpn !== undefined ? { alpnProtocols: [...alpn] } : {}),
              ...(pair ?? {}),
            }),
          options?.timeout,
        ),
        options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        alpn,
      ));
  });

/**
 * Binds a TLS listener, closed when the scope closes. Accepted connections
 * are {@link TlsConnection}s whose handshake starts at accept and must be
 * done within `handshakeTimeout`; their reads and writes wait for it, so a
 * client that fails it never holds up the accept loop.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* Tls.listen("127.0.0.1:0", {
 *     certFile: "./cert.pem",
 *     keyFile: "./key.pem",
 *   });
 *   yield* Effect.log(`TLS on ${Address.format(listener.address)}`);
 * }).pipe(Effect.scoped);
 * ```
 */
export const listen = (
  address: Address.Input,
  options: ListenOptions,
): Effect.Effect<Listener.Listener, SocketError<ListenReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const parsed = tcpAddress(address, true, "listen");
    if (Result.isFailure(parsed)) return Effect.fail(parsed.failure);
    const { hostname, port } = parsed.success;
    const label = Address.format(parsed.success);
    const backlog = options?.backlog;
    if (backlog !== undefined && !(Number.isInteger(backlog) && backlog > 0)) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: "listen",
          address: label,
          detail: `backlog must be a positive whole number, got ${backlog}`,
        }),
      );
    }
    const handshakeTimeoutMs = millis(options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    const pem = fromCore(() => Pem.loadKeyPair(options, "listen", true), "listen", listenReasons);
    return Effect.flatMap(
      Effect.zip(pem, Effect.context<never>()),
      ([pair, context]) =>
        Effect.acquireRelease(
          Effect.try({
            try: () =>
              Listener.fromCore({
                listener: listenTls({
                  hostname,
                  port,
                  backlog,
                  cert: pair!.cert,
                  key: pair!.key,
                  alpnProtocols: options?.alpnProtocols,
                  handshakeTimeoutMs,
                }),
                toConnection: (socket) => toTlsConnection(socket as TlsSocket, "server", context),
              }),
            catch: (error) =>
              error instanceof ExplainedError
                ? fromExplained(error, listenReasons)
                : fromUnknown(error, "listen", label, listenReasons),
          }),
          (listener) => listener.close,
        ),
    );
  });

/**
 * A Layer providing a TLS {@link Listener.Listener}, so `Server.serveForever`
 * serves TLS with the same handler it would run over TCP.
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { DenoRuntime, Server, Tls } from "@fibernet/socket";
 *
 * const Hello = Server.serveForever((conn) => conn.write("hello over TLS\n")).pipe(
 *   Layer.provide(Tls.layer("127.0.0.1:8443", { certFile: "cert.pem", keyFile: "key.pem" })),
 * );
 * DenoRuntime.runMain(Layer.launch(Hello));
 * ```
 */
export const layer = (
  address: Address.Input,
  options: ListenOptions,
): Layer.Layer<Listener.Listener, SocketError<ListenReason>> =>
  Layer.effect(Listener.Listener, listen(address, options));

/**
 * Upgrades a plain TCP connection of this library to TLS, as the client of a
 * STARTTLS exchange (SMTP, IMAP, XMPP, …): send the protocol's upgrade
 * command, read the server's go-ahead, then call this. The handshake is
 * completed before it returns; the original connection must not be used
 * again (Deno consumes it). Closed when the scope closes.
 *
 * It refuses (`InvalidData`) when bytes arrived after the go-ahead and have
 * not been read: they came before encryption and could have been injected.
 * It needs the connection idle: no read may be waiting on it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp, Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const plain = yield* Tcp.connect("127.0.0.1:2525");
 *   yield* plain.readText(); // 220 greeting
 *   yield* plain.write("STARTTLS\r\n");
 *   yield* plain.readText(); // 220 go ahead
 *   const secure = yield* Tls.startTls(plain, { hostname: "localhost", caFiles: ["ca.pem"] });
 *   yield* secure.write("EHLO me\r\n");
 * }).pipe(Effect.scoped);
 * ```
 */
export const startTls = (
  connection: Connection.Connection,
  options?: StartTlsOptions,
): Effect.Effect<TlsConnection, SocketError<StartTlsReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const label = Address.format(connection.remoteAddress);
    const raw = connection.raw;
    const refusal = startTlsRefusal(raw, connection.bufferedBytes, label);
    if (refusal !== undefined) return Effect.fail(new SocketError(refusal));
    const hostname = options?.hostname ??
      (connection.remoteAddress._tag === "TcpAddress" ? connection.remoteAddress.hostname : "");
    const alpn = options?.alpnProtocols;
    const trust = fromCore(() => Pem.loadTrust(options, "handshake"), "handshake", startTlsReasons);
    return Effect.flatMap(trust, (caCerts) =>
      openAndHandshake(
        Effect.tryPromise({
          try: () =>
            Deno.startTls(raw as Deno.TcpConn, {
              hostname,
              ...(caCerts !== undefined ? { caCerts } : {}),
              ...(alpn !== undefined ? { alpnProtocols: [...alpn] } : {}),
            }),
          catch: (error) => new SocketError(startTlsFailure(error, label)),
        }),
        options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        alpn,
      ));
  });

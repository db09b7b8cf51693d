/**
 * TCP over IPv4 and IPv6: `connect` (a client socket) and `listen` (a server
 * socket), each a scoped resource that closes itself.
 *
 * ```ts
 * import { Effect, Schedule } from "effect";
 * import { Tcp } from "@fibernet/socket";
 *
 * // Connect with a 5 s deadline, retrying a refused connection 3 times.
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tcp.connect("127.0.0.1:9999", { timeout: "5 seconds" }).pipe(
 *     Effect.retry({ times: 3, schedule: Schedule.exponential("100 millis") }),
 *   );
 *   yield* conn.write("hello\n");
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
import type * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import type * as Result from "effect/Result";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import type * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import { type ConnectReason, fromUnknown, type ListenReason, SocketError } from "./SocketError.ts";
import { hostPort } from "./internal/address.ts";
import { connectWith, scopedConnection } from "./internal/open.ts";
import { hasListenDatagram } from "./core/udp/backend.ts";
import { listenReasons } from "./internal/reasons.ts";
import { peerAttributes } from "./internal/tracing.ts";

/**
 * Options for {@link connect}.
 *
 * @example
 * ```ts
 * import type { Tcp } from "@fibernet/socket";
 * const options: Tcp.ConnectOptions = { timeout: "3 seconds", noDelay: true };
 * ```
 */
export interface ConnectOptions {
  /** Give up (with `TimedOut`) if the connection is not made within this time. */
  readonly timeout?: Duration.Input;
  /** Disable Nagle's algorithm at once (lower latency for small messages). */
  readonly noDelay?: boolean;
  /** Enable TCP keep-alive probes. */
  readonly keepAlive?: boolean;
  /**
   * Make the connect a span (`socket.connect`, kind client, with
   * `server.address`, `server.port` and `network.transport`), following
   * Effect's `withSpan`. Default false.
   */
  readonly tracing?: boolean;
}

const tcpAddress = (
  input: Address.Input,
  allowPortZero: boolean,
  operation: "connect" | "listen",
): Result.Result<Address.InetAddress, SocketError<"InvalidAddress">> =>
  hostPort(input, {
    allowPortZero,
    operation,
    unixDetail: "a TCP address is host:port; use the Unix module for unix: paths",
  });

/**
 * Opens a TCP connection (Python's `socket.create_connection`), closed when
 * the scope closes. Host names are resolved; `[::1]:80` is IPv6.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp } from "@fibernet/socket";
 *
 * const program = Tcp.connect("localhost:8080").pipe(
 *   Effect.flatMap((conn) => conn.write("ping")),
 *   Effect.scoped,
 * );
 * ```
 */
export const connect = (
  address: Address.Input,
  options?: ConnectOptions,
): Effect.Effect<Connection.Connection, SocketError<ConnectReason>, Scope.Scope> =>
  Effect.flatMap(Effect.fromResult(tcpAddress(address, false, "connect")), (tcp) => {
    const label = Address.format(tcp);
    const open = connectWith(
      label,
      (signal) =>
        Deno.connect(
          { hostname: tcp.hostname, port: tcp.port, transport: "tcp", signal } as
            & Deno.ConnectOptions
            & { signal: AbortSignal },
        ),
      options?.timeout,
    );
    const connected = Effect.tap(
      scopedConnection(open),
      (conn) =>
        options?.noDelay || options?.keepAlive
          ? Effect.andThen(
            options.noDelay ? conn.setNoDelay(true) : Effect.void,
            options.keepAlive ? conn.setKeepAlive(true) : Effect.void,
          ).pipe(Effect.mapError((e) => fromUnknown<ConnectReason>(e, "connect", label)))
          : Effect.void,
    );
    return options?.tracing
      ? Effect.withSpan(connected, "socket.connect", {
        kind: "client",
        attributes: peerAttributes("server", tcp),
        captureStackTrace: false, // it would point here, not at the caller
      })
      : connected;
  });

/**
 * Options for {@link listen}.
 *
 * @example
 * ```ts
 * import type { Tcp } from "@fibernet/socket";
 * const options: Tcp.ListenOptions = { backlog: 128 };
 * ```
 */
export interface ListenOptions {
  /** Pending-connection queue length (Python's `listen(backlog)`). Default 511. */
  readonly backlog?: number;
  /**
   * Let several processes listen on the same port (Linux `SO_REUSEPORT`), to
   * use every core. Needs `--unstable-net`; without it this fails with
   * `Unsupported` instead of letting Deno end the process.
   */
  readonly reusePort?: boolean;
}

/**
 * Binds and listens (Python's `bind` + `listen`), closed when the scope
 * closes. Port 0 picks a free port: read it from `listener.address`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* Tcp.listen("127.0.0.1:0", { backlog: 5 });
 *   yield* Effect.log(`listening on ${Address.format(listener.address)}`);
 * }).pipe(Effect.scoped);
 * ```
 */
export const listen = (
  address: Address.Input,
  options?: ListenOptions,
): Effect.Effect<Listener.Listener, SocketError<ListenReason>, Scope.Scope> =>
  Effect.flatMap(Effect.fromResult(tcpAddress(address, true, "listen")), (tcp) => {
    const label = Address.format(tcp);
    // Deno exits the process if reusePort is passed without --unstable-net,
    // which is also what makes Deno.listenDatagram exist.
    if (options?.reusePort && !hasListenDatagram()) {
      return Effect.fail(
        new SocketError({
          reason: "Unsupported",
          operation: "listen",
          address: label,
          detail: "reusePort needs Deno's --unstable-net flag",
        }),
      );
    }
    if (
      options?.backlog !== undefined && !(Number.isInteger(options.backlog) && options.backlog > 0)
    ) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: "listen",
          address: label,
          detail: `backlog must be a positive whole number, got ${options.backlog}`,
        }),
      );
    }
    return Effect.acquireRelease(
      Effect.try({
        try: () =>
          Listener.fromDeno(
            Deno.listen({
              hostname: tcp.hostname,
              port: tcp.port,
              transport: "tcp",
              ...(options?.backlog !== undefined ? { tcpBacklog: options.backlog } : {}),
              ...(options?.reusePort ? { reusePort: true } : {}),
            } as Deno.TcpListenOptions),
          ),
        catch: (error) => fromUnknown(error, "listen", label, listenReasons),
      }),
      (listener) => listener.close,
    );
  });

/**
 * A Layer providing a TCP {@link Listener.Listener}, for `Server.serveForever`.
 *
 * @example
 * ```ts
 * import { Tcp } from "@fibernet/socket";
 * const ListenerLive = Tcp.layer("127.0.0.1:9999");
 * ```
 */
export const layer = (
  address: Address.Input,
  options?: ListenOptions,
): Layer.Layer<Listener.Listener, SocketError<ListenReason>> =>
  Layer.effect(Listener.Listener, listen(address, options));

/**
 * Effect 4's `DatagramSocket` (`effect/socket/DatagramSocket`, marked
 * experimental by Effect) for Deno, over this library's UDP endpoints: the
 * counterpart of `@effect/platform-node`'s `NodeDatagramSocket`, plugged in
 * through Effect's own `DatagramSocket.makeFromBackingSocket`.
 *
 * Acquiring the reader binds a UDP socket (IPv4 or IPv6, on `node:dgram`, or
 * `Deno.listenDatagram` under `--unstable-net`) owned by the reader's scope;
 * writes wait until a reader is open, so a send-only client acquires one
 * too. What Effect's socket adds: a pull-based reader whose queue is bounded
 * in packets (`receiveBuffer`, 1024 by default, the overflow counted in
 * `reader.dropped()`), and writes that complete when the runtime reports the
 * datagram sent. What this library adds: a payload larger than UDP allows
 * fails its write (`MessageTooLarge`) before anything is sent, destinations
 * are checked against the socket's IP version, and every failure's `cause`
 * is this library's `SocketError`, whose message says what to do (for
 * example, which `--allow-net` flag is missing).
 *
 * ```ts
 * import { Effect } from "effect";
 * import { DatagramSocket } from "effect/socket/DatagramSocket";
 * import { DenoDatagramSocket } from "@fibernet/socket/platform";
 *
 * // A UDP echo: every datagram goes back to its sender.
 * const echo = Effect.gen(function* () {
 *   const socket = yield* DatagramSocket;
 *   const reader = yield* socket.reader;
 *   const writer = yield* socket.writer;
 *   while (true) {
 *     for (const received of yield* reader.pull) {
 *       yield* writer.write({ payload: received.payload, address: received });
 *     }
 *   }
 * }).pipe(Effect.scoped, Effect.provide(DenoDatagramSocket.layer({ bind: "127.0.0.1:9000" })));
 * ```
 *
 * @module
 */
import * as DatagramSocket from "effect/socket/DatagramSocket";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as NetAddress from "effect/net/NetAddress";
import type * as Address from "../Address.ts";
import { SocketError as LibSocketError } from "../SocketError.ts";
import { inet } from "../core/address.ts";
import type { Failure } from "../core/failure.ts";
import { DatagramEndpoint } from "../core/udp/endpoint.ts";
import type { DatagramEndpointOptions } from "../core/udp/options.ts";
import type { UdpBindReason, UdpSendReason } from "../core/udp/reasons.ts";
import { PENDING } from "../core/stream_socket.ts";

/**
 * Options of {@link make} and {@link layer}.
 *
 * @example
 * ```ts
 * import type { DenoDatagramSocket } from "@fibernet/socket/platform";
 * const server: DenoDatagramSocket.Options = { bind: "127.0.0.1:9000" };
 * const client: DenoDatagramSocket.Options = { connect: "127.0.0.1:9000" };
 * ```
 */
export interface Options {
  /**
   * Where to bind, `host:port` (`"[::1]:0"` for IPv6). Default
   * `"0.0.0.0:0"`: every IPv4 interface, a free port (read it from
   * `reader.address`). Ignored with `connect`.
   */
  readonly bind?: Address.Input | undefined;
  /**
   * A peer to talk to only: writes need no address (an explicit one is
   * refused), and datagrams from anyone else are discarded. The socket is
   * bound on the loopback address of the peer's IP version when the peer is
   * a loopback address, else on the wildcard address.
   */
  readonly connect?: Address.Input | undefined;
  /** `SO_BROADCAST`: allow sending to broadcast addresses. */
  readonly broadcast?: boolean | undefined;
  /** `SO_REUSEADDR`: let several sockets bind the same address (multicast listeners). */
  readonly reuseAddress?: boolean | undefined;
  /** `"auto"` (default) picks `Deno.listenDatagram` under `--unstable-net`, else `node:dgram`. */
  readonly backend?: DatagramEndpointOptions["backend"] | undefined;
  /** The reader's queue: most packets, and what an overflow discards. */
  readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined;
}

const openKind = (
  reason: UdpBindReason,
): "AddressInUse" | "AddressNotAvailable" | "PermissionDenied" | "Unknown" =>
  reason === "AddressInUse"
    ? "AddressInUse"
    : reason === "PermissionDenied" || reason === "NotCapable"
    ? "PermissionDenied"
    : reason === "InvalidAddress" || reason === "HostNotFound"
    ? "AddressNotAvailable"
    : "Unknown";

const openError = (failure: Failure<UdpBindReason>): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketOpenError({
      kind: openKind(failure.reason),
      cause: new LibSocketError(failure),
    }),
  });

const writeError = (failure: Failure<UdpSendReason>): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketWriteError({
      kind: failure.reason === "InvalidData"
        ? "MessageTooLarge"
        : failure.reason === "PermissionDenied" || failure.reason === "NotCapable"
        ? "PermissionDenied"
        : "Unknown",
      cause: new LibSocketError(failure),
    }),
  });

const unsupported = (capability: string): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketUnsupportedError({ capability, runtime: "Deno" }),
  });

const optionError = (failure: Failure): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketReadError({
      kind: "Unknown",
      cause: new LibSocketError(failure),
    }),
  });

/** A destination as the endpoint takes it. */
const target = (to: DatagramSocket.BackingAddress | undefined) =>
  to === undefined ? undefined : inet(to.host, to.port);

/** The endpoint as Effect's backing socket: packets pumped from its queue to Effect's. */
const backing = (
  endpoint: DatagramEndpoint,
  events: DatagramSocket.BackingEvents,
  connected: boolean,
): DatagramSocket.BackingSocket => {
  // Effect's reader bounds what waits to be pulled; the endpoint's own queue
  // is emptied as soon as anything arrives.
  const pump = {
    onReceivable(): void {
      for (;;) {
        const datagram = endpoint.pollReceive(pump);
        if (datagram === PENDING) return;
        if (datagram === null) return events.onClose();
        events.onPacket(datagram.data, datagram.from.hostname, datagram.from.port);
      }
    },
  };
  pump.onReceivable();
  const send: DatagramSocket.BackingSocket["send"] = (payload, destination, done) => {
    const started = endpoint.send(payload, target(destination), {
      onSent: (failure) => done(failure === undefined ? undefined : writeError(failure)),
    });
    if (started !== PENDING) done(writeError(started));
  };
  return {
    address: { host: endpoint.address.hostname, port: endpoint.address.port },
    connected,
    send,
    sendMany: (payloads, destinations, done) => {
      let left = payloads.length;
      let settled = false;
      const settle = (error?: DatagramSocket.DatagramSocketError, index?: number) => {
        if (settled) return;
        if (error === undefined && --left > 0) return;
        settled = true;
        done(error, index);
      };
      for (let i = 0; i < payloads.length && !settled; i++) {
        send(payloads[i], destinations[i], (error) => settle(error, error && i));
      }
    },
    joinMulticast: (options) => {
      if (options.source !== undefined) {
        return Effect.fail(unsupported("source-specific multicast"));
      }
      const iface = options.interface;
      if (typeof iface === "number") {
        return Effect.fail(unsupported("an IPv6 multicast interface given by index"));
      }
      const group = NetAddress.formatIp(options.group);
      const local = iface === undefined ? undefined : NetAddress.formatIp(iface);
      return Effect.flatMap(
        Effect.promise(() => endpoint.joinMulticast(group, local)),
        (failure) =>
          failure === undefined
            ? Effect.succeed(() =>
              Effect.asVoid(Effect.promise(() => endpoint.leaveMulticast(group, local)))
            )
            : Effect.fail(optionError(failure)),
      );
    },
    close: () => endpoint.close(),
  };
};

/** Binds (or connects) an endpoint as `options` say; never rejects. */
const openEndpoint = (options: Options): Promise<DatagramEndpoint | Failure<UdpBindReason>> => {
  const endpointOptions: DatagramEndpointOptions = {
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
    ...(options.broadcast ? { broadcast: true } : {}),
    ...(options.reuseAddress ? { reuseAddress: true } : {}),
  };
  return options.connect !== undefined
    ? DatagramEndpoint.connect(options.connect, endpointOptions)
    : DatagramEndpoint.bind(options.bind ?? "0.0.0.0:0", endpointOptions);
};

/**
 * A `DatagramSocket` that binds a new UDP socket for each reader
 * acquisition (closed with the reader's scope): the counterpart of
 * `NodeDatagramSocket.make`. Binding happens when the reader is acquired,
 * and a failure to bind fails that acquisition with a `DatagramSocketError`
 * whose reason is a `DatagramSocketOpenError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { DenoDatagramSocket } from "@fibernet/socket/platform";
 *
 * const program = Effect.gen(function* () {
 *   const socket = yield* DenoDatagramSocket.make({ connect: "127.0.0.1:9000" });
 *   yield* socket.reader; // binds; writes wait for it
 *   const writer = yield* socket.writer;
 *   yield* writer.write({ payload: "ping" });
 * }).pipe(Effect.scoped);
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<DatagramSocket.DatagramSocket> =>
  DatagramSocket.makeFromBackingSocket(
    (events) =>
      Effect.flatMap(
        Effect.promise(() => openEndpoint(options)),
        (opened) =>
          opened instanceof DatagramEndpoint
            ? Effect.succeed(backing(opened, events, options.connect !== undefined))
            : Effect.fail(openError(opened)),
      ),
    options.receiveBuffer !== undefined ? { receiveBuffer: options.receiveBuffer } : undefined,
  );

/**
 * A Layer providing `DatagramSocket` built with {@link make}.
 *
 * @example
 * ```ts
 * import { DenoDatagramSocket } from "@fibernet/socket/platform";
 * const UdpLive = DenoDatagramSocket.layer({ bind: "127.0.0.1:9000" });
 * ```
 */
export const layer = (options?: Options): Layer.Layer<DatagramSocket.DatagramSocket> =>
  Layer.effect(DatagramSocket.DatagramSocket, make(options));

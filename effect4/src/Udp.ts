/**
 * UDP datagrams over IPv4 and IPv6 (Python's `SOCK_DGRAM`): {@link bind} an
 * endpoint, then `send(data, to)` (`sendto`) and `receive` →
 * `{ data, from }` (`recvfrom`), or read `stream`; {@link connect} gives an
 * endpoint with a default peer. Each is a scoped resource that closes itself.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Udp } from "@fibernet/socket";
 *
 * // A one-shot UDP echo on a free port.
 * const program = Effect.gen(function* () {
 *   const server = yield* Udp.bind("127.0.0.1:0");
 *   const client = yield* Udp.bind("127.0.0.1:0");
 *   yield* client.send("ping", server.address);
 *   const { data, from } = yield* server.receive;
 *   yield* server.send(data, from);
 *   const reply = yield* client.receive;
 *   console.log(new TextDecoder().decode(reply.data), "from", Address.format(reply.from));
 * }).pipe(Effect.scoped);
 * ```
 *
 * **Backends.** Deno's own `Deno.listenDatagram` exists only under
 * `--unstable-net`, which a program importing this package cannot count on,
 * while `node:dgram` works with `--allow-net` alone. The backend is chosen
 * when binding: `Deno.listenDatagram` when the program runs with
 * `--unstable-net` (it receives about twice as many datagrams per second and
 * reuses one receive buffer), otherwise `node:dgram`. `backend` forces one;
 * `endpoint.backend` says which is in use. Differences: `Deno.listenDatagram`
 * sockets always have `SO_BROADCAST` on (so `setBroadcast(false)` is
 * `Unsupported`), cannot choose the outgoing multicast interface, and set the
 * multicast TTL and loopback only after `joinMulticast`.
 *
 * **Guarantees.**
 * - One `send` is one datagram, one `receive` is one datagram: boundaries are
 *   never merged or split.
 * - A payload larger than UDP allows ({@link MAX_IPV4_PAYLOAD} bytes on IPv4,
 *   {@link MAX_IPV6_PAYLOAD} on IPv6) fails with `InvalidData` before anything
 *   is sent.
 * - Datagrams are read into a 64 KiB buffer, larger than any UDP payload, so
 *   none is truncated; one that would be is discarded and counted in
 *   `stats.truncated`, never delivered cut short.
 * - ICMP errors such as "port unreachable" (after sending to a port nobody
 *   listens on) never end `receive` or `stream`: the kernel does not report
 *   them on these sockets, and any receive error that does occur is counted
 *   in `stats.receiveErrors` and the endpoint keeps receiving.
 * - **Bounded receive queue.** Datagrams are read from the socket as they
 *   arrive into a queue of at most `queueCapacity` datagrams (default 1024)
 *   and `queueBytes` bytes of payload (default 4 MiB). When the consumer is
 *   slower than the network and the queue is full, the policy `overflow`
 *   decides: `"dropNewest"` (default; the arriving datagram is discarded, as
 *   the kernel itself does) or `"dropOldest"` (the oldest queued datagram is
 *   discarded, for "latest value wins" traffic). Every discarded datagram is
 *   counted in `stats.dropped`. Memory never grows beyond the bound.
 *
 * This module is the Effect face of the core's `DatagramEndpoint`
 * (`@fibernet/socket/core`), which does all of the above with callbacks.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import type * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Metric from "effect/Metric";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import type * as Address from "./Address.ts";
import { SocketError } from "./SocketError.ts";
import type { Failure } from "./core/failure.ts";
import { PENDING } from "./core/stream_socket.ts";
import * as core from "./core/udp/backend.ts";
import type * as Datagrams from "./core/udp/datagram.ts";
import { MAX_IPV4_PAYLOAD as IPV4_MAX, MAX_IPV6_PAYLOAD as IPV6_MAX } from "./core/udp/datagram.ts";
import {
  DatagramEndpoint,
  type DatagramStats,
  type ReceiveWaiter,
  type SendWaiter,
} from "./core/udp/endpoint.ts";
import type { DatagramConnectOptions, DatagramEndpointOptions } from "./core/udp/options.ts";
import type * as Reasons from "./core/udp/reasons.ts";
import type * as Queue from "./core/udp/receive_queue.ts";

/**
 * The largest UDP payload over IPv4: 65 535 − 20 (IP header) − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { Udp } from "@fibernet/socket";
 * const fits = (bytes: Uint8Array): boolean => bytes.length <= Udp.MAX_IPV4_PAYLOAD;
 * ```
 */
export const MAX_IPV4_PAYLOAD: number = IPV4_MAX;

/**
 * The largest UDP payload over IPv6 (without jumbograms): 65 535 − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { Udp } from "@fibernet/socket";
 * console.log(Udp.MAX_IPV6_PAYLOAD); // 65527
 * ```
 */
export const MAX_IPV6_PAYLOAD: number = IPV6_MAX;

/**
 * The runtime API an endpoint runs on (see the module documentation).
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const portable: Udp.Backend = "node:dgram";
 * ```
 */
export type Backend = core.Backend;

/**
 * Reasons {@link bind} and {@link connect} can fail with: `AddressInUse`,
 * `PermissionDenied`, `NotCapable`, `HostNotFound`, `InvalidAddress`,
 * `Unsupported`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.BindReason = "AddressInUse";
 * ```
 */
export type BindReason = Reasons.UdpBindReason;

/**
 * Reasons a send can fail with: `Closed`, `InvalidAddress`, `InvalidData`,
 * `HostNotFound`, `PermissionDenied`, `NotCapable`, `ResourceExhausted`,
 * `Unknown`. `InvalidData` is a payload too large for UDP; `InvalidAddress`
 * a destination this endpoint cannot reach (malformed, port 0, or the other
 * IP version).
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.SendReason = "InvalidData";
 * ```
 */
export type SendReason = Reasons.UdpSendReason;

/**
 * Reasons a socket option (broadcast, multicast) can fail with: `Closed`,
 * `InvalidAddress`, `Unsupported`, `Unknown`. `Unsupported` means the backend
 * in use cannot do it.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.OptionReason = "Unsupported";
 * ```
 */
export type OptionReason = Reasons.UdpOptionReason;

/**
 * What happens to an arriving datagram when the receive queue is full:
 * `"dropNewest"` or `"dropOldest"`.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const latestWins: Udp.Overflow = "dropOldest";
 * ```
 */
export type Overflow = Queue.Overflow;

/**
 * One received datagram and its sender (`recvfrom`'s `(data, address)`):
 * `data`, the payload exactly as sent, and `from`, the sender (IPv4-mapped
 * IPv6 senders, `::ffff:1.2.3.4`, are shown as IPv4).
 *
 * @example
 * ```ts
 * import { Address, type Udp } from "@fibernet/socket";
 * const show = (d: Udp.Datagram): string => `${Address.format(d.from)}: ${d.data.length} bytes`;
 * ```
 */
export type Datagram = Datagrams.Datagram;

/**
 * Counters of an endpoint, a snapshot taken when read. Every datagram read
 * from the socket ends in exactly one of `delivered`, `queued`, `dropped`,
 * `truncated` or `foreign`.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const lossRatio = (s: Udp.Stats): number => s.received === 0 ? 0 : s.dropped / s.received;
 * ```
 */
export type Stats = DatagramStats;

/**
 * Options for {@link bind}: `backend`, `queueCapacity` (default 1024),
 * `queueBytes` (default 4 MiB), `overflow` (default `"dropNewest"`),
 * `reuseAddress` and `broadcast`.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const telemetry: Udp.BindOptions = { queueCapacity: 64, overflow: "dropOldest" };
 * ```
 */
export type BindOptions = DatagramEndpointOptions;

/**
 * Options for {@link connect}: those of {@link bind} and `local`, the local
 * address (default: port 0 on the loopback address of the peer's IP version
 * when the peer is a loopback address, otherwise on the wildcard address).
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const options: Udp.ConnectOptions = { local: "127.0.0.1:5000" };
 * ```
 */
export type ConnectOptions = DatagramConnectOptions;

/**
 * What bound and connected endpoints share: their address, counters,
 * socket options and `close`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, type Udp } from "@fibernet/socket";
 * const report = (socket: Udp.DatagramSocket) =>
 *   Effect.log(`${Address.format(socket.address)} dropped ${socket.stats.dropped}`);
 * ```
 */
export interface DatagramSocket {
  /** The bound address (`getsockname`); a requested port 0 shows the real port. */
  readonly address: Address.InetAddress;
  /** The runtime API in use. */
  readonly backend: Backend;
  /** A snapshot of the counters. */
  readonly stats: Stats;
  /** Allows (`true`) or forbids sending to broadcast addresses (`SO_BROADCAST`). */
  setBroadcast(on?: boolean): Effect.Effect<void, SocketError<OptionReason>>;
  /**
   * Joins a multicast group (`IP_ADD_MEMBERSHIP`), on the interface with
   * the given local IPv4 address (default: chosen by the system).
   */
  joinMulticast(
    group: string,
    interfaceAddress?: string,
  ): Effect.Effect<void, SocketError<OptionReason>>;
  /** Leaves a multicast group joined with {@link DatagramSocket.joinMulticast}. */
  leaveMulticast(
    group: string,
    interfaceAddress?: string,
  ): Effect.Effect<void, SocketError<OptionReason>>;
  /** Hops an outgoing multicast datagram may travel, 1–255 (default 1). */
  setMulticastTTL(ttl: number): Effect.Effect<void, SocketError<OptionReason>>;
  /** Whether this host's own members receive multicast sent from here (default on). */
  setMulticastLoopback(on: boolean): Effect.Effect<void, SocketError<OptionReason>>;
  /** The local interface address outgoing multicast leaves from (`node:dgram` only). */
  setMulticastInterface(interfaceAddress: string): Effect.Effect<void, SocketError<OptionReason>>;
  /**
   * Closes the socket. Idempotent. Waiting receives fail with `Closed`,
   * streams end, queued datagrams are discarded.
   */
  readonly close: Effect.Effect<void>;
}

/**
 * A bound UDP socket: sends to any address and receives from anyone.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import type { Udp } from "@fibernet/socket";
 *
 * // Echo every datagram back to its sender.
 * const echo = (endpoint: Udp.Endpoint) =>
 *   endpoint.stream.pipe(Stream.runForEach(({ data, from }) => endpoint.send(data, from)));
 * ```
 */
export interface Endpoint extends DatagramSocket {
  /** Sends one datagram (`sendto`); strings are encoded as UTF-8. */
  send(data: Uint8Array | string, to: Address.Input): Effect.Effect<void, SocketError<SendReason>>;
  /** The next datagram and its sender (`recvfrom`); waits for one. */
  readonly receive: Effect.Effect<Datagram, SocketError<"Closed">>;
  /** Every incoming datagram until the endpoint closes, then the stream ends. */
  readonly stream: Stream.Stream<Datagram>;
}

/**
 * A UDP socket with a default peer (Python's `connect` on a `SOCK_DGRAM`
 * socket): `send` goes to the peer and only the peer's datagrams are received.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import type { Udp } from "@fibernet/socket";
 * const ask = (peer: Udp.Connected, question: string) =>
 *   Effect.andThen(peer.send(question), peer.receive);
 * ```
 */
export interface Connected extends DatagramSocket {
  /** The peer (`getpeername`), with a host name resolved to its IP address. */
  readonly peer: Address.InetAddress;
  /** Sends one datagram to the peer (`send`). */
  send(data: Uint8Array | string): Effect.Effect<void, SocketError<SendReason>>;
  /** The payload of the peer's next datagram (`recv`). */
  readonly receive: Effect.Effect<Uint8Array, SocketError<"Closed">>;
  /** The peer's datagrams until the endpoint closes, then the stream ends. */
  readonly stream: Stream.Stream<Uint8Array>;
}

/**
 * The backends this program can use, the default first.
 *
 * @example
 * ```ts
 * import { Udp } from "@fibernet/socket";
 * if (!Udp.availableBackends().includes("Deno.listenDatagram")) {
 *   console.log("run with --unstable-net for the faster UDP backend");
 * }
 * ```
 */
export const availableBackends = (): ReadonlyArray<Backend> => core.availableBackends();

/** The metrics of the endpoints with these attributes. */
const udpMetrics = (attributes: Record<string, string>) => ({
  received: Metric.counter("socket.udp.datagrams_received", {
    description: "datagrams received",
    incremental: true,
    attributes: { ...attributes, unit: "{datagram}" },
  }),
  sent: Metric.counter("socket.udp.datagrams_sent", {
    description: "datagrams sent",
    incremental: true,
    attributes: { ...attributes, unit: "{datagram}" },
  }),
  dropped: Metric.counter("socket.udp.datagrams_dropped", {
    description: "datagrams dropped because the receive queue was full",
    incremental: true,
    attributes: { ...attributes, unit: "{datagram}" },
  }),
  bytesReceived: Metric.counter("socket.udp.bytes_received", {
    description: "bytes received",
    incremental: true,
    attributes: { ...attributes, unit: "By" },
  }),
  bytesSent: Metric.counter("socket.udp.bytes_sent", {
    description: "bytes sent",
    incremental: true,
    attributes: { ...attributes, unit: "By" },
  }),
});

/**
 * The metrics every endpoint updates, each endpoint's with its local address
 * as attributes (`network.local.address`, `network.local.port`) and
 * `network.transport` udp: datagrams received, sent and dropped (a full
 * receive queue), and the bytes received and sent (unit `By`). Counted from
 * each endpoint's `stats` once a second and when it closes, in the metric
 * registry of the Context it was bound in.
 *
 * @example
 * ```ts
 * import { Metric } from "effect";
 * import { Udp } from "@fibernet/socket";
 * const dropped = Metric.value(
 *   Metric.withAttributes(Udp.metrics.dropped, {
 *     "network.transport": "udp",
 *     "network.local.address": "127.0.0.1",
 *     "network.local.port": "5353",
 *   }),
 * );
 * ```
 */
export const metrics: {
  readonly received: Metric.Counter<number>;
  readonly sent: Metric.Counter<number>;
  readonly dropped: Metric.Counter<number>;
  readonly bytesReceived: Metric.Counter<number>;
  readonly bytesSent: Metric.Counter<number>;
} = udpMetrics({});

/** Counts an endpoint's stats in {@link metrics}: once a second, and at close. */
const reportStats = (endpoint: DatagramEndpoint, context: Context.Context<never>): () => void => {
  const counters = udpMetrics({
    "network.transport": "udp",
    "network.local.address": endpoint.address.hostname,
    "network.local.port": String(endpoint.address.port),
  });
  let last = { received: 0, sent: 0, dropped: 0, bytesReceived: 0, bytesSent: 0 };
  const report = () => {
    const now = endpoint.stats;
    const add = (metric: Metric.Counter<number>, delta: number) => {
      if (delta > 0) metric.updateUnsafe(delta, context);
    };
    add(counters.received, now.received - last.received);
    add(counters.sent, now.sent - last.sent);
    add(counters.dropped, now.dropped - last.dropped);
    add(counters.bytesReceived, now.bytesReceived - last.bytesReceived);
    add(counters.bytesSent, now.bytesSent - last.bytesSent);
    last = { ...now };
  };
  const timer = setInterval(report, 1000);
  Deno.unrefTimer(timer);
  return () => {
    clearInterval(timer);
    report();
  };
};

// ---------------------------------------------------------------------------
// The face: each operation is one call on the core endpoint.

/** Opens an endpoint with `open` and closes it when the scope closes. */
const scoped = (
  open: () => Promise<DatagramEndpoint | Failure<BindReason>>,
): Effect.Effect<DatagramEndpoint, SocketError<BindReason>, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.flatMap(
        Effect.zip(Effect.promise(open), Effect.context<never>()),
        ([opened, context]) =>
          opened instanceof DatagramEndpoint
            ? Effect.succeed({ endpoint: opened, stopReporting: reportStats(opened, context) })
            : Effect.fail(new SocketError(opened)),
      ),
      ({ endpoint, stopReporting }) =>
        Effect.sync(() => {
          endpoint.close();
          stopReporting();
        }),
    ),
    ({ endpoint }) => endpoint,
  );

/** What bound and connected endpoints share, including receiving whole datagrams. */
class Socket implements DatagramSocket {
  readonly address: Address.InetAddress;
  readonly backend: Backend;
  readonly close: Effect.Effect<void>;

  constructor(readonly endpoint: DatagramEndpoint) {
    this.address = endpoint.address;
    this.backend = endpoint.backend;
    this.close = Effect.sync(() => endpoint.close());
  }

  get stats(): Stats {
    return this.endpoint.stats;
  }

  /** The next datagram: polls, and waits only when none is queued. */
  readonly receiveDatagram: Effect.Effect<Datagram, SocketError<"Closed">> = Effect.suspend(
    () => {
      const datagram = this.endpoint.pollReceive();
      return datagram === PENDING ? this.wait : this.received(datagram);
    },
  );

  /**
   * Registers a waiter whose wake-up resumes the fiber with a fresh poll. An
   * interrupted fiber cancels its waiter; the datagram stays queued.
   */
  private readonly wait: Effect.Effect<Datagram, SocketError<"Closed">> = Effect.callback(
    (resume) => {
      const waiter: ReceiveWaiter = { onReceivable: () => resume(this.receiveDatagram) };
      const datagram = this.endpoint.pollReceive(waiter);
      if (datagram !== PENDING) return resume(this.received(datagram));
      return Effect.sync(() => this.endpoint.cancelReceive(waiter));
    },
  );

  private received(datagram: Datagram | null): Effect.Effect<Datagram, SocketError<"Closed">> {
    return datagram === null
      ? Effect.fail(
        new SocketError({ reason: "Closed", operation: "receive", address: this.endpoint.label }),
      )
      : Effect.succeed(datagram);
  }

  // One datagram per pull: a stream that took datagrams out of the queue in
  // batches would lose the rest of a batch when its consumer stops early
  // (`Stream.take(1)`), and they would never reach a later `receive`.
  readonly datagrams: Stream.Stream<Datagram> = Stream.fromPull(
    Effect.succeed(
      Effect.matchEffect(this.receiveDatagram, {
        onFailure: () => Cause.done(),
        onSuccess: (datagram) => Effect.succeed([datagram] as const),
      }),
    ),
  );

  sendTo(
    data: Uint8Array | string,
    to: Address.Input | undefined,
  ): Effect.Effect<void, SocketError<SendReason>> {
    return Effect.callback((resume) => {
      const waiter: SendWaiter = {
        onSent: (failure) =>
          resume(failure === undefined ? Effect.void : Effect.fail(new SocketError(failure))),
      };
      const refused = this.endpoint.send(data, to, waiter);
      if (refused !== PENDING) resume(Effect.fail(new SocketError(refused)));
    });
  }

  private option(
    set: () => Promise<Failure<OptionReason> | undefined>,
  ): Effect.Effect<void, SocketError<OptionReason>> {
    return Effect.flatMap(
      Effect.promise(set),
      (failure) => failure === undefined ? Effect.void : Effect.fail(new SocketError(failure)),
    );
  }

  setBroadcast(on = true): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.setBroadcast(on));
  }
  joinMulticast(group: string, iface?: string): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.joinMulticast(group, iface));
  }
  leaveMulticast(group: string, iface?: string): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.leaveMulticast(group, iface));
  }
  setMulticastTTL(ttl: number): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.setMulticastTTL(ttl));
  }
  setMulticastLoopback(on: boolean): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.setMulticastLoopback(on));
  }
  setMulticastInterface(iface: string): Effect.Effect<void, SocketError<OptionReason>> {
    return this.option(() => this.endpoint.setMulticastInterface(iface));
  }
}

class BoundSocket extends Socket implements Endpoint {
  readonly receive: Effect.Effect<Datagram, SocketError<"Closed">> = this.receiveDatagram;
  readonly stream: Stream.Stream<Datagram> = this.datagrams;
  send(data: Uint8Array | string, to: Address.Input): Effect.Effect<void, SocketError<SendReason>> {
    return this.sendTo(data, to);
  }
}

class ConnectedSocket extends Socket implements Connected {
  readonly peer: Address.InetAddress = this.endpoint.peer!;
  readonly receive: Effect.Effect<Uint8Array, SocketError<"Closed">> = Effect.map(
    this.receiveDatagram,
    (d) => d.data,
  );
  readonly stream: Stream.Stream<Uint8Array> = Stream.map(this.datagrams, (d) => d.data);
  send(data: Uint8Array | string): Effect.Effect<void, SocketError<SendReason>> {
    return this.sendTo(data, undefined);
  }
}

/**
 * Binds a UDP socket (Python's `socket(AF_INET/AF_INET6, SOCK_DGRAM)` +
 * `bind`), closed when the scope closes. `"127.0.0.1:0"` or `"[::1]:0"` picks
 * a free port: read it from `endpoint.address`. Reading starts at once into
 * the bounded queue described in the module documentation.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Udp } from "@fibernet/socket";
 *
 * // The tutorial's UDP server: print every datagram.
 * const program = Effect.gen(function* () {
 *   const endpoint = yield* Udp.bind("127.0.0.1:9999");
 *   while (true) {
 *     const { data, from } = yield* endpoint.receive;
 *     console.log(Address.format(from), new TextDecoder().decode(data));
 *   }
 * }).pipe(Effect.scoped);
 * ```
 */
export const bind = (
  address: Address.Input,
  options?: BindOptions,
): Effect.Effect<Endpoint, SocketError<BindReason>, Scope.Scope> =>
  Effect.map(
    scoped(() => DatagramEndpoint.bind(address, options)),
    (endpoint) => new BoundSocket(endpoint),
  );

/**
 * Binds a UDP socket with a default peer (Python's `connect` on a
 * `SOCK_DGRAM` socket): `send(data)` goes to the peer, and datagrams from
 * anyone else are discarded (counted in `stats.foreign`). A host name is
 * resolved once, here. Nothing is sent: UDP has no connection to set up, so
 * this succeeds even if nobody listens at the peer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Udp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const peer = yield* Udp.connect("127.0.0.1:9999");
 *   yield* peer.send("hello");
 *   const reply = yield* Effect.timeout(peer.receive, "2 seconds");
 *   console.log(new TextDecoder().decode(reply));
 * }).pipe(Effect.scoped);
 * ```
 */
export const connect = (
  peer: Address.Input,
  options?: ConnectOptions,
): Effect.Effect<Connected, SocketError<BindReason>, Scope.Scope> =>
  Effect.map(
    scoped(() => DatagramEndpoint.connect(peer, options)),
    (endpoint) => new ConnectedSocket(endpoint),
  );

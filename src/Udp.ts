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
 * @module
 */
import type * as NodeDgram from "node:dgram";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import * as Address from "./Address.ts";
import { fromUnknown, type Reason, SocketError } from "./SocketError.ts";
import { hostPort as hostPortAddress } from "./internal/address.ts";
import { hasUnstableNet } from "./internal/open.ts";

/**
 * The largest UDP payload over IPv4: 65 535 − 20 (IP header) − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { Udp } from "@fibernet/socket";
 * const fits = (bytes: Uint8Array): boolean => bytes.length <= Udp.MAX_IPV4_PAYLOAD;
 * ```
 */
export const MAX_IPV4_PAYLOAD: number = 65507;

/**
 * The largest UDP payload over IPv6 (without jumbograms): 65 535 − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { Udp } from "@fibernet/socket";
 * console.log(Udp.MAX_IPV6_PAYLOAD); // 65527
 * ```
 */
export const MAX_IPV6_PAYLOAD: number = 65527;

/** Receive buffer: larger than any UDP payload, so a full buffer means truncation. */
const RECEIVE_BUFFER = 65536;
const DEFAULT_QUEUE_CAPACITY = 1024;
const DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024;

/**
 * The runtime API an endpoint runs on (see the module documentation).
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const portable: Udp.Backend = "node:dgram";
 * ```
 */
export type Backend = "node:dgram" | "Deno.listenDatagram";

/**
 * Reasons {@link bind} and {@link connect} can fail with.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.BindReason = "AddressInUse";
 * ```
 */
export type BindReason =
  | "AddressInUse"
  | "PermissionDenied"
  | "NotCapable"
  | "HostNotFound"
  | "InvalidAddress"
  | "Unsupported"
  | "Unknown";

/**
 * Reasons a send can fail with. `InvalidData` is a payload too large for
 * UDP; `InvalidAddress` a destination this endpoint cannot reach (malformed,
 * port 0, or the other IP version).
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.SendReason = "InvalidData";
 * ```
 */
export type SendReason =
  | "Closed"
  | "InvalidAddress"
  | "InvalidData"
  | "HostNotFound"
  | "PermissionDenied"
  | "NotCapable"
  | "ResourceExhausted"
  | "Unknown";

/**
 * Reasons a socket option (broadcast, multicast) can fail with.
 * `Unsupported` means the backend in use cannot do it.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const r: Udp.OptionReason = "Unsupported";
 * ```
 */
export type OptionReason = "Closed" | "InvalidAddress" | "Unsupported" | "Unknown";

/**
 * What happens to an arriving datagram when the receive queue is full.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const latestWins: Udp.Overflow = "dropOldest";
 * ```
 */
export type Overflow = "dropNewest" | "dropOldest";

const bindReasons: ReadonlySet<BindReason> = new Set<BindReason>([
  "AddressInUse",
  "PermissionDenied",
  "NotCapable",
  "HostNotFound",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
]);
const sendReasons: ReadonlySet<SendReason> = new Set<SendReason>([
  "Closed",
  "InvalidAddress",
  "InvalidData",
  "HostNotFound",
  "PermissionDenied",
  "NotCapable",
  "ResourceExhausted",
  "Unknown",
]);
const optionReasons: ReadonlySet<OptionReason> = new Set<OptionReason>([
  "Closed",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
]);

/**
 * One received datagram and its sender (`recvfrom`'s `(data, address)`).
 *
 * @example
 * ```ts
 * import { Address, type Udp } from "@fibernet/socket";
 * const show = (d: Udp.Datagram): string => `${Address.format(d.from)}: ${d.data.length} bytes`;
 * ```
 */
export interface Datagram {
  /** The payload, exactly as sent. */
  readonly data: Uint8Array;
  /** The sender. IPv4-mapped IPv6 senders (`::ffff:1.2.3.4`) are shown as IPv4. */
  readonly from: Address.TcpAddress;
}

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
export interface Stats {
  /** Datagrams read from the socket. */
  readonly received: number;
  /** Payload bytes read from the socket. */
  readonly bytesReceived: number;
  /** Datagrams handed to `receive` or `stream`. */
  readonly delivered: number;
  /** Datagrams waiting in the receive queue now. */
  readonly queued: number;
  /** Payload bytes waiting in the receive queue now. */
  readonly queuedBytes: number;
  /** Datagrams discarded because the receive queue was full (see `overflow`). */
  readonly dropped: number;
  /** Datagrams discarded because they did not fit the receive buffer. */
  readonly truncated: number;
  /** Datagrams from senders other than the peer of a connected endpoint, discarded. */
  readonly foreign: number;
  /** Receive errors reported by the runtime and skipped (the endpoint kept receiving). */
  readonly receiveErrors: number;
  /** Datagrams sent. */
  readonly sent: number;
  /** Payload bytes sent. */
  readonly bytesSent: number;
}

/**
 * Options for {@link bind}.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const telemetry: Udp.BindOptions = { queueCapacity: 64, overflow: "dropOldest" };
 * ```
 */
export interface BindOptions {
  /** `"auto"` (default) picks `Deno.listenDatagram` under `--unstable-net`, else `node:dgram`. */
  readonly backend?: Backend | "auto";
  /** Most datagrams waiting to be received. Default 1024. */
  readonly queueCapacity?: number;
  /**
   * Most payload bytes waiting to be received. Default 4 MiB. A datagram is
   * always accepted into an empty queue, whatever its size.
   */
  readonly queueBytes?: number;
  /** What to discard when the queue is full. Default `"dropNewest"`. */
  readonly overflow?: Overflow;
  /** `SO_REUSEADDR`: let several sockets bind the same address (multicast listeners). */
  readonly reuseAddress?: boolean;
  /** `SO_BROADCAST`: allow sending to broadcast addresses. */
  readonly broadcast?: boolean;
}

/**
 * Options for {@link connect}.
 *
 * @example
 * ```ts
 * import type { Udp } from "@fibernet/socket";
 * const options: Udp.ConnectOptions = { local: "127.0.0.1:5000" };
 * ```
 */
export interface ConnectOptions extends BindOptions {
  /**
   * The local address to bind. Default: port 0 on the loopback address of
   * the peer's IP version when the peer is a loopback address, otherwise on
   * the wildcard address (`0.0.0.0` or `::`).
   */
  readonly local?: Address.Input;
}

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
  readonly address: Address.TcpAddress;
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
 *   Effect.zipRight(peer.send(question), peer.receive);
 * ```
 */
export interface Connected extends DatagramSocket {
  /** The peer (`getpeername`), with a host name resolved to its IP address. */
  readonly peer: Address.TcpAddress;
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
export const availableBackends = (): ReadonlyArray<Backend> =>
  hasUnstableNet() ? ["Deno.listenDatagram", "node:dgram"] : ["node:dgram"];

// ---------------------------------------------------------------------------
// Addresses

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

const isIpv4 = (host: string): boolean => IPV4.test(host);
const isIpv6 = (host: string): boolean => host.includes(":");

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
const unmap = (host: string): string => {
  if (!host.startsWith("::")) return host;
  const m = MAPPED_V4.exec(host);
  return m ? m[1] : host;
};

/** The canonical text of an IPv6 literal (so `0:0::1` equals `::1`). */
const canonical6 = (host: string): string => {
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
};

const isLoopback = (host: string): boolean =>
  host.startsWith("127.") || canonical6(host) === "::1" || host === "localhost";

const isMulticast = (host: string): boolean => {
  const v4 = IPV4.exec(host);
  if (v4) return Number(v4[1]) >= 224 && Number(v4[1]) <= 239;
  return isIpv6(host) && /^ff/i.test(canonical6(host));
};

const hostPort = (hostname: string, port: number): string =>
  isIpv6(hostname) ? `[${hostname}]:${port}` : `${hostname}:${port}`;

/** True when Deno's sandbox lets this program use the address (without prompting). */
const netGranted = (hostname: string, port: number): boolean => {
  try {
    return Deno.permissions.querySync({ name: "net", host: hostPort(hostname, port) }).state ===
      "granted";
  } catch {
    return true;
  }
};

const notCapable = <R extends Reason>(
  operation: "bind" | "connect" | "send",
  hostname: string,
  port: number,
): SocketError<R> =>
  new SocketError({
    reason: "NotCapable" as R,
    operation,
    address: hostPort(hostname, port),
    detail: `Deno's sandbox refused ${hostPort(hostname, port)}; run with --allow-net=${
      isIpv6(hostname) ? `[${hostname}]` : hostname
    }`,
  });

let dnsModule: Promise<typeof import("node:dns")> | undefined;
let dgramModule: Promise<typeof NodeDgram> | undefined;

/** Resolves a host name to one IP literal (IP literals are returned as they are). */
const resolveHost = (
  hostname: string,
  port: number,
  operation: "bind" | "connect",
): Effect.Effect<{ ip: string; family: 4 | 6 }, SocketError<BindReason>> => {
  if (isIpv4(hostname)) return Effect.succeed({ ip: hostname, family: 4 });
  if (isIpv6(hostname)) return Effect.succeed({ ip: canonical6(hostname), family: 6 });
  return Effect.tryPromise({
    try: async () => {
      dnsModule ??= import("node:dns");
      const dns = await dnsModule;
      const found = await dns.promises.lookup(hostname);
      return { ip: found.address, family: found.family === 6 ? 6 as const : 4 as const };
    },
    catch: (error) => {
      const code = (error as { code?: unknown }).code;
      if (code === "EPERM") return notCapable<BindReason>(operation, hostname, port);
      return fromUnknown(error, operation, hostPort(hostname, port), bindReasons);
    },
  });
};

// ---------------------------------------------------------------------------
// The receive queue and counters, shared by both backends

/** Where a backend hands what it reads. */
interface Inbox {
  /** A datagram; `view` may be reused by the backend after this returns. */
  deliver(view: Uint8Array, hostname: string, port: number): void;
  /** A receive error the backend recovered from. */
  error(cause: unknown): void;
  /** The backend's socket went away without `close` being called. */
  lost(): void;
}

/** What each backend implements. */
interface RawSocket {
  readonly backend: Backend;
  readonly hostname: string;
  readonly port: number;
  send(bytes: Uint8Array, hostname: string, port: number): Promise<void>;
  setBroadcast(on: boolean): void;
  join(group: string, iface: string | undefined): Promise<void>;
  leave(group: string, iface: string | undefined): Promise<void>;
  setMulticastTTL(ttl: number): Promise<void>;
  setMulticastLoopback(on: boolean): Promise<void>;
  setMulticastInterface(iface: string): void;
  close(): void;
}

type Taker = (datagram: Datagram | undefined) => void;

class Core implements Inbox {
  raw: RawSocket | undefined = undefined;
  label = "";
  family: 4 | 6 = 4;
  closed = false;
  private items: Array<Datagram | undefined> = [];
  private head = 0;
  private takers: Array<Taker> = [];
  queuedBytes = 0;
  received = 0;
  bytesReceived = 0;
  delivered = 0;
  dropped = 0;
  truncated = 0;
  foreign = 0;
  receiveErrors = 0;
  sent = 0;
  bytesSent = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number,
    private readonly overflow: Overflow,
    private readonly accept: ((hostname: string, port: number) => boolean) | undefined,
  ) {}

  get queued(): number {
    return this.items.length - this.head;
  }

  get stats(): Stats {
    return {
      received: this.received,
      bytesReceived: this.bytesReceived,
      delivered: this.delivered,
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      dropped: this.dropped,
      truncated: this.truncated,
      foreign: this.foreign,
      receiveErrors: this.receiveErrors,
      sent: this.sent,
      bytesSent: this.bytesSent,
    };
  }

  deliver(view: Uint8Array, hostname: string, port: number): void {
    if (this.closed) return;
    this.received++;
    this.bytesReceived += view.length;
    if (view.length >= RECEIVE_BUFFER) {
      this.truncated++;
      return;
    }
    const host = unmap(hostname);
    if (this.accept !== undefined && !this.accept(host, port)) {
      this.foreign++;
      return;
    }
    const taker = this.takers.shift();
    if (taker !== undefined) {
      this.delivered++;
      taker({ data: new Uint8Array(view), from: Address.tcp(host, port) });
      return;
    }
    const size = view.length;
    if (this.full(size)) {
      if (this.overflow === "dropNewest") {
        this.dropped++;
        return;
      }
      while (this.queued > 0 && this.full(size)) {
        this.queuedBytes -= this.shift()!.data.length;
        this.dropped++;
      }
    }
    // A copy of exactly the payload: the backend's buffer is reused or is 64 KiB.
    this.items.push({ data: new Uint8Array(view), from: Address.tcp(host, port) });
    this.queuedBytes += size;
  }

  private full(size: number): boolean {
    const queued = this.queued;
    return queued >= this.capacity || (queued > 0 && this.queuedBytes + size > this.maxBytes);
  }

  private shift(): Datagram | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  error(_cause: unknown): void {
    this.receiveErrors++;
  }

  lost(): void {
    this.shutdown();
  }

  private closedError(): SocketError<"Closed"> {
    return new SocketError({ reason: "Closed", operation: "receive", address: this.label });
  }

  /** The next datagram, waiting for one. */
  readonly take: Effect.Effect<Datagram, SocketError<"Closed">> = Effect.suspend(() => {
    const item = this.shift();
    if (item !== undefined) {
      this.queuedBytes -= item.data.length;
      this.delivered++;
      return Effect.succeed(item);
    }
    if (this.closed) return Effect.fail(this.closedError());
    return Effect.async<Datagram, SocketError<"Closed">>((resume) => {
      let given: Datagram | undefined = undefined;
      const taker: Taker = (datagram) => {
        given = datagram;
        resume(datagram === undefined ? Effect.fail(this.closedError()) : Effect.succeed(datagram));
      };
      this.takers.push(taker);
      return Effect.sync(() => {
        const i = this.takers.indexOf(taker);
        if (i >= 0) this.takers.splice(i, 1);
        // Interrupted just after a datagram was handed over: it was never
        // seen, so it goes back to the front of the queue instead of being lost.
        else if (given !== undefined && !this.closed) this.unshift(given);
      });
    });
  });

  private unshift(datagram: Datagram): void {
    if (this.head > 0) this.items[--this.head] = datagram;
    else this.items.unshift(datagram);
    this.queuedBytes += datagram.data.length;
    this.delivered--;
  }

  /** Closes the socket and wakes every waiting receiver. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.raw?.close();
    } catch {
      // already closed
    }
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    const takers = this.takers;
    this.takers = [];
    for (const taker of takers) taker(undefined);
  }

  send(
    data: Uint8Array | string,
    hostname: string,
    port: number,
    label: string,
  ): Effect.Effect<void, SocketError<SendReason>> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const max = this.family === 4 || isIpv4(hostname) ? MAX_IPV4_PAYLOAD : MAX_IPV6_PAYLOAD;
    if (bytes.length > max) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidData",
          operation: "send",
          address: label,
          detail: `a UDP datagram over IPv${
            max === MAX_IPV4_PAYLOAD ? 4 : 6
          } carries at most ${max} bytes; this one has ${bytes.length}, so nothing was sent`,
        }),
      );
    }
    return Effect.async<void, SocketError<SendReason>>((resume) => {
      if (this.closed || this.raw === undefined) {
        resume(Effect.fail(sendClosed(label)));
        return;
      }
      this.raw.send(bytes, hostname, port).then(
        () => {
          this.sent++;
          this.bytesSent += bytes.length;
          resume(Effect.void);
        },
        (error) => resume(Effect.fail(this.sendError(error, hostname, port, label))),
      );
    });
  }

  private sendError(
    error: unknown,
    hostname: string,
    port: number,
    label: string,
  ): SocketError<SendReason> {
    if (this.closed) return sendClosed(label, error);
    const e = error as { code?: unknown; syscall?: unknown; message?: unknown };
    const message = typeof e?.message === "string" ? e.message : "";
    if (e?.code === "EMSGSIZE" || /message too long/i.test(message)) {
      return new SocketError({
        reason: "InvalidData",
        operation: "send",
        address: label,
        detail: "the datagram is larger than the network path allows (EMSGSIZE)",
        cause: error,
      });
    }
    if (e?.code === "ERR_SOCKET_DGRAM_NOT_RUNNING" || e?.code === "EBADF") {
      return sendClosed(label, error);
    }
    if (e?.code === "EPERM" && e?.syscall === "getaddrinfo") {
      return notCapable<SendReason>("send", hostname, port);
    }
    if (error instanceof Deno.errors.NotCapable || !netGranted(hostname, port)) {
      return notCapable<SendReason>("send", hostname, port);
    }
    if (e?.code === "UNKNOWN") {
      // node:dgram on Deno reports most send failures as UNKNOWN.
      const broadcast = hostname === "255.255.255.255" || /\.255$/.test(hostname);
      return new SocketError({
        reason: "Unknown",
        operation: "send",
        address: label,
        detail: broadcast
          ? "the send failed; to send to a broadcast address call setBroadcast(true) first (or bind with { broadcast: true })"
          : "the send failed (node:dgram gives no reason)",
        cause: error,
      });
    }
    return fromUnknown(error, "send", label, sendReasons);
  }
}

const sendClosed = (label: string, cause?: unknown): SocketError<SendReason> =>
  new SocketError({
    reason: "Closed",
    operation: "send",
    address: label,
    detail: "the endpoint is closed",
    cause,
  });

// ---------------------------------------------------------------------------
// Backends

interface Plan {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly backend: Backend;
  readonly reuseAddress: boolean;
  readonly broadcast: boolean;
}

const unsupported = (detail: string): SocketError<"Unsupported"> =>
  new SocketError({ reason: "Unsupported", operation: "setOption", detail });

const openNode = async (plan: Plan, inbox: Inbox): Promise<RawSocket> => {
  dgramModule ??= import("node:dgram");
  const dgram = await dgramModule;
  const socket = dgram.createSocket({
    type: plan.family === 6 ? "udp6" : "udp4",
    reuseAddr: plan.reuseAddress,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off("listening", onListening);
      try {
        socket.close();
      } catch {
        // never opened
      }
      reject(error);
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind({ port: plan.port, address: plan.ip });
    } catch (error) {
      onError(error as Error);
    }
  });
  let closed = false;
  socket.on("message", (msg: Uint8Array, rinfo: NodeDgram.RemoteInfo) => {
    inbox.deliver(msg, rinfo.address, rinfo.port);
  });
  socket.on("error", (error: Error) => inbox.error(error));
  socket.on("close", () => {
    if (!closed) inbox.lost();
  });
  const local = socket.address();
  return {
    backend: "node:dgram",
    hostname: local.address,
    port: local.port,
    send: (bytes, hostname, port) =>
      new Promise<void>((resolve, reject) => {
        socket.send(bytes, port, hostname, (error) => error ? reject(error) : resolve());
      }),
    setBroadcast: (on) => socket.setBroadcast(on),
    join: (group, iface) => Promise.resolve(socket.addMembership(group, iface)),
    leave: (group, iface) => Promise.resolve(socket.dropMembership(group, iface)),
    setMulticastTTL: (ttl) => Promise.resolve(void socket.setMulticastTTL(ttl)),
    setMulticastLoopback: (on) => Promise.resolve(void socket.setMulticastLoopback(on)),
    setMulticastInterface: (iface) => socket.setMulticastInterface(iface),
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
};

/** The unstable `Deno.DatagramConn`, typed here so stable type checking passes. */
interface DenoDatagramConn {
  readonly addr: Deno.Addr;
  receive(buffer?: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  send(data: Uint8Array, to: Deno.Addr): Promise<number>;
  close(): void;
  joinMulticastV4(group: string, iface: string): Promise<DenoMembership>;
  joinMulticastV6(group: string, iface: number): Promise<DenoMembership>;
}
interface DenoMembership {
  leave(): Promise<void> | void;
  setLoopback(on: boolean): Promise<void> | void;
  setTTL?(ttl: number): Promise<void> | void;
}
type ListenDatagram = (options: {
  transport: "udp";
  hostname: string;
  port: number;
  reuseAddress?: boolean;
}) => DenoDatagramConn;

const openDeno = (plan: Plan, inbox: Inbox): RawSocket => {
  const listen = (Deno as unknown as { listenDatagram: ListenDatagram }).listenDatagram;
  const conn = listen({
    transport: "udp",
    hostname: plan.ip,
    port: plan.port,
    reuseAddress: plan.reuseAddress,
  });
  const addr = conn.addr as Deno.NetAddr;
  let closed = false;
  const memberships = new Map<string, DenoMembership>();
  const pump = async () => {
    const buffer = new Uint8Array(RECEIVE_BUFFER);
    let failures = 0;
    while (!closed) {
      try {
        const [view, from] = await conn.receive(buffer);
        failures = 0;
        const net = from as Deno.NetAddr;
        inbox.deliver(view, net.hostname, net.port);
      } catch (error) {
        if (closed) return;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          inbox.lost();
          return;
        }
        // Anything else (an ICMP error reported by the OS, ENOBUFS, …) is
        // counted and skipped; back off if it repeats so it cannot spin.
        inbox.error(error);
        failures++;
        if (failures > 1) {
          await new Promise((r) => setTimeout(r, Math.min(1000, 2 ** Math.min(failures, 10))));
        }
      }
    }
  };
  pump();
  const key = (group: string, iface: string | undefined) => `${group}%${iface ?? ""}`;
  const eachMembership = async (f: (m: DenoMembership) => Promise<void> | void, what: string) => {
    if (memberships.size === 0) {
      throw unsupported(
        `the Deno.listenDatagram backend can set ${what} only after joinMulticast; use backend: "node:dgram"`,
      );
    }
    for (const m of memberships.values()) await f(m);
  };
  return {
    backend: "Deno.listenDatagram",
    hostname: addr.hostname,
    port: addr.port,
    send: async (bytes, hostname, port) => {
      await conn.send(bytes, { transport: "udp", hostname, port });
    },
    setBroadcast: (on) => {
      // Deno turns SO_BROADCAST on for every UDP socket and offers no way back.
      if (!on) {
        throw unsupported(
          'Deno.listenDatagram sockets always allow broadcast; use backend: "node:dgram" to forbid it',
        );
      }
    },
    join: async (group, iface) => {
      let membership: DenoMembership;
      if (isIpv6(group)) {
        if (iface !== undefined && !/^\d+$/.test(iface)) {
          throw unsupported(
            "the Deno.listenDatagram backend takes an IPv6 interface as its index number",
          );
        }
        membership = await conn.joinMulticastV6(group, iface === undefined ? 0 : Number(iface));
      } else {
        membership = await conn.joinMulticastV4(group, iface ?? "0.0.0.0");
      }
      memberships.set(key(group, iface), membership);
    },
    leave: async (group, iface) => {
      const membership = memberships.get(key(group, iface));
      if (membership === undefined) {
        throw new SocketError({
          reason: "InvalidAddress",
          operation: "setOption",
          address: group,
          detail: "this endpoint is not a member of that group",
        });
      }
      memberships.delete(key(group, iface));
      await membership.leave();
    },
    setMulticastTTL: (ttl) =>
      eachMembership(async (m) => {
        if (m.setTTL === undefined) throw unsupported("Deno cannot set an IPv6 multicast TTL");
        await m.setTTL(ttl);
      }, "the multicast TTL"),
    setMulticastLoopback: (on) => eachMembership((m) => m.setLoopback(on), "multicast loopback"),
    setMulticastInterface: () => {
      throw unsupported(
        'the Deno.listenDatagram backend cannot choose the multicast interface; use backend: "node:dgram"',
      );
    },
    close: () => {
      if (closed) return;
      closed = true;
      conn.close();
    },
  };
};

// ---------------------------------------------------------------------------
// Binding

const bindError = (
  detail: string,
  address: string | undefined,
  reason: "InvalidAddress" | "Unsupported" = "InvalidAddress",
): SocketError<BindReason> => new SocketError({ reason, operation: "bind", address, detail });

const checkOptions = (
  options: BindOptions | undefined,
  label: string,
): Either.Either<Backend, SocketError<BindReason>> => {
  const capacity = options?.queueCapacity;
  if (capacity !== undefined && !(Number.isInteger(capacity) && capacity >= 1)) {
    return Either.left(
      bindError(`queueCapacity must be a whole number ≥ 1, got ${capacity}`, label),
    );
  }
  const bytes = options?.queueBytes;
  if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 1)) {
    return Either.left(bindError(`queueBytes must be a whole number ≥ 1, got ${bytes}`, label));
  }
  const overflow = options?.overflow;
  if (overflow !== undefined && overflow !== "dropNewest" && overflow !== "dropOldest") {
    return Either.left(
      bindError(`overflow must be "dropNewest" or "dropOldest", got ${overflow}`, label),
    );
  }
  const wanted = options?.backend ?? "auto";
  if (wanted === "auto") return Either.right(availableBackends()[0]);
  if (wanted === "Deno.listenDatagram") {
    return hasUnstableNet() ? Either.right(wanted) : Either.left(
      bindError(
        "the Deno.listenDatagram backend needs Deno's --unstable-net flag; without it use node:dgram (the default)",
        label,
        "Unsupported",
      ),
    );
  }
  if (wanted === "node:dgram") return Either.right(wanted);
  return Either.left(bindError(`unknown backend ${JSON.stringify(wanted)}`, label));
};

const udpAddress = (
  input: Address.Input,
  allowPortZero: boolean,
  operation: "bind" | "connect",
): Either.Either<Address.TcpAddress, SocketError<BindReason>> =>
  hostPortAddress(input, {
    allowPortZero,
    operation,
    unixDetail:
      "UDP addresses are host:port; Unix datagram sockets need Deno's unstable unixpacket transport, which this library does not offer",
  });

/** Opens a socket for `core` and registers its closing in the scope. */
const open = (
  core: Core,
  address: Address.TcpAddress,
  options: BindOptions | undefined,
  backend: Backend,
): Effect.Effect<void, SocketError<BindReason>, Scope.Scope> =>
  Effect.flatMap(resolveHost(address.hostname, address.port, "bind"), ({ ip, family }) => {
    const label = hostPort(ip, address.port);
    if (!netGranted(ip, address.port)) {
      // node:dgram would throw this permission error where nothing can catch it.
      return Effect.fail(notCapable<BindReason>("bind", ip, address.port));
    }
    const plan: Plan = {
      ip,
      port: address.port,
      family,
      backend,
      reuseAddress: options?.reuseAddress ?? false,
      broadcast: options?.broadcast ?? false,
    };
    return Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const raw = backend === "node:dgram" ? await openNode(plan, core) : openDeno(plan, core);
          core.raw = raw;
          core.family = family;
          core.label = hostPort(raw.hostname, raw.port);
          if (plan.broadcast) raw.setBroadcast(true);
        },
        catch: (error) => {
          const code = (error as { code?: unknown }).code;
          if (code === "EADDRINUSE") {
            return new SocketError<BindReason>({
              reason: "AddressInUse",
              operation: "bind",
              address: label,
              cause: error,
            });
          }
          return fromUnknown(error, "bind", label, bindReasons);
        },
      }),
      () => Effect.sync(() => core.shutdown()),
    );
  });

const makeCore = (
  options: BindOptions | undefined,
  accept?: (hostname: string, port: number) => boolean,
): Core =>
  new Core(
    options?.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
    options?.queueBytes ?? DEFAULT_QUEUE_BYTES,
    options?.overflow ?? "dropNewest",
    accept,
  );

const optionError = (error: unknown, label: string): SocketError<OptionReason> => {
  if (error instanceof SocketError && optionReasons.has(error.reason as OptionReason)) {
    return error as SocketError<OptionReason>;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EINVAL" || code === "ERR_INVALID_ARG_TYPE" || code === "ERR_INVALID_ARG_VALUE") {
    return new SocketError({
      reason: "InvalidAddress",
      operation: "setOption",
      address: label,
      cause: error,
    });
  }
  return fromUnknown(error, "setOption", label, optionReasons);
};

/** Socket options, shared by bound and connected endpoints. */
const socketOptions = (
  core: Core,
): Omit<DatagramSocket, "address" | "backend" | "stats" | "close"> => {
  const run = (
    f: (raw: RawSocket) => Promise<void> | void,
  ): Effect.Effect<void, SocketError<OptionReason>> =>
    Effect.suspend(() => {
      const raw = core.raw;
      if (core.closed || raw === undefined) {
        return Effect.fail(
          new SocketError({ reason: "Closed", operation: "setOption", address: core.label }),
        );
      }
      return Effect.tryPromise({
        try: async () => {
          await f(raw);
        },
        catch: (error) => optionError(error, core.label),
      });
    });
  const checkGroup = (group: string): Effect.Effect<void, SocketError<OptionReason>> => {
    const family = isIpv6(group) ? 6 : 4;
    if (!isMulticast(group)) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: "setOption",
          address: group,
          detail: "not a multicast group (224.0.0.0/4 or ff00::/8)",
        }),
      );
    }
    if (family !== core.family) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: "setOption",
          address: group,
          detail: `an IPv${core.family} endpoint cannot join an IPv${family} group`,
        }),
      );
    }
    return Effect.void;
  };
  return {
    setBroadcast: (on = true) => run((raw) => raw.setBroadcast(on)),
    joinMulticast: (group, iface) =>
      Effect.zipRight(checkGroup(group), run((raw) => raw.join(group, iface))),
    leaveMulticast: (group, iface) =>
      Effect.zipRight(checkGroup(group), run((raw) => raw.leave(group, iface))),
    setMulticastTTL: (ttl) =>
      Number.isInteger(ttl) && ttl >= 1 && ttl <= 255
        ? run((raw) => raw.setMulticastTTL(ttl))
        : Effect.fail(
          new SocketError({
            reason: "InvalidAddress",
            operation: "setOption",
            address: core.label,
            detail: `a multicast TTL is a whole number 1–255, got ${ttl}`,
          }),
        ),
    setMulticastLoopback: (on) => run((raw) => raw.setMulticastLoopback(on)),
    setMulticastInterface: (iface) => run((raw) => raw.setMulticastInterface(iface)),
  };
};

/** Where a send to `to` really goes from this endpoint, or why it cannot. */
const destination = (
  core: Core,
  to: Address.Input,
): Either.Either<{ hostname: string; port: number; label: string }, SocketError<SendReason>> => {
  const parsed = typeof to === "string"
    ? Address.parseEither(to)
    : to._tag === "TcpAddress" && Number.isInteger(to.port) && to.port > 0 && to.port <= 65535 &&
        (isIpv4(to.hostname) || isIpv6(to.hostname))
    ? Either.right(to) // an address this endpoint handed out: skip the full validation
    : Address.validate(to);
  if (Either.isLeft(parsed)) {
    return Either.left(
      new SocketError({
        reason: "InvalidAddress",
        operation: "send",
        address: parsed.left.address,
        detail: parsed.left.detail,
      }),
    );
  }
  const address = parsed.right;
  if (address._tag !== "TcpAddress") {
    return Either.left(
      new SocketError({
        reason: "InvalidAddress",
        operation: "send",
        address: Address.format(address),
        detail: "UDP sends to host:port, not to a unix path",
      }),
    );
  }
  const { hostname, port } = address;
  const label = hostPort(hostname, port);
  if (core.family === 4 && isIpv6(hostname)) {
    return Either.left(
      new SocketError({
        reason: "InvalidAddress",
        operation: "send",
        address: label,
        detail:
          `this endpoint is bound to IPv4 (${core.label}) and cannot send to an IPv6 address; bind one to [::1]:0 or [::]:0`,
      }),
    );
  }
  if (core.family === 6 && isIpv4(hostname)) {
    // A dual-stack socket bound to :: reaches IPv4 through mapped addresses.
    if (core.raw !== undefined && canonical6(core.raw.hostname) === "::") {
      return Either.right({ hostname: `::ffff:${hostname}`, port, label });
    }
    return Either.left(
      new SocketError({
        reason: "InvalidAddress",
        operation: "send",
        address: label,
        detail:
          `this endpoint is bound to IPv6 (${core.label}) and cannot send to an IPv4 address; bind one to 127.0.0.1:0 or 0.0.0.0:0, or to [::]:0 for both`,
      }),
    );
  }
  return Either.right({ hostname, port, label });
};

/** What bound and connected endpoints share, except the `stats` getter. */
const shared = (core: Core): Omit<DatagramSocket, "stats"> => ({
  address: Address.tcp(core.raw!.hostname, core.raw!.port),
  backend: core.raw!.backend,
  ...socketOptions(core),
  close: Effect.sync(() => core.shutdown()),
});

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
  Effect.suspend(() => {
    const parsed = udpAddress(address, true, "bind");
    if (Either.isLeft(parsed)) return Effect.fail(parsed.left);
    const backend = checkOptions(options, Address.format(parsed.right));
    if (Either.isLeft(backend)) return Effect.fail(backend.left);
    const core = makeCore(options);
    return Effect.map(open(core, parsed.right, options, backend.right), (): Endpoint => ({
      ...shared(core),
      get stats() {
        return core.stats;
      },
      send: (data, to) => {
        const target = destination(core, to);
        return Either.isLeft(target)
          ? Effect.fail(target.left)
          : core.send(data, target.right.hostname, target.right.port, target.right.label);
      },
      receive: core.take,
      stream: datagramStream(core),
    }));
  });

// One datagram per pull: a stream that took datagrams out of the queue in
// batches would lose the rest of a batch when its consumer stops early
// (`Stream.take(1)`), and they would never reach a later `receive`.
const datagramStream = (core: Core): Stream.Stream<Datagram> =>
  Stream.repeatEffectOption(Effect.mapError(core.take, () => Option.none()));

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
  Effect.suspend(() => {
    const parsedPeer = udpAddress(peer, false, "connect");
    if (Either.isLeft(parsedPeer)) return Effect.fail(parsedPeer.left);
    const backend = checkOptions(options, Address.format(parsedPeer.right));
    if (Either.isLeft(backend)) return Effect.fail(backend.left);
    return Effect.flatMap(
      resolveHost(parsedPeer.right.hostname, parsedPeer.right.port, "connect"),
      ({ ip, family }) => {
        const port = parsedPeer.right.port;
        const loopback = isLoopback(ip);
        const local = options?.local ??
          (family === 6
            ? (loopback ? "[::1]:0" : "[::]:0")
            : loopback
            ? "127.0.0.1:0"
            : "0.0.0.0:0");
        const parsedLocal = udpAddress(local, true, "connect");
        if (Either.isLeft(parsedLocal)) return Effect.fail(parsedLocal.left);
        const localHost = parsedLocal.right.hostname;
        if ((family === 6) !== isIpv6(localHost) && (isIpv4(localHost) || isIpv6(localHost))) {
          return Effect.fail(
            new SocketError<BindReason>({
              reason: "InvalidAddress",
              operation: "connect",
              address: hostPort(ip, port),
              detail: `the local address ${
                Address.format(parsedLocal.right)
              } is not of the peer's IP version`,
            }),
          );
        }
        const core = makeCore(
          options,
          (hostname, from) =>
            from === port && (hostname === ip || (family === 6 && canonical6(hostname) === ip)),
        );
        const label = hostPort(ip, port);
        return Effect.map(open(core, parsedLocal.right, options, backend.right), (): Connected => ({
          ...shared(core),
          get stats() {
            return core.stats;
          },
          peer: Address.tcp(ip, port),
          send: (data) => core.send(data, ip, port, label),
          receive: Effect.map(core.take, (d) => d.data),
          stream: Stream.map(datagramStream(core), (d) => d.data),
        }));
      },
    );
  });

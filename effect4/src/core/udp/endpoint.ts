// A UDP endpoint driven by callbacks and promises: the machinery under the
// Effect faces' `Udp.bind` and `Udp.connect`.
//
// The backend reads every datagram as it arrives into a bounded receive
// queue (a datagram socket cannot push back on its senders, so what a slow
// consumer cannot take is discarded and counted). A receive polls the queue
// or registers a waiter, which hears once a datagram is queued and then polls
// again; a waiter that went away loses nothing, as the datagram stays queued.
import {
  type Address,
  canonicalIpv6,
  format,
  inet,
  type InetAddress,
  InvalidAddress,
  isIpv4,
  isIpv6,
  isLoopback,
  isMulticast,
  resolve,
  unmapIpv4,
} from "../address.ts";
import type { Failure } from "../failure.ts";
import type { Reason } from "../reasons.ts";
import { PENDING } from "../stream_socket.ts";
import type { Backend, Inbox, OpenPlan, OptionOutcome, RawDatagramSocket } from "./backend.ts";
import { type Datagram, MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD, RECEIVE_BUFFER } from "./datagram.ts";
import { openDeno } from "./deno_backend.ts";
import { destination, type Sender } from "./destination.ts";
import { bindFailure, optionFailure, sendClosed, sendFailure } from "./failures.ts";
import { resolveHost } from "./lookup.ts";
import { openNode } from "./node_backend.ts";
import {
  chooseBackend,
  type DatagramConnectOptions,
  type DatagramEndpointOptions,
  queueLimits,
} from "./options.ts";
import { netGranted, notCapable } from "./permission.ts";
import type { UdpBindReason, UdpOptionReason, UdpSendReason } from "./reasons.ts";
import { ReceiveQueue, type ReceiveQueueLimits } from "./receive_queue.ts";

/**
 * Hears that a receive can now complete (poll again).
 *
 * @example
 * ```ts
 * import type { ReceiveWaiter } from "@fibernet/socket/core";
 * const waiter: ReceiveWaiter = { onReceivable: () => console.log("poll again") };
 * ```
 */
export interface ReceiveWaiter {
  /** A datagram is queued, or the endpoint closed. */
  onReceivable(): void;
}

/**
 * Hears how a send ended.
 *
 * @example
 * ```ts
 * import type { SendWaiter } from "@fibernet/socket/core";
 * const waiter: SendWaiter = {
 *   onSent: (failure) => console.log(failure === undefined ? "sent" : failure.reason),
 * };
 * ```
 */
export interface SendWaiter {
  /** The send ended: `undefined` when the datagram went out, else why not. */
  onSent(failure: Failure<UdpSendReason> | undefined): void;
}

/**
 * Counters of an endpoint, a snapshot taken when read. Every datagram read
 * from the socket ends in exactly one of `delivered`, `queued`, `dropped`,
 * `truncated` or `foreign`.
 *
 * @example
 * ```ts
 * import type { DatagramStats } from "@fibernet/socket/core";
 * const lossRatio = (s: DatagramStats): number => s.received === 0 ? 0 : s.dropped / s.received;
 * ```
 */
export interface DatagramStats {
  /** Datagrams read from the socket. */
  readonly received: number;
  /** Payload bytes read from the socket. */
  readonly bytesReceived: number;
  /** Datagrams handed to a receiver. */
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

/** The outcome of setting a socket option: `undefined` when it was set, else why not. */
type OptionResult = Promise<Failure<UdpOptionReason> | undefined>;

const encoder = new TextEncoder();

/** True for a failure, as opposed to the value an operation produces. */
const isFailure = <T extends object>(value: T): value is Extract<T, Failure<Reason>> =>
  "reason" in value;

/** A host:port input that must not be a unix path, validated, or why not. */
const udpAddress = (
  input: Address | string,
  allowPortZero: boolean,
  operation: "bind" | "connect",
): InetAddress | Failure<"InvalidAddress"> => {
  const address = resolve(input, { allowPortZero });
  if (address instanceof InvalidAddress) {
    return {
      reason: "InvalidAddress",
      operation,
      address: address.address,
      detail: address.detail,
    };
  }
  if (address._tag !== "TcpAddress") {
    return {
      reason: "InvalidAddress",
      operation,
      address: format(address),
      detail:
        "UDP addresses are host:port; Unix datagram sockets need Deno's unstable unixpacket transport, which this library does not offer",
    };
  }
  return address;
};

/**
 * A bound UDP socket (IPv4 or IPv6) with a bounded receive queue. Open one
 * with {@link DatagramEndpoint.bind} or {@link DatagramEndpoint.connect}; the
 * owner must `close` it.
 *
 * - One `send` is one datagram, one receive is one datagram: boundaries are
 *   never merged or split. A payload larger than UDP allows fails with
 *   `InvalidData` before anything is sent.
 * - Datagrams are read into a 64 KiB buffer, so none is truncated; one that
 *   would be is discarded and counted in `stats.truncated`.
 * - Receive errors (such as ICMP port unreachable) never end receiving: they
 *   are counted in `stats.receiveErrors`.
 * - The receive queue holds at most `queueCapacity` datagrams and
 *   `queueBytes` bytes; when full, `overflow` decides what is discarded, and
 *   each one discarded is counted in `stats.dropped`.
 *
 * @example
 * ```ts
 * import { DatagramEndpoint, PENDING } from "@fibernet/socket/core";
 *
 * // A UDP echo in callbacks: every datagram goes back to its sender.
 * const endpoint = await DatagramEndpoint.bind("127.0.0.1:0");
 * if (!(endpoint instanceof DatagramEndpoint)) throw new Error(endpoint.detail);
 * const ignore = { onSent: () => {} };
 * const echo = {
 *   onReceivable() {
 *     for (;;) {
 *       const datagram = endpoint.pollReceive(echo);
 *       if (datagram === PENDING || datagram === null) return; // waiting, or closed
 *       endpoint.send(datagram.data, datagram.from, ignore);
 *     }
 *   },
 * };
 * echo.onReceivable();
 * ```
 */
export class DatagramEndpoint {
  /** Datagrams read from the socket, and their payload bytes. */
  private received = 0;
  private bytesReceived = 0;
  private delivered = 0;
  private truncated = 0;
  private foreign = 0;
  private receiveErrors = 0;
  private sent = 0;
  private bytesSent = 0;
  private closed = false;
  private readonly queue: ReceiveQueue;
  private waiters: Array<ReceiveWaiter> = [];
  private raw: RawDatagramSocket | undefined = undefined;
  private local: InetAddress = inet("", 0);
  /** What a destination is checked against. */
  private sender: Sender = { family: 4, dualStack: false, label: "" };

  /** Where the backend hands what it reads. */
  private readonly inbox: Inbox = {
    deliver: (view, hostname, port) => this.arrived(view, hostname, port),
    error: () => void this.receiveErrors++,
    lost: () => this.close(),
  };

  private constructor(
    limits: ReceiveQueueLimits,
    /** The runtime API in use. */
    readonly backend: Backend,
    /** The IP version of the socket. */
    readonly family: 4 | 6,
    /** The default peer of a connected endpoint (whose datagrams alone are received). */
    readonly peer: InetAddress | undefined,
  ) {
    this.queue = new ReceiveQueue(limits);
  }

  /**
   * Binds a UDP socket (`socket(AF_INET/AF_INET6, SOCK_DGRAM)` + `bind`).
   * `"127.0.0.1:0"` or `"[::1]:0"` picks a free port: read it from
   * `address`. Reading into the receive queue starts at once. Resolves to
   * the endpoint or to why it could not be bound; never rejects.
   */
  static async bind(
    address: Address | string,
    options?: DatagramEndpointOptions,
  ): Promise<DatagramEndpoint | Failure<UdpBindReason>> {
    const parsed = udpAddress(address, true, "bind");
    if (isFailure(parsed)) return parsed;
    const backend = chooseBackend(options, format(parsed));
    if (typeof backend !== "string") return backend;
    return await DatagramEndpoint.open(parsed, options, backend, undefined);
  }

  /**
   * Binds a UDP socket with a default peer (`connect` on a `SOCK_DGRAM`
   * socket): `send` without a destination goes to the peer, and datagrams
   * from anyone else are discarded (counted in `stats.foreign`). A host name
   * is resolved once, here. Nothing is sent, so this succeeds even if nobody
   * listens at the peer. Resolves to the endpoint or to why it could not be
   * opened; never rejects.
   */
  static async connect(
    peer: Address | string,
    options?: DatagramConnectOptions,
  ): Promise<DatagramEndpoint | Failure<UdpBindReason>> {
    const parsedPeer = udpAddress(peer, false, "connect");
    if (isFailure(parsedPeer)) return parsedPeer;
    const backend = chooseBackend(options, format(parsedPeer));
    if (typeof backend !== "string") return backend;
    const { port } = parsedPeer;
    const resolved = await resolveHost(parsedPeer.hostname, port, "connect");
    if (isFailure(resolved)) return resolved;
    const { ip, family } = resolved;
    const loopback = isLoopback(ip);
    const local = options?.local ??
      (family === 6 ? (loopback ? "[::1]:0" : "[::]:0") : loopback ? "127.0.0.1:0" : "0.0.0.0:0");
    const parsedLocal = udpAddress(local, true, "connect");
    if (isFailure(parsedLocal)) return parsedLocal;
    const localHost = parsedLocal.hostname;
    if ((family === 6) !== isIpv6(localHost) && (isIpv4(localHost) || isIpv6(localHost))) {
      return {
        reason: "InvalidAddress",
        operation: "connect",
        address: format(inet(ip, port)),
        detail: `the local address ${format(parsedLocal)} is not of the peer's IP version`,
      };
    }
    return await DatagramEndpoint.open(parsedLocal, options, backend, inet(ip, port));
  }

  /** Opens the socket on `backend`; closes it again if anything after opening fails. */
  private static async open(
    address: InetAddress,
    options: DatagramEndpointOptions | undefined,
    backend: Backend,
    peer: InetAddress | undefined,
  ): Promise<DatagramEndpoint | Failure<UdpBindReason>> {
    const resolved = await resolveHost(address.hostname, address.port, "bind");
    if (isFailure(resolved)) return resolved;
    const { ip, family } = resolved;
    const label = format(inet(ip, address.port));
    // node:dgram would throw this permission error where nothing can catch it.
    if (!netGranted(ip, address.port)) return notCapable("bind", ip, address.port);
    const plan: OpenPlan = {
      ip,
      port: address.port,
      family,
      reuseAddress: options?.reuseAddress ?? false,
    };
    const endpoint = new DatagramEndpoint(queueLimits(options), backend, family, peer);
    try {
      const raw = backend === "node:dgram"
        ? await openNode(plan, endpoint.inbox)
        : openDeno(plan, endpoint.inbox);
      endpoint.attach(raw);
      if (options?.broadcast) {
        const refused = await raw.setBroadcast(true);
        if (refused !== undefined) {
          endpoint.close();
          return {
            reason: "Unsupported",
            operation: "bind",
            address: label,
            detail: refused.detail,
          };
        }
      }
      return endpoint;
    } catch (error) {
      endpoint.close();
      return bindFailure(error, label);
    }
  }

  /** Takes the opened socket: its address, and what sends are checked against. */
  private attach(raw: RawDatagramSocket): void {
    this.raw = raw;
    this.local = inet(raw.hostname, raw.port);
    this.sender = {
      family: this.family,
      dualStack: this.family === 6 && canonicalIpv6(raw.hostname) === "::",
      label: format(this.local),
    };
  }

  /** The bound address (`getsockname`); a requested port 0 shows the real port. */
  get address(): InetAddress {
    return this.local;
  }

  /** The bound address, formatted, for messages. */
  get label(): string {
    return this.sender.label;
  }

  /** True once closed (by `close`, or because the runtime closed the socket). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** A snapshot of the counters. */
  get stats(): DatagramStats {
    return {
      received: this.received,
      bytesReceived: this.bytesReceived,
      delivered: this.delivered,
      queued: this.queue.length,
      queuedBytes: this.queue.bytes,
      dropped: this.queue.dropped,
      truncated: this.truncated,
      foreign: this.foreign,
      receiveErrors: this.receiveErrors,
      sent: this.sent,
      bytesSent: this.bytesSent,
    };
  }

  // --- receiving -------------------------------------------------------------

  /** A datagram from the backend: counted, filtered, queued, and one waiter told. */
  private arrived(view: Uint8Array, hostname: string, port: number): void {
    if (this.closed) return;
    this.received++;
    this.bytesReceived += view.length;
    if (view.length >= RECEIVE_BUFFER) {
      this.truncated++;
      return;
    }
    const host = unmapIpv4(hostname);
    if (this.peer !== undefined && !this.fromPeer(host, port)) {
      this.foreign++;
      return;
    }
    if (!this.queue.makeRoom(view.length)) return;
    // A copy of exactly the payload: the backend's buffer is reused or is 64 KiB.
    this.queue.push({ data: new Uint8Array(view), from: inet(host, port) });
    this.waiters.shift()?.onReceivable();
  }

  /** True for the peer of a connected endpoint (an IPv6 peer in any spelling). */
  private fromPeer(host: string, port: number): boolean {
    const peer = this.peer!;
    return port === peer.port &&
      (host === peer.hostname || (this.family === 6 && canonicalIpv6(host) === peer.hostname));
  }

  /**
   * The next queued datagram; `null` once the endpoint is closed; PENDING
   * when none is queued, and then `waiter` (if given) hears once one is, or
   * once the endpoint closes. Waiters are told one per datagram, in the order
   * they registered; a told waiter should poll again.
   */
  pollReceive(waiter?: ReceiveWaiter): Datagram | null | typeof PENDING {
    const datagram = this.queue.shift();
    if (datagram !== undefined) {
      this.delivered++;
      return datagram;
    }
    if (this.closed) return null;
    if (waiter !== undefined) this.waiters.push(waiter);
    return PENDING;
  }

  /**
   * `waiter` no longer wants to hear. If it was already told but will not
   * poll, the next waiter is told instead, so no datagram waits while a
   * receiver does.
   */
  cancelReceive(waiter: ReceiveWaiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    else if (this.queue.length > 0) this.waiters.shift()?.onReceivable();
  }

  // --- sending ---------------------------------------------------------------

  /**
   * Sends one datagram (`sendto`) to `to`, or to the peer of a connected
   * endpoint when `to` is undefined; strings are encoded as UTF-8. Returns a
   * failure at once when nothing can be sent (an invalid destination, a
   * payload too large for UDP, a closed endpoint), else PENDING: `waiter`
   * hears how the send ended. The caller may reuse `data` once it has.
   */
  send(
    data: Uint8Array | string,
    to: Address | string | undefined,
    waiter: SendWaiter,
  ): Failure<UdpSendReason> | typeof PENDING {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let target: InetAddress | Failure<UdpSendReason>;
    if (to !== undefined) target = destination(to, this.sender);
    else if (this.peer !== undefined) target = this.peer;
    else {
      target = {
        reason: "InvalidAddress",
        operation: "send",
        address: this.sender.label,
        detail: "this endpoint has no peer: give the destination",
      };
    }
    if (isFailure(target)) return target;
    const { hostname, port } = target;
    const max = this.family === 4 || isIpv4(hostname) ? MAX_IPV4_PAYLOAD : MAX_IPV6_PAYLOAD;
    if (bytes.length > max) {
      return {
        reason: "InvalidData",
        operation: "send",
        address: targetLabel(hostname, port),
        detail: `a UDP datagram over IPv${
          max === MAX_IPV4_PAYLOAD ? 4 : 6
        } carries at most ${max} bytes; this one has ${bytes.length}, so nothing was sent`,
      };
    }
    const raw = this.raw;
    if (this.closed || raw === undefined) return sendClosed(targetLabel(hostname, port));
    raw.send(bytes, hostname, port, (error) => {
      if (error === null) {
        this.sent++;
        this.bytesSent += bytes.length;
        waiter.onSent(undefined);
      } else {
        waiter.onSent(sendFailure(error, this.closed, hostname, port, targetLabel(hostname, port)));
      }
    });
    return PENDING;
  }

  // --- socket options --------------------------------------------------------

  /** Allows (`true`) or forbids sending to broadcast addresses (`SO_BROADCAST`). */
  setBroadcast(on = true): OptionResult {
    return this.option((raw) => raw.setBroadcast(on));
  }

  /**
   * Joins a multicast group (`IP_ADD_MEMBERSHIP`), on the interface with the
   * given local IPv4 address (default: chosen by the system).
   */
  joinMulticast(group: string, interfaceAddress?: string): OptionResult {
    return this.checkGroup(group) ?? this.option((raw) => raw.join(group, interfaceAddress));
  }

  /** Leaves a multicast group joined with {@link DatagramEndpoint.joinMulticast}. */
  leaveMulticast(group: string, interfaceAddress?: string): OptionResult {
    return this.checkGroup(group) ?? this.option((raw) => raw.leave(group, interfaceAddress));
  }

  /** Hops an outgoing multicast datagram may travel, 1–255 (default 1). */
  setMulticastTTL(ttl: number): OptionResult {
    if (Number.isInteger(ttl) && ttl >= 1 && ttl <= 255) {
      return this.option((raw) => raw.setMulticastTTL(ttl));
    }
    return Promise.resolve({
      reason: "InvalidAddress",
      operation: "setOption",
      address: this.sender.label,
      detail: `a multicast TTL is a whole number 1–255, got ${ttl}`,
    });
  }

  /** Whether this host's own members receive multicast sent from here (default on). */
  setMulticastLoopback(on: boolean): OptionResult {
    return this.option((raw) => raw.setMulticastLoopback(on));
  }

  /** The local interface address outgoing multicast leaves from (`node:dgram` only). */
  setMulticastInterface(interfaceAddress: string): OptionResult {
    return this.option((raw) => raw.setMulticastInterface(interfaceAddress));
  }

  /** Sets an option on an open socket; what the runtime throws becomes a failure. */
  private async option(
    set: (raw: RawDatagramSocket) => OptionOutcome,
  ): OptionResult {
    const raw = this.raw;
    if (this.closed || raw === undefined) {
      return { reason: "Closed", operation: "setOption", address: this.sender.label };
    }
    try {
      return await set(raw);
    } catch (error) {
      return optionFailure(error, this.sender.label);
    }
  }

  /** Why `group` cannot be joined from here, or undefined when it can. */
  private checkGroup(group: string): OptionResult | undefined {
    const family = isIpv6(group) ? 6 : 4;
    const detail = !isMulticast(group)
      ? "not a multicast group (224.0.0.0/4 or ff00::/8)"
      : family !== this.family
      ? `an IPv${this.family} endpoint cannot join an IPv${family} group`
      : undefined;
    if (detail === undefined) return undefined;
    return Promise.resolve({
      reason: "InvalidAddress",
      operation: "setOption",
      address: group,
      detail,
    });
  }

  // --- closing ---------------------------------------------------------------

  /**
   * Closes the socket; idempotent. Queued datagrams are discarded and every
   * waiting receiver is told (its poll then returns `null`).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.raw?.close();
    } catch {
      // already closed
    }
    this.queue.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.onReceivable();
  }
}

/** A destination as messages show it (an IPv4-mapped address as the IPv4 it stands for). */
const targetLabel = (hostname: string, port: number): string =>
  format(inet(unmapIpv4(hostname), port));

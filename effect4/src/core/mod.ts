/**
 * The Effect-free core of `@fibernet/socket`: plain TypeScript over Deno's
 * APIs, driven by callbacks. The Effect modules (`Connection`, `Listener`,
 * `Server`, …) are thin faces over it. Use it directly to build another face,
 * or where a callback is all that is wanted.
 *
 * - {@link StreamSocket}: a connected byte stream with pulled reads into an
 *   adaptive buffer, writes that always write everything, a write queue that
 *   pauses reads when it backs up, half-close and close with linger.
 * - {@link StreamListener}: accepts connections, one poll at a time.
 * - {@link CopyLoop}: copies one socket to another (an echo: to itself).
 * - {@link ServeLoop}: a server's accept loop with a connection limit,
 *   back-off, an idle and stalled-write sweep, and a drain at shutdown.
 * - {@link DatagramEndpoint}: a UDP socket on `node:dgram` or
 *   `Deno.listenDatagram`, reading into a bounded {@link ReceiveQueue}.
 *
 * ```ts
 * import { CopyLoop, StreamListener } from "@fibernet/socket/core";
 * import { IoFailure, PENDING } from "@fibernet/socket/core";
 *
 * // An echo server in callbacks: accept one connection, copy it to itself.
 * const listener = new StreamListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * const waiter = {
 *   onAcceptable() {
 *     const socket = listener.pollAccept(waiter);
 *     if (socket === PENDING || socket instanceof IoFailure) return;
 *     new CopyLoop(socket, socket, { onCopyEnd: () => socket.close() }).start();
 *   },
 * };
 * waiter.onAcceptable();
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_READ,
  IoFailure,
  PENDING,
  type QueuedWrite,
  type ReadResult,
  type ReadWaiter,
  StreamSocket,
  type StreamSocketOptions,
  type WriteWaiter,
  WRITTEN,
} from "./stream_socket.ts";
export { type AcceptWaiter, StreamListener } from "./stream_listener.ts";
export { CopyFailure, CopyLoop, type CopyObserver } from "./copy_loop.ts";
export {
  type Acceptor,
  type Served,
  type ServeHooks,
  ServeLoop,
  type ServeSettings,
  Session,
} from "./serve_loop.ts";
export { availableBackends, type Backend, BACKENDS, hasListenDatagram } from "./udp/backend.ts";
export { type Datagram, MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD } from "./udp/datagram.ts";
export {
  DatagramEndpoint,
  type DatagramStats,
  type ReceiveWaiter,
  type SendWaiter,
} from "./udp/endpoint.ts";
export { type DatagramConnectOptions, type DatagramEndpointOptions } from "./udp/options.ts";
export {
  type Overflow,
  OVERFLOW_POLICIES,
  ReceiveQueue,
  type ReceiveQueueLimits,
} from "./udp/receive_queue.ts";
export {
  UDP_BIND_REASONS,
  UDP_OPTION_REASONS,
  UDP_RECEIVE_REASONS,
  UDP_SEND_REASONS,
  type UdpBindReason,
  type UdpOptionReason,
  type UdpReceiveReason,
  type UdpSendReason,
} from "./udp/reasons.ts";

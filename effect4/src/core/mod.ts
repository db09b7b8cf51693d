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
 * - {@link TlsSocket} and {@link listenTls}: TLS, with the handshake done
 *   once within a deadline and its failures explained; a server's descriptor
 *   is released at the deadline even if the client never says a word.
 * - Framing: {@link LengthPrefixedCodec} and {@link DelimitedCodec}, each
 *   with one push decoder ({@link FrameDecoder}: bytes in, frames out, no
 *   I/O) and an encoder; {@link SocketFrameReader} decodes straight from a
 *   socket, {@link tryWriteFrame} / {@link enqueueFrame} write frames without
 *   a buffer per frame.
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
 * Decoding frames needs no socket at all:
 *
 * ```ts
 * import { DelimitedCodec, FrameError } from "@fibernet/socket/core";
 *
 * const decoder = DelimitedCodec.lines({ maxLength: 1024 }).decoder();
 * for (const chunk of ["hel", "lo\r\nwor", "ld\n"]) {
 *   decoder.push(new TextEncoder().encode(chunk));
 *   for (let line = decoder.next(); line !== undefined; line = decoder.next()) {
 *     if (line instanceof FrameError) throw new Error(line.message);
 *     console.log(new TextDecoder().decode(line)); // "hello", then "world"
 *   }
 * }
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
export { ExplainedError, type Failure, type Operation } from "./failure.ts";
export { type HandshakeInfo, TlsSocket, type TlsSocketOptions } from "./tls/tls_socket.ts";
export { type ServerTlsConfig, ServerTlsConn } from "./tls/server_conn.ts";
export { listenTls, type TlsListenOptions } from "./tls/listen.ts";
export {
  type CertifiedKey,
  checkKeyPair,
  type KeyPair,
  loadKeyPair,
  loadTrust,
  type TrustOptions,
} from "./tls/pem.ts";
export { handshakeFailure, handshakeTimeout, type Side } from "./tls/explain.ts";
export { alertDetail } from "./tls/alert.ts";
export { startTlsFailure, startTlsRefusal } from "./tls/start_tls.ts";
export type { HandshakeReason } from "./tls/reasons.ts";
export { encodeFrame, type FrameDecoder, type FrameEncoder } from "./framing/codec.ts";
export { FrameError } from "./framing/frame_error.ts";
export { LengthPrefixedCodec, type LengthPrefixedConfig } from "./framing/length_prefixed.ts";
export { LengthPrefixedDecoder } from "./framing/length_prefixed_decoder.ts";
export { DelimitedCodec, type DelimitedOptions } from "./framing/delimited.ts";
export { DelimitedDecoder } from "./framing/delimited_decoder.ts";
export { type FramePoll, SocketFrameReader } from "./framing/socket_frame_reader.ts";
export { enqueueFrame, QueuedFrame, tryWriteFrame } from "./framing/socket_frame_writer.ts";

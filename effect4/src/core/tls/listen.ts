// A TLS listener: a TCP listener whose connections are TlsSockets doing the
// server side of the handshake, started at accept and bounded by a deadline.
// TCP is accepted with Deno.listen and TLS runs over it (see server_conn.ts:
// Deno.listenTls would keep the socket of a silent client open).
import { createSecureContext } from "node:tls";
import { format, inet } from "../address.ts";
import { classify } from "../classify.ts";
import { ExplainedError } from "../failure.ts";
import { StreamListener } from "../stream_listener.ts";
import { type CertifiedKey, checkKeyPair } from "./pem.ts";
import { TLS_LISTEN_REASONS, type TlsListenReason } from "./reasons.ts";
import { ServerTlsConn } from "./server_conn.ts";
import { TlsSocket } from "./tls_socket.ts";

const listenReasons: ReadonlySet<TlsListenReason> = new Set(TLS_LISTEN_REASONS);

/**
 * Where and how a TLS listener listens.
 *
 * @example
 * ```ts
 * import type { TlsListenOptions } from "@fibernet/socket/core";
 * declare const cert: string, key: string;
 * const options: TlsListenOptions = {
 *   hostname: "127.0.0.1",
 *   port: 8443,
 *   cert,
 *   key,
 *   handshakeTimeoutMs: 10_000,
 * };
 * ```
 */
export interface TlsListenOptions extends CertifiedKey {
  /** The address to bind. */
  readonly hostname: string;
  /** The port to bind (0: a free one). */
  readonly port: number;
  /** Pending-connection queue length. Default 511. */
  readonly backlog?: number;
  /** ALPN protocols accepted, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Each connection's handshake must be done this long after accept (ms). */
  readonly handshakeTimeoutMs: number;
}

/**
 * Binds a TLS listener. Each socket it accepts is a {@link TlsSocket} whose
 * handshake has started, with its deadline; its reads and writes wait for
 * it. Throws an {@link ExplainedError} (reasons `TLS_LISTEN_REASONS`) when
 * the key does not belong to the certificate or binding fails.
 *
 * @example
 * ```ts
 * import { CopyLoop, IoFailure, listenTls, PENDING } from "@fibernet/socket/core";
 *
 * declare const cert: string, key: string;
 * const listener = listenTls({ hostname: "127.0.0.1", port: 8443, cert, key, handshakeTimeoutMs: 10_000 });
 * const waiter = {
 *   onAcceptable() {
 *     const socket = listener.pollAccept(waiter);
 *     if (socket === PENDING || socket instanceof IoFailure) return;
 *     new CopyLoop(socket, socket, { onCopyEnd: () => socket.close() }).start(); // an echo
 *     waiter.onAcceptable();
 *   },
 * };
 * waiter.onAcceptable();
 * ```
 */
export const listenTls = (options: TlsListenOptions): StreamListener => {
  const { hostname, port, backlog, alpnProtocols, handshakeTimeoutMs } = options;
  const label = format(inet(hostname, port));
  checkKeyPair(options, label);
  let raw: Deno.TcpListener;
  try {
    raw = Deno.listen({
      hostname,
      port,
      transport: "tcp",
      ...(backlog !== undefined ? { tcpBacklog: backlog } : {}),
    });
  } catch (error) {
    throw new ExplainedError(classify(error, "listen", label, listenReasons));
  }
  const config = {
    context: createSecureContext({ cert: options.cert, key: options.key }),
    alpnProtocols,
  };
  const socketOptions = { side: "server", handshakeTimeoutMs, alpnProtocols } as const;
  return new StreamListener(raw, (conn) => {
    const socket = new TlsSocket(new ServerTlsConn(conn as Deno.TcpConn, config), socketOptions);
    // From accept: a client that never finishes it is cut off whatever its handler does.
    socket.handshake();
    return socket;
  });
};

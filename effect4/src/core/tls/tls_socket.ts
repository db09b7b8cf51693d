// A StreamSocket over a TLS connection, with the handshake as a step of its
// own: done once, within a deadline, its failure explained. A server's
// connection starts it at accept, so a client that never finishes it is cut
// off (and its descriptor released) at the deadline, whatever the handler
// does; a client's is done before the socket is handed out.
import { ExplainedError } from "../failure.ts";
import {
  IoFailure,
  StreamSocket,
  type StreamSocketOptions,
  type WRITTEN,
} from "../stream_socket.ts";
import { handshakeFailure, handshakeTimeout, type Side } from "./explain.ts";
import { ServerTlsConn } from "./server_conn.ts";

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What the handshake settled.
 *
 * @example
 * ```ts
 * import type { HandshakeInfo } from "@fibernet/socket/core";
 * const isH2 = (info: HandshakeInfo): boolean => info.alpnProtocol === "h2";
 * ```
 */
export interface HandshakeInfo {
  /** The ALPN protocol both sides agreed on, or `null` when none was negotiated. */
  readonly alpnProtocol: string | null;
}

/**
 * How a TLS socket does its handshake.
 *
 * @example
 * ```ts
 * import type { TlsSocketOptions } from "@fibernet/socket/core";
 * const options: TlsSocketOptions = { side: "client", handshakeTimeoutMs: 10_000, alpnProtocols: ["h2"] };
 * ```
 */
export interface TlsSocketOptions extends StreamSocketOptions {
  /** Which end of the handshake this side is (for messages). */
  readonly side: Side;
  /** The handshake fails with `TimedOut` if not done this long after it starts (ms). */
  readonly handshakeTimeoutMs: number;
  /** ALPN protocols this side offers or accepts (for messages). */
  readonly alpnProtocols?: ReadonlyArray<string>;
}

/**
 * A StreamSocket over a TLS connection: a Deno.TlsConn of a client, or a
 * {@link ServerTlsConn}. {@link handshake} completes the handshake within
 * the deadline; a failure is an {@link ExplainedError} that says what to fix,
 * and reads and writes waiting on a server's connection fail with it.
 * Everything else (reads, writes, copy loops, serve loops) is StreamSocket's.
 *
 * @example
 * ```ts
 * import { TlsSocket } from "@fibernet/socket/core";
 *
 * const raw = await Deno.connectTls({ hostname: "example.com", port: 443 });
 * const socket = new TlsSocket(raw, { side: "client", handshakeTimeoutMs: 10_000 });
 * const info = await socket.handshake(); // rejects with an ExplainedError
 * console.log(info.alpnProtocol);
 * socket.close();
 * ```
 */
export class TlsSocket extends StreamSocket {
  /** The TLS connection: a client's Deno.TlsConn, or a server's ServerTlsConn. */
  declare readonly raw: Deno.TlsConn;
  private info: HandshakeInfo | undefined = undefined;
  private failure: ExplainedError | undefined = undefined;
  private pending: Promise<HandshakeInfo> | undefined = undefined;
  private aborted = false;
  /** When the handshake started (ms since the epoch), once it has. */
  handshakeStartedAt: number | undefined = undefined;
  /** How long the handshake took to succeed or fail (ms), once it has settled. */
  handshakeDurationMs: number | undefined = undefined;

  /** Wraps an open TLS connection; the socket owns it from now on. */
  constructor(raw: Deno.TlsConn, private readonly tlsOptions: TlsSocketOptions) {
    super(raw, tlsOptions);
  }

  /** What the handshake settled, once it has. */
  get handshakeInfo(): HandshakeInfo | undefined {
    return this.info;
  }

  /** Why the handshake failed, if it has. */
  get handshakeFailure(): ExplainedError | undefined {
    return this.failure;
  }

  /**
   * Completes the handshake, once: resolves with what it settled, or rejects
   * with an ExplainedError (reasons `HANDSHAKE_REASONS`). The deadline runs
   * from the first call. A failure ends the connection.
   */
  handshake(): Promise<HandshakeInfo> {
    return this.pending ??= this.runHandshake();
  }

  /** The handshake raced against its deadline; a failure ends the connection. */
  private runHandshake(): Promise<HandshakeInfo> {
    const { side, handshakeTimeoutMs, alpnProtocols } = this.tlsOptions;
    const started = this.handshakeStartedAt = Date.now();
    const pending = new Promise<HandshakeInfo>((resolve, reject) => {
      let settled = false;
      const fail = (error: ExplainedError) => {
        if (settled) return;
        settled = true;
        this.handshakeDurationMs = Date.now() - started;
        clearTimeout(timer);
        this.failure = error;
        this.failConnection(error);
        reject(error);
      };
      // No deadline past what a timer can wait (Infinity, or about 24.8 days).
      const timer = handshakeTimeoutMs <= MAX_TIMER_MS
        ? setTimeout(
          () => fail(new ExplainedError(handshakeTimeout(side, this.label, handshakeTimeoutMs))),
          handshakeTimeoutMs,
        )
        : undefined;
      if (timer !== undefined) Deno.unrefTimer(timer);
      this.raw.handshake().then(
        (info) => {
          if (settled) return;
          settled = true;
          this.handshakeDurationMs = Date.now() - started;
          clearTimeout(timer);
          this.info = { alpnProtocol: info.alpnProtocol };
          resolve(this.info);
        },
        (error) =>
          fail(new ExplainedError(handshakeFailure(error, side, this.label, alpnProtocols))),
      );
    });
    pending.catch(() => {});
    return pending;
  }

  /**
   * A write before the handshake is done waits its turn (the handshake's
   * outcome is the write's), rather than being handed over as written.
   */
  override tryWrite(bytes: Uint8Array, owned: boolean): typeof WRITTEN | IoFailure | undefined {
    if (this.info !== undefined) return super.tryWrite(bytes, owned);
    if (this.failure !== undefined) return new IoFailure(this.failure, false);
    return undefined;
  }

  /** Half-close, after the handshake (whose failure it reports). */
  override async closeWrite(): Promise<void> {
    if (this.info === undefined) await this.handshake();
    return super.closeWrite();
  }

  /** After a failed handshake nothing more can go over the connection. */
  private failConnection(error: ExplainedError): void {
    const raw = this.raw;
    // The server's TCP connection closes now; waiting reads and writes report `error`.
    if (raw instanceof ServerTlsConn) return raw.fail(error);
    // rustls has sent its alert. (Deno keeps the descriptor of a Deno.TlsConn
    // whose handshake is pending until the peer sends or leaves.)
    this.abort();
  }

  /** Closes at once: no close_notify, no waiting for a write in flight. */
  override abort(): void {
    this.aborted = true;
    super.abort();
    // A close already under way stops waiting for its close_notify.
    if (this.raw instanceof ServerTlsConn) this.raw.abort();
  }

  /** A server's connection sends close_notify before its TCP connection closes. */
  protected override closeConnection(released: () => void): void {
    const raw = this.raw;
    if (!(raw instanceof ServerTlsConn)) return super.closeConnection(released);
    if (this.aborted) raw.abort();
    else raw.close();
    raw.released.then(released);
  }
}

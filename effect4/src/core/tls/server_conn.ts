// The server side of a TLS connection over an accepted TCP connection, made
// with node:tls (rustls inside Deno) rather than Deno.listenTls.
//
// Why: Deno keeps the socket of a server-side TLS connection whose handshake
// is pending open after close() until the peer sends or leaves, so a client
// that never finishes its handshake pins a descriptor for as long as it
// likes, whatever the server's deadline. Here the TCP connection is ours:
// a failed or timed-out handshake, or a close, releases it at once.
//
// It is a `Deno.TlsConn`, so a StreamSocket drives it like any connection.
import type { SecureContext } from "node:tls";
import { TLSSocket } from "node:tls";
import { Ciphertext } from "./ciphertext.ts";

/**
 * The fatal alert no_application_protocol (120) as a plaintext TLS record.
 * node:tls ends a handshake with no ALPN protocol in common without telling
 * the client why; rustls (Deno.listenTls) sends this, and clients say so.
 */
const NO_ALPN_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x78]);
/** How long a close waits for its close_notify (or alert) to reach TCP. */
const CLOSE_WAIT_MS = 1000;

/**
 * What every connection of a TLS server shares.
 *
 * @example
 * ```ts
 * import { createSecureContext } from "node:tls";
 * import type { ServerTlsConfig } from "@fibernet/socket/core";
 * declare const cert: string, key: string;
 * const config: ServerTlsConfig = { context: createSecureContext({ cert, key }), alpnProtocols: ["h2"] };
 * ```
 */
export interface ServerTlsConfig {
  /** The certificate and key (`tls.createSecureContext`). */
  readonly context: SecureContext;
  /** ALPN protocols accepted, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
}

interface WaitingRead {
  readonly target: Uint8Array;
  readonly resolve: (n: number | null) => void;
  readonly reject: (error: Error) => void;
}

/** node's errors as Deno's, so one classification serves both kinds of TLS connection. */
const asDenoError = (error: unknown): Error => {
  for (const kind of Object.values(Deno.errors)) if (error instanceof kind) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new Deno.errors.ConnectionReset(message, { cause: error });
  }
  if (typeof code === "string" && code.startsWith("ERR_SSL")) {
    return new Deno.errors.InvalidData(message, { cause: error });
  }
  return error instanceof Error ? error : new Error(message);
};

/**
 * The server side of a TLS connection over an accepted TCP connection. The
 * handshake starts at once; reads and writes wait for it. {@link fail} ends
 * it with an error of the caller's choosing (and releases the descriptor);
 * {@link released} says when the descriptor is gone.
 *
 * @example
 * ```ts
 * import { createSecureContext } from "node:tls";
 * import { ServerTlsConn } from "@fibernet/socket/core";
 *
 * declare const cert: string, key: string;
 * const context = createSecureContext({ cert, key });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 8443 });
 * const conn = new ServerTlsConn(await listener.accept() as Deno.TcpConn, { context });
 * const timer = setTimeout(() => conn.fail(new Error("no handshake in 10 s")), 10_000);
 * console.log(await conn.handshake());
 * clearTimeout(timer);
 * ```
 */
export class ServerTlsConn implements Deno.TlsConn {
  /** This side's address. */
  readonly localAddr: Deno.NetAddr;
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** Resolves once the TCP connection is closed (after `close`, `abort` or `fail`). */
  readonly released: Promise<void>;
  private release!: () => void;
  private readonly handshakeDone: Promise<Deno.TlsHandshakeInfo>;
  private settleHandshake!: {
    resolve: (info: Deno.TlsHandshakeInfo) => void;
    reject: (error: Error) => void;
  };
  private readonly cipher: Ciphertext;
  private tls: TLSSocket | undefined = undefined;
  private info: Deno.TlsHandshakeInfo | undefined = undefined;
  /** Why the connection failed: every read and write from now on rejects with it. */
  private failure: Error | undefined = undefined;
  private reader: WaitingRead | undefined = undefined;
  /** Plaintext taken from node:tls and not yet returned. */
  private leftover: Uint8Array | undefined = undefined;
  private ended = false;
  private readonly writers = new Set<(error: Error) => void>();
  private writeShut = false;
  private closing = false;
  private tcpClosed = false;
  /** A record to send before closing TCP (an alert node:tls does not send). */
  private alert: Uint8Array | undefined = undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readableStream: ReadableStream<Uint8Array<ArrayBuffer>> | undefined = undefined;
  private writableStream: WritableStream<Uint8Array> | undefined = undefined;

  /** Starts the server side of a handshake on `tcp`, which it owns from now on. */
  constructor(private readonly tcp: Deno.TcpConn, config: ServerTlsConfig) {
    this.localAddr = tcp.localAddr;
    this.remoteAddr = tcp.remoteAddr;
    this.released = new Promise((resolve) => (this.release = resolve));
    this.handshakeDone = new Promise((resolve, reject) => {
      this.settleHandshake = { resolve, reject };
    });
    this.handshakeDone.catch(() => {});
    // Read TCP while handshaking, then only while a read of plaintext waits.
    this.cipher = new Ciphertext(
      tcp,
      () => this.info === undefined || this.reader !== undefined,
      this.onCipherEnd,
    );
    // Failures reach us through node:tls, or through onCipherEnd.
    this.cipher.on("error", () => {});
    try {
      const tls = new TLSSocket(this.cipher as never, {
        isServer: true,
        secureContext: config.context,
        ...(config.alpnProtocols !== undefined ? { ALPNProtocols: [...config.alpnProtocols] } : {}),
      });
      tls.on("secure", this.onSecure);
      tls.on("readable", this.serveRead);
      tls.on("end", this.onEnd);
      tls.on("error", this.onError);
      this.tls = tls;
    } catch (error) {
      this.onError(error);
    }
  }

  // ---------------------------------------------------------------------------
  // Handshake

  /** Resolves once the handshake is done; rejects if it fails (node's error, as Deno's). */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.handshakeDone;
  }

  private readonly onSecure = (): void => {
    const protocol = this.tls?.alpnProtocol;
    this.info = { alpnProtocol: typeof protocol === "string" ? protocol : null };
    this.settleHandshake.resolve(this.info);
  };

  /** TCP ended (null) or failed before node:tls said anything: during a handshake, that fails it. */
  private readonly onCipherEnd = (error: unknown): void => {
    if (this.info !== undefined || this.closing) return;
    this.onError(
      error ??
        new Deno.errors.UnexpectedEof("the peer closed the connection during the TLS handshake"),
    );
  };

  private readonly onError = (raw: unknown): void => {
    if (this.closing || this.failure !== undefined) return;
    const error = asDenoError(raw);
    if (this.info !== undefined) return this.fail(error);
    if ((raw as { code?: unknown } | null)?.code === "ERR_SSL_NO_APPLICATION_PROTOCOL") {
      this.alert = NO_ALPN_ALERT;
    }
    this.settleHandshake.reject(error);
    // Whoever waits for the handshake fails the connection with an error that
    // explains it (TlsSocket, in a promise callback, so first); else this does.
    setTimeout(() => this.fail(error), 0);
  };

  // ---------------------------------------------------------------------------
  // Reading

  /** Reads plaintext into `p`: the count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    if (this.reader !== undefined) {
      return Promise.reject(new Deno.errors.Busy("a read is already waiting"));
    }
    const n = this.take(p);
    if (n !== undefined) return Promise.resolve(n);
    return new Promise((resolve, reject) => {
      this.reader = { target: p, resolve, reject };
      this.cipher.pump();
    });
  }

  /** What is ready for `p`: a count, null at end of stream, or undefined when nothing is. */
  private take(p: Uint8Array): number | null | undefined {
    if (p.length === 0) return 0;
    let chunk = this.leftover;
    if (chunk === undefined) {
      const next = this.tls?.read() as Uint8Array | null | undefined;
      if (next === null || next === undefined) return this.ended ? null : undefined;
      chunk = next;
    }
    if (chunk.length > p.length) {
      p.set(chunk.subarray(0, p.length));
      this.leftover = chunk.subarray(p.length);
      return p.length;
    }
    p.set(chunk);
    this.leftover = undefined;
    return chunk.length;
  }

  /** Plaintext (or its end) arrived: complete the waiting read. */
  private readonly serveRead = (): void => {
    const reader = this.reader;
    if (reader === undefined) return;
    const n = this.take(reader.target);
    if (n === undefined) return;
    this.reader = undefined;
    reader.resolve(n);
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.serveRead();
  };

  // ---------------------------------------------------------------------------
  // Writing

  /** Writes all of `p` (encrypted); resolves with its length once TCP has it. */
  write(p: Uint8Array): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const tls = this.tls;
    if (this.closing || tls === undefined) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    if (this.writeShut) {
      return Promise.reject(new Deno.errors.BrokenPipe("this side's writing was closed"));
    }
    if (p.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.writers.add(reject);
      tls.write(p, (error) => {
        // Already settled by fail or close.
        if (!this.writers.delete(reject)) return;
        if (error) reject(this.failure ?? asDenoError(error));
        else resolve(p.length);
      });
    });
  }

  /** Sends close_notify: the peer reads end of stream; this side can still read. */
  closeWrite(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const tls = this.tls;
    if (this.closing || tls === undefined) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    this.writeShut = true;
    return new Promise((resolve) => tls.end(() => resolve()));
  }

  // ---------------------------------------------------------------------------
  // Closing

  /**
   * Ends the connection with `error`: waiting and later reads and writes
   * reject with it, and the TCP connection is closed now. For a failed or
   * timed-out handshake, with the error that explains it.
   */
  fail(error: Error): void {
    if (this.failure !== undefined || this.closing) return;
    this.failure = error;
    this.settleHandshake.reject(error);
    this.rejectWaiting(error);
    this.closeTcp();
  }

  /** Closes: after a completed handshake, close_notify goes out first (for at most 1 s). */
  close(): void {
    this.shut(true);
  }

  /** Closes at once, without close_notify. */
  abort(): void {
    this.shut(false);
  }

  /** Closes once; `graceful`: close_notify first when the handshake was done. */
  private shut(graceful: boolean): void {
    if (this.closing) {
      if (!graceful) this.closeTcp();
      return;
    }
    this.closing = true;
    const closed = new Deno.errors.Interrupted("the connection was closed");
    this.settleHandshake.reject(closed);
    this.rejectWaiting(closed);
    const tls = this.tls;
    if (!graceful || tls === undefined || this.info === undefined || this.failure !== undefined) {
      return this.closeTcp();
    }
    this.closeTimer = setTimeout(() => this.closeTcp(), CLOSE_WAIT_MS);
    Deno.unrefTimer(this.closeTimer);
    if (tls.destroyed) return this.closeTcp();
    // node:tls hands close_notify to the ciphertext stream just after `end` finishes.
    const flush = () => setTimeout(() => this.cipher.whenIdle().then(() => this.closeTcp()), 0);
    if (tls.writableEnded) flush(); // closeWrite sent it already
    else tls.end(flush);
  }

  /** The waiting read and writes fail with `error`. */
  private rejectWaiting(error: Error): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.reject(error);
    const writers = [...this.writers];
    this.writers.clear();
    for (const reject of writers) reject(error);
  }

  /** Closes the TCP connection, once (after sending a pending alert). */
  private closeTcp(): void {
    if (this.tcpClosed) return;
    this.tcpClosed = true;
    clearTimeout(this.closeTimer);
    this.tls?.destroy();
    this.cipher.destroy();
    const alert = this.alert;
    if (alert === undefined) return this.releaseTcp();
    const timer = setTimeout(() => this.releaseTcp(), CLOSE_WAIT_MS);
    Deno.unrefTimer(timer);
    this.tcp.write(alert).catch(() => {}).finally(() => {
      clearTimeout(timer);
      this.releaseTcp();
    });
  }

  /** Closes the TCP connection: its descriptor is gone. */
  private releaseTcp(): void {
    try {
      this.tcp.close();
    } catch {
      // closed already
    }
    this.release();
  }

  /** The same as `close` (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---------------------------------------------------------------------------
  // The rest of Deno.TcpConn / Deno.TlsConn

  /** Sets TCP_NODELAY on the TCP connection. */
  setNoDelay(noDelay?: boolean): void {
    this.tcp.setNoDelay(noDelay);
  }

  /** Turns TCP keep-alive on or off on the TCP connection. */
  setKeepAlive(keepAlive?: boolean): void {
    this.tcp.setKeepAlive(keepAlive);
  }

  /** A pending read keeps the program alive (the default). */
  ref(): void {
    this.tcp.ref();
  }

  /** A pending read does not keep the program alive. */
  unref(): void {
    this.tcp.unref();
  }

  /** The plaintext as a ReadableStream (made on first use). */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.readableStream ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buffer = new Uint8Array(16 * 1024);
        const n = await this.read(buffer);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
      cancel: () => this.close(),
    });
  }

  /** Plaintext to send, as a WritableStream (made on first use). */
  get writable(): WritableStream<Uint8Array> {
    return this.writableStream ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }
}

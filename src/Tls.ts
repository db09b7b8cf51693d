/**
 * TLS over TCP: {@link connect}, {@link listen} (and {@link layer} for
 * `Server.serveForever`), and client-side STARTTLS with {@link startTls}.
 * A TLS connection is a `Connection.Connection` like any other, so framing,
 * file transfer and servers work over it unchanged.
 *
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tls.connect("localhost:8443", {
 *     caFiles: ["./ca.pem"], // trust a private CA (or a self-signed certificate)
 *     alpnProtocols: ["echo/1"],
 *   });
 *   const { alpnProtocol } = yield* conn.handshake; // already done: connect waits for it
 *   yield* conn.write("hello");
 *   const reply = yield* conn.read();
 *   if (Option.isSome(reply)) console.log(alpnProtocol, new TextDecoder().decode(reply.value));
 * }).pipe(Effect.scoped);
 * ```
 *
 * **Handshakes.** `connect` and `startTls` complete the handshake before
 * returning, within `handshakeTimeout` (default 10 seconds), so a bad
 * certificate is a `connect` error, not a surprise on the first read. A
 * failed handshake is `InvalidData` with a message that says what to fix:
 * unknown issuer (add the CA to `caCerts`), host name mismatch, no ALPN
 * protocol in common, or a peer that does not speak TLS. A silent peer is
 * `TimedOut`. On the server side each accepted connection does its handshake
 * on its first read or write, in its own handler fiber and within the same
 * timeout, so a client that fails the handshake (or never sends one) only
 * ends its own handler: the server keeps serving.
 *
 * **What Deno 2.9 cannot do.** A server cannot request or verify client
 * certificates (clients can present one: `cert`/`key` on `connect`), there is
 * no server-side STARTTLS, `startTls` cannot present a client certificate,
 * the SNI name is always the host connected to, and TLS connections have no
 * `setNoDelay` (a no-op here).
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import * as Sink from "effect/Sink";
import * as Stream from "effect/Stream";
import * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import {
  type ConnectReason as TcpConnectReason,
  fromUnknown,
  type ListenReason as TcpListenReason,
  type ReadReason,
  SocketError,
  type WriteReason,
} from "./SocketError.ts";
import { hostPort } from "./internal/address.ts";
import { StreamListener } from "./core/stream_listener.ts";
import { StreamSocket } from "./core/stream_socket.ts";
import { connectWith } from "./internal/open.ts";
import { listenReasons, writeReasons } from "./internal/reasons.ts";
import { acquireInterruptible } from "./internal/scoped.ts";

const DEFAULT_HANDSHAKE_TIMEOUT = Duration.seconds(10);

/**
 * Reasons a TLS handshake can fail with: `InvalidData` for a certificate or
 * protocol problem, `TimedOut` when the peer never completes it.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.HandshakeReason = "InvalidData";
 * ```
 */
export type HandshakeReason = "InvalidData" | "TimedOut" | "Closed" | "ConnectionReset" | "Unknown";

/**
 * Reasons {@link connect} can fail with: those of `Tcp.connect`, plus
 * `InvalidData` for a failed handshake or unusable PEM text.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.ConnectReason = "InvalidData";
 * ```
 */
export type ConnectReason = TcpConnectReason | HandshakeReason;

/**
 * Reasons {@link listen} can fail with: those of `Tcp.listen`, plus
 * `InvalidData` for a certificate or key that cannot be used.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.ListenReason = "InvalidData";
 * ```
 */
export type ListenReason = TcpListenReason | "InvalidData";

/**
 * Reasons {@link startTls} can fail with: a handshake failure, a CA file
 * that cannot be read, or a connection that cannot be upgraded
 * (`Unsupported`: not TCP, or already TLS).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const r: Tls.StartTlsReason = "Unsupported";
 * ```
 */
export type StartTlsReason =
  | HandshakeReason
  | "Unsupported"
  | "NotFound"
  | "PermissionDenied"
  | "NotCapable";

const handshakeReasons: ReadonlySet<HandshakeReason> = new Set<HandshakeReason>([
  "InvalidData",
  "TimedOut",
  "Closed",
  "ConnectionReset",
  "Unknown",
]);
const tlsListenReasons: ReadonlySet<ListenReason> = new Set<ListenReason>([
  ...listenReasons,
  "InvalidData",
]);

/**
 * What the handshake settled.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const isH2 = (info: Tls.HandshakeInfo): boolean => info.alpnProtocol === "h2";
 * ```
 */
export interface HandshakeInfo {
  /** The ALPN protocol both sides agreed on, or `null` when none was negotiated. */
  readonly alpnProtocol: string | null;
}

/**
 * A TLS connection: a `Connection.Connection` plus its handshake.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import type { Tls } from "@fibernet/socket";
 * const protocol = (conn: Tls.TlsConnection) =>
 *   Effect.map(conn.handshake, (info) => info.alpnProtocol ?? "none");
 * ```
 */
export interface TlsConnection extends Connection.Connection {
  /**
   * Completes the handshake if it has not happened yet (within the
   * handshake timeout) and tells what it settled. Reads and writes do this
   * by themselves; a failed handshake closes the connection.
   */
  readonly handshake: Effect.Effect<HandshakeInfo, SocketError<HandshakeReason>>;
  /** The underlying Deno TLS connection. */
  readonly raw: Deno.TlsConn;
}

/**
 * Trusted certificate authorities, added to the system's roots: PEM text in
 * `caCerts`, files of PEM text in `caFiles`. A self-signed certificate can be
 * its own CA when it is not marked as a CA (`basicConstraints=CA:FALSE`).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const trust: Tls.TrustOptions = { caFiles: ["/etc/myapp/ca.pem"] };
 * ```
 */
export interface TrustOptions {
  /** CA certificates as PEM text. */
  readonly caCerts?: ReadonlyArray<string>;
  /** Paths of PEM files holding CA certificates (needs `--allow-read`). */
  readonly caFiles?: ReadonlyArray<string>;
}

/**
 * A certificate chain and its private key, each as PEM text or as a path of
 * a PEM file (reading a file needs `--allow-read`).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const identity: Tls.KeyPair = { certFile: "./cert.pem", keyFile: "./key.pem" };
 * ```
 */
export interface KeyPair {
  /** The certificate chain as PEM text, leaf first. */
  readonly cert?: string;
  /** A path of the certificate chain's PEM file. */
  readonly certFile?: string;
  /** The private key as PEM text (PKCS#8, RSA or EC). */
  readonly key?: string;
  /** A path of the private key's PEM file. */
  readonly keyFile?: string;
}

/**
 * Options for {@link connect}. `cert`/`key` (or the `…File` forms) present a
 * client certificate, for servers that require one (mutual TLS).
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.ConnectOptions = {
 *   caFiles: ["./ca.pem"],
 *   alpnProtocols: ["h2", "http/1.1"],
 *   timeout: "5 seconds",
 * };
 * ```
 */
export interface ConnectOptions extends TrustOptions, KeyPair {
  /** ALPN protocols to offer, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Give up (with `TimedOut`) if the TCP connection is not made within this time. */
  readonly timeout?: Duration.DurationInput;
  /** Give up (with `TimedOut`) if the handshake takes longer. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.DurationInput;
}

/**
 * Options for {@link listen}: the server's certificate and key are required.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.ListenOptions = {
 *   certFile: "./cert.pem",
 *   keyFile: "./key.pem",
 *   alpnProtocols: ["echo/1"],
 * };
 * ```
 */
export interface ListenOptions extends KeyPair {
  /** ALPN protocols the server accepts, most preferred first. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Pending-connection queue length (Python's `listen(backlog)`). Default 511. */
  readonly backlog?: number;
  /**
   * How long each accepted connection may take to complete its handshake
   * (counted from its first read or write). Default 10 seconds.
   */
  readonly handshakeTimeout?: Duration.DurationInput;
}

/**
 * Options for {@link startTls}.
 *
 * @example
 * ```ts
 * import type { Tls } from "@fibernet/socket";
 * const options: Tls.StartTlsOptions = { hostname: "mail.example.com" };
 * ```
 */
export interface StartTlsOptions extends TrustOptions {
  /** The name the server's certificate must match. Default: the connected IP address. */
  readonly hostname?: string;
  /** ALPN protocols to offer. */
  readonly alpnProtocols?: ReadonlyArray<string>;
  /** Give up (with `TimedOut`) if the handshake takes longer. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.DurationInput;
}

// ---------------------------------------------------------------------------
// PEM loading

type LoadReason = "InvalidData" | "NotFound" | "PermissionDenied" | "NotCapable" | "Unknown";
const loadReasons: ReadonlySet<LoadReason> = new Set<LoadReason>([
  "InvalidData",
  "NotFound",
  "PermissionDenied",
  "NotCapable",
  "Unknown",
]);

type Op = "connect" | "listen" | "handshake";

const invalid = (operation: Op, address: string | undefined, detail: string) =>
  new SocketError<"InvalidData">({ reason: "InvalidData", operation, address, detail });

const readPem = (
  path: string,
  operation: Op,
  what: string,
): Effect.Effect<string, SocketError<LoadReason>> =>
  Effect.tryPromise({
    try: () => Deno.readTextFile(path),
    catch: (error): SocketError<LoadReason> => {
      if (error instanceof Deno.errors.NotCapable) {
        return new SocketError({
          reason: "NotCapable",
          operation,
          address: path,
          detail: `reading the ${what} needs --allow-read=${path}`,
          cause: error,
        });
      }
      const e = fromUnknown(error, operation, path, loadReasons);
      return new SocketError({
        reason: e.reason,
        operation,
        address: path,
        detail: `cannot read the ${what} file: ${
          error instanceof Error ? error.message : String(error)
        }`,
        cause: error,
      });
    },
  });

const CERT_MARK = "-----BEGIN CERTIFICATE-----";
const KEY_MARK = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

const loadTrust = (
  options: TrustOptions | undefined,
  operation: Op,
): Effect.Effect<Array<string> | undefined, SocketError<LoadReason>> => {
  const inline = options?.caCerts ?? [];
  const files = options?.caFiles ?? [];
  if (inline.length === 0 && files.length === 0) return Effect.succeed(undefined);
  return Effect.flatMap(
    Effect.forEach(files, (path) =>
      Effect.flatMap(
        readPem(path, operation, "CA certificate"),
        (text) =>
          text.includes(CERT_MARK)
            ? Effect.succeed(text)
            : Effect.fail(invalid(operation, path, "no PEM certificate in this CA file")),
      )),
    (fromFiles) => {
      const bad = inline.findIndex((text) => !text.includes(CERT_MARK));
      if (bad >= 0) {
        return Effect.fail(
          invalid(operation, undefined, `caCerts[${bad}] is not a PEM certificate (${CERT_MARK})`),
        );
      }
      return Effect.succeed([...inline, ...fromFiles]);
    },
  );
};

/** Loads a key pair; `undefined` when neither half is given and `required` is false. */
const loadKeyPair = (
  pair: KeyPair | undefined,
  operation: Op,
  required: boolean,
): Effect.Effect<{ cert: string; key: string } | undefined, SocketError<LoadReason>> => {
  const hasCert = pair?.cert !== undefined || pair?.certFile !== undefined;
  const hasKey = pair?.key !== undefined || pair?.keyFile !== undefined;
  const who = operation === "listen" ? "a TLS server" : "a client certificate";
  if (!hasCert && !hasKey) {
    return required
      ? Effect.fail(
        invalid(
          operation,
          undefined,
          `${who} needs cert (PEM text) or certFile, and key or keyFile`,
        ),
      )
      : Effect.succeed(undefined);
  }
  if (!hasCert || !hasKey) {
    return Effect.fail(
      invalid(operation, undefined, `${who} needs both a certificate and its private key`),
    );
  }
  if (pair!.cert !== undefined && pair!.certFile !== undefined) {
    return Effect.fail(invalid(operation, undefined, "give cert or certFile, not both"));
  }
  if (pair!.key !== undefined && pair!.keyFile !== undefined) {
    return Effect.fail(invalid(operation, undefined, "give key or keyFile, not both"));
  }
  const cert = pair!.cert !== undefined
    ? Effect.succeed(pair!.cert)
    : readPem(pair!.certFile!, operation, "certificate");
  const key = pair!.key !== undefined
    ? Effect.succeed(pair!.key)
    : readPem(pair!.keyFile!, operation, "private key");
  return Effect.flatMap(Effect.zip(cert, key), ([certText, keyText]) => {
    if (!certText.includes(CERT_MARK)) {
      return Effect.fail(
        invalid(operation, pair!.certFile, `the certificate is not PEM text (${CERT_MARK})`),
      );
    }
    if (!KEY_MARK.test(keyText)) {
      return Effect.fail(
        invalid(
          operation,
          pair!.keyFile,
          "the private key is not PEM text (-----BEGIN PRIVATE KEY-----)",
        ),
      );
    }
    return Effect.succeed({ cert: certText, key: keyText });
  });
};

// ---------------------------------------------------------------------------
// Handshake errors

const describeFailure = (message: string, side: "client" | "server", offered: string): string => {
  if (/UnknownIssuer/i.test(message)) {
    return `the peer's certificate is signed by an unknown issuer; trust its CA (or the self-signed certificate itself) with caCerts or caFiles [${message}]`;
  }
  if (/not valid for name|NotValidForName/i.test(message)) {
    return `the server's certificate does not match the host name connected to [${message}]`;
  }
  if (/Expired/i.test(message)) {
    return `the certificate has expired or is not yet valid [${message}]`;
  }
  if (/NoApplicationProtocol|doesn't support any known protocol/i.test(message)) {
    return `no ALPN protocol in common${
      offered ? ` (this side offers ${offered})` : ""
    } [${message}]`;
  }
  if (
    /corrupt message|InvalidContentType|InvalidMessage|HandshakePayloadTooLarge|got ClientHello/i
      .test(message)
  ) {
    return `the peer does not speak TLS (a plain TCP ${
      side === "client" ? "server" : "client"
    }?) [${message}]`;
  }
  if (side === "server" && /alert: (UnknownCA|BadCertificate|CertificateUnknown)/i.test(message)) {
    return `the client does not trust this server's certificate [${message}]`;
  }
  if (/CaUsedAsEndEntity/i.test(message)) {
    return `the certificate is a CA certificate used as a server certificate; create it with basicConstraints=critical,CA:FALSE [${message}]`;
  }
  return message;
};

const handshakeError = (
  error: unknown,
  side: "client" | "server",
  label: string,
  offered: string,
): SocketError<HandshakeReason> => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.InvalidData) {
    return new SocketError({
      reason: "InvalidData",
      operation: "handshake",
      address: label,
      detail: `TLS handshake failed: ${describeFailure(message, side, offered)}`,
      cause: error,
    });
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return new SocketError({
      reason: "InvalidData",
      operation: "handshake",
      address: label,
      detail: `the peer closed the connection during the TLS handshake (does it speak TLS?)`,
      cause: error,
    });
  }
  return fromUnknown(error, "handshake", label, handshakeReasons);
};

/**
 * With TLS 1.3 a client finishes its handshake before the server has checked
 * it, so a server's rejection (most often: a client certificate is required)
 * arrives as an alert on the first read. Say what it means.
 */
const explainAlert = <R extends ReadReason | "UnexpectedEof">(
  error: SocketError<R>,
): SocketError<R> => {
  if (error.reason !== "InvalidData" || error.detail !== undefined) return error;
  const message = error.cause instanceof Error ? error.cause.message : "";
  const alert = /received fatal alert: (\w+)/.exec(message);
  if (alert === null) return error;
  const detail = /CertificateRequired/.test(alert[1])
    ? "the server requires a client certificate: pass cert and key (or certFile and keyFile) to Tls.connect"
    : /BadCertificate|UnknownCA|UnsupportedCertificate|CertificateUnknown|AccessDenied/.test(
        alert[1],
      )
    ? "the server rejected this client's certificate"
    : "the peer ended the TLS session with an error";
  return new SocketError<R>({
    reason: error.reason,
    operation: error.operation,
    address: error.address,
    detail: `${detail} [${message}]`,
    cause: error.cause,
  });
};

// ---------------------------------------------------------------------------
// The connection

class TlsConnectionImpl implements TlsConnection {
  private readonly inner: Connection.Connection;
  private readonly label: string;
  private readonly timeoutMs: number;
  private info: HandshakeInfo | undefined = undefined;
  private failure: SocketError<HandshakeReason> | undefined = undefined;
  private pending: Promise<HandshakeInfo> | undefined = undefined;
  private startedAt: number | undefined = undefined;

  readonly read: Connection.Connection["read"] = (maxBytes) =>
    this.info !== undefined
      ? Effect.mapError(this.inner.read(maxBytes), explainAlert)
      : Effect.zipRight(
        this.handshakeFor("read"),
        Effect.mapError(this.inner.read(maxBytes), explainAlert),
      );
  readonly readBorrowed: Connection.Connection["readBorrowed"] = (maxBytes) =>
    this.info !== undefined
      ? Effect.mapError(this.inner.readBorrowed(maxBytes), explainAlert)
      : Effect.zipRight(
        this.handshakeFor("read"),
        Effect.mapError(this.inner.readBorrowed(maxBytes), explainAlert),
      );
  readonly readExactly: Connection.Connection["readExactly"] = (n) =>
    this.info !== undefined
      ? Effect.mapError(this.inner.readExactly(n), explainAlert)
      : Effect.zipRight(
        this.handshakeFor("read"),
        Effect.mapError(this.inner.readExactly(n), explainAlert),
      );
  readonly readText: Connection.Connection["readText"] = (maxBytes) =>
    this.info !== undefined
      ? Effect.mapError(this.inner.readText(maxBytes), explainAlert)
      : Effect.zipRight(
        this.handshakeFor("read"),
        Effect.mapError(this.inner.readText(maxBytes), explainAlert),
      );
  readonly write: Connection.Connection["write"] = (data) =>
    this.info !== undefined
      ? this.inner.write(data)
      : Effect.zipRight(this.handshakeFor("write"), this.inner.write(data));

  constructor(
    readonly raw: Deno.TlsConn,
    timeout: Duration.DurationInput,
    private readonly side: "client" | "server",
    private readonly offered: string,
    socket: StreamSocket = new StreamSocket(raw),
  ) {
    this.inner = Connection.fromSocket(socket);
    this.label = Address.format(this.inner.remoteAddress);
    this.timeoutMs = Duration.toMillis(timeout);
  }

  unsafeClose(): void {
    this.inner.unsafeClose();
  }
  get localAddress(): Address.Address {
    return this.inner.localAddress;
  }
  get remoteAddress(): Address.Address {
    return this.inner.remoteAddress;
  }
  get bytesRead(): number {
    return this.inner.bytesRead;
  }
  get bytesWritten(): number {
    return this.inner.bytesWritten;
  }
  get bufferedBytes(): number {
    return this.inner.bufferedBytes;
  }
  get unsentBytes(): number {
    return this.inner.unsentBytes;
  }
  get writeWaitingSince(): number | undefined {
    return this.inner.writeWaitingSince;
  }
  get readWaitingSince(): number | undefined {
    // A handshake in progress waits for the peer like a read does, so
    // servers' idle sweeps see it too.
    return this.info === undefined && this.startedAt !== undefined
      ? this.startedAt
      : this.inner.readWaitingSince;
  }

  get handshake(): Effect.Effect<HandshakeInfo, SocketError<HandshakeReason>> {
    return Effect.suspend(() => {
      if (this.info !== undefined) return Effect.succeed(this.info);
      if (this.failure !== undefined) return Effect.fail(this.failure);
      return Effect.async<HandshakeInfo, SocketError<HandshakeReason>>((resume) => {
        this.start().then(
          (info) => resume(Effect.succeed(info)),
          (error: SocketError<HandshakeReason>) => resume(Effect.fail(error)),
        );
      });
    });
  }

  /** The handshake as a precondition of a read or a write, with that operation's error type. */
  private handshakeFor(op: "read"): Effect.Effect<void, SocketError<ReadReason>>;
  private handshakeFor(op: "write"): Effect.Effect<void, SocketError<WriteReason>>;
  private handshakeFor(
    op: "read" | "write",
  ): Effect.Effect<void, SocketError<ReadReason | WriteReason>> {
    return Effect.mapError(Effect.asVoid(this.handshake), (error) => {
      if (op === "read" || writeReasons.has(error.reason as WriteReason)) return error;
      // A write's error type has no InvalidData: keep the explanation under Unknown.
      return new SocketError<WriteReason>({
        reason: "Unknown",
        operation: "handshake",
        address: error.address,
        detail: error.detail,
        cause: error.cause,
      });
    });
  }

  private start(): Promise<HandshakeInfo> {
    if (this.pending !== undefined) return this.pending;
    this.startedAt = Date.now();
    this.pending = new Promise<HandshakeInfo>((resolve, reject) => {
      let settled = false;
      const fail = (error: SocketError<HandshakeReason>) => {
        settled = true;
        clearTimeout(timer);
        this.failure = error;
        // rustls has already sent its alert; nothing more can go over this connection.
        Effect.runSync(this.inner.close);
        reject(error);
      };
      const timer = setTimeout(() => {
        if (settled) return;
        fail(
          new SocketError({
            reason: "TimedOut",
            operation: "handshake",
            address: this.label,
            detail: `no TLS handshake within ${this.timeoutMs} ms (is the peer a TLS ${
              this.side === "client" ? "server" : "client"
            }?)`,
          }),
        );
      }, this.timeoutMs);
      this.raw.handshake().then(
        (info) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.info = { alpnProtocol: info.alpnProtocol };
          this.startedAt = undefined;
          resolve(this.info);
        },
        (error) => {
          if (settled) return;
          fail(handshakeError(error, this.side, this.label, this.offered));
        },
      );
    });
    this.pending.catch(() => {});
    return this.pending;
  }

  get closeWrite(): Effect.Effect<void, SocketError<WriteReason>> {
    return this.info !== undefined
      ? this.inner.closeWrite
      : Effect.zipRight(this.handshakeFor("write"), this.inner.closeWrite);
  }

  get close(): Effect.Effect<void> {
    return this.inner.close;
  }

  get stream(): Stream.Stream<Uint8Array, SocketError<ReadReason>> {
    const stream = Stream.mapError(this.inner.stream, explainAlert);
    return this.info !== undefined
      ? stream
      : Stream.unwrap(Effect.as(this.handshakeFor("read"), stream));
  }

  get textStream(): Stream.Stream<string, SocketError<ReadReason>> {
    const stream = Stream.mapError(this.inner.textStream, explainAlert);
    return this.info !== undefined
      ? stream
      : Stream.unwrap(Effect.as(this.handshakeFor("read"), stream));
  }

  get sink(): Sink.Sink<void, Uint8Array | string, never, SocketError<WriteReason>> {
    return Sink.forEach((chunk: Uint8Array | string) => this.write(chunk));
  }

  setNoDelay(noDelay?: boolean): Effect.Effect<void, SocketError<"Closed" | "Unknown">> {
    return this.inner.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): Effect.Effect<void, SocketError<"Closed" | "Unknown">> {
    return this.inner.setKeepAlive(keepAlive);
  }
}

/**
 * True for a connection made by this module (`connect`, `listen`,
 * `startTls`), which has a {@link TlsConnection.handshake}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { type Connection, Tls } from "@fibernet/socket";
 *
 * const protocolOf = (conn: Connection.Connection) =>
 *   Tls.isTlsConnection(conn)
 *     ? Effect.map(conn.handshake, (info) => info.alpnProtocol)
 *     : Effect.succeed(null);
 * ```
 */
export const isTlsConnection = (connection: Connection.Connection): connection is TlsConnection =>
  connection instanceof TlsConnectionImpl;

const tcpAddress = (
  input: Address.Input,
  allowPortZero: boolean,
  operation: "connect" | "listen",
): Either.Either<Address.TcpAddress, SocketError<"InvalidAddress">> =>
  hostPort(input, {
    allowPortZero,
    operation,
    unixDetail: "TLS runs over TCP: the address is host:port",
  });

const offeredText = (alpn: ReadonlyArray<string> | undefined): string =>
  alpn === undefined || alpn.length === 0 ? "" : alpn.join(", ");

/** Acquires a TLS connection in the scope, then completes its handshake. */
const openAndHandshake = <E>(
  open: Effect.Effect<Deno.TlsConn, E>,
  timeout: Duration.DurationInput,
  alpn: ReadonlyArray<string> | undefined,
): Effect.Effect<TlsConnection, E | SocketError<HandshakeReason>, Scope.Scope> =>
  Effect.tap(
    acquireInterruptible(
      Effect.map(
        open,
        (raw): TlsConnection => new TlsConnectionImpl(raw, timeout, "client", offeredText(alpn)),
      ),
      (conn) => conn.close,
    ),
    (conn) => conn.handshake,
  );

/**
 * Opens a TLS connection and completes its handshake, closed when the scope
 * closes. Certificates are checked against the system's roots plus
 * `caCerts`/`caFiles`, and against the host name (or IP address) connected to.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tls } from "@fibernet/socket";
 *
 * const program = Tls.connect("example.com:443", { alpnProtocols: ["http/1.1"] }).pipe(
 *   Effect.flatMap((conn) => conn.write("HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n")),
 *   Effect.scoped,
 * );
 * ```
 */
export const connect = (
  address: Address.Input,
  options?: ConnectOptions,
): Effect.Effect<TlsConnection, SocketError<ConnectReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const parsed = tcpAddress(address, false, "connect");
    if (Either.isLeft(parsed)) return Effect.fail(parsed.left);
    const { hostname, port } = parsed.right;
    const label = Address.format(parsed.right);
    const alpn = options?.alpnProtocols;
    return Effect.flatMap(
      Effect.zip(loadTrust(options, "connect"), loadKeyPair(options, "connect", false)),
      ([caCerts, pair]) =>
        openAndHandshake(
          connectWith(
            label,
            () =>
              Deno.connectTls({
                hostname,
                port,
                ...(caCerts !== undefined ? { caCerts } : {}),
                ...(alpn !== undefined ? { alpnProtocols: [...alpn] } : {}),
                ...(pair ?? {}),
              }),
            options?.timeout,
          ),
          options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
          alpn,
        ),
    );
  });

/**
 * Binds a TLS listener, closed when the scope closes. Accepted connections
 * are {@link TlsConnection}s that complete their handshake on their first read
 * or write, so a client that fails it never holds up the accept loop.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* Tls.listen("127.0.0.1:0", {
 *     certFile: "./cert.pem",
 *     keyFile: "./key.pem",
 *   });
 *   yield* Effect.log(`TLS on ${Address.format(listener.address)}`);
 * }).pipe(Effect.scoped);
 * ```
 */
export const listen = (
  address: Address.Input,
  options: ListenOptions,
): Effect.Effect<Listener.Listener, SocketError<ListenReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const parsed = tcpAddress(address, true, "listen");
    if (Either.isLeft(parsed)) return Effect.fail(parsed.left);
    const { hostname, port } = parsed.right;
    const label = Address.format(parsed.right);
    const backlog = options?.backlog;
    if (backlog !== undefined && !(Number.isInteger(backlog) && backlog > 0)) {
      return Effect.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: "listen",
          address: label,
          detail: `backlog must be a positive whole number, got ${backlog}`,
        }),
      );
    }
    const timeout = options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const alpn = options?.alpnProtocols;
    return Effect.flatMap(loadKeyPair(options, "listen", true), (pair) =>
      Effect.acquireRelease(
        Effect.try({
          try: () =>
            Listener.fromCore({
              listener: new StreamListener(
                Deno.listenTls({
                  hostname,
                  port,
                  transport: "tcp",
                  cert: pair!.cert,
                  key: pair!.key,
                  ...(alpn !== undefined ? { alpnProtocols: [...alpn] } : {}),
                  ...(backlog !== undefined ? { tcpBacklog: backlog } : {}),
                }),
              ),
              toConnection: (socket) =>
                new TlsConnectionImpl(
                  socket.raw as Deno.TlsConn,
                  timeout,
                  "server",
                  offeredText(alpn),
                  socket,
                ),
            }),
          catch: (error): SocketError<ListenReason> => {
            const message = error instanceof Error ? error.message : String(error);
            if (
              error instanceof Deno.errors.InvalidData ||
              /key|certificate|pem/i.test(message) && !(error instanceof Deno.errors.AddrInUse)
            ) {
              return new SocketError({
                reason: "InvalidData",
                operation: "listen",
                address: label,
                detail: /KeyMismatch|not be consistent/i.test(message)
                  ? `the private key does not belong to the certificate [${message}]`
                  : `the certificate or key cannot be used [${message}]`,
                cause: error,
              });
            }
            return fromUnknown(error, "listen", label, tlsListenReasons);
          },
        }),
        (listener) => listener.close,
      ));
  });

/**
 * A Layer providing a TLS {@link Listener.Listener}, so `Server.serveForever`
 * serves TLS with the same handler it would run over TCP.
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { Runtime, Server, Tls } from "@fibernet/socket";
 *
 * const Hello = Server.serveForever((conn) => conn.write("hello over TLS\n")).pipe(
 *   Layer.provide(Tls.layer("127.0.0.1:8443", { certFile: "cert.pem", keyFile: "key.pem" })),
 * );
 * Runtime.runMain(Layer.launch(Hello));
 * ```
 */
export const layer = (
  address: Address.Input,
  options: ListenOptions,
): Layer.Layer<Listener.Listener, SocketError<ListenReason>> =>
  Layer.scoped(Listener.Listener, listen(address, options));

/**
 * Upgrades a plain TCP connection of this library to TLS, as the client of a
 * STARTTLS exchange (SMTP, IMAP, XMPP, …): send the protocol's upgrade
 * command, read the server's go-ahead, then call this. The handshake is
 * completed before it returns; the original connection must not be used
 * again (Deno consumes it). Closed when the scope closes.
 *
 * It refuses (`InvalidData`) when bytes arrived after the go-ahead and have
 * not been read: they came before encryption and could have been injected.
 * It needs the connection idle: no read may be waiting on it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp, Tls } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const plain = yield* Tcp.connect("127.0.0.1:2525");
 *   yield* plain.readText(); // 220 greeting
 *   yield* plain.write("STARTTLS\r\n");
 *   yield* plain.readText(); // 220 go ahead
 *   const secure = yield* Tls.startTls(plain, { hostname: "localhost", caFiles: ["ca.pem"] });
 *   yield* secure.write("EHLO me\r\n");
 * }).pipe(Effect.scoped);
 * ```
 */
export const startTls = (
  connection: Connection.Connection,
  options?: StartTlsOptions,
): Effect.Effect<TlsConnection, SocketError<StartTlsReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const label = Address.format(connection.remoteAddress);
    const fail = (reason: "Unsupported" | "InvalidData" | "Closed", detail: string) =>
      Effect.fail(
        new SocketError<StartTlsReason>({ reason, operation: "handshake", address: label, detail }),
      );
    const raw = connection.raw;
    if (
      isTlsConnection(connection) || typeof (raw as Partial<Deno.TlsConn>).handshake === "function"
    ) {
      return fail("Unsupported", "the connection is already TLS");
    }
    if (raw.remoteAddr.transport !== "tcp") {
      return fail(
        "Unsupported",
        "STARTTLS needs a TCP connection; Deno has no TLS over Unix sockets",
      );
    }
    // Bytes read ahead (after readExactly, or a read smaller than what
    // arrived) must not be silently lost, nor trusted.
    const unread = connection.bufferedBytes;
    if (unread > 0) {
      return fail(
        "InvalidData",
        `${unread} byte(s) arrived before the TLS handshake and were not read; refusing to upgrade, since they could have been injected by an attacker`,
      );
    }
    const hostname = options?.hostname ??
      (connection.remoteAddress._tag === "TcpAddress" ? connection.remoteAddress.hostname : "");
    const alpn = options?.alpnProtocols;
    return Effect.flatMap(loadTrust(options, "handshake"), (caCerts) =>
      openAndHandshake(
        Effect.tryPromise({
          try: () =>
            Deno.startTls(raw as Deno.TcpConn, {
              hostname,
              ...(caCerts !== undefined ? { caCerts } : {}),
              ...(alpn !== undefined ? { alpnProtocols: [...alpn] } : {}),
            }),
          catch: (error): SocketError<StartTlsReason> => {
            if (error instanceof Deno.errors.Busy) {
              return new SocketError({
                reason: "Unknown",
                operation: "handshake",
                address: label,
                detail:
                  "a read is still waiting on this connection (an interrupted read?); STARTTLS needs it idle",
                cause: error,
              });
            }
            if (error instanceof Deno.errors.BadResource) {
              return new SocketError({
                reason: "Closed",
                operation: "handshake",
                address: label,
                detail: "the connection is closed (or was already upgraded)",
                cause: error,
              });
            }
            return fromUnknown(error, "handshake", label, handshakeReasons);
          },
        }),
        options?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        alpn,
      ));
  });

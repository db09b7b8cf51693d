// Reader.upgrade of the platform Socket: TLS started in place on a plain TCP
// connection of this library. A client uses Deno.startTls; a server wraps
// the accepted TCP connection in the core's ServerTlsConn (node:tls), the
// same server side a TLS listener of this library uses.
import * as Effect from "effect/Effect";
import * as Redacted from "effect/Redacted";
import * as Schedule from "effect/Schedule";
import * as Socket from "effect/socket/Socket";
import { Buffer } from "node:buffer";
import { createSecureContext, type SecureContext } from "node:tls";
import * as Connection from "../Connection.ts";
import { SocketError as LibSocketError } from "../SocketError.ts";
import { format } from "../core/address.ts";
import { ExplainedError } from "../core/failure.ts";
import { ServerTlsConn } from "../core/tls/server_conn.ts";
import { startTlsFailure, startTlsRefusal } from "../core/tls/start_tls.ts";
import { TlsSocket } from "../core/tls/tls_socket.ts";

/** Which end of the handshake this side of the connection is. */
export type Side = "client" | "server";

const upgradeError = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketUpgradeError({ cause }) });

/** An upgrade refused before anything was sent: one line saying why. */
const refuse = (address: string, detail: string): Effect.Effect<never, Socket.SocketError> =>
  Effect.fail(
    upgradeError(
      new LibSocketError({ reason: "Unsupported", operation: "handshake", address, detail }),
    ),
  );

const asList = <A>(value: A | ReadonlyArray<A> | undefined): Array<A> =>
  value === undefined ? [] : Array.isArray(value) ? [...value] : [value as A];

const decoder = new TextDecoder();
const pemText = (value: string | Uint8Array): string =>
  typeof value === "string" ? value : decoder.decode(value);

/**
 * Waits (at most `ms`) until what was written before the upgrade (such as a
 * server's go-ahead, which the handshake must follow) has gone out.
 */
const drained = (
  conn: Connection.Connection,
  label: string,
  ms: number,
): Effect.Effect<void, Socket.SocketError> =>
  conn.unsentBytes === 0 ? Effect.void : Effect.repeat(Effect.sync(() => conn.unsentBytes), {
    until: (n) => n === 0,
    schedule: Schedule.spaced("1 millis"),
  }).pipe(
    Effect.timeoutOrElse({
      duration: ms,
      orElse: () =>
        refuse(label, `what was written before the upgrade did not go out within ${ms} ms`),
    }),
    Effect.asVoid,
  );

/** The handshake of `socket`, as the upgraded connection. */
const handshake = (socket: TlsSocket): Effect.Effect<Connection.Connection, Socket.SocketError> =>
  Effect.callback<Connection.Connection, Socket.SocketError>((resume) => {
    socket.handshake().then(
      () => resume(Effect.succeed(Connection.fromSocket(socket))),
      (error) =>
        resume(Effect.fail(upgradeError(
          error instanceof ExplainedError ? new LibSocketError(error.failure) : error,
        ))),
    );
    return Effect.sync(() => socket.abort());
  });

const clientUpgrade = (
  conn: Connection.Connection,
  label: string,
  options: Socket.TlsUpgradeOptions,
  handshakeTimeoutMs: number,
): Effect.Effect<Connection.Connection, Socket.SocketError> => {
  if (options.key !== undefined || options.cert !== undefined) {
    return refuse(label, "Deno's startTls cannot present a client certificate");
  }
  if (options.rejectUnauthorized === false) {
    return refuse(
      label,
      "Deno cannot skip certificate checks for one connection; trust its certificate with `ca`",
    );
  }
  const remote = conn.remoteAddress;
  const hostname = options.servername ??
    (remote._tag === "TcpAddress" ? remote.hostname : "");
  const caCerts = asList(options.ca).map(pemText);
  const alpnProtocols = options.alpnProtocols;
  return Effect.suspend(() => {
    let pending: Promise<Deno.TlsConn>;
    try {
      pending = Deno.startTls(conn.raw as Deno.TcpConn, {
        hostname,
        ...(caCerts.length > 0 ? { caCerts } : {}),
        ...(alpnProtocols !== undefined ? { alpnProtocols: [...alpnProtocols] } : {}),
      });
    } catch (error) {
      pending = Promise.reject(error);
    }
    return Effect.flatMap(
      Effect.tryPromise({
        try: () => pending,
        catch: (error) => upgradeError(new LibSocketError(startTlsFailure(error, label))),
      }),
      (tls) =>
        handshake(
          new TlsSocket(tls, {
            side: "client",
            handshakeTimeoutMs,
            ...(alpnProtocols !== undefined ? { alpnProtocols } : {}),
          }),
        ),
    );
  });
};

const serverUpgrade = (
  conn: Connection.Connection,
  label: string,
  options: Socket.TlsUpgradeOptions,
  handshakeTimeoutMs: number,
): Effect.Effect<Connection.Connection, Socket.SocketError> => {
  if (options.key === undefined || options.cert === undefined) {
    return refuse(label, "a server's TLS upgrade needs both key and cert");
  }
  if (options.requestCert) {
    return refuse(label, "client certificates (requestCert) are not supported on Deno");
  }
  let context: SecureContext;
  try {
    context = createSecureContext({
      key: asList(options.key).map((key) => {
        const value = Redacted.value(key);
        return typeof value === "string" ? value : Buffer.from(value);
      }),
      cert: asList(options.cert).map(pemText),
      ...(options.ca !== undefined ? { ca: asList(options.ca).map(pemText) } : {}),
      ...(options.passphrase !== undefined
        ? { passphrase: Redacted.value(options.passphrase) }
        : {}),
    });
  } catch (error) {
    return refuse(
      label,
      `the key or certificate cannot be used: ${error instanceof Error ? error.message : error}`,
    );
  }
  const alpnProtocols = options.alpnProtocols;
  return Effect.suspend(() =>
    handshake(
      new TlsSocket(
        new ServerTlsConn(conn.raw as Deno.TcpConn, {
          context,
          ...(alpnProtocols !== undefined ? { alpnProtocols } : {}),
        }),
        {
          side: "server",
          handshakeTimeoutMs,
          ...(alpnProtocols !== undefined ? { alpnProtocols } : {}),
        },
      ),
    )
  );
};

/**
 * Starts TLS on `conn` as `side` and completes the handshake; the result is
 * the connection to use from then on (`conn` must not be read or written
 * again). Refused, with a typed SocketUpgradeError, when the connection is
 * not plain TCP, when bytes arrived that were not read (they came before
 * encryption and could have been injected), or when it is not idle.
 */
export const upgrade = (
  conn: Connection.Connection,
  side: Side,
  options: Socket.TlsUpgradeOptions | undefined,
  handshakeTimeoutMs: number,
): Effect.Effect<Connection.Connection, Socket.SocketError> =>
  Effect.suspend(() => {
    const label = format(conn.remoteAddress);
    const refusal = startTlsRefusal(conn.raw, conn.bufferedBytes, label);
    if (refusal !== undefined) return Effect.fail(upgradeError(new LibSocketError(refusal)));
    if (conn.readWaitingSince !== undefined) {
      return refuse(
        label,
        "a read is still waiting on this connection (an interrupted pull?): upgrade needs it idle",
      );
    }
    return Effect.andThen(
      drained(conn, label, handshakeTimeoutMs),
      side === "client"
        ? clientUpgrade(conn, label, options ?? {}, handshakeTimeoutMs)
        : serverUpgrade(conn, label, options ?? {}, handshakeTimeoutMs),
    );
  });

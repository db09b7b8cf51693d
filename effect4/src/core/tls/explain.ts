// What a failed TLS handshake means, in words that say what to fix: the
// runtime's errors name rustls internals ("UnknownIssuer", "InvalidContentType").
import { classify } from "../classify.ts";
import type { Failure } from "../failure.ts";
import { HANDSHAKE_REASONS, type HandshakeReason } from "./reasons.ts";

/**
 * Which end of the handshake this side is.
 *
 * @example
 * ```ts
 * import type { Side } from "@fibernet/socket/core";
 * const side: Side = "server";
 * ```
 */
export type Side = "client" | "server";

const handshakeReasons: ReadonlySet<HandshakeReason> = new Set(HANDSHAKE_REASONS);

const peerOf = (side: Side): string => (side === "client" ? "server" : "client");

/** The runtime's message for a failed handshake, explained (the message kept in brackets). */
const describe = (message: string, side: Side, offered: string): string => {
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
    return `the peer does not speak TLS (a plain TCP ${peerOf(side)}?) [${message}]`;
  }
  if (side === "server" && /alert: (UnknownCA|BadCertificate|CertificateUnknown)/i.test(message)) {
    return `the client does not trust this server's certificate [${message}]`;
  }
  if (/CaUsedAsEndEntity/i.test(message)) {
    return `the certificate is a CA certificate used as a server certificate; create it with basicConstraints=critical,CA:FALSE [${message}]`;
  }
  return message;
};

/**
 * The failure a handshake that failed with `error` reports: `InvalidData`
 * with what to fix for a certificate or protocol problem, else the error
 * classified.
 *
 * @example
 * ```ts
 * import { handshakeFailure } from "@fibernet/socket/core";
 * const failure = handshakeFailure(
 *   new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"),
 *   "client",
 *   "127.0.0.1:8443",
 *   [],
 * );
 * console.log(failure.detail); // … signed by an unknown issuer; trust its CA …
 * ```
 */
export const handshakeFailure = (
  error: unknown,
  side: Side,
  address: string,
  alpnProtocols: ReadonlyArray<string> | undefined,
): Failure<HandshakeReason> => {
  if (error instanceof Deno.errors.InvalidData) {
    const offered = alpnProtocols === undefined ? "" : alpnProtocols.join(", ");
    return {
      reason: "InvalidData",
      operation: "handshake",
      address,
      detail: `TLS handshake failed: ${describe(error.message, side, offered)}`,
      cause: error,
    };
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return {
      reason: "InvalidData",
      operation: "handshake",
      address,
      detail: "the peer closed the connection during the TLS handshake (does it speak TLS?)",
      cause: error,
    };
  }
  return classify(error, "handshake", address, handshakeReasons);
};

/**
 * The failure of a handshake that did not complete within `timeoutMs`.
 *
 * @example
 * ```ts
 * import { handshakeTimeout } from "@fibernet/socket/core";
 * console.log(handshakeTimeout("server", "127.0.0.1:50000", 300).detail);
 * // no TLS handshake within 300 ms (is the peer a TLS client?)
 * ```
 */
export const handshakeTimeout = (
  side: Side,
  address: string,
  timeoutMs: number,
): Failure<HandshakeReason> => ({
  reason: "TimedOut",
  operation: "handshake",
  address,
  detail: `no TLS handshake within ${timeoutMs} ms (is the peer a TLS ${peerOf(side)}?)`,
});

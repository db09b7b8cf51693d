// What a fatal TLS alert received after the handshake means. Used when a
// read fails, so it is part of classifying errors, not of the handshake.
import { causeMessage } from "../failure.ts";

/**
 * What a fatal TLS alert received after the handshake means, or undefined
 * when `cause` is not one. With TLS 1.3 a client finishes its handshake
 * before the server has checked it, so a server's rejection (most often: a
 * client certificate is required) arrives as an alert on the first read.
 *
 * @example
 * ```ts
 * import { alertDetail } from "@fibernet/socket/core";
 * const detail = alertDetail(new Deno.errors.InvalidData("received fatal alert: CertificateRequired"));
 * console.log(detail); // the server requires a client certificate: …
 * ```
 */
export const alertDetail = (cause: unknown): string | undefined => {
  const message = causeMessage(cause) ?? "";
  const alert = /received fatal alert: (\w+)/.exec(message);
  if (alert === null) return undefined;
  const detail = /CertificateRequired/.test(alert[1])
    ? "the server requires a client certificate: pass cert and key (or certFile and keyFile) to Tls.connect"
    : /BadCertificate|UnknownCA|UnsupportedCertificate|CertificateUnknown|AccessDenied/.test(
        alert[1],
      )
    ? "the server rejected this client's certificate"
    : "the peer ended the TLS session with an error";
  return `${detail} [${message}]`;
};

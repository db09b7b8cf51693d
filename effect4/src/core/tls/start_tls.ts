// Client-side STARTTLS: when a plain connection may be upgraded, and what
// Deno.startTls's own failures mean.
import { classify } from "../classify.ts";
import type { Failure } from "../failure.ts";
import { START_TLS_REASONS, type StartTlsReason } from "./reasons.ts";

const startTlsReasons: ReadonlySet<StartTlsReason> = new Set(START_TLS_REASONS);

/**
 * Why the plain connection `raw` cannot be upgraded to TLS, or undefined when
 * it can: it must be TCP, not TLS already, and hold no bytes that arrived
 * before the handshake and were not read (`unreadBytes`): they came before
 * encryption and could have been injected.
 *
 * @example
 * ```ts
 * import { startTlsRefusal } from "@fibernet/socket/core";
 * declare const raw: Deno.Conn;
 * const refusal = startTlsRefusal(raw, 0, "127.0.0.1:25");
 * if (refusal !== undefined) console.error(refusal.detail);
 * ```
 */
export const startTlsRefusal = (
  raw: Deno.Conn,
  unreadBytes: number,
  address: string,
): Failure<StartTlsReason> | undefined => {
  const refuse = (reason: StartTlsReason, detail: string): Failure<StartTlsReason> => ({
    reason,
    operation: "handshake",
    address,
    detail,
  });
  if (typeof (raw as Partial<Deno.TlsConn>).handshake === "function") {
    return refuse("Unsupported", "the connection is already TLS");
  }
  if (raw.remoteAddr.transport !== "tcp") {
    return refuse(
      "Unsupported",
      "STARTTLS needs a TCP connection; Deno has no TLS over Unix sockets",
    );
  }
  if (unreadBytes > 0) {
    return refuse(
      "InvalidData",
      `${unreadBytes} byte(s) arrived before the TLS handshake and were not read; refusing to upgrade, since they could have been injected by an attacker`,
    );
  }
  return undefined;
};

/**
 * What a failed `Deno.startTls` call (before any handshake) reports.
 *
 * @example
 * ```ts
 * import { startTlsFailure } from "@fibernet/socket/core";
 * const failure = startTlsFailure(new Deno.errors.Busy("busy"), "127.0.0.1:25");
 * console.log(failure.detail); // a read is still waiting on this connection …
 * ```
 */
export const startTlsFailure = (error: unknown, address: string): Failure<StartTlsReason> => {
  if (error instanceof Deno.errors.Busy) {
    return {
      reason: "Unknown",
      operation: "handshake",
      address,
      detail:
        "a read is still waiting on this connection (an interrupted read?); STARTTLS needs it idle",
      cause: error,
    };
  }
  if (error instanceof Deno.errors.BadResource) {
    return {
      reason: "Closed",
      operation: "handshake",
      address,
      detail: "the connection is closed (or was already upgraded)",
      cause: error,
    };
  }
  return classify(error, "handshake", address, startTlsReasons);
};

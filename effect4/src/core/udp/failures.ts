// What a failed bind, send or socket option reports, explained for UDP:
// node:dgram reports most send failures without a reason, and a refused
// broadcast or an oversized datagram deserves a hint.
import { classify } from "../classify.ts";
import type { Failure } from "../failure.ts";
import { netGranted, notCapable } from "./permission.ts";
import {
  UDP_BIND_REASONS,
  UDP_OPTION_REASONS,
  UDP_SEND_REASONS,
  type UdpBindReason,
  type UdpOptionReason,
  type UdpSendReason,
} from "./reasons.ts";

const bindReasons: ReadonlySet<UdpBindReason> = new Set(UDP_BIND_REASONS);
const sendReasons: ReadonlySet<UdpSendReason> = new Set(UDP_SEND_REASONS);
const optionReasons: ReadonlySet<UdpOptionReason> = new Set(UDP_OPTION_REASONS);

/** What a bind reports for what opening the socket threw. */
export const bindFailure = (error: unknown, address: string): Failure<UdpBindReason> =>
  classify(error, "bind", address, bindReasons);

/** What a send to a closed endpoint reports. */
export const sendClosed = (address: string, cause?: unknown): Failure<UdpSendReason> => ({
  reason: "Closed",
  operation: "send",
  address,
  detail: "the endpoint is closed",
  cause,
});

/** What a send reports for what the runtime threw; `closed`: this side had closed the socket. */
export const sendFailure = (
  error: unknown,
  closed: boolean,
  hostname: string,
  port: number,
  address: string,
): Failure<UdpSendReason> => {
  if (closed) return sendClosed(address, error);
  const e = error as { code?: unknown; syscall?: unknown; message?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : "";
  if (e?.code === "EMSGSIZE" || /message too long/i.test(message)) {
    return {
      reason: "InvalidData",
      operation: "send",
      address,
      detail: "the datagram is larger than the network path allows (EMSGSIZE)",
      cause: error,
    };
  }
  if (e?.code === "ERR_SOCKET_DGRAM_NOT_RUNNING" || e?.code === "EBADF") {
    return sendClosed(address, error);
  }
  if (
    (e?.code === "EPERM" && e?.syscall === "getaddrinfo") ||
    error instanceof Deno.errors.NotCapable || !netGranted(hostname, port)
  ) {
    return notCapable("send", hostname, port);
  }
  if (e?.code === "UNKNOWN") {
    // node:dgram on Deno reports most send failures as UNKNOWN.
    const broadcast = hostname === "255.255.255.255" || /\.255$/.test(hostname);
    return {
      reason: "Unknown",
      operation: "send",
      address,
      detail: broadcast
        ? "the send failed; to send to a broadcast address call setBroadcast(true) first (or bind with { broadcast: true })"
        : "the send failed (node:dgram gives no reason)",
      cause: error,
    };
  }
  return classify(error, "send", address, sendReasons);
};

/** What setting a socket option reports for what the runtime threw. */
export const optionFailure = (error: unknown, address: string): Failure<UdpOptionReason> => {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EINVAL" || code === "ERR_INVALID_ARG_TYPE" || code === "ERR_INVALID_ARG_VALUE") {
    return { reason: "InvalidAddress", operation: "setOption", address, cause: error };
  }
  return classify(error, "setOption", address, optionReasons);
};

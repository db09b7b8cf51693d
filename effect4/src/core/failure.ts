// A failed socket operation as plain data: what both Effect faces turn into
// their tagged `SocketError`, and how its one-line message reads.
import { escapeText } from "./printable.ts";
import type { Reason } from "./reasons.ts";

/**
 * The operations a failure can name.
 *
 * @example
 * ```ts
 * import type { Operation } from "@fibernet/socket/core";
 * const operation: Operation = "handshake";
 * ```
 */
export type Operation =
  | "parse"
  | "connect"
  | "listen"
  | "accept"
  | "read"
  | "write"
  | "closeWrite"
  | "setOption"
  | "bind"
  | "send"
  | "receive"
  | "handshake";

/**
 * The fields of a failure; `R` narrows the reason to what an operation can produce.
 *
 * @example
 * ```ts
 * import type { Failure } from "@fibernet/socket/core";
 * const failure: Failure = { reason: "TimedOut", operation: "handshake", address: "127.0.0.1:8443" };
 * ```
 */
export interface Failure<R extends Reason = Reason> {
  /** What went wrong. */
  readonly reason: R;
  /** What the program was doing. */
  readonly operation: Operation;
  /** The address involved, formatted, when there is one. */
  readonly address?: string | undefined;
  /** Extra detail for the message. */
  readonly detail?: string | undefined;
  /** The original error thrown by the runtime, when there is one. */
  readonly cause?: unknown;
}

/** How each reason reads in a message. */
export const REASON_TEXT: Readonly<Record<Reason, string>> = {
  ConnectionRefused: "connection refused",
  AddressInUse: "address already in use",
  PermissionDenied: "permission denied by the operating system",
  NotCapable: "permission denied by Deno",
  Closed: "socket is closed",
  TimedOut: "timed out",
  ConnectionReset: "connection reset by peer",
  BrokenPipe: "broken pipe (the other side no longer reads)",
  NotFound: "no such file or socket",
  HostNotFound: "host name not found",
  InvalidAddress: "invalid address",
  InvalidData: "invalid data",
  UnexpectedEof: "unexpected end of stream",
  ResourceExhausted: "out of file descriptors or buffers",
  Unsupported: "not supported",
  Unknown: "unexpected error",
};

/** The message of an error thrown by the runtime, if it has one. */
export const causeMessage = (cause: unknown): string | undefined => {
  if (cause instanceof Error && cause.message) return cause.message;
  if (typeof cause === "string") return cause;
  return undefined;
};

/**
 * One line: operation, address, reason and detail. Peer-controlled text can
 * reach the detail (a runtime message quoting what the peer sent), so the
 * line is escaped and capped.
 */
export const failureMessage = (failure: Failure): string => {
  const where = failure.address === undefined
    ? failure.operation
    : `${failure.operation} ${failure.address}`;
  const detail = failure.detail ?? causeMessage(failure.cause);
  return escapeText(
    `${where}: ${REASON_TEXT[failure.reason]}${detail ? ` (${detail})` : ""}`,
    { maxLength: 1024 },
  );
};

/**
 * An error the core has already explained: it stands where a raw error would
 * (an `IoFailure`'s error, a rejected promise), and a face reports its
 * `failure` as it is instead of classifying it again.
 *
 * @example
 * ```ts
 * import { ExplainedError } from "@fibernet/socket/core";
 * const error = new ExplainedError({ reason: "TimedOut", operation: "handshake", detail: "no TLS handshake within 300 ms" });
 * console.log(error.message); // handshake: timed out (no TLS handshake within 300 ms)
 * ```
 */
export class ExplainedError extends Error {
  /** The failure, ready to report. */
  readonly failure: Failure;
  /** An error standing for `failure`; its message is the failure's one line. */
  constructor(failure: Failure) {
    super(failureMessage(failure), { cause: failure.cause });
    this.name = "ExplainedError";
    this.failure = failure;
  }
}

/**
 * The one error type of this library: a tagged `SocketError` whose `reason`
 * says what went wrong and whose type parameter says which reasons an
 * operation can produce.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Tcp } from "@fibernet/socket";
 *
 * const program = Tcp.connect("127.0.0.1:9").pipe(
 *   Effect.catchTag("SocketError", (error) =>
 *     error.reason === "ConnectionRefused"
 *       ? Effect.logWarning("nobody is listening")
 *       : Effect.fail(error)),
 *   Effect.scoped,
 * );
 * ```
 *
 * @module
 */
import type * as Cause from "effect/Cause";
import * as Data from "effect/Data";

/**
 * Every reason a socket operation can fail for.
 *
 * | reason | typical cause |
 * |---|---|
 * | `ConnectionRefused` | nobody listens on that port, or a stale unix socket file |
 * | `AddressInUse` | the port or unix path is taken |
 * | `PermissionDenied` | the OS refused (privileged port, unwritable directory) |
 * | `NotCapable` | Deno's sandbox refused: the message names the flags to add (`--allow-net=HOST`; for a unix path `--allow-read`, `--allow-write` and `--allow-net=unix:PATH`) |
 * | `Closed` | the socket was already closed |
 * | `TimedOut` | the operation took longer than its deadline |
 * | `ConnectionReset` | the peer reset the connection (RST) |
 * | `BrokenPipe` | writing after the peer (or this side) closed its read half |
 * | `NotFound` | a unix socket path that does not exist |
 * | `HostNotFound` | a host name that does not resolve |
 * | `InvalidAddress` | malformed host, port or path given by the program |
 * | `InvalidData` | the peer sent something the protocol forbids (TLS handshake, bad frame) |
 * | `UnexpectedEof` | the stream ended before the bytes that were asked for |
 * | `ResourceExhausted` | out of file descriptors or kernel buffers (EMFILE, ENFILE, ENOBUFS) |
 * | `Unsupported` | the runtime cannot do this (raw sockets, a missing unstable API) |
 * | `Unknown` | anything else; the original error is kept in `cause` |
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const retryable = (reason: SocketError.Reason): boolean =>
 *   reason === "ConnectionRefused" || reason === "TimedOut";
 * ```
 */
export type Reason =
  | "ConnectionRefused"
  | "AddressInUse"
  | "PermissionDenied"
  | "NotCapable"
  | "Closed"
  | "TimedOut"
  | "ConnectionReset"
  | "BrokenPipe"
  | "NotFound"
  | "HostNotFound"
  | "InvalidAddress"
  | "InvalidData"
  | "UnexpectedEof"
  | "ResourceExhausted"
  | "Unsupported"
  | "Unknown";

/**
 * The operation that failed, so a message can say what the program was doing.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const op: SocketError.Operation = "connect";
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
 * Reasons `connect` can fail with.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ConnectReason = "ConnectionRefused";
 * ```
 */
export type ConnectReason =
  | "ConnectionRefused"
  | "PermissionDenied"
  | "NotCapable"
  | "TimedOut"
  | "ConnectionReset"
  | "NotFound"
  | "HostNotFound"
  | "InvalidAddress"
  | "Unknown";

/**
 * Reasons `listen` can fail with.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ListenReason = "AddressInUse";
 * ```
 */
export type ListenReason =
  | "AddressInUse"
  | "PermissionDenied"
  | "NotCapable"
  | "NotFound"
  | "HostNotFound"
  | "InvalidAddress"
  | "Unsupported"
  | "Unknown";

/**
 * Reasons `accept` can fail with.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.AcceptReason = "Closed";
 * ```
 */
export type AcceptReason =
  | "Closed"
  | "ConnectionReset"
  | "InvalidData"
  | "ResourceExhausted"
  | "Unknown";

/**
 * Reasons a read can fail with.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ReadReason = "ConnectionReset";
 * ```
 */
export type ReadReason = "Closed" | "ConnectionReset" | "TimedOut" | "InvalidData" | "Unknown";

/**
 * Reasons a write can fail with.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.WriteReason = "BrokenPipe";
 * ```
 */
export type WriteReason =
  | "Closed"
  | "ConnectionReset"
  | "BrokenPipe"
  | "TimedOut"
  | "InvalidData"
  | "Unknown";

/** The fields of a {@link SocketError}. */
interface Fields<R extends Reason> {
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

// JSR rejects `extends Data.TaggedError(...)` (a call in the extends clause),
// so the base gets an explicit constructor type first.
const SocketErrorBase: new <R extends Reason>(
  args: Fields<R>,
) => Cause.YieldableError & { readonly _tag: "SocketError" } & Fields<R> = Data.TaggedError(
  "SocketError",
) as never;

const describe: Record<Reason, string> = {
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

/**
 * A failed socket operation. `R` narrows `reason` to what the operation can
 * actually produce, so a `switch (error.reason)` is checked by the compiler.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { SocketError } from "@fibernet/socket";
 *
 * const failed = Effect.fail(
 *   new SocketError.SocketError({ reason: "TimedOut", operation: "read" }),
 * );
 * ```
 */
export class SocketError<R extends Reason = Reason> extends SocketErrorBase<R> {
  /** A one-line explanation: operation, address, reason and detail. */
  override get message(): string {
    const where = this.address === undefined ? this.operation : `${this.operation} ${this.address}`;
    const detail = this.detail ?? causeMessage(this.cause);
    return `${where}: ${describe[this.reason]}${detail ? ` (${detail})` : ""}`;
  }
}

const causeMessage = (cause: unknown): string | undefined => {
  if (cause instanceof Error && cause.message) return cause.message;
  if (typeof cause === "string") return cause;
  return undefined;
};

/**
 * True for a {@link SocketError}, whatever its reason.
 *
 * @example
 * ```ts
 * import { SocketError } from "@fibernet/socket";
 * SocketError.isSocketError(new Error("x")); // false
 * ```
 */
export const isSocketError = (u: unknown): u is SocketError => u instanceof SocketError;

/**
 * The reason a runtime error stands for: Deno's error classes, DOMException
 * timeouts, errno codes from `node:` modules, and the plain `Error` of a
 * failed DNS lookup.
 *
 * @example
 * ```ts
 * import { SocketError } from "@fibernet/socket";
 * SocketError.reasonOf(new Deno.errors.ConnectionRefused("x")); // "ConnectionRefused"
 * ```
 */
export const reasonOf = (error: unknown): Reason => {
  if (error instanceof SocketError) return error.reason;
  const errors = Deno.errors;
  if (error instanceof errors.ConnectionRefused) return "ConnectionRefused";
  if (error instanceof errors.AddrInUse) return "AddressInUse";
  if (error instanceof errors.NotCapable) return "NotCapable";
  if (error instanceof errors.PermissionDenied) return "PermissionDenied";
  if (error instanceof errors.BadResource || error instanceof errors.Interrupted) return "Closed";
  if (error instanceof errors.TimedOut) return "TimedOut";
  if (
    error instanceof errors.ConnectionReset || error instanceof errors.ConnectionAborted ||
    error instanceof errors.NotConnected
  ) {
    return "ConnectionReset";
  }
  if (error instanceof errors.BrokenPipe) return "BrokenPipe";
  if (error instanceof errors.NotFound) return "NotFound";
  if (error instanceof errors.AddrNotAvailable) return "InvalidAddress";
  if (error instanceof errors.InvalidData) return "InvalidData";
  if (error instanceof errors.UnexpectedEof) return "UnexpectedEof";
  if (error instanceof errors.NotSupported) return "Unsupported";
  if (error instanceof RangeError || error instanceof TypeError) return "InvalidAddress";
  if (error instanceof DOMException) {
    if (error.name === "TimeoutError") return "TimedOut";
    if (error.name === "AbortError") return "Closed";
  }
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "ConnectionRefused";
    case "EADDRINUSE":
      return "AddressInUse";
    case "EACCES":
    case "EPERM":
      return "PermissionDenied";
    case "ECONNRESET":
    case "ECONNABORTED":
    case "ENOTCONN":
      return "ConnectionReset";
    case "EPIPE":
      return "BrokenPipe";
    case "ETIMEDOUT":
      return "TimedOut";
    case "ENOENT":
      return "NotFound";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "HostNotFound";
    case "EMSGSIZE":
      return "InvalidData";
    case "EADDRNOTAVAIL":
    case "EINVAL":
      return "InvalidAddress";
    case "EMFILE":
    case "ENFILE":
    case "ENOBUFS":
    case "ENOMEM":
      return "ResourceExhausted";
    case "ERR_SOCKET_DGRAM_NOT_RUNNING":
    case "EBADF":
      return "Closed";
  }
  if (
    error instanceof Error &&
    /failed to lookup address|Name or service not known/i.test(error.message)
  ) {
    return "HostNotFound";
  }
  return "Unknown";
};

const notCapableDetail = (operation: Operation, address: string | undefined, cause: unknown) =>
  `${
    causeMessage(cause)?.replace(/, run again with the --allow-\w+ flag$/, "") ??
      `${operation} needs permission`
  }; run with ${permissionFlags(address)}`;

/**
 * The Deno flags that let a program use `address`: a unix socket needs read,
 * write and net permission for its path (Deno 2.9), a TCP or UDP address net
 * permission for its host, an IPv6 host in brackets (`--allow-net=[::1]`).
 */
const permissionFlags = (address: string | undefined): string => {
  if (address === undefined) return "--allow-net";
  if (address.startsWith("unix:")) {
    const path = address.slice("unix:".length);
    return `--allow-read=${path} --allow-write=${path} --allow-net=unix:${path}`;
  }
  return `--allow-net=${hostOf(address)}`;
};

const hostOf = (address: string): string => {
  const bracket = /^\[[^\]]+\]/.exec(address);
  if (bracket) return bracket[0];
  const colon = address.lastIndexOf(":");
  return colon > 0 ? address.slice(0, colon) : address;
};

/**
 * Builds a {@link SocketError} from whatever a runtime call threw, keeping
 * the original as `cause`. A reason outside `allowed` becomes `Unknown`, so an
 * operation's error type never lies.
 *
 * @example
 * ```ts
 * import { SocketError } from "@fibernet/socket";
 * const e = SocketError.fromUnknown(new Deno.errors.BrokenPipe("x"), "write");
 * e.reason; // "BrokenPipe"
 * ```
 */
export const fromUnknown = <R extends Reason = Reason>(
  cause: unknown,
  operation: Operation,
  address?: string,
  allowed?: ReadonlySet<R>,
): SocketError<R> => {
  if (cause instanceof SocketError && (allowed === undefined || allowed.has(cause.reason as R))) {
    return cause as SocketError<R>;
  }
  let reason = reasonOf(cause);
  if (allowed !== undefined && !allowed.has(reason as R)) reason = "Unknown";
  const detail = reason === "NotCapable" ? notCapableDetail(operation, address, cause) : undefined;
  return new SocketError({ reason: reason as R, operation, address, detail, cause });
};

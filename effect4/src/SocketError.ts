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
import * as core from "./core/classify.ts";
import { type Failure, failureMessage, type Operation as CoreOperation } from "./core/failure.ts";
import { REASONS } from "./core/reasons.ts";
import type * as Reasons from "./core/reasons.ts";

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
export type Reason = Reasons.Reason;

/**
 * The operation that failed, so a message can say what the program was doing.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const op: SocketError.Operation = "connect";
 * ```
 */
export type Operation = CoreOperation;

/**
 * Reasons `connect` can fail with: `ConnectionRefused`, `PermissionDenied`,
 * `NotCapable`, `TimedOut`, `ConnectionReset`, `NotFound`, `HostNotFound`,
 * `InvalidAddress`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ConnectReason = "ConnectionRefused";
 * ```
 */
export type ConnectReason = Reasons.ConnectReason;

/**
 * Reasons `listen` can fail with: `AddressInUse`, `PermissionDenied`,
 * `NotCapable`, `NotFound`, `HostNotFound`, `InvalidAddress`, `Unsupported`,
 * `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ListenReason = "AddressInUse";
 * ```
 */
export type ListenReason = Reasons.ListenReason;

/**
 * Reasons `accept` can fail with: `Closed`, `ConnectionReset`, `InvalidData`,
 * `ResourceExhausted`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.AcceptReason = "Closed";
 * ```
 */
export type AcceptReason = Reasons.AcceptReason;

/**
 * Reasons a read can fail with: `Closed`, `ConnectionReset`, `TimedOut`,
 * `InvalidData`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.ReadReason = "ConnectionReset";
 * ```
 */
export type ReadReason = Reasons.ReadReason;

/**
 * Reasons a write can fail with: `Closed`, `ConnectionReset`, `BrokenPipe`,
 * `TimedOut`, `InvalidData`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.WriteReason = "BrokenPipe";
 * ```
 */
export type WriteReason = Reasons.WriteReason;

/**
 * Reasons setting a socket option can fail with: `Closed`, `Unknown`.
 *
 * @example
 * ```ts
 * import type { SocketError } from "@fibernet/socket";
 * const r: SocketError.OptionReason = "Closed";
 * ```
 */
export type OptionReason = Reasons.OptionReason;

/** The fields of a {@link SocketError}. */
type Fields<R extends Reason> = Failure<R>;

// Effect 4's tagged error: yieldable (`return yield* error`), caught with
// `Effect.catchTag("SocketError", …)`. JSR rejects `extends
// Data.TaggedError(...)` (a call in the extends clause), so the base gets an
// explicit constructor type first.
const SocketErrorBase: new <R extends Reason>(
  args: Fields<R>,
) => Cause.YieldableError & { readonly _tag: "SocketError" } & Fields<R> = Data.TaggedError(
  "SocketError",
) as never;

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
  /** A one-line explanation: operation, address, reason and detail (escaped). */
  override get message(): string {
    return failureMessage(this);
  }
}

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
export const reasonOf = (error: unknown): Reason =>
  error instanceof SocketError ? error.reason : core.reasonOf(error);

const everyReason: ReadonlySet<Reason> = new Set(REASONS);

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
  const reasons = (allowed ?? everyReason) as ReadonlySet<R>;
  if (cause instanceof SocketError && reasons.has(cause.reason as R)) {
    return cause as SocketError<R>;
  }
  return new SocketError(core.classify(cause, operation, address, reasons));
};

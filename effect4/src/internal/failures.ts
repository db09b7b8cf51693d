// The SocketError each operation reports for a raw failure from the core: a
// failure the core already explained is reported as it is, one on a socket
// this side closed is `Closed`, anything else is classified; every reason is
// narrowed to the operation's.
import {
  type AcceptReason,
  type ReadReason,
  type Reason,
  SocketError,
  type WriteReason,
} from "../SocketError.ts";
import { classify } from "../core/classify.ts";
import { ExplainedError } from "../core/failure.ts";
import type { IoFailure } from "../core/stream_socket.ts";
import { acceptReasons, readReasons, writeReasons } from "./reasons.ts";

/**
 * The SocketError of an error the core explained; a reason outside `allowed`
 * becomes `Unknown`, keeping the explanation.
 */
export const fromExplained = <R extends Reason>(
  error: ExplainedError,
  allowed: ReadonlySet<R>,
): SocketError<R> => {
  const failure = error.failure;
  const reason = (allowed as ReadonlySet<Reason>).has(failure.reason) ? failure.reason : "Unknown";
  return new SocketError<R>({ ...failure, reason: reason as R });
};

/** What a read reports. */
export const readFailure = (failure: IoFailure, address: string): SocketError<ReadReason> =>
  failure.error instanceof ExplainedError
    ? fromExplained(failure.error, readReasons)
    : new SocketError(
      failure.closed
        ? { reason: "Closed", operation: "read", address, cause: failure.error }
        : classify(failure.error, "read", address, readReasons),
    );

/** What a write (or a half-close) reports. */
export const writeFailure = (
  failure: IoFailure,
  operation: "write" | "closeWrite",
  address: string,
): SocketError<WriteReason> =>
  failure.error instanceof ExplainedError
    ? fromExplained(failure.error, writeReasons)
    : new SocketError(
      failure.closed
        ? { reason: "Closed", operation, address, cause: failure.error }
        : classify(failure.error, operation, address, writeReasons),
    );

/** What an accept reports. */
export const acceptFailure = (failure: IoFailure, address: string): SocketError<AcceptReason> =>
  new SocketError(
    failure.closed
      ? { reason: "Closed", operation: "accept", address, cause: failure.error }
      : classify(failure.error, "accept", address, acceptReasons),
  );

// The SocketError each operation reports for a raw failure from the core: a
// failure on a socket this side closed is `Closed`, anything else is
// classified and narrowed to the operation's reasons.
import {
  type AcceptReason,
  type ReadReason,
  SocketError,
  type WriteReason,
} from "../SocketError.ts";
import { classify } from "../core/classify.ts";
import type { IoFailure } from "../core/stream_socket.ts";
import { acceptReasons, readReasons, writeReasons } from "./reasons.ts";

/** What a read reports. */
export const readFailure = (failure: IoFailure, address: string): SocketError<ReadReason> =>
  new SocketError(
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
  new SocketError(
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

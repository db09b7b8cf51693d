// The reason sets each operation narrows its errors to, as sets for
// `SocketError.fromUnknown`: derived from the one list in core/reasons.ts.
import type {
  AcceptReason,
  ConnectReason,
  ListenReason,
  ReadReason,
  WriteReason,
} from "../SocketError.ts";
import {
  ACCEPT_REASONS,
  CONNECT_REASONS,
  LISTEN_REASONS,
  READ_REASONS,
  WRITE_REASONS,
} from "../core/reasons.ts";

/** Reasons allowed for `connect`. */
export const connectReasons: ReadonlySet<ConnectReason> = new Set(CONNECT_REASONS);
/** Reasons allowed for `listen`. */
export const listenReasons: ReadonlySet<ListenReason> = new Set(LISTEN_REASONS);
/** Reasons allowed for `accept`. */
export const acceptReasons: ReadonlySet<AcceptReason> = new Set(ACCEPT_REASONS);
/** Reasons allowed for reads. */
export const readReasons: ReadonlySet<ReadReason> = new Set(READ_REASONS);
/** Reasons allowed for writes. */
export const writeReasons: ReadonlySet<WriteReason> = new Set(WRITE_REASONS);

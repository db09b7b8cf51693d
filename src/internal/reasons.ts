// The reason sets each operation narrows its errors to (see SocketError.fromUnknown).
import type {
  AcceptReason,
  ConnectReason,
  ListenReason,
  ReadReason,
  WriteReason,
} from "../SocketError.ts";

/** Reasons allowed for `connect`. */
export const connectReasons: ReadonlySet<ConnectReason> = new Set<ConnectReason>([
  "ConnectionRefused",
  "PermissionDenied",
  "NotCapable",
  "TimedOut",
  "ConnectionReset",
  "NotFound",
  "HostNotFound",
  "InvalidAddress",
  "Unknown",
]);
/** Reasons allowed for `listen`. */
export const listenReasons: ReadonlySet<ListenReason> = new Set<ListenReason>([
  "AddressInUse",
  "PermissionDenied",
  "NotCapable",
  "NotFound",
  "HostNotFound",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
]);
/** Reasons allowed for `accept`. */
export const acceptReasons: ReadonlySet<AcceptReason> = new Set<AcceptReason>([
  "Closed",
  "ConnectionReset",
  "InvalidData",
  "ResourceExhausted",
  "Unknown",
]);
/** Reasons allowed for reads. */
export const readReasons: ReadonlySet<ReadReason> = new Set<ReadReason>([
  "Closed",
  "ConnectionReset",
  "TimedOut",
  "InvalidData",
  "Unknown",
]);
/** Reasons allowed for writes. */
export const writeReasons: ReadonlySet<WriteReason> = new Set<WriteReason>([
  "Closed",
  "ConnectionReset",
  "BrokenPipe",
  "TimedOut",
  "InvalidData",
  "Unknown",
]);

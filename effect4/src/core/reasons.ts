// Every reason a socket operation can fail for, and the subsets each
// operation narrows to. Each list is written once: its type is derived from
// it, and so is the set that `classify` checks against at run time.

/** Every reason, in the order the docs list them. */
export const REASONS = [
  "ConnectionRefused",
  "AddressInUse",
  "PermissionDenied",
  "NotCapable",
  "Closed",
  "TimedOut",
  "ConnectionReset",
  "BrokenPipe",
  "NotFound",
  "HostNotFound",
  "InvalidAddress",
  "InvalidData",
  "UnexpectedEof",
  "ResourceExhausted",
  "Unsupported",
  "Unknown",
] as const;
/** Any reason. */
export type Reason = typeof REASONS[number];

/** Reasons `connect` can fail with. */
export const CONNECT_REASONS = [
  "ConnectionRefused",
  "PermissionDenied",
  "NotCapable",
  "TimedOut",
  "ConnectionReset",
  "NotFound",
  "HostNotFound",
  "InvalidAddress",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons `connect` can fail with. */
export type ConnectReason = typeof CONNECT_REASONS[number];

/** Reasons `listen` can fail with. */
export const LISTEN_REASONS = [
  "AddressInUse",
  "PermissionDenied",
  "NotCapable",
  "NotFound",
  "HostNotFound",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons `listen` can fail with. */
export type ListenReason = typeof LISTEN_REASONS[number];

/** Reasons `accept` can fail with. */
export const ACCEPT_REASONS = [
  "Closed",
  "ConnectionReset",
  "InvalidData",
  "ResourceExhausted",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons `accept` can fail with. */
export type AcceptReason = typeof ACCEPT_REASONS[number];

/** Reasons a read can fail with. */
export const READ_REASONS = [
  "Closed",
  "ConnectionReset",
  "TimedOut",
  "InvalidData",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons a read can fail with. */
export type ReadReason = typeof READ_REASONS[number];

/** Reasons a write can fail with. */
export const WRITE_REASONS = [
  "Closed",
  "ConnectionReset",
  "BrokenPipe",
  "TimedOut",
  "InvalidData",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons a write can fail with. */
export type WriteReason = typeof WRITE_REASONS[number];

/** Reasons setting a socket option can fail with. */
export const OPTION_REASONS = ["Closed", "Unknown"] as const satisfies ReadonlyArray<Reason>;
/** Reasons setting a socket option can fail with. */
export type OptionReason = typeof OPTION_REASONS[number];

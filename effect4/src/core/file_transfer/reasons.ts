// Every reason a file transfer can fail for, written once: the type and the
// run-time set (which checks the reason a peer reports) both derive from it.

/** Every reason, in the order the docs list them. */
export const TRANSFER_REASONS = [
  "InvalidName",
  "AlreadyExists",
  "TooLarge",
  "SizeMismatch",
  "ChecksumMismatch",
  "ProtocolError",
  "Disconnected",
  "TimedOut",
  "FileSystem",
  "Connection",
] as const;
/** Why a transfer failed. */
export type TransferReason = typeof TRANSFER_REASONS[number];

const reasons: ReadonlySet<string> = new Set(TRANSFER_REASONS);

/** True for one of {@link TRANSFER_REASONS} (a peer's failure frame names any string). */
export const isTransferReason = (value: unknown): value is TransferReason =>
  typeof value === "string" && reasons.has(value);

/** How each reason reads in a message. */
export const TRANSFER_REASON_TEXT: Readonly<Record<TransferReason, string>> = {
  InvalidName: "invalid file name",
  AlreadyExists: "file already exists",
  TooLarge: "file too large",
  SizeMismatch: "size mismatch",
  ChecksumMismatch: "checksum mismatch",
  ProtocolError: "protocol error",
  Disconnected: "peer disconnected",
  TimedOut: "timed out",
  FileSystem: "file system error",
  Connection: "connection error",
};

// The reasons TLS operations can fail with, each list written once: the
// types and the run-time sets derive from these arrays.
import { CONNECT_REASONS, LISTEN_REASONS, type Reason } from "../reasons.ts";

/** Reasons a TLS handshake can fail with. */
export const HANDSHAKE_REASONS = [
  "InvalidData",
  "TimedOut",
  "Closed",
  "ConnectionReset",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/**
 * Reasons a TLS handshake can fail with.
 *
 * @example
 * ```ts
 * import type { HandshakeReason } from "@fibernet/socket/core";
 * const reason: HandshakeReason = "TimedOut";
 * ```
 */
export type HandshakeReason = typeof HANDSHAKE_REASONS[number];

/** Reasons reading PEM text or files can fail with. */
export const PEM_REASONS = [
  "InvalidData",
  "NotFound",
  "PermissionDenied",
  "NotCapable",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons reading PEM text or files can fail with. */
export type PemReason = typeof PEM_REASONS[number];

/** Reasons a TLS connect can fail with: a TCP connect's, and the handshake's. */
export const TLS_CONNECT_REASONS = [
  ...CONNECT_REASONS,
  ...HANDSHAKE_REASONS,
] as const satisfies ReadonlyArray<Reason>;
/** Reasons a TLS connect can fail with. */
export type TlsConnectReason = typeof TLS_CONNECT_REASONS[number];

/** Reasons a TLS listen can fail with: a TCP listen's, and a certificate or key that cannot be used. */
export const TLS_LISTEN_REASONS = [
  ...LISTEN_REASONS,
  "InvalidData",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons a TLS listen can fail with. */
export type TlsListenReason = typeof TLS_LISTEN_REASONS[number];

/** Reasons a client-side STARTTLS can fail with: the handshake's, a CA file's, or no upgrade possible. */
export const START_TLS_REASONS = [
  ...HANDSHAKE_REASONS,
  "Unsupported",
  "NotFound",
  "PermissionDenied",
  "NotCapable",
] as const satisfies ReadonlyArray<Reason>;
/** Reasons a client-side STARTTLS can fail with. */
export type StartTlsReason = typeof START_TLS_REASONS[number];

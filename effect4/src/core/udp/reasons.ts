// The reasons each UDP operation can fail with, each list written once: the
// faces derive their types from these lists and check against their sets.
import type { Reason } from "../reasons.ts";

/**
 * Reasons binding (or connecting) a datagram endpoint can fail with.
 *
 * @example
 * ```ts
 * import { UDP_BIND_REASONS } from "@fibernet/socket/core";
 * console.log(UDP_BIND_REASONS.includes("AddressInUse")); // true
 * ```
 */
export const UDP_BIND_REASONS = [
  "AddressInUse",
  "PermissionDenied",
  "NotCapable",
  "HostNotFound",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/**
 * One of {@link UDP_BIND_REASONS}.
 *
 * @example
 * ```ts
 * import type { UdpBindReason } from "@fibernet/socket/core";
 * const r: UdpBindReason = "AddressInUse";
 * ```
 */
export type UdpBindReason = typeof UDP_BIND_REASONS[number];

/**
 * Reasons a send can fail with. `InvalidData` is a payload too large for
 * UDP; `InvalidAddress` a destination the endpoint cannot reach (malformed,
 * port 0, or the other IP version).
 *
 * @example
 * ```ts
 * import { UDP_SEND_REASONS } from "@fibernet/socket/core";
 * console.log(UDP_SEND_REASONS.includes("InvalidData")); // true
 * ```
 */
export const UDP_SEND_REASONS = [
  "Closed",
  "InvalidAddress",
  "InvalidData",
  "HostNotFound",
  "PermissionDenied",
  "NotCapable",
  "ResourceExhausted",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/**
 * One of {@link UDP_SEND_REASONS}.
 *
 * @example
 * ```ts
 * import type { UdpSendReason } from "@fibernet/socket/core";
 * const r: UdpSendReason = "InvalidData";
 * ```
 */
export type UdpSendReason = typeof UDP_SEND_REASONS[number];

/**
 * Reasons a socket option (broadcast, multicast) can fail with;
 * `Unsupported` means the backend in use cannot do it.
 *
 * @example
 * ```ts
 * import { UDP_OPTION_REASONS } from "@fibernet/socket/core";
 * console.log(UDP_OPTION_REASONS.includes("Unsupported")); // true
 * ```
 */
export const UDP_OPTION_REASONS = [
  "Closed",
  "InvalidAddress",
  "Unsupported",
  "Unknown",
] as const satisfies ReadonlyArray<Reason>;
/**
 * One of {@link UDP_OPTION_REASONS}.
 *
 * @example
 * ```ts
 * import type { UdpOptionReason } from "@fibernet/socket/core";
 * const r: UdpOptionReason = "Unsupported";
 * ```
 */
export type UdpOptionReason = typeof UDP_OPTION_REASONS[number];

/**
 * Reasons a receive can fail with: only that the endpoint is closed.
 *
 * @example
 * ```ts
 * import { UDP_RECEIVE_REASONS } from "@fibernet/socket/core";
 * console.log(UDP_RECEIVE_REASONS); // ["Closed"]
 * ```
 */
export const UDP_RECEIVE_REASONS = ["Closed"] as const satisfies ReadonlyArray<Reason>;
/**
 * One of {@link UDP_RECEIVE_REASONS}.
 *
 * @example
 * ```ts
 * import type { UdpReceiveReason } from "@fibernet/socket/core";
 * const r: UdpReceiveReason = "Closed";
 * ```
 */
export type UdpReceiveReason = typeof UDP_RECEIVE_REASONS[number];

// One UDP datagram as the core hands it out, and the size limits of one.
import type { InetAddress } from "../address.ts";

/**
 * One received datagram and its sender (`recvfrom`'s `(data, address)`).
 *
 * @example
 * ```ts
 * import type { Datagram } from "@fibernet/socket/core";
 * const size = (d: Datagram): number => d.data.length;
 * ```
 */
export interface Datagram {
  /** The payload, exactly as sent. */
  readonly data: Uint8Array;
  /** The sender. IPv4-mapped IPv6 senders (`::ffff:1.2.3.4`) are shown as IPv4. */
  readonly from: InetAddress;
}

/**
 * The largest UDP payload over IPv4: 65 535 − 20 (IP header) − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { MAX_IPV4_PAYLOAD } from "@fibernet/socket/core";
 * const fits = (bytes: Uint8Array): boolean => bytes.length <= MAX_IPV4_PAYLOAD;
 * ```
 */
export const MAX_IPV4_PAYLOAD: number = 65507;

/**
 * The largest UDP payload over IPv6 (without jumbograms): 65 535 − 8 (UDP header).
 *
 * @example
 * ```ts
 * import { MAX_IPV6_PAYLOAD } from "@fibernet/socket/core";
 * console.log(MAX_IPV6_PAYLOAD); // 65527
 * ```
 */
export const MAX_IPV6_PAYLOAD: number = 65527;

/** Receive buffer: larger than any UDP payload, so a datagram that fills it was truncated. */
export const RECEIVE_BUFFER = 65536;

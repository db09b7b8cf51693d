// Where a datagram addressed to `to` really goes from an endpoint of one IP
// version, or why it cannot go there, before anything is sent.
import {
  type Address,
  format,
  inet,
  type InetAddress,
  InvalidAddress,
  isIpv4,
  isIpv6,
  resolve,
} from "../address.ts";
import type { Failure } from "../failure.ts";
import type { UdpSendReason } from "./reasons.ts";

/** The endpoint a destination is checked against. */
export interface Sender {
  /** Its IP version. */
  readonly family: 4 | 6;
  /** Bound to `::`: it reaches IPv4 through IPv4-mapped addresses. */
  readonly dualStack: boolean;
  /** Its address, formatted, for messages. */
  readonly label: string;
}

const refused = (address: string, detail: string): Failure<UdpSendReason> => ({
  reason: "InvalidAddress",
  operation: "send",
  address,
  detail,
});

/** The address to hand the backend for `to` (validated; port 0 refused), or why not. */
export const destination = (
  to: Address | string,
  from: Sender,
): InetAddress | Failure<UdpSendReason> => {
  const address = resolve(to);
  if (address instanceof InvalidAddress) return refused(address.address, address.detail);
  if (address._tag !== "TcpAddress") {
    return refused(format(address), "UDP sends to host:port, not to a unix path");
  }
  const { hostname, port } = address;
  if (from.family === 4 && isIpv6(hostname)) {
    return refused(
      format(address),
      `this endpoint is bound to IPv4 (${from.label}) and cannot send to an IPv6 address; bind one to [::1]:0 or [::]:0`,
    );
  }
  if (from.family === 6 && isIpv4(hostname)) {
    if (from.dualStack) return inet(`::ffff:${hostname}`, port);
    return refused(
      format(address),
      `this endpoint is bound to IPv6 (${from.label}) and cannot send to an IPv4 address; bind one to 127.0.0.1:0 or 0.0.0.0:0, or to [::]:0 for both`,
    );
  }
  return address;
};

// A host name resolved once to one IP literal, as binding and connecting a
// datagram endpoint need (a socket is of one IP version).
import { canonicalIpv6, format, inet, isIpv4, isIpv6 } from "../address.ts";
import { classify } from "../classify.ts";
import type { Failure } from "../failure.ts";
import { notCapable } from "./permission.ts";
import { UDP_BIND_REASONS, type UdpBindReason } from "./reasons.ts";

/** An IP literal and its version. */
export interface Resolved {
  readonly ip: string;
  readonly family: 4 | 6;
}

const bindReasons: ReadonlySet<UdpBindReason> = new Set(UDP_BIND_REASONS);
let dnsModule: Promise<typeof import("node:dns")> | undefined;

/** `hostname` as one IP literal (an IP literal is returned as it is, IPv6 in canonical form). */
export const resolveHost = async (
  hostname: string,
  port: number,
  operation: "bind" | "connect",
): Promise<Resolved | Failure<UdpBindReason>> => {
  if (isIpv4(hostname)) return { ip: hostname, family: 4 };
  if (isIpv6(hostname)) return { ip: canonicalIpv6(hostname), family: 6 };
  try {
    dnsModule ??= import("node:dns");
    const dns = await dnsModule;
    const found = await dns.promises.lookup(hostname);
    return { ip: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    if ((error as { code?: unknown }).code === "EPERM") {
      return notCapable(operation, hostname, port);
    }
    return classify(error, operation, format(inet(hostname, port)), bindReasons);
  }
};

// The faster backend: Deno's own `Deno.listenDatagram`, present only under
// `--unstable-net`. One receive loop reads every datagram into one reused
// buffer. Its sockets always have SO_BROADCAST on, and their multicast TTL
// and loopback can be set only per joined group.
import { isIpv6 } from "../address.ts";
import type { Failure } from "../failure.ts";
import { type Inbox, type OpenPlan, type RawDatagramSocket, unsupported } from "./backend.ts";
import { RECEIVE_BUFFER } from "./datagram.ts";
import type { UdpOptionReason } from "./reasons.ts";

/** The unstable `Deno.DatagramConn`, typed here so stable type checking passes. */
interface DenoDatagramConn {
  readonly addr: Deno.Addr;
  receive(buffer?: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  send(data: Uint8Array, to: Deno.Addr): Promise<number>;
  close(): void;
  joinMulticastV4(group: string, iface: string): Promise<DenoMembership>;
  joinMulticastV6(group: string, iface: number): Promise<DenoMembership>;
}
interface DenoMembership {
  leave(): Promise<void> | void;
  setLoopback(on: boolean): Promise<void> | void;
  setTTL?(ttl: number): Promise<void> | void;
}
type ListenDatagram = (options: {
  transport: "udp";
  hostname: string;
  port: number;
  reuseAddress?: boolean;
}) => DenoDatagramConn;

/** Binds a Deno.listenDatagram socket as planned and starts reading into `inbox`. */
export const openDeno = (plan: OpenPlan, inbox: Inbox): RawDatagramSocket => {
  const listen = (Deno as unknown as { listenDatagram: ListenDatagram }).listenDatagram;
  const conn = listen({
    transport: "udp",
    hostname: plan.ip,
    port: plan.port,
    reuseAddress: plan.reuseAddress,
  });
  const addr = conn.addr as Deno.NetAddr;
  let closed = false;
  const memberships = new Map<string, DenoMembership>();
  const pump = async () => {
    const buffer = new Uint8Array(RECEIVE_BUFFER);
    let failures = 0;
    while (!closed) {
      try {
        const [view, from] = await conn.receive(buffer);
        failures = 0;
        const net = from as Deno.NetAddr;
        inbox.deliver(view, net.hostname, net.port);
      } catch (error) {
        if (closed) return;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          inbox.lost();
          return;
        }
        // Anything else (an ICMP error reported by the OS, ENOBUFS, …) is
        // counted and skipped; back off if it repeats so it cannot spin.
        inbox.error(error);
        failures++;
        if (failures > 1) {
          await new Promise((r) => setTimeout(r, Math.min(1000, 2 ** Math.min(failures, 10))));
        }
      }
    }
  };
  pump();
  const key = (group: string, iface: string | undefined) => `${group}%${iface ?? ""}`;
  /** Applies `f` to every joined group: Deno sets TTL and loopback per membership. */
  const eachMembership = async (
    f: (m: DenoMembership) => Promise<Failure<UdpOptionReason> | undefined | void> | void,
    what: string,
  ): Promise<Failure<UdpOptionReason> | undefined> => {
    if (memberships.size === 0) {
      return unsupported(
        `the Deno.listenDatagram backend can set ${what} only after joinMulticast; use backend: "node:dgram"`,
      );
    }
    for (const m of memberships.values()) {
      const refused = await f(m);
      if (refused) return refused;
    }
    return undefined;
  };
  return {
    hostname: addr.hostname,
    port: addr.port,
    send: (bytes, hostname, port, done) => {
      let sending: Promise<number>;
      try {
        sending = conn.send(bytes, { transport: "udp", hostname, port });
      } catch (error) {
        sending = Promise.reject(error);
      }
      sending.then(() => done(null), done);
    },
    setBroadcast: (on) =>
      // Deno turns SO_BROADCAST on for every UDP socket and offers no way back.
      on ? undefined : unsupported(
        'Deno.listenDatagram sockets always allow broadcast; use backend: "node:dgram" to forbid it',
      ),
    join: async (group, iface) => {
      let membership: DenoMembership;
      if (isIpv6(group)) {
        if (iface !== undefined && !/^\d+$/.test(iface)) {
          return unsupported(
            "the Deno.listenDatagram backend takes an IPv6 interface as its index number",
          );
        }
        membership = await conn.joinMulticastV6(group, iface === undefined ? 0 : Number(iface));
      } else {
        membership = await conn.joinMulticastV4(group, iface ?? "0.0.0.0");
      }
      memberships.set(key(group, iface), membership);
      return undefined;
    },
    leave: async (group, iface) => {
      const membership = memberships.get(key(group, iface));
      if (membership === undefined) {
        return {
          reason: "InvalidAddress",
          operation: "setOption",
          address: group,
          detail: "this endpoint is not a member of that group",
        };
      }
      memberships.delete(key(group, iface));
      await membership.leave();
      return undefined;
    },
    setMulticastTTL: (ttl) =>
      eachMembership(async (m) => {
        if (m.setTTL === undefined) return unsupported("Deno cannot set an IPv6 multicast TTL");
        await m.setTTL(ttl);
      }, "the multicast TTL"),
    setMulticastLoopback: (on) => eachMembership((m) => m.setLoopback(on), "multicast loopback"),
    setMulticastInterface: () =>
      unsupported(
        'the Deno.listenDatagram backend cannot choose the multicast interface; use backend: "node:dgram"',
      ),
    close: () => {
      if (closed) return;
      closed = true;
      conn.close();
    },
  };
};

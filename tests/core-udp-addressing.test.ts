// Where a datagram may go, which options an endpoint accepts, and the IP
// helpers they rest on: plain functions of the core, tested without sockets.
import { describe, expect, it } from "vitest";
import { canonicalIpv6, isLoopback, isMulticast, unmapIpv4 } from "../src/core/address.ts";
import { destination, type Sender } from "../src/core/udp/destination.ts";
import { chooseBackend, queueLimits } from "../src/core/udp/options.ts";
import { hasListenDatagram } from "../src/core/udp/backend.ts";

const v4: Sender = { family: 4, dualStack: false, label: "127.0.0.1:5000" };
const v6: Sender = { family: 6, dualStack: false, label: "[::1]:5000" };
const both: Sender = { family: 6, dualStack: true, label: "[::]:5000" };

/** The reason of a failure, or the destination as host:port. */
const where = (result: ReturnType<typeof destination>): string =>
  "reason" in result ? result.reason : `${result.hostname}:${result.port}`;

describe("destination", () => {
  it("passes addresses of the endpoint's IP version and host names", () => {
    expect(where(destination("127.0.0.1:9", v4))).toBe("127.0.0.1:9");
    expect(where(destination({ _tag: "TcpAddress", hostname: "::1", port: 9 }, v6))).toBe("::1:9");
    expect(where(destination("localhost:9", v4))).toBe("localhost:9");
    expect(where(destination("localhost:9", v6))).toBe("localhost:9");
  });

  it("sends IPv4 from a dual-stack endpoint through the IPv4-mapped address", () => {
    expect(where(destination("127.0.0.1:9", both))).toBe("::ffff:127.0.0.1:9");
  });

  it("refuses the other IP version with a hint, and malformed or unusable addresses", () => {
    const cross = destination("[::1]:9", v4);
    expect("reason" in cross && cross.detail).toContain("bind one to [::1]:0");
    const back = destination("127.0.0.1:9", v6);
    expect("reason" in back && back.detail).toContain("[::]:0 for both");
    for (const bad of ["127.0.0.1:0", "unix:/tmp/x.sock", "nope", "[::1:9", "300.1.1.1:9"]) {
      const result = destination(bad, v4);
      expect(where(result), bad).toBe("InvalidAddress");
      expect("reason" in result && result.operation).toBe("send");
    }
    // Text from the program is quoted in the failure, as given.
    const quoted = destination("nope", v4);
    expect("reason" in quoted && quoted.address).toBe('"nope"');
    expect(where(destination({ _tag: "TcpAddress", hostname: "127.0.0.1", port: 0 }, v4)))
      .toBe("InvalidAddress");
  });
});

describe("endpoint options", () => {
  it("defaults: 1024 datagrams, 4 MiB, dropNewest", () => {
    expect(queueLimits(undefined)).toEqual({
      capacity: 1024,
      maxBytes: 4 * 1024 * 1024,
      overflow: "dropNewest",
    });
    expect(queueLimits({ queueCapacity: 8, overflow: "dropOldest" })).toMatchObject({
      capacity: 8,
      overflow: "dropOldest",
    });
  });

  it("refuses bad bounds, policies and backends, naming what is wrong", () => {
    const refused = (options: Parameters<typeof chooseBackend>[0]) => {
      const result = chooseBackend(options, "127.0.0.1:0");
      return typeof result === "string" ? result : `${result.reason}: ${result.detail}`;
    };
    expect(refused({ queueCapacity: 0 })).toMatch(/^InvalidAddress: queueCapacity/);
    expect(refused({ queueCapacity: 2.5 })).toMatch(/^InvalidAddress: queueCapacity/);
    expect(refused({ queueBytes: -1 })).toMatch(/^InvalidAddress: queueBytes/);
    expect(refused({ overflow: "dropAll" as never })).toBe(
      'InvalidAddress: overflow must be "dropNewest" or "dropOldest", got dropAll',
    );
    expect(refused({ backend: "raw" as never })).toBe('InvalidAddress: unknown backend "raw"');
    expect(refused({ backend: "node:dgram" })).toBe("node:dgram");
    expect(refused(undefined)).toBe(hasListenDatagram() ? "Deno.listenDatagram" : "node:dgram");
    expect(refused({ backend: "Deno.listenDatagram" })).toMatch(
      hasListenDatagram() ? /^Deno\.listenDatagram$/ : /^Unsupported: .*--unstable-net/,
    );
  });
});

describe("IP helpers", () => {
  it("canonical IPv6 text, and IPv4-mapped addresses as IPv4", () => {
    expect(canonicalIpv6("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIpv6("FE80:0::1")).toBe("fe80::1");
    expect(canonicalIpv6("not an address")).toBe("not an address");
    expect(unmapIpv4("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(unmapIpv4("::FFFF:10.1.2.3")).toBe("10.1.2.3");
    expect(unmapIpv4("::1")).toBe("::1");
    expect(unmapIpv4("10.1.2.3")).toBe("10.1.2.3");
  });

  it("loopback and multicast addresses", () => {
    for (const host of ["127.0.0.1", "127.255.0.9", "::1", "0::1", "localhost"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["10.0.0.1", "::", "::2", "127.0.0.300", "example.com"]) {
      expect(isLoopback(host), host).toBe(false);
    }
    for (const host of ["224.0.0.1", "239.255.77.77", "ff02::1", "FF05::2"]) {
      expect(isMulticast(host), host).toBe(true);
    }
    for (const host of ["223.255.255.255", "240.0.0.1", "127.0.0.1", "fe80::1", "ff"]) {
      expect(isMulticast(host), host).toBe(false);
    }
  });
});

import { describe, expect, it } from "@effect/vitest";
import { Effect, Result } from "effect";
import { Address, SocketKind } from "../mod.ts";
import { text } from "./_support/bytes.ts";
import { hasIpv6 } from "./_support/net.ts";
import { tempDir } from "./_support/paths.ts";

describe("SocketKind", () => {
  it("maps Python's families and types to modules; raw, RDM and seqpacket are Unsupported", () => {
    expect(SocketKind.moduleFor("AF_INET", "SOCK_STREAM")).toEqual(Result.succeed("Tcp"));
    expect(SocketKind.moduleFor("AF_INET6", "SOCK_STREAM")).toEqual(Result.succeed("Tcp"));
    expect(SocketKind.moduleFor("AF_INET", "SOCK_DGRAM")).toEqual(Result.succeed("Udp"));
    expect(SocketKind.moduleFor("AF_INET6", "SOCK_DGRAM")).toEqual(Result.succeed("Udp"));
    expect(SocketKind.moduleFor("AF_UNIX", "SOCK_STREAM")).toEqual(Result.succeed("Unix"));
    const expectations: Array<[SocketKind.Family, SocketKind.Type, string]> = [
      ["AF_INET", "SOCK_RAW", "CAP_NET_RAW"],
      ["AF_INET6", "SOCK_RAW", "ping"],
      ["AF_INET", "SOCK_RDM", "reliable datagram"],
      ["AF_INET", "SOCK_SEQPACKET", "SOCK_SEQPACKET"],
      ["AF_UNIX", "SOCK_SEQPACKET", "Framing.lengthPrefixed"],
      ["AF_UNIX", "SOCK_DGRAM", "unixpacket"],
    ];
    for (const [family, type, why] of expectations) {
      const result = SocketKind.moduleFor(family, type);
      expect(Result.isFailure(result)).toBe(true);
      if (Result.isFailure(result)) {
        expect(result.failure.reason).toBe("Unsupported");
        expect(result.failure.message).toContain(why);
        expect(result.failure.message).toContain(`${family}, ${type}`);
      }
    }
    const unknown = SocketKind.moduleFor("AF_PACKET" as SocketKind.Family, "SOCK_STREAM");
    expect(Result.isFailure(unknown) && unknown.failure.reason).toBe("InvalidAddress");
  });

  it.live("bind and connect open the right kind of socket, like socket.socket(family, type)", () =>
    Effect.gen(function* () {
      // SOCK_DGRAM over AF_INET: the tutorial's UDP pair.
      const server = yield* SocketKind.bind("AF_INET", "SOCK_DGRAM", "127.0.0.1:0");
      const client = yield* SocketKind.connect(
        "AF_INET",
        "SOCK_DGRAM",
        Address.format(server.address),
      );
      yield* client.send("udp hello");
      const got = yield* server.receive;
      expect(text(got.data)).toBe("udp hello");
      // SOCK_STREAM over AF_INET6 (or AF_INET without IPv6).
      const family = hasIpv6 ? "AF_INET6" : "AF_INET";
      const listener = yield* SocketKind.bind(
        family,
        "SOCK_STREAM",
        hasIpv6 ? "[::1]:0" : "127.0.0.1:0",
      );
      const conn = yield* SocketKind.connect(family, "SOCK_STREAM", listener.address);
      const accepted = yield* listener.accept;
      yield* conn.write("tcp hello");
      expect(text(yield* accepted.readExactly(9))).toBe("tcp hello");
      yield* accepted.close;
      // SOCK_STREAM over AF_UNIX.
      const dir = yield* tempDir;
      const unixListener = yield* SocketKind.bind("AF_UNIX", "SOCK_STREAM", `${dir}/k.sock`);
      const unixConn = yield* SocketKind.connect("AF_UNIX", "SOCK_STREAM", `${dir}/k.sock`);
      const unixAccepted = yield* unixListener.accept;
      yield* unixConn.write("unix hello");
      expect(text(yield* unixAccepted.readExactly(10))).toBe("unix hello");
      yield* unixAccepted.close;
    }));

  it.live("unsupported kinds and addresses of the wrong family fail, typed", () =>
    Effect.gen(function* () {
      for (const type of ["SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"] as const) {
        const bound = yield* Effect.result(SocketKind.bind("AF_INET", type, "127.0.0.1:0"));
        expect(Result.isFailure(bound) && bound.failure.reason).toBe("Unsupported");
        const connected = yield* Effect.result(SocketKind.connect("AF_INET", type, "127.0.0.1:9"));
        expect(Result.isFailure(connected) && connected.failure.reason).toBe("Unsupported");
      }
      const unixDgram = yield* Effect.result(SocketKind.bind("AF_UNIX", "SOCK_DGRAM", "/tmp/x"));
      expect(Result.isFailure(unixDgram) && unixDgram.failure.reason).toBe("Unsupported");
      const v6AsV4 = yield* Effect.result(SocketKind.bind("AF_INET", "SOCK_DGRAM", "[::1]:0"));
      expect(Result.isFailure(v6AsV4) && v6AsV4.failure.reason).toBe("InvalidAddress");
      const v4AsV6 = yield* Effect.result(
        SocketKind.bind("AF_INET6", "SOCK_STREAM", "127.0.0.1:0"),
      );
      expect(Result.isFailure(v4AsV6) && v4AsV6.failure.reason).toBe("InvalidAddress");
      const pathAsInet = yield* Effect.result(
        SocketKind.connect("AF_INET", "SOCK_STREAM", "unix:/tmp/x.sock"),
      );
      expect(Result.isFailure(pathAsInet) && pathAsInet.failure.reason).toBe("InvalidAddress");
      const inetAsUnix = yield* Effect.result(
        SocketKind.connect("AF_UNIX", "SOCK_STREAM", Address.inet("127.0.0.1", 80)),
      );
      expect(Result.isFailure(inetAsUnix) && inetAsUnix.failure.reason).toBe("InvalidAddress");
    }));
});

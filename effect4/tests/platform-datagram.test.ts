// DenoDatagramSocket through Effect 4's own DatagramSocket API
// (effect/socket/DatagramSocket), over real UDP sockets on loopback.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Schedule } from "effect";
import * as NetAddress from "effect/net/NetAddress";
import type * as Scope from "effect/Scope";
import type * as DatagramSocket from "effect/socket/DatagramSocket";
import { DenoDatagramSocket } from "../src/platform/mod.ts";
import { text } from "./_support/bytes.ts";
import { hasIpv6 } from "./_support/net.ts";

/** A UDP echo on `bind`, in the test's scope: every datagram back to its sender. */
const echoServer = (
  bind: string,
): Effect.Effect<NetAddress.InetAddress, DatagramSocket.DatagramSocketError, Scope.Scope> =>
  Effect.gen(function* () {
    const socket = yield* DenoDatagramSocket.make({ bind });
    const reader = yield* socket.reader;
    const writer = yield* socket.writer;
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(reader.pull, (datagrams) =>
        Effect.forEach(
          datagrams,
          (received) => writer.write({ payload: received.payload, address: received }),
          { discard: true },
        ))),
    );
    return reader.address;
  });

describe("DenoDatagramSocket (effect/socket/DatagramSocket)", () => {
  it.live("an echo: a connected client's datagrams come back, boundaries kept", () =>
    Effect.gen(function* () {
      const server = yield* echoServer("127.0.0.1:0");
      expect(NetAddress.isInetAddressV4(server)).toBe(true);
      expect(server.port).toBeGreaterThan(0);
      const client = yield* DenoDatagramSocket.make({ connect: NetAddress.formatInet(server) });
      const reader = yield* client.reader;
      const writer = yield* client.writer;
      yield* writer.writeAll([{ payload: "one" }, { payload: new TextEncoder().encode("two") }]);
      const got: Array<string> = [];
      while (got.length < 2) {
        for (const datagram of yield* reader.pull.pipe(Effect.timeout("5 seconds"))) {
          got.push(text(datagram.payload));
          expect(NetAddress.formatInet(datagram.address)).toBe(NetAddress.formatInet(server));
        }
      }
      // UDP keeps boundaries, not order.
      expect(got.sort()).toEqual(["one", "two"]);
      // A connected socket refuses an explicit destination (Effect's own rule).
      const refused = yield* Effect.flip(writer.write({ payload: "x", address: server }));
      expect(refused.reason._tag).toBe("DatagramSocketWriteError");
    }));

  it.live("a datagram already queued is pulled without suspending", () =>
    Effect.gen(function* () {
      const a = yield* DenoDatagramSocket.make({ bind: "127.0.0.1:0" });
      const reader = yield* a.reader;
      const b = yield* DenoDatagramSocket.make({ connect: NetAddress.formatInet(reader.address) });
      yield* b.reader;
      const writer = yield* b.writer;
      yield* writer.write({ payload: "queued" });
      // Wait until it is there, without pulling.
      yield* Effect.sleep("50 millis");
      const [datagram] = Effect.runSync(reader.pull);
      expect(text(datagram.payload)).toBe("queued");
    }));

  it.live("a payload too large for UDP fails its write with MessageTooLarge; nothing is sent", () =>
    Effect.gen(function* () {
      const server = yield* echoServer("127.0.0.1:0");
      const client = yield* DenoDatagramSocket.make({ bind: "127.0.0.1:0" });
      yield* client.reader;
      const writer = yield* client.writer;
      const error = yield* Effect.flip(
        writer.write({ payload: new Uint8Array(70_000), address: server }),
      );
      expect(error.reason).toMatchObject({
        _tag: "DatagramSocketWriteError",
        kind: "MessageTooLarge",
        cause: { _tag: "SocketError", reason: "InvalidData" },
      });
      expect(String((error.reason as DatagramSocket.DatagramSocketWriteError).cause)).toContain(
        "at most 65507 bytes",
      );
    }));

  it.live("binding an address in use fails the reader's acquisition: OpenError AddressInUse", () =>
    Effect.gen(function* () {
      const first = yield* DenoDatagramSocket.make({ bind: "127.0.0.1:0" });
      const taken = (yield* first.reader).address;
      const second = yield* DenoDatagramSocket.make({ bind: NetAddress.formatInet(taken) });
      const error = yield* Effect.flip(Effect.scoped(second.reader));
      expect(error.reason).toMatchObject({
        _tag: "DatagramSocketOpenError",
        kind: "AddressInUse",
        cause: { _tag: "SocketError", reason: "AddressInUse" },
      });
    }));

  it.live("writes wait for a reader; closing the reader's scope fails a waiting pull", () =>
    Effect.gen(function* () {
      const socket = yield* DenoDatagramSocket.make({ bind: "127.0.0.1:0" });
      const writer = yield* socket.writer;
      const pending = yield* Effect.flip(
        writer.write({
          payload: "x",
          address: NetAddress.inetAddressFromStringUnsafe("127.0.0.1:9"),
        })
          .pipe(Effect.timeout("50 millis")),
      );
      expect(pending._tag).toBe("TimeoutError");
      const waiting = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        const fiber = yield* Effect.forkDetach(Effect.flip(reader.pull));
        yield* Effect.sleep("20 millis");
        return fiber;
      }));
      const closed = yield* Fiber.join(waiting).pipe(Effect.timeout("5 seconds"));
      expect(closed.reason._tag).toBe("DatagramSocketClosedError");
    }));

  it.live("source-specific multicast is unsupported, said as such", () =>
    Effect.gen(function* () {
      const socket = yield* DenoDatagramSocket.make({ bind: "0.0.0.0:0" });
      const reader = yield* socket.reader;
      const group = NetAddress.ipv4FromString("239.1.2.3");
      const source = NetAddress.ipv4FromString("127.0.0.1");
      if (group._tag !== "Success" || source._tag !== "Success") throw new Error("bad literal");
      const error = yield* Effect.flip(Effect.scoped(reader.joinMulticast({
        group: group.success as NetAddress.MulticastAddress<NetAddress.Ipv4Address>,
        source: source.success,
      })));
      expect(error.reason).toMatchObject({
        _tag: "DatagramSocketUnsupportedError",
        runtime: "Deno",
      });
    }));

  it.live.skipIf(!hasIpv6)("over IPv6 loopback", () =>
    Effect.gen(function* () {
      const server = yield* echoServer("[::1]:0");
      expect(NetAddress.isInetAddressV6(server)).toBe(true);
      const client = yield* DenoDatagramSocket.make({ bind: "[::1]:0" });
      const reader = yield* client.reader;
      const writer = yield* client.writer;
      yield* writer.write({ payload: "v6", address: server });
      const [reply] = yield* Effect.retry(reader.pull.pipe(Effect.timeout("2 seconds")), {
        schedule: Schedule.recurs(2),
      });
      expect(text(reply.payload)).toBe("v6");
    }));
});

import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Option, Result, Stream } from "effect";
import { Address, Connection, Listener, Tcp } from "../mod.ts";
import { concatBytes, pattern, sameBytes, text } from "./_support/bytes.ts";
import { hasIpv6, pair } from "./_support/net.ts";
import { pythonResettingServer } from "./_support/peers.ts";
import { needs } from "./_support/needs.ts";

describe("Tcp", () => {
  it.live("connects, exchanges data and reports both addresses", () =>
    Effect.gen(function* () {
      const { listener, client, server } = yield* pair();
      expect(client.remoteAddress).toEqual(listener.address);
      expect(server.remoteAddress).toEqual(client.localAddress);
      yield* client.write("hello 你好");
      const got = yield* server.readExactly(new TextEncoder().encode("hello 你好").length);
      expect(text(got)).toBe("hello 你好");
      expect(server.bytesRead).toBe(got.length);
      expect(client.bytesWritten).toBe(got.length);
    }));

  it.live("works over IPv6 on ::1", () =>
    Effect.gen(function* () {
      if (!hasIpv6) return console.warn("skipped: ::1 cannot be bound on this machine");
      const { listener, client, server } = yield* pair("::1");
      expect(Address.format(listener.address)).toMatch(/^\[::1\]:\d+$/);
      yield* client.write("six");
      expect(text(yield* server.readExactly(3))).toBe("six");
    }));

  it.live("listen on port 0 reports the real port", () =>
    Effect.gen(function* () {
      const listener = yield* Tcp.listen("127.0.0.1:0", { backlog: 5 });
      expect(listener.address._tag).toBe("TcpAddress");
      expect((listener.address as Address.InetAddress).port).toBeGreaterThan(0);
    }));

  it.live("read returns None at end of stream, every time", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* client.write("x");
      yield* client.close;
      expect(Option.map(yield* server.read(), text)).toEqual(Option.some("x"));
      expect(yield* server.read()).toEqual(Option.none());
      expect(yield* server.read()).toEqual(Option.none());
    }));

  it.live("read(maxBytes) never returns more than asked and loses nothing", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const data = pattern(10_000, 7);
      yield* client.write(data);
      yield* client.closeWrite;
      const parts: Uint8Array[] = [];
      while (true) {
        const chunk = yield* server.read(333);
        if (Option.isNone(chunk)) break;
        expect(chunk.value.length).toBeLessThanOrEqual(333);
        parts.push(chunk.value);
      }
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        all.set(p, offset);
        offset += p.length;
      }
      expect(sameBytes(all, data)).toBe(true);
    }));

  it.live("readExactly across several reads never takes bytes beyond n", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const data = pattern(150, 11);
      // The reader starts first, so its first read sees only 50 bytes; the next 100 arrive together.
      const reading = yield* Effect.forkChild(
        Effect.zip(server.readExactly(100), server.readExactly(50)),
      );
      yield* client.write(data.subarray(0, 50));
      yield* Effect.sleep(50);
      yield* client.write(data.subarray(50));
      const [first, second] = yield* Fiber.join(reading);
      expect(sameBytes(first, data.subarray(0, 100))).toBe(true);
      expect(sameBytes(second, data.subarray(100))).toBe(true);
    }));

  it.live("readExactly fails with UnexpectedEof when the stream ends first", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* client.write("abc");
      yield* client.closeWrite;
      const error = yield* Effect.flip(server.readExactly(10));
      expect(error.reason).toBe("UnexpectedEof");
      expect(error.message).toContain("3 of 10");
    }));

  it.live("half-close from the client: the server reads EOF and can still answer", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* client.write("question");
      yield* client.closeWrite;
      const received = yield* Stream.runCollect(server.stream);
      expect(text(received.reduce(concat, new Uint8Array()))).toBe("question");
      yield* server.write("answer");
      yield* server.close;
      expect(text(yield* client.readExactly(6))).toBe("answer");
      expect(yield* client.read()).toEqual(Option.none());
    }));

  it.live("half-close from the server: the client reads EOF and can still send", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* server.write("bye");
      yield* server.closeWrite;
      expect(text(yield* client.readExactly(3))).toBe("bye");
      expect(yield* client.read()).toEqual(Option.none());
      yield* client.write("still here");
      expect(text(yield* server.readExactly(10))).toBe("still here");
    }));

  it.live("writing after one's own closeWrite is BrokenPipe", () =>
    Effect.gen(function* () {
      const { client } = yield* pair();
      yield* client.closeWrite;
      const error = yield* Effect.flip(client.write("late"));
      expect(error.reason).toBe("BrokenPipe");
    }));

  needs("python3", it.live)(
    "a peer that resets the connection gives ConnectionReset",
    () =>
      Effect.gen(function* () {
        // A Python peer that closes with SO_LINGER 0, which sends RST instead of FIN.
        const { port, done } = yield* pythonResettingServer;
        const client = yield* Tcp.connect(`127.0.0.1:${port}`);
        yield* client.write("ping");
        const error = yield* Effect.flip(
          Effect.repeat(client.read(), { until: (chunk) => Option.isNone(chunk) }),
        );
        expect(error.reason).toBe("ConnectionReset");
        yield* Effect.promise(() => done);
      }),
  );

  it.live("operations after close fail with Closed; close is idempotent", () =>
    Effect.gen(function* () {
      const { client } = yield* pair();
      yield* client.close;
      yield* client.close;
      expect((yield* Effect.flip(client.read())).reason).toBe("Closed");
      expect((yield* Effect.flip(client.write("x"))).reason).toBe("Closed");
    }));

  it.live("closing the scope closes the socket: the peer sees end of stream", () =>
    Effect.gen(function* () {
      const listener = yield* Tcp.listen("127.0.0.1:0");
      const acceptFiber = yield* Effect.forkChild(Listener.acceptScoped(listener));
      yield* Effect.scoped(Effect.flatMap(Tcp.connect(listener.address), (c) => c.write("hi")));
      const server = yield* Fiber.join(acceptFiber);
      expect(text(yield* server.readExactly(2))).toBe("hi");
      expect(yield* server.read()).toEqual(Option.none());
    }));

  it.live(
    "64 MiB through a borrowing echo, every byte checked, with concurrent read and write",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        yield* Effect.forkChild(
          Effect.andThen(
            Connection.forEachChunk(server, server.write, { borrow: true }),
            server.closeWrite,
          ),
        );
        const size = 64 * 1024 * 1024;
        const data = pattern(size, 42);
        const writer = yield* Effect.forkChild(
          Effect.gen(function* () {
            for (let offset = 0; offset < size; offset += 1024 * 1024) {
              yield* client.write(data.subarray(offset, offset + 1024 * 1024));
            }
            yield* client.closeWrite;
          }),
        );
        let received = 0;
        let mismatch = -1;
        while (true) {
          const chunk = yield* client.read();
          if (Option.isNone(chunk)) break;
          const bytes = chunk.value;
          for (let i = 0; i < bytes.length; i++) {
            if (bytes[i] !== data[received + i]) {
              mismatch = received + i;
              break;
            }
          }
          if (mismatch >= 0) break;
          received += bytes.length;
        }
        yield* Fiber.join(writer);
        expect(mismatch).toBe(-1);
        expect(received).toBe(size);
      }),
    60_000,
  );

  it.live("chunks a caller keeps stay intact while other connections read and close", () =>
    Effect.gen(function* () {
      // Small reads land in small buffers that connections share and recycle;
      // a chunk that read() returned is the caller's and must never change.
      const kept: Array<{ chunk: Uint8Array; expected: Uint8Array }> = [];
      for (let round = 0; round < 4; round++) {
        yield* Effect.scoped(Effect.gen(function* () {
          const pairs = yield* Effect.forEach(Array.from({ length: 8 }), () => pair());
          for (const [i, { client, server }] of pairs.entries()) {
            for (const size of [40, 200, 256]) {
              const expected = pattern(size, round * 100 + i * 10 + size);
              yield* client.write(expected);
              const chunk = yield* server.readExactly(size);
              kept.push({ chunk, expected });
              const single = pattern(size, round + i + size + 1);
              yield* client.write(single);
              const got = yield* server.read(size);
              kept.push({
                chunk: Option.getOrThrow(got),
                expected: single.subarray(0, Option.getOrThrow(got).length),
              });
              const rest = size - Option.getOrThrow(got).length;
              if (rest > 0) yield* server.readExactly(rest);
            }
          }
        }));
      }
      expect(kept.length).toBe(4 * 8 * 3 * 2);
      expect(kept.every(({ chunk, expected }) => sameBytes(chunk, expected))).toBe(true);
    }));

  it.live("interrupting a pending read keeps the connection usable and loses no bytes", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const pending = yield* Effect.forkChild(server.read());
      yield* Effect.sleep(20);
      yield* Fiber.interrupt(pending);
      yield* client.write("after");
      expect(text(yield* server.readExactly(5))).toBe("after");
      // And again: interrupt a read that the data then completes in the background.
      const second = yield* Effect.forkChild(server.read());
      yield* Fiber.interrupt(second);
      yield* client.write("more");
      expect(text(yield* server.readExactly(4))).toBe("more");
    }));

  it.live(
    "concurrent writes from many fibers never interleave inside one write",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        const messages = Array.from({ length: 20 }, (_, i) => {
          const m = new Uint8Array(100_000);
          m.fill(i + 1);
          return m;
        });
        yield* Effect.forEach(messages, (m) => client.write(m), { concurrency: "unbounded" });
        yield* client.closeWrite;
        const all = yield* server.readExactly(20 * 100_000);
        for (let k = 0; k < 20; k++) {
          const block = all.subarray(k * 100_000, (k + 1) * 100_000);
          expect(block.every((b) => b === block[0])).toBe(true);
        }
      }),
    30_000,
  );

  it.live(
    "a queued write interrupted before it starts is dropped, not half-sent",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        // A big write that cannot finish while the peer is not reading.
        const big = pattern(32 * 1024 * 1024, 3);
        const first = yield* Effect.forkChild(client.write(big));
        yield* Effect.sleep(50);
        const queued = yield* Effect.forkChild(client.write("DROPPED"));
        yield* Fiber.interrupt(queued);
        const last = yield* Effect.forkChild(client.write("last"));
        const received = yield* server.readExactly(big.length + 4);
        yield* Fiber.join(first);
        yield* Fiber.join(last);
        expect(sameBytes(received.subarray(0, big.length), big)).toBe(true);
        expect(text(received.subarray(big.length))).toBe("last");
      }),
    30_000,
  );

  it.live("textStream never splits a multi-byte character", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const bytes = new TextEncoder().encode("欢迎🙂ok");
      // Send one byte at a time so every character is split on the wire.
      yield* Effect.forkChild(
        Effect.gen(function* () {
          for (const b of bytes) yield* client.write(new Uint8Array([b]));
          yield* client.closeWrite;
        }),
      );
      const pieces = yield* Stream.runCollect(server.textStream);
      expect(pieces.join("")).toBe("欢迎🙂ok");
      for (const piece of pieces) expect(piece).not.toContain("\uFFFD");
    }));

  it.live("invalid UTF-8 is InvalidData, not replacement characters", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* client.write(new Uint8Array([0xff, 0xfe, 0x41]));
      const error = yield* Effect.flip(server.readText());
      expect(error.reason).toBe("InvalidData");
    }));

  it.live("the sink writes every element", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* Stream.run(Stream.make("a", "b", new Uint8Array([99])), client.sink);
      expect(text(yield* server.readExactly(3))).toBe("abc");
      yield* client.setNoDelay(true);
      yield* client.setKeepAlive(true);
    }));
});

describe("Tcp errors", () => {
  it.live("connecting to a closed port is ConnectionRefused", () =>
    Effect.gen(function* () {
      const port = yield* Effect.scoped(
        Effect.map(Tcp.listen("127.0.0.1:0"), (l) => (l.address as Address.InetAddress).port),
      );
      const error = yield* Effect.flip(Tcp.connect(`127.0.0.1:${port}`));
      expect(error.reason).toBe("ConnectionRefused");
      expect(error.message).toContain(`127.0.0.1:${port}`);
    }));

  it.live("retry composes with Effect.retry", () =>
    Effect.gen(function* () {
      const port = yield* Effect.scoped(
        Effect.map(Tcp.listen("127.0.0.1:0"), (l) => (l.address as Address.InetAddress).port),
      );
      let attempts = 0;
      const result = yield* Effect.result(
        Effect.suspend(() => {
          attempts++;
          return Tcp.connect(`127.0.0.1:${port}`);
        }).pipe(Effect.retry({ times: 2 })),
      );
      expect(Result.isFailure(result)).toBe(true);
      expect(attempts).toBe(3);
    }));

  it.live("listening on a taken port is AddressInUse", () =>
    Effect.gen(function* () {
      const listener = yield* Tcp.listen("127.0.0.1:0");
      const error = yield* Effect.flip(Tcp.listen(listener.address));
      expect(error.reason).toBe("AddressInUse");
    }));

  it.live("bad addresses are InvalidAddress before any syscall", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(Tcp.connect("127.0.0.1:0"))).reason).toBe("InvalidAddress");
      expect((yield* Effect.flip(Tcp.connect("127.0.0.1:70000"))).reason).toBe("InvalidAddress");
      expect((yield* Effect.flip(Tcp.connect(":80"))).reason).toBe("InvalidAddress");
      expect((yield* Effect.flip(Tcp.connect("unix:/tmp/x"))).reason).toBe("InvalidAddress");
      expect((yield* Effect.flip(Tcp.listen("127.0.0.1:0", { backlog: -1 }))).reason).toBe(
        "InvalidAddress",
      );
    }));

  it.live("an unresolvable host is HostNotFound", () =>
    Effect.gen(function* () {
      // .invalid is reserved (RFC 6761): resolvers answer negatively at once.
      const error = yield* Effect.flip(Tcp.connect("no-such-host.invalid:80"));
      expect(error.reason).toBe("HostNotFound");
    }));

  it.live("reusePort without --unstable-net is Unsupported, not a dead process", () =>
    Effect.gen(function* () {
      if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function") {
        return console.warn("skipped: this process runs with --unstable-net");
      }
      const error = yield* Effect.flip(Tcp.listen("127.0.0.1:0", { reusePort: true }));
      expect(error.reason).toBe("Unsupported");
      expect(error.message).toContain("--unstable-net");
    }));

  it.live(
    "connect times out against a listener whose backlog is full",
    () =>
      Effect.gen(function* () {
        const listener = yield* Tcp.listen("127.0.0.1:0", { backlog: 1 });
        // Never accept: the kernel queue fills, then SYNs are dropped and connects hang.
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 8 }),
          () => Effect.result(Tcp.connect(listener.address, { timeout: "300 millis" })),
          { concurrency: 1 },
        );
        const reasons = outcomes.map((o) => (Result.isFailure(o) ? o.failure.reason : "connected"));
        expect(reasons).toContain("TimedOut");
        expect(reasons.every((r) => r === "connected" || r === "TimedOut")).toBe(true);
      }),
    20_000,
  );
});

/** Two byte arrays joined, as a reducer. */
const concat = (a: Uint8Array, b: Uint8Array) => concatBytes([a, b]);

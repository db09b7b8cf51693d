// Effect 4 fibers suspend expensively on Deno (effect 4.1 makes an
// AsyncResource at every suspension), so an operation that can complete at
// once must not suspend. `Effect.runSync` fails when the Effect it runs
// suspends: each of these would fail if its operation did.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Schedule, Stream } from "effect";
import { Framing, Udp } from "../mod.ts";
import { text } from "./_support/bytes.ts";
import { pair } from "./_support/net.ts";

/** Waits until `server` has read `n` bytes from its socket that no read has returned yet. */
const buffered = (conn: { readonly bufferedBytes: number }, n: number) =>
  Effect.repeat(Effect.sync(() => conn.bufferedBytes), {
    until: (k) => k >= n,
    schedule: Schedule.spaced("5 millis"),
  }).pipe(Effect.timeout("5 seconds"));

describe("operations that can complete at once do not suspend", () => {
  it.live("a small write with nothing ahead of it", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      Effect.runSync(client.write("hello"));
      // (A second write while the first is still going out waits its turn.)
      yield* Effect.repeat(Effect.sync(() => client.unsentBytes), {
        until: (n) => n === 0,
        schedule: Schedule.spaced("5 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      Effect.runSync(client.write(new Uint8Array([0x21])));
      expect(text(yield* server.readExactly(6))).toBe("hello!");
    }));

  it.live("small writes behind one still going out (gathered to go out next)", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      for (let i = 0; i < 100; i++) Effect.runSync(client.write(`line ${i}\n`));
      const expected = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join("");
      const bytes = new TextEncoder().encode(expected).length;
      expect(text(yield* server.readExactly(bytes))).toBe(expected);
    }));

  it.live("reads of bytes already read from the socket: read, readExactly, readText", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      yield* client.write("abcdefghij");
      // The first read waits for the peer and takes everything that arrived.
      yield* Effect.sleep("50 millis");
      expect(text(yield* server.readExactly(2))).toBe("ab");
      yield* buffered(server, 8);
      expect(text(Effect.runSync(server.readExactly(3)))).toBe("cde");
      expect(Effect.runSync(server.read(2)).pipe(Option.map(text))).toEqual(Option.some("fg"));
      expect(Effect.runSync(server.readText())).toEqual(Option.some("hij"));
    }));

  it.live("frames already read from the socket: readFrame, a reader's read, a stream's pull", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const codec = Framing.lengthPrefixed({ lengthFieldLength: 1 });
      const lines = Framing.lines();
      yield* codec.writeAll(client, ["one", "two", "three"]);
      // The first frame waits for the peer; the others arrived with it.
      yield* Effect.sleep("50 millis");
      expect((yield* codec.readFrame(server)).pipe(Option.map(text))).toEqual(Option.some("one"));
      yield* buffered(server, 10);
      expect(Effect.runSync(codec.readFrame(server)).pipe(Option.map(text))).toEqual(
        Option.some("two"),
      );
      expect(Effect.runSync(codec.reader(server).read).pipe(Option.map(text))).toEqual(
        Option.some("three"),
      );
      yield* client.write("a\nb\nc\n");
      yield* Effect.sleep("50 millis");
      const reader = lines.reader(server);
      expect((yield* reader.read).pipe(Option.map(text))).toEqual(Option.some("a"));
      yield* buffered(server, 4);
      const rest = Effect.runSync(Stream.runCollect(Stream.take(reader.stream, 2)));
      expect(rest.map(text)).toEqual(["b", "c"]);
    }));

  it.live("a small frame written with nothing ahead of it", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      Effect.runSync(Framing.lines().write(client, "hello"));
      expect(text(yield* server.readExactly(6))).toBe("hello\n");
    }));

  it.live("a receive of a datagram already queued", () =>
    Effect.gen(function* () {
      const a = yield* Udp.bind("127.0.0.1:0");
      const b = yield* Udp.bind("127.0.0.1:0");
      yield* b.send("queued", a.address);
      yield* Effect.repeat(Effect.sync(() => a.stats.queued), {
        until: (n) => n >= 1,
        schedule: Schedule.spaced("5 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      expect(text(Effect.runSync(a.receive).data)).toBe("queued");
    }));
});

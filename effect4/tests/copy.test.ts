import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Option, Ref } from "effect";
import { Connection, Tcp } from "../mod.ts";
import { concatBytes, pattern, sameBytes } from "./_support/bytes.ts";
import { echo, pair, startServer } from "./_support/net.ts";
import { resettingOnData } from "./_support/peers.ts";

/** Everything the connection reads until end of stream. */
const readAll = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = [];
    yield* Connection.forEachChunk(conn, (chunk) => Effect.sync(() => parts.push(chunk)));
    return concatBytes(parts);
  });

describe("Connection.copy and handed-over writes", () => {
  it.live("copy proxies both directions and reports the bytes copied", () =>
    Effect.gen(function* () {
      const upstream = yield* startServer(echo);
      const counts = yield* Ref.make<ReadonlyArray<number>>([]);
      const proxy = yield* startServer((client) =>
        Effect.gen(function* () {
          const up = yield* Tcp.connect(upstream.address);
          const [sent, received] = yield* Effect.all([
            Connection.copy(client, up).pipe(Effect.tap(() => up.closeWrite)),
            Connection.copy(up, client),
          ], { concurrency: 2 });
          yield* Ref.set(counts, [sent, received]);
        })
      );
      const data = pattern(3 * 1024 * 1024 + 123, 5);
      const client = yield* Tcp.connect(proxy.address);
      const [, back] = yield* Effect.all([
        client.write(data).pipe(Effect.andThen(client.closeWrite)),
        readAll(client),
      ], { concurrency: 2 });
      expect(back.length).toBe(data.length);
      expect(sameBytes(back, data)).toBe(true);
      // The handler finishes just after the client saw end of stream.
      const [sent, received] = yield* Ref.get(counts).pipe(
        Effect.repeat({ until: (c) => c.length === 2 }),
      );
      expect(sent).toBe(data.length);
      expect(received).toBe(data.length);
    }));

  it.live("copy works between Connection implementations other than Deno's own", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      // Another implementation of the interface (here delegating to a real one).
      const other = {
        read: (maxBytes?: number) => server.read(maxBytes),
        readBorrowed: (maxBytes?: number) => server.readBorrowed(maxBytes),
        write: (data: Uint8Array | string) => server.write(data),
      } as unknown as Connection.Connection;
      const data = pattern(300_000, 8);
      const copying = yield* Effect.forkChild(Connection.copy(other, other));
      const [, back] = yield* Effect.all([
        client.write(data).pipe(Effect.andThen(client.closeWrite)),
        client.readExactly(data.length),
      ], { concurrency: 2 });
      expect(sameBytes(back, data)).toBe(true);
      expect(yield* Fiber.join(copying)).toBe(data.length);
    }));

  it.live("an echo with a per-chunk Effect returns every byte, large and small", () =>
    Effect.gen(function* () {
      // Not `conn.write` itself, so each chunk goes through the handler's Effect.
      const server = yield* startServer((conn) =>
        Connection.forEachChunk(conn, (chunk) => conn.write(chunk), { borrow: true })
      );
      const client = yield* Tcp.connect(server.address);
      const data = concatBytes([pattern(1024 * 1024, 1), pattern(100, 2), pattern(70_000, 3)]);
      const [, back] = yield* Effect.all([
        client.write(data).pipe(Effect.andThen(client.closeWrite)),
        readAll(client),
      ], { concurrency: 2 });
      expect(sameBytes(back, data)).toBe(true);
    }));

  it.live("interrupting a copy loses no bytes", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      const echoing = yield* Effect.forkChild(Connection.copy(server, server));
      yield* client.write("one");
      expect(new TextDecoder().decode(yield* client.readExactly(3))).toBe("one");
      // The copy is now waiting in a read; interrupt it, then send more.
      yield* Fiber.interrupt(echoing);
      yield* client.write("two");
      expect(Option.map(yield* server.read(), (b) => new TextDecoder().decode(b)))
        .toEqual(Option.some("two"));
      // And nothing more was echoed.
      yield* server.close;
      expect(yield* client.read()).toEqual(Option.none());
    }));

  it.live("copy into a closed connection fails with Closed", () =>
    Effect.gen(function* () {
      const a = yield* pair();
      const b = yield* pair();
      yield* b.client.close;
      yield* a.client.write("data");
      const error = yield* Effect.flip(Connection.copy(a.server, b.client));
      expect(error.reason).toBe("Closed");
      expect(error.operation).toBe("write");
    }));

  it.live("a close waits for a handed-over write that is still going out", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      // Writes of 16 KiB are handed over without waiting; with nobody reading,
      // the kernel's buffers fill until one stays in progress and the next waits.
      const chunk = pattern(16 * 1024, 4);
      const written = yield* Ref.make(0);
      const writer = yield* Effect.forkChild(
        Effect.forever(Effect.andThen(server.write(chunk), Ref.update(written, (n) => n + 1))),
      );
      let last = -1;
      for (;;) {
        yield* Effect.sleep("50 millis");
        const now = yield* Ref.get(written);
        // The writer is stuck on a write that waits (Effect 4 has no Fiber.status).
        if (now === last && server.unsentBytes > 0) break;
        last = now;
      }
      // Every write that succeeded must reach the peer, the one handed over
      // and still in progress included; the waiting one fails. (If the
      // waiting one had already started when close came, part of it went out.)
      yield* server.close;
      const failure = yield* Fiber.join(writer).pipe(Effect.flip);
      expect(failure.reason).toBe("Closed");
      const back = yield* readAll(client);
      const count = yield* Ref.get(written);
      expect(count).toBeGreaterThan(0);
      expect(back.length).toBeGreaterThanOrEqual(count * chunk.length);
      expect(back.length).toBeLessThan((count + 1) * chunk.length);
      for (let i = 0; i < count; i += 97) {
        expect(sameBytes(back.subarray(i * chunk.length, (i + 1) * chunk.length), chunk)).toBe(
          true,
        );
      }
    }));

  it.live("a read after close fails with Closed even when data had arrived", () =>
    Effect.gen(function* () {
      const { client, server } = yield* pair();
      // A read interrupted before the data came leaves it waiting in the buffer.
      const reading = yield* Effect.forkChild(server.read());
      yield* Effect.sleep("20 millis"); // let the read start
      yield* Fiber.interrupt(reading);
      yield* client.write("unread");
      yield* Effect.sleep("50 millis");
      yield* server.close;
      const error = yield* Effect.flip(server.read());
      expect(error.reason).toBe("Closed");
    }));

  it.live("a write after a read saw a reset fails at once", () =>
    Effect.gen(function* () {
      const port = yield* resettingOnData;
      const conn = yield* Tcp.connect(`127.0.0.1:${port}`);
      yield* conn.write("hello?");
      const readError = yield* Effect.flip(Effect.repeat(conn.read(), { until: Option.isNone }));
      expect(readError.reason).toBe("ConnectionReset");
      // Small enough to be handed over, but the reset is already known.
      const writeError = yield* Effect.flip(conn.write("anyone?"));
      expect(writeError.reason).toBe("ConnectionReset");
    }));
});

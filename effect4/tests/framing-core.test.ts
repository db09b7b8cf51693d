// The core codecs (one push decoder per codec, no I/O) and what is built on
// them over a real socket: frames read straight from a connection's socket,
// frames written without a buffer per frame.
import { describe, it } from "@effect/vitest";
import { Effect, Fiber, Option, Result, Stream } from "effect";
import type * as Scope from "effect/Scope";
import { expect } from "vitest";
import { Connection, Framing } from "../mod.ts";
import {
  DelimitedCodec,
  type FrameDecoder,
  FrameError,
  IoFailure,
  LengthPrefixedCodec,
  PENDING,
  SocketFrameReader,
  StreamSocket,
  WRITTEN,
} from "../src/core/mod.ts";
import { concatBytes, encode, pattern, sameBytes, text } from "./_support/bytes.ts";
import * as fc from "./_support/arbitrary.ts";

const TIMEOUT = 20_000;

/** Cuts `data` into pieces whose sizes cycle through `sizes` (whole if empty). */
const split = (data: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  if (sizes.length === 0) return [data];
  const out: Array<Uint8Array> = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(data.slice(offset, offset + n));
    offset += n;
  }
  return out;
};

/**
 * Decodes `pieces` the way a socket lends them: every piece is copied into
 * the same buffer, which is scribbled over as soon as the decoder needs more.
 * Frames must survive that: the decoder copies whatever it keeps.
 */
const decodeLent = (
  decoder: FrameDecoder,
  pieces: ReadonlyArray<Uint8Array>,
): Array<Uint8Array> | FrameError => {
  const lent = new Uint8Array(Math.max(1, ...pieces.map((p) => p.length)));
  const frames: Array<Uint8Array> = [];
  for (const piece of pieces) {
    lent.set(piece);
    decoder.push(lent.subarray(0, piece.length));
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
      if (frame instanceof FrameError) return frame;
      frames.push(frame);
    }
    lent.fill(0xee);
  }
  const last = decoder.end();
  if (last instanceof FrameError) return last;
  if (last !== null) frames.push(last);
  return frames;
};

const expectFrames = (actual: unknown, expected: ReadonlyArray<Uint8Array>) => {
  expect(Array.isArray(actual), String(actual)).toBe(true);
  expect((actual as Uint8Array[]).map((f) => Array.from(f))).toEqual(
    expected.map((f) => Array.from(f)),
  );
};

const sizesArb = fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 12 });

/** Records the buffers a Deno.Conn reads into and the bytes it is asked to write. */
interface Recording {
  readonly reads: Array<{ readonly target: Uint8Array; readonly n: number }>;
  readonly writes: Array<Uint8Array>;
}

const recording = (conn: Deno.Conn): { conn: Deno.Conn; log: Recording } => {
  const log: Recording = { reads: [], writes: [] };
  const wrapped = {
    localAddr: conn.localAddr,
    remoteAddr: conn.remoteAddr,
    read: async (target: Uint8Array) => {
      const n = await conn.read(target);
      if (n !== null) log.reads.push({ target, n });
      return n;
    },
    write: (data: Uint8Array) => {
      log.writes.push(data);
      return conn.write(data);
    },
    close: () => conn.close(),
    closeWrite: () => conn.closeWrite(),
    setNoDelay: (on?: boolean) => (conn as Deno.TcpConn).setNoDelay(on),
    setKeepAlive: (on?: boolean) => (conn as Deno.TcpConn).setKeepAlive(on),
  };
  return { conn: wrapped as unknown as Deno.Conn, log };
};

/** A connected loopback pair of raw Deno connections, closed with the scope. */
const rawPair: Effect.Effect<{ client: Deno.Conn; server: Deno.Conn }, never, Scope.Scope> = Effect
  .acquireRelease(
    Effect.promise(async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const [client, server] = await Promise.all([
        Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
        listener.accept(),
      ]);
      listener.close();
      return { client, server };
    }),
    ({ client, server }) =>
      Effect.sync(() => {
        for (const c of [client, server]) {
          try {
            c.close();
          } catch { /* closed by the test */ }
        }
      }),
  );

/** A pair whose server side is a Connection over a recording socket. */
const recordedServer = Effect.gen(function* () {
  const { client, server } = yield* rawPair;
  const recorded = recording(server);
  const socket = new StreamSocket(recorded.conn);
  yield* Effect.addFinalizer(() => Effect.sync(() => socket.close()));
  return { client, server: Connection.fromSocket(socket), socket, log: recorded.log };
});

/** A pair whose client side is a Connection over a recording socket. */
const recordedClient = Effect.gen(function* () {
  const { client, server } = yield* rawPair;
  const recorded = recording(client);
  const socket = new StreamSocket(recorded.conn);
  yield* Effect.addFinalizer(() => Effect.sync(() => socket.close()));
  return {
    client: Connection.fromSocket(socket),
    server: Connection.fromDeno(server),
    log: recorded.log,
  };
});

const writeAll = (conn: Deno.Conn, bytes: Uint8Array) =>
  Effect.promise(async () => {
    for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
  });

// ---------------------------------------------------------------------------
// The decoders alone
// ---------------------------------------------------------------------------

describe("core decoders (no I/O)", () => {
  it.prop(
    "length-prefixed: frames survive input lent from one reused buffer, whatever the chunking",
    {
      frames: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      sizes: sizesArb,
      lengthFieldLength: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      endian: fc.constantFrom("big" as const, "little" as const),
    },
    ({ frames, sizes, lengthFieldLength, endian }) => {
      const codec = new LengthPrefixedCodec({ lengthFieldLength, endian, maxFrameLength: 300 });
      const valid = frames.filter((f) => f.length <= codec.maxPayload);
      const wire = concatBytes(
        valid.map((f) => codec.header(f.length) as Uint8Array).flatMap((
          h,
          i,
        ) => [h, valid[i]]),
      );
      for (const pieces of [[wire], split(wire, sizes), split(wire, [1])]) {
        expectFrames(decodeLent(codec.decoder(), pieces), valid);
      }
    },
    { arbitrary: { runs: 150 } },
  );

  it.prop(
    "delimited: frames survive input lent from one reused buffer, whatever the chunking",
    {
      delimiter: fc.constantFrom(encode("\n"), encode("\r\n"), encode("aa"), encode("aba")),
      frames: fc.array(
        fc.map(
          fc.array(fc.constantFrom(0x61, 0x62, 0x0a, 0x0d, 0x7a), { maxLength: 40 }),
          (a) => new Uint8Array(a),
        ),
        { maxLength: 20 },
      ),
      sizes: sizesArb,
      stripCr: fc.boolean(),
    },
    ({ delimiter, frames, sizes, stripCr }) => {
      const codec = new DelimitedCodec({ delimiter, maxLength: 64, stripCr });
      const valid = frames.filter((f) => typeof codec.encodedLength(f) === "number");
      const wire = concatBytes(valid.flatMap((f) => [f, delimiter]));
      for (const pieces of [[wire], split(wire, sizes), split(wire, [1])]) {
        expectFrames(decodeLent(codec.decoder(), pieces), valid);
      }
    },
    { arbitrary: { runs: 200 } },
  );

  it("takePending hands back the frame begun, byte for byte, and decoding starts afresh", () => {
    const length = new LengthPrefixedCodec({ lengthFieldLength: 2 });
    const decoder = length.decoder();
    decoder.push(new Uint8Array([0, 5, 1, 2]));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.buffered).toBe(4);
    expect(decoder.needed).toBe(3);
    expect(Array.from(decoder.takePending())).toEqual([0, 5, 1, 2]);
    expect(decoder.buffered).toBe(0);
    decoder.push(new Uint8Array([0, 1, 9]));
    expect(Array.from(decoder.next() as Uint8Array)).toEqual([9]);
    expect(decoder.end()).toBeNull();

    const lines = DelimitedCodec.lines();
    const lineDecoder = lines.decoder();
    lineDecoder.push(encode("one\ntw"));
    expect(text(lineDecoder.next() as Uint8Array)).toBe("one");
    expect(lineDecoder.next()).toBeUndefined();
    expect(text(lineDecoder.takePending())).toBe("tw");
    expect(lineDecoder.end()).toBeNull();
  });

  it("a length over the maximum fails from the header alone, before any allocation", () => {
    // 2^64 - 1 and 2^32 - 1: the decoder fails on the header; no payload byte exists.
    for (
      const [options, header] of [
        [{ lengthFieldLength: 8 as const }, Array(8).fill(0xff)],
        [{ lengthFieldLength: 4 as const }, [0xff, 0xff, 0xff, 0xff]],
      ] as const
    ) {
      const decoder = new LengthPrefixedCodec(options).decoder();
      decoder.push(new Uint8Array(header));
      const error = decoder.next();
      expect(error).toBeInstanceOf(FrameError);
      expect((error as FrameError).reason).toBe("InvalidData");
      expect(decoder.target()).toBeUndefined();
      expect(decoder.buffered).toBe(0);
    }
  });

  it("encoders refuse what would not decode back, as plain data", () => {
    const codec = new LengthPrefixedCodec({ maxFrameLength: 4 });
    const refused = codec.encodedLength(new Uint8Array(5));
    expect(refused).toBeInstanceOf(FrameError);
    expect((refused as FrameError).operation).toBe("write");
    expect((refused as FrameError).message).toMatch(/5 bytes exceeds maxFrameLength 4/);
    expect(DelimitedCodec.lines().encodedLength(encode("a\nb"))).toBeInstanceOf(FrameError);
    expect(Array.from(codec.prefix(new Uint8Array(3)))).toEqual([0, 0, 0, 3]);
    expect(text(DelimitedCodec.lines().suffix(encode("x")))).toBe("\n");
  });
});

// ---------------------------------------------------------------------------
// Over a real socket
// ---------------------------------------------------------------------------

describe("frames straight from a connection's socket", () => {
  it.live(
    "a 1 MiB frame is read straight into its own buffer, whichever way it is read",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed();
        const payload = pattern(1024 * 1024, 7);
        const wire = Result.getOrThrow(codec.encode(payload));
        const ways = {
          readFrame: (conn: Connection.Connection) => codec.readFrame(conn),
          reader: (conn: Connection.Connection) => codec.reader(conn).read,
          stream: (conn: Connection.Connection) =>
            codec.decode(conn).pipe(Stream.take(1), Stream.runHead),
        };
        for (const [way, read] of Object.entries(ways)) {
          const { client, server, log } = yield* recordedServer;
          yield* Effect.forkChild(writeAll(client, wire));
          const frame = Option.getOrThrow(yield* read(server));
          expect(sameBytes(frame, payload), way).toBe(true);
          // The frame owns an exact buffer, and nearly every byte was read into it.
          expect(frame.buffer.byteLength, way).toBe(payload.length);
          const direct = log.reads.filter((r) => r.target.buffer === frame.buffer);
          const intoFrame = direct.reduce((n, r) => n + r.n, 0);
          expect(intoFrame, way).toBeGreaterThanOrEqual(payload.length - 64 * 1024);
        }
      }).pipe(Effect.timeout("15 seconds")),
    TIMEOUT,
  );

  it.live(
    "readFrame leaves what follows the frame in the connection, and a plain read owns it",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ lengthFieldLength: 2 });
        const { client, server } = yield* recordedServer;
        const frames = ["one", "two", "three"].map((s) => Result.getOrThrow(codec.encode(s)));
        yield* writeAll(client, concatBytes([...frames, encode("raw tail")]));
        const got: string[] = [];
        for (let i = 0; i < 3; i++) {
          got.push(text(Option.getOrThrow(yield* codec.readFrame(server))));
        }
        expect(got).toEqual(["one", "two", "three"]);
        const tail = Option.getOrThrow(yield* server.read());
        // More traffic reuses the connection's read buffer: the tail must not change.
        yield* writeAll(client, pattern(4096, 1));
        const more = yield* server.readExactly(4096);
        expect(text(tail)).toBe("raw tail");
        expect(sameBytes(more, pattern(4096, 1))).toBe(true);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it.live(
    "a reader leaves the bytes after its frames in the connection: plain reads get them, owned",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* recordedServer;
        yield* writeAll(client, encode("first\nsecond\nthird\n"));
        const reader = Framing.lines().reader(server);
        expect(text(Option.getOrThrow(yield* reader.read))).toBe("first");
        // Not through reader.rest: the connection itself still has the rest.
        const rest = Option.getOrThrow(yield* server.read());
        yield* writeAll(client, new Uint8Array(200).fill(0x58));
        const next = Option.getOrThrow(yield* server.read());
        expect(text(rest)).toBe("second\nthird\n");
        expect(next.every((b) => b === 0x58)).toBe(true);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it.live(
    "an interrupted readFrame gives back the frame it had begun",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed();
        const { client, server } = yield* recordedServer;
        const payload = pattern(1000, 2);
        const wire = Result.getOrThrow(codec.encode(payload));
        yield* writeAll(client, wire.subarray(0, 300));
        const timedOut = yield* codec.readFrame(server).pipe(
          Effect.timeout("200 millis"),
          Effect.flip,
        );
        expect(timedOut._tag).toBe("TimeoutError");
        yield* writeAll(client, wire.subarray(300));
        const frame = Option.getOrThrow(yield* codec.readFrame(server));
        expect(sameBytes(frame, payload)).toBe(true);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it.live(
    "decode puts every frame already read into one chunk",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ lengthFieldLength: 1 });
        const { client, server } = yield* recordedServer;
        const frames = Array.from({ length: 200 }, (_, i) => `frame ${i}`);
        yield* writeAll(client, concatBytes(frames.map((f) => Result.getOrThrow(codec.encode(f)))));
        client.closeWrite();
        const chunks = yield* codec.decode(server).pipe(Stream.chunks, Stream.runCollect);
        const decoded = chunks.flatMap((c) => [...c]).map(text);
        expect(decoded).toEqual(frames);
        // 3 KB arrive in a handful of reads: one chunk per read, not per frame.
        expect(chunks.length).toBeLessThanOrEqual(20);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );
});

describe("frames written straight to a connection's socket", () => {
  it.live(
    "a large payload goes out as header then the payload itself; a small frame as one write",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed();
        const { client, server, log } = yield* recordedClient;
        const big = pattern(256 * 1024, 5);
        const reading = yield* Effect.forkChild(server.readExactly(4 + big.length + 4 + 5));
        yield* codec.write(client, big);
        yield* codec.write(client, "small");
        const received = yield* Fiber.join(reading);
        expect(sameBytes(received.subarray(4, 4 + big.length), big)).toBe(true);
        expect(text(received.subarray(4 + big.length + 4))).toBe("small");
        // The header alone, then writes of the payload's own bytes (no copy).
        expect(Array.from(log.writes[0])).toEqual([0, 4, 0, 0]);
        const payloadWrites = log.writes.slice(1).filter((w) => w.buffer === big.buffer);
        expect(payloadWrites.reduce((n, w) => n + w.length, 0)).toBe(big.length);
        const last = log.writes[log.writes.length - 1];
        expect(Array.from(last)).toEqual([0, 0, 0, 5, ...encode("small")]);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it.live(
    "a queued frame interrupted before it starts is dropped whole; the next arrives intact",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ maxFrameLength: 64 * 1024 * 1024 });
        const { client, server } = yield* recordedClient;
        // A frame that cannot finish while the peer does not read.
        const big = pattern(32 * 1024 * 1024, 3);
        const first = yield* Effect.forkChild(codec.write(client, big));
        yield* Effect.sleep(50);
        for (const dropped of [encode("DROPPED"), pattern(100_000, 9)]) {
          const queued = yield* Effect.forkChild(codec.write(client, dropped));
          yield* Effect.sleep(10);
          yield* Fiber.interrupt(queued);
        }
        const last = yield* Effect.forkChild(codec.write(client, "last"));
        const reader = codec.reader(server);
        const frame = Option.getOrThrow(yield* reader.read);
        expect(sameBytes(frame, big)).toBe(true);
        expect(text(Option.getOrThrow(yield* reader.read))).toBe("last");
        yield* Fiber.join(first);
        yield* Fiber.join(last);
      }).pipe(Effect.timeout("20 seconds")),
    TIMEOUT,
  );
});

describe("small writes behind a handed-over write are gathered", () => {
  it.live(
    "a burst of small replies goes out in a few raw writes, in order, and a close sends them",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ lengthFieldLength: 2 });
        const { client, server, log } = yield* recordedClient;
        const frames = Array.from({ length: 100 }, (_, i) => `reply ${i}`);
        // One fiber, no reads in between: what a pipelining server's loop does.
        for (const frame of frames) yield* codec.write(client, frame);
        yield* client.write("raw\n");
        yield* client.close;
        expect(log.writes.length).toBeLessThanOrEqual(10);
        const reader = codec.reader(server);
        const got: string[] = [];
        for (let i = 0; i < frames.length; i++) {
          got.push(text(Option.getOrThrow(yield* reader.read)));
        }
        expect(got).toEqual(frames);
        expect(text(Option.getOrThrow(yield* reader.rest.read()))).toBe("raw\n");
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it("a close lets the handed-over write and the gathered ones go out first; abort does not", async () => {
    // A Deno.Conn whose writes complete only when the test says so.
    const pending: Array<{ data: Uint8Array; done: (n: number) => void }> = [];
    let closes = 0;
    const addr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 };
    const conn = {
      localAddr: addr,
      remoteAddr: addr,
      read: () => new Promise<number | null>(() => {}),
      write: (data: Uint8Array) =>
        new Promise<number>((done) => pending.push({ data: data.slice(), done })),
      close: () => void closes++,
      closeWrite: () => Promise.resolve(),
    } as unknown as Deno.Conn;
    const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
    const socket = new StreamSocket(conn);
    expect(socket.tryWrite(encode("A"), false)).toBe(WRITTEN); // handed over, going out
    expect(socket.tryWrite(encode("B"), false)).toBe(WRITTEN); // gathered behind it
    expect(socket.tryWrite(encode("C"), true)).toBe(WRITTEN);
    expect(pending.length).toBe(1);
    expect(socket.unsentBytes).toBe(3);
    socket.close();
    expect(closes).toBe(0);
    pending[0].done(1);
    await tick();
    expect(pending.map((p) => text(p.data))).toEqual(["A", "BC"]);
    expect(closes).toBe(0);
    pending[1].done(2);
    await tick();
    expect(closes).toBe(1);

    const aborted = new StreamSocket(conn);
    pending.length = 0;
    expect(aborted.tryWrite(encode("X"), false)).toBe(WRITTEN);
    expect(aborted.tryWrite(encode("Y"), false)).toBe(WRITTEN);
    aborted.abort();
    expect(closes).toBe(2);
  });

  it.live(
    "a large write between small ones keeps its place: nothing is gathered past a queued write",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* recordedClient;
        const big = pattern(4 * 1024 * 1024, 8);
        const reading = yield* Effect.forkChild(server.readExactly(2 + big.length + 2));
        const writes = [encode("A"), encode("B"), big, encode("C"), encode("D")];
        yield* Effect.forEach(writes, (w) => client.write(w), { concurrency: "unbounded" });
        const received = yield* Fiber.join(reading);
        expect(text(received.subarray(0, 2))).toBe("AB");
        expect(sameBytes(received.subarray(2, 2 + big.length), big)).toBe(true);
        expect(text(received.subarray(2 + big.length))).toBe("CD");
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Without Effect
// ---------------------------------------------------------------------------

describe("the core without Effect", () => {
  it("SocketFrameReader decodes lines from a socket by callbacks", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const connecting = Deno.connect({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
    });
    const [raw, client] = await Promise.all([listener.accept(), connecting]);
    listener.close();
    const socket = new StreamSocket(raw);
    const reader = new SocketFrameReader(socket, DelimitedCodec.lines().decoder());
    const lines: string[] = [];
    const done = Promise.withResolvers<string>();
    const waiter = {
      onReadable(): void {
        const out: Uint8Array[] = [];
        const result = reader.poll(out, Infinity, waiter);
        if (result === PENDING) return;
        for (const line of out) lines.push(text(line));
        if (typeof result === "number") return waiter.onReadable();
        if (result instanceof FrameError || result instanceof IoFailure) {
          return done.reject(new Error(String(result)));
        }
        done.resolve("end");
      },
    };
    waiter.onReadable();
    for (const piece of ["he", "llo\r\nwor", "ld\n", "bye\n"]) {
      await client.write(encode(piece));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await client.closeWrite();
    const timer = setTimeout(() => done.reject(new Error("timed out")), 5000);
    expect(await done.promise).toBe("end");
    clearTimeout(timer);
    expect(lines).toEqual(["hello", "world", "bye"]);
    socket.close();
    client.close();
  });

  it("pollReadInto finds a read that completed while nobody waited, and copies buffered bytes", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const connecting = Deno.connect({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
    });
    const [raw, client] = await Promise.all([listener.accept(), connecting]);
    listener.close();
    const socket = new StreamSocket(raw);
    const target = new Uint8Array(100);
    const woken = Promise.withResolvers<void>();
    const waiter = { onReadable: () => woken.resolve() };
    expect(socket.pollReadInto(target.subarray(10), waiter)).toBe(PENDING);
    socket.cancelRead(waiter); // the waiter goes away; the raw read still completes
    await client.write(encode("abc"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Polled again at the same place: the bytes are already there.
    expect(socket.pollReadInto(target.subarray(10), { onReadable: () => {} })).toBe(3);
    expect(text(target.subarray(10, 13))).toBe("abc");
    // Bytes given back to the socket are copied in.
    socket.unread(encode("xyz"));
    expect(socket.pollReadInto(target.subarray(50), { onReadable: () => {} })).toBe(3);
    expect(text(target.subarray(50, 53))).toBe("xyz");
    // A read into a buffer nobody came back for reaches a plain read, copied.
    const lost = new Uint8Array(16);
    expect(socket.pollReadInto(lost, waiter)).toBe(PENDING);
    socket.cancelRead(waiter);
    await client.write(encode("late"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const chunk = socket.pollRead(1024, false, { onReadable: () => {} });
    expect(chunk instanceof Uint8Array && text(chunk)).toBe("late");
    expect((chunk as Uint8Array).buffer).not.toBe(lost.buffer);
    void woken;
    socket.close();
    client.close();
  });
});

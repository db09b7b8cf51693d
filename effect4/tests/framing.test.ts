import { describe, it } from "@effect/vitest";
import { Effect, Fiber, Option, Result, Stream } from "effect";
import { expect } from "vitest";
import { Connection, Framing, SocketError } from "../mod.ts";
import { concatBytes, encode } from "./_support/bytes.ts";
import { pair } from "./_support/net.ts";
import * as fc from "./_support/arbitrary.ts";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const concat = concatBytes;
const bytes = encode;

/** Cuts `data` into pieces whose sizes cycle through `sizes` (whole if empty). */
const split = (data: Uint8Array, sizes: ReadonlyArray<number>): Array<Uint8Array> => {
  if (sizes.length === 0) return [data];
  const out: Array<Uint8Array> = [];
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const n = sizes[i++ % sizes.length];
    out.push(data.slice(offset, offset + n));
    offset += n;
  }
  return out;
};

const oneByteAtATime = (data: Uint8Array): Array<Uint8Array> => split(data, [1]);

/**
 * A Deno.Conn stand-in whose reads return exactly the given pieces (cut
 * further only if the reader's buffer is smaller), then end of stream: the
 * real Connection on top of it sees exactly these chunk boundaries.
 */
const scriptedConn = (pieces: ReadonlyArray<Uint8Array>): Deno.Conn => {
  const queue = pieces.filter((p) => p.length > 0).map((p) => p.slice());
  const addr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 };
  return {
    localAddr: addr,
    remoteAddr: { ...addr, port: 2 },
    read: (buffer: Uint8Array) => {
      const head = queue[0];
      if (head === undefined) return Promise.resolve(null);
      const n = Math.min(buffer.length, head.length);
      buffer.set(head.subarray(0, n));
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      return Promise.resolve(n);
    },
    write: (data: Uint8Array) => Promise.resolve(data.length),
    close: () => {},
    closeWrite: () => Promise.resolve(),
  } as unknown as Deno.Conn;
};

const decodeChunks = (
  codec: Framing.Codec,
  pieces: ReadonlyArray<Uint8Array>,
): Result.Result<Array<Uint8Array>, SocketError.SocketError> =>
  Effect.runSync(
    Effect.result(
      codec.decodeStream(Stream.fromIterable(pieces)).pipe(
        Stream.runCollect,
        Effect.map((frames) => [...frames]),
      ),
    ),
  );

/** How a pull decoder is driven: as a stream, one `reader.read` at a time, or `readFrame` (stateless). */
type PullMode = "stream" | "reader" | "readFrame";

const decodePull = (
  codec: Framing.Codec,
  pieces: ReadonlyArray<Uint8Array>,
  mode: PullMode = "stream",
): Effect.Effect<Result.Result<Array<Uint8Array>, SocketError.SocketError>> => {
  const conn = Connection.fromDeno(scriptedConn(pieces));
  if (mode === "stream") {
    return Effect.result(
      codec.decode(conn).pipe(Stream.runCollect, Effect.map((frames) => [...frames])),
    );
  }
  const next = mode === "reader"
    ? codec.reader(conn).read
    : (codec as Framing.LengthPrefixed).readFrame(conn); // the same Effect, run repeatedly
  return Effect.result(Effect.gen(function* () {
    const frames: Uint8Array[] = [];
    while (true) {
      const frame = yield* next;
      if (Option.isNone(frame)) return frames;
      frames.push(frame.value);
    }
  }));
};

const encodeAll = (codec: Framing.Codec, frames: ReadonlyArray<Uint8Array>): Uint8Array =>
  concat(frames.map((f) => Result.getOrThrow(codec.encode(f))));

const expectFrames = (actual: ReadonlyArray<Uint8Array>, expected: ReadonlyArray<Uint8Array>) => {
  expect(actual.map((f) => Array.from(f))).toEqual(expected.map((f) => Array.from(f)));
};

/** Raw bytes written by a connected Deno socket (no framing), closed after `then`. */
const expectError = (
  result: Result.Result<unknown, unknown>,
  reason: SocketError.Reason,
  detail?: RegExp,
): SocketError.SocketError => {
  expect(Result.isFailure(result)).toBe(true);
  const error = (result as Result.Failure<unknown, unknown>).failure;
  expect(error).toBeInstanceOf(SocketError.SocketError);
  const socketError = error as SocketError.SocketError;
  expect(socketError.reason).toBe(reason);
  if (detail) expect(socketError.message).toMatch(detail);
  return socketError;
};

const TIMEOUT = 20_000;

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

const frameArb = fc.uint8Array({ maxLength: 300 });
const framesArb = fc.array(frameArb, { maxLength: 25 });
const sizesArb = fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 12 });
const lengthConfigArb = fc.record({
  lengthFieldLength: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
  endian: fc.constantFrom("big" as const, "little" as const),
});

/** Delimiters worth testing, including self-overlapping ones. */
const delimiterArb = fc.constantFrom(
  bytes("\n"),
  bytes("\r\n"),
  new Uint8Array([0]),
  bytes("aa"),
  bytes("aba"),
  bytes("--boundary--"),
  new Uint8Array([0xff, 0xfe, 0xff]),
);

/** Frames over a small alphabet (so delimiters occur) with the ones that cannot be encoded removed. */
const delimitedCase = fc.record({
  delimiter: delimiterArb,
  frames: fc.array(
    fc.map(
      fc.array(fc.constantFrom(0x61, 0x62, 0x0a, 0x0d, 0x00, 0x2d, 0xff, 0xfe, 0x7a), {
        maxLength: 40,
      }),
      (a) => new Uint8Array(a),
    ),
    { maxLength: 25 },
  ),
  sizes: sizesArb,
});

// ---------------------------------------------------------------------------
// Length-prefixed
// ---------------------------------------------------------------------------

describe("Framing.lengthPrefixed", () => {
  it.prop(
    "decodes the same frames whatever the chunk boundaries (stream decoder)",
    { frames: framesArb, sizes: sizesArb, config: lengthConfigArb },
    ({ frames, sizes, config }) => {
      const codec = Framing.lengthPrefixed({ ...config, maxFrameLength: 300 });
      const wire = encodeAll(codec, frames);
      for (const pieces of [[wire], split(wire, sizes), oneByteAtATime(wire)]) {
        const decoded = decodeChunks(codec, pieces);
        expect(Result.isSuccess(decoded)).toBe(true);
        expectFrames(Result.getOrThrow(decoded), frames);
      }
    },
    { arbitrary: { runs: 150 } },
  );

  it.live.prop(
    "decodes the same frames whatever the chunk boundaries (pull decoder on a Connection)",
    { frames: framesArb, sizes: sizesArb, config: lengthConfigArb },
    ({ frames, sizes, config }) =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ ...config, maxFrameLength: 300 });
        const wire = encodeAll(codec, frames);
        for (const pieces of [[wire], split(wire, sizes), oneByteAtATime(wire)]) {
          for (const mode of ["stream", "reader", "readFrame"] as const) {
            const decoded = yield* decodePull(codec, pieces, mode);
            expect(Result.isSuccess(decoded), mode).toBe(true);
            expectFrames(Result.getOrThrow(decoded), frames);
          }
        }
      }),
    { timeout: TIMEOUT, arbitrary: { runs: 60 } },
  );

  it.live.prop(
    "a stream cut anywhere inside a frame fails with UnexpectedEof, never a short frame",
    { frames: fc.array(frameArb, { minLength: 1, maxLength: 6 }), cut: fc.nat(), sizes: sizesArb },
    ({ frames, cut, sizes }) =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed();
        const wire = encodeAll(codec, frames);
        // Frame boundaries: cutting exactly there is a clean end.
        const boundaries = new Set<number>([0]);
        let offset = 0;
        for (const f of frames) boundaries.add(offset += 4 + f.length);
        const at = cut % (wire.length + 1);
        const pieces = split(wire.subarray(0, at), sizes);
        const results = [
          decodeChunks(codec, pieces),
          yield* decodePull(codec, pieces, "stream"),
          yield* decodePull(codec, pieces, "reader"),
          yield* decodePull(codec, pieces, "readFrame"),
        ];
        for (const decoded of results) {
          if (boundaries.has(at)) {
            expect(Result.isSuccess(decoded)).toBe(true);
          } else {
            expectError(decoded, "UnexpectedEof", /inside a frame/);
          }
        }
      }),
    { timeout: TIMEOUT, arbitrary: { runs: 150 } },
  );

  it("writes the header in the configured width and byte order", () => {
    const payload = new Uint8Array([7, 8, 9]);
    const cases: Array<[Framing.LengthPrefixedOptions, number[]]> = [
      [{ lengthFieldLength: 1 }, [3]],
      [{ lengthFieldLength: 2 }, [0, 3]],
      [{ lengthFieldLength: 2, endian: "little" }, [3, 0]],
      [{ lengthFieldLength: 4 }, [0, 0, 0, 3]],
      [{ lengthFieldLength: 4, endian: "little" }, [3, 0, 0, 0]],
      [{ lengthFieldLength: 8 }, [0, 0, 0, 0, 0, 0, 0, 3]],
      [{ lengthFieldLength: 8, endian: "little" }, [3, 0, 0, 0, 0, 0, 0, 0]],
      [{ lengthFieldLength: 2, lengthAdjustment: -2 }, [0, 5]], // length counts the header
    ];
    for (const [options, header] of cases) {
      const encoded = Result.getOrThrow(Framing.lengthPrefixed(options).encode(payload));
      expect(Array.from(encoded)).toEqual([...header, 7, 8, 9]);
    }
    // The builder produces the same codec as the options.
    const built = Framing.lengthPrefixed().lengthFieldLength(2).littleEndian().maxFrameLength(9);
    expect(built.config).toEqual({
      lengthFieldLength: 2,
      endian: "little",
      maxFrameLength: 9,
      lengthAdjustment: 0,
    });
    expect(Array.from(Result.getOrThrow(built.encode(payload)))).toEqual([3, 0, 7, 8, 9]);
    expect(built.bigEndian().config.endian).toBe("big");
    expect(built.lengthAdjustment(-2).config.lengthAdjustment).toBe(-2);
  });

  it("decodes 8-byte lengths above 2^32 exactly (as long as they are under the maximum)", () => {
    const codec = Framing.lengthPrefixed({ lengthFieldLength: 8, maxFrameLength: 2 ** 40 });
    expect(Array.from(Result.getOrThrow(codec.header(2 ** 33 + 5)))).toEqual([
      0,
      0,
      0,
      2,
      0,
      0,
      0,
      5,
    ]);
    const little = codec.littleEndian();
    expect(Array.from(Result.getOrThrow(little.header(2 ** 33 + 5)))).toEqual([
      5,
      0,
      0,
      0,
      2,
      0,
      0,
      0,
    ]);
  });

  it("refuses hostile length headers before allocating, and accepts 0 and the maximum", () => {
    const max = 16;
    const check = (
      options: Framing.LengthPrefixedOptions,
      header: number[],
      expected: "ok" | RegExp,
      payloadLength = 0,
    ) => {
      const codec = Framing.lengthPrefixed({ maxFrameLength: max, ...options });
      // The header alone must be enough to refuse: no payload byte is ever sent.
      const decoder = codec.decoder();
      const out: Uint8Array[] = [];
      const error = decoder.push(new Uint8Array(header), out);
      if (expected === "ok") {
        expect(error).toBeUndefined();
        const rest = decoder.push(new Uint8Array(payloadLength).fill(1), out);
        expect(rest).toBeUndefined();
        expect(out.map((f) => f.length)).toEqual([payloadLength]);
      } else {
        expect(error?.reason).toBe("InvalidData");
        expect(error?.message).toMatch(expected);
        // A failed decoder stays failed.
        expect(decoder.push(new Uint8Array(1), out)?.reason).toBe("InvalidData");
      }
    };
    check({}, [0, 0, 0, 0], "ok", 0);
    check({}, [0, 0, 0, 16], "ok", 16);
    check({}, [0, 0, 0, 17], /frame length 17 exceeds maxFrameLength 16/);
    check({}, [0xff, 0xff, 0xff, 0xff], /frame length 4294967295 exceeds/);
    check({ endian: "little" }, [17, 0, 0, 0], /frame length 17 exceeds/);
    check({ lengthFieldLength: 8 }, [0, 0, 0, 0, 0, 0, 0, 16], "ok", 16);
    check({ lengthFieldLength: 8 }, Array(8).fill(0xff), /frame length 18446744073709551615/);
    check({ lengthFieldLength: 8 }, [0, 0, 0, 1, 0, 0, 0, 0], /frame length 4294967296/);
    check({ lengthFieldLength: 2 }, [0xff, 0xff], /frame length 65535 exceeds/);
    check({ lengthFieldLength: 1, maxFrameLength: 255 }, [0xff], "ok", 255);
    check({ lengthAdjustment: -4 }, [0, 0, 0, 3], /negative frame length/);
    // The default maximum is 8 MiB.
    const codec = Framing.lengthPrefixed();
    expect(codec.config.maxFrameLength).toBe(8 * 1024 * 1024);
    const error = codec.decoder().push(new Uint8Array([0, 0x80, 0, 1]), []);
    expect(error?.message).toMatch(/8388609 exceeds maxFrameLength 8388608/);
  });

  it.live(
    "on a socket: a hostile header fails at once, without waiting for the payload",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed({ maxFrameLength: 1024 });
        for (
          const [header, detail] of [
            [[0, 0, 4, 1], /1025 exceeds/],
            [[0xff, 0xff, 0xff, 0xff], /4294967295 exceeds/],
          ] as const
        ) {
          const { client, server } = yield* pair();
          // A good frame, then the hostile header; the peer stays connected and silent.
          yield* client.write(
            concat([Result.getOrThrow(codec.encode("ok")), new Uint8Array(header)]),
          );
          const first = yield* codec.readFrame(server);
          expect(new TextDecoder().decode(Option.getOrThrow(first))).toBe("ok");
          const result = yield* Effect.result(codec.readFrame(server));
          expectError(result, "InvalidData", detail);
          yield* client.close;
        }
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it.live(
    "on a socket: truncated headers and payloads are UnexpectedEof, a clean end is None",
    () =>
      Effect.gen(function* () {
        const codec = Framing.lengthPrefixed();
        const cases: Array<[Uint8Array, RegExp | "clean"]> = [
          [new Uint8Array([]), "clean"],
          [new Uint8Array([0]), /inside a frame header/],
          [new Uint8Array([0, 0, 0]), /inside a frame header/],
          [new Uint8Array([0, 0, 0, 5, 1, 2]), /fewer than the 5 bytes announced/],
          [new Uint8Array([0, 0, 0, 1, 9, 0, 0]), /inside a frame header/],
        ];
        for (const [wire, expected] of cases) {
          const { client, server } = yield* pair();
          yield* client.write(wire);
          yield* client.closeWrite;
          const frames: Uint8Array[] = [];
          const result = yield* Effect.result(
            codec.decode(server).pipe(Stream.runForEach((f) => Effect.sync(() => frames.push(f)))),
          );
          if (expected === "clean") {
            expect(Result.isSuccess(result)).toBe(true);
            expect(frames).toEqual([]);
          } else {
            expectError(result, "UnexpectedEof", expected);
          }
        }
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it("refuses to encode what it could not decode, and writes nothing then", () =>
    Effect.gen(function* () {
      const writes: Uint8Array[] = [];
      const sink: Framing.ByteSink<never> = {
        write: (data) => Effect.sync(() => void writes.push(data)),
      };
      const small = Framing.lengthPrefixed({ maxFrameLength: 8 });
      const tooLong = yield* Effect.result(small.write(sink, new Uint8Array(9)));
      expectError(tooLong, "InvalidData", /9 bytes exceeds maxFrameLength 8/);
      const oneByte = Framing.lengthPrefixed({ lengthFieldLength: 1 });
      expect(oneByte.maxPayload).toBe(255);
      expectError(
        yield* Effect.result(oneByte.write(sink, new Uint8Array(256))),
        "InvalidData",
        /does not fit a 1-byte length field/,
      );
      expectError(
        yield* Effect.result(small.writeAll(sink, ["ok", new Uint8Array(9)])),
        "InvalidData",
      );
      expect(writes).toEqual([]);
      expect(Result.isFailure(small.header(-1))).toBe(true);
    }).pipe(Effect.runPromise));

  it("writes each frame with one write, and packs many small frames into few", () =>
    Effect.gen(function* () {
      const writes: Uint8Array[] = [];
      const sink: Framing.ByteSink<never> = {
        write: (data) => Effect.sync(() => void writes.push(data.slice())),
      };
      const codec = Framing.lengthPrefixed();
      yield* codec.write(sink, "hello");
      expect(writes.map((w) => Array.from(w))).toEqual([[0, 0, 0, 5, ...bytes("hello")]]);
      writes.length = 0;
      const big = new Uint8Array(1024 * 1024).fill(3);
      yield* codec.write(sink, big);
      expect(writes.length).toBe(1);
      expect(writes[0].length).toBe(4 + big.length);
      writes.length = 0;
      const many = Array.from({ length: 1000 }, (_, i) => `frame ${i}`);
      yield* codec.writeAll(sink, many);
      expect(writes.length).toBeLessThanOrEqual(2);
      const decoded = decodeChunks(codec, writes);
      expect(Result.getOrThrow(decoded).map((f) => new TextDecoder().decode(f))).toEqual(many);
    }).pipe(Effect.runPromise));

  it.prop(
    "encodeStream and decodeStream are inverses, for both codecs",
    { frames: fc.array(fc.uint8Array({ maxLength: 40000 }), { maxLength: 8 }), sizes: sizesArb },
    ({ frames, sizes }) => {
      for (
        const codec of [
          Framing.lengthPrefixed({ lengthFieldLength: 2 }),
          Framing.delimited({ delimiter: new Uint8Array([0xfe, 0xff]), maxLength: 40000 }),
        ]
      ) {
        const valid = frames.filter((f) => Result.isSuccess(codec.encode(f)));
        const wire = Effect.runSync(
          codec.encodeStream(Stream.fromIterable(valid)).pipe(
            Stream.runCollect,
            Effect.map((chunks) => concat(chunks)),
          ),
        );
        expect(Array.from(wire)).toEqual(Array.from(encodeAll(codec, valid)));
        expectFrames(Result.getOrThrow(decodeChunks(codec, split(wire, sizes))), valid);
      }
    },
    { arbitrary: { runs: 40 } },
  );

  it("rejects invalid settings at once", () => {
    expect(() => Framing.lengthPrefixed({ lengthFieldLength: 3 as 4 })).toThrow(RangeError);
    expect(() => Framing.lengthPrefixed({ maxFrameLength: -1 })).toThrow(RangeError);
    expect(() => Framing.lengthPrefixed({ maxFrameLength: 1.5 })).toThrow(RangeError);
    expect(() => Framing.lengthPrefixed({ endian: "middle" as "big" })).toThrow(RangeError);
    expect(() => Framing.delimited({ delimiter: "" })).toThrow(RangeError);
    expect(() => Framing.lines({ maxLength: -5 })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------
// Delimited
// ---------------------------------------------------------------------------

describe("Framing.delimited and lines", () => {
  it.prop(
    "decodes the same frames whatever the chunk boundaries, for any delimiter",
    { c: delimitedCase },
    ({ c }) => {
      const codec = Framing.delimited({ delimiter: c.delimiter, maxLength: 64 });
      const frames = c.frames.filter((f) => Result.isSuccess(codec.encode(f)));
      const wire = encodeAll(codec, frames);
      for (const pieces of [[wire], split(wire, c.sizes), oneByteAtATime(wire)]) {
        const decoded = decodeChunks(codec, pieces);
        expect(Result.isSuccess(decoded)).toBe(true);
        expectFrames(Result.getOrThrow(decoded), frames);
      }
    },
    { arbitrary: { runs: 200 } },
  );

  it.live.prop(
    "the pull reader on a Connection agrees with the stream decoder",
    { c: delimitedCase, stripCr: fc.boolean() },
    ({ c, stripCr }) =>
      Effect.gen(function* () {
        const codec = Framing.delimited({ delimiter: c.delimiter, maxLength: 64, stripCr });
        const frames = c.frames.filter((f) => Result.isSuccess(codec.encode(f)));
        const wire = encodeAll(codec, frames);
        for (const pieces of [split(wire, c.sizes), oneByteAtATime(wire)]) {
          for (const mode of ["stream", "reader"] as const) {
            const decoded = yield* decodePull(codec, pieces, mode);
            expect(Result.isSuccess(decoded), mode).toBe(true);
            expectFrames(Result.getOrThrow(decoded), frames);
          }
        }
      }),
    { timeout: TIMEOUT, arbitrary: { runs: 60 } },
  );

  it.prop(
    "lines: \\r\\n and \\n decode alike, and every line is at most maxLength",
    {
      lines: fc.array(fc.filter(fc.string({ maxLength: 20 }), (s) => !/[\r\n]/.test(s)), {
        maxLength: 20,
      }),
      crlf: fc.array(fc.boolean(), { minLength: 1 }),
      sizes: sizesArb,
    },
    ({ lines, crlf, sizes }) => {
      const codec = Framing.lines({ maxLength: 80 });
      const wire = bytes(lines.map((l, i) => l + (crlf[i % crlf.length] ? "\r\n" : "\n")).join(""));
      const decoded = decodeChunks(codec, split(wire, sizes));
      expect(Result.getOrThrow(decoded).map((f) => new TextDecoder().decode(f))).toEqual(lines);
    },
    { arbitrary: { runs: 150 } },
  );

  it("an over-long line fails as soon as it is certain, whatever the chunking", () => {
    const codec = Framing.lines({ maxLength: 10 });
    // Exactly 10 bytes is fine, with either line ending.
    expect(
      Result.getOrThrow(decodeChunks(codec, oneByteAtATime(bytes("0123456789\r\n0123456789\n"))))
        .length,
    ).toBe(2);
    for (const pieces of [[bytes("01234567890")], oneByteAtATime(bytes("01234567890\n"))]) {
      expectError(decodeChunks(codec, pieces), "InvalidData", /maxLength 10/);
    }
    // No delimiter ever comes: the error still arrives, buffering at most about maxLength.
    const decoder = codec.decoder();
    const out: Uint8Array[] = [];
    let error: SocketError.SocketError | undefined;
    let fed = 0;
    while (error === undefined && fed < 1000) {
      error = decoder.push(bytes("x"), out);
      fed++;
    }
    expect(error?.reason).toBe("InvalidData");
    expect(fed).toBeLessThanOrEqual(12);
    // A "\r" alone (no "\n" after it) counts as content.
    expectError(decodeChunks(codec, [bytes("0123456789\r\r\n")]), "InvalidData", /11 bytes/);
  });

  it.live(
    "on a socket: an endless line fails while the peer is still sending",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        const codec = Framing.lines({ maxLength: 1000 });
        // The peer sends 64 KiB without a newline and stays connected.
        yield* client.write(new Uint8Array(64 * 1024).fill(0x41));
        const result = yield* Effect.result(codec.reader(server).read);
        expectError(result, "InvalidData", /maxLength 1000/);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it("an unterminated last frame is an error unless allowed", () => {
    expectError(
      decodeChunks(Framing.lines(), [bytes("a\nb")]),
      "UnexpectedEof",
      /1 bytes without a delimiter/,
    );
    const lenient = Framing.lines({ allowUnterminated: true });
    expect(
      Result.getOrThrow(decodeChunks(lenient, [bytes("a\nb\r")])).map((f) =>
        new TextDecoder().decode(f)
      ),
    ).toEqual(["a", "b"]);
    expect(Result.getOrThrow(decodeChunks(lenient, [bytes("a\n")])).length).toBe(1);
  });

  it("the encoder refuses frames that would not decode back to themselves", () => {
    const lines = Framing.lines();
    expect(Result.isFailure(lines.encode("a\nb"))).toBe(true);
    expect(Result.isFailure(lines.encode("ends with CR\r"))).toBe(true);
    expect(Result.isSuccess(lines.encode("a\rb"))).toBe(true);
    expect(Array.from(Result.getOrThrow(lines.encode("hi")))).toEqual(Array.from(bytes("hi\n")));
    // Self-overlapping delimiter: "xa" + "aa" would decode as "x".
    const aa = Framing.delimited({ delimiter: "aa" });
    expect(Result.isFailure(aa.encode("xa"))).toBe(true);
    expect(Result.isSuccess(aa.encode("ax"))).toBe(true);
    expect(Result.isFailure(Framing.lines({ maxLength: 2 }).encode("abc"))).toBe(true);
  });

  it.live(
    "reader.rest hands over the bytes after the last line (headers, then a body)",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        yield* client.write("SIZE 5\r\nNAME x\r\n\r\nhello, then more");
        yield* client.closeWrite;
        const reader = Framing.lines().reader(server);
        const header: string[] = [];
        while (true) {
          const line = Option.getOrThrow(yield* reader.read);
          if (line.length === 0) break;
          header.push(new TextDecoder().decode(line));
        }
        expect(header).toEqual(["SIZE 5", "NAME x"]);
        const rest = reader.rest;
        const body = yield* Framing.readExactly(rest, 5);
        expect(new TextDecoder().decode(body)).toBe("hello");
        const tail: string[] = [];
        while (true) {
          const chunk = yield* rest.read();
          if (Option.isNone(chunk)) break;
          tail.push(new TextDecoder().decode(chunk.value));
        }
        expect(tail.join("")).toBe(", then more");
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );

  it("utf8 decodes frames and refuses invalid UTF-8", () => {
    const ok = Effect.runSync(
      Stream.runCollect(Framing.utf8(Stream.make(bytes("你好"), bytes("")))),
    );
    expect(ok).toEqual(["你好", ""]);
    const bad = Effect.runSync(
      Effect.result(Stream.runCollect(Framing.utf8(Stream.make(new Uint8Array([0xff]))))),
    );
    expectError(bad, "InvalidData", /not valid UTF-8/);
  });
});

// ---------------------------------------------------------------------------
// Sources and real sockets
// ---------------------------------------------------------------------------

describe("Framing over real sockets", () => {
  it.live("prepend yields the given bytes first, also across readExactly", () =>
    Effect.gen(function* () {
      const conn = Connection.fromDeno(scriptedConn([bytes("cdef")]));
      const source = Framing.prepend(bytes("ab"), conn);
      expect(new TextDecoder().decode(yield* Framing.readExactly(source, 3))).toBe("abc");
      expect(new TextDecoder().decode(Option.getOrThrow(yield* source.read()))).toBe("def");
      expect(Option.isNone(yield* source.read())).toBe(true);
      const short = Framing.prepend(bytes("ab"), Connection.fromDeno(scriptedConn([bytes("c")])));
      expectError(yield* Effect.result(Framing.readExactly(short, 5)), "UnexpectedEof");
    }));

  it.live(
    "frames from concurrent writers never interleave, and an echo round-trips them",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        const codec = Framing.lengthPrefixed({ lengthFieldLength: 4 });
        // Echo server: decode frames, write them back.
        yield* Effect.forkChild(codec.decode(server).pipe(Stream.run(codec.sink(server))));
        const payload = (w: number, i: number) =>
          new Uint8Array(1 + ((w * 7919 + i * 104729) % 70_000)).fill((w * 31 + i) & 0xff);
        const writers = 4;
        const perWriter = 40;
        // Read while writing: the echo cannot write back faster than we read.
        const reading = yield* Effect.forkChild(
          codec.decode(client).pipe(Stream.take(writers * perWriter), Stream.runCollect),
        );
        yield* Effect.forEach(
          Array.from({ length: writers }, (_, w) => w),
          (w) =>
            Effect.forEach(
              Array.from({ length: perWriter }, (_, i) => i),
              (i) => codec.write(client, payload(w, i)),
              { discard: true },
            ),
          { concurrency: "unbounded", discard: true },
        );
        const received = yield* Fiber.join(reading);
        const expected = new Set<string>();
        for (let w = 0; w < writers; w++) {
          for (let i = 0; i < perWriter; i++) {
            const p = payload(w, i);
            expected.add(`${p.length}:${p[0]}`);
          }
        }
        for (const frame of received) {
          // Every byte of a frame is the same: any interleaving would mix them.
          expect(frame.every((b) => b === frame[0])).toBe(true);
          expect(expected.delete(`${frame.length}:${frame[0]}`)).toBe(true);
        }
        expect(expected.size).toBe(0);
      }).pipe(Effect.timeout("15 seconds")),
    TIMEOUT,
  );

  it.live(
    "lines over a socket, sent in awkward pieces, arrive whole",
    () =>
      Effect.gen(function* () {
        const { client, server } = yield* pair();
        yield* client.setNoDelay(true);
        const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${"·".repeat(i % 17)}`);
        const wire = bytes(lines.map((l, i) => l + (i % 3 === 0 ? "\r\n" : "\n")).join(""));
        const writer = yield* Effect.forkChild(
          Effect.forEach(split(wire, [1, 2, 3, 5, 8, 13, 700]), (p) => client.write(p), {
            discard: true,
          }).pipe(Effect.andThen(client.closeWrite)),
        );
        const got = yield* Framing.utf8(Framing.lines().decode(server)).pipe(Stream.runCollect);
        yield* Fiber.join(writer);
        expect(got).toEqual(lines);
      }).pipe(Effect.timeout("10 seconds")),
    TIMEOUT,
  );
});

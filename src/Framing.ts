/**
 * Message boundaries on top of a byte stream. TCP delivers bytes, not
 * messages: two `send`s can arrive as one `recv` (the "sticky packets" of
 * socket tutorials) and one `send` can arrive in pieces. A codec puts the
 * boundaries back:
 *
 * - {@link lengthPrefixed}: each frame is a length field (1, 2, 4 or 8 bytes,
 *   big- or little-endian) followed by that many bytes, configured like
 *   tokio's `LengthDelimitedCodec`. A length over `maxFrameLength` (default
 *   8 MiB) fails before any buffer of that size is allocated.
 * - {@link lines} and {@link delimited}: frames end with `"\n"` (optionally
 *   `"\r\n"`) or any byte sequence, with a maximum length so a peer that never
 *   sends the delimiter cannot make the reader buffer without bound.
 *
 * Decoding pulls from a connection (`conn.read`, into exact-size buffers, so a
 * slow consumer slows the peer) or transforms any `Stream<Uint8Array>`, and
 * gives the same frames whatever the chunk boundaries. Encoding writes each
 * frame with a single `conn.write`, so frames written by concurrent fibers
 * never interleave.
 *
 * Errors are the library's {@link SocketError.SocketError}: `InvalidData`
 * for a frame the codec forbids (too long, negative length, a payload that
 * contains the delimiter) and `UnexpectedEof` when the stream ends inside a
 * frame, never a silent truncation.
 *
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Framing, Tcp } from "@fibernet/socket";
 *
 * const codec = Framing.lengthPrefixed({ lengthFieldLength: 2, maxFrameLength: 4096 });
 *
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tcp.connect("127.0.0.1:9999");
 *   yield* codec.write(conn, "ping");
 *   const reply = yield* codec.readFrame(conn); // Option.none() if the peer closed
 *   if (Option.isSome(reply)) console.log(new TextDecoder().decode(reply.value));
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
import * as Channel from "effect/Channel";
import * as Chunk from "effect/Chunk";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Option from "effect/Option";
import * as Sink from "effect/Sink";
import * as Stream from "effect/Stream";
import { SocketError } from "./SocketError.ts";

// ---------------------------------------------------------------------------
// Sources, sinks and errors
// ---------------------------------------------------------------------------

/**
 * Where decoders pull bytes from: a {@link Connection.Connection} is one, and
 * so is {@link prepend}'s result or a frame reader's `rest`. `read` returns
 * `Option.none()` at end of stream; {@link readExactly} builds exact reads
 * on it. Decoders call `read` only when the Effect they return runs, so
 * running such an Effect twice reads twice.
 *
 * @example
 * ```ts
 * import type { Connection, Framing, SocketError } from "@fibernet/socket";
 * const asSource = (
 *   conn: Connection.Connection,
 * ): Framing.ByteSource<SocketError.SocketError> => conn;
 * ```
 */
export interface ByteSource<E> {
  /** The next chunk of at most `maxBytes` bytes, or `Option.none()` at end of stream. */
  read(maxBytes?: number): Effect.Effect<Option.Option<Uint8Array>, E>;
}

/**
 * Where encoders write: a {@link Connection.Connection} is one. Each call must
 * write all of `data` (Connection's `write` does, and never interleaves two
 * calls).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import type { Framing } from "@fibernet/socket";
 * const chunks: Uint8Array[] = [];
 * const memory: Framing.ByteSink<never> = {
 *   write: (data) => Effect.sync(() => void chunks.push(data)),
 * };
 * ```
 */
export interface ByteSink<E> {
  /** Writes every byte of `data`. */
  write(data: Uint8Array): Effect.Effect<void, E>;
}

/**
 * What decoding adds to the source's own errors: `InvalidData` for a frame
 * the codec forbids, `UnexpectedEof` for a stream that ends inside a frame.
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const explain = (e: Framing.DecodeError): string =>
 *   e.reason === "InvalidData" ? `bad frame: ${e.detail}` : "peer hung up mid-frame";
 * ```
 */
export type DecodeError = SocketError<"InvalidData" | "UnexpectedEof">;

/**
 * What encoding can fail with: a frame the codec cannot represent (too long
 * for `maxFrameLength` or the length field, or containing the delimiter).
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const detail = (e: Framing.EncodeError): string => e.detail ?? e.message;
 * ```
 */
export type EncodeError = SocketError<"InvalidData">;

/**
 * A frame to encode: bytes, or text that is sent as UTF-8.
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const frames: Framing.FrameInput[] = ["hello", new Uint8Array([1, 2, 3])];
 * ```
 */
export type FrameInput = Uint8Array | string;

const invalidData = (detail: string, operation: "read" | "write" = "read"): SocketError<
  "InvalidData"
> => new SocketError({ reason: "InvalidData", operation, detail });

const truncated = (detail: string): SocketError<"UnexpectedEof"> =>
  new SocketError({ reason: "UnexpectedEof", operation: "read", detail });

const isEof = (error: unknown): boolean =>
  error instanceof SocketError && error.reason === "UnexpectedEof";

const encoder = new TextEncoder();
const toBytes = (frame: FrameInput): Uint8Array =>
  typeof frame === "string" ? encoder.encode(frame) : frame;

const EMPTY = new Uint8Array(0);

const MiB = 1024 * 1024;
/** Frames at most this big are batched together by `writeAll` and `encodeStream`. */
const BATCH_BYTES = 64 * 1024;
/** Bytes asked of the source per read by the delimiter reader. */
const READ_SIZE = 64 * 1024;

// ---------------------------------------------------------------------------
// prepend: put bytes back in front of a source
// ---------------------------------------------------------------------------

/**
 * Exactly `n` bytes from `source`, built on its `read` alone; fails with
 * `UnexpectedEof` if the stream ends first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 * const magic = (conn: Connection.Connection) =>
 *   Framing.readExactly(conn, 4).pipe(Effect.map((b) => new TextDecoder().decode(b)));
 * ```
 */
export const readExactly = <E>(
  source: ByteSource<E>,
  n: number,
): Effect.Effect<Uint8Array, E | SocketError<"UnexpectedEof">> =>
  Effect.suspend(() => {
    if (n === 0) return Effect.succeed(new Uint8Array(0));
    return Effect.flatMap(source.read(n), (chunk) => {
      if (Option.isNone(chunk)) return Effect.fail(truncated(`stream ended after 0 of ${n} bytes`));
      const bytes = chunk.value;
      if (bytes.length >= n) {
        // Keep a view only if it is most of its buffer: a small frame must not
        // pin a large read buffer in memory.
        const view = bytes.length === n ? bytes : bytes.subarray(0, n);
        return Effect.succeed(view.byteLength * 2 >= view.buffer.byteLength ? view : view.slice());
      }
      const out = new Uint8Array(n);
      out.set(bytes, 0);
      return fill(source, out, bytes.length);
    });
  });

/** Fills `out` from `filled` on with exact-size reads (never reading past its end). */
const fill = <E>(
  source: ByteSource<E>,
  out: Uint8Array,
  filled: number,
): Effect.Effect<Uint8Array, E | SocketError<"UnexpectedEof">> => {
  const n = out.length;
  const loop: Effect.Effect<Uint8Array, E | SocketError<"UnexpectedEof">> = Effect.suspend(() =>
    filled === n ? Effect.succeed(out) : Effect.flatMap(source.read(n - filled), (chunk) => {
      if (Option.isNone(chunk)) {
        return Effect.fail(truncated(`stream ended after ${filled} of ${n} bytes`));
      }
      const bytes = chunk.value;
      const take = Math.min(bytes.length, n - filled);
      out.set(take === bytes.length ? bytes : bytes.subarray(0, take), filled);
      filled += take;
      return loop;
    })
  );
  return loop;
};

/**
 * A source that yields `bytes` first and then whatever `source` yields: how a
 * protocol that peeked at the first bytes (to tell two protocols apart, say)
 * hands them back to a decoder.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * const sniff = (conn: Connection.Connection) =>
 *   Effect.gen(function* () {
 *     const first = yield* conn.read(4);
 *     if (Option.isNone(first)) return Option.none();
 *     const source = Framing.prepend(first.value, conn);
 *     return yield* Framing.lengthPrefixed().readFrame(source);
 *   });
 * ```
 */
export const prepend = <E>(bytes: Uint8Array, source: ByteSource<E>): ByteSource<E> =>
  new PrefixedSource(bytes, source);

class PrefixedSource<E> implements ByteSource<E> {
  constructor(private pending: Uint8Array, private readonly source: ByteSource<E>) {}

  read(maxBytes: number = READ_SIZE): Effect.Effect<Option.Option<Uint8Array>, E> {
    return Effect.suspend(() => {
      const pending = this.pending;
      if (pending.length === 0 || !(maxBytes >= 1)) return this.source.read(maxBytes);
      const take = Math.min(maxBytes, pending.length);
      this.pending = pending.subarray(take);
      return Effect.succeed(Option.some(pending.subarray(0, take)));
    });
  }
}

// ---------------------------------------------------------------------------
// Shared codec shape
// ---------------------------------------------------------------------------

/**
 * Reads frames one at a time from a {@link ByteSource}.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * // Read an HTTP-like header block, then hand the rest to a raw reader.
 * const headers = (conn: Connection.Connection) =>
 *   Effect.gen(function* () {
 *     const reader = Framing.lines().reader(conn);
 *     const lines: string[] = [];
 *     while (true) {
 *       const line = yield* reader.read;
 *       if (Option.isNone(line) || line.value.length === 0) break;
 *       lines.push(new TextDecoder().decode(line.value));
 *     }
 *     return { lines, body: reader.rest };
 *   });
 * ```
 */
export interface FrameReader<E> {
  /** The next frame, or `Option.none()` when the stream ends cleanly between frames. */
  readonly read: Effect.Effect<Option.Option<Uint8Array>, E | DecodeError>;
  /** Every remaining frame. */
  readonly stream: Stream.Stream<Uint8Array, E | DecodeError>;
  /**
   * The bytes after the last frame read (including any the reader has
   * buffered), as a source: switch to another codec or to raw reads with it.
   */
  readonly rest: ByteSource<E>;
}

/**
 * What both kinds of codec offer. Decoding: {@link Codec.reader},
 * {@link Codec.decode}, {@link Codec.decodeStream}; encoding:
 * {@link Codec.encode}, {@link Codec.write}, {@link Codec.writeAll},
 * {@link Codec.encodeStream}, {@link Codec.sink}.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * // Echo frames back, whatever the codec.
 * const echoFrames = (codec: Framing.Codec, conn: Connection.Connection) =>
 *   codec.decode(conn).pipe(Stream.run(codec.sink(conn)));
 * ```
 */
export interface Codec {
  /** A stateful reader of frames from `source`. */
  reader<E>(source: ByteSource<E>): FrameReader<E>;
  /** The frames of `source`, until it ends. */
  decode<E>(source: ByteSource<E>): Stream.Stream<Uint8Array, E | DecodeError>;
  /** The frames carried by a stream of byte chunks, whatever their boundaries. */
  decodeStream<E, R>(
    chunks: Stream.Stream<Uint8Array, E, R>,
  ): Stream.Stream<Uint8Array, E | DecodeError, R>;
  /** One frame's bytes on the wire. */
  encode(frame: FrameInput): Either.Either<Uint8Array, EncodeError>;
  /** Writes one frame with a single `write`. */
  write<E>(sink: ByteSink<E>, frame: FrameInput): Effect.Effect<void, E | EncodeError>;
  /**
   * Writes several frames, packing small ones together so that many frames
   * cost few writes. Nothing is written if any frame is invalid.
   */
  writeAll<E>(
    sink: ByteSink<E>,
    frames: Iterable<FrameInput>,
  ): Effect.Effect<void, E | EncodeError>;
  /** Encodes a stream of frames to a stream of bytes (one output chunk per input chunk). */
  encodeStream<E, R>(
    frames: Stream.Stream<FrameInput, E, R>,
  ): Stream.Stream<Uint8Array, E | EncodeError, R>;
  /** A Sink that writes every frame it receives to `sink`. */
  sink<E>(sink: ByteSink<E>): Sink.Sink<void, FrameInput, never, E | EncodeError>;
}

/**
 * A push decoder: feed it chunks, collect frames. The codecs' stream decoders
 * are built on it; use it directly to decode outside of Effect.
 *
 * @example
 * ```ts
 * import { Framing } from "@fibernet/socket";
 * const decoder = Framing.lines().decoder();
 * const frames: Uint8Array[] = [];
 * decoder.push(new TextEncoder().encode("a\nb"), frames); // frames: ["a"]
 * decoder.push(new TextEncoder().encode("\n"), frames); // frames: ["a", "b"]
 * decoder.end(frames); // undefined: ended cleanly
 * ```
 */
export interface Decoder {
  /** Decodes `chunk`, appending complete frames to `out`; returns the error that stops decoding, if any. */
  push(chunk: Uint8Array, out: Array<Uint8Array>): DecodeError | undefined;
  /** Signals end of input; returns an error if it ended inside a frame. */
  end(out: Array<Uint8Array>): DecodeError | undefined;
}

abstract class BaseCodec implements Codec {
  abstract reader<E>(source: ByteSource<E>): FrameReader<E>;
  abstract decoder(): Decoder;
  abstract encodedLength(frame: Uint8Array): number | EncodeError;
  abstract encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void;

  decode<E>(source: ByteSource<E>): Stream.Stream<Uint8Array, E | DecodeError> {
    return Stream.suspend(() => this.reader(source).stream);
  }

  decodeStream<E, R>(
    chunks: Stream.Stream<Uint8Array, E, R>,
  ): Stream.Stream<Uint8Array, E | DecodeError, R> {
    return Stream.suspend(() => {
      const decoder = this.decoder();
      const loop: Channel.Channel<
        Chunk.Chunk<Uint8Array>,
        Chunk.Chunk<Uint8Array>,
        E | DecodeError,
        E,
        unknown,
        unknown
      > = Channel.readWithCause({
        onInput: (input: Chunk.Chunk<Uint8Array>) => {
          const out: Array<Uint8Array> = [];
          let error: DecodeError | undefined;
          for (const chunk of input) {
            error = decoder.push(chunk, out);
            if (error !== undefined) break;
          }
          const emit = out.length > 0 ? Channel.write(Chunk.unsafeFromArray(out)) : Channel.void;
          return error !== undefined
            ? Channel.zipRight(emit, Channel.fail(error))
            : Channel.zipRight(emit, loop);
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () => {
          const out: Array<Uint8Array> = [];
          const error = decoder.end(out);
          const emit = out.length > 0 ? Channel.write(Chunk.unsafeFromArray(out)) : Channel.void;
          return error !== undefined ? Channel.zipRight(emit, Channel.fail(error)) : emit;
        },
      });
      return Stream.pipeThroughChannelOrFail(chunks, loop);
    });
  }

  encode(frame: FrameInput): Either.Either<Uint8Array, EncodeError> {
    const bytes = toBytes(frame);
    const length = this.encodedLength(bytes);
    if (typeof length !== "number") return Either.left(length);
    const out = new Uint8Array(length);
    this.encodeInto(bytes, out, 0);
    return Either.right(out);
  }

  write<E>(sink: ByteSink<E>, frame: FrameInput): Effect.Effect<void, E | EncodeError> {
    const encoded = this.encode(frame);
    return Either.isLeft(encoded)
      ? Effect.fail(encoded.left)
      : sink.write(encoded.right) as Effect.Effect<void, E | EncodeError>;
  }

  /** Encodes `frames` into as few buffers as batching allows. */
  encodeBatch(frames: Iterable<FrameInput>): Either.Either<Array<Uint8Array>, EncodeError> {
    const items: Array<{ bytes: Uint8Array; length: number }> = [];
    for (const frame of frames) {
      const bytes = toBytes(frame);
      const length = this.encodedLength(bytes);
      if (typeof length !== "number") return Either.left(length);
      items.push({ bytes, length });
    }
    const buffers: Array<Uint8Array> = [];
    let i = 0;
    while (i < items.length) {
      let total = items[i].length;
      let j = i + 1;
      while (j < items.length && total + items[j].length <= BATCH_BYTES) total += items[j++].length;
      const out = new Uint8Array(total);
      let offset = 0;
      for (let k = i; k < j; k++) {
        this.encodeInto(items[k].bytes, out, offset);
        offset += items[k].length;
      }
      buffers.push(out);
      i = j;
    }
    return Either.right(buffers);
  }

  writeAll<E>(
    sink: ByteSink<E>,
    frames: Iterable<FrameInput>,
  ): Effect.Effect<void, E | EncodeError> {
    return Effect.suspend((): Effect.Effect<void, E | EncodeError> => {
      const batch = this.encodeBatch(frames);
      if (Either.isLeft(batch)) return Effect.fail(batch.left);
      const buffers = batch.right;
      return buffers.length === 1
        ? sink.write(buffers[0])
        : Effect.forEach(buffers, (buffer) => sink.write(buffer), { discard: true });
    });
  }

  encodeStream<E, R>(
    frames: Stream.Stream<FrameInput, E, R>,
  ): Stream.Stream<Uint8Array, E | EncodeError, R> {
    return Stream.mapChunksEffect(frames, (chunk) => {
      const batch = this.encodeBatch(chunk);
      return Either.isLeft(batch)
        ? Effect.fail(batch.left)
        : Effect.succeed(Chunk.unsafeFromArray(batch.right));
    });
  }

  sink<E>(sink: ByteSink<E>): Sink.Sink<void, FrameInput, never, E | EncodeError> {
    return Sink.forEachChunk((chunk: Chunk.Chunk<FrameInput>) => this.writeAll(sink, chunk));
  }
}

/**
 * A stream of frames from a reader: each pull reads one frame (from the
 * source if need be) plus every further frame already buffered, so a burst
 * of small frames becomes one chunk instead of one stream step per frame.
 */
const streamOf = <E>(
  read: Effect.Effect<Option.Option<Uint8Array>, E>,
  buffered: (out: Array<Uint8Array>) => void,
): Stream.Stream<Uint8Array, E> =>
  Stream.repeatEffectChunkOption(
    Effect.flatMap(Effect.mapError(read, Option.some), (frame) => {
      if (Option.isNone(frame)) return Effect.fail(Option.none());
      const out = [frame.value];
      buffered(out);
      return Effect.succeed(Chunk.unsafeFromArray(out));
    }),
  );

// ---------------------------------------------------------------------------
// Length-prefixed frames
// ---------------------------------------------------------------------------

/**
 * The settings of a {@link LengthPrefixed} codec.
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const config: Framing.LengthPrefixedConfig = {
 *   lengthFieldLength: 4,
 *   endian: "big",
 *   maxFrameLength: 8 * 1024 * 1024,
 *   lengthAdjustment: 0,
 * };
 * ```
 */
export interface LengthPrefixedConfig {
  /** Bytes in the length field: 1, 2, 4 or 8. Default 4. */
  readonly lengthFieldLength: 1 | 2 | 4 | 8;
  /** Byte order of the length field. Default `"big"` (network order). */
  readonly endian: "big" | "little";
  /**
   * The longest payload accepted or sent, in bytes. Default 8 MiB. A longer
   * length field fails with `InvalidData` before anything is allocated.
   */
  readonly maxFrameLength: number;
  /**
   * Added to the length field to get the payload length (tokio's
   * `length_adjustment`). Use `-lengthFieldLength` for protocols whose length
   * counts the length field itself. Default 0.
   */
  readonly lengthAdjustment: number;
}

/**
 * Options of {@link lengthPrefixed}; each defaults as in {@link LengthPrefixedConfig}.
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const options: Framing.LengthPrefixedOptions = { lengthFieldLength: 2, endian: "little" };
 * ```
 */
export type LengthPrefixedOptions = Partial<LengthPrefixedConfig>;

/**
 * A length-prefixed codec, with tokio-style builder methods that return a new
 * codec (the original is unchanged).
 *
 * @example
 * ```ts
 * import { Framing } from "@fibernet/socket";
 * const codec = Framing.lengthPrefixed()
 *   .lengthFieldLength(2)
 *   .littleEndian()
 *   .maxFrameLength(1024);
 * codec.config.endian; // "little"
 * ```
 */
export interface LengthPrefixed extends Codec {
  /** The settings in force. */
  readonly config: LengthPrefixedConfig;
  /** The largest payload this codec can encode: `maxFrameLength`, capped by the length field. */
  readonly maxPayload: number;
  /** A copy with another length field size. */
  lengthFieldLength(bytes: 1 | 2 | 4 | 8): LengthPrefixed;
  /** A copy reading and writing the length big-endian (network order). */
  bigEndian(): LengthPrefixed;
  /** A copy reading and writing the length little-endian. */
  littleEndian(): LengthPrefixed;
  /** A copy with another maximum payload length. */
  maxFrameLength(bytes: number): LengthPrefixed;
  /** A copy with another length adjustment. */
  lengthAdjustment(delta: number): LengthPrefixed;
  /**
   * Reads one frame straight from the source: the header (a clean end of
   * stream before it is `Option.none()`), then the payload into a buffer of
   * exactly its size. Holds no state between frames.
   */
  readFrame<E>(source: ByteSource<E>): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError>;
  /** A push decoder (see {@link Decoder}). */
  decoder(): Decoder;
  /** The header announcing a payload of `length` bytes. */
  header(length: number): Either.Either<Uint8Array, EncodeError>;
}

const DEFAULT_LENGTH_CONFIG: LengthPrefixedConfig = {
  lengthFieldLength: 4,
  endian: "big",
  maxFrameLength: 8 * MiB,
  lengthAdjustment: 0,
};

/** Largest value of an n-byte unsigned field, as a (possibly inexact above 2^53) number. */
const fieldMax = (bytes: 1 | 2 | 4 | 8): number => bytes === 8 ? 2 ** 64 - 1 : 2 ** (8 * bytes) - 1;

/**
 * A length-prefixed codec (tokio's `LengthDelimitedCodec`): a length field of
 * `lengthFieldLength` bytes, then the payload. Defaults: 4-byte big-endian
 * length, 8 MiB maximum. Invalid settings (a field size other than 1, 2, 4 or
 * 8, a negative or fractional maximum) throw a `RangeError` at once: they are
 * programming errors, not runtime conditions.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * const codec = Framing.lengthPrefixed({ maxFrameLength: 64 * 1024 });
 * // Print every message until the peer closes.
 * const printAll = (conn: Connection.Connection) =>
 *   codec.decode(conn).pipe(
 *     Stream.runForEach((frame) => Effect.log(`${frame.length} bytes`)),
 *   );
 * ```
 */
export const lengthPrefixed = (options?: LengthPrefixedOptions): LengthPrefixed =>
  new LengthPrefixedCodec({ ...DEFAULT_LENGTH_CONFIG, ...options });

class LengthPrefixedCodec extends BaseCodec implements LengthPrefixed {
  readonly config: LengthPrefixedConfig;
  readonly maxPayload: number;
  private readonly headerLength: number;
  private readonly little: boolean;

  constructor(config: LengthPrefixedConfig) {
    super();
    const { lengthFieldLength, endian, maxFrameLength, lengthAdjustment } = config;
    if (![1, 2, 4, 8].includes(lengthFieldLength)) {
      throw new RangeError(`lengthFieldLength must be 1, 2, 4 or 8, got ${lengthFieldLength}`);
    }
    if (endian !== "big" && endian !== "little") {
      throw new RangeError(`endian must be "big" or "little", got ${endian}`);
    }
    if (!Number.isSafeInteger(maxFrameLength) || maxFrameLength < 0) {
      throw new RangeError(
        `maxFrameLength must be a whole number of bytes >= 0, got ${maxFrameLength}`,
      );
    }
    if (!Number.isSafeInteger(lengthAdjustment)) {
      throw new RangeError(`lengthAdjustment must be a whole number, got ${lengthAdjustment}`);
    }
    this.config = Object.freeze({ ...config });
    this.headerLength = lengthFieldLength;
    this.little = endian === "little";
    this.maxPayload = Math.max(
      0,
      Math.min(maxFrameLength, fieldMax(lengthFieldLength) + lengthAdjustment),
    );
  }

  private with(patch: Partial<LengthPrefixedConfig>): LengthPrefixed {
    return new LengthPrefixedCodec({ ...this.config, ...patch });
  }
  lengthFieldLength(bytes: 1 | 2 | 4 | 8): LengthPrefixed {
    return this.with({ lengthFieldLength: bytes });
  }
  bigEndian(): LengthPrefixed {
    return this.with({ endian: "big" });
  }
  littleEndian(): LengthPrefixed {
    return this.with({ endian: "little" });
  }
  maxFrameLength(bytes: number): LengthPrefixed {
    return this.with({ maxFrameLength: bytes });
  }
  lengthAdjustment(delta: number): LengthPrefixed {
    return this.with({ lengthAdjustment: delta });
  }

  /**
   * The payload length announced by the header at `bytes[offset…]`, or the
   * error that refuses it. Nothing is allocated here: the check comes first.
   */
  payloadLength(bytes: Uint8Array, offset: number): number | DecodeError {
    const n = this.headerLength;
    let value: number;
    if (n === 1) {
      value = bytes[offset];
    } else if (n === 2) {
      value = this.little
        ? bytes[offset] | (bytes[offset + 1] << 8)
        : (bytes[offset] << 8) | bytes[offset + 1];
    } else if (n === 4) {
      value = this.little ? u32le(bytes, offset) : u32be(bytes, offset);
    } else {
      // Above 2^53 the double is inexact, but still far above any maximum.
      value = this.little
        ? u32le(bytes, offset + 4) * 0x1_0000_0000 + u32le(bytes, offset)
        : u32be(bytes, offset) * 0x1_0000_0000 + u32be(bytes, offset + 4);
    }
    const length = value + this.config.lengthAdjustment;
    if (length > this.config.maxFrameLength) {
      return invalidData(
        `frame length ${
          this.describeField(bytes, offset)
        } exceeds maxFrameLength ${this.config.maxFrameLength}`,
      );
    }
    if (length < 0) {
      return invalidData(
        `length field ${value} with lengthAdjustment ${this.config.lengthAdjustment} gives a negative frame length`,
      );
    }
    return length;
  }

  /** The exact text of the payload length a header announces (BigInt for 8-byte fields). */
  private describeField(bytes: Uint8Array, offset: number): string {
    const n = this.headerLength;
    let value = 0n;
    for (let i = 0; i < n; i++) {
      const b = bytes[offset + (this.little ? n - 1 - i : i)];
      value = (value << 8n) | BigInt(b);
    }
    const length = value + BigInt(this.config.lengthAdjustment);
    return length.toString();
  }

  header(length: number): Either.Either<Uint8Array, EncodeError> {
    const problem = this.checkLength(length);
    if (problem !== undefined) return Either.left(problem);
    const out = new Uint8Array(this.headerLength);
    this.writeHeader(length, out, 0);
    return Either.right(out);
  }

  private checkLength(length: number): EncodeError | undefined {
    if (length > this.config.maxFrameLength) {
      return invalidData(
        `frame of ${length} bytes exceeds maxFrameLength ${this.config.maxFrameLength}`,
        "write",
      );
    }
    const field = length - this.config.lengthAdjustment;
    if (field < 0 || field > fieldMax(this.config.lengthFieldLength)) {
      return invalidData(
        `frame of ${length} bytes does not fit a ${this.config.lengthFieldLength}-byte length field` +
          (this.config.lengthAdjustment !== 0
            ? ` with lengthAdjustment ${this.config.lengthAdjustment}`
            : ""),
        "write",
      );
    }
    return undefined;
  }

  private writeHeader(length: number, out: Uint8Array, offset: number): void {
    const value = length - this.config.lengthAdjustment;
    const n = this.headerLength;
    if (n === 8) {
      const hi = Math.floor(value / 0x1_0000_0000);
      const lo = value >>> 0;
      if (this.little) {
        putU32le(out, offset, lo);
        putU32le(out, offset + 4, hi);
      } else {
        putU32be(out, offset, hi);
        putU32be(out, offset + 4, lo);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const shift = 8 * (this.little ? i : n - 1 - i);
      out[offset + i] = (value >>> shift) & 0xff;
    }
  }

  encodedLength(frame: Uint8Array): number | EncodeError {
    return this.checkLength(frame.length) ?? this.headerLength + frame.length;
  }

  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void {
    this.writeHeader(frame.length, out, offset);
    out.set(frame, offset + this.headerLength);
  }

  readFrame<E>(source: ByteSource<E>): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> {
    const n = this.headerLength;
    return Effect.flatMap(Effect.suspend(() => source.read(n)), (first) => {
      if (Option.isNone(first)) return Effect.succeed(Option.none());
      const chunk = first.value;
      if (chunk.length >= n) return this.readPayload(source, chunk);
      return Effect.flatMap(
        Effect.mapError(
          readExactly(source, n - chunk.length),
          (error) =>
            isEof(error)
              ? truncated(`stream ended inside a frame header (${n}-byte length field)`)
              : error,
        ),
        (rest) => {
          const header = new Uint8Array(n);
          header.set(chunk, 0);
          header.set(rest, chunk.length);
          return this.readPayload(source, header);
        },
      );
    });
  }

  private readPayload<E>(
    source: ByteSource<E>,
    header: Uint8Array,
  ): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> {
    const length = this.payloadLength(header, 0);
    if (typeof length !== "number") return Effect.fail(length);
    if (length === 0) return Effect.succeed(Option.some(new Uint8Array(0)));
    return Effect.mapBoth(readExactly(source, length), {
      onFailure: (error) =>
        isEof(error)
          ? truncated(`stream ended inside a frame: fewer than the ${length} bytes announced`)
          : error,
      onSuccess: Option.some,
    });
  }

  reader<E>(source: ByteSource<E>): FrameReader<E> {
    const reader = new LengthReader(this, source);
    return {
      read: reader.read,
      stream: streamOf(reader.read, (out) => reader.buffered(out)),
      get rest(): ByteSource<E> {
        return reader.takeRest();
      },
    };
  }

  decoder(): Decoder {
    return new LengthDecoder(this);
  }
}

/**
 * The buffered pull reader: one source read brings in up to 64 KiB, from
 * which small frames are sliced without further reads; a frame larger than
 * what is buffered is finished with exact-size reads into its own buffer
 * (allocated after the length check).
 */
class LengthReader<E> {
  private pending: Uint8Array = EMPTY;
  private failed: DecodeError | undefined = undefined;

  constructor(
    private readonly codec: LengthPrefixedCodec,
    private readonly source: ByteSource<E>,
  ) {}

  readonly read: Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> = Effect.suspend(() =>
    this.next()
  );

  private next(): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> {
    if (this.failed !== undefined) return Effect.fail(this.failed);
    const h = this.codec.config.lengthFieldLength;
    const pending = this.pending;
    if (pending.length >= h) {
      const length = this.codec.payloadLength(pending, 0);
      if (typeof length !== "number") {
        this.failed = length;
        this.pending = EMPTY;
        return Effect.fail(length);
      }
      if (pending.length >= h + length) {
        this.pending = pending.subarray(h + length);
        return Effect.succeed(Option.some(pending.slice(h, h + length)));
      }
      const out = new Uint8Array(length);
      out.set(pending.subarray(h), 0);
      this.pending = EMPTY;
      return Effect.mapBoth(fill(this.source, out, pending.length - h), {
        onFailure: (error) =>
          isEof(error)
            ? this.fail(
              truncated(`stream ended inside a frame: fewer than the ${length} bytes announced`),
            )
            : error,
        onSuccess: Option.some,
      });
    }
    return Effect.flatMap(this.source.read(READ_SIZE), (chunk) => {
      if (Option.isNone(chunk)) {
        return pending.length === 0 ? Effect.succeed(Option.none()) : Effect.fail(
          this.fail(
            truncated(`stream ended inside a frame header (${pending.length} of ${h} bytes)`),
          ),
        );
      }
      if (pending.length === 0) {
        this.pending = chunk.value;
      } else {
        const joined = new Uint8Array(pending.length + chunk.value.length);
        joined.set(pending, 0);
        joined.set(chunk.value, pending.length);
        this.pending = joined;
      }
      return this.next();
    });
  }

  private fail(error: DecodeError): DecodeError {
    this.failed = error;
    return error;
  }

  /** Appends the frames complete in the buffer; an invalid one is left for `read` to report. */
  buffered(out: Array<Uint8Array>): void {
    const h = this.codec.config.lengthFieldLength;
    while (this.failed === undefined && this.pending.length >= h) {
      const length = this.codec.payloadLength(this.pending, 0);
      if (typeof length !== "number" || this.pending.length < h + length) return;
      out.push(this.pending.slice(h, h + length));
      this.pending = this.pending.subarray(h + length);
    }
  }

  takeRest(): ByteSource<E> {
    const pending = this.pending;
    this.pending = EMPTY;
    return prepend(pending, this.source);
  }
}

const u32be = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const u32le = (b: Uint8Array, o: number): number =>
  ((b[o + 3] << 24) | (b[o + 2] << 16) | (b[o + 1] << 8) | b[o]) >>> 0;
const putU32be = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
};
const putU32le = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
};

/** Push decoder for length-prefixed frames: a header buffer, then one exact-size payload buffer. */
class LengthDecoder implements Decoder {
  private readonly header: Uint8Array;
  private headerFilled = 0;
  private payload: Uint8Array | undefined = undefined;
  private payloadFilled = 0;
  private failed: DecodeError | undefined = undefined;

  constructor(private readonly codec: LengthPrefixedCodec) {
    this.header = new Uint8Array(codec.config.lengthFieldLength);
  }

  push(chunk: Uint8Array, out: Array<Uint8Array>): DecodeError | undefined {
    if (this.failed !== undefined) return this.failed;
    const h = this.header.length;
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      if (this.payload !== undefined) {
        const take = Math.min(this.payload.length - this.payloadFilled, end - i);
        this.payload.set(chunk.subarray(i, i + take), this.payloadFilled);
        this.payloadFilled += take;
        i += take;
        if (this.payloadFilled === this.payload.length) {
          out.push(this.payload);
          this.payload = undefined;
        }
        continue;
      }
      let length: number | DecodeError;
      if (this.headerFilled === 0 && end - i >= h) {
        // Fast path: a whole header inside this chunk.
        length = this.codec.payloadLength(chunk, i);
        i += h;
      } else {
        const take = Math.min(h - this.headerFilled, end - i);
        this.header.set(chunk.subarray(i, i + take), this.headerFilled);
        this.headerFilled += take;
        i += take;
        if (this.headerFilled < h) break;
        this.headerFilled = 0;
        length = this.codec.payloadLength(this.header, 0);
      }
      if (typeof length !== "number") return this.failed = length;
      if (end - i >= length) {
        out.push(chunk.slice(i, i + length));
        i += length;
      } else {
        this.payload = new Uint8Array(length);
        this.payloadFilled = 0;
      }
    }
    return undefined;
  }

  end(_out: Array<Uint8Array>): DecodeError | undefined {
    if (this.failed !== undefined) return this.failed;
    if (this.headerFilled > 0) {
      return this.failed = truncated(
        `stream ended inside a frame header (${this.headerFilled} of ${this.header.length} bytes)`,
      );
    }
    if (this.payload !== undefined) {
      return this.failed = truncated(
        `stream ended inside a frame: ${this.payloadFilled} of ${this.payload.length} bytes`,
      );
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Delimited frames
// ---------------------------------------------------------------------------

/**
 * Options of {@link delimited} and {@link lines}.
 *
 * @example
 * ```ts
 * import type { Framing } from "@fibernet/socket";
 * const nulTerminated: Framing.DelimitedOptions = {
 *   delimiter: new Uint8Array([0]),
 *   maxLength: 4096,
 * };
 * ```
 */
export interface DelimitedOptions {
  /**
   * The bytes that end a frame: a string (sent as UTF-8) or bytes, never
   * empty. Default `"\n"`.
   */
  readonly delimiter?: string | Uint8Array;
  /**
   * The longest frame accepted or sent, delimiter not counted. A longer one
   * fails with `InvalidData` as soon as that is certain, so the reader never
   * buffers more than about this much. Default 64 KiB.
   */
  readonly maxLength?: number;
  /**
   * Drop one `"\r"` before the delimiter, so `"\r\n"` line endings decode
   * like `"\n"`. Default true for {@link lines}, false for {@link delimited}.
   */
  readonly stripCr?: boolean;
  /**
   * What a final frame without a delimiter at end of stream is: by default an
   * `UnexpectedEof` failure; with `true`, one last frame.
   */
  readonly allowUnterminated?: boolean;
}

/**
 * A delimiter codec (see {@link delimited}).
 *
 * @example
 * ```ts
 * import { Framing } from "@fibernet/socket";
 * const codec: Framing.Delimited = Framing.lines({ maxLength: 1024 });
 * codec.maxLength; // 1024
 * ```
 */
export interface Delimited extends Codec {
  /** The delimiter bytes. */
  readonly delimiter: Uint8Array;
  /** The longest frame, delimiter excluded. */
  readonly maxLength: number;
  /** Whether a `"\r"` before the delimiter is dropped. */
  readonly stripCr: boolean;
  /** Whether a final frame without a delimiter is accepted. */
  readonly allowUnterminated: boolean;
  /** A push decoder (see {@link Decoder}). */
  decoder(): Decoder;
}

/**
 * Frames that end with a delimiter, as in line-based protocols. The encoder
 * appends the delimiter and refuses a frame that would not decode back to
 * itself (one containing the delimiter, or ending in `"\r"` when `stripCr`).
 * Invalid settings (an empty delimiter, a negative maximum) throw a
 * `RangeError`.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * const records = Framing.delimited({ delimiter: "\u001e", maxLength: 1 << 20 });
 * const count = (conn: Connection.Connection) =>
 *   records.decode(conn).pipe(Stream.runCount);
 * ```
 */
export const delimited = (options?: DelimitedOptions): Delimited =>
  new DelimitedCodec(
    toBytes(options?.delimiter ?? "\n"),
    options?.maxLength ?? 64 * 1024,
    options?.stripCr ?? false,
    options?.allowUnterminated ?? false,
  );

/**
 * Lines: frames ending in `"\n"`, with a `"\r"` before it dropped (so
 * `"\r\n"` works too), at most 64 KiB unless `maxLength` says otherwise.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 *
 * // The echo robot: answer each line until "q".
 * const robot = (conn: Connection.Connection) => {
 *   const lines = Framing.lines({ maxLength: 1024 });
 *   return Framing.utf8(lines.decode(conn)).pipe(
 *     Stream.takeWhile((line) => line !== "q"),
 *     Stream.runForEach((line) => lines.write(conn, `you said: ${line}`)),
 *   );
 * };
 * ```
 */
export const lines = (options?: Omit<DelimitedOptions, "delimiter">): Delimited =>
  delimited({ ...options, delimiter: "\n", stripCr: options?.stripCr ?? true });

const CR = 0x0d;

/** Index of `needle` in `hay[from, to)`, or -1. */
const indexOfBytes = (hay: Uint8Array, needle: Uint8Array, from: number, to: number): number => {
  const first = needle[0];
  const n = needle.length;
  if (n === 1) {
    const i = hay.subarray(0, to).indexOf(first, from);
    return i;
  }
  const last = to - n;
  let i = from;
  while (i <= last) {
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let k = 1;
    while (k < n && hay[i + k] === needle[k]) k++;
    if (k === n) return i;
    i++;
  }
  return -1;
};

class DelimitedCodec extends BaseCodec implements Delimited {
  constructor(
    readonly delimiter: Uint8Array,
    readonly maxLength: number,
    readonly stripCr: boolean,
    readonly allowUnterminated: boolean,
  ) {
    super();
    if (delimiter.length === 0) throw new RangeError("the delimiter must not be empty");
    if (!Number.isSafeInteger(maxLength) || maxLength < 0) {
      throw new RangeError(`maxLength must be a whole number of bytes >= 0, got ${maxLength}`);
    }
    this.delimiter = delimiter.slice();
  }

  encodedLength(frame: Uint8Array): number | EncodeError {
    if (frame.length > this.maxLength) {
      return invalidData(
        `frame of ${frame.length} bytes exceeds maxLength ${this.maxLength}`,
        "write",
      );
    }
    if (this.stripCr && frame.length > 0 && frame[frame.length - 1] === CR) {
      return invalidData(
        "a frame ending in \\r would lose it when decoded (stripCr is on)",
        "write",
      );
    }
    // The first delimiter in frame + delimiter must be the one appended: this
    // also catches a frame ending in a prefix of a self-overlapping delimiter.
    const d = this.delimiter;
    const from = Math.max(0, frame.length - d.length + 1);
    if (
      indexOfBytes(frame, d, 0, frame.length) >= 0 || this.overlapsTail(frame, from)
    ) {
      return invalidData("the frame contains the delimiter", "write");
    }
    return frame.length + d.length;
  }

  /** True if the delimiter starts at some position ≥ `from` of frame + delimiter before the appended one. */
  private overlapsTail(frame: Uint8Array, from: number): boolean {
    const d = this.delimiter;
    for (let start = from; start < frame.length; start++) {
      let ok = true;
      for (let k = 0; k < d.length; k++) {
        const p = start + k;
        const byte = p < frame.length ? frame[p] : d[p - frame.length];
        if (byte !== d[k]) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  }

  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void {
    out.set(frame, offset);
    out.set(this.delimiter, offset + frame.length);
  }

  decoder(): Decoder {
    const state = new DelimitedState(this);
    return {
      push: (chunk, out) => {
        state.feed(chunk);
        return state.drain(out);
      },
      end: (out) => state.finish(out),
    };
  }

  reader<E>(source: ByteSource<E>): FrameReader<E> {
    const state = new DelimitedState(this);
    const read: Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> = Effect.suspend(() => {
      const frame = state.next();
      if (frame === undefined) {
        return Effect.flatMap(source.read(READ_SIZE), (chunk) => {
          if (Option.isSome(chunk)) {
            state.feed(chunk.value);
            return read;
          }
          const out: Array<Uint8Array> = [];
          const error = state.finish(out);
          if (error !== undefined) return Effect.fail(error);
          return Effect.succeed(out.length > 0 ? Option.some(out[0]) : Option.none());
        });
      }
      return frame instanceof Uint8Array ? Effect.succeed(Option.some(frame)) : Effect.fail(frame);
    });
    return {
      read,
      // An error met while collecting is kept by the state and reported by the next read.
      stream: streamOf(read, (out) => void state.drain(out)),
      get rest(): ByteSource<E> {
        return prepend(state.takePending(), source);
      },
    };
  }
}

/**
 * The pending bytes of a delimiter decoder and the frames they hold. Each
 * byte is scanned once: `scanned` marks where the next search resumes.
 */
class DelimitedState {
  private buffer: Uint8Array = EMPTY;
  /** Whether `buffer` is ours to append into (a fed chunk is adopted without copying). */
  private owned = false;
  private start = 0;
  private end = 0;
  private scanned = 0;
  private failed: DecodeError | undefined = undefined;
  private done = false;

  constructor(private readonly codec: DelimitedCodec) {}

  feed(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failed !== undefined) return;
    const pending = this.end - this.start;
    if (pending === 0) {
      this.buffer = chunk;
      this.owned = false;
      this.start = this.scanned = 0;
      this.end = chunk.length;
      return;
    }
    const needed = pending + chunk.length;
    if (this.owned && this.buffer.length - this.end >= chunk.length) {
      this.buffer.set(chunk, this.end);
      this.end += chunk.length;
      return;
    }
    const grown = new Uint8Array(Math.max(needed, Math.min(2 * needed, needed + 64 * 1024), 256));
    grown.set(this.buffer.subarray(this.start, this.end), 0);
    grown.set(chunk, pending);
    this.scanned -= this.start;
    this.buffer = grown;
    this.owned = true;
    this.start = 0;
    this.end = needed;
  }

  /** The next complete frame, `undefined` if more input is needed, or the error. */
  next(): Uint8Array | DecodeError | undefined {
    if (this.failed !== undefined) return this.failed;
    const d = this.codec.delimiter;
    const from = Math.max(this.start, this.scanned);
    const at = indexOfBytes(this.buffer, d, from, this.end);
    if (at < 0) {
      this.scanned = Math.max(this.start, this.end - d.length + 1);
      if (this.shortestFrame() > this.codec.maxLength) {
        return this.fail(
          invalidData(
            `frame longer than maxLength ${this.codec.maxLength} bytes without a delimiter`,
          ),
        );
      }
      return undefined;
    }
    const frame = this.frameOf(this.start, at);
    this.start = this.scanned = at + d.length;
    if (this.start === this.end) this.reset();
    return frame;
  }

  /**
   * The least the pending frame can turn out to be: everything except a tail
   * that may be the start of the delimiter, and a "\r" before it if stripped.
   */
  private shortestFrame(): number {
    const d = this.codec.delimiter;
    const buffer = this.buffer;
    const pending = this.end - this.start;
    let tail = 0;
    for (let k = Math.min(d.length - 1, pending); k > 0 && tail === 0; k--) {
      let match = true;
      for (let i = 0; i < k && match; i++) match = buffer[this.end - k + i] === d[i];
      if (match) tail = k;
    }
    let length = pending - tail;
    if (this.codec.stripCr && length > 0 && buffer[this.start + length - 1] === CR) length--;
    return length;
  }

  private frameOf(start: number, end: number): Uint8Array | DecodeError {
    let stop = end;
    if (this.codec.stripCr && stop > start && this.buffer[stop - 1] === CR) stop--;
    if (stop - start > this.codec.maxLength) {
      return this.fail(
        invalidData(`frame of ${stop - start} bytes exceeds maxLength ${this.codec.maxLength}`),
      );
    }
    return this.buffer.slice(start, stop);
  }

  private fail(error: DecodeError): DecodeError {
    this.failed = error;
    this.reset();
    return error;
  }

  private reset(): void {
    this.buffer = EMPTY;
    this.owned = false;
    this.start = this.end = this.scanned = 0;
  }

  /** Appends every complete frame to `out`. */
  drain(out: Array<Uint8Array>): DecodeError | undefined {
    while (true) {
      const frame = this.next();
      if (frame === undefined) return undefined;
      if (!(frame instanceof Uint8Array)) return frame;
      out.push(frame);
    }
  }

  /** End of input: the unterminated tail is a last frame or an error. */
  finish(out: Array<Uint8Array>): DecodeError | undefined {
    if (this.failed !== undefined) return this.failed;
    const error = this.drain(out);
    if (error !== undefined) return error;
    if (this.done) return undefined;
    this.done = true;
    const pending = this.end - this.start;
    if (pending === 0) return undefined;
    if (!this.codec.allowUnterminated) {
      return this.fail(
        truncated(`stream ended inside a frame: ${pending} bytes without a delimiter`),
      );
    }
    const frame = this.frameOf(this.start, this.end);
    this.reset();
    if (!(frame instanceof Uint8Array)) return frame;
    out.push(frame);
    return undefined;
  }

  /** Removes and returns the bytes not yet part of a returned frame. */
  takePending(): Uint8Array {
    const pending = this.buffer.slice(this.start, this.end);
    this.reset();
    return pending;
  }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/**
 * Decodes each frame as UTF-8 text; invalid UTF-8 fails with `InvalidData`.
 *
 * @example
 * ```ts
 * import { Stream } from "effect";
 * import { type Connection, Framing } from "@fibernet/socket";
 * const textLines = (conn: Connection.Connection) =>
 *   Framing.utf8(Framing.lines().decode(conn)).pipe(Stream.map((s) => s.toUpperCase()));
 * ```
 */
export const utf8 = <E, R>(
  frames: Stream.Stream<Uint8Array, E, R>,
): Stream.Stream<string, E | SocketError<"InvalidData">, R> => {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return Stream.mapEffect(frames, (frame) =>
    Effect.try({
      try: () => decoder.decode(frame),
      catch: (cause) =>
        new SocketError({
          reason: "InvalidData",
          operation: "read",
          detail: "a frame is not valid UTF-8",
          cause,
        }),
    }));
};

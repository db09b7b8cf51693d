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
 * Decoding reads from a connection only when asked, so a slow consumer slows
 * the peer, or transforms any `Stream<Uint8Array>`, and gives the same frames
 * whatever the chunk boundaries. On this library's connections it reads the
 * socket directly: each frame is copied once out of the connection's read
 * buffer, a large one is read straight into its own buffer, and bytes after
 * the frames taken stay in the connection. Encoding writes each frame whole,
 * so frames written by concurrent fibers never interleave; on a connection a
 * small frame costs no allocation and a large payload is not copied.
 *
 * Each codec has one decoder, in the Effect-free core (`@fibernet/socket/core`:
 * `LengthPrefixedCodec`, `DelimitedCodec`); every way of reading here is
 * built on it.
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
import type * as Arr from "effect/Array";
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Option from "effect/Option";
import * as Pull from "effect/Pull";
import * as Result from "effect/Result";
import * as Sink from "effect/Sink";
import * as Stream from "effect/Stream";
import { SocketError } from "./SocketError.ts";
import { encodeFrame, type FrameDecoder, type FrameEncoder } from "./core/framing/codec.ts";
import { FrameError, truncatedFrame } from "./core/framing/frame_error.ts";
import * as core from "./core/framing/length_prefixed.ts";
import { DelimitedCodec } from "./core/framing/delimited.ts";
import {
  frameFailure,
  frameReader,
  type FrameReaders,
  prefixed,
  readOneFrame,
  socketOf,
} from "./internal/frame_reading.ts";
import { writeFrameTo } from "./internal/frame_writing.ts";

// ---------------------------------------------------------------------------
// Sources, sinks and errors
// ---------------------------------------------------------------------------

/**
 * Where decoders pull bytes from: a {@link Connection.Connection} is one, and
 * so is {@link prepend}'s result or a frame reader's `rest`. `read` returns
 * `Option.none()` at end of stream; {@link readExactly} builds exact reads
 * on it. Decoders call `read` only when the Effect they return runs, so
 * running such an Effect twice reads twice. (On this library's connections
 * decoders read the connection's socket directly instead.)
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

const encoder = new TextEncoder();
const toBytes = (frame: FrameInput): Uint8Array =>
  typeof frame === "string" ? encoder.encode(frame) : frame;

/** Frames at most this big are batched together by `writeAll` and `encodeStream`. */
const BATCH_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------
// readExactly and prepend
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
      if (Option.isNone(chunk)) return Effect.fail(ended(0, n));
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

const ended = (filled: number, n: number): SocketError<"UnexpectedEof"> =>
  frameFailure(truncatedFrame(`stream ended after ${filled} of ${n} bytes`));

/** Fills `out` from `filled` on with exact-size reads (never reading past its end). */
const fill = <E>(
  source: ByteSource<E>,
  out: Uint8Array,
  filled: number,
): Effect.Effect<Uint8Array, E | SocketError<"UnexpectedEof">> => {
  const n = out.length;
  const loop: Effect.Effect<Uint8Array, E | SocketError<"UnexpectedEof">> = Effect.suspend(() =>
    filled === n ? Effect.succeed(out) : Effect.flatMap(source.read(n - filled), (chunk) => {
      if (Option.isNone(chunk)) return Effect.fail(ended(filled, n));
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
  prefixed(bytes, source);

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
  /** Every remaining frame; each array pulled holds every frame already read. */
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
  /** One frame's bytes on the wire (a `Result`: use `Effect.fromResult` for an Effect). */
  encode(frame: FrameInput): Result.Result<Uint8Array, EncodeError>;
  /**
   * Writes one frame, whole: nothing from another write comes between its
   * bytes. To a sink, with a single `write`; to one of this library's
   * connections, straight to its socket (a small frame is encoded without
   * an allocation, a large payload goes out without a copy: leave it
   * untouched until the write completes).
   */
  write<E>(sink: ByteSink<E>, frame: FrameInput): Effect.Effect<void, E | EncodeError>;
  /**
   * Writes several frames, packing small ones together so that many frames
   * cost few writes. Nothing is written if any frame is invalid.
   */
  writeAll<E>(
    sink: ByteSink<E>,
    frames: Iterable<FrameInput>,
  ): Effect.Effect<void, E | EncodeError>;
  /** Encodes a stream of frames to a stream of bytes (small frames packed into few buffers). */
  encodeStream<E, R>(
    frames: Stream.Stream<FrameInput, E, R>,
  ): Stream.Stream<Uint8Array, E | EncodeError, R>;
  /** A Sink that writes every frame it receives to `sink`. */
  sink<E>(sink: ByteSink<E>): Sink.Sink<void, FrameInput, never, E | EncodeError>;
}

/**
 * A push decoder: feed it chunks, collect frames. It wraps the codec's one
 * decoder (the core's `FrameDecoder`), which every other way of decoding
 * uses too; use it to decode outside of Effect.
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

/** Appends every frame `decoder` can give from what it was fed; the error, if one stops it. */
const drain = (decoder: FrameDecoder, out: Array<Uint8Array>): FrameError | undefined => {
  while (true) {
    const frame = decoder.next();
    if (frame === undefined) return undefined;
    if (frame instanceof FrameError) return frame;
    out.push(frame);
  }
};

/** End of input after draining: a last frame is appended; the error, if any. */
const finish = (decoder: FrameDecoder, out: Array<Uint8Array>): FrameError | undefined => {
  const last = decoder.end();
  if (last instanceof Uint8Array) {
    out.push(last);
    return undefined;
  }
  return last ?? undefined;
};

/** The public push decoder over a core decoder. */
const pushDecoder = (decoder: FrameDecoder): Decoder => ({
  push: (chunk, out) => {
    decoder.push(chunk);
    const error = drain(decoder, out);
    return error === undefined ? undefined : frameFailure(error);
  },
  end: (out) => {
    const error = drain(decoder, out) ?? finish(decoder, out);
    return error === undefined ? undefined : frameFailure(error);
  },
});

/** The Effect face of a core codec: decoding and encoding built on its decoder and encoder. */
abstract class BaseCodec implements Codec {
  protected abstract readonly core: FrameEncoder & { decoder(): FrameDecoder };

  reader<E>(source: ByteSource<E>): FrameReader<E> {
    return frameReader(this.core.decoder(), source);
  }

  decoder(): Decoder {
    return pushDecoder(this.core.decoder());
  }

  decode<E>(source: ByteSource<E>): Stream.Stream<Uint8Array, E | DecodeError> {
    return Stream.suspend(() => this.reader(source).stream);
  }

  decodeStream<E, R>(
    chunks: Stream.Stream<Uint8Array, E, R>,
  ): Stream.Stream<Uint8Array, E | DecodeError, R> {
    // Pull-based (Effect 4 has no Channel.readWithCause): each pull reads
    // arrays of chunks upstream until some frame is complete, and gives every
    // frame complete by then; an error comes after the frames before it.
    return Stream.transformPull(chunks, (upstream) =>
      Effect.sync(() => {
        const decoder = this.core.decoder();
        let failure: DecodeError | undefined;
        let ended = false;
        const onInput = (
          input: Arr.NonEmptyReadonlyArray<Uint8Array> | undefined,
        ): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E | DecodeError> => {
          const out: Array<Uint8Array> = [];
          let error: FrameError | undefined;
          if (input === undefined) {
            ended = true;
            error = finish(decoder, out);
          } else {
            for (const chunk of input) {
              decoder.push(chunk);
              error = drain(decoder, out);
              if (error !== undefined) break;
            }
          }
          if (error !== undefined) failure = frameFailure(error);
          return out.length > 0
            ? Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>)
            : pull;
        };
        const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E | DecodeError> = Effect
          .suspend(() => {
            if (failure !== undefined) return Effect.fail(failure);
            if (ended) return Cause.done();
            return Effect.flatMap(
              Pull.catchDone(upstream, () => Effect.succeed(undefined)),
              onInput,
            );
          });
        return pull;
      }));
  }

  encode(frame: FrameInput): Result.Result<Uint8Array, EncodeError> {
    const encoded = encodeFrame(this.core, toBytes(frame));
    return encoded instanceof FrameError
      ? Result.fail(frameFailure(encoded))
      : Result.succeed(encoded);
  }

  write<E>(sink: ByteSink<E>, frame: FrameInput): Effect.Effect<void, E | EncodeError> {
    const socket = socketOf(sink);
    if (socket !== undefined) {
      return Effect.suspend(() => writeFrameTo(socket, this.core, toBytes(frame))) as Effect.Effect<
        void,
        E | EncodeError
      >;
    }
    return Effect.suspend((): Effect.Effect<void, E | EncodeError> => {
      const encoded = encodeFrame(this.core, toBytes(frame));
      return encoded instanceof FrameError
        ? Effect.fail(frameFailure<"InvalidData">(encoded))
        : sink.write(encoded);
    });
  }

  /** Encodes `frames` into as few buffers as batching allows. */
  private encodeBatch(frames: Iterable<FrameInput>): Result.Result<Array<Uint8Array>, EncodeError> {
    const items: Array<{ bytes: Uint8Array; length: number }> = [];
    for (const frame of frames) {
      const bytes = toBytes(frame);
      const length = this.core.encodedLength(bytes);
      if (typeof length !== "number") return Result.fail(frameFailure(length));
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
        this.core.encodeInto(items[k].bytes, out, offset);
        offset += items[k].length;
      }
      buffers.push(out);
      i = j;
    }
    return Result.succeed(buffers);
  }

  writeAll<E>(
    sink: ByteSink<E>,
    frames: Iterable<FrameInput>,
  ): Effect.Effect<void, E | EncodeError> {
    return Effect.suspend((): Effect.Effect<void, E | EncodeError> => {
      const batch = this.encodeBatch(frames);
      if (Result.isFailure(batch)) return Effect.fail(batch.failure);
      const buffers = batch.success;
      return buffers.length === 1
        ? sink.write(buffers[0])
        : Effect.forEach(buffers, (buffer) => sink.write(buffer), { discard: true });
    });
  }

  encodeStream<E, R>(
    frames: Stream.Stream<FrameInput, E, R>,
  ): Stream.Stream<Uint8Array, E | EncodeError, R> {
    return Stream.mapArrayEffect(frames, (chunk) => {
      const batch = this.encodeBatch(chunk);
      // A non-empty array of frames encodes to at least one buffer.
      return Result.isFailure(batch)
        ? Effect.fail(batch.failure)
        : Effect.succeed(batch.success as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>);
    });
  }

  sink<E>(sink: ByteSink<E>): Sink.Sink<void, FrameInput, never, E | EncodeError> {
    return Sink.forEachArray((chunk: Arr.NonEmptyReadonlyArray<FrameInput>) =>
      this.writeAll(sink, chunk)
    );
  }
}

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
export type LengthPrefixedConfig = core.LengthPrefixedConfig;

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
   * Reads one frame, holding no state between frames (a clean end of stream
   * before the header is `Option.none()`). From one of this library's
   * connections: one read per frame, and bytes after the frame stay in the
   * connection; interrupted while waiting, the bytes of the frame begun go
   * back to the connection too. From any other source: the header, then the
   * payload into a buffer of exactly its size, never reading past the frame.
   */
  readFrame<E>(source: ByteSource<E>): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError>;
  /** A push decoder (see {@link Decoder}). */
  decoder(): Decoder;
  /** The header announcing a payload of `length` bytes. */
  header(length: number): Result.Result<Uint8Array, EncodeError>;
}

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
  new LengthPrefixedCodec(new core.LengthPrefixedCodec(options));

class LengthPrefixedCodec extends BaseCodec implements LengthPrefixed {
  private readonly frameReaders: FrameReaders = new WeakMap();

  constructor(protected readonly core: core.LengthPrefixedCodec) {
    super();
  }

  get config(): LengthPrefixedConfig {
    return this.core.config;
  }
  get maxPayload(): number {
    return this.core.maxPayload;
  }

  private with(patch: LengthPrefixedOptions): LengthPrefixed {
    return lengthPrefixed({ ...this.core.config, ...patch });
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

  readFrame<E>(source: ByteSource<E>): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> {
    return readOneFrame(() => this.core.decoder(), source, this.frameReaders);
  }

  header(length: number): Result.Result<Uint8Array, EncodeError> {
    const header = this.core.header(length);
    return header instanceof FrameError
      ? Result.fail(frameFailure(header))
      : Result.succeed(header);
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
  new DelimitedFrames(new DelimitedCodec(options));

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
  new DelimitedFrames(DelimitedCodec.lines(options));

class DelimitedFrames extends BaseCodec implements Delimited {
  constructor(protected readonly core: DelimitedCodec) {
    super();
  }
  get delimiter(): Uint8Array {
    return this.core.delimiter;
  }
  get maxLength(): number {
    return this.core.maxLength;
  }
  get stripCr(): boolean {
    return this.core.stripCr;
  }
  get allowUnterminated(): boolean {
    return this.core.allowUnterminated;
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

// The two halves of a codec, as the core sees them: a push decoder (bytes in,
// frames out, no I/O, in the shape of tokio-util's `Decoder`) and an encoder
// that can put a frame on the wire without copying its payload.
import type { FrameError } from "./frame_error.ts";

/**
 * A push decoder: feed it bytes, take frames. It does no I/O, so the same
 * decoder serves a socket, a stream of chunks or a test.
 *
 * Feed a chunk with `push`, then call `next` until it returns `undefined`
 * (it needs more bytes); only then push the next chunk. Frames belong to the
 * caller. The decoder may keep a view of the pushed chunk until `next`
 * returns `undefined`, and copies what it still needs then (a partial
 * frame), so a chunk lent by a socket can be pushed as it is. At end of input
 * call `end`. An error is final: `next` keeps returning it.
 *
 * @example
 * ```ts
 * import { FrameError, LengthPrefixedCodec } from "@fibernet/socket/core";
 *
 * const codec = new LengthPrefixedCodec({ lengthFieldLength: 2 });
 * const decoder = codec.decoder();
 * const wire = new Uint8Array([0, 2, 104, 105, 0, 1]); // "hi", then half a frame
 * decoder.push(wire);
 * for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
 *   if (frame instanceof FrameError) throw new Error(frame.message);
 *   console.log(new TextDecoder().decode(frame)); // "hi"
 * }
 * decoder.push(new Uint8Array([33]));
 * console.log(decoder.next()); // Uint8Array [ 33 ]
 * console.log(decoder.end()); // null: ended between frames
 * ```
 */
export interface FrameDecoder {
  /** Feeds the next bytes of the stream (after `next` returned `undefined`). */
  push(chunk: Uint8Array): void;
  /**
   * The next complete frame, `undefined` when more bytes are needed (the
   * decoder then holds no view of what was pushed), or the error that
   * stopped decoding.
   */
  next(): Uint8Array | FrameError | undefined;
  /**
   * The input has ended (call after `next` returned `undefined`): a last
   * frame (an unterminated one a codec accepts), `null` for a clean end, or
   * the error (`UnexpectedEof` inside a frame). Once it returned a frame, it
   * returns `null`.
   */
  end(): Uint8Array | FrameError | null;
  /**
   * The unfilled rest of the frame in progress, when the decoder already
   * holds that frame's own buffer (a length-prefixed payload): read straight
   * into it, then call `filled`. `undefined` otherwise.
   */
  target(): Uint8Array | undefined;
  /** `n` bytes were read into `target()`. */
  filled(n: number): void;
  /**
   * The fewest bytes that complete the header or payload in progress: what
   * an exact read asks for, never reading past the frame.
   */
  readonly needed: number;
  /** Bytes held that are not yet part of a returned frame (a frame begun, unused input). */
  readonly buffered: number;
  /** Removes the unused rest of the last pushed chunk, a view of it (possibly empty). */
  takeInput(): Uint8Array;
  /**
   * Removes every byte not yet returned in a frame (a frame in progress and
   * the unused input), as one new array, and starts again between frames.
   */
  takePending(): Uint8Array;
  /** Forgets everything, a failure included. */
  reset(): void;
}

/**
 * How a codec puts frames on the wire. A frame's bytes are
 * `prefix(frame) + frame + suffix(frame)`: a large payload can go out as it
 * is, between the two, instead of being copied into one buffer.
 *
 * @example
 * ```ts
 * import { DelimitedCodec, FrameError, type FrameEncoder } from "@fibernet/socket/core";
 *
 * const encoder: FrameEncoder = DelimitedCodec.lines();
 * const frame = new TextEncoder().encode("hello");
 * const length = encoder.encodedLength(frame);
 * if (length instanceof FrameError) throw new Error(length.message);
 * const out = new Uint8Array(length);
 * encoder.encodeInto(frame, out, 0); // "hello\n"
 * ```
 */
export interface FrameEncoder {
  /** The bytes `frame` takes on the wire, or why it cannot be sent. */
  encodedLength(frame: Uint8Array): number | FrameError;
  /** Writes the frame at `out[offset…]`; `encodedLength` must have accepted it. */
  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void;
  /** What precedes an accepted frame's payload (a new array, possibly empty). */
  prefix(frame: Uint8Array): Uint8Array;
  /** What follows an accepted frame's payload (possibly empty; do not modify it). */
  suffix(frame: Uint8Array): Uint8Array;
}

/**
 * One frame's bytes on the wire, in a new array, or why it cannot be sent.
 *
 * @example
 * ```ts
 * import { encodeFrame, LengthPrefixedCodec } from "@fibernet/socket/core";
 * const wire = encodeFrame(new LengthPrefixedCodec(), new Uint8Array([1, 2])); // [0, 0, 0, 2, 1, 2]
 * ```
 */
export const encodeFrame = (
  encoder: FrameEncoder,
  frame: Uint8Array,
): Uint8Array | FrameError => {
  const length = encoder.encodedLength(frame);
  if (typeof length !== "number") return length;
  const out = new Uint8Array(length);
  encoder.encodeInto(frame, out, 0);
  return out;
};

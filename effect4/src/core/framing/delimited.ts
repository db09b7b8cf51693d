// Frames that end with a delimiter (lines, NUL-terminated records, …), with a
// maximum length so a peer that never sends the delimiter cannot make the
// decoder buffer without bound.
import { indexOfBytes } from "./byte_search.ts";
import type { FrameEncoder } from "./codec.ts";
import { type FrameError, unencodable } from "./frame_error.ts";
import { DelimitedDecoder } from "./delimited_decoder.ts";

/**
 * The settings of a {@link DelimitedCodec}.
 *
 * @example
 * ```ts
 * import type { DelimitedOptions } from "@fibernet/socket/core";
 * const nulTerminated: DelimitedOptions = { delimiter: new Uint8Array([0]), maxLength: 4096 };
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
   * fails with `InvalidData` as soon as that is certain, so the decoder never
   * buffers more than about this much. Default 64 KiB.
   */
  readonly maxLength?: number;
  /**
   * Drop one `"\r"` before the delimiter, so `"\r\n"` line endings decode
   * like `"\n"`. Default false (true for {@link DelimitedCodec.lines}).
   */
  readonly stripCr?: boolean;
  /**
   * What a final frame without a delimiter at end of stream is: by default an
   * `UnexpectedEof` failure; with `true`, one last frame.
   */
  readonly allowUnterminated?: boolean;
}

const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/**
 * A delimiter codec: the encoder's checks (a frame must decode back to
 * itself) and its decoder. Invalid settings (an empty delimiter, a negative
 * maximum) throw a `RangeError`.
 *
 * @example
 * ```ts
 * import { DelimitedCodec } from "@fibernet/socket/core";
 *
 * const decoder = DelimitedCodec.lines({ maxLength: 1024 }).decoder();
 * decoder.push(new TextEncoder().encode("GET /\r\nHost: x\r\n"));
 * const lines: string[] = [];
 * for (let line = decoder.next(); line instanceof Uint8Array; line = decoder.next()) {
 *   lines.push(new TextDecoder().decode(line)); // "GET /", "Host: x"
 * }
 * ```
 */
export class DelimitedCodec implements FrameEncoder {
  /** The delimiter bytes. */
  readonly delimiter: Uint8Array;
  /** The longest frame, delimiter excluded. */
  readonly maxLength: number;
  /** Whether a `"\r"` before the delimiter is dropped. */
  readonly stripCr: boolean;
  /** Whether a final frame without a delimiter is accepted. */
  readonly allowUnterminated: boolean;

  /** Settings not given take their defaults (`"\n"`, 64 KiB, no `"\r"` stripping). */
  constructor(options?: DelimitedOptions) {
    const delimiter = options?.delimiter ?? "\n";
    this.delimiter = typeof delimiter === "string"
      ? new TextEncoder().encode(delimiter)
      : delimiter.slice();
    this.maxLength = options?.maxLength ?? 64 * 1024;
    this.stripCr = options?.stripCr ?? false;
    this.allowUnterminated = options?.allowUnterminated ?? false;
    if (this.delimiter.length === 0) throw new RangeError("the delimiter must not be empty");
    if (!Number.isSafeInteger(this.maxLength) || this.maxLength < 0) {
      throw new RangeError(`maxLength must be a whole number of bytes >= 0, got ${this.maxLength}`);
    }
  }

  /** Lines: `"\n"`-terminated, a `"\r"` before it dropped unless `stripCr` is false. */
  static lines(options?: Omit<DelimitedOptions, "delimiter">): DelimitedCodec {
    return new DelimitedCodec({ ...options, delimiter: "\n", stripCr: options?.stripCr ?? true });
  }

  /** A new decoder (one per stream). */
  decoder(): DelimitedDecoder {
    return new DelimitedDecoder(this);
  }

  encodedLength(frame: Uint8Array): number | FrameError {
    if (frame.length > this.maxLength) {
      return unencodable(`frame of ${frame.length} bytes exceeds maxLength ${this.maxLength}`);
    }
    if (this.stripCr && frame.length > 0 && frame[frame.length - 1] === CR) {
      return unencodable("a frame ending in \\r would lose it when decoded (stripCr is on)");
    }
    // The first delimiter in frame + delimiter must be the one appended: this
    // also catches a frame ending in a prefix of a self-overlapping delimiter.
    const d = this.delimiter;
    if (
      indexOfBytes(frame, d, 0, frame.length) >= 0 ||
      this.overlapsTail(frame, Math.max(0, frame.length - d.length + 1))
    ) {
      return unencodable("the frame contains the delimiter");
    }
    return frame.length + d.length;
  }

  /** True if a delimiter starts at a position ≥ `from` of frame + delimiter, before the appended one. */
  private overlapsTail(frame: Uint8Array, from: number): boolean {
    const d = this.delimiter;
    for (let start = from; start < frame.length; start++) {
      let k = 0;
      while (k < d.length) {
        const p = start + k;
        if ((p < frame.length ? frame[p] : d[p - frame.length]) !== d[k]) break;
        k++;
      }
      if (k === d.length) return true;
    }
    return false;
  }

  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void {
    out.set(frame, offset);
    out.set(this.delimiter, offset + frame.length);
  }

  prefix(_frame: Uint8Array): Uint8Array {
    return EMPTY;
  }

  suffix(_frame: Uint8Array): Uint8Array {
    return this.delimiter;
  }
}

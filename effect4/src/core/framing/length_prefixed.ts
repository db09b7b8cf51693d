// Length-prefixed frames (tokio's LengthDelimitedCodec): a length field of
// 1, 2, 4 or 8 bytes, then the payload. The header is checked before any
// buffer is allocated, so a hostile length costs nothing.
import type { FrameEncoder } from "./codec.ts";
import { type FrameError, invalidFrame, unencodable } from "./frame_error.ts";
import { LengthPrefixedDecoder } from "./length_prefixed_decoder.ts";

/**
 * The settings of a {@link LengthPrefixedCodec}.
 *
 * @example
 * ```ts
 * import type { LengthPrefixedConfig } from "@fibernet/socket/core";
 * const config: LengthPrefixedConfig = {
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

const DEFAULTS: LengthPrefixedConfig = {
  lengthFieldLength: 4,
  endian: "big",
  maxFrameLength: 8 * 1024 * 1024,
  lengthAdjustment: 0,
};

/** Largest value of an n-byte unsigned field, as a (possibly inexact above 2^53) number. */
const fieldMax = (bytes: 1 | 2 | 4 | 8): number => bytes === 8 ? 2 ** 64 - 1 : 2 ** (8 * bytes) - 1;

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

const EMPTY = new Uint8Array(0);

/**
 * A length-prefixed codec: the header rules (reading and writing the length
 * field, the size checks) and its decoder. Invalid settings throw a
 * `RangeError` at once: they are programming errors.
 *
 * @example
 * ```ts
 * import { FrameError, LengthPrefixedCodec } from "@fibernet/socket/core";
 *
 * const codec = new LengthPrefixedCodec({ lengthFieldLength: 2, maxFrameLength: 1024 });
 * const header = codec.header(5); // [0, 5]
 * const decoder = codec.decoder();
 * decoder.push(new Uint8Array([0, 5, 104, 101, 108, 108, 111]));
 * const frame = decoder.next();
 * if (frame instanceof Uint8Array) console.log(new TextDecoder().decode(frame)); // "hello"
 * ```
 */
export class LengthPrefixedCodec implements FrameEncoder {
  /** The settings in force. */
  readonly config: LengthPrefixedConfig;
  /** The largest payload this codec can encode: `maxFrameLength`, capped by the length field. */
  readonly maxPayload: number;
  /** Bytes of the length field. */
  readonly headerLength: number;
  private readonly little: boolean;

  /** Settings not given take their defaults (4-byte big-endian field, 8 MiB maximum). */
  constructor(options?: Partial<LengthPrefixedConfig>) {
    const config = { ...DEFAULTS, ...options };
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
    this.config = Object.freeze(config);
    this.headerLength = lengthFieldLength;
    this.little = endian === "little";
    this.maxPayload = Math.max(
      0,
      Math.min(maxFrameLength, fieldMax(lengthFieldLength) + lengthAdjustment),
    );
  }

  /** A new decoder (one per stream). */
  decoder(): LengthPrefixedDecoder {
    return new LengthPrefixedDecoder(this);
  }

  /**
   * The payload length announced by the header at `bytes[offset…]`, or the
   * error that refuses it. Nothing is allocated: the check comes first.
   */
  payloadLength(bytes: Uint8Array, offset: number): number | FrameError {
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
      return invalidFrame(
        `frame length ${
          this.describeField(bytes, offset)
        } exceeds maxFrameLength ${this.config.maxFrameLength}`,
      );
    }
    if (length < 0) {
      return invalidFrame(
        `length field ${value} with lengthAdjustment ${this.config.lengthAdjustment} gives a negative frame length`,
      );
    }
    return length;
  }

  /** The exact payload length a header announces, as text (BigInt: exact for 8-byte fields). */
  private describeField(bytes: Uint8Array, offset: number): string {
    const n = this.headerLength;
    let value = 0n;
    for (let i = 0; i < n; i++) {
      value = (value << 8n) | BigInt(bytes[offset + (this.little ? n - 1 - i : i)]);
    }
    return (value + BigInt(this.config.lengthAdjustment)).toString();
  }

  /** Why a payload of `length` bytes cannot be sent, if it cannot. */
  checkLength(length: number): FrameError | undefined {
    if (length > this.config.maxFrameLength) {
      return unencodable(
        `frame of ${length} bytes exceeds maxFrameLength ${this.config.maxFrameLength}`,
      );
    }
    const field = length - this.config.lengthAdjustment;
    if (!(field >= 0) || field > fieldMax(this.config.lengthFieldLength)) {
      return unencodable(
        `frame of ${length} bytes does not fit a ${this.config.lengthFieldLength}-byte length field` +
          (this.config.lengthAdjustment !== 0
            ? ` with lengthAdjustment ${this.config.lengthAdjustment}`
            : ""),
      );
    }
    return undefined;
  }

  /** Writes the header announcing `length` (accepted by `checkLength`) at `out[offset…]`. */
  writeHeader(length: number, out: Uint8Array, offset: number): void {
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

  /** The header announcing a payload of `length` bytes, or why it cannot be sent. */
  header(length: number): Uint8Array | FrameError {
    const problem = this.checkLength(length);
    if (problem !== undefined) return problem;
    const out = new Uint8Array(this.headerLength);
    this.writeHeader(length, out, 0);
    return out;
  }

  encodedLength(frame: Uint8Array): number | FrameError {
    return this.checkLength(frame.length) ?? this.headerLength + frame.length;
  }

  encodeInto(frame: Uint8Array, out: Uint8Array, offset: number): void {
    this.writeHeader(frame.length, out, offset);
    out.set(frame, offset + this.headerLength);
  }

  prefix(frame: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.headerLength);
    this.writeHeader(frame.length, out, 0);
    return out;
  }

  suffix(_frame: Uint8Array): Uint8Array {
    return EMPTY;
  }
}

// The one decoder of length-prefixed frames, under every way of reading them
// (a socket, a stream of chunks, exact reads from any source).
//
// A frame wholly inside the pushed chunk is copied out once (small ones into
// a shared arena). A longer one gets a buffer of exactly its size as soon as
// its header is read and checked; the rest of it is copied in as it comes, or
// read straight into it (`target`).
import { appendRest } from "./byte_search.ts";
import { copyOwned } from "../bytes.ts";
import type { FrameDecoder } from "./codec.ts";
import { type FrameError, truncatedFrame } from "./frame_error.ts";
import type { LengthPrefixedCodec } from "./length_prefixed.ts";

const EMPTY = new Uint8Array(0);

/**
 * Decodes length-prefixed frames (see {@link FrameDecoder}); made by
 * `LengthPrefixedCodec.decoder()`.
 *
 * @example
 * ```ts
 * import { LengthPrefixedCodec } from "@fibernet/socket/core";
 *
 * const decoder = new LengthPrefixedCodec({ lengthFieldLength: 1 }).decoder();
 * decoder.push(new Uint8Array([3, 1, 2]));
 * decoder.next(); // undefined: one payload byte is missing
 * decoder.needed; // 1
 * decoder.push(new Uint8Array([3]));
 * decoder.next(); // Uint8Array [ 1, 2, 3 ]
 * ```
 */
export class LengthPrefixedDecoder implements FrameDecoder {
  private input: Uint8Array = EMPTY;
  private pos = 0;
  private readonly headerLength: number;
  /** A header split between chunks (allocated the first time one is). */
  private header: Uint8Array | undefined = undefined;
  private headerFilled = 0;
  /** The buffer of a frame longer than the input it started in. */
  private payload: Uint8Array | undefined = undefined;
  private payloadFilled = 0;
  private failed: FrameError | undefined = undefined;

  /** A decoder for `codec`'s frames. */
  constructor(private readonly codec: LengthPrefixedCodec) {
    this.headerLength = codec.headerLength;
  }

  push(chunk: Uint8Array): void {
    if (this.failed !== undefined || chunk.length === 0) return;
    this.input = appendRest(this.input, this.pos, chunk);
    this.pos = 0;
  }

  next(): Uint8Array | FrameError | undefined {
    if (this.failed !== undefined) return this.failed;
    const input = this.input;
    const end = input.length;
    let pos = this.pos;
    const payload = this.payload;
    if (payload !== undefined) {
      const take = Math.min(payload.length - this.payloadFilled, end - pos);
      if (take > 0) {
        payload.set(input.subarray(pos, pos + take), this.payloadFilled);
        this.payloadFilled += take;
        this.consumed(pos + take);
      }
      if (this.payloadFilled < payload.length) return undefined;
      this.payload = undefined;
      return payload;
    }
    const h = this.headerLength;
    let length: number | FrameError;
    if (this.headerFilled === 0 && end - pos >= h) {
      length = this.codec.payloadLength(input, pos);
      pos += h;
    } else {
      const take = Math.min(h - this.headerFilled, end - pos);
      const header = this.header ??= new Uint8Array(h);
      header.set(input.subarray(pos, pos + take), this.headerFilled);
      this.headerFilled += take;
      pos += take;
      if (this.headerFilled < h) {
        this.consumed(pos);
        return undefined;
      }
      this.headerFilled = 0;
      length = this.codec.payloadLength(header, 0);
    }
    if (typeof length !== "number") return this.fail(length);
    if (end - pos >= length) {
      this.consumed(pos + length);
      return copyOwned(input.subarray(pos, pos + length));
    }
    // Longer than what is here: its own buffer, now that the length is checked.
    const out = new Uint8Array(length);
    out.set(input.subarray(pos, end));
    this.payload = out;
    this.payloadFilled = end - pos;
    this.consumed(end);
    return undefined;
  }

  end(): FrameError | null {
    if (this.failed !== undefined) return this.failed;
    const h = this.headerLength;
    if (this.headerFilled > 0) {
      return this.fail(
        truncatedFrame(
          `stream ended inside a frame header (${this.headerFilled} of ${h} bytes)`,
        ),
      );
    }
    if (this.payload !== undefined) {
      return this.fail(
        truncatedFrame(
          `stream ended inside a frame: ${this.payloadFilled} bytes, fewer than the ${this.payload.length} bytes announced`,
        ),
      );
    }
    return null;
  }

  target(): Uint8Array | undefined {
    return this.payload?.subarray(this.payloadFilled);
  }

  filled(n: number): void {
    this.payloadFilled += n;
  }

  get needed(): number {
    return this.payload !== undefined
      ? this.payload.length - this.payloadFilled
      : this.headerLength - this.headerFilled;
  }

  get buffered(): number {
    return this.input.length - this.pos + this.headerFilled +
      (this.payload !== undefined ? this.headerLength + this.payloadFilled : 0);
  }

  takeInput(): Uint8Array {
    const rest = this.input.subarray(this.pos);
    this.input = EMPTY;
    this.pos = 0;
    return rest;
  }

  takePending(): Uint8Array {
    const input = this.takeInput();
    const payload = this.payload;
    const h = this.headerLength;
    const begun = payload !== undefined ? h + this.payloadFilled : this.headerFilled;
    const out = new Uint8Array(begun + input.length);
    if (payload !== undefined) {
      // The header was consumed: write it again (the same bytes, since it was accepted).
      this.codec.writeHeader(payload.length, out, 0);
      out.set(payload.subarray(0, this.payloadFilled), h);
    } else {
      if (this.header !== undefined) out.set(this.header.subarray(0, this.headerFilled));
    }
    out.set(input, begun);
    this.reset();
    return out;
  }

  reset(): void {
    this.input = EMPTY;
    this.pos = 0;
    this.headerFilled = 0;
    this.payload = undefined;
    this.payloadFilled = 0;
    this.failed = undefined;
  }

  /** Input up to `pos` is used; drop the chunk once all of it is. */
  private consumed(pos: number): void {
    if (pos >= this.input.length) {
      this.input = EMPTY;
      this.pos = 0;
    } else {
      this.pos = pos;
    }
  }

  /** Fails for good, holding nothing. */
  private fail(error: FrameError): FrameError {
    this.failed = error;
    this.input = EMPTY;
    this.pos = 0;
    this.payload = undefined;
    this.headerFilled = 0;
    return error;
  }
}

// The one decoder of delimited frames. A frame wholly inside the pushed chunk
// is copied out once; the start of a frame that continues in a later chunk is
// kept in `partial` (never more than about maxLength bytes, and never holding
// a whole delimiter), and each byte is searched once.
import { copyOwned } from "../bytes.ts";
import { appendRest, indexOfBytes } from "./byte_search.ts";
import type { FrameDecoder } from "./codec.ts";
import { type FrameError, invalidFrame, truncatedFrame } from "./frame_error.ts";
import type { DelimitedCodec } from "./delimited.ts";

const CR = 0x0d;
const EMPTY = new Uint8Array(0);
/** A partial-frame buffer at most this big is kept for the next frame; a larger one is dropped. */
const KEEP_PARTIAL = 1024;

/**
 * Decodes delimited frames (see {@link FrameDecoder}); made by
 * `DelimitedCodec.decoder()`.
 *
 * @example
 * ```ts
 * import { DelimitedCodec } from "@fibernet/socket/core";
 *
 * const decoder = new DelimitedCodec({ delimiter: "\r\n" }).decoder();
 * decoder.push(new TextEncoder().encode("one\r"));
 * decoder.next(); // undefined: "\r" may start the delimiter
 * decoder.push(new TextEncoder().encode("\ntwo\r\n"));
 * decoder.next(); // "one"
 * decoder.next(); // "two"
 * ```
 */
export class DelimitedDecoder implements FrameDecoder {
  private input: Uint8Array = EMPTY;
  private pos = 0;
  /** The start of the frame in progress, from earlier chunks. */
  private partial: Uint8Array = EMPTY;
  private partialLength = 0;
  private failed: FrameError | undefined = undefined;

  /** A decoder for `codec`'s frames. */
  constructor(private readonly codec: DelimitedCodec) {}

  push(chunk: Uint8Array): void {
    if (this.failed !== undefined || chunk.length === 0) return;
    this.input = appendRest(this.input, this.pos, chunk);
    this.pos = 0;
  }

  next(): Uint8Array | FrameError | undefined {
    if (this.failed !== undefined) return this.failed;
    const input = this.input;
    const pos = this.pos;
    const end = input.length;
    if (pos === end) return undefined;
    const d = this.codec.delimiter;
    if (this.partialLength > 0) return this.continueFrame();
    const at = indexOfBytes(input, d, pos, end);
    if (at >= 0) {
      let stop = at;
      if (this.codec.stripCr && stop > pos && input[stop - 1] === CR) stop--;
      if (stop - pos > this.codec.maxLength) return this.tooLong(stop - pos);
      this.consumed(at + d.length);
      return copyOwned(input.subarray(pos, stop));
    }
    return this.keepTail();
  }

  /** The next frame when its start is in `partial`. */
  private continueFrame(): Uint8Array | FrameError | undefined {
    const d = this.codec.delimiter;
    const input = this.input;
    const pos = this.pos;
    const end = input.length;
    const held = this.partialLength;
    if (d.length > 1) {
      // A delimiter that starts in `partial` and ends in the input: look in
      // partial's tail followed by the input's first bytes.
      const k = Math.min(d.length - 1, end - pos);
      this.reserve(held + k);
      this.partial.set(input.subarray(pos, pos + k), held);
      const at = indexOfBytes(this.partial, d, Math.max(0, held - d.length + 1), held + k);
      if (at >= 0) {
        let stop = at;
        if (this.codec.stripCr && stop > 0 && this.partial[stop - 1] === CR) stop--;
        if (stop > this.codec.maxLength) return this.tooLong(stop);
        const frame = copyOwned(this.partial.subarray(0, stop));
        this.consumed(pos + at + d.length - held);
        this.clearPartial();
        return frame;
      }
    }
    const at = indexOfBytes(input, d, pos, end);
    if (at < 0) return this.keepTail();
    let stop = at;
    let total = held + (at - pos);
    if (
      this.codec.stripCr && total > 0 && (at > pos ? input[at - 1] : this.partial[held - 1]) === CR
    ) {
      if (at > pos) stop--;
      total--;
    }
    if (total > this.codec.maxLength) return this.tooLong(total);
    const frame = new Uint8Array(total);
    const fromPartial = Math.min(held, total);
    frame.set(this.partial.subarray(0, fromPartial));
    if (stop > pos) frame.set(input.subarray(pos, stop), fromPartial);
    this.consumed(at + d.length);
    this.clearPartial();
    return frame;
  }

  /**
   * No delimiter in the rest of the input: fail if the frame is certain to
   * be too long already, else keep the rest in `partial`.
   */
  private keepTail(): FrameError | undefined {
    const input = this.input;
    const pos = this.pos;
    const end = input.length;
    const held = this.partialLength;
    const total = held + (end - pos);
    if (this.shortestFrame(total) > this.codec.maxLength) {
      return this.fail(
        invalidFrame(
          `frame longer than maxLength ${this.codec.maxLength} bytes without a delimiter`,
        ),
      );
    }
    this.reserve(total);
    this.partial.set(input.subarray(pos, end), held);
    this.partialLength = total;
    this.consumed(end);
    return undefined;
  }

  /**
   * The least the frame in progress (partial, then the rest of the input:
   * `total` bytes) can turn out to be: all but a tail that may be the start
   * of the delimiter, and a `"\r"` before it if stripped.
   */
  private shortestFrame(total: number): number {
    const d = this.codec.delimiter;
    const held = this.partialLength;
    const input = this.input;
    const base = this.pos - held;
    const byteAt = (i: number): number => i < held ? this.partial[i] : input[base + i];
    let tail = 0;
    for (let k = Math.min(d.length - 1, total); k > 0 && tail === 0; k--) {
      let i = 0;
      while (i < k && byteAt(total - k + i) === d[i]) i++;
      if (i === k) tail = k;
    }
    let length = total - tail;
    if (this.codec.stripCr && length > 0 && byteAt(length - 1) === CR) length--;
    return length;
  }

  /** Fails for a frame of `length` bytes, over the maximum. */
  private tooLong(length: number): FrameError {
    return this.fail(
      invalidFrame(`frame of ${length} bytes exceeds maxLength ${this.codec.maxLength}`),
    );
  }

  end(): Uint8Array | FrameError | null {
    if (this.failed !== undefined) return this.failed;
    const held = this.partialLength;
    if (held === 0) return null;
    if (!this.codec.allowUnterminated) {
      return this.fail(
        truncatedFrame(`stream ended inside a frame: ${held} bytes without a delimiter`),
      );
    }
    let stop = held;
    if (this.codec.stripCr && this.partial[stop - 1] === CR) stop--;
    if (stop > this.codec.maxLength) return this.tooLong(stop);
    const frame = this.partial.slice(0, stop);
    this.clearPartial();
    return frame;
  }

  target(): undefined {
    return undefined;
  }

  filled(_n: number): void {}

  get needed(): number {
    return 1;
  }

  get buffered(): number {
    return this.input.length - this.pos + this.partialLength;
  }

  takeInput(): Uint8Array {
    const rest = this.input.subarray(this.pos);
    this.input = EMPTY;
    this.pos = 0;
    return rest;
  }

  takePending(): Uint8Array {
    const input = this.takeInput();
    const held = this.partialLength;
    const out = new Uint8Array(held + input.length);
    out.set(this.partial.subarray(0, held));
    out.set(input, held);
    this.reset();
    return out;
  }

  reset(): void {
    this.input = EMPTY;
    this.pos = 0;
    this.partial = EMPTY;
    this.partialLength = 0;
    this.failed = undefined;
  }

  /** Room for `n` bytes in `partial`, keeping what it holds. */
  private reserve(n: number): void {
    if (this.partial.length >= n) return;
    const grown = new Uint8Array(Math.max(n, Math.min(2 * n, n + 64 * 1024), 256));
    grown.set(this.partial.subarray(0, this.partialLength));
    this.partial = grown;
  }

  /** The frame in progress is done; a large buffer is not kept. */
  private clearPartial(): void {
    this.partialLength = 0;
    if (this.partial.length > KEEP_PARTIAL) this.partial = EMPTY;
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
    this.partial = EMPTY;
    this.partialLength = 0;
    return error;
  }
}

// The read buffer of one connection: small while the connection is quiet,
// larger while reads come back full (a bulk transfer), so an idle
// connection's pending read holds little memory.
import { copyOwned, Slabs } from "./bytes.ts";

/** Smallest read buffer: what a quiet connection's pending read holds. */
export const MIN_READ_BUFFER = 256;
/** Largest read buffer, reached by doubling while reads come back full. */
export const MAX_READ_BUFFER = 64 * 1024;

/**
 * Read buffers of closed connections, for new ones; the smallest are carved
 * from shared 8 KiB blocks, so an idle connection's buffer costs its bytes.
 */
const smallBuffers = new Slabs(MIN_READ_BUFFER, 1024, 8 * 1024);

/** A connection's adaptive read buffer. */
export class ReadBuffer {
  private buffer: Uint8Array | undefined = undefined;
  private size = MIN_READ_BUFFER;
  private smallReads = 0;
  /** A chunk lent from the buffer may still be in use (until the next read). */
  private lent = false;

  /** The buffer the next raw read fills; lent chunks are void from now on. */
  forRead(): Uint8Array {
    this.lent = false;
    return this.buffer ??= this.size === MIN_READ_BUFFER
      ? smallBuffers.take()
      : new Uint8Array(this.size);
  }

  /**
   * The `n` bytes a raw read put in the buffer, as a chunk: lent (a view
   * valid until the next read), handed over (the buffer itself, when mostly
   * full and not a carved one), or copied out.
   */
  chunk(n: number, borrow: boolean): Uint8Array {
    const buffer = this.buffer!;
    let chunk: Uint8Array;
    if (borrow) {
      chunk = buffer.subarray(0, n);
      this.lent = true;
    } else if (n * 2 >= buffer.length && buffer.length > MIN_READ_BUFFER) {
      chunk = buffer.subarray(0, n);
      this.buffer = undefined;
    } else {
      chunk = copyOwned(buffer.subarray(0, n));
    }
    this.adapt(n, buffer.length);
    return chunk;
  }

  /** Grows while reads fill the buffer, shrinks after a few small reads. */
  private adapt(n: number, size: number): void {
    if (n === size) {
      this.smallReads = 0;
      if (size < MAX_READ_BUFFER) this.resize(size * 2);
    } else if (n <= size / 4) {
      if (++this.smallReads >= 2 && size > MIN_READ_BUFFER) {
        this.smallReads = 0;
        this.resize(Math.max(MIN_READ_BUFFER, size / 4));
      }
    } else {
      this.smallReads = 0;
    }
  }

  private resize(size: number): void {
    this.size = size;
    this.buffer = undefined;
  }

  /** Someone else still writes into the buffer (a chunk in flight): use a new one next time. */
  abandon(): void {
    this.buffer = undefined;
  }

  /**
   * The connection is gone: a small buffer nobody can still see goes to the
   * next connection (allocating one costs more than a short connection's echo).
   */
  recycle(): void {
    const buffer = this.buffer;
    this.buffer = undefined;
    if (buffer !== undefined && !this.lent && buffer.length === MIN_READ_BUFFER) {
      smallBuffers.give(buffer);
    }
  }
}

// Writing a received stream to disk in few, large writes that overlap the
// socket reads, with memory that follows the data actually flowing.
//
// A file write costs a trip to a blocking thread whatever its size, so
// writing each socket chunk (at most 64 KiB) as it comes makes the disk the
// bottleneck. While data streams in (reads come back full), chunks are
// copied into a staging buffer from a shared pool, written once 256 KiB are
// staged, while the next ones are read into a second buffer: at most two
// staging buffers per upload, only while data flows. Staged bytes never wait
// for more: a short read (the peer has sent nothing more for now) or 50 ms
// without one writes them out, and a buffer goes back to the pool as soon as
// its write is done. A trickle is written chunk by chunk without staging.
import { Slabs } from "../bytes.ts";
import type { PendingFile } from "./store.ts";

/** Size of a staging buffer: one disk write. */
export const STAGE_SIZE = 256 * 1024;
/** Longest time staged bytes wait for more before they are written. */
const FLUSH_AFTER_MS = 50;
/** Free staging buffers kept for the next uploads (a burst does not pin more). */
const stages = new Slabs(STAGE_SIZE, 8);

/** Writes a stream of chunks to a pending file, in order. */
export class WriteBehind {
  private filling: Uint8Array | undefined = undefined;
  private filled = 0;
  /** The staged write in flight; it never rejects (its failure is kept). */
  private writing: Promise<void> | undefined = undefined;
  private failure: unknown = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private closed = false;

  constructor(private readonly file: PendingFile) {}

  /**
   * Takes `chunk`, which the caller may reuse once this returns undefined or
   * once the promise it returns settles. `more` says more data is probably
   * waiting (the read filled its buffer): the chunk is staged rather than
   * written alone. Rejects with the failure of an earlier write, if any.
   */
  write(chunk: Uint8Array, more: boolean): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!more && this.filled === 0) return this.direct(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const stage = this.filling ??= stages.take();
      const n = Math.min(stage.length - this.filled, chunk.length - offset);
      stage.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled < stage.length && (more || offset < chunk.length)) continue;
      // The stage is full, or the peer paused: write it out.
      if (this.writing !== undefined) {
        return this.afterWrite(() => this.write(chunk.subarray(offset), more), true);
      }
      this.flush();
    }
    if (this.filled > 0 && this.timer === undefined) {
      this.timer = setTimeout(this.onQuiet, FLUSH_AFTER_MS);
      Deno.unrefTimer(this.timer);
    }
    return undefined;
  }

  /** Writes everything staged and waits for it; rejects with any write's failure. */
  async finish(): Promise<void> {
    while (this.writing !== undefined || this.filled > 0) {
      if (this.writing !== undefined) await this.writing;
      else this.flush();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Drops what is staged; a write in flight gives its buffer back when done. */
  discard(): void {
    this.closed = true;
    this.cancelTimer();
    const stage = this.filling;
    this.filling = undefined;
    this.filled = 0;
    if (stage !== undefined) stages.give(stage);
  }

  /** A chunk written alone, after the write in flight (the caller waits). */
  private async direct(chunk: Uint8Array): Promise<void> {
    if (this.writing !== undefined) await this.writing;
    if (this.failure !== undefined) throw this.failure;
    await this.file.write(chunk);
  }

  /** Waits for the write in flight, then goes on with `next`. */
  private async afterWrite(
    next: () => Promise<void> | undefined,
    flushFirst: boolean,
  ): Promise<void> {
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
    if (flushFirst && this.filled > 0) this.flush();
    await next();
  }

  /** Starts writing the staged bytes (no write may be in flight). */
  private flush(): void {
    this.cancelTimer();
    const stage = this.filling!;
    const n = this.filled;
    this.filling = undefined;
    this.filled = 0;
    const done = (error?: unknown) => {
      if (error !== undefined && this.failure === undefined) this.failure = error;
      if (this.writing === writing) this.writing = undefined;
      stages.give(stage); // the write is over: nothing reads the buffer any more
    };
    const writing: Promise<void> = this.file.write(stage.subarray(0, n)).then(
      () => done(),
      (error) => done(error ?? new Error("write failed")),
    );
    this.writing = writing;
  }

  /** Staged bytes waited long enough for more: write them. */
  private readonly onQuiet = (): void => {
    this.timer = undefined;
    if (this.closed || this.filled === 0) return;
    if (this.writing === undefined) return this.flush();
    this.writing.then(() => {
      if (!this.closed && this.writing === undefined && this.filled > 0) this.flush();
    });
  };

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// The data phase of a receive: counting, hashing and storing the bytes the
// sender announced, chunk by chunk. Chunks are borrowed from the
// connection's read buffer (no allocation per chunk): `accept` is done with
// a chunk when it returns, or once the promise it returns settles.
import type { Hasher } from "../sha256.ts";
import { TransferFailure } from "./failure.ts";
import type { Pace, Progress } from "./pace.ts";
import type { PendingFile } from "./store.ts";
import { WriteBehind } from "./write_behind.ts";

/** Largest chunk to ask the connection for. */
export const RECEIVE_CHUNK = 64 * 1024;

/** What an inbound transfer needs besides its chunks. */
export interface InboundOptions {
  /** Bytes announced. */
  readonly size: number;
  /**
   * The tutorial's protocol: any byte beyond `size` is an error (this
   * library's protocol reads exactly `size` and leaves its end frame).
   */
  readonly strict: boolean;
  /** Where the bytes go. */
  readonly file: PendingFile;
  /** Makes the hasher, once the first byte comes. */
  readonly makeHasher: () => Hasher;
  /** Watches the pace. */
  readonly pace: Pace;
  /** Hears the progress. */
  readonly onProgress: ((progress: Progress) => void) | undefined;
}

/** Receives the announced bytes into a pending file. */
export class Inbound {
  /** Bytes taken so far. */
  received = 0;
  private readonly writer: WriteBehind;
  private hasher: Hasher | undefined = undefined;

  constructor(private readonly options: InboundOptions) {
    this.writer = new WriteBehind(options.file);
  }

  /** Says the phase begins (progress 0). */
  begin(): void {
    this.options.onProgress?.({ done: 0, total: this.options.size, phase: "receive" });
  }

  /** True once every announced byte is stored. */
  get complete(): boolean {
    return this.received >= this.options.size;
  }

  /** How many bytes to read next. */
  get want(): number {
    const { strict, size } = this.options;
    return strict ? RECEIVE_CHUNK : Math.min(RECEIVE_CHUNK, size - this.received);
  }

  /**
   * Hashes and stores `chunk`, read with {@link want}: undefined when done
   * with it, a promise to wait for (the disk is behind, or the chunk is
   * written alone), or the failure (more bytes than announced). The promise
   * rejects with a TransferFailure.
   */
  accept(chunk: Uint8Array, want: number): Promise<void> | undefined | TransferFailure {
    const { size, file, makeHasher, pace, onProgress } = this.options;
    if (this.received + chunk.length > size) {
      return new TransferFailure(
        "SizeMismatch",
        `the sender sent more than the ${size} bytes it announced`,
        { name: file.name },
      );
    }
    (this.hasher ??= makeHasher()).update(chunk);
    this.received += chunk.length;
    pace.progress(chunk.length);
    onProgress?.({ done: this.received, total: size, phase: "receive" });
    // A read that filled what was asked for suggests more is waiting.
    return this.writer.write(chunk, chunk.length === want && !this.complete);
  }

  /** Waits until every byte taken is on disk; rejects with a TransferFailure. */
  finish(): Promise<void> {
    return this.writer.finish();
  }

  /** Drops bytes not yet written (the transfer failed). */
  discard(): void {
    this.writer.discard();
  }

  /** The failure for an end of stream before every byte arrived. */
  ended(): TransferFailure<"Disconnected"> {
    return new TransferFailure(
      "Disconnected",
      `the sender disconnected after ${this.received} of ${this.options.size} bytes`,
      { name: this.options.file.name },
    );
  }

  /** The SHA-256 of the bytes received, lowercase hex. */
  sha256(): string {
    return (this.hasher ??= this.options.makeHasher()).hex();
  }
}

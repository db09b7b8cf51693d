// The sender's side of the data: hashing a file and reading it in chunks,
// in constant memory (one reused buffer), noticing a file that shrinks
// underneath. A file that grows is sent as the size it had when announced.
import { createHasher } from "../sha256.ts";
import { fileSystemFailure, TransferFailure } from "./failure.ts";
import type { Progress } from "./pace.ts";

/** The sender's file buffer: fewer, larger writes mean fewer steps per byte. */
export const SEND_CHUNK = 1024 * 1024;

/** Reads `size` bytes of an open file in chunks of one reused buffer. */
export class FileChunks {
  /** Bytes read so far. */
  done = 0;
  private buffer: Uint8Array | undefined = undefined;

  constructor(
    private readonly file: Deno.FsFile,
    readonly size: number,
    private readonly name: string,
    private readonly doing: "hashing" | "sending",
  ) {}

  /**
   * The next chunk (valid until the next call), or undefined once `size`
   * bytes were read. Rejects with SizeMismatch if the file ends first.
   */
  async next(): Promise<Uint8Array | undefined> {
    if (this.done >= this.size) return undefined;
    const buffer = this.buffer ??= new Uint8Array(Math.min(SEND_CHUNK, this.size));
    const want = Math.min(buffer.length, this.size - this.done);
    let n: number | null;
    try {
      n = await this.file.read(buffer.subarray(0, want));
    } catch (error) {
      throw fileSystemFailure(error, `reading the file while ${this.doing}`, this.name);
    }
    if (n === null) {
      throw new TransferFailure(
        "SizeMismatch",
        `the file shrank from ${this.size} to ${this.done} bytes while ${this.doing}`,
        { name: this.name },
      );
    }
    this.done += n;
    return buffer.subarray(0, n);
  }
}

/** The SHA-256 of the first `size` bytes of `file`; leaves the file at its start. */
export const hashOpenFile = async (
  file: Deno.FsFile,
  size: number,
  name: string,
  onProgress: ((progress: Progress) => void) | undefined,
): Promise<string> => {
  const hasher = await createHasher();
  const chunks = new FileChunks(file, size, name, "hashing");
  onProgress?.({ done: 0, total: size, phase: "hash" });
  for (let chunk = await chunks.next(); chunk !== undefined; chunk = await chunks.next()) {
    hasher.update(chunk);
    onProgress?.({ done: chunks.done, total: size, phase: "hash" });
  }
  try {
    await file.seek(0, Deno.SeekMode.Start);
  } catch (error) {
    throw fileSystemFailure(error, "rewinding the file", name);
  }
  return hasher.hex();
};

/** The SHA-256 of the file at `path`, read to its end. */
export const sha256Path = async (path: string): Promise<string> => {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw fileSystemFailure(error, `opening the file ${path}`);
  }
  try {
    const hasher = await createHasher();
    const buffer = new Uint8Array(SEND_CHUNK);
    while (true) {
      const n = await file.read(buffer);
      if (n === null) return hasher.hex();
      hasher.update(buffer.subarray(0, n));
    }
  } catch (error) {
    throw fileSystemFailure(error, `reading ${path}`);
  } finally {
    file.close();
  }
};

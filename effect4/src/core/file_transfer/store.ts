// Storing an upload so that nothing half-written ever appears under its
// name: the bytes go to a temporary file in the target directory, which gets
// its name only once the transfer is complete and verified, and is removed
// otherwise. The temporary file is created when the first byte arrives, so
// an upload that stalls after the go-ahead holds no file and no descriptor.
import { fileSystemFailure, TransferFailure } from "./failure.ts";
import { joinPath, TEMP_PREFIX } from "./names.ts";

/** Writes all of `bytes` (a file write may take only part). */
export const writeFully = async (file: Deno.FsFile, bytes: Uint8Array): Promise<void> => {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
};

/** Whether something is at `path`; rejects with a FileSystem failure if that cannot be told. */
export const exists = async (path: string, name: string): Promise<boolean> => {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw fileSystemFailure(error, "checking the target", name);
  }
};

/** How a finished file gets its name. */
export interface CommitOptions {
  /** Replace a file already there. */
  readonly overwrite: boolean;
  /** `fsync` the file first. */
  readonly sync: boolean;
}

/**
 * A file being received into `dir`, to be stored as `name`. Every method
 * rejects with a {@link TransferFailure}. The owner must call `discard` once
 * done (a no-op after `commit`).
 */
export class PendingFile {
  private file: Deno.FsFile | undefined = undefined;
  private path: string | undefined = undefined;
  private committed = false;
  private discarded = false;

  constructor(readonly dir: string, readonly name: string) {}

  /** Whether the temporary file exists yet. */
  get created(): boolean {
    return this.path !== undefined;
  }

  /** Appends `bytes`, creating the temporary file first if needed. */
  async write(bytes: Uint8Array): Promise<void> {
    const file = this.file ?? await this.create();
    try {
      await writeFully(file, bytes);
    } catch (error) {
      throw fileSystemFailure(error, "writing the file", this.name);
    }
  }

  /** Creates the temporary file under a fresh random name. */
  private async create(): Promise<Deno.FsFile> {
    for (let attempt = 0;; attempt++) {
      const path = joinPath(this.dir, `${TEMP_PREFIX}${crypto.randomUUID()}.part`);
      try {
        const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
        if (this.discarded) {
          // Discarded while opening (an interrupted transfer): leave nothing.
          file.close();
          await Deno.remove(path).catch(() => {});
          throw new Deno.errors.Interrupted("the transfer ended");
        }
        this.file = file;
        this.path = path;
        return file;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 5) {
          throw fileSystemFailure(
            error,
            "creating a temporary file in the target directory",
            this.name,
          );
        }
      }
    }
  }

  /**
   * Gives the finished file its name: a hard link (which fails if the name
   * exists) then unlinking the temporary name, or a rename when overwriting
   * or when the file system has no hard links.
   */
  async commit(options: CommitOptions): Promise<string> {
    const file = this.file ?? await this.create(); // an empty file had no byte to create it
    const path = this.path!;
    const target = joinPath(this.dir, this.name);
    try {
      if (options.sync) await file.sync();
      this.closeFile();
      if (options.overwrite) {
        await Deno.rename(path, target);
        this.committed = true;
        return target;
      }
      try {
        await Deno.link(path, target);
        this.committed = true;
        await Deno.remove(path).catch(() => {});
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) throw error;
        // No hard links here (some network or FUSE file systems): check, then rename.
        const taken = await Deno.lstat(target).then(() => true, () => false);
        if (taken) throw new Deno.errors.AlreadyExists(`${target} exists`);
        await Deno.rename(path, target);
        this.committed = true;
      }
      return target;
    } catch (error) {
      throw error instanceof Deno.errors.AlreadyExists
        ? new TransferFailure(
          "AlreadyExists",
          `${this.name} appeared in the target directory during the transfer`,
          { name: this.name, cause: error },
        )
        : fileSystemFailure(error, "storing the file under its name", this.name);
    }
  }

  /** Closes and removes the temporary file unless it was committed; idempotent. */
  async discard(): Promise<void> {
    this.discarded = true;
    this.closeFile();
    const path = this.path;
    if (path !== undefined && !this.committed) {
      this.path = undefined;
      await Deno.remove(path).catch(() => {});
    }
  }

  private closeFile(): void {
    const file = this.file;
    this.file = undefined;
    try {
      file?.close();
    } catch {
      // already closed
    }
  }
}

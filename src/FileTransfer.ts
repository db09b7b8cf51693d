/**
 * Verified file transfer over a {@link Connection.Connection}: the socket
 * tutorial's upload (send the size, wait for an acknowledgement so the size
 * and the data do not stick together, stream the bytes, count them) made
 * safe.
 *
 * The sender announces the name, size and SHA-256 in a header frame and
 * waits for the receiver to accept; then the bytes stream in constant memory;
 * then the receiver answers with its verdict. The receiver writes to a
 * temporary file in the target directory and gives it its name only after
 * the size and checksum match, so nothing half-written ever appears under
 * the final name. On any failure the partial file is removed and both sides
 * get a typed {@link FileTransferError}.
 *
 * Wire format (all frames are 4-byte big-endian length-prefixed JSON):
 *
 * | step | direction | bytes |
 * |---|---|---|
 * | hello | sender → receiver | `"FNFT"` `0x01` |
 * | header | sender → receiver | frame `{ "name", "size", "sha256" }` |
 * | reply | receiver → sender | frame `{ "ok": true }` or `{ "ok": false, "reason", "detail" }` |
 * | data | sender → receiver | exactly `size` raw bytes |
 * | end | sender → receiver | frame `{ "done": true }` |
 * | verdict | receiver → sender | frame `{ "ok": true, "name", "size", "sha256" }` or a failure |
 *
 * {@link receive} also accepts the tutorial's own protocol, unchanged: the
 * client sends the size as decimal text, waits for any answer, then sends
 * the raw bytes. The two are told apart by the first byte (a digit).
 *
 * ```ts
 * import { Effect } from "effect";
 * import { FileTransfer, Tcp } from "@fibernet/socket";
 *
 * const upload = Effect.gen(function* () {
 *   const conn = yield* Tcp.connect("127.0.0.1:9999");
 *   const sent = yield* FileTransfer.send(conn, "./photo.png", {
 *     onProgress: ({ done, total }) => console.log(`${done}/${total}`),
 *   });
 *   console.log(`stored as ${sent.storedAs}, sha256 ${sent.sha256}`);
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
import type * as Cause from "effect/Cause";
import * as Data from "effect/Data";
import * as Deferred from "effect/Deferred";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import type * as Connection from "./Connection.ts";
import * as Framing from "./Framing.ts";
import * as Address from "./Address.ts";
import { fromUnknown, type SocketError } from "./SocketError.ts";
import { readReasons } from "./internal/reasons.ts";
import { createHasher, type Hasher } from "./core/sha256.ts";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * Why a transfer failed.
 *
 * | reason | meaning |
 * |---|---|
 * | `InvalidName` | the name is empty, too long, or has a path separator, `..`, NUL or a control character |
 * | `AlreadyExists` | a file of that name exists and `overwrite` was not given |
 * | `TooLarge` | the announced size is over the receiver's `maxSize` |
 * | `SizeMismatch` | the byte count differs from the announced size (a lying header, a file that shrank) |
 * | `ChecksumMismatch` | the SHA-256 of the bytes received differs from the announced one |
 * | `ProtocolError` | the peer sent something this protocol does not allow |
 * | `Disconnected` | the peer closed or reset the connection before the end |
 * | `TimedOut` | the peer sent or accepted nothing for `timeout` |
 * | `FileSystem` | a local file operation failed (missing source, unwritable directory, disk full) |
 * | `Connection` | any other socket failure; the `SocketError` is the `cause` |
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const retryable = (reason: FileTransfer.Reason): boolean =>
 *   reason === "Disconnected" || reason === "TimedOut" || reason === "ChecksumMismatch";
 * ```
 */
export type Reason =
  | "InvalidName"
  | "AlreadyExists"
  | "TooLarge"
  | "SizeMismatch"
  | "ChecksumMismatch"
  | "ProtocolError"
  | "Disconnected"
  | "TimedOut"
  | "FileSystem"
  | "Connection";

const REASONS: ReadonlySet<string> = new Set<Reason>([
  "InvalidName",
  "AlreadyExists",
  "TooLarge",
  "SizeMismatch",
  "ChecksumMismatch",
  "ProtocolError",
  "Disconnected",
  "TimedOut",
  "FileSystem",
  "Connection",
]);

/** The fields of a {@link FileTransferError}. */
interface Fields<R extends Reason> {
  /** What went wrong. */
  readonly reason: R;
  /** A sentence saying what happened. */
  readonly detail: string;
  /** True when the peer detected the failure and reported it in its reply or verdict. */
  readonly remote?: boolean | undefined;
  /** The file name involved, when known. */
  readonly file?: string | undefined;
  /** The underlying error (a `SocketError`, a Deno file error), when there is one. */
  readonly cause?: unknown;
}

// JSR rejects a call in an `extends` clause, so the base gets an explicit type.
const FileTransferErrorBase: new <R extends Reason>(
  args: Fields<R>,
) => Cause.YieldableError & { readonly _tag: "FileTransferError" } & Fields<R> = Data
  .TaggedError("FileTransferError") as never;

const describe: Record<Reason, string> = {
  InvalidName: "invalid file name",
  AlreadyExists: "file already exists",
  TooLarge: "file too large",
  SizeMismatch: "size mismatch",
  ChecksumMismatch: "checksum mismatch",
  ProtocolError: "protocol error",
  Disconnected: "peer disconnected",
  TimedOut: "timed out",
  FileSystem: "file system error",
  Connection: "connection error",
};

/**
 * A failed transfer. `R` narrows `reason` where an operation can only fail in
 * some ways (see {@link validateName}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { FileTransfer } from "@fibernet/socket";
 *
 * const handle = (error: FileTransfer.FileTransferError) =>
 *   error.reason === "ChecksumMismatch"
 *     ? Effect.logWarning("corrupted in transit, try again")
 *     : Effect.fail(error);
 * ```
 */
export class FileTransferError<R extends Reason = Reason> extends FileTransferErrorBase<R> {
  /** One line: reason, file name, detail, and who noticed. */
  override get message(): string {
    const name = this.file === undefined ? "" : ` (${JSON.stringify(this.file)})`;
    const by = this.remote ? " [reported by the peer]" : "";
    return `${describe[this.reason]}${name}: ${this.detail}${by}`;
  }
}

/**
 * True for a {@link FileTransferError}.
 *
 * @example
 * ```ts
 * import { FileTransfer } from "@fibernet/socket";
 * FileTransfer.isFileTransferError(new Error("x")); // false
 * ```
 */
export const isFileTransferError = (u: unknown): u is FileTransferError =>
  u instanceof FileTransferError;

const fail = <R extends Reason>(
  reason: R,
  detail: string,
  extra?: { readonly remote?: boolean; readonly name?: string; readonly cause?: unknown },
): FileTransferError<R> =>
  new FileTransferError<R>({
    reason,
    detail,
    remote: extra?.remote,
    file: extra?.name,
    cause: extra?.cause,
  });

/** Maps a socket or framing error to the transfer reason it means. */
const fromSocket = (error: SocketError, doing: string): FileTransferError => {
  switch (error.reason) {
    case "UnexpectedEof":
    case "ConnectionReset":
    case "BrokenPipe":
      return fail("Disconnected", `the peer disconnected while ${doing}`, { cause: error });
    case "InvalidData":
      return fail("ProtocolError", `${error.detail ?? "invalid data"} while ${doing}`, {
        cause: error,
      });
    case "TimedOut":
      return fail("TimedOut", `timed out while ${doing}`, { cause: error });
    default:
      return fail("Connection", `${error.message} while ${doing}`, { cause: error });
  }
};

const fsError = (cause: unknown, doing: string, name?: string): FileTransferError<"FileSystem"> =>
  fail("FileSystem", `${doing}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    cause,
    name,
  });

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/** Prefix of the receiver's temporary files; names starting with it are refused. */
const TEMP_PREFIX = ".fnft-";
const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();

/**
 * Checks a file name for use inside the target directory and returns it
 * unchanged, or an `InvalidName` error. A name is one path component: not
 * empty, at most 255 UTF-8 bytes, no `/` or `\`, not `.` or `..`, no NUL or
 * other control character, and not starting with the receiver's temporary
 * prefix `.fnft-`. On Windows `<>:"|?*` are refused as well. Names are
 * refused, never rewritten: a sender learns exactly why.
 *
 * @example
 * ```ts
 * import { Either } from "effect";
 * import { FileTransfer } from "@fibernet/socket";
 * Either.isRight(FileTransfer.validateName("report.pdf")); // true
 * Either.isLeft(FileTransfer.validateName("../etc/passwd")); // true
 * ```
 */
export const validateName = (
  name: string,
): Either.Either<string, FileTransferError<"InvalidName">> => {
  const problem = nameProblem(name);
  return problem === undefined
    ? Either.right(name)
    : Either.left(fail("InvalidName", problem, { name }));
};

const nameProblem = (name: unknown): string | undefined => {
  if (typeof name !== "string") return "the name is not a string";
  if (name.length === 0) return "the name is empty";
  if (name === "." || name === "..") return `"${name}" is not a file name`;
  if (name.includes("/") || name.includes("\\")) {
    return "the name contains a path separator (only a bare file name is accepted)";
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "the name contains NUL or a control character";
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  }
  if (name.startsWith(TEMP_PREFIX)) return `names starting with "${TEMP_PREFIX}" are reserved`;
  if (Deno.build.os === "windows" && /[<>:"|?*]/.test(name)) {
    return 'the name contains one of <>:"|?* (not allowed on Windows)';
  }
  return undefined;
};

const basename = (path: string): string => {
  const trimmed = path.replace(/[/\\]+$/, "");
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return trimmed.slice(slash + 1);
};

const joinPath = (dir: string, name: string): string =>
  dir.endsWith("/") || dir.endsWith("\\") ? `${dir}${name}` : `${dir}/${name}`;

// ---------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------

/**
 * How far a transfer is: `done` of `total` bytes in the current `phase`
 * (`"hash"` while the sender computes the checksum, then `"send"` or
 * `"receive"`).
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const percent = (p: FileTransfer.Progress): number =>
 *   p.total === 0 ? 100 : Math.floor((100 * p.done) / p.total);
 * ```
 */
export interface Progress {
  /** Bytes done so far in this phase. */
  readonly done: number;
  /** Bytes in the file. */
  readonly total: number;
  /** What is being done. */
  readonly phase: "hash" | "send" | "receive";
}

/**
 * Runs a transfer and streams its progress: `run` gets the `onProgress`
 * callback to pass on. The stream ends when the transfer succeeds and fails
 * with its error. A slow consumer sees the latest progress, never a growing
 * backlog.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { type Connection, FileTransfer } from "@fibernet/socket";
 *
 * const percentages = (conn: Connection.Connection) =>
 *   FileTransfer.progressStream((onProgress) =>
 *     FileTransfer.send(conn, "big.iso", { onProgress })
 *   ).pipe(
 *     Stream.filter((p) => p.phase === "send"),
 *     Stream.map((p) => Math.floor((100 * p.done) / Math.max(1, p.total))),
 *     Stream.changes,
 *   );
 * ```
 */
export const progressStream = <A, E, R>(
  run: (onProgress: (progress: Progress) => void) => Effect.Effect<A, E, R>,
): Stream.Stream<Progress, E, Exclude<R, Scope.Scope>> =>
  Stream.asyncScoped<Progress, E, R>(
    (emit) =>
      Effect.forkScoped(
        Effect.matchCauseEffect(run((progress) => void emit.single(progress)), {
          onFailure: (cause) => Effect.promise(() => emit.halt(cause)),
          onSuccess: () => Effect.promise(() => emit.end()),
        }),
      ),
    { bufferSize: 16, strategy: "sliding" },
  );

// ---------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------

/** The bytes that open this protocol: "FNFT" and version 1. */
const MAGIC: Uint8Array = new Uint8Array([0x46, 0x4e, 0x46, 0x54, 0x01]);
/** Control frames: small JSON objects. */
const frames: Framing.LengthPrefixed = Framing.lengthPrefixed({ maxFrameLength: 64 * 1024 });
const END_FRAME: Uint8Array = Either.getOrThrow(frames.encode(JSON.stringify({ done: true })));

const MiB = 1024 * 1024;
const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(30);
const DEFAULT_MAX_SIZE = 4 * 1024 * MiB;
/** Receive buffers (two): socket reads rarely return more. */
const CHUNK = 256 * 1024;
/** The sender's file buffer (hashing and sending): fewer, larger writes mean fewer Effects per byte. */
const SEND_CHUNK = 1024 * 1024;
/** How long a failing side waits for the peer to hear its verdict or close. */
const GRACE: Duration.Duration = Duration.seconds(2);

type Json = Record<string, unknown>;

/** Fails with `TimedOut` if `effect` takes longer than `timeout`. */
const within = <A, E>(
  effect: Effect.Effect<A, E>,
  timeout: Duration.Duration,
  doing: string,
  name?: string,
): Effect.Effect<A, E | FileTransferError<"TimedOut">> =>
  Duration.isFinite(timeout)
    ? Effect.timeoutFail(effect, {
      duration: timeout,
      onTimeout: () =>
        fail("TimedOut", `nothing happened for ${Duration.format(timeout)} while ${doing}`, {
          name,
        }),
    })
    : effect;

/** Maps a socket operation's error to the transfer reason it means. */
const socketCall = <A>(
  effect: Effect.Effect<A, SocketError>,
  doing: string,
  name?: string,
): Effect.Effect<A, FileTransferError> =>
  Effect.mapError(effect, (error) => {
    const mapped = fromSocket(error, doing);
    return name === undefined
      ? mapped
      : fail(mapped.reason, mapped.detail, { cause: mapped.cause, name });
  });

/** A socket operation with a deadline: for the few one-off steps of a transfer. */
const socketStep = <A>(
  effect: Effect.Effect<A, SocketError>,
  timeout: Duration.Duration,
  doing: string,
  name?: string,
): Effect.Effect<A, FileTransferError> =>
  within(socketCall(effect, doing, name), timeout, doing, name);

/** When a data phase last made progress (milliseconds since the epoch). */
interface Liveness {
  last: number;
}

/**
 * Runs a data phase, failing it with `TimedOut` once `liveness.last` is
 * older than `timeout`. One sleeping fiber per phase instead of a timer per
 * chunk, which would cost more than the chunk.
 */
const watchdog = <A, E>(
  effect: Effect.Effect<A, E>,
  liveness: Liveness,
  timeout: Duration.Duration,
  doing: string,
  name: string,
): Effect.Effect<A, E | FileTransferError<"TimedOut">> => {
  if (!Duration.isFinite(timeout)) return effect;
  const millis = Duration.toMillis(timeout);
  const check: Effect.Effect<never, FileTransferError<"TimedOut">> = Effect.suspend(() => {
    const left = liveness.last + millis - Date.now();
    return left <= 0
      ? Effect.fail(
        fail("TimedOut", `no progress for ${Duration.format(timeout)} while ${doing}`, { name }),
      )
      : Effect.zipRight(Effect.sleep(left), check);
  });
  return Effect.raceFirst(effect, check);
};

const readJson = (
  source: Framing.ByteSource<SocketError>,
  timeout: Duration.Duration,
  doing: string,
  name?: string,
): Effect.Effect<Json, FileTransferError> =>
  Effect.flatMap(socketStep(frames.readFrame(source), timeout, doing, name), (
    frame,
  ): Effect.Effect<Json, FileTransferError> => {
    if (Option.isNone(frame)) {
      return Effect.fail(
        fail("Disconnected", `the peer closed the connection while ${doing}`, { name }),
      );
    }
    try {
      const value: unknown = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(frame.value),
      );
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return Effect.succeed(value as Json);
      }
    } catch {
      // fall through
    }
    return Effect.fail(
      fail("ProtocolError", `the peer sent a frame that is not a JSON object while ${doing}`, {
        name,
      }),
    );
  });

const jsonFrame = (value: Json): Uint8Array =>
  Either.getOrThrow(frames.encode(JSON.stringify(value)));

/** The error a failure frame from the peer stands for. */
const remoteError = (frame: Json, name: string | undefined): FileTransferError => {
  const reason = typeof frame.reason === "string" && REASONS.has(frame.reason)
    ? frame.reason as Reason
    : "ProtocolError";
  const detail = typeof frame.detail === "string"
    ? frame.detail.slice(0, 1000)
    : `the peer refused without a reason (${JSON.stringify(frame).slice(0, 200)})`;
  return fail(reason, detail, { remote: true, name });
};

const failureFrame = (error: FileTransferError): Json => ({
  ok: false,
  reason: error.reason,
  detail: error.detail,
});

const SHA256_HEX = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

const fsTry = <A>(
  run: () => Promise<A>,
  doing: string,
  name?: string,
): Effect.Effect<A, FileTransferError<"FileSystem">> =>
  Effect.tryPromise({ try: run, catch: (cause) => fsError(cause, doing, name) });

const writeFully = async (file: Deno.FsFile, bytes: Uint8Array): Promise<void> => {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
};

const hashOpenFile = (
  file: Deno.FsFile,
  size: number,
  onProgress: ((progress: Progress) => void) | undefined,
  name: string,
): Effect.Effect<string, FileTransferError<"FileSystem" | "SizeMismatch">> =>
  Effect.flatMap(
    fsTry(
      async () => {
        const hasher = await createHasher();
        const buffer = new Uint8Array(SEND_CHUNK);
        let done = 0;
        onProgress?.({ done, total: size, phase: "hash" });
        while (done < size) {
          const n = await file.read(buffer.subarray(0, Math.min(buffer.length, size - done)));
          if (n === null) return done;
          hasher.update(buffer.subarray(0, n));
          done += n;
          onProgress?.({ done, total: size, phase: "hash" });
        }
        await file.seek(0, Deno.SeekMode.Start);
        return hasher.hex();
      },
      "reading the file to hash it",
      name,
    ),
    (result) =>
      typeof result === "string" ? Effect.succeed(result) : Effect.fail(
        fail("SizeMismatch", `the file shrank from ${size} to ${result} bytes while hashing`, {
          name,
        }),
      ),
  );

/**
 * The SHA-256 of a file as 64 lowercase hex digits, computed in constant
 * memory.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { FileTransfer } from "@fibernet/socket";
 * const program = FileTransfer.sha256File("./photo.png").pipe(Effect.tap(Effect.log));
 * ```
 */
export const sha256File = (path: string): Effect.Effect<string, FileTransferError<"FileSystem">> =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* openScoped(path, { read: true }, "opening the file");
      const hasher = yield* Effect.promise(() => createHasher());
      yield* fsTry(async () => {
        const buffer = new Uint8Array(SEND_CHUNK);
        while (true) {
          const n = await file.read(buffer);
          if (n === null) return;
          hasher.update(buffer.subarray(0, n));
        }
      }, `reading ${path}`);
      return hasher.hex();
    }),
  );

const openScoped = (
  path: string,
  options: Deno.OpenOptions,
  doing: string,
  name?: string,
): Effect.Effect<Deno.FsFile, FileTransferError<"FileSystem">, Scope.Scope> =>
  Effect.acquireRelease(
    fsTry(() => Deno.open(path, options), `${doing} ${path}`, name),
    (file) =>
      Effect.sync(() => {
        try {
          file.close();
        } catch {
          // already closed
        }
      }),
  );

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

/**
 * Options of {@link send}.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const options: FileTransfer.SendOptions = { name: "backup.tar", timeout: "1 minute" };
 * ```
 */
export interface SendOptions {
  /** The name to announce. Default: the file's own name (the last path component). */
  readonly name?: string;
  /**
   * The file's SHA-256 (64 hex digits) if already known; skips the hashing
   * pass. A wrong value makes the receiver refuse the file.
   */
  readonly sha256?: string;
  /**
   * Fail with `TimedOut` when one step (the receiver's reply, a write, the
   * verdict) takes longer than this. Default 30 seconds. The verdict wait
   * includes the receiver's `fsync`.
   */
  readonly timeout?: Duration.DurationInput;
  /** Called as the file is hashed and sent. */
  readonly onProgress?: (progress: Progress) => void;
}

/**
 * What a successful {@link send} confirmed.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const show = (r: FileTransfer.SendResult) => `${r.name}: ${r.size} bytes, sha256 ${r.sha256}`;
 * ```
 */
export interface SendResult {
  /** The name announced. */
  readonly name: string;
  /** Bytes sent. */
  readonly size: number;
  /** The SHA-256 that both sides computed. */
  readonly sha256: string;
  /** The name the receiver stored the file under. */
  readonly storedAs: string;
}

/**
 * Sends a file and waits for the receiver's verdict: succeeds only once the
 * receiver has checked the size and SHA-256 and stored the file. Reads the
 * file twice (once to hash it, unless `sha256` is given; once to send it)
 * through a reused 1 MiB buffer, so memory stays constant whatever the file
 * size. Progress is reported for both passes (`phase` `"hash"`, then
 * `"send"`).
 *
 * After a failure the connection is in an unknown state: close it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { FileTransfer, Tcp } from "@fibernet/socket";
 *
 * const program = Tcp.connect("127.0.0.1:9999").pipe(
 *   Effect.flatMap((conn) => FileTransfer.send(conn, "notes.txt")),
 *   Effect.tap((r) => Effect.log(`verified sha256 ${r.sha256}`)),
 *   Effect.catchTag("FileTransferError", (e) => Effect.logError(e.message)),
 *   Effect.scoped,
 * );
 * ```
 */
export const send = (
  conn: Connection.Connection,
  path: string,
  options?: SendOptions,
): Effect.Effect<SendResult, FileTransferError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const timeout = Duration.decode(options?.timeout ?? DEFAULT_TIMEOUT);
      const onProgress = options?.onProgress;
      const name = yield* validateName(options?.name ?? basename(path));
      const file = yield* openScoped(path, { read: true }, "opening", name);
      const info = yield* fsTry(() => file.stat(), `reading the size of ${path}`, name);
      if (!info.isFile) {
        return yield* fail("FileSystem", `${path} is not a regular file`, { name });
      }
      const size = info.size;
      let sha256: string;
      if (options?.sha256 !== undefined) {
        sha256 = options.sha256.toLowerCase();
        if (!SHA256_HEX.test(sha256)) {
          return yield* fail("ProtocolError", "the sha256 option must be 64 hex digits", { name });
        }
      } else {
        sha256 = yield* hashOpenFile(file, size, onProgress, name);
      }

      // Hello and header in one write; then wait for the receiver to accept.
      const header = jsonFrame({ name, size, sha256 });
      const hello = new Uint8Array(MAGIC.length + header.length);
      hello.set(MAGIC, 0);
      hello.set(header, MAGIC.length);
      yield* socketStep(conn.write(hello), timeout, "sending the header", name);
      const reply = yield* readJson(conn, timeout, "waiting for the receiver to accept", name);
      if (reply.ok !== true) return yield* remoteError(reply, name);

      // A receiver that fails mid-way says so at once: watch for its verdict
      // while sending, and stop as soon as it arrives.
      const verdict = yield* Deferred.make<Json, FileTransferError>();
      yield* Effect.forkScoped(
        Effect.exit(readJson(conn, Duration.infinity, "waiting for the verdict", name)).pipe(
          Effect.flatMap((exit) => Deferred.done(verdict, exit)),
        ),
      );
      // A success verdict can only be checked once everything is sent (it may
      // even race the last write's completion), so only failures end early.
      const earlyVerdict = Effect.flatMap(
        Deferred.await(verdict),
        (frame): Effect.Effect<never, FileTransferError> =>
          frame.ok === true ? Effect.never : Effect.fail(remoteError(frame, name)),
      );
      // When a write fails because the receiver gave up, its verdict says why.
      const explain = (error: FileTransferError): Effect.Effect<never, FileTransferError> =>
        error.reason !== "Disconnected" && error.reason !== "Connection"
          ? Effect.fail(error) // a local failure needs no explanation
          : Effect.flatMap(
            Effect.either(Effect.timeout(Deferred.await(verdict), GRACE)),
            (result) =>
              Effect.fail(
                Either.isRight(result) && result.right.ok !== true
                  ? remoteError(result.right, name)
                  : error,
              ),
          );

      const liveness: Liveness = { last: Date.now() };
      const sendBytes = Effect.gen(function* () {
        const buffer = new Uint8Array(SEND_CHUNK);
        let done = 0;
        onProgress?.({ done, total: size, phase: "send" });
        while (done < size) {
          const want = Math.min(buffer.length, size - done);
          const n = yield* fsTry(() => file.read(buffer.subarray(0, want)), "reading", name);
          if (n === null) {
            return yield* fail(
              "SizeMismatch",
              `the file shrank from ${size} to ${done} bytes while sending`,
              { name },
            );
          }
          yield* socketCall(conn.write(buffer.subarray(0, n)), "sending data", name);
          done += n;
          liveness.last = Date.now();
          onProgress?.({ done, total: size, phase: "send" });
        }
        yield* socketCall(conn.write(END_FRAME), "sending the end frame", name);
      });

      yield* Effect.raceFirst(
        watchdog(sendBytes, liveness, timeout, "sending data", name).pipe(
          Effect.catchAll(explain),
        ),
        earlyVerdict,
      );
      const final = yield* within(
        Deferred.await(verdict),
        timeout,
        "waiting for the verdict",
        name,
      );
      if (final.ok !== true) return yield* remoteError(final, name);
      if (final.sha256 !== sha256 || final.size !== size || typeof final.name !== "string") {
        return yield* fail(
          "ProtocolError",
          `the receiver confirmed something else (${JSON.stringify(final).slice(0, 300)})`,
          { name },
        );
      }
      return { name, size, sha256, storedAs: final.name };
    }),
  );

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

/**
 * Options of {@link receive}.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const options: FileTransfer.ReceiveOptions = {
 *   dir: "./uploads",
 *   maxSize: 100 * 1024 * 1024,
 *   overwrite: false,
 * };
 * ```
 */
export interface ReceiveOptions {
  /** The directory files are stored in. It must exist. */
  readonly dir: string;
  /** The largest file accepted, checked against the header before any byte is written. Default 4 GiB. */
  readonly maxSize?: number;
  /** Replace an existing file of the same name. Default false: refuse with `AlreadyExists`. */
  readonly overwrite?: boolean;
  /** Fail with `TimedOut` when the sender sends nothing for this long. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput;
  /** Called as bytes arrive. */
  readonly onProgress?: (progress: Progress) => void;
  /**
   * Accept the tutorial's protocol too (size as decimal text, any
   * acknowledgement, raw bytes). Default true.
   */
  readonly tutorial?: boolean;
  /**
   * Names tutorial uploads, which carry none. Default
   * `upload-<date>-<time>-<random>.bin`.
   */
  readonly tutorialName?: () => string;
  /**
   * How long a tutorial upload waits, after the announced byte count, for
   * the client to close (extra bytes in that time refuse the file). Default
   * 1 second; the tutorial's client closes at once.
   */
  readonly tutorialLinger?: Duration.DurationInput;
  /** `fsync` the file before giving it its name. Default true. */
  readonly sync?: boolean;
}

/**
 * What a successful {@link receive} stored.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * const line = (r: FileTransfer.ReceiveResult) => `${r.path} (${r.size} bytes, ${r.protocol})`;
 * ```
 */
export interface ReceiveResult {
  /** The file name in the directory. */
  readonly name: string;
  /** The full path of the stored file. */
  readonly path: string;
  /** Bytes stored. */
  readonly size: number;
  /** SHA-256 of the stored bytes (checked against the header for this library's protocol). */
  readonly sha256: string;
  /** Which protocol the sender spoke. */
  readonly protocol: "fibernet" | "tutorial";
}

interface Settings {
  readonly dir: string;
  readonly maxSize: number;
  readonly overwrite: boolean;
  readonly timeout: Duration.Duration;
  readonly onProgress: ((progress: Progress) => void) | undefined;
  readonly sync: boolean;
}

/**
 * Receives one file into `options.dir`, speaking this library's protocol or
 * the tutorial's (told apart by the first byte). The file appears under its
 * final name only once complete and verified; on any failure the partial
 * file is removed, the sender is told why (when the connection still works),
 * and the effect fails with the reason.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { FileTransfer, Server, Tcp } from "@fibernet/socket";
 *
 * const uploads = Server.serve((conn) =>
 *   FileTransfer.receive(conn, { dir: "./uploads", maxSize: 1 << 30 }).pipe(
 *     Effect.tap((r) => Effect.log(`stored ${r.path}`)),
 *   )
 * ).pipe(Effect.provide(Tcp.layer("127.0.0.1:9999")));
 * ```
 */
export const receive = (
  conn: Connection.Connection,
  options: ReceiveOptions,
): Effect.Effect<ReceiveResult, FileTransferError> =>
  Effect.suspend(() => {
    const settings: Settings = {
      dir: options.dir,
      maxSize: options.maxSize ?? DEFAULT_MAX_SIZE,
      overwrite: options.overwrite ?? false,
      timeout: Duration.decode(options.timeout ?? DEFAULT_TIMEOUT),
      onProgress: options.onProgress,
      sync: options.sync ?? true,
    };
    return Effect.flatMap(
      socketStep(conn.read(1024), settings.timeout, "waiting for the sender"),
      (first) => {
        if (Option.isNone(first)) {
          return Effect.fail(
            fail("Disconnected", "the peer closed the connection before sending anything"),
          );
        }
        const bytes = first.value;
        if (options.tutorial !== false && bytes[0] >= 0x30 && bytes[0] <= 0x39) {
          return receiveTutorial(conn, bytes, settings, options);
        }
        // A peer that does not start with the hello is refused at once, not
        // after waiting for as many bytes as the hello has.
        const prefix = Math.min(bytes.length, MAGIC.length);
        for (let i = 0; i < prefix; i++) {
          if (bytes[i] !== MAGIC[i]) {
            const error = fail(
              "ProtocolError",
              "the peer does not speak this protocol (bad hello)",
            );
            return Effect.zipRight(tellPeer(conn, conn, error), Effect.fail(error));
          }
        }
        return receiveFibernet(new CountingSource(Framing.prepend(bytes, conn)), conn, settings);
      },
    );
  });

const receiveFibernet = (
  source: CountingSource,
  conn: Connection.Connection,
  settings: Settings,
): Effect.Effect<ReceiveResult, FileTransferError> => {
  const { timeout } = settings;
  let name: string | undefined;
  let expectedSha: string | undefined;
  return Effect.gen(function* () {
    const magic = yield* socketStep(
      Framing.readExactly(source, MAGIC.length),
      timeout,
      "reading the hello",
    );
    if (!magic.every((byte, i) => byte === MAGIC[i])) {
      return yield* fail("ProtocolError", "the peer does not speak this protocol (bad hello)");
    }
    const header = yield* readJson(source, timeout, "reading the header");
    const nameProblemText = nameProblem(header.name);
    if (nameProblemText !== undefined) {
      return yield* fail("InvalidName", nameProblemText, {
        name: typeof header.name === "string" ? header.name : undefined,
      });
    }
    name = header.name as string;
    const size = header.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      return yield* fail("ProtocolError", `the header's size is not a byte count: ${size}`, {
        name,
      });
    }
    if (size > settings.maxSize) {
      return yield* fail(
        "TooLarge",
        `${size} bytes is over the limit of ${settings.maxSize} bytes`,
        { name },
      );
    }
    if (typeof header.sha256 !== "string" || !SHA256_HEX.test(header.sha256.toLowerCase())) {
      return yield* fail("ProtocolError", "the header's sha256 is not 64 hex digits", { name });
    }
    expectedSha = header.sha256.toLowerCase();
    const target = joinPath(settings.dir, name);
    if (!settings.overwrite && (yield* exists(target, name))) {
      return yield* fail("AlreadyExists", `${name} already exists in the target directory`, {
        name,
      });
    }
    const fileName = name;
    const expected = expectedSha;
    const stored = yield* Effect.scoped(
      Effect.gen(function* () {
        const temp = yield* tempFile(settings.dir, fileName);
        yield* socketStep(conn.write(jsonFrame({ ok: true })), timeout, "accepting", fileName);
        const hasher = yield* Effect.promise(() => createHasher());
        yield* pump({
          conn,
          source,
          file: temp.file,
          hasher,
          size,
          strict: false,
          settings,
          name: fileName,
        });
        const end = yield* readJson(source, timeout, "reading the end frame", fileName).pipe(
          Effect.catchIf(
            (error) => error.reason === "ProtocolError",
            () => Effect.succeed({} as Json),
          ),
        );
        if (end.done !== true) {
          return yield* fail(
            "SizeMismatch",
            `the sender sent more than the ${size} bytes it announced`,
            { name: fileName },
          );
        }
        const actual = hasher.hex();
        if (actual !== expected) {
          return yield* fail(
            "ChecksumMismatch",
            `the sender announced sha256 ${expected} but the bytes received hash to ${actual}`,
            { name: fileName },
          );
        }
        yield* commit(temp, target, settings, fileName);
        return actual;
      }),
    );
    yield* socketStep(
      conn.write(jsonFrame({ ok: true, name: fileName, size, sha256: stored })),
      timeout,
      "sending the verdict",
      fileName,
    ).pipe(Effect.ignore); // the file is stored whether or not the sender hears it
    return {
      name: fileName,
      path: target,
      size,
      sha256: stored,
      protocol: "fibernet",
    } satisfies ReceiveResult;
  }).pipe(
    Effect.tapError((error) => tellPeer(conn, source, error)),
    Effect.mapError((error) =>
      error.file === undefined && name !== undefined
        ? fail(error.reason, error.detail, { cause: error.cause, name, remote: error.remote })
        : error
    ),
  );
};

/** A source that counts the bytes it has handed out. */
class CountingSource implements Framing.ByteSource<SocketError> {
  consumed = 0;
  constructor(private readonly source: Framing.ByteSource<SocketError>) {}
  read(maxBytes?: number): Effect.Effect<Option.Option<Uint8Array>, SocketError> {
    return Effect.tap(Effect.suspend(() => this.source.read(maxBytes)), (chunk) => {
      if (Option.isSome(chunk)) this.consumed += chunk.value.length;
    });
  }
}

interface Pump {
  readonly conn: Connection.Connection;
  readonly source: CountingSource;
  readonly file: Deno.FsFile;
  readonly hasher: Hasher;
  readonly size: number;
  /**
   * Tutorial mode: read whole chunks and fail on any byte beyond `size`
   * (instead of reading exactly `size` bytes and leaving the rest, which is
   * this protocol's end frame).
   */
  readonly strict: boolean;
  readonly settings: Settings;
  readonly name: string;
}

/**
 * Receives the `size` data bytes into the file, hashing them on the way.
 *
 * While the connection holds bytes it has read but not handed out (a sender
 * that did not wait for the reply), they are taken through the source. Once
 * it holds none, which is at once for a well-behaved sender, the rest is read
 * straight from the socket into two reused buffers, the disk write of one
 * overlapping the socket read of the other: no allocation per chunk, so a
 * transfer of any size leaves no garbage behind.
 */
const pump = (p: Pump): Effect.Effect<void, FileTransferError> => {
  const { conn, source, size, name, settings } = p;
  const liveness: Liveness = { last: Date.now() };
  let done = 0;
  const advance = (n: number) => {
    done += n;
    liveness.last = Date.now();
    settings.onProgress?.({ done, total: size, phase: "receive" });
  };
  const tooMuch = () =>
    fail("SizeMismatch", `the client sent more than the ${size} bytes it announced`, { name });
  const disconnected = () =>
    fail("Disconnected", `the sender disconnected after ${done} of ${size} bytes`, { name });

  const nothingBuffered = () =>
    conn.readWaitingSince === undefined && conn.bytesRead === source.consumed;

  const slow: Effect.Effect<void, FileTransferError> = Effect.suspend(() => {
    if (done >= size) return Effect.void;
    if (nothingBuffered()) return fast;
    const want = p.strict ? CHUNK : Math.min(CHUNK, size - done);
    return Effect.flatMap(socketCall(source.read(want), "receiving data", name), (chunk) => {
      if (Option.isNone(chunk)) return Effect.fail(disconnected());
      const bytes = chunk.value;
      if (done + bytes.length > size) return Effect.fail(tooMuch());
      p.hasher.update(bytes);
      return fsTry(() => writeFully(p.file, bytes), "writing the file", name).pipe(
        Effect.zipRight(Effect.sync(() => advance(bytes.length))),
        Effect.zipRight(slow),
      );
    });
  });

  const label = Address.format(conn.remoteAddress);
  const fast = Effect.tryPromise({
    try: async (signal) => {
      const buffers = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
      let turn = 0;
      let writing: Promise<void> | undefined;
      while (done < size && !signal.aborted) {
        const buffer = buffers[turn];
        turn ^= 1;
        const want = p.strict ? buffer.length : Math.min(buffer.length, size - done);
        let n: number | null;
        try {
          n = await conn.raw.read(buffer.subarray(0, want));
        } catch (error) {
          throw fromSocket(
            fromUnknown(error, "read", label, readReasons),
            "receiving data",
          );
        }
        if (signal.aborted) return; // timed out or interrupted meanwhile
        if (writing !== undefined) await writing; // frees the other buffer
        if (n === null) throw disconnected();
        if (done + n > size) throw tooMuch();
        const bytes = buffer.subarray(0, n);
        p.hasher.update(bytes);
        writing = writeFully(p.file, bytes);
        writing.catch(() => {}); // awaited on the next turn
        advance(n);
      }
      if (writing !== undefined) await writing;
    },
    catch: (error) =>
      error instanceof FileTransferError
        ? (error.file === undefined
          ? fail(error.reason, error.detail, { cause: error.cause, name })
          : error)
        : fsError(error, "writing the file", name),
  });

  return Effect.zipRight(
    Effect.sync(() => settings.onProgress?.({ done: 0, total: size, phase: "receive" })),
    watchdog(slow, liveness, settings.timeout, "receiving data", name),
  );
};

/** Tells the peer why the transfer failed (if it can still hear it), then lets it close first. */
const tellPeer = (
  conn: Connection.Connection,
  source: Framing.ByteSource<SocketError>,
  error: FileTransferError,
  frame: Uint8Array = jsonFrame(failureFrame(error)),
): Effect.Effect<void> => {
  if (error.reason === "Disconnected" || error.reason === "Connection") return Effect.void;
  const drain: Effect.Effect<void, SocketError> = Effect.flatMap(
    Effect.suspend(() => source.read(CHUNK)),
    (chunk) => Option.isSome(chunk) ? drain : Effect.void,
  );
  // Reading what the peer still sends until it closes avoids resetting the
  // connection (which could destroy the verdict before the peer reads it).
  return conn.write(frame).pipe(
    Effect.zipRight(conn.closeWrite),
    Effect.zipRight(drain),
    Effect.timeout(GRACE),
    Effect.ignore,
  );
};

const exists = (path: string, name: string): Effect.Effect<boolean, FileTransferError> =>
  Effect.tryPromise({
    try: () => Deno.lstat(path).then(() => true),
    catch: (cause) => cause,
  }).pipe(
    Effect.catchAll((cause) =>
      cause instanceof Deno.errors.NotFound
        ? Effect.succeed(false)
        : Effect.fail(fsError(cause, "checking the target", name))
    ),
  );

interface TempFile {
  readonly path: string;
  readonly file: Deno.FsFile;
  committed: boolean;
}

/** A new temporary file in `dir`, closed and (unless committed) removed when the scope closes. */
const tempFile = (
  dir: string,
  name: string,
): Effect.Effect<TempFile, FileTransferError<"FileSystem">, Scope.Scope> =>
  Effect.acquireRelease(
    fsTry(
      async () => {
        for (let attempt = 0;; attempt++) {
          const path = joinPath(dir, `${TEMP_PREFIX}${crypto.randomUUID()}.part`);
          try {
            const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
            return { path, file, committed: false } satisfies TempFile;
          } catch (error) {
            if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 5) throw error;
          }
        }
      },
      "creating a temporary file in the target directory",
      name,
    ),
    (temp) =>
      Effect.promise(async () => {
        try {
          temp.file.close();
        } catch {
          // closed by commit
        }
        if (!temp.committed) await Deno.remove(temp.path).catch(() => {});
      }),
  );

/**
 * Gives the finished temporary file its name: a hard link (which fails if
 * the name exists) then unlinking the temporary name, or a rename when
 * overwriting or when the file system has no hard links.
 */
const commit = (
  temp: TempFile,
  target: string,
  settings: Settings,
  name: string,
): Effect.Effect<void, FileTransferError<"FileSystem" | "AlreadyExists">> =>
  Effect.tryPromise({
    try: async () => {
      if (settings.sync) await temp.file.sync();
      temp.file.close();
      if (settings.overwrite) {
        await Deno.rename(temp.path, target);
        temp.committed = true;
        return;
      }
      try {
        await Deno.link(temp.path, target);
        temp.committed = true;
        await Deno.remove(temp.path).catch(() => {});
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) throw error;
        // No hard links here (some network or FUSE file systems): check, then rename.
        const taken = await Deno.lstat(target).then(() => true, () => false);
        if (taken) throw new Deno.errors.AlreadyExists(`${target} exists`);
        await Deno.rename(temp.path, target);
        temp.committed = true;
      }
    },
    catch: (cause) =>
      cause instanceof Deno.errors.AlreadyExists
        ? fail("AlreadyExists", `${name} appeared in the target directory during the transfer`, {
          name,
          cause,
        })
        : fsError(cause, "storing the file under its name", name),
  });

// ---------------------------------------------------------------------------
// The tutorial's protocol
// ---------------------------------------------------------------------------

const defaultTutorialName = (): string => {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  const random = crypto.randomUUID().slice(0, 8);
  return `upload-${date}-${time}-${random}.bin`;
};

const TUTORIAL_SIZE = /^\s*(\d{1,16})\s*$/;

const receiveTutorial = (
  conn: Connection.Connection,
  first: Uint8Array,
  settings: Settings,
  options: ReceiveOptions,
): Effect.Effect<ReceiveResult, FileTransferError> => {
  const { timeout } = settings;
  const linger = Duration.decode(options.tutorialLinger ?? Duration.seconds(1));
  return Effect.gen(function* () {
    // The client sent the size and now waits for an answer, so the whole
    // size is in this first read (as with the tutorial's recv(1024)).
    const text = String.fromCharCode(...first);
    const match = TUTORIAL_SIZE.exec(text);
    if (match === null) {
      return yield* fail(
        "ProtocolError",
        "expected the file size as decimal digits, then a wait for the answer",
      );
    }
    const size = Number(match[1]);
    if (!Number.isSafeInteger(size)) {
      return yield* fail("ProtocolError", `the size ${match[1]} is too big to be exact`);
    }
    if (size > settings.maxSize) {
      return yield* fail(
        "TooLarge",
        `${size} bytes is over the limit of ${settings.maxSize} bytes`,
      );
    }
    const name = (options.tutorialName ?? defaultTutorialName)();
    const problem = nameProblem(name);
    if (problem !== undefined) {
      return yield* Effect.die(new Error(`tutorialName returned an invalid name: ${problem}`));
    }
    const target = joinPath(settings.dir, name);
    if (!settings.overwrite && (yield* exists(target, name))) {
      return yield* fail("AlreadyExists", `${name} already exists in the target directory`, {
        name,
      });
    }
    const sha256 = yield* Effect.scoped(
      Effect.gen(function* () {
        const temp = yield* tempFile(settings.dir, name);
        yield* socketStep(conn.write("OK\n"), timeout, "acknowledging the size", name);
        const hasher = yield* Effect.promise(() => createHasher());
        yield* pump({
          conn,
          source: Object.assign(new CountingSource(conn), { consumed: first.length }),
          file: temp.file,
          hasher,
          size,
          strict: true,
          settings,
          name,
        });
        // The tutorial's client closes right after the last byte: anything
        // else arriving in the meantime means the size was a lie.
        const after = yield* conn.read(1).pipe(
          Effect.timeout(linger),
          Effect.catchAll(() => Effect.succeed(Option.none<Uint8Array>())),
        );
        if (Option.isSome(after)) {
          return yield* fail(
            "SizeMismatch",
            `the client sent more than the ${size} bytes it announced`,
            { name },
          );
        }
        yield* commit(temp, target, settings, name);
        return hasher.hex();
      }),
    );
    yield* conn.write(`DONE ${sha256}\n`).pipe(Effect.ignore); // the client may be gone
    return { name, path: target, size, sha256, protocol: "tutorial" } satisfies ReceiveResult;
  }).pipe(
    Effect.tapError((error) =>
      tellPeer(conn, conn, error, encoder.encode(`ERROR ${error.reason}: ${error.detail}\n`))
    ),
  );
};

/**
 * The first bytes of this library's protocol, for servers that dispatch
 * between several protocols on one port.
 *
 * @example
 * ```ts
 * import { FileTransfer } from "@fibernet/socket";
 * const isUpload = (first: Uint8Array): boolean =>
 *   first[0] === FileTransfer.hello[0];
 * ```
 */
export const hello: Uint8Array = MAGIC.slice();

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
 * Every peer is treated as hostile. A receiver holds no more for an upload
 * that stalls after the go-ahead than for an idle connection: it reads
 * through the connection's own buffer, which grows only while data flows,
 * and creates the temporary file when the first byte arrives. A transfer
 * that makes no progress for `timeout`, moves slower than `minRate` or runs
 * past its `deadline` fails with `TimedOut`. Names are checked (see
 * {@link validateName}) and stored in Unicode NFC.
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
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Metric from "effect/Metric";
import * as Queue from "effect/Queue";
import * as Result from "effect/Result";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import type * as Connection from "./Connection.ts";
import { SocketError } from "./SocketError.ts";
import type { TransferReason } from "./core/file_transfer/reasons.ts";
import { TransferFailure, transferMessage } from "./core/file_transfer/failure.ts";
import { basename, storedName } from "./core/file_transfer/names.ts";
import type { PaceLimits, Progress as CoreProgress } from "./core/file_transfer/pace.ts";
import { ABORTED, type Running, type TransferIo } from "./core/file_transfer/io.ts";
import { sha256Path } from "./core/file_transfer/outbound.ts";
import { receiveFile } from "./core/file_transfer/receiver.ts";
import { sendFile } from "./core/file_transfer/sender.ts";
import { SocketCause, SocketIo } from "./core/file_transfer/socket_io.ts";
import { defaultTutorialName, MAGIC } from "./core/file_transfer/wire.ts";
import { effectIo } from "./internal/transfer_io.ts";
import { childSpan } from "./internal/tracing.ts";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * Why a transfer failed.
 *
 * | reason | meaning |
 * |---|---|
 * | `InvalidName` | the name is refused (see {@link validateName}) |
 * | `AlreadyExists` | a file of that name exists and `overwrite` was not given |
 * | `TooLarge` | the announced size is over the receiver's `maxSize` |
 * | `SizeMismatch` | the byte count differs from the announced size (a lying header, a file that shrank) |
 * | `ChecksumMismatch` | the SHA-256 of the bytes received differs from the announced one |
 * | `ProtocolError` | the peer sent something this protocol does not allow |
 * | `Disconnected` | the peer closed or reset the connection before the end |
 * | `TimedOut` | no progress for `timeout`, slower than `minRate`, or past the `deadline` |
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
export type Reason = TransferReason;

/** The fields of a {@link FileTransferError}. */
interface Fields<R extends Reason> {
  /** What went wrong. */
  readonly reason: R;
  /** A sentence saying what happened; values a peer sent are escaped and capped. */
  readonly detail: string;
  /** True when the peer detected the failure and reported it in its reply or verdict. */
  readonly remote?: boolean | undefined;
  /** The file name involved, when known (as given: escaped in the message). */
  readonly file?: string | undefined;
  /** The underlying error (a `SocketError`, a Deno file error), when there is one. */
  readonly cause?: unknown;
}

// JSR rejects a call in an `extends` clause, so the base gets an explicit type.
const FileTransferErrorBase: new <R extends Reason>(
  args: Fields<R>,
) => Cause.YieldableError & { readonly _tag: "FileTransferError" } & Fields<R> = Data
  .TaggedError("FileTransferError") as never;

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
  /** One line: reason, file name, detail, and who noticed; escaped and capped. */
  override get message(): string {
    return transferMessage(this.reason, this.detail, this.file, this.remote);
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

/** The error for a core failure; a socket failure's cause becomes its SocketError. */
const toError = <R extends Reason>(failure: TransferFailure<R>): FileTransferError<R> => {
  const cause = failure.extra.cause;
  return new FileTransferError<R>({
    reason: failure.reason,
    detail: failure.detail,
    remote: failure.extra.remote,
    file: failure.extra.name,
    cause: cause instanceof SocketCause ? new SocketError(cause.failure) : cause,
  });
};

/**
 * Runs a core transfer over `conn` as an Effect (call it inside
 * `Effect.suspend`: each run gets its own I/O). Interrupting it stops the
 * transfer and waits for its cleanup.
 */
const run = <A>(
  conn: Connection.Connection,
  start: (io: TransferIo) => Running<A>,
): Effect.Effect<A, FileTransferError> =>
  conn.socket !== undefined
    ? runOver(new SocketIo(conn.socket), start)
    : Effect.flatMap(Effect.context<never>(), (context) => runOver(effectIo(conn, context), start));

const runOver = <A>(
  io: TransferIo,
  start: (io: TransferIo) => Running<A>,
): Effect.Effect<A, FileTransferError> =>
  Effect.callback<A, FileTransferError>((resume) => {
    const transfer = start(io);
    transfer.done.then(
      (value) => resume(Effect.succeed(value)),
      (error) =>
        resume(
          error instanceof TransferFailure
            ? Effect.fail(toError(error))
            : error === ABORTED
            ? Effect.interrupt
            : Effect.die(error),
        ),
    );
    return Effect.promise(() => transfer.abort());
  });

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/**
 * Checks a file name for use inside the target directory and returns the
 * name it is stored under, or an `InvalidName` error. A name is one path
 * component: a well-formed string (no lone surrogate), not empty, at most
 * 255 UTF-8 bytes, no `/` or `\`, not `.` or `..`, no control character
 * (C0, DEL, C1), no bidirectional control (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), no line or paragraph separator (U+2028,
 * U+2029), and not starting with the receiver's temporary prefix `.fnft-`.
 * On Windows `<>:"|?*` are refused as well. Names are refused, never
 * repaired: a sender learns exactly why.
 *
 * Names are stored in Unicode NFC, so two names that look the same (`é` as
 * one code point, or `e` and a combining accent) are the same name: the
 * result is the NFC form, the limits apply to it, and a receiver confirms
 * it as the stored name.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { FileTransfer } from "@fibernet/socket";
 * Result.isSuccess(FileTransfer.validateName("report.pdf")); // true
 * Result.isFailure(FileTransfer.validateName("../etc/passwd")); // true
 * FileTransfer.validateName("cafe\u0301.txt"); // Result.succeed("café.txt"), in NFC
 * ```
 */
export const validateName = (
  name: string,
): Result.Result<string, FileTransferError<"InvalidName">> => {
  const stored = storedName(name);
  return typeof stored === "string" ? Result.succeed(stored) : Result.fail(toError(stored));
};

// ---------------------------------------------------------------------------
// Progress and limits
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
export type Progress = CoreProgress;

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
  Stream.callback<Progress, E, R>(
    (queue) =>
      Effect.forkScoped(
        Effect.matchCause(run((progress) => void Queue.offerUnsafe(queue, progress)), {
          onFailure: (cause) => void Queue.failCauseUnsafe(queue, cause),
          onSuccess: () => void Queue.endUnsafe(queue),
        }),
      ),
    { bufferSize: 16, strategy: "sliding" },
  );

/**
 * The slowest a transfer's data may move: each successive period of `per`
 * must bring at least `bytes` (or all that is left of the file). A peer that
 * sends (or reads) a byte now and then fails with `TimedOut` at the end of
 * the first period it falls short, where `timeout` alone would wait forever.
 * `bytes: 0` turns the check off.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * // At least 64 KiB every 10 seconds (6.4 KiB/s on average).
 * const rate: FileTransfer.MinRate = { bytes: 64 * 1024, per: "10 seconds" };
 * ```
 */
export interface MinRate {
  /** Bytes each period must bring; 0 turns the check off. */
  readonly bytes: number;
  /** The length of a period. */
  readonly per: Duration.Input;
}

const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(30);
const DEFAULT_MIN_RATE: MinRate = { bytes: 16 * 1024, per: Duration.seconds(30) };
const DEFAULT_MAX_SIZE = 4 * 1024 * 1024 * 1024;
const DEFAULT_TUTORIAL_LINGER: Duration.Duration = Duration.seconds(1);

/** The time limits common to both sides, in milliseconds. */
const limitsOf = (options: {
  readonly timeout?: Duration.Input | undefined;
  readonly minRate?: MinRate | undefined;
  readonly deadline?: Duration.Input | undefined;
}): { readonly timeoutMs: number; readonly pace: PaceLimits; readonly deadlineMs: number } => {
  const timeoutMs = Duration.toMillis(options.timeout ?? DEFAULT_TIMEOUT);
  const rate = options.minRate ?? DEFAULT_MIN_RATE;
  return {
    timeoutMs,
    pace: {
      idleMs: timeoutMs,
      minBytes: Math.max(0, rate.bytes),
      perMs: Duration.toMillis(rate.per),
    },
    deadlineMs: Duration.toMillis(options.deadline ?? Duration.infinity),
  };
};

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

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
  Effect.tryPromise({
    try: () => sha256Path(path),
    catch: (error) => toError(error as TransferFailure<"FileSystem">),
  });

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
   * verdict) takes longer than this, or the receiver takes no data for this
   * long. Default 30 seconds. The verdict wait includes the receiver's
   * `fsync`.
   */
  readonly timeout?: Duration.Input;
  /**
   * Fail with `TimedOut` when the receiver takes the data slower than this.
   * Default 16 KiB per 30 seconds.
   */
  readonly minRate?: MinRate;
  /** Fail with `TimedOut` when the whole transfer takes longer than this. Default: no limit. */
  readonly deadline?: Duration.Input;
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
  /** The name announced (in NFC, see {@link validateName}). */
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
  Effect.suspend(() => {
    const name = validateName(options?.name ?? basename(path));
    if (Result.isFailure(name)) return Effect.fail(name.failure);
    const settings = {
      ...limitsOf(options ?? {}),
      name: name.success,
      sha256: options?.sha256,
      onProgress: options?.onProgress,
    };
    return observed("send", run(conn, (io) => sendFile(io, path, settings)));
  });

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

/**
 * Options of {@link receive}.
 *
 * @example
 * ```ts
 * import type { FileTransfer } from "@fibernet/socket";
 * // A public server: bounded size, pace and duration.
 * const options: FileTransfer.ReceiveOptions = {
 *   dir: "./uploads",
 *   maxSize: 100 * 1024 * 1024,
 *   timeout: "20 seconds",
 *   minRate: { bytes: 256 * 1024, per: "20 seconds" },
 *   deadline: "10 minutes",
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
  /**
   * Fail with `TimedOut` when the sender sends nothing for this long (or one
   * step, such as reading the header, takes longer). Default 30 seconds.
   */
  readonly timeout?: Duration.Input;
  /**
   * Fail with `TimedOut` when the data arrives slower than this: a sender
   * that drips a byte now and then never trips `timeout`. Default 16 KiB
   * per 30 seconds.
   */
  readonly minRate?: MinRate;
  /**
   * Fail with `TimedOut` when the whole transfer, from the first read to the
   * verdict, takes longer than this. Default: no limit (`maxSize` and
   * `minRate` bound it). A public server should set one that fits its
   * largest file at the slowest rate it serves.
   */
  readonly deadline?: Duration.Input;
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
  readonly tutorialLinger?: Duration.Input;
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
  /** The file name in the directory (NFC). */
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

/**
 * Receives one file into `options.dir`, speaking this library's protocol or
 * the tutorial's (told apart by the first byte). The file appears under its
 * final name only once complete and verified; on any failure the partial
 * file is removed, the sender is told why (when the connection still works),
 * and the effect fails with the reason.
 *
 * Reads go through the connection (a server's idle sweep sees a receive
 * waiting for data), into its read buffer, which starts small and grows only
 * while data flows: an upload that stalls after the go-ahead costs what an
 * idle connection costs, with no temporary file until the first byte.
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
    const settings = {
      ...limitsOf(options),
      dir: options.dir,
      maxSize: options.maxSize ?? DEFAULT_MAX_SIZE,
      overwrite: options.overwrite ?? false,
      sync: options.sync ?? true,
      tutorial: options.tutorial !== false,
      tutorialName: options.tutorialName ?? defaultTutorialName,
      tutorialLingerMs: Duration.toMillis(options.tutorialLinger ?? DEFAULT_TUTORIAL_LINGER),
      onProgress: options.onProgress,
    };
    return observed("receive", run(conn, (io) => receiveFile(io, settings)));
  });

/** The transfer metrics with these attributes. */
const transferMetrics = (attributes: Record<string, string>) => ({
  completed: Metric.counter("socket.file_transfer.completed", {
    description: "file transfers verified and stored (or confirmed to the sender)",
    incremental: true,
    attributes: { ...attributes, unit: "{transfer}" },
  }),
  failed: Metric.counter("socket.file_transfer.failures", {
    description: "file transfers that failed",
    incremental: true,
    attributes: { ...attributes, unit: "{transfer}" },
  }),
  bytes: Metric.counter("socket.file_transfer.bytes", {
    description: "bytes of the files transferred",
    incremental: true,
    attributes: { ...attributes, unit: "By" },
  }),
});

/**
 * The metrics every transfer updates, with its `direction` (`send` or
 * `receive`) as an attribute: transfers completed, transfers failed (also
 * with the failure's `reason`), and the bytes of completed transfers (unit
 * `By`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect";
 * import { FileTransfer } from "@fibernet/socket";
 * const received = Metric.value(
 *   Metric.withAttributes(FileTransfer.metrics.completed, { direction: "receive" }),
 * );
 * ```
 */
export const metrics: {
  readonly completed: Metric.Counter<number>;
  readonly failed: Metric.Counter<number>;
  readonly bytes: Metric.Counter<number>;
} = transferMetrics({});

/** Each direction's metrics, made once; failures per reason as they happen. */
const byDirection = {
  send: {
    ...transferMetrics({ direction: "send" }),
    failures: new Map<Reason, Metric.Counter<number>>(),
  },
  receive: {
    ...transferMetrics({ direction: "receive" }),
    failures: new Map<Reason, Metric.Counter<number>>(),
  },
};

/** The failure counter of `direction` with `reason`. */
const failures = (direction: "send" | "receive", reason: Reason): Metric.Counter<number> => {
  const known = byDirection[direction].failures;
  let counter = known.get(reason);
  if (counter === undefined) {
    counter = transferMetrics({ direction, reason }).failed;
    known.set(reason, counter);
  }
  return counter;
};

/**
 * A transfer counted in {@link metrics}, and a child span
 * (`socket.file_transfer.send` / `.receive`) inside a traced parent.
 */
const observed = <A extends { readonly size: number; readonly name: string }>(
  direction: "send" | "receive",
  transfer: Effect.Effect<A, FileTransferError>,
): Effect.Effect<A, FileTransferError> => {
  const counters = byDirection[direction];
  const counted = transfer.pipe(
    Effect.tapError((error) => Metric.update(failures(direction, error.reason), 1)),
    Effect.tap((result) =>
      Effect.andThen(
        Effect.andThen(
          Metric.update(counters.completed, 1),
          Metric.update(counters.bytes, result.size),
        ),
        Effect.annotateCurrentSpan({
          "file_transfer.name": result.name,
          "file_transfer.size": result.size,
        }),
      )
    ),
  );
  return childSpan(counted, `socket.file_transfer.${direction}`, {});
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

// A connected byte stream over a Deno connection (TCP, Unix or TLS), driven
// by callbacks: the machinery under every Effect face's Connection.
//
// Reads are pulled: `pollRead` returns what is ready or registers a waiter
// and starts one raw read, so a slow consumer slows the peer (TCP flow
// control) instead of buffering. A waiter that goes away (an interrupted
// fiber) loses nothing: the result stays parked for the next poll.
//
// Writes write every byte. A small write with nothing ahead of it is copied
// and handed to the socket at once (as `send` into the kernel's buffer);
// small writes behind a handed-over one are gathered into one buffer that
// goes out next, in one raw write (a pipelining peer's replies cost one
// write, not one each); others wait their turn in a queue. While more than
// `highWater` bytes (or `maxQueuedWrites` writes) wait in that queue, reads
// pause, so a peer that floods requests without reading
// the replies is pushed back by TCP instead of growing memory. (A single
// large write does not pause reads: a peer that sends while it receives
// would deadlock.)
import { copyOwned, Slabs } from "./bytes.ts";
import { ReadBuffer } from "./read_buffer.ts";
import { type Address, format, fromDeno } from "./address.ts";

/**
 * What `pollRead` returns when nothing is ready yet: the waiter will hear.
 *
 * @example
 * ```ts
 * import { PENDING, StreamSocket } from "@fibernet/socket/core";
 * declare const socket: StreamSocket;
 * const chunk = socket.pollRead(1024, false, { onReadable: () => console.log("poll again") });
 * if (chunk === PENDING) console.log("waiting for the peer");
 * ```
 */
export const PENDING: unique symbol = Symbol("pending");
/**
 * What a write reports when every byte was written (or handed over).
 *
 * @example
 * ```ts
 * import { StreamSocket, WRITTEN } from "@fibernet/socket/core";
 * declare const socket: StreamSocket;
 * if (socket.tryWrite(new TextEncoder().encode("hi"), true) === WRITTEN) console.log("sent");
 * ```
 */
export const WRITTEN: unique symbol = Symbol("written");

/**
 * A raw error a read or write ended with, kept for the face to classify.
 *
 * @example
 * ```ts
 * import { IoFailure } from "@fibernet/socket/core";
 * const failure = new IoFailure(new Deno.errors.ConnectionReset("reset"), false);
 * console.log(failure.closed ? "closed here" : String(failure.error));
 * ```
 */
export class IoFailure {
  /** `error` as thrown by the runtime; `closed` when this side had closed the socket. */
  constructor(readonly error: unknown, readonly closed: boolean) {}
}

/**
 * A chunk, `null` at end of stream, or why the read failed.
 *
 * @example
 * ```ts
 * import { IoFailure, type ReadResult } from "@fibernet/socket/core";
 * const describe = (result: ReadResult): string =>
 *   result === null ? "end of stream" : result instanceof IoFailure ? "failed" : `${result.length} bytes`;
 * ```
 */
export type ReadResult = Uint8Array | null | IoFailure;

/**
 * Hears that a poll can now complete (poll again).
 *
 * @example
 * ```ts
 * import type { ReadWaiter } from "@fibernet/socket/core";
 * const waiter: ReadWaiter = { onReadable: () => console.log("poll again") };
 * ```
 */
export interface ReadWaiter {
  /** A poll can complete now. */
  onReadable(): void;
}

/**
 * Hears how a queued write ended.
 *
 * @example
 * ```ts
 * import { type WriteWaiter, WRITTEN } from "@fibernet/socket/core";
 * const waiter: WriteWaiter = {
 *   onWritten: (result) => console.log(result === WRITTEN ? "written" : "failed"),
 * };
 * ```
 */
export interface WriteWaiter {
  /** The write ended: WRITTEN, or the failure. */
  onWritten(result: typeof WRITTEN | IoFailure): void;
}

/**
 * A write that waits its turn; `cancelWrite` drops it if it has not started.
 *
 * @example
 * ```ts
 * import type { QueuedWrite, StreamSocket } from "@fibernet/socket/core";
 * declare const socket: StreamSocket;
 * const entry: QueuedWrite = socket.enqueue(new Uint8Array(100_000), { onWritten: () => {} });
 * socket.cancelWrite(entry); // dropped if it had not started
 * ```
 */
export interface QueuedWrite {
  /** What is to be written. */
  readonly bytes: Uint8Array;
  /** Who hears the outcome. */
  readonly waiter: WriteWaiter;
}

/**
 * Tuning of one socket; every field has a default.
 *
 * @example
 * ```ts
 * import type { StreamSocketOptions } from "@fibernet/socket/core";
 * const options: StreamSocketOptions = { highWater: 256 * 1024 };
 * ```
 */
export interface StreamSocketOptions {
  /** Queued bytes above which reads pause until half of them are sent. Default 256 KiB. */
  readonly highWater?: number;
  /**
   * Queued writes above which reads pause until half of them are done
   * (each may belong to a fiber holding memory of its own). Default 64.
   */
  readonly maxQueuedWrites?: number;
}

/**
 * Default `maxBytes` of a read.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_READ, type StreamSocket } from "@fibernet/socket/core";
 * declare const socket: StreamSocket;
 * socket.pollRead(DEFAULT_MAX_READ, true, { onReadable: () => {} });
 * ```
 */
export const DEFAULT_MAX_READ = 64 * 1024;
/** Largest write handed to the socket without waiting (copied if not owned). */
const HANDOVER_MAX = 16 * 1024;
/** Handed-over writes up to this size borrow a small slab, larger ones a large one. */
const SMALL_SLAB = 2 * 1024;
const smallSlabs = new Slabs(SMALL_SLAB, 256);
const largeSlabs = new Slabs(HANDOVER_MAX, 32);
/** How long a close waits for a handed-over write to go out before it closes anyway. */
const LINGER_MS = 30_000;
const DEFAULT_HIGH_WATER = 256 * 1024;
const DEFAULT_MAX_QUEUED_WRITES = 64;

const NOTHING: unique symbol = Symbol("nothing");
const EMPTY = new Uint8Array(0);

/**
 * A connected byte stream over `raw`. The owner must `close` it.
 *
 * @example
 * ```ts
 * import { IoFailure, PENDING, StreamSocket } from "@fibernet/socket/core";
 *
 * const socket = new StreamSocket(await Deno.connect({ hostname: "127.0.0.1", port: 7000 }));
 * socket.tryWrite(new TextEncoder().encode("ping\n"), true);
 * const reader = {
 *   onReadable() {
 *     const chunk = socket.pollRead(1024, false, reader);
 *     if (chunk === PENDING) return;
 *     if (chunk !== null && !(chunk instanceof IoFailure)) console.log(chunk.length, "bytes");
 *     socket.close();
 *   },
 * };
 * reader.onReadable();
 * ```
 */
export class StreamSocket {
  /** Bytes read so far. */
  bytesRead = 0;
  /** Bytes written so far (handed-over writes count when accepted). */
  bytesWritten = 0;
  /** When the waiting read started (ms since the epoch), or undefined. */
  readWaitingSince: number | undefined = undefined;
  /** When the write in progress last made progress (ms since the epoch), or undefined. */
  writeWaitingSince: number | undefined = undefined;
  /** Called once when the OS socket is really closed (after any linger). */
  onRawClose: (() => void) | undefined = undefined;

  private readonly buffer = new ReadBuffer();
  private readonly highWater: number;
  private readonly maxQueuedWrites: number;
  private readMax = DEFAULT_MAX_READ;
  private readBorrow = false;
  /** The caller's buffer the next raw read fills (`pollReadInto`), else the read buffer. */
  private readTarget: Uint8Array | undefined = undefined;
  /** The caller's buffer the raw read in flight (or parked) went into, if not the read buffer. */
  private rawTarget: Uint8Array | undefined = undefined;
  private readWaiter: ReadWaiter | undefined = undefined;
  /** A raw read is in flight. */
  private reading = false;
  /** A finished raw read not yet taken: a count, null (EOF) or a failure. */
  private parked: number | null | IoFailure | typeof NOTHING = NOTHING;
  /** Bytes read but not yet returned (a read asked for less, or a caller gave them back). */
  private leftover: Uint8Array | undefined = undefined;
  /** The leftover is a view of the read buffer (lent): a read that must own its chunk copies it. */
  private leftoverLent = false;
  private eof = false;
  private closed = false;
  private rawClosed = false;

  private writing = false;
  private writeBytes: Uint8Array = EMPTY;
  private writeOffset = 0;
  private writeWaiter: WriteWaiter | undefined = undefined;
  private writeHandedOver = false;
  private writeSlab: Uint8Array | undefined = undefined;
  /** Small writes handed over behind the write in progress, to go out next (a large slab). */
  private gathering: Uint8Array | undefined = undefined;
  private gathered = 0;
  private readonly queue: Array<QueuedWrite> = [];
  /** Bytes of the writes waiting in the queue. */
  private backlog = 0;
  /** Reads wait for the backlog to drain. */
  private readPaused = false;
  /** Why later writes fail (a handed-over write failed, or a read saw a reset). */
  private writeFailure: unknown = undefined;
  /** `closeWrite` has begun: later writes fail with BrokenPipe. */
  private writeShut = false;
  private drainWaiters: Array<() => void> | undefined = undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** Wraps an open Deno connection; the socket owns it from now on. */
  constructor(readonly raw: Deno.Conn, options?: StreamSocketOptions) {
    this.highWater = options?.highWater ?? DEFAULT_HIGH_WATER;
    this.maxQueuedWrites = options?.maxQueuedWrites ?? DEFAULT_MAX_QUEUED_WRITES;
  }

  private remoteCache: Address | undefined = undefined;
  private localCache: Address | undefined = undefined;
  /** The peer's address. */
  get remoteAddress(): Address {
    return this.remoteCache ??= fromDeno(this.raw.remoteAddr);
  }
  /** This side's address. */
  get localAddress(): Address {
    return this.localCache ??= fromDeno(this.raw.localAddr);
  }
  /** The peer, formatted, for messages. */
  get label(): string {
    return format(this.remoteAddress);
  }
  /** True once `close` or `abort` was called. */
  get isClosed(): boolean {
    return this.closed;
  }
  /** Bytes read from the socket but not yet returned by a read. */
  get bufferedBytes(): number {
    return (this.leftover?.length ?? 0) + (typeof this.parked === "number" ? this.parked : 0);
  }
  /** Bytes written but not yet taken by the socket. */
  get unsentBytes(): number {
    return this.backlog + this.gathered + (this.writeBytes.length - this.writeOffset);
  }

  // ---------------------------------------------------------------------------
  // Reading

  /**
   * The next chunk of at most `maxBytes` (lent from the read buffer when
   * `borrow`: valid until the next read), end of stream (`null`), a failure,
   * or PENDING, in which case `waiter` hears once a poll can complete.
   */
  pollRead(maxBytes: number, borrow: boolean, waiter: ReadWaiter): ReadResult | typeof PENDING {
    this.readMax = maxBytes;
    this.readBorrow = borrow;
    this.readTarget = undefined;
    if (this.hasResult()) return this.take();
    this.readWaiter = waiter;
    if (!this.readPaused) this.startRawRead();
    return PENDING;
  }

  /**
   * Reads straight into `target` (a large frame's own buffer): the number of
   * bytes put there, end of stream (`null`), a failure, or PENDING, in which
   * case `waiter` hears once a poll can complete. Bytes already read are
   * copied in; otherwise the raw read fills `target` itself. Poll again with
   * a view starting at the same place: a raw read that completed while nobody
   * waited is found there.
   */
  pollReadInto(
    target: Uint8Array,
    waiter: ReadWaiter,
  ): number | null | IoFailure | typeof PENDING {
    const parked = this.parked;
    const into = this.rawTarget;
    if (
      typeof parked === "number" && into !== undefined && into.buffer === target.buffer &&
      into.byteOffset === target.byteOffset
    ) {
      this.parked = NOTHING;
      this.rawTarget = undefined;
      this.readWaitingSince = undefined;
      this.bytesRead += parked;
      return parked;
    }
    this.readMax = target.length;
    this.readBorrow = true;
    this.readTarget = undefined;
    if (this.hasResult()) {
      const chunk = this.take();
      if (chunk === null || chunk instanceof IoFailure) return chunk;
      target.set(chunk);
      return chunk.length;
    }
    this.readTarget = target;
    this.readWaiter = waiter;
    if (!this.readPaused) this.startRawRead();
    return PENDING;
  }

  /** `waiter` no longer wants to hear; a raw read in flight parks its result for the next poll. */
  cancelRead(waiter: ReadWaiter): void {
    if (this.readWaiter === waiter) this.readWaiter = undefined;
  }

  /**
   * Puts bytes back in front of the stream: the next read returns them
   * first. `lent`: `bytes` is (part of) a chunk this socket lent, given back
   * unchanged before the next read; it is then not copied unless a read that
   * must own its chunk takes it.
   */
  unread(bytes: Uint8Array, lent = false): void {
    if (bytes.length === 0) return;
    const left = this.leftover;
    if (left === undefined) {
      this.leftover = bytes;
      this.leftoverLent = lent;
      return;
    }
    const joined = new Uint8Array(bytes.length + left.length);
    joined.set(bytes);
    joined.set(left, bytes.length);
    this.leftover = joined;
    this.leftoverLent = false;
  }

  /** Whether a poll can complete now (data, end of stream or a failure waiting). */
  private hasResult(): boolean {
    if (this.leftover !== undefined || this.parked !== NOTHING || this.eof) return true;
    if (!this.closed) return false;
    this.parked = new IoFailure(undefined, true);
    return true;
  }

  /** Takes the waiting result, turning a raw read's count into a chunk. */
  private take(): ReadResult {
    if (this.leftover !== undefined) return this.takeLeftover(this.readMax);
    const parked = this.parked;
    if (parked === NOTHING) return null; // hasResult: end of stream
    this.parked = NOTHING;
    if (parked instanceof IoFailure) return parked;
    this.readWaitingSince = undefined;
    if (parked === null) {
      this.eof = true;
      return null;
    }
    this.bytesRead += parked;
    const into = this.rawTarget;
    let chunk: Uint8Array;
    let lent = this.readBorrow;
    if (into === undefined) {
      chunk = this.buffer.chunk(parked, this.readBorrow);
    } else {
      // A raw read into a caller's buffer that nobody came back for: its bytes, copied.
      this.rawTarget = undefined;
      chunk = into.slice(0, parked);
      lent = false;
    }
    if (parked <= this.readMax) return chunk;
    this.leftover = chunk.subarray(this.readMax);
    this.leftoverLent = lent;
    return chunk.subarray(0, this.readMax);
  }

  /** At most `maxBytes` of the leftover bytes (copied if lent and the read must own them). */
  private takeLeftover(maxBytes: number): Uint8Array {
    const left = this.leftover!;
    let part: Uint8Array;
    if (left.length <= maxBytes) {
      this.leftover = undefined;
      part = left;
    } else {
      this.leftover = left.subarray(maxBytes);
      part = left.subarray(0, maxBytes);
    }
    return this.leftoverLent && !this.readBorrow ? copyOwned(part) : part;
  }

  /** Starts one raw read into the buffer, unless one is in flight. */
  private startRawRead(): void {
    if (this.reading) return;
    this.reading = true;
    const target = this.readTarget ?? this.buffer.forRead();
    this.rawTarget = this.readTarget;
    this.readWaitingSince = Date.now();
    let pending: Promise<number | null>;
    try {
      pending = this.raw.read(target);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.onRead, this.onRead);
  }

  /** How a raw read ends: a count or null, or an Error (one callback for both). */
  private readonly onRead = (result: number | null | unknown): void => {
    this.reading = false;
    if (typeof result === "number" || result === null) {
      if (this.closed) return;
      this.parked = result;
    } else {
      this.readWaitingSince = undefined;
      if (this.closed && this.parked instanceof IoFailure) return;
      this.parked = new IoFailure(result, this.closed);
      // A reset breaks both directions; handed-over writes could not report it.
      if (
        this.writeFailure === undefined && (result instanceof Deno.errors.ConnectionReset ||
          result instanceof Deno.errors.ConnectionAborted)
      ) {
        this.writeFailure = result;
      }
    }
    this.wakeReader();
  };

  /** Tells the waiting reader, once. */
  private wakeReader(): void {
    const waiter = this.readWaiter;
    if (waiter === undefined) return;
    this.readWaiter = undefined;
    waiter.onReadable();
  }

  // ---------------------------------------------------------------------------
  // Writing

  /**
   * Writes `bytes` at once if it can: a small write with nothing ahead of it
   * is copied (unless `owned`) and handed to the socket, and so is one behind
   * handed-over writes only (gathered, up to 16 KiB, to go out next in one
   * write); WRITTEN means the socket has it (if sending fails later, the
   * next write reports it).
   * Returns an IoFailure if writing is no longer possible, or undefined when
   * the write must wait its turn: then {@link enqueue} it.
   */
  tryWrite(bytes: Uint8Array, owned: boolean): typeof WRITTEN | IoFailure | undefined {
    const refused = this.writeRefusal();
    if (refused !== undefined) return refused;
    if (bytes.length === 0) return WRITTEN;
    if (this.writing) return this.gather(bytes);
    if (bytes.length > HANDOVER_MAX) return undefined;
    this.writing = true;
    if (owned) {
      this.writeBytes = bytes;
    } else {
      const slab = (bytes.length <= SMALL_SLAB ? smallSlabs : largeSlabs).take();
      slab.set(bytes);
      this.writeSlab = slab;
      this.writeBytes = slab.subarray(0, bytes.length);
    }
    this.writeOffset = 0;
    this.writeHandedOver = true;
    this.bytesWritten += bytes.length;
    this.continueWrite();
    return this.writeFailure === undefined ? WRITTEN : new IoFailure(this.writeFailure, false);
  }

  /**
   * Copies a small write behind the handed-over write in progress into the
   * gathering buffer; undefined if it must wait its turn (a write is queued,
   * the one in progress was not handed over, or there is no room).
   */
  private gather(bytes: Uint8Array): typeof WRITTEN | undefined {
    if (!this.writeHandedOver || this.queue.length > 0) return undefined;
    if (this.gathered + bytes.length > HANDOVER_MAX) return undefined;
    const buffer = this.gathering ??= largeSlabs.take();
    buffer.set(bytes, this.gathered);
    this.gathered += bytes.length;
    this.bytesWritten += bytes.length;
    return WRITTEN;
  }

  /**
   * Writes every byte of `bytes` after the writes already queued (`bytes`
   * must stay untouched until then); `waiter` hears the outcome.
   */
  enqueue(bytes: Uint8Array, waiter: WriteWaiter): QueuedWrite {
    const entry: QueuedWrite = { bytes, waiter };
    if (!this.writing) {
      this.writing = true;
      this.startWrite(entry);
    } else {
      this.queue.push(entry);
      this.addBacklog(bytes.length);
    }
    return entry;
  }

  /** {@link tryWrite}, else {@link enqueue}. */
  write(
    bytes: Uint8Array,
    owned: boolean,
    waiter: WriteWaiter,
  ): typeof WRITTEN | IoFailure | QueuedWrite {
    return this.tryWrite(bytes, owned) ?? this.enqueue(bytes, waiter);
  }

  /** Drops a queued write that has not started; false if it has (or is done). */
  cancelWrite(entry: QueuedWrite): boolean {
    const index = this.queue.indexOf(entry);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.subtractBacklog(entry.bytes.length);
    return true;
  }

  /** Why a write cannot start, if it cannot. */
  private writeRefusal(): IoFailure | undefined {
    if (this.writeFailure !== undefined) return new IoFailure(this.writeFailure, this.closed);
    if (this.closed) return new IoFailure(undefined, true);
    if (this.writeShut) {
      return new IoFailure(
        new Deno.errors.BrokenPipe("this side's writing was closed by closeWrite"),
        false,
      );
    }
    return undefined;
  }

  /** Makes `entry` the write in progress. */
  private startWrite(entry: QueuedWrite): void {
    const refused = this.closed || this.writeFailure !== undefined;
    if (refused) {
      // Closed (or broken) while this write waited its turn.
      const failure = new IoFailure(this.writeFailure, this.closed);
      this.writeFinished();
      return entry.waiter.onWritten(failure);
    }
    this.writeBytes = entry.bytes;
    this.writeOffset = 0;
    this.writeWaiter = entry.waiter;
    this.continueWrite();
  }

  /** Writes the rest of the current write: Deno's `write` may take only part of it. */
  private continueWrite(): void {
    const bytes = this.writeBytes;
    const offset = this.writeOffset;
    this.writeWaitingSince = Date.now();
    let pending: Promise<number>;
    try {
      pending = this.raw.write(offset === 0 ? bytes : bytes.subarray(offset));
    } catch (error) {
      this.onWriteFailed(error);
      return;
    }
    pending.then(this.onWrite, this.onWrite);
  }

  private readonly onWrite = (result: number | unknown): void => {
    if (typeof result !== "number") return this.onWriteFailed(result);
    if (!this.writeHandedOver) this.bytesWritten += result;
    this.writeOffset += result;
    if (this.writeOffset < this.writeBytes.length) return this.continueWrite();
    const waiter = this.writeWaiter;
    this.endWrite();
    waiter?.onWritten(WRITTEN);
  };

  /** The write in progress failed: a handed-over one breaks later writes. */
  private onWriteFailed(error: unknown): void {
    const waiter = this.writeWaiter;
    if (this.writeHandedOver) this.writeFailure = error;
    this.endWrite();
    waiter?.onWritten(new IoFailure(error, this.closed));
  }

  /** The write in progress is over: give its slab back and start the next. */
  private endWrite(): void {
    this.writeWaiter = undefined;
    this.writeHandedOver = false;
    this.writeBytes = EMPTY;
    // unsentBytes counts writeBytes.length - writeOffset: both go back to 0.
    this.writeOffset = 0;
    this.writeWaitingSince = undefined;
    const slab = this.writeSlab;
    if (slab !== undefined) {
      this.writeSlab = undefined;
      (slab.length === SMALL_SLAB ? smallSlabs : largeSlabs).give(slab);
    }
    this.writeFinished();
  }

  /**
   * Starts the next write: the gathered small writes (they came before
   * anything queued), else the next queued one; or wakes those waiting for
   * the queue to drain.
   */
  private writeFinished(): void {
    if (this.gathered > 0) {
      const buffer = this.gathering!;
      const n = this.gathered;
      this.gathering = undefined;
      this.gathered = 0;
      if (this.writeFailure === undefined && !this.rawClosed) {
        // Handed over like any small write: a failure is reported by the next write.
        this.writeSlab = buffer;
        this.writeBytes = buffer.subarray(0, n);
        this.writeOffset = 0;
        this.writeHandedOver = true;
        return this.continueWrite();
      }
      largeSlabs.give(buffer);
    }
    const next = this.queue.shift();
    if (next !== undefined) {
      this.subtractBacklog(next.bytes.length);
      return this.startWrite(next);
    }
    this.writing = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters !== undefined) { for (const wake of waiters) wake(); }
    // A close that waited for a handed-over write.
    if (this.closed) this.closeRaw();
  }

  /** Counts queued bytes; pauses reads past the high-water mark. */
  private addBacklog(n: number): void {
    this.backlog += n;
    if (
      !this.readPaused &&
      (this.backlog > this.highWater || this.queue.length > this.maxQueuedWrites)
    ) {
      this.readPaused = true;
    }
  }

  /** Uncounts queued bytes; resumes reads once half of the high-water mark is left. */
  private subtractBacklog(n: number): void {
    this.backlog -= n;
    if (
      this.readPaused && this.backlog <= this.highWater / 2 &&
      this.queue.length <= this.maxQueuedWrites / 2
    ) {
      this.readPaused = false;
      // A reader that waited for the backlog to drain reads now.
      if (this.readWaiter !== undefined && !this.closed) this.startRawRead();
    }
  }

  /** Resolves once every write queued so far has gone out (or failed). */
  private drained(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /**
   * Half-close: queued writes go out first, then the peer reads end of
   * stream; this side can still read. Rejects with the raw error.
   */
  async closeWrite(): Promise<void> {
    this.writeShut = true;
    await this.drained();
    if (this.closed) throw new Deno.errors.BadResource("closed");
    if (this.writeFailure !== undefined) throw this.writeFailure;
    await this.raw.closeWrite();
  }

  // ---------------------------------------------------------------------------
  // Closing

  /**
   * Closes both directions; idempotent. Queued writes fail now, a waiting
   * read ends with a closed failure, and bytes already handed to the socket
   * still go out first (for at most 30 s), as the kernel does with its send
   * buffer. Unread data is discarded.
   */
  close(): void {
    this.shut(true);
  }

  /** Closes at once, dropping a handed-over write still in flight (its peer does not read). */
  abort(): void {
    this.shut(false);
  }

  /** Closes; with `linger`, a handed-over write in flight goes out first. */
  private shut(linger: boolean): void {
    if (this.closed) {
      if (!linger) this.closeRaw();
      return;
    }
    this.closed = true;
    if (typeof this.parked === "number") this.parked = NOTHING;
    this.leftover = undefined;
    const queued = this.queue.splice(0);
    for (const entry of queued) {
      this.subtractBacklog(entry.bytes.length);
      entry.waiter.onWritten(new IoFailure(undefined, true));
    }
    if (this.readWaiter !== undefined) {
      this.parked = new IoFailure(undefined, true);
      this.wakeReader();
    }
    if (linger && this.writing && (this.writeHandedOver || this.gathered > 0)) {
      const timer = setTimeout(() => this.closeRaw(), LINGER_MS);
      Deno.unrefTimer(timer);
      this.lingerTimer = timer;
      return;
    }
    this.closeRaw();
  }

  /** Closes the Deno connection, once, and recycles the read buffer. */
  private closeRaw(): void {
    if (this.rawClosed) return;
    this.rawClosed = true;
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    if (!this.reading && typeof this.parked !== "number") this.buffer.recycle();
    this.closeConnection(() => this.onRawClose?.());
  }

  /**
   * Closes the Deno connection and calls `released` once its descriptor is
   * gone: at once here. A subclass whose connection closes in the background
   * (a TLS server's sends close_notify first) calls it later.
   */
  protected closeConnection(released: () => void): void {
    try {
      this.raw.close();
    } catch {
      // Already closed by the runtime.
    }
    released();
  }

  // ---------------------------------------------------------------------------
  // Copy loops

  /** The read buffer is still being written elsewhere: the next read gets a new one. */
  abandonBuffer(): void {
    if (!this.reading) this.buffer.abandon();
  }

  /** True for a TCP connection (socket options apply). */
  get isTcp(): boolean {
    return this.raw.remoteAddr.transport === "tcp";
  }
}

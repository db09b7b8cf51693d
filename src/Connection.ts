/**
 * A connected byte stream — TCP, Unix or TLS — as Effects: the counterpart of
 * a connected Python socket (`recv`, `sendall`, `shutdown(SHUT_WR)`,
 * `getpeername`, …).
 *
 * Reads pull from the socket only when asked (`read(maxBytes)` returns
 * `Option.none()` at end of stream), so a slow consumer slows the peer through
 * TCP flow control instead of growing memory. Writes always write every byte.
 *
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tcp.connect("127.0.0.1:9999");
 *   yield* conn.write("hello");
 *   const reply = yield* conn.read(1024);
 *   if (Option.isSome(reply)) console.log(new TextDecoder().decode(reply.value));
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import * as Sink from "effect/Sink";
import * as Stream from "effect/Stream";
import * as Address from "./Address.ts";
import { fromUnknown, type ReadReason, SocketError, type WriteReason } from "./SocketError.ts";
import { readReasons, writeReasons } from "./internal/reasons.ts";
import { copyOwned, Slabs } from "./internal/bytes.ts";
import { detachable, type Observer } from "./internal/detached.ts";

/**
 * A connected, bidirectional byte stream.
 *
 * A read and a write may run at the same time from different fibers. Writes
 * from several fibers are queued, never interleaved inside one `write`.
 * Interrupting a pending `read` keeps the connection usable: the bytes that
 * read was waiting for are returned by the next one.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect";
 * import type { Connection } from "@fibernet/socket";
 *
 * // Echo until the peer closes its side.
 * const echo = (conn: Connection.Connection) =>
 *   Effect.gen(function* () {
 *     while (true) {
 *       const chunk = yield* conn.read();
 *       if (Option.isNone(chunk)) return;
 *       yield* conn.write(chunk.value);
 *     }
 *   });
 * ```
 */
export interface Connection {
  /** This side's address (`getsockname`). */
  readonly localAddress: Address.Address;
  /** The peer's address (`getpeername`). */
  readonly remoteAddress: Address.Address;
  /**
   * The next chunk of at most `maxBytes` bytes (default 64 KiB), or
   * `Option.none()` once the peer has closed its sending side (`recv`).
   */
  read(maxBytes?: number): Effect.Effect<Option.Option<Uint8Array>, SocketError<ReadReason>>;
  /**
   * Like {@link Connection.read}, but the chunk is a view into the
   * connection's own read buffer, valid only until the next read: no
   * allocation and no copy. For loops that are done with a chunk before they
   * read again (echo, proxy, hashing); copy the chunk to keep it.
   */
  readBorrowed(
    maxBytes?: number,
  ): Effect.Effect<Option.Option<Uint8Array>, SocketError<ReadReason>>;
  /** Exactly `n` bytes; fails with `UnexpectedEof` if the stream ends first. */
  readExactly(n: number): Effect.Effect<Uint8Array, SocketError<ReadReason | "UnexpectedEof">>;
  /**
   * The next piece of UTF-8 text, never splitting a character across calls;
   * `Option.none()` at end of stream. Invalid UTF-8 fails with `InvalidData`.
   */
  readText(maxBytes?: number): Effect.Effect<Option.Option<string>, SocketError<ReadReason>>;
  /**
   * Writes every byte (`sendall`); strings are encoded as UTF-8. As with
   * `sendall`, success means the socket has taken the bytes, not that the
   * peer has read them: a small write (up to 16 KiB) with no write ahead of
   * it is copied and handed to the socket without waiting, and if sending it
   * fails, the next write or `closeWrite` reports the error. `close` lets
   * handed-over bytes go out first. The caller may reuse `data` at once.
   */
  write(data: Uint8Array | string): Effect.Effect<void, SocketError<WriteReason>>;
  /**
   * Half-close: tells the peer no more data will come (it reads end of
   * stream) while this side can still read its answer (`shutdown(SHUT_WR)`).
   */
  readonly closeWrite: Effect.Effect<void, SocketError<WriteReason>>;
  /** Closes both directions. Idempotent; a pending read ends with `Closed`. */
  readonly close: Effect.Effect<void>;
  /** The same as `close`, run at once outside Effect (for observers and finalizers). */
  unsafeClose(): void;
  /** Incoming chunks until end of stream. */
  readonly stream: Stream.Stream<Uint8Array, SocketError<ReadReason>>;
  /** Incoming UTF-8 text until end of stream, never splitting a character. */
  readonly textStream: Stream.Stream<string, SocketError<ReadReason>>;
  /** Writes every element it receives. */
  readonly sink: Sink.Sink<void, Uint8Array | string, never, SocketError<WriteReason>>;
  /** Turns Nagle's algorithm off (`true`) or on. A no-op on Unix sockets. */
  setNoDelay(noDelay?: boolean): Effect.Effect<void, SocketError<"Closed" | "Unknown">>;
  /** Turns TCP keep-alive probes on or off. A no-op on Unix sockets. */
  setKeepAlive(keepAlive?: boolean): Effect.Effect<void, SocketError<"Closed" | "Unknown">>;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /** Bytes already read from the socket but not yet returned by a read. */
  readonly bufferedBytes: number;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  /**
   * When the current read started waiting (milliseconds since the epoch), or
   * `undefined` when no read is waiting: how servers find idle peers.
   */
  readonly readWaitingSince: number | undefined;
  /** The underlying Deno connection, for what this interface does not cover. */
  readonly raw: Deno.Conn;
}

/** Smallest read buffer: what a quiet connection's pending read holds. */
const MIN_BUFFER = 256;
/** Largest read buffer, reached by doubling while reads come back full. */
const MAX_BUFFER = 64 * 1024;
/** Largest write handed to the socket without waiting (copied if not owned). */
const HANDOVER_MAX = 16 * 1024;
/** Handed-over writes up to this size borrow a small slab, larger ones a large one. */
const SMALL_SLAB = 2 * 1024;
// Shared by all connections; a slab is only out while its write is in flight.
const smallSlabs = new Slabs(SMALL_SLAB, 256);
const largeSlabs = new Slabs(HANDOVER_MAX, 32);
/** Read buffers of closed connections, for new ones. */
const readBuffers = new Slabs(MIN_BUFFER, 1024, 8 * 1024);
/** How long a close waits for a handed-over write to go out before it closes anyway. */
const LINGER_MS = 30_000;
/** Default `maxBytes` of a read. */
const DEFAULT_MAX_READ = 64 * 1024;

const encoder = new TextEncoder();

type ReadError = SocketError<ReadReason>;
type WriteError = SocketError<WriteReason>;

/**
 * Wraps an open Deno connection. The caller owns it: use {@link make} inside a
 * scope (or `Tcp.connect`, which does) so it is closed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Connection } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const raw = yield* Effect.promise(() => Deno.connect({ port: 9999 }));
 *   const conn = Connection.fromDeno(raw);
 *   yield* conn.write("hi");
 *   yield* conn.close;
 * });
 * ```
 */
export const fromDeno = (conn: Deno.Conn): Connection => new DenoConnection(conn);

/**
 * Wraps an open Deno connection and closes it when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Connection } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const raw = yield* Effect.promise(() => Deno.connect({ port: 9999 }));
 *   const conn = yield* Connection.make(raw);
 *   yield* conn.write("hi");
 * }).pipe(Effect.scoped);
 * ```
 */
export const make = (conn: Deno.Conn): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => fromDeno(conn)), (c) => c.close);

/**
 * Options for {@link forEachChunk}.
 *
 * @example
 * ```ts
 * import type { Connection } from "@fibernet/socket";
 * const options: Connection.ForEachOptions = { maxBytes: 4096, borrow: true };
 * ```
 */
export interface ForEachOptions {
  /** Largest chunk to read at once. Default 64 KiB. */
  readonly maxBytes?: number;
  /**
   * Lend each chunk from the connection's read buffer instead of giving it
   * away (see {@link Connection.readBorrowed}): faster, but `f` must not keep
   * the chunk after its Effect completes. Default false.
   */
  readonly borrow?: boolean;
}

/**
 * Calls `f` on every incoming chunk, in order, until end of stream: the
 * receive loop of an echo server or a proxy, without Stream machinery. The
 * next read starts only when `f`'s Effect completes, so a slow `f` slows the
 * peer instead of buffering. Passing the connection's own `write` as `f` is
 * an echo and runs as {@link copy}, without an Effect per chunk (and, as a
 * server's whole handler, without a fiber).
 *
 * @example
 * ```ts
 * import { Connection } from "@fibernet/socket";
 * // `read` and `write` are bound: they can be passed as plain functions.
 * // The echo is done with each chunk once written, so it may borrow.
 * const echo = (conn: Connection.Connection) =>
 *   Connection.forEachChunk(conn, conn.write, { borrow: true });
 * ```
 */
export const forEachChunk = <E, R>(
  connection: Connection,
  f: (chunk: Uint8Array) => Effect.Effect<unknown, E, R>,
  options?: ForEachOptions,
): Effect.Effect<void, E | SocketError<ReadReason>, R> => {
  if (connection instanceof DenoConnection && (f as unknown) === connection.write) {
    // An echo: the same copy loop as `copy`, without an Effect per chunk.
    const start = connection.copyStart(connection);
    return detachable(Effect.asVoid(runCopy(start)), start) as Effect.Effect<
      void,
      E | SocketError<ReadReason>
    >;
  }
  // A read Effect is a description: built once, it reads anew each time it runs.
  const read = options?.borrow
    ? connection.readBorrowed(options.maxBytes)
    : connection.read(options?.maxBytes);
  const next = () => loop;
  const loop: Effect.Effect<void, E | SocketError<ReadReason>, R> = Effect.flatMap(
    read,
    (chunk) => chunk._tag === "None" ? Effect.void : Effect.flatMap(f(chunk.value), next),
  );
  return loop;
};

/**
 * Copies everything `from` reads to `to`, in order, until `from` reaches end
 * of stream, and succeeds with the number of bytes copied: an echo
 * (`copy(conn, conn)`) or one direction of a proxy. Like Go's `io.Copy` or
 * tokio's `io::copy`. The loop runs inside one Effect rather than one per
 * chunk, reuses `from`'s read buffer, and reads again only once `to` has
 * taken the chunk, so a slow `to` slows `from`'s peer instead of buffering.
 * `to` is not half-closed at the end; do that with `to.closeWrite` if the
 * protocol wants it. Interrupting the copy loses no bytes: a read still in
 * progress completes into `from`'s next read. A `Server` handler that returns
 * this Effect as it is runs it without a fiber (see the Server module).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Connection, Tcp } from "@fibernet/socket";
 *
 * // Forward one client to an upstream server, both directions.
 * const proxy = (client: Connection.Connection) =>
 *   Effect.gen(function* () {
 *     const upstream = yield* Tcp.connect("127.0.0.1:8080");
 *     yield* Effect.all([
 *       Connection.copy(client, upstream).pipe(Effect.zipRight(upstream.closeWrite)),
 *       Connection.copy(upstream, client),
 *     ], { concurrency: 2 });
 *   }).pipe(Effect.scoped);
 * ```
 */
export const copy = (
  from: Connection,
  to: Connection,
): Effect.Effect<number, SocketError<ReadReason | WriteReason>> => {
  if (from instanceof DenoConnection && to instanceof DenoConnection) {
    const start = from.copyStart(to);
    return detachable(runCopy(start), start);
  }
  return Effect.suspend(() => {
    let copied = 0;
    return Effect.map(
      forEachChunk(from, (chunk) => {
        copied += chunk.length;
        return to.write(chunk);
      }, { borrow: true }),
      () => copied,
    );
  });
};

/** Hears that a polled connection has a read result (see `pollChunk`). */
interface ReadWaiter {
  onReadable(): void;
}

/** Hears how a `writeFor` ended: {@link WRITTEN}, or the error. */
interface WriteWaiter {
  onWritten(result: unknown): void;
}

/**
 * Drives one `copy`: read a chunk, write it, repeat, all in callbacks. It is
 * its own read and write waiter, so an idle copy holds one small object.
 */
class CopyLoop implements ReadWaiter, WriteWaiter {
  private copied = 0;
  private stopped = false;
  private writing = false;

  constructor(
    private readonly from: DenoConnection,
    private readonly to: DenoConnection,
    private readonly observer: Observer,
  ) {}

  onReadable(): void {
    if (this.stopped) return;
    const chunk = this.from.pollChunk(this);
    if (chunk === PENDING) return;
    if (chunk === null) return this.end(Exit.succeed(this.copied));
    if (chunk instanceof ParkedError) return this.end(Exit.fail(this.from.readError(chunk.error)));
    this.copied += chunk.length;
    this.writing = true;
    this.to.writeFor(chunk, this);
  }

  onWritten(result: unknown): void {
    this.writing = false;
    if (result !== WRITTEN) return this.end(Exit.fail(this.to.writeError(result)));
    this.onReadable();
  }

  private end(result: Exit.Exit<number, SocketError<ReadReason | WriteReason>>): void {
    // Stopped already: a write still in flight failing now is not the loop's outcome.
    if (this.stopped) return;
    this.stopped = true;
    this.observer.onExit(result);
  }

  /** Interrupted: stop reading; a chunk still being written keeps its buffer. */
  stop(): void {
    this.stopped = true;
    this.from.cancelPoll(this);
    if (this.writing) this.from.giveUpBuffer();
  }
}

/** A copy loop run by a fiber: the fiber waits for its end; interrupting it stops the loop. */
const runCopy = (
  start: (observer: Observer) => CopyLoop,
): Effect.Effect<number, SocketError<ReadReason | WriteReason>> =>
  Effect.async((resume) => {
    const loop = start({ onExit: resume as Observer["onExit"] });
    return Effect.sync(() => loop.stop());
  });

const NOTHING: unique symbol = Symbol("nothing");
const PENDING: unique symbol = Symbol("pending");
/** What `writeFor` reports when every byte was written. */
const WRITTEN: unique symbol = Symbol("written");
const EMPTY = new Uint8Array(0);

class ParkedError {
  constructor(readonly error: unknown) {}
}

class DenoConnection implements Connection {
  readonly raw: Deno.Conn;
  bytesRead = 0;
  bytesWritten = 0;
  readWaitingSince: number | undefined = undefined;

  /** Reused read buffer; handed over (and dropped) when a read fills most of it. */
  private buffer: Uint8Array | undefined = undefined;
  private bufferSize = MIN_BUFFER;
  /** A chunk lent from the buffer may still be in use (until the next read). */
  private lent = false;
  private smallReads = 0;
  /** The fiber waiting for the pending read, if any. */
  private readResume:
    | ((effect: Effect.Effect<Option.Option<Uint8Array>, ReadError>) => void)
    | undefined = undefined;
  private readMax = DEFAULT_MAX_READ;
  private readBorrow = false;
  /** A read is pending in the runtime. */
  private reading = false;
  /** The result of a read whose caller was interrupted: the next read returns it. */
  private parked: number | null | ParkedError | typeof NOTHING = NOTHING;
  /** Bytes read but not yet returned (from readExactly or an oversized pending read). */
  private leftover: Uint8Array | undefined = undefined;
  private eof = false;
  private closed = false;
  private writing = false;
  /** Writes waiting for the one in progress; `abort` is true when the connection closed first. */
  private writeQueue: Array<(abort: boolean) => void> | undefined = undefined;
  private decoder: TextDecoder | undefined = undefined;

  // Bound so `conn.write` and `conn.read` can be passed around as functions;
  // made on first use, since most connections need only one or two of them.
  private boundRead: Connection["read"] | undefined = undefined;
  private boundReadBorrowed: Connection["readBorrowed"] | undefined = undefined;
  private boundWrite: Connection["write"] | undefined = undefined;
  private boundReadExactly: Connection["readExactly"] | undefined = undefined;
  private boundReadText: Connection["readText"] | undefined = undefined;
  get read(): Connection["read"] {
    return this.boundRead ??= (maxBytes) => this.readChunk(maxBytes, false);
  }
  get readBorrowed(): Connection["readBorrowed"] {
    return this.boundReadBorrowed ??= (maxBytes) => this.readChunk(maxBytes, true);
  }
  get write(): Connection["write"] {
    return this.boundWrite ??= (data) => this.writeData(data);
  }
  get readExactly(): Connection["readExactly"] {
    return this.boundReadExactly ??= (n) => this.readExactBytes(n);
  }
  get readText(): Connection["readText"] {
    return this.boundReadText ??= (maxBytes) => this.readTextChunk(maxBytes);
  }

  constructor(conn: Deno.Conn) {
    this.raw = conn;
  }

  private remoteAddressCache: Address.Address | undefined = undefined;
  get remoteAddress(): Address.Address {
    return this.remoteAddressCache ??= Address.fromDeno(this.raw.remoteAddr);
  }

  private localAddressCache: Address.Address | undefined = undefined;
  get localAddress(): Address.Address {
    return this.localAddressCache ??= Address.fromDeno(this.raw.localAddr);
  }

  /** The peer, for error messages. */
  private get label(): string {
    return Address.format(this.remoteAddress);
  }

  private get isTcp(): boolean {
    return this.raw.remoteAddr.transport === "tcp";
  }

  private readChunk(
    maxBytes: number = DEFAULT_MAX_READ,
    borrow: boolean,
  ): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    if (maxBytes === DEFAULT_MAX_READ) return borrow ? this.readDefaultBorrowed : this.readDefault;
    if (!(maxBytes >= 1)) {
      return Effect.fail(
        new SocketError({
          reason: "Unknown",
          operation: "read",
          detail: `maxBytes must be at least 1, got ${maxBytes}`,
        }),
      );
    }
    return Effect.async<Option.Option<Uint8Array>, ReadError>((resume) =>
      this.registerRead(resume, maxBytes, borrow)
    );
  }

  // The read path keeps its state on the connection and reuses one Effect and
  // two callbacks, so a waiting read allocates (and an idle connection holds) little.
  private readDefaultCache: Effect.Effect<Option.Option<Uint8Array>, ReadError> | undefined;
  private readDefaultBorrowedCache: Effect.Effect<Option.Option<Uint8Array>, ReadError> | undefined;
  private get readDefault(): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    return this.readDefaultCache ??= Effect.async((resume) =>
      this.registerRead(resume, DEFAULT_MAX_READ, false)
    );
  }
  private get readDefaultBorrowed(): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    return this.readDefaultBorrowedCache ??= Effect.async((resume) =>
      this.registerRead(resume, DEFAULT_MAX_READ, true)
    );
  }
  /**
   * What a waiting reader is resumed with: it takes the result from the
   * connection only when its fiber actually runs it. A reader interrupted in
   * the meantime never runs it, so the result stays parked for the next read
   * and no canceller (and its interrupt bookkeeping) is needed per read.
   */
  private takeReadCache: Effect.Effect<Option.Option<Uint8Array>, ReadError> | undefined;
  private get takeRead(): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    return this.takeReadCache ??= Effect.suspend(() => this.takeReadResult());
  }

  private registerRead(
    resume: (effect: Effect.Effect<Option.Option<Uint8Array>, ReadError>) => void,
    maxBytes: number,
    borrow: boolean,
  ): void {
    this.readMax = maxBytes;
    this.readBorrow = borrow;
    if (this.hasReadResult()) return resume(this.takeRead);
    this.readResume = resume;
    this.startRawRead();
  }

  /** Whether a read can complete now (data, end of stream or an error waiting). */
  private hasReadResult(): boolean {
    if (this.leftover !== undefined || this.parked !== NOTHING || this.eof) return true;
    if (!this.closed) return false;
    this.parked = new ParkedError(undefined);
    return true;
  }

  private startRawRead(): void {
    if (this.reading) return;
    this.reading = true;
    if (this.buffer === undefined) {
      this.buffer = this.bufferSize === MIN_BUFFER
        ? readBuffers.take()
        : new Uint8Array(this.bufferSize);
    }
    this.lent = false; // the read refills the buffer: lent chunks are void now
    this.readWaitingSince = Date.now();
    let pending: Promise<number | null>;
    try {
      pending = this.raw.read(this.buffer);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.onRead, this.onRead);
  }

  /**
   * How a read ends, fulfilled (a count or null) or rejected (an Error): one
   * callback for both, since an idle connection holds it for as long as it waits.
   */
  private readonly onRead = (result: number | null | unknown): void => {
    if (typeof result === "number" || result === null) return this.onReadDone(result);
    this.onReadFailed(result);
  };

  private onReadDone(n: number | null): void {
    this.reading = false;
    if (this.closed) return;
    this.parked = n;
    this.wakeReader();
  }

  private onReadFailed(error: unknown): void {
    this.reading = false;
    this.readWaitingSince = undefined;
    if (this.closed && this.parked instanceof ParkedError) return;
    this.parked = new ParkedError(error);
    // A reset breaks both directions; writes handed over later could not report it.
    if (this.writeFailure === undefined && this.readError(error).reason === "ConnectionReset") {
      this.writeFailure = error;
    }
    this.wakeReader();
  }

  /** A copy loop waiting for this connection's next chunk (instead of a fiber). */
  private readWaker: ReadWaiter | undefined = undefined;

  private wakeReader(): void {
    const resume = this.readResume;
    if (resume !== undefined) {
      this.readResume = undefined;
      return resume(this.takeRead);
    }
    const waker = this.readWaker;
    if (waker !== undefined) {
      this.readWaker = undefined;
      waker.onReadable();
    }
  }

  private takeReadResult(): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    const result = this.takeChunk();
    if (result === PENDING) {
      return Effect.async<Option.Option<Uint8Array>, ReadError>((resume) =>
        this.registerRead(resume, this.readMax, this.readBorrow)
      );
    }
    if (result === null) return Effect.succeed(Option.none());
    return result instanceof ParkedError
      ? Effect.fail(this.readError(result.error))
      : Effect.succeed(Option.some(result));
  }

  /** The waiting read result: a chunk, `null` at end of stream, an error, or PENDING. */
  private takeChunk(): Uint8Array | null | ParkedError | typeof PENDING {
    if (this.leftover !== undefined) return this.takeLeftover(this.readMax);
    const parked = this.parked;
    if (parked === NOTHING) return this.eof ? null : PENDING;
    this.parked = NOTHING;
    return parked instanceof ParkedError ? parked : this.finishRead(parked);
  }

  /**
   * For a copy loop: the next chunk (lent from the read buffer) if one is
   * ready, else PENDING, and `wake` is called once one is.
   */
  pollChunk(wake: ReadWaiter): Uint8Array | null | ParkedError | typeof PENDING {
    this.readMax = DEFAULT_MAX_READ;
    this.readBorrow = true;
    if (this.hasReadResult()) return this.takeChunk();
    this.readWaker = wake;
    this.startRawRead();
    return PENDING;
  }

  /**
   * Starts copying what this connection reads to `target` (see {@link copy}).
   * The loop needs no fiber: a server may start it by itself (internal/detached.ts).
   */
  copyStart(target: DenoConnection): (observer: Observer) => CopyLoop {
    return (observer) => {
      const loop = new CopyLoop(this, target, observer);
      loop.onReadable();
      return loop;
    };
  }

  /** The read buffer is still being written elsewhere: the next read gets a new one. */
  giveUpBuffer(): void {
    if (!this.reading) this.buffer = undefined;
  }

  /** Stops waking `wake`; a read in progress keeps going and its result waits for the next read. */
  cancelPoll(wake: ReadWaiter): void {
    if (this.readWaker === wake) this.readWaker = undefined;
  }

  /** Turns the result of a finished read into a chunk, adapting the buffer size. */
  private finishRead(n: number | null): Uint8Array | null {
    this.readWaitingSince = undefined;
    if (n === null) {
      this.eof = true;
      return null;
    }
    const buffer = this.buffer!;
    this.bytesRead += n;
    let chunk: Uint8Array;
    if (this.readBorrow) {
      // Lent: valid until the next read refills the buffer.
      chunk = buffer.subarray(0, n);
      this.lent = true;
    } else if (n * 2 >= buffer.length && buffer.length > MIN_BUFFER) {
      // Mostly full: hand the buffer over instead of copying it. (Not the
      // smallest: those share a block, which a kept chunk would pin.)
      chunk = buffer.subarray(0, n);
      this.buffer = undefined;
    } else {
      chunk = copyOwned(buffer.subarray(0, n));
    }
    this.adapt(n, buffer.length);
    if (n > this.readMax) {
      this.leftover = chunk.subarray(this.readMax);
      chunk = chunk.subarray(0, this.readMax);
    }
    return chunk;
  }

  /**
   * Grows the buffer while reads fill it (bulk transfer) and shrinks it after
   * a few small reads, so an idle connection's pending read holds little memory.
   */
  private adapt(n: number, size: number): void {
    if (n === size) {
      this.smallReads = 0;
      if (size < MAX_BUFFER) this.resize(size * 2);
    } else if (n <= size / 4) {
      if (++this.smallReads >= 2 && size > MIN_BUFFER) {
        this.smallReads = 0;
        this.resize(Math.max(MIN_BUFFER, size / 4));
      }
    } else {
      this.smallReads = 0;
    }
  }

  private resize(size: number): void {
    this.bufferSize = size;
    this.buffer = undefined;
  }

  get bufferedBytes(): number {
    const parked = typeof this.parked === "number" ? this.parked : 0;
    return (this.leftover?.length ?? 0) + parked;
  }

  private takeLeftover(maxBytes: number): Uint8Array {
    const left = this.leftover!;
    if (left.length <= maxBytes) {
      this.leftover = undefined;
      return left;
    }
    this.leftover = left.subarray(maxBytes);
    return left.subarray(0, maxBytes);
  }

  readError(error: unknown): ReadError {
    if (this.closed) {
      return new SocketError({
        reason: "Closed",
        operation: "read",
        address: this.label,
        cause: error,
      });
    }
    return fromUnknown(error, "read", this.label, readReasons);
  }

  private readExactBytes(
    n: number,
  ): Effect.Effect<Uint8Array, SocketError<ReadReason | "UnexpectedEof">> {
    if (n === 0) return Effect.succeed(new Uint8Array(0));
    return Effect.suspend(() => {
      const out = new Uint8Array(n);
      let filled = 0;
      const loop: Effect.Effect<Uint8Array, SocketError<ReadReason | "UnexpectedEof">> = Effect
        .flatMap(
          // Suspended: the amount still missing changes on every round.
          Effect.suspend(() => this.read(n - filled)),
          (chunk) => {
            if (Option.isNone(chunk)) {
              // Give back what was read so nothing is lost for a caller that recovers.
              if (filled > 0) this.leftover = out.subarray(0, filled);
              this.eof = true;
              return Effect.fail(
                new SocketError({
                  reason: "UnexpectedEof",
                  operation: "read",
                  address: this.label,
                  detail: `stream ended after ${filled} of ${n} bytes`,
                }),
              );
            }
            out.set(chunk.value, filled);
            filled += chunk.value.length;
            return filled === n ? Effect.succeed(out) : loop;
          },
        );
      return loop;
    });
  }

  private readTextChunk(maxBytes?: number): Effect.Effect<Option.Option<string>, ReadError> {
    const decoder = this.decoder ??= new TextDecoder("utf-8", { fatal: true });
    const loop: Effect.Effect<Option.Option<string>, ReadError> = Effect.flatMap(
      this.read(maxBytes),
      (chunk) => {
        try {
          if (Option.isNone(chunk)) {
            const rest = decoder.decode();
            return Effect.succeed(rest === "" ? Option.none() : Option.some(rest));
          }
          const text = decoder.decode(chunk.value, { stream: true });
          return text === "" ? loop : Effect.succeed(Option.some(text));
        } catch (cause) {
          this.decoder = undefined;
          return Effect.fail(
            new SocketError({
              reason: "InvalidData",
              operation: "read",
              address: this.label,
              detail: "the peer sent invalid UTF-8",
              cause,
            }),
          );
        }
      },
    );
    return loop;
  }

  private writeData(data: Uint8Array | string): Effect.Effect<void, WriteError> {
    if (typeof data === "string") {
      const bytes = encoder.encode(data);
      return bytes.length === 0 ? Effect.void : Effect.suspend(() => this.beginWrite(bytes, true));
    }
    return data.length === 0 ? Effect.void : Effect.suspend(() => this.beginWrite(data, false));
  }

  /**
   * A small write with nothing ahead of it is handed to the socket and
   * completes at once, as `send` does into the kernel's buffer: its bytes are
   * copied (unless this connection owns them), and a failure is reported by
   * the next write or `closeWrite`. The fiber is not suspended, which saves
   * most of the cost of a request/response round trip. Larger writes, and
   * writes behind another, wait until the socket has taken every byte.
   */
  private beginWrite(bytes: Uint8Array, owned: boolean): Effect.Effect<void, WriteError> {
    if (this.writeFailure !== undefined) return Effect.fail(this.writeError(this.writeFailure));
    if (this.writeShut && !this.closed) {
      return Effect.fail(
        new SocketError({
          reason: "BrokenPipe",
          operation: "write",
          address: this.label,
          detail: "this side's writing was closed by closeWrite",
        }),
      );
    }
    if (!this.writing && !this.closed && bytes.length <= HANDOVER_MAX) {
      this.writing = true;
      if (owned) {
        this.writeBytes = bytes;
      } else {
        // Copied into a lent slab: the caller may reuse `bytes` as soon as this returns.
        const slab = (bytes.length <= SMALL_SLAB ? smallSlabs : largeSlabs).take();
        slab.set(bytes);
        this.writeSlab = slab;
        this.writeBytes = slab.subarray(0, bytes.length);
      }
      this.writeOffset = 0;
      this.writeHandedOver = true;
      this.bytesWritten += bytes.length;
      this.continueWrite();
      return this.writeFailure === undefined
        ? Effect.void
        : Effect.fail(this.writeError(this.writeFailure));
    }
    return Effect.async<void, WriteError>((resume) => {
      const queued = this.writeFor(bytes, {
        onWritten: (result) =>
          resume(result === WRITTEN ? Effect.void : Effect.fail(this.writeError(result))),
      });
      if (queued === undefined) return;
      // A queued write that is interrupted before it starts is dropped, so
      // nothing half-written follows.
      return Effect.sync(() => {
        const queue = this.writeQueue;
        const index = queue === undefined ? -1 : queue.indexOf(queued);
        if (index >= 0) queue!.splice(index, 1);
      });
    });
  }

  // The write in progress keeps its state here and completes through one
  // callback bound once (`onWrite`); only a fiber that waits for its write
  // adds a waiter of its own.
  private writeBytes: Uint8Array = EMPTY;
  private writeOffset = 0;
  /** Who hears how the current write ended: a fiber, a copy loop, or no one (handed over). */
  private writeWaiter: WriteWaiter | undefined = undefined;
  private writeHandedOver = false;
  /** The slab a handed-over write was copied into, given back once written. */
  private writeSlab: Uint8Array | undefined = undefined;
  /**
   * Why the connection can no longer be written to (a handed-over write
   * failed, or a read saw a reset): every later write fails with it.
   */
  private writeFailure: unknown = undefined;
  /** `closeWrite` has begun: later writes fail with BrokenPipe. */
  private writeShut = false;

  /** Writes the rest of the current write: Deno's `write` may take only part of it. */
  private continueWrite(): void {
    const bytes = this.writeBytes;
    const offset = this.writeOffset;
    let pending: Promise<number>;
    try {
      pending = this.raw.write(offset === 0 ? bytes : bytes.subarray(offset));
    } catch (error) {
      this.onWriteFailed(error);
      return;
    }
    pending.then(this.onWrite, this.onWrite);
  }

  /** How a write ends: fulfilled with a count, or rejected with an Error (see `onRead`). */
  private readonly onWrite = (result: number | unknown): void => {
    if (typeof result === "number") return this.onWriteDone(result);
    this.onWriteFailed(result);
  };

  /**
   * Writes every byte of `bytes` after the writes already queued, then tells
   * `done` {@link WRITTEN} or the error. Returns the queue entry if the write
   * had to wait its turn (so a fiber interrupted meanwhile can drop it).
   */
  writeFor(bytes: Uint8Array, done: WriteWaiter): ((abort: boolean) => void) | undefined {
    if (!this.writing) {
      this.writing = true;
      this.startWrite(bytes, done);
      return undefined;
    }
    const queued = (abort: boolean) =>
      abort ? done.onWritten(undefined) : this.startWrite(bytes, done);
    (this.writeQueue ??= []).push(queued);
    return queued;
  }

  private startWrite(bytes: Uint8Array, done: WriteWaiter): void {
    if (this.closed || this.writeFailure !== undefined) {
      // Closed (or broken) while this write waited in the queue.
      const failure = this.writeFailure;
      this.writeFinished();
      return done.onWritten(failure);
    }
    this.writeBytes = bytes;
    this.writeOffset = 0;
    this.writeWaiter = done;
    this.continueWrite();
  }

  private onWriteDone(n: number): void {
    // A handed-over write was counted when it was accepted.
    if (!this.writeHandedOver) this.bytesWritten += n;
    this.writeOffset += n;
    if (this.writeOffset < this.writeBytes.length) return this.continueWrite();
    const waiter = this.writeWaiter;
    this.endWrite();
    waiter?.onWritten(WRITTEN);
  }

  private onWriteFailed(error: unknown): void {
    const waiter = this.writeWaiter;
    if (this.writeHandedOver) this.writeFailure = error;
    this.endWrite();
    waiter?.onWritten(error);
  }

  private endWrite(): void {
    this.writeWaiter = undefined;
    this.writeHandedOver = false;
    this.writeBytes = EMPTY;
    if (this.writeSlab !== undefined) this.giveSlab(this.writeSlab);
    this.writeFinished();
  }

  private giveSlab(slab: Uint8Array): void {
    this.writeSlab = undefined;
    (slab.length === SMALL_SLAB ? smallSlabs : largeSlabs).give(slab);
  }

  private writeFinished(): void {
    const next = this.writeQueue?.shift();
    if (next !== undefined) return next(false);
    this.writing = false;
    // A close that waited for a handed-over write.
    if (this.closed) this.closeRaw();
  }

  /** Resolves once every write queued so far has finished. */
  private writesDone(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      (this.writeQueue ??= []).push((abort) => {
        if (!abort) this.writeFinished();
        resolve();
      });
    });
  }

  writeError(error: unknown, operation: "write" | "closeWrite" = "write"): WriteError {
    if (this.closed) {
      return new SocketError({ reason: "Closed", operation, address: this.label, cause: error });
    }
    return fromUnknown(error, operation, this.label, writeReasons);
  }

  get closeWrite(): Effect.Effect<void, WriteError> {
    return Effect.tryPromise({
      try: async () => {
        this.writeShut = true;
        // Queued writes go out before the FIN.
        await this.writesDone();
        if (this.closed) throw new Deno.errors.BadResource("closed");
        if (this.writeFailure !== undefined) throw this.writeFailure;
        await this.raw.closeWrite();
      },
      catch: (error) => this.writeError(error, "closeWrite"),
    });
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => this.unsafeClose());
  }

  /**
   * Closes the socket; safe to call more than once. Bytes already handed to
   * the socket still go out first (for at most {@link LINGER_MS}), as the
   * kernel does with its send buffer; a waiting read ends with `Closed` at once.
   */
  unsafeClose(): void {
    if (this.closed) return;
    this.closed = true;
    // Unread data goes with the connection: later reads fail with Closed.
    if (typeof this.parked === "number") this.parked = NOTHING;
    this.leftover = undefined;
    // Writes still waiting their turn will not go out: they fail with Closed now.
    const queued = this.writeQueue;
    this.writeQueue = undefined;
    if (queued !== undefined) { for (const abort of queued) abort(true); }
    if (this.writing && this.writeHandedOver) {
      const timer = setTimeout(() => this.closeRaw(), LINGER_MS);
      Deno.unrefTimer(timer);
      this.lingerTimer = timer;
      if (this.reading) {
        this.parked = new ParkedError(undefined);
        this.wakeReader();
      }
      return;
    }
    this.closeRaw();
  }

  private lingerTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private rawClosed = false;

  private closeRaw(): void {
    if (this.rawClosed) return;
    this.rawClosed = true;
    // A small read buffer nobody can still see goes to the next connection:
    // allocating one costs more than a short connection's whole echo.
    const buffer = this.buffer;
    if (
      buffer !== undefined && !this.reading && !this.lent && typeof this.parked !== "number" &&
      buffer.length === MIN_BUFFER
    ) {
      this.buffer = undefined;
      readBuffers.give(buffer);
    }
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    try {
      this.raw.close();
    } catch {
      // Already closed by the runtime (e.g. a TLS handshake failure).
    }
  }

  get stream(): Stream.Stream<Uint8Array, ReadError> {
    return Stream.repeatEffectOption(
      Effect.flatMap(
        Effect.mapError(this.read(), Option.some),
        (chunk) => Option.isSome(chunk) ? Effect.succeed(chunk.value) : Effect.fail(Option.none()),
      ),
    );
  }

  get textStream(): Stream.Stream<string, ReadError> {
    return Stream.repeatEffectOption(
      Effect.flatMap(
        Effect.mapError(this.readText(), Option.some),
        (text) => Option.isSome(text) ? Effect.succeed(text.value) : Effect.fail(Option.none()),
      ),
    );
  }

  get sink(): Sink.Sink<void, Uint8Array | string, never, WriteError> {
    return Sink.forEach((chunk: Uint8Array | string) => this.write(chunk));
  }

  setNoDelay(noDelay = true): Effect.Effect<void, SocketError<"Closed" | "Unknown">> {
    return this.setOption((conn) => conn.setNoDelay(noDelay));
  }

  setKeepAlive(keepAlive = true): Effect.Effect<void, SocketError<"Closed" | "Unknown">> {
    return this.setOption((conn) => conn.setKeepAlive(keepAlive));
  }

  private setOption(
    apply: (conn: Deno.TcpConn) => void,
  ): Effect.Effect<void, SocketError<"Closed" | "Unknown">> {
    return Effect.suspend(() => {
      const conn = this.raw as Partial<Deno.TcpConn>;
      if (!this.isTcp || typeof conn.setNoDelay !== "function") return Effect.void;
      try {
        apply(this.raw as Deno.TcpConn);
        return Effect.void;
      } catch (error) {
        return Effect.fail(
          fromUnknown(
            error,
            "setOption",
            this.label,
            new Set<"Closed" | "Unknown">(["Closed", "Unknown"]),
          ),
        );
      }
    });
  }
}

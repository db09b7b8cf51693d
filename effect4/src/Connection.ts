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
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import * as Sink from "effect/Sink";
import * as Stream from "effect/Stream";
import type * as Address from "./Address.ts";
import {
  type OptionReason,
  type ReadReason,
  SocketError,
  type WriteReason,
} from "./SocketError.ts";
import { CopyFailure, CopyLoop } from "./core/copy_loop.ts";
import { classify } from "./core/classify.ts";
import { OPTION_REASONS } from "./core/reasons.ts";
import { readFailure, writeFailure } from "./internal/failures.ts";
import {
  DEFAULT_MAX_READ,
  IoFailure,
  PENDING,
  type ReadResult,
  type ReadWaiter,
  StreamSocket,
  type WriteWaiter,
  WRITTEN,
} from "./core/stream_socket.ts";

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
   * it is copied and handed to the socket without waiting, and so are small
   * writes behind it (up to 16 KiB more, gathered to go out next in one
   * write) while no write waits its turn; if sending fails, the next write or
   * `closeWrite` reports the error. `close` lets
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
  setNoDelay(noDelay?: boolean): Effect.Effect<void, SocketError<OptionReason>>;
  /** Turns TCP keep-alive probes on or off. A no-op on Unix sockets. */
  setKeepAlive(keepAlive?: boolean): Effect.Effect<void, SocketError<OptionReason>>;
  /**
   * Bytes written but not yet taken by the socket. While more than 256 KiB
   * (or more than 64 writes) wait in the write queue, reads pause, so the
   * peer is pushed back by TCP instead of making the program buffer.
   */
  readonly unsentBytes: number;
  /**
   * When the write in progress last made progress (milliseconds since the
   * epoch), or `undefined` when no write is in progress: how servers find
   * peers that stopped reading.
   */
  readonly writeWaitingSince: number | undefined;
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
  /**
   * The callback-level socket under this connection (see the `core`
   * module), when it is one of this library's: `copy` between two such
   * connections runs without an Effect per chunk, and `Server` drives it
   * directly. Absent for connections implemented elsewhere.
   */
  readonly socket?: StreamSocket | undefined;
  /**
   * What must complete before data flows, when there is something: a TLS
   * connection's handshake (reads and writes wait for it anyway). A server
   * with `tracing` runs it first, in a child span.
   */
  readonly handshake?: Effect.Effect<unknown, SocketError> | undefined;
}

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
export const fromDeno = (conn: Deno.Conn): Connection =>
  new SocketConnection(new StreamSocket(conn));

/**
 * A Connection over a callback-level socket (see the `core` module): how
 * listeners and servers turn what they accept into connections.
 *
 * @example
 * ```ts
 * import { Connection } from "@fibernet/socket";
 * import { StreamSocket } from "@fibernet/socket/core";
 *
 * const wrap = (raw: Deno.Conn) => Connection.fromSocket(new StreamSocket(raw));
 * ```
 */
export const fromSocket = (socket: StreamSocket): Connection => new SocketConnection(socket);

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
 * peer instead of buffering. (To relay bytes unchanged, {@link copy} does it
 * without an Effect per chunk.)
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
 * tokio's `io::copy`. Between two of this library's connections the loop
 * runs by callbacks inside one Effect rather than one per chunk, and reads
 * again only once `to` has taken the chunk, so a slow `to` slows `from`'s
 * peer instead of buffering. `to` is not half-closed at the end; do that with
 * `to.closeWrite` if the protocol wants it. Interrupting the copy loses no
 * bytes: a read still in progress completes into `from`'s next read.
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
 *       Connection.copy(client, upstream).pipe(Effect.andThen(upstream.closeWrite)),
 *       Connection.copy(upstream, client),
 *     ], { concurrency: 2 });
 *   }).pipe(Effect.scoped);
 * ```
 */
export const copy = (
  from: Connection,
  to: Connection,
): Effect.Effect<number, SocketError<ReadReason | WriteReason>> => {
  const source = from.socket;
  const target = to.socket;
  if (source !== undefined && target !== undefined) {
    return Effect.callback((resume) => {
      const loop = new CopyLoop(source, target, {
        onCopyEnd: (result) =>
          resume(
            result instanceof CopyFailure
              ? Effect.fail(
                result.side === "read"
                  ? readFailure(result.failure, source.label)
                  : writeFailure(result.failure, "write", target.label),
              )
              : Effect.succeed(result),
          ),
      }).start();
      return Effect.sync(() => loop.stop());
    });
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

const optionReasons: ReadonlySet<OptionReason> = new Set(OPTION_REASONS);

/** A stream pulling `next` until it gives `Option.none()` (Effect 4 streams are pull-based). */
const untilNone = <A, E>(next: Effect.Effect<Option.Option<A>, E>): Stream.Stream<A, E> =>
  Stream.fromPull(
    Effect.succeed(
      Effect.flatMap(
        next,
        (value): Effect.Effect<readonly [A], E | Cause.Done> =>
          value._tag === "None" ? Cause.done() : Effect.succeed([value.value]),
      ),
    ),
  );

const NONE: Effect.Effect<Option.Option<Uint8Array>> = Effect.succeed(Option.none());

/** A fiber waiting for its queued write: resumed once the write ends. */
class FiberWrite implements WriteWaiter {
  resume: ((effect: Effect.Effect<void, WriteError>) => void) | undefined = undefined;
  /** The outcome, when it came before the fiber started waiting. */
  early: Effect.Effect<void, WriteError> | undefined = undefined;

  constructor(private readonly connection: SocketConnection) {}

  onWritten(result: typeof WRITTEN | IoFailure): void {
    const effect = result === WRITTEN ? Effect.void : this.connection.writeError(result);
    const resume = this.resume;
    if (resume === undefined) this.early = effect;
    else resume(effect);
  }
}

/**
 * A Connection over a StreamSocket. Each operation turns one socket call
 * into an Effect; a read that must wait registers the connection itself as
 * the socket's waiter, so a waiting read allocates (and an idle connection
 * holds) little.
 */
class SocketConnection implements Connection, ReadWaiter {
  private readMax = DEFAULT_MAX_READ;
  private readBorrow = false;
  /** The fiber waiting for a read, if any. */
  private resumeRead:
    | ((effect: Effect.Effect<Option.Option<Uint8Array>, ReadError>) => void)
    | undefined = undefined;
  private decoder: TextDecoder | undefined = undefined;

  constructor(readonly socket: StreamSocket) {}

  get raw(): Deno.Conn {
    return this.socket.raw;
  }
  get localAddress(): Address.Address {
    return this.socket.localAddress;
  }
  get remoteAddress(): Address.Address {
    return this.socket.remoteAddress;
  }
  get bytesRead(): number {
    return this.socket.bytesRead;
  }
  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }
  get bufferedBytes(): number {
    return this.socket.bufferedBytes;
  }
  get unsentBytes(): number {
    return this.socket.unsentBytes;
  }
  get readWaitingSince(): number | undefined {
    return this.socket.readWaitingSince;
  }
  get writeWaitingSince(): number | undefined {
    return this.socket.writeWaitingSince;
  }

  // --- reading ---------------------------------------------------------------

  /** The fiber is resumed with `retry`, which polls again when (and if) it runs. */
  onReadable(): void {
    const resume = this.resumeRead;
    if (resume === undefined) return;
    this.resumeRead = undefined;
    resume(this.retry);
  }

  /**
   * Run by the resumed fiber. An interrupted fiber never runs it, so the
   * result stays in the socket for the next read: no canceller is needed.
   */
  private readonly retry: Effect.Effect<Option.Option<Uint8Array>, ReadError> = Effect.suspend(
    () => this.poll(),
  );
  // One parameter and no canceller: Effect.callback then makes no
  // AbortController and pushes no finalizer, and an interrupted fiber
  // ignores a late wake-up.
  private readonly wait: Effect.Effect<Option.Option<Uint8Array>, ReadError> = Effect.callback(
    (resume) => {
      this.resumeRead = resume;
    },
  );

  private poll(): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    const result = this.socket.pollRead(this.readMax, this.readBorrow, this);
    return result === PENDING ? this.wait : this.readResult(result);
  }

  private readResult(result: ReadResult): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    if (result === null) return NONE;
    if (result instanceof IoFailure) return Effect.fail(this.readError(result));
    return Effect.succeed(Option.some(result));
  }

  /** The SocketError for a failed read (TLS explains alerts here). */
  readError(failure: IoFailure): ReadError {
    return readFailure(failure, this.socket.label);
  }

  /** The SocketError for a failed write. */
  writeError(
    failure: IoFailure,
    operation: "write" | "closeWrite" = "write",
  ): Effect.Effect<never, WriteError> {
    return Effect.fail(writeFailure(failure, operation, this.socket.label));
  }

  private readDefault: Effect.Effect<Option.Option<Uint8Array>, ReadError> | undefined;
  private readDefaultBorrowed: Effect.Effect<Option.Option<Uint8Array>, ReadError> | undefined;

  private readWith(
    maxBytes: number,
    borrow: boolean,
  ): Effect.Effect<Option.Option<Uint8Array>, ReadError> {
    if (!(maxBytes >= 1)) {
      return Effect.fail(
        new SocketError({
          reason: "Unknown",
          operation: "read",
          detail: `maxBytes must be at least 1, got ${maxBytes}`,
        }),
      );
    }
    return Effect.suspend(() => {
      this.readMax = maxBytes;
      this.readBorrow = borrow;
      return this.poll();
    });
  }

  // Bound, so `conn.read` and `conn.write` can be passed around as functions.
  readonly read: Connection["read"] = (maxBytes) =>
    maxBytes === undefined || maxBytes === DEFAULT_MAX_READ
      ? this.readDefault ??= this.readWith(DEFAULT_MAX_READ, false)
      : this.readWith(maxBytes, false);

  readonly readBorrowed: Connection["readBorrowed"] = (maxBytes) =>
    maxBytes === undefined || maxBytes === DEFAULT_MAX_READ
      ? this.readDefaultBorrowed ??= this.readWith(DEFAULT_MAX_READ, true)
      : this.readWith(maxBytes, true);

  readonly readExactly: Connection["readExactly"] = (n) => {
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
              this.socket.unread(out.subarray(0, filled));
              return Effect.fail(
                new SocketError({
                  reason: "UnexpectedEof",
                  operation: "read",
                  address: this.socket.label,
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
  };

  readonly readText: Connection["readText"] = (maxBytes) => {
    const loop: Effect.Effect<Option.Option<string>, ReadError> = Effect.flatMap(
      this.read(maxBytes),
      (chunk) => {
        const decoder = this.decoder ??= new TextDecoder("utf-8", { fatal: true });
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
              address: this.socket.label,
              detail: "the peer sent invalid UTF-8",
              cause,
            }),
          );
        }
      },
    );
    return loop;
  };

  // --- writing ---------------------------------------------------------------

  readonly write: Connection["write"] = (data) =>
    Effect.suspend(() => {
      const owned = typeof data === "string";
      const bytes = owned ? encoder.encode(data) : data;
      const done = this.socket.tryWrite(bytes, owned);
      if (done === WRITTEN) return Effect.void;
      if (done instanceof IoFailure) return this.writeError(done);
      return Effect.callback<void, WriteError>((resume) => {
        const waiter = new FiberWrite(this);
        const entry = this.socket.enqueue(bytes, waiter);
        if (waiter.early !== undefined) return resume(waiter.early);
        waiter.resume = resume;
        // A queued write interrupted before it starts is dropped, so nothing half-written follows.
        return Effect.sync(() => void this.socket.cancelWrite(entry));
      });
    });

  get closeWrite(): Effect.Effect<void, WriteError> {
    return Effect.callback<void, WriteError>((resume) => {
      this.socket.closeWrite().then(
        () => resume(Effect.void),
        (error) =>
          resume(
            this.writeError(
              new IoFailure(error, error instanceof Deno.errors.BadResource),
              "closeWrite",
            ),
          ),
      );
    });
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => this.socket.close());
  }

  /**
   * Closes the socket; safe to call more than once. Bytes already handed to
   * the socket still go out first (for at most 30 s), as the kernel does with
   * its send buffer; a waiting read ends with `Closed` at once.
   */
  unsafeClose(): void {
    this.socket.close();
  }

  // --- streams and options ---------------------------------------------------

  get stream(): Stream.Stream<Uint8Array, ReadError> {
    return untilNone(this.read());
  }

  get textStream(): Stream.Stream<string, ReadError> {
    return untilNone(this.readText());
  }

  get sink(): Sink.Sink<void, Uint8Array | string, never, WriteError> {
    return Sink.forEach((chunk: Uint8Array | string) => this.write(chunk));
  }

  setNoDelay(noDelay = true): Effect.Effect<void, SocketError<OptionReason>> {
    return this.setOption((conn) => conn.setNoDelay(noDelay));
  }

  setKeepAlive(keepAlive = true): Effect.Effect<void, SocketError<OptionReason>> {
    return this.setOption((conn) => conn.setKeepAlive(keepAlive));
  }

  private setOption(
    apply: (conn: Deno.TcpConn) => void,
  ): Effect.Effect<void, SocketError<OptionReason>> {
    return Effect.suspend(() => {
      const conn = this.raw as Partial<Deno.TcpConn>;
      if (!this.socket.isTcp || typeof conn.setNoDelay !== "function") return Effect.void;
      try {
        apply(this.raw as Deno.TcpConn);
        return Effect.void;
      } catch (error) {
        return Effect.fail(
          new SocketError(classify(error, "setOption", this.socket.label, optionReasons)),
        );
      }
    });
  }
}

// The Effect face of frame decoding: a core FrameDecoder driven either
// straight from a connection's socket (SocketFrameReader, polled like
// Connection's reads) or from any source's `read`. Effect 4 streams are
// pull-based: a stream of frames is a pull that polls the decoder and waits
// (one suspension) only when no frame is ready.
import * as Cause from "effect/Cause";
import type * as Arr from "effect/Array";
import * as Effect from "effect/Effect";
import * as Option from "effect/Option";
import type * as Pull from "effect/Pull";
import * as Stream from "effect/Stream";
import { type ReadReason, SocketError } from "../SocketError.ts";
import type { FrameDecoder } from "../core/framing/codec.ts";
import { FrameError } from "../core/framing/frame_error.ts";
import { spanEvent } from "./tracing.ts";
import { SocketFrameReader } from "../core/framing/socket_frame_reader.ts";
import {
  DEFAULT_MAX_READ,
  type IoFailure,
  PENDING,
  type ReadWaiter,
  StreamSocket,
} from "../core/stream_socket.ts";
import { readFailure } from "./failures.ts";

/** What decoding adds to a source's errors. */
export type DecodeError = SocketError<"InvalidData" | "UnexpectedEof">;

/** A source of bytes (Framing.ByteSource). */
export interface Source<E> {
  read(maxBytes?: number): Effect.Effect<Option.Option<Uint8Array>, E>;
}

/** A frame reader (Framing.FrameReader). */
export interface Frames<E> {
  readonly read: Effect.Effect<Option.Option<Uint8Array>, E | DecodeError>;
  readonly stream: Stream.Stream<Uint8Array, E | DecodeError>;
  readonly rest: Source<E>;
}

/**
 * Fails with the SocketError for a frame the codec refuses, noting it as a
 * `socket.framing.error` event on the current span (if traced).
 */
export const failFrame = <R extends "InvalidData" | "UnexpectedEof">(
  error: FrameError,
): Effect.Effect<never, SocketError<R>> => {
  const failure = frameFailure<R>(error);
  return Effect.andThen(
    spanEvent("socket.framing.error", {
      "error.type": failure.reason,
      "socket.framing.detail": failure.detail ?? "",
    }),
    Effect.fail(failure),
  );
};

/** The SocketError for a core FrameError (the same fields). */
export const frameFailure = <R extends "InvalidData" | "UnexpectedEof">(
  error: FrameError,
): SocketError<R> =>
  new SocketError<R>({
    reason: error.reason as R,
    operation: error.operation,
    detail: error.detail,
  });

/** The socket under `x` when it is one of this library's connections. */
export const socketOf = (x: unknown): StreamSocket | undefined => {
  const socket = (x as { readonly socket?: unknown }).socket;
  return socket instanceof StreamSocket ? socket : undefined;
};

/** Bytes asked of a source per read. */
const READ_SIZE = 64 * 1024;

const NONE: Effect.Effect<Option.Option<never>> = Effect.succeed(Option.none());

type ReadError = SocketError<ReadReason>;

/** A stream's pull: the next non-empty array of frames, or `Cause.Done` at the end. */
type FramePull<E> = Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, E>;

/** A stream of the arrays `pull` gives (a fresh pull per run). */
const pulled = <E>(pull: () => FramePull<E>): Stream.Stream<Uint8Array, E> =>
  Stream.fromPull(Effect.sync(pull));

/**
 * A frame reader over a socket. It is its own read waiter, so waiting costs
 * no allocation; interrupting a read loses nothing (the decoder keeps its
 * state, and a raw read's result waits in the socket).
 */
class SocketFrames implements ReadWaiter, Frames<ReadError> {
  private readonly core: SocketFrameReader;
  private readonly one: Array<Uint8Array> = [];
  private resume: ((effect: Effect.Effect<never, never>) => void) | undefined = undefined;
  /** What the waiting fiber runs when woken: the poll it was waiting to redo. */
  private again: Effect.Effect<never, never> | undefined = undefined;

  constructor(
    private readonly socket: StreamSocket,
    decoder: FrameDecoder,
    private readonly source: Source<ReadError>,
  ) {
    this.core = new SocketFrameReader(socket, decoder);
  }

  onReadable(): void {
    const resume = this.resume;
    if (resume === undefined) return;
    this.resume = undefined;
    resume(this.again!);
  }

  // One parameter and no canceller: an interrupted fiber ignores a late wake-up.
  private wait<A, E>(again: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.callback<A, E>((resume) => {
      this.resume = resume as (effect: Effect.Effect<never, never>) => void;
      this.again = again as Effect.Effect<never, never>;
    });
  }

  private failure(result: FrameError | IoFailure): ReadError | DecodeError {
    return result instanceof FrameError
      ? frameFailure(result)
      : readFailure(result, this.socket.label);
  }

  readonly read: Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> = Effect
    .suspend(() => {
      const out = this.one;
      const result = this.core.poll(out, 1, this);
      if (typeof result === "number") {
        const frame = out[0];
        out.length = 0;
        return Effect.succeed(Option.some(frame));
      }
      if (result === PENDING) return this.waitRead;
      if (result === null) return NONE;
      return result instanceof FrameError ? failFrame(result) : Effect.fail(this.failure(result));
    });
  private readonly waitRead = this.wait(this.read);

  /**
   * Each array holds every frame already read (a read happens only when
   * none is), pulled by polling the socket directly: no suspension unless it
   * must wait, and then one.
   */
  get stream(): Stream.Stream<Uint8Array, ReadError | DecodeError> {
    return pulled(() => this.pull);
  }

  private readonly pull: FramePull<ReadError | DecodeError> = Effect.suspend(() => {
    const out: Array<Uint8Array> = [];
    const result = this.core.poll(out, Infinity, this);
    if (typeof result === "number") {
      return Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>);
    }
    if (result === PENDING) return this.waitPull;
    if (result === null) return Cause.done();
    return Effect.fail(this.failure(result));
  });
  private readonly waitPull = this.wait(this.pull);

  get rest(): Source<ReadError> {
    // The bytes after the last frame are in the socket already; a frame begun goes back too.
    this.socket.unread(this.core.decoder.takePending());
    return this.source;
  }
}

/** A frame reader over any source: reads 64 KiB at a time and decodes from what it holds. */
class SourceFrames<E> implements Frames<E> {
  constructor(private readonly decoder: FrameDecoder, private readonly source: Source<E>) {}

  readonly read: Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> = Effect.suspend(() =>
    this.next()
  );

  private next(): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> {
    const frame = this.decoder.next();
    if (frame instanceof Uint8Array) return Effect.succeed(Option.some(frame));
    if (frame !== undefined) return failFrame(frame);
    return Effect.flatMap(this.source.read(READ_SIZE), this.onChunk);
  }

  private readonly onChunk = (
    chunk: Option.Option<Uint8Array>,
  ): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> => {
    if (Option.isSome(chunk)) {
      this.decoder.push(chunk.value);
      return this.next();
    }
    return endOf(this.decoder);
  };

  /** Appends the frames complete in what was read; the error that stops them, if any. */
  private buffered(out: Array<Uint8Array>): FrameError | undefined {
    while (true) {
      const frame = this.decoder.next();
      if (!(frame instanceof Uint8Array)) return frame;
      out.push(frame);
    }
  }

  /** Each array holds every frame decoded from what was read (a read happens only when none is). */
  get stream(): Stream.Stream<Uint8Array, E | DecodeError> {
    return pulled(() => this.pull);
  }

  private readonly pull: FramePull<E | DecodeError> = Effect.suspend(() => {
    const out: Array<Uint8Array> = [];
    const error = this.buffered(out);
    if (out.length > 0) {
      return Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>);
    }
    if (error !== undefined) return Effect.fail(frameFailure(error));
    return Effect.flatMap(this.source.read(READ_SIZE), (chunk): FramePull<E | DecodeError> => {
      if (Option.isSome(chunk)) {
        this.decoder.push(chunk.value);
        return this.pull;
      }
      const last = this.decoder.end();
      if (last === null) return Cause.done();
      if (last instanceof Uint8Array) return Effect.succeed([last]);
      return Effect.fail(frameFailure(last));
    });
  });

  get rest(): Source<E> {
    return prefixed(this.decoder.takePending(), this.source);
  }
}

/** The end of input as a read's outcome: a last frame, a clean end or an error. */
const endOf = (
  decoder: FrameDecoder,
): Effect.Effect<Option.Option<Uint8Array>, DecodeError> => {
  const last = decoder.end();
  if (last === null) return NONE;
  if (last instanceof Uint8Array) return Effect.succeed(Option.some(last));
  return failFrame(last);
};

/** A stateful reader of `decoder`'s frames from `source`, straight from its socket if it has one. */
export const frameReader = <E>(decoder: FrameDecoder, source: Source<E>): Frames<E> => {
  const socket = socketOf(source);
  return socket !== undefined
    ? new SocketFrames(socket, decoder, source as Source<ReadError>) as unknown as Frames<E>
    : new SourceFrames(decoder, source);
};

/**
 * Reads one frame at a time from a socket (`readFrame`), with a decoder of
 * its own that is empty between frames. Interrupted while it waits inside a
 * frame, it gives the bytes of that frame back to the socket.
 */
class SocketFrame implements ReadWaiter {
  /** A read is in progress (or was interrupted between frames). */
  busy = false;
  private readonly core: SocketFrameReader;
  private readonly out: Array<Uint8Array> = [];
  private resume:
    | ((effect: Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError>) => void)
    | undefined = undefined;

  constructor(private readonly socket: StreamSocket, decoder: FrameDecoder) {
    this.core = new SocketFrameReader(socket, decoder);
  }

  onReadable(): void {
    const resume = this.resume;
    if (resume === undefined) return;
    this.resume = undefined;
    resume(this.retry);
  }

  private readonly retry: Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> = Effect
    .suspend(() => this.poll());

  /** Waiting between frames: nothing to give back, and no canceller (half the cost). */
  private readonly waitEmpty: Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> =
    Effect.callback((resume) => {
      this.resume = resume;
    });

  /** Waiting inside a frame: an interrupt gives its bytes back. */
  private readonly waitInside: Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> =
    Effect.callback((resume) => {
      this.resume = resume;
      return Effect.sync(() => {
        this.resume = undefined;
        this.core.abandon(this);
        this.busy = false;
      });
    });

  poll(): Effect.Effect<Option.Option<Uint8Array>, ReadError | DecodeError> {
    const out = this.out;
    const result = this.core.poll(out, 1, this);
    if (result === PENDING) {
      return this.core.decoder.buffered === 0 ? this.waitEmpty : this.waitInside;
    }
    this.busy = false;
    if (typeof result === "number") {
      const frame = out[0];
      out.length = 0;
      return Effect.succeed(Option.some(frame));
    }
    if (result === null) return NONE;
    return result instanceof FrameError
      ? failFrame(result)
      : Effect.fail(readFailure(result, this.socket.label));
  }
}

/** Each socket's single-frame reader, per codec: reused from one frame to the next. */
export type FrameReaders = WeakMap<StreamSocket, SocketFrame>;

/**
 * One frame, holding no state between frames: from a socket, one read per
 * frame (what follows goes back to the socket); from any other source, exact
 * reads that never read past the frame.
 */
export const readOneFrame = <E>(
  decoder: () => FrameDecoder,
  source: Source<E>,
  readers: FrameReaders,
): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> => {
  const socket = socketOf(source);
  if (socket !== undefined) {
    return Effect.suspend(() => {
      let reader = readers.get(socket);
      if (reader === undefined || reader.busy) {
        reader = new SocketFrame(socket, decoder());
        readers.set(socket, reader);
      }
      reader.busy = true;
      return reader.poll();
    }) as Effect.Effect<Option.Option<Uint8Array>, E | DecodeError>;
  }
  return Effect.suspend(() => {
    const frames = decoder();
    const step = (): Effect.Effect<Option.Option<Uint8Array>, E | DecodeError> => {
      const frame = frames.next();
      if (frame instanceof Uint8Array) return Effect.succeed(Option.some(frame));
      if (frame !== undefined) return failFrame(frame);
      return Effect.flatMap(source.read(frames.needed), (chunk) => {
        if (Option.isNone(chunk)) return endOf(frames);
        frames.push(chunk.value);
        return step();
      });
    };
    return step();
  });
};

/** A source that yields `bytes` first, then whatever `source` yields (Framing.prepend). */
export const prefixed = <E>(bytes: Uint8Array, source: Source<E>): Source<E> =>
  new PrefixedSource(bytes, source);

class PrefixedSource<E> implements Source<E> {
  constructor(private pending: Uint8Array, private readonly source: Source<E>) {}

  read(maxBytes: number = DEFAULT_MAX_READ): Effect.Effect<Option.Option<Uint8Array>, E> {
    return Effect.suspend(() => {
      const pending = this.pending;
      if (pending.length === 0 || !(maxBytes >= 1)) return this.source.read(maxBytes);
      const take = Math.min(maxBytes, pending.length);
      this.pending = pending.subarray(take);
      return Effect.succeed(Option.some(pending.subarray(0, take)));
    });
  }
}

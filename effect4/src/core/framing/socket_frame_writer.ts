// Frames written to a StreamSocket without building a buffer per frame.
//
// A small frame is encoded into a shared scratch buffer and handed to the
// socket, which copies it into one of its slabs: no allocation. A large one
// goes out as its prefix (a length header), the payload itself and its suffix
// (a delimiter), queued back to back so that no other write comes between.
import {
  IoFailure,
  type QueuedWrite,
  type StreamSocket,
  type WriteWaiter,
  WRITTEN,
} from "../stream_socket.ts";
import type { FrameEncoder } from "./codec.ts";
import type { FrameError } from "./frame_error.ts";

/** Frames up to this size (on the wire) are encoded into one buffer; the socket takes up to 16 KiB at once. */
const COPY_MAX = 16 * 1024;
const scratch = new Uint8Array(COPY_MAX);
const EMPTY = new Uint8Array(0);

/**
 * Writes one frame at once if it can: a small frame with no write ahead of
 * it is handed to the socket (WRITTEN). Returns the encoder's `FrameError`
 * for a frame it refuses, an `IoFailure` if writing is no longer possible,
 * or `undefined` when the frame must wait its turn: then
 * {@link enqueueFrame} it.
 *
 * @example
 * ```ts
 * import {
 *   enqueueFrame,
 *   LengthPrefixedCodec,
 *   StreamSocket,
 *   tryWriteFrame,
 * } from "@fibernet/socket/core";
 *
 * const codec = new LengthPrefixedCodec();
 * const socket = new StreamSocket(await Deno.connect({ hostname: "127.0.0.1", port: 7000 }));
 * const frame = new TextEncoder().encode("ping");
 * if (tryWriteFrame(socket, codec, frame) === undefined) {
 *   enqueueFrame(socket, codec, frame, { onWritten: (result) => console.log(result) });
 * }
 * ```
 */
export const tryWriteFrame = (
  socket: StreamSocket,
  encoder: FrameEncoder,
  frame: Uint8Array,
): typeof WRITTEN | IoFailure | FrameError | undefined => {
  const length = encoder.encodedLength(frame);
  if (typeof length !== "number") return length;
  if (length > COPY_MAX) {
    // Large frames are queued, but a socket that cannot write says so now.
    const refused = socket.tryWrite(EMPTY, true);
    return refused === WRITTEN ? undefined : refused;
  }
  encoder.encodeInto(frame, scratch, 0);
  return socket.tryWrite(scratch.subarray(0, length), false);
};

/**
 * Queues one frame (which `tryWriteFrame` accepted but could not write at
 * once) after the writes already queued; `waiter` hears once all of it is
 * written, or the first failure. A large payload is not copied: it must stay
 * untouched until then.
 *
 * @example
 * ```ts
 * import { enqueueFrame, LengthPrefixedCodec, StreamSocket } from "@fibernet/socket/core";
 *
 * declare const socket: StreamSocket;
 * const payload = new Uint8Array(1024 * 1024);
 * const queued = enqueueFrame(socket, new LengthPrefixedCodec(), payload, {
 *   onWritten: (result) => console.log("written:", result),
 * });
 * queued.cancel(); // dropped, unless it has begun to go out
 * ```
 */
export const enqueueFrame = (
  socket: StreamSocket,
  encoder: FrameEncoder,
  frame: Uint8Array,
  waiter: WriteWaiter,
): QueuedFrame => {
  const queued = new QueuedFrame(socket, waiter);
  const length = encoder.encodedLength(frame) as number;
  if (length <= COPY_MAX) {
    const out = new Uint8Array(length);
    encoder.encodeInto(frame, out, 0);
    queued.add(socket.enqueue(out, queued));
    return queued;
  }
  const prefix = encoder.prefix(frame);
  const suffix = encoder.suffix(frame);
  if (prefix.length > 0) {
    // A header with nothing ahead of it goes out at once; the frame has then begun.
    const first = socket.tryWrite(prefix, true);
    if (first === WRITTEN) queued.begun = true;
    else if (first instanceof IoFailure) return queued.fail(first);
    else queued.add(socket.enqueue(prefix, queued));
  }
  queued.add(socket.enqueue(frame, queued));
  if (suffix.length > 0) queued.add(socket.enqueue(suffix, queued));
  return queued;
};

/**
 * A frame queued in parts; the waiter hears once, when the last part is
 * written or the first fails.
 *
 * @example
 * ```ts
 * import type { QueuedFrame } from "@fibernet/socket/core";
 * declare const queued: QueuedFrame;
 * if (!queued.cancel()) console.log("already going out: it will be written whole");
 * ```
 */
export class QueuedFrame implements WriteWaiter {
  /** Part of the frame was handed to the socket already: it can no longer be dropped. */
  begun = false;
  private readonly parts: Array<QueuedWrite> = [];
  private waiting = 0;
  private done = false;

  /** Parts queued on `socket` report to this frame, which reports to `waiter`. */
  constructor(private readonly socket: StreamSocket, private readonly waiter: WriteWaiter) {}

  /** One more part of the frame. */
  add(part: QueuedWrite): void {
    this.parts.push(part);
    this.waiting++;
  }

  /** The frame failed before it was queued. */
  fail(failure: IoFailure): this {
    this.onWritten(failure);
    return this;
  }

  /** A part ended. */
  onWritten(result: typeof WRITTEN | IoFailure): void {
    if (this.done) return;
    if (result === WRITTEN && --this.waiting > 0) return;
    this.done = true;
    this.waiter.onWritten(result);
  }

  /**
   * Drops the frame if none of it has started; false if it has (it then goes
   * out whole, so the stream never holds half a frame).
   */
  cancel(): boolean {
    if (this.done) return false;
    const first = this.parts[0];
    if (this.begun || first === undefined || !this.socket.cancelWrite(first)) return false;
    for (let i = 1; i < this.parts.length; i++) this.socket.cancelWrite(this.parts[i]);
    this.done = true;
    return true;
  }
}

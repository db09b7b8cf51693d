// Frames read straight from a StreamSocket, by polling: the machinery under
// the Effect faces' frame readers, `readFrame` and frame streams.
//
// Reads borrow the socket's read buffer: a frame is copied out of it once,
// and what is left after the frames taken goes back to the socket (`unread`,
// without a copy), so the socket, not this reader, holds unread bytes: a
// plain read of the connection afterwards gets them. Once a frame's header is
// checked, the rest of a large payload is read straight into the frame's own
// buffer.
import {
  DEFAULT_MAX_READ,
  IoFailure,
  PENDING,
  type ReadWaiter,
  type StreamSocket,
} from "../stream_socket.ts";
import type { FrameDecoder } from "./codec.ts";
import type { FrameError } from "./frame_error.ts";

/** A payload missing at least this many bytes is read straight into its buffer. */
const DIRECT_READ_MIN = 16 * 1024;

/**
 * What {@link SocketFrameReader.poll} returns: how many frames it appended
 * (at least one), `null` at a clean end of stream, a `FrameError`, a read's
 * `IoFailure`, or `PENDING` (the waiter hears when to poll again).
 *
 * @example
 * ```ts
 * import { type FramePoll, PENDING } from "@fibernet/socket/core";
 * const ready = (result: FramePoll): boolean => typeof result === "number";
 * ```
 */
export type FramePoll = number | null | FrameError | IoFailure | typeof PENDING;

/**
 * Decodes frames from a socket by polling, in the core's usual shape: poll,
 * or register a waiter and start one raw read. A waiter that goes away loses
 * nothing: the decoder keeps its state and the read's result waits in the
 * socket for the next poll.
 *
 * @example
 * ```ts
 * import {
 *   FrameError,
 *   IoFailure,
 *   LengthPrefixedCodec,
 *   PENDING,
 *   SocketFrameReader,
 *   StreamSocket,
 * } from "@fibernet/socket/core";
 *
 * const socket = new StreamSocket(await Deno.connect({ hostname: "127.0.0.1", port: 7000 }));
 * const reader = new SocketFrameReader(socket, new LengthPrefixedCodec().decoder());
 * const frames: Uint8Array[] = [];
 * const waiter = {
 *   onReadable(): void {
 *     const result = reader.poll(frames, Infinity, waiter);
 *     if (result === PENDING) return;
 *     if (typeof result === "number") {
 *       console.log(frames.splice(0).length, "frames");
 *       return waiter.onReadable(); // read on
 *     }
 *     if (result instanceof FrameError || result instanceof IoFailure) console.log("failed");
 *     socket.close();
 *   },
 * };
 * waiter.onReadable();
 * ```
 */
export class SocketFrameReader {
  /** Decodes `socket`'s bytes with `decoder` (one decoder per reader). */
  constructor(readonly socket: StreamSocket, readonly decoder: FrameDecoder) {}

  /**
   * Appends to `out` the next frame and, up to `max` in all, the ones after
   * it that are already here (no further read). Frames belong to the caller.
   * An error met after some frames is returned by the next poll.
   */
  poll(out: Array<Uint8Array>, max: number, waiter: ReadWaiter): FramePoll {
    const decoder = this.decoder;
    const socket = this.socket;
    let count = 0;
    while (true) {
      const frame = decoder.next();
      if (frame instanceof Uint8Array) {
        out.push(frame);
        if (++count < max) continue;
        break;
      }
      if (frame !== undefined) {
        if (count > 0) break;
        return frame;
      }
      // The decoder used all its input.
      if (count > 0) return count;
      const target = decoder.target();
      if (target !== undefined && target.length >= DIRECT_READ_MIN) {
        const n = socket.pollReadInto(target, waiter);
        if (typeof n === "number") {
          decoder.filled(n);
          continue;
        }
        if (n === null) return this.ended(out);
        return n;
      }
      const chunk = socket.pollRead(DEFAULT_MAX_READ, true, waiter);
      if (chunk === PENDING || chunk instanceof IoFailure) return chunk;
      if (chunk === null) return this.ended(out);
      decoder.push(chunk);
    }
    // What follows the frames taken is still the socket's, lent: give it back.
    const rest = decoder.takeInput();
    if (rest.length > 0) socket.unread(rest, true);
    return count;
  }

  /** End of stream: a last frame, a clean end or an error. */
  private ended(out: Array<Uint8Array>): number | null | FrameError {
    const last = this.decoder.end();
    if (last instanceof Uint8Array) {
      out.push(last);
      return 1;
    }
    return last;
  }

  /**
   * Stops waiting (`waiter` no longer hears) and gives the bytes of a frame
   * begun back to the socket, so that the next read starts with them: how an
   * interrupted single-frame read loses nothing.
   */
  abandon(waiter: ReadWaiter): void {
    this.socket.cancelRead(waiter);
    this.socket.unread(this.decoder.takePending());
  }
}

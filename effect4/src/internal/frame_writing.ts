// The Effect face of writing one frame straight to a connection's socket
// (core tryWriteFrame / enqueueFrame), with Connection.write's guarantees:
// every byte is written, frames never interleave, and a frame interrupted
// before any of it went out is dropped whole.
import * as Effect from "effect/Effect";
import type { SocketError, WriteReason } from "../SocketError.ts";
import type { FrameEncoder } from "../core/framing/codec.ts";
import { FrameError } from "../core/framing/frame_error.ts";
import { enqueueFrame, tryWriteFrame } from "../core/framing/socket_frame_writer.ts";
import { IoFailure, type StreamSocket, type WriteWaiter, WRITTEN } from "../core/stream_socket.ts";
import { frameFailure } from "./frame_reading.ts";
import { writeFailure } from "./failures.ts";

type WriteError = SocketError<WriteReason>;
type EncodeError = SocketError<"InvalidData">;

/** A fiber waiting for its queued frame. */
class FrameWrite implements WriteWaiter {
  resume: ((effect: Effect.Effect<void, WriteError>) => void) | undefined = undefined;
  /** The outcome, when it came before the fiber started waiting. */
  early: Effect.Effect<void, WriteError> | undefined = undefined;

  constructor(private readonly socket: StreamSocket) {}

  onWritten(result: typeof WRITTEN | IoFailure): void {
    const effect = result === WRITTEN
      ? Effect.void
      : Effect.fail(writeFailure(result, "write", this.socket.label));
    const resume = this.resume;
    if (resume === undefined) this.early = effect;
    else resume(effect);
  }
}

/** Writes one frame to `socket`. */
export const writeFrameTo = (
  socket: StreamSocket,
  encoder: FrameEncoder,
  frame: Uint8Array,
): Effect.Effect<void, WriteError | EncodeError> => {
  const done = tryWriteFrame(socket, encoder, frame);
  if (done === WRITTEN) return Effect.void;
  if (done instanceof IoFailure) return Effect.fail(writeFailure(done, "write", socket.label));
  if (done instanceof FrameError) return Effect.fail(frameFailure<"InvalidData">(done));
  return Effect.callback<void, WriteError>((resume) => {
    const waiter = new FrameWrite(socket);
    const queued = enqueueFrame(socket, encoder, frame, waiter);
    if (waiter.early !== undefined) return resume(waiter.early);
    waiter.resume = resume;
    return Effect.sync(() => void queued.cancel());
  });
};

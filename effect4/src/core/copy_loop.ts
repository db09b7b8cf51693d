// Copying one socket's input to another socket, in callbacks: read a chunk
// (lent from the source's read buffer), write it, read again only once the
// target has taken it. An echo is a copy from a socket to itself.
import {
  DEFAULT_MAX_READ,
  IoFailure,
  PENDING,
  type QueuedWrite,
  type ReadWaiter,
  type StreamSocket,
  type WriteWaiter,
  WRITTEN,
} from "./stream_socket.ts";

/**
 * Why a copy stopped early: the side that failed and its raw failure.
 *
 * @example
 * ```ts
 * import { CopyFailure, type CopyObserver } from "@fibernet/socket/core";
 * const observer: CopyObserver = {
 *   onCopyEnd: (result) =>
 *     console.log(result instanceof CopyFailure ? `${result.side} failed` : `${result} bytes`),
 * };
 * ```
 */
export class CopyFailure {
  /** The side that failed and its raw failure. */
  constructor(readonly side: "read" | "write", readonly failure: IoFailure) {}
}

/**
 * Hears how a copy ended: the bytes copied at end of stream, or the failure.
 *
 * @example
 * ```ts
 * import type { CopyObserver } from "@fibernet/socket/core";
 * const observer: CopyObserver = { onCopyEnd: (result) => console.log(result) };
 * ```
 */
export interface CopyObserver {
  /** The copy ended: bytes copied at end of stream, or the failure. */
  onCopyEnd(result: number | CopyFailure): void;
}

/**
 * One copy from `from` to `to`, until `from` reaches end of stream. It is its
 * own read and write waiter, so an idle copy is one small object.
 *
 * @example
 * ```ts
 * import { CopyLoop, type StreamSocket } from "@fibernet/socket/core";
 * declare const client: StreamSocket;
 * declare const upstream: StreamSocket;
 * // One direction of a proxy; `stop()` ends it early.
 * const loop = new CopyLoop(client, upstream, { onCopyEnd: () => upstream.closeWrite() }).start();
 * ```
 */
export class CopyLoop implements ReadWaiter, WriteWaiter {
  private copied = 0;
  private stopped = false;
  private pendingWrite: QueuedWrite | undefined = undefined;

  /** A copy from `from` to `to`, not started yet; `observer` hears how it ends. */
  constructor(
    private readonly from: StreamSocket,
    private readonly to: StreamSocket,
    private readonly observer: CopyObserver,
  ) {}

  /** Starts copying; returns the loop, to stop it. */
  start(): this {
    this.onReadable();
    return this;
  }

  /** Reads and writes while chunks are ready. */
  onReadable(): void {
    while (!this.stopped) {
      const chunk = this.from.pollRead(DEFAULT_MAX_READ, true, this);
      if (chunk === PENDING) return;
      if (chunk === null) return this.end(this.copied);
      if (chunk instanceof IoFailure) return this.end(new CopyFailure("read", chunk));
      this.copied += chunk.length;
      // A small chunk is copied and handed over, so the source can read on.
      const written = this.to.tryWrite(chunk, false);
      if (written instanceof IoFailure) return this.end(new CopyFailure("write", written));
      if (written === WRITTEN) continue;
      this.pendingWrite = this.to.enqueue(chunk, this);
      return;
    }
  }

  /** A queued write ended: read on, or end with its failure. */
  onWritten(result: typeof WRITTEN | IoFailure): void {
    this.pendingWrite = undefined;
    if (result instanceof IoFailure) return this.end(new CopyFailure("write", result));
    this.onReadable();
  }

  /** Ends the copy and tells the observer, once. */
  private end(result: number | CopyFailure): void {
    // Stopped already: a write still in flight failing now is not the copy's outcome.
    if (this.stopped) return;
    this.stopped = true;
    this.observer.onCopyEnd(result);
  }

  /** Stops reading; a chunk still being written keeps its buffer. The observer hears nothing. */
  stop(): void {
    this.stopped = true;
    this.from.cancelRead(this);
    if (this.pendingWrite !== undefined) this.from.abandonBuffer();
  }
}

// A transfer's connection over a core StreamSocket, in callbacks: a waiting
// read is a poll and one timer (TimedReader), no fiber, so an upload that
// waits for its peer costs what an idle connection costs.
import { classify } from "../classify.ts";
import { type Failure, failureMessage } from "../failure.ts";
import { READ_REASONS, type Reason, WRITE_REASONS } from "../reasons.ts";
import {
  IoFailure,
  type QueuedWrite,
  type StreamSocket,
  type WriteWaiter,
  WRITTEN,
} from "../stream_socket.ts";
import { socketFailure, TransferFailure } from "./failure.ts";
import { ABORTED, type TransferIo } from "./io.ts";
import type { Limit } from "./pace.ts";
import { TimedOut, TimedReader } from "./timed_reader.ts";

const readReasons: ReadonlySet<Reason> = new Set(READ_REASONS);
const writeReasons: ReadonlySet<Reason> = new Set(WRITE_REASONS);

/** A socket failure as the cause of a transfer failure: the face shows it as its SocketError. */
export class SocketCause {
  constructor(readonly failure: Failure) {}
}

/** What a raw socket failure means to a transfer doing `doing`. */
const transferFailure = (
  failure: IoFailure,
  operation: "read" | "write" | "closeWrite",
  address: string,
  doing: string,
): TransferFailure => {
  const classified: Failure = failure.closed
    ? { reason: "Closed", operation, address, cause: failure.error }
    : classify(
      failure.error,
      operation,
      address,
      operation === "read" ? readReasons : writeReasons,
    );
  return socketFailure(
    classified.reason,
    failureMessage(classified),
    classified.detail,
    doing,
    new SocketCause(classified),
  );
};

/** A write waiting its turn, with its timer; it settles once. */
class PendingWrite implements WriteWaiter {
  entry: QueuedWrite | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private settled = false;

  constructor(
    private readonly resolve: () => void,
    private readonly reject: (reason: unknown) => void,
    private readonly fail: (failure: IoFailure) => unknown,
  ) {}

  onWritten(result: typeof WRITTEN | IoFailure): void {
    if (result === WRITTEN) this.settle(undefined);
    else this.settle(this.fail(result));
  }

  /** Ends the write: undefined for success, else the reason; later calls do nothing. */
  settle(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (reason === undefined) this.resolve();
    else this.reject(reason);
  }
}

/** {@link TransferIo} over a StreamSocket (which its owner closes). */
export class SocketIo implements TransferIo {
  private readonly reader: TimedReader;
  private aborted = false;
  private reading: ((reason: unknown) => void) | undefined = undefined;
  private writing: PendingWrite | undefined = undefined;

  constructor(private readonly socket: StreamSocket) {
    this.reader = new TimedReader(socket);
  }

  read(maxBytes: number, borrow: boolean, doing: string, limit: Limit): Promise<Uint8Array | null> {
    if (this.aborted) return Promise.reject(ABORTED);
    this.reader.setLimit(limit); // a no-op when unchanged: the timer goes on across reads
    return new Promise((resolve, reject) => {
      this.reading = reject;
      this.reader.read(maxBytes, borrow, (result) => {
        this.reading = undefined;
        if (result instanceof TimedOut) {
          reject(timedOut(result.why, doing));
        } else if (result instanceof IoFailure) {
          reject(transferFailure(result, "read", this.socket.label, doing));
        } else {
          resolve(result);
        }
      });
    });
  }

  write(bytes: Uint8Array, doing: string, limit: Limit): Promise<void> {
    if (this.aborted) return Promise.reject(ABORTED);
    const fail = (failure: IoFailure) =>
      transferFailure(failure, "write", this.socket.label, doing);
    const done = this.socket.tryWrite(bytes, false);
    if (done === WRITTEN) return Promise.resolve();
    if (done instanceof IoFailure) return Promise.reject(fail(done));
    return new Promise((resolve, reject) => {
      const pending: PendingWrite = new PendingWrite(() => {
        if (this.writing === pending) this.writing = undefined;
        resolve();
      }, (reason) => {
        if (this.writing === pending) this.writing = undefined;
        reject(reason);
      }, fail);
      this.writing = pending;
      pending.entry = this.socket.enqueue(bytes, pending);
      const arm = () => {
        const left = limit();
        if (typeof left === "string") {
          // A write that has not started is dropped; one in progress ends with the socket.
          if (pending.entry !== undefined) this.socket.cancelWrite(pending.entry);
          return pending.settle(timedOut(left, doing));
        }
        if (Number.isFinite(left)) {
          pending.timer = setTimeout(arm, Math.max(1, Math.ceil(left)));
          Deno.unrefTimer(pending.timer);
        }
      };
      if (this.writing === pending) arm();
    });
  }

  async closeWrite(): Promise<void> {
    if (this.aborted) throw ABORTED;
    try {
      await this.socket.closeWrite();
    } catch (error) {
      const closed = error instanceof Deno.errors.BadResource;
      throw transferFailure(
        new IoFailure(error, closed),
        "closeWrite",
        this.socket.label,
        "closing",
      );
    }
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reader.cancel();
    const reading = this.reading;
    this.reading = undefined;
    reading?.(ABORTED);
    const writing = this.writing;
    if (writing !== undefined) {
      if (writing.entry !== undefined) this.socket.cancelWrite(writing.entry);
      writing.settle(ABORTED);
    }
  }
}

/** A wait that its limit ended. */
const timedOut = (why: string, doing: string): TransferFailure =>
  new TransferFailure("TimedOut", `${why} while ${doing}`);

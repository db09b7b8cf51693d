// Reading from a socket with a time limit, in callbacks: one timer per
// reader, armed only while a read waits and kept across reads, so a waiting
// transfer holds a timer and a small object (no fiber, no timer per chunk).
// The limit is a function, asked when the timer fires: the time left, or why
// the wait is over (a step that took too long, a transfer too slow).
import { PENDING, type ReadResult, type ReadWaiter, type StreamSocket } from "../stream_socket.ts";
import type { Limit } from "./pace.ts";

/** A read ended by its limit: `why` says which. */
export class TimedOut {
  constructor(readonly why: string) {}
}

/** What a timed read ends with. */
export type TimedResult = ReadResult | TimedOut;

const NO_LIMIT: Limit = () => Infinity;

/** Reads `socket` with a limit on how long each read may wait. */
export class TimedReader implements ReadWaiter {
  private callback: ((result: TimedResult) => void) | undefined = undefined;
  private maxBytes = 0;
  private borrow = false;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private limit: Limit = NO_LIMIT;

  constructor(private readonly socket: StreamSocket) {}

  /** Governs the reads from now on (a read waiting now too); the same limit again changes nothing. */
  setLimit(limit: Limit): void {
    if (limit === this.limit) return;
    this.limit = limit;
    this.clearTimer();
    if (this.callback !== undefined) this.arm();
  }

  /**
   * Reads at most `maxBytes` (lent from the socket's buffer when `borrow`);
   * `callback` hears the result, at once if it is ready.
   */
  read(maxBytes: number, borrow: boolean, callback: (result: TimedResult) => void): void {
    const result = this.socket.pollRead(maxBytes, borrow, this);
    if (result !== PENDING) return callback(result);
    this.maxBytes = maxBytes;
    this.borrow = borrow;
    this.callback = callback;
    if (this.timer === undefined) this.arm();
  }

  /** The socket can complete the waiting read. */
  onReadable(): void {
    if (this.callback === undefined) return;
    const result = this.socket.pollRead(this.maxBytes, this.borrow, this);
    if (result === PENDING) return;
    const callback = this.callback;
    this.callback = undefined;
    callback(result);
  }

  /** Stops the waiting read (its bytes stay in the socket for the next read) and the timer. */
  cancel(): void {
    this.socket.cancelRead(this);
    this.callback = undefined;
    this.clearTimer();
  }

  /** Arms the timer for the time the limit leaves, or ends the waiting read. */
  private arm(): void {
    const left = this.limit();
    if (typeof left === "string") return this.expire(left);
    if (!Number.isFinite(left)) return;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(left)));
    Deno.unrefTimer(this.timer);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    // No read waiting: the next one re-arms.
    if (this.callback !== undefined) this.arm();
  };

  private expire(why: string): void {
    const callback = this.callback;
    this.socket.cancelRead(this);
    this.callback = undefined;
    callback?.(new TimedOut(why));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

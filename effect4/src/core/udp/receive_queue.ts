// The bounded queue datagrams wait in between the socket and the consumer:
// at most `capacity` datagrams and `maxBytes` bytes of payload. When it is
// full the policy discards the arriving datagram or the oldest ones, and
// counts each one discarded, so a slow consumer costs datagrams, never memory.
import type { Datagram } from "./datagram.ts";

/**
 * What is discarded when the queue is full: the arriving datagram
 * (`dropNewest`, as the kernel does) or the oldest queued ones (`dropOldest`,
 * for "latest value wins" traffic).
 *
 * @example
 * ```ts
 * import { OVERFLOW_POLICIES } from "@fibernet/socket/core";
 * console.log(OVERFLOW_POLICIES.join(" or ")); // dropNewest or dropOldest
 * ```
 */
export const OVERFLOW_POLICIES = ["dropNewest", "dropOldest"] as const;

/**
 * One of {@link OVERFLOW_POLICIES}.
 *
 * @example
 * ```ts
 * import type { Overflow } from "@fibernet/socket/core";
 * const latestWins: Overflow = "dropOldest";
 * ```
 */
export type Overflow = typeof OVERFLOW_POLICIES[number];

/**
 * The bounds of a {@link ReceiveQueue}.
 *
 * @example
 * ```ts
 * import type { ReceiveQueueLimits } from "@fibernet/socket/core";
 * const small: ReceiveQueueLimits = { capacity: 64, maxBytes: 64 * 1024, overflow: "dropOldest" };
 * ```
 */
export interface ReceiveQueueLimits {
  /** Most datagrams queued, at least 1. */
  readonly capacity: number;
  /** Most payload bytes queued. A datagram is always accepted into an empty queue. */
  readonly maxBytes: number;
  /** What to discard when full. */
  readonly overflow: Overflow;
}

/** A consumed prefix of the array at least this long is cut off (see `shift`). */
const COMPACT_AFTER = 1024;

/**
 * A first-in, first-out queue of datagrams within {@link ReceiveQueueLimits}.
 * An arrival is two steps, so nothing is copied for a datagram that will be
 * discarded: {@link ReceiveQueue.makeRoom} applies the policy, then
 * {@link ReceiveQueue.push} adds the datagram.
 *
 * @example
 * ```ts
 * import { ReceiveQueue } from "@fibernet/socket/core";
 *
 * const queue = new ReceiveQueue({ capacity: 2, maxBytes: 1024, overflow: "dropNewest" });
 * for (const text of ["a", "b", "c"]) {
 *   const data = new TextEncoder().encode(text);
 *   const from = { _tag: "TcpAddress", hostname: "127.0.0.1", port: 9 } as const;
 *   if (queue.makeRoom(data.length)) queue.push({ data, from });
 * }
 * console.log(queue.length, queue.dropped); // 2 1
 * ```
 */
export class ReceiveQueue {
  /** Datagrams discarded by the overflow policy so far. */
  dropped = 0;
  private items: Array<Datagram | undefined> = [];
  private head = 0;
  private queuedBytes = 0;

  /** An empty queue with these bounds. */
  constructor(readonly limits: ReceiveQueueLimits) {}

  /** Datagrams queued. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Payload bytes queued. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Makes room for a datagram of `size` bytes: true when it may be pushed
   * (under `dropOldest`, after discarding the oldest datagrams as needed);
   * false when it must be discarded (`dropNewest` on a full queue), counted
   * in {@link ReceiveQueue.dropped}.
   */
  makeRoom(size: number): boolean {
    if (!this.full(size)) return true;
    if (this.limits.overflow === "dropNewest") {
      this.dropped++;
      return false;
    }
    while (this.length > 0 && this.full(size)) {
      this.shift();
      this.dropped++;
    }
    return true;
  }

  /** Adds a datagram that {@link ReceiveQueue.makeRoom} made room for. */
  push(datagram: Datagram): void {
    this.items.push(datagram);
    this.queuedBytes += datagram.data.length;
  }

  /** The oldest datagram, taken out of the queue, or undefined when empty. */
  shift(): Datagram | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.queuedBytes -= item.data.length;
    if (this.head === this.items.length) {
      this.items.length = 0; // empty again: keep the array (the usual case, taken as it comes)
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      // Cut the consumed half off instead of shifting the array on every take.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Discards everything queued (not counted as dropped). */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /** True when a datagram of `size` bytes does not fit beside what is queued. */
  private full(size: number): boolean {
    const queued = this.length;
    return queued >= this.limits.capacity ||
      (queued > 0 && this.queuedBytes + size > this.limits.maxBytes);
  }
}

// How fast a transfer's data moves, and when it is too slow. A peer can hold
// a transfer open by sending nothing (caught by `idleMs`: no progress for that
// long) or by sending a byte now and then (caught by the minimum rate: each
// successive window of `perMs` must bring `minBytes`, or all that is left).
// The overall deadline is the face's: it covers every step, not only data.

/**
 * How far a transfer is: `done` of `total` bytes in the current `phase`
 * (`"hash"` while the sender computes the checksum, then `"send"` or
 * `"receive"`).
 */
export interface Progress {
  /** Bytes done so far in this phase. */
  readonly done: number;
  /** Bytes in the file. */
  readonly total: number;
  /** What is being done. */
  readonly phase: "hash" | "send" | "receive";
}

/** The limits on a data phase, in milliseconds and bytes; Infinity or 0 turns one off. */
export interface PaceLimits {
  /** Longest time without a byte of progress. */
  readonly idleMs: number;
  /** Bytes each window must bring (or all that is left, if less). 0: no minimum rate. */
  readonly minBytes: number;
  /** The window of the minimum rate. */
  readonly perMs: number;
}

/** A duration in a message: `300ms`, `30s`, `1.5s`. */
export const formatMs = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000}s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;

/**
 * How long a wait may still last: milliseconds left (Infinity: no limit), or
 * why it is over. Asked when a timer fires, so it costs nothing per chunk.
 */
export type Limit = () => number | string;

/** A step that must be over within `ms` from `now`. */
export const stepLimit = (ms: number, now: number = performance.now()): Limit => {
  if (!Number.isFinite(ms)) return () => Infinity;
  const end = now + ms;
  return () => {
    const left = end - performance.now();
    return left > 0 ? left : `nothing happened for ${formatMs(ms)}`;
  };
};

/** `limit`, under an overall deadline of `ms` that ends at `end` (a `performance.now()` time). */
export const underDeadline = (limit: Limit, end: number, ms: number): Limit => {
  if (!Number.isFinite(end)) return limit;
  return () => {
    const left = end - performance.now();
    if (left <= 0) return `the transfer took longer than its deadline of ${formatMs(ms)}`;
    const inner = limit();
    return typeof inner === "string" ? inner : Math.min(inner, left);
  };
};

/**
 * The pace of one data phase of `total` bytes. `progress` records bytes as
 * they move; a watchdog calls `check`, which says how long until the next
 * check, or why the transfer is too slow.
 */
export class Pace {
  private done = 0;
  private lastProgress: number;
  private windowEnd: number;
  /** Bytes done when the current window began. */
  private windowStart = 0;

  constructor(
    private readonly limits: PaceLimits,
    private readonly total: number,
    now: number = performance.now(),
  ) {
    this.lastProgress = now;
    this.windowEnd = now + limits.perMs;
  }

  /** `n` more bytes moved. */
  progress(n: number, now: number = performance.now()): void {
    this.done += n;
    this.lastProgress = now;
  }

  /** Milliseconds until the next check (positive), or why the transfer is too slow. */
  check(now: number = performance.now()): number | string {
    const { idleMs, minBytes, perMs } = this.limits;
    if (now - this.lastProgress >= idleMs) return `no progress for ${formatMs(idleMs)}`;
    const rated = minBytes > 0 && Number.isFinite(perMs);
    if (rated && now >= this.windowEnd) {
      const need = Math.min(minBytes, this.total - this.windowStart);
      const got = this.done - this.windowStart;
      if (got < need) {
        return `only ${got} bytes in ${
          formatMs(perMs)
        }, under the minimum rate of ${minBytes} bytes per ${formatMs(perMs)}`;
      }
      this.windowStart = this.done;
      // Windows follow each other; a late check does not shift them.
      this.windowEnd += Math.ceil((now - this.windowEnd + 1) / perMs) * perMs;
    }
    const nextIdle = this.lastProgress + idleMs - now;
    const next = rated ? Math.min(nextIdle, this.windowEnd - now) : nextIdle;
    return Math.max(1, next);
  }
}

// What a transfer needs from its connection, whatever drives it: reads and
// writes that wait at most what a Limit allows and fail with a
// TransferFailure, a half-close, and a way for the transfer's owner to stop
// it. The core implements it over a StreamSocket (socket_io.ts); the Effect
// face over any Connection (TLS, a connection implemented elsewhere).
import type { Limit } from "./pace.ts";

/** What a stopped transfer's pending and later operations reject with. */
export const ABORTED: unique symbol = Symbol("aborted");

/** A connection as a transfer uses it. Every promise rejects with a TransferFailure or ABORTED. */
export interface TransferIo {
  /**
   * At most `maxBytes` (lent from the connection's buffer when `borrow`:
   * valid until the next read), or null at end of stream. A read that waits
   * longer than `limit` allows fails with `TimedOut`; `doing` names the step
   * in failure messages.
   */
  read(maxBytes: number, borrow: boolean, doing: string, limit: Limit): Promise<Uint8Array | null>;
  /** Writes every byte (`bytes` untouched until it settles), within `limit`. */
  write(bytes: Uint8Array, doing: string, limit: Limit): Promise<void>;
  /** Half-close: the peer reads end of stream. */
  closeWrite(): Promise<void>;
  /** Pending and later operations reject with ABORTED; timers stop. Idempotent; also run once a transfer is over. */
  abort(): void;
}

/** A transfer in progress: its outcome, and how to stop it. */
export interface Running<A> {
  /** Resolves with the result; rejects with a TransferFailure, ABORTED, or a bug. */
  readonly done: Promise<A>;
  /** Stops the transfer; resolves once it has cleaned up (temporary file removed). */
  abort(): Promise<void>;
}

/** Runs `transfer` over `io`, stoppable through `io`; once it is over, its timers stop. */
export const running = <A>(io: TransferIo, transfer: () => Promise<A>): Running<A> => {
  const done = transfer();
  // The owner hears the outcome through `done`; this also keeps an aborted run quiet.
  const release = () => io.abort();
  done.then(release, release);
  return {
    done,
    abort: () => {
      io.abort();
      return done.then(() => {}, () => {});
    },
  };
};

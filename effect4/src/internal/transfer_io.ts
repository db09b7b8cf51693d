// A connection without a core StreamSocket (TLS, which wraps its socket, or
// a connection implemented elsewhere) as the core's TransferIo: its Effects,
// each run in the caller's Context and raced against the limit. (One with a
// socket uses the core's SocketIo: a waiting read is a poll and a timer.)
import * as Cause from "effect/Cause";
import type * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import type * as Connection from "../Connection.ts";
import type { SocketError } from "../SocketError.ts";
import { socketFailure, TransferFailure } from "../core/file_transfer/failure.ts";
import { ABORTED, type TransferIo } from "../core/file_transfer/io.ts";
import type { Limit } from "../core/file_transfer/pace.ts";
import { TimedOut } from "../core/file_transfer/timed_reader.ts";

/** The TransferIo for `conn`, running its Effects in `context`. */
export const effectIo = (
  conn: Connection.Connection,
  context: Context.Context<never>,
): TransferIo => new EffectIo(conn, context);

/** Fails once `limit` says the wait is over. */
const expiry = (limit: Limit): Effect.Effect<never, TimedOut> => {
  const check: Effect.Effect<never, TimedOut> = Effect.suspend(() => {
    const left = limit();
    if (typeof left === "string") return Effect.fail(new TimedOut(left));
    return Number.isFinite(left) ? Effect.andThen(Effect.sleep(left), check) : Effect.never;
  });
  return check;
};

class EffectIo implements TransferIo {
  private readonly controller = new AbortController();
  private readonly runPromiseExit: <A, E>(
    effect: Effect.Effect<A, E>,
    options?: Effect.RunOptions,
  ) => Promise<Exit.Exit<A, E>>;

  constructor(
    private readonly conn: Connection.Connection,
    context: Context.Context<never>,
  ) {
    this.runPromiseExit = Effect.runPromiseExitWith(context);
  }

  read(maxBytes: number, borrow: boolean, doing: string, limit: Limit): Promise<Uint8Array | null> {
    const read = borrow ? this.conn.readBorrowed(maxBytes) : this.conn.read(maxBytes);
    return this.run(Effect.map(Effect.raceFirst(read, expiry(limit)), Option.getOrNull), doing);
  }

  write(bytes: Uint8Array, doing: string, limit: Limit): Promise<void> {
    return this.run(Effect.raceFirst(this.conn.write(bytes), expiry(limit)), doing);
  }

  closeWrite(): Promise<void> {
    return this.run(this.conn.closeWrite, "closing");
  }

  abort(): void {
    this.controller.abort();
  }

  private run<A>(effect: Effect.Effect<A, SocketError | TimedOut>, doing: string): Promise<A> {
    const signal = this.controller.signal;
    if (signal.aborted) return Promise.reject(ABORTED);
    return this.runPromiseExit(effect, { signal }).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value;
      const failure = Cause.findErrorOption(exit.cause);
      if (Option.isSome(failure)) {
        const error = failure.value;
        throw error instanceof TimedOut
          ? new TransferFailure("TimedOut", `${error.why} while ${doing}`)
          : socketFailure(error.reason, error.message, error.detail, doing, error);
      }
      if (Cause.hasInterruptsOnly(exit.cause)) throw ABORTED;
      throw Cause.squash(exit.cause);
    });
  }
}

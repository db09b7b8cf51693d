// Shared plumbing for opening sockets: abortable connects with an optional
// deadline, and scoped connections.
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import * as Connection from "../Connection.ts";
import { type ConnectReason, fromUnknown, SocketError } from "../SocketError.ts";
import { connectReasons } from "./reasons.ts";
import { acquireInterruptible } from "./scoped.ts";

/** Runs a Deno connect call that can be aborted; a late success after interruption is closed. */
export const connectWith = <C extends Deno.Conn>(
  label: string,
  open: (signal: AbortSignal) => Promise<C>,
  timeout: Duration.Input | undefined,
): Effect.Effect<C, SocketError<ConnectReason>> => {
  // One parameter: Effect.callback makes an AbortController only for a
  // register function that takes the signal, and this one has its own.
  const attempt = Effect.callback<C, SocketError<ConnectReason>>((resume) => {
    const controller = new AbortController();
    let done = false;
    let promise: Promise<C>;
    try {
      promise = open(controller.signal);
    } catch (error) {
      resume(Effect.fail(fromUnknown(error, "connect", label, connectReasons)));
      return;
    }
    promise.then(
      (conn) => {
        if (done) {
          conn.close();
          return;
        }
        done = true;
        resume(Effect.succeed(conn));
      },
      (error) => {
        if (done) return;
        done = true;
        resume(Effect.fail(fromUnknown(error, "connect", label, connectReasons)));
      },
    );
    return Effect.sync(() => {
      if (done) return;
      done = true;
      controller.abort();
    });
  });
  if (timeout === undefined) return attempt;
  const millis = Duration.toMillis(Duration.fromInputUnsafe(timeout));
  return Effect.timeoutOrElse(attempt, {
    duration: timeout,
    orElse: () =>
      Effect.fail(
        new SocketError({
          reason: "TimedOut",
          operation: "connect",
          address: label,
          detail: `no connection within ${millis} ms`,
        }),
      ),
  });
};

/** Acquires a connection in the scope, closing it when the scope closes. */
export const scopedConnection = <E>(
  open: Effect.Effect<Deno.Conn, E>,
  wrap: (conn: Deno.Conn) => Connection.Connection = Connection.fromDeno,
): Effect.Effect<Connection.Connection, E, Scope.Scope> =>
  acquireInterruptible(Effect.map(open, wrap), (conn) => conn.close);

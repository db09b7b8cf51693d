/**
 * A listening socket (`bind` + `listen`) that hands out connections
 * (`accept`), as a service so a server can take it from any transport's Layer
 * (`Tcp.layer`, `Unix.layer`, `Tls.layer`).
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Listener, Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* Listener.Listener;
 *   const conn = yield* listener.accept;
 *   yield* conn.write("欢迎\n");
 * }).pipe(Effect.provide(Tcp.layer("127.0.0.1:0")));
 * ```
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import { type AcceptReason, fromUnknown, SocketError } from "./SocketError.ts";
import { acceptReasons } from "./internal/reasons.ts";
import { acquireInterruptible } from "./internal/scoped.ts";

/**
 * A bound, listening socket.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { type Listener, Address } from "@fibernet/socket";
 *
 * const describe = (listener: Listener.Listener) =>
 *   Effect.log(`listening on ${Address.format(listener.address)}`);
 * ```
 */
export interface Listener {
  /** The bound address; a requested port 0 shows the real port. */
  readonly address: Address.Address;
  /**
   * Waits for the next connection. The caller owns it: close it, or use
   * {@link acceptScoped}. Fails with `Closed` once the listener is closed.
   */
  readonly accept: Effect.Effect<Connection.Connection, SocketError<AcceptReason>>;
  /** Stops listening. Idempotent. */
  readonly close: Effect.Effect<void>;
  /** The underlying Deno listener. */
  readonly raw: Deno.Listener;
}

/**
 * The service tag: the listener a server serves.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Listener } from "@fibernet/socket";
 * const port = Effect.map(Listener.Listener, (l) => l.address);
 * ```
 */
export const Listener: Context.Tag<Listener, Listener> = Context.GenericTag<Listener>(
  "@fibernet/socket/Listener",
);

/**
 * Accepts one connection that is closed when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Listener } from "@fibernet/socket";
 *
 * const once = Effect.flatMap(Listener.Listener, (l) =>
 *   Listener.acceptScoped(l).pipe(
 *     Effect.flatMap((conn) => conn.write("bye")),
 *     Effect.scoped,
 *   ));
 * ```
 */
export const acceptScoped = (
  listener: Listener,
): Effect.Effect<Connection.Connection, SocketError<AcceptReason>, Scope.Scope> =>
  acquireInterruptible(listener.accept, (conn) => conn.close);

/**
 * Every accepted connection, until the listener closes. Each one is the
 * consumer's to close.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { Listener } from "@fibernet/socket";
 *
 * const firstThree = Effect.flatMap(Listener.Listener, (l) =>
 *   Listener.connections(l).pipe(Stream.take(3), Stream.runCollect));
 * ```
 */
export const connections = (
  listener: Listener,
): Stream.Stream<Connection.Connection, SocketError<AcceptReason>> =>
  Stream.repeatEffect(listener.accept).pipe(
    Stream.catchAll((error) => error.reason === "Closed" ? Stream.empty : Stream.fail(error)),
  );

/**
 * Wraps a Deno listener (already bound). Used by `Tcp`, `Unix` and `Tls`;
 * `wrap` turns each accepted Deno connection into a {@link Connection.Connection}.
 *
 * @example
 * ```ts
 * import { Listener } from "@fibernet/socket";
 * const listener = Listener.fromDeno(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * ```
 */
export const fromDeno = (
  raw: Deno.Listener,
  wrap: (conn: Deno.Conn) => Connection.Connection = Connection.fromDeno,
): Listener => new DenoListener(raw, wrap);

class DenoListener implements Listener {
  readonly address: Address.Address;
  private readonly label: string;
  private closed = false;
  /** An accept whose caller was interrupted: the next accept takes its connection. */
  private inflight: Promise<Deno.Conn> | undefined = undefined;

  constructor(
    readonly raw: Deno.Listener,
    private readonly wrap: (conn: Deno.Conn) => Connection.Connection,
  ) {
    this.address = Address.fromDeno(raw.addr);
    this.label = Address.format(this.address);
  }

  get accept(): Effect.Effect<Connection.Connection, SocketError<AcceptReason>> {
    return Effect.async<Connection.Connection, SocketError<AcceptReason>>((resume) => {
      if (this.closed) {
        resume(Effect.fail(this.closedError(undefined)));
        return;
      }
      let interrupted = false;
      const pending = this.inflight ?? this.raw.accept();
      this.inflight = pending;
      pending.then(
        (conn) => {
          if (interrupted) return;
          this.inflight = undefined;
          resume(Effect.succeed(this.wrap(conn)));
        },
        (error) => {
          if (interrupted) return;
          this.inflight = undefined;
          resume(
            Effect.fail(
              this.closed
                ? this.closedError(error)
                : fromUnknown(error, "accept", this.label, acceptReasons),
            ),
          );
        },
      );
      return Effect.sync(() => {
        interrupted = true;
      });
    });
  }

  private closedError(cause: unknown): SocketError<AcceptReason> {
    return new SocketError({ reason: "Closed", operation: "accept", address: this.label, cause });
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.closed) return;
      this.closed = true;
      try {
        this.raw.close();
      } catch {
        // already closed
      }
      // A connection accepted for an interrupted caller is nobody's: close it.
      this.inflight?.then((conn) => conn.close(), () => {});
    });
  }
}

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
import type * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import type { AcceptReason, SocketError } from "./SocketError.ts";
import { format } from "./core/address.ts";
import { type AcceptWaiter, StreamListener } from "./core/stream_listener.ts";
import { IoFailure, PENDING, type StreamSocket } from "./core/stream_socket.ts";
import { acceptFailure } from "./internal/failures.ts";
import { acquireInterruptible } from "./internal/scoped.ts";

/**
 * What a server needs to drive one of this library's listeners by
 * callbacks: the listener under the Effect face, and how each accepted
 * socket becomes a Connection (TLS makes its own kind).
 *
 * @example
 * ```ts
 * import { Connection, type Listener } from "@fibernet/socket";
 * import { StreamListener } from "@fibernet/socket/core";
 *
 * const core: Listener.ListenerCore = {
 *   listener: new StreamListener(Deno.listen({ hostname: "127.0.0.1", port: 0 })),
 *   toConnection: Connection.fromSocket,
 * };
 * ```
 */
export interface ListenerCore {
  /** The callback-level listener. */
  readonly listener: StreamListener;
  /** Turns an accepted socket into a Connection. */
  readonly toConnection: (socket: StreamSocket) => Connection.Connection;
}

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
  /**
   * The callback-level listener, when this is one of this library's: a
   * server accepts from it without an Effect per accept. A listener
   * implemented elsewhere leaves it out, and a server then runs `accept`.
   */
  readonly core?: ListenerCore | undefined;
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
export const Listener: Context.Service<Listener, Listener> = Context.Service<Listener>(
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
  Stream.fromEffectRepeat(listener.accept).pipe(
    Stream.catch((error) => error.reason === "Closed" ? Stream.empty : Stream.fail(error)),
  );

/**
 * Wraps a Deno listener (already bound). Used by `Tcp` and `Unix`.
 *
 * @example
 * ```ts
 * import { Listener } from "@fibernet/socket";
 * const listener = Listener.fromDeno(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * ```
 */
export const fromDeno = (raw: Deno.Listener): Listener =>
  fromCore({ listener: new StreamListener(raw), toConnection: Connection.fromSocket });

/**
 * A Listener over a callback-level listener: how `Tls` makes its own.
 *
 * @example
 * ```ts
 * import { Connection, Listener } from "@fibernet/socket";
 * import { StreamListener } from "@fibernet/socket/core";
 *
 * const listener = Listener.fromCore({
 *   listener: new StreamListener(Deno.listen({ hostname: "127.0.0.1", port: 0 })),
 *   toConnection: Connection.fromSocket,
 * });
 * ```
 */
export const fromCore = (core: ListenerCore): Listener => new CoreListener(core);

class CoreListener implements Listener, AcceptWaiter {
  readonly address: Address.Address;
  private readonly label: string;
  private resume:
    | ((effect: Effect.Effect<Connection.Connection, SocketError<AcceptReason>>) => void)
    | undefined = undefined;

  constructor(readonly core: ListenerCore) {
    this.address = core.listener.address;
    this.label = format(this.address);
  }

  get raw(): Deno.Listener {
    return this.core.listener.raw;
  }

  /** Resumes the waiting fiber with `retry`, which it runs only if it was not interrupted. */
  onAcceptable(): void {
    const resume = this.resume;
    if (resume === undefined) return;
    this.resume = undefined;
    resume(this.retry);
  }

  private readonly retry: Effect.Effect<Connection.Connection, SocketError<AcceptReason>> = Effect
    .suspend(() => this.poll());
  private readonly wait: Effect.Effect<Connection.Connection, SocketError<AcceptReason>> = Effect
    .callback((resume) => {
      this.resume = resume;
    });

  private poll(): Effect.Effect<Connection.Connection, SocketError<AcceptReason>> {
    const accepted = this.core.listener.pollAccept(this);
    if (accepted === PENDING) return this.wait;
    if (accepted instanceof IoFailure) return Effect.fail(acceptFailure(accepted, this.label));
    return Effect.succeed(this.core.toConnection(accepted));
  }

  readonly accept: Effect.Effect<Connection.Connection, SocketError<AcceptReason>> = this.retry;

  get close(): Effect.Effect<void> {
    return Effect.sync(() => this.core.listener.close());
  }
}

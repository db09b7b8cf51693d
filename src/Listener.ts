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
import * as Exit from "effect/Exit";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import { type AcceptReason, fromUnknown, SocketError } from "./SocketError.ts";
import { acceptReasons } from "./internal/reasons.ts";
import { acquireInterruptible } from "./internal/scoped.ts";
import { detachable, type Observer, type Running } from "./internal/detached.ts";

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

type Accepted = Exit.Exit<Connection.Connection, SocketError<AcceptReason>>;

class DenoListener implements Listener, Running {
  readonly address: Address.Address;
  private readonly label: string;
  private closed = false;
  /** An accept is in progress in the runtime. */
  private accepting = false;
  /** Who waits for it, if anyone: a fiber, or a server's accept loop. */
  private waitingFiber:
    | ((effect: Effect.Effect<Connection.Connection, SocketError<AcceptReason>>) => void)
    | undefined = undefined;
  private waitingLoop: Observer | undefined = undefined;
  /**
   * A finished accept not yet taken: kept when its caller was interrupted,
   * so the next accept returns that connection instead of losing it.
   */
  private ready: { readonly conn: Deno.Conn } | { readonly error: unknown } | undefined = undefined;

  constructor(
    readonly raw: Deno.Listener,
    private readonly wrap: (conn: Deno.Conn) => Connection.Connection,
  ) {
    this.address = Address.fromDeno(raw.addr);
    this.label = Address.format(this.address);
  }

  // Built once. A waiting fiber is resumed with `takeAccepted`, which it runs
  // only if it was not interrupted meanwhile, so no canceller is needed. A
  // server accepts by `startAccept` instead, without a fiber (internal/detached.ts).
  readonly accept: Effect.Effect<Connection.Connection, SocketError<AcceptReason>> = detachable(
    Effect.async((resume) => {
      if (this.closed) return resume(Effect.fail(this.closedError(undefined)));
      if (this.ready !== undefined) return resume(this.takeAccepted);
      this.waitingFiber = resume;
      this.startRawAccept();
    }),
    (observer) => {
      if (this.closed) observer.onExit(Exit.fail(this.closedError(undefined)));
      else if (this.ready !== undefined) observer.onExit(this.takeReady());
      else {
        this.waitingLoop = observer;
        this.startRawAccept();
      }
      return this;
    },
  );

  private startRawAccept(): void {
    if (this.accepting) return;
    this.accepting = true;
    let pending: Promise<Deno.Conn>;
    try {
      pending = this.raw.accept();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.onAccepted, this.onAcceptFailed);
  }

  /** A server's loop stops waiting; a connection accepted later waits in `ready`. */
  stop(): void {
    this.waitingLoop = undefined;
  }

  private readonly onAccepted = (conn: Deno.Conn): void => {
    this.accepting = false;
    if (this.closed) return conn.close(); // accepted for nobody
    this.ready = { conn };
    this.wakeWaiter();
  };

  private readonly onAcceptFailed = (error: unknown): void => {
    this.accepting = false;
    this.ready = { error };
    this.wakeWaiter();
  };

  private wakeWaiter(): void {
    const fiber = this.waitingFiber;
    if (fiber !== undefined) {
      this.waitingFiber = undefined;
      return fiber(this.takeAccepted);
    }
    const loop = this.waitingLoop;
    if (loop !== undefined) {
      this.waitingLoop = undefined;
      loop.onExit(this.takeReady());
    }
  }

  private readonly takeAccepted: Effect.Effect<
    Connection.Connection,
    SocketError<AcceptReason>
  > = Effect.suspend(() => this.takeReady());

  private takeReady(): Accepted {
    const ready = this.ready!;
    this.ready = undefined;
    if ("conn" in ready) return Exit.succeed(this.wrap(ready.conn));
    return Exit.fail(
      this.closed
        ? this.closedError(ready.error)
        : fromUnknown(ready.error, "accept", this.label, acceptReasons),
    );
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
      const ready = this.ready;
      this.ready = undefined;
      if (ready !== undefined && "conn" in ready) ready.conn.close();
      // A waiting caller learns the listener is closed now.
      const fiber = this.waitingFiber;
      const loop = this.waitingLoop;
      this.waitingFiber = undefined;
      this.waitingLoop = undefined;
      fiber?.(Effect.fail(this.closedError(undefined)));
      loop?.onExit(Exit.fail(this.closedError(undefined)));
    });
  }
}

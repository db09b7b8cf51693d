/**
 * A server that runs each connection's handler concurrently: the Effect
 * counterpart of Python's `socketserver.ThreadingTCPServer` with a
 * `handle()` method, where a fiber takes the place of a thread.
 *
 * The handler is any `(connection) => Effect`. The server takes its listener
 * from the {@link Listener.Listener} service, so the same handler serves TCP,
 * Unix or TLS depending on which Layer provides it.
 *
 * ```ts
 * import { Effect, Layer, Option } from "effect";
 * import { Runtime, Server, Tcp } from "@fibernet/socket";
 *
 * const echo = Server.serveForever((conn) =>
 *   Effect.gen(function* () {
 *     while (true) {
 *       const chunk = yield* conn.read();
 *       if (Option.isNone(chunk)) return;
 *       yield* conn.write(chunk.value);
 *     }
 *   })
 * );
 *
 * Runtime.runMain(Layer.launch(echo.pipe(Layer.provide(Tcp.layer("127.0.0.1:9999")))));
 * ```
 *
 * Behaviour worth knowing:
 * - Each handler runs in a fiber of its own, except a handler that is just
 *   one of this library's copy loops (`Connection.copy(conn, other)` or
 *   `Connection.forEachChunk(conn, conn.write)`, an echo): that one runs by
 *   its callbacks and holds no fiber while it waits, which makes an idle
 *   connection cheap. The accept loop runs by callbacks too.
 * - At `maxConnections` the server stops accepting; new clients wait in the
 *   kernel's backlog (`Tcp.listen`'s `backlog`) until a slot frees. Nobody is
 *   refused by the server itself.
 * - A connection whose read has waited longer than `idleTimeout` is closed
 *   and its handler interrupted.
 * - When the scope closes (Ctrl-C under `Runtime.runMain`) the listener closes
 *   at once, running handlers get `shutdownTimeout` to finish, the rest are
 *   interrupted, and every connection is closed.
 * - A handler's failure or defect is logged with the peer address and touches
 *   nothing else. Accept errors (such as running out of file descriptors) are
 *   logged and retried with back-off.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Context from "effect/Context";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as FiberRef from "effect/FiberRef";
import * as FiberRefs from "effect/FiberRefs";
import * as HashMap from "effect/HashMap";
import * as Layer from "effect/Layer";
import * as LogLevel from "effect/LogLevel";
import * as Metric from "effect/Metric";
import * as ExecutionStrategy from "effect/ExecutionStrategy";
import { pipeArguments } from "effect/Pipeable";
import * as Runtime from "effect/Runtime";
import * as Scheduler from "effect/Scheduler";
import * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import type * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import * as Detached from "./internal/detached.ts";
import { escapeText } from "./core/printable.ts";
import type { AcceptReason, SocketError } from "./SocketError.ts";

/**
 * What a handler is: given a connection, an Effect that serves it. The
 * connection is closed when the Effect ends, however it ends. A `Scope` in
 * the requirements is provided per connection.
 *
 * @example
 * ```ts
 * import type { Server, SocketError } from "@fibernet/socket";
 * const hello: Server.Handler<SocketError.SocketError, never> = (conn) => conn.write("hello\n");
 * ```
 */
export type Handler<E, R> = (connection: Connection.Connection) => Effect.Effect<unknown, E, R>;

/**
 * Server options; every one has a default.
 *
 * @example
 * ```ts
 * import type { Server } from "@fibernet/socket";
 * const options: Server.Options = {
 *   maxConnections: 1000,
 *   idleTimeout: "30 seconds",
 *   shutdownTimeout: "5 seconds",
 * };
 * ```
 */
export interface Options {
  /** Most connections served at once; more wait in the backlog. Default 10 000. */
  readonly maxConnections?: number;
  /**
   * Close a connection whose read has waited this long for the peer.
   * Default 5 minutes; `Duration.infinity` turns it off.
   */
  readonly idleTimeout?: Duration.DurationInput;
  /** How long running handlers may take to finish at shutdown. Default 10 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput;
  /** Disable Nagle's algorithm on accepted TCP connections. Default true. */
  readonly noDelay?: boolean;
  /**
   * The level at which a handler's typed failure is logged: one line with the
   * peer and the error's message, no stack, since a peer that resets, times
   * out or sends bad data is expected. Default `"Info"`; `"None"` silences
   * them. Defects (bugs: a thrown exception, `Effect.die`) are always logged
   * at `"Error"` with their stack.
   */
  readonly failureLogLevel?: LogLevel.Literal;
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Server } from "@fibernet/socket";
 * const where = Effect.map(Server.Server, (s) => Address.format(s.address));
 * ```
 */
export interface Server {
  /** The bound address (a requested port 0 shows the real port). */
  readonly address: Address.Address;
  /** Connections being served right now. */
  readonly activeConnections: Effect.Effect<number>;
}

/**
 * The service tag of a running {@link Server}, provided by {@link serveForever}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Server } from "@fibernet/socket";
 * const port = Effect.map(Server.Server, (s) => s.address);
 * ```
 */
export const Server: Context.Tag<Server, Server> = Context.GenericTag<Server>(
  "@fibernet/socket/Server",
);

/**
 * Metrics every server updates, labelled with nothing: read them with
 * Effect's usual metric tooling.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect";
 * import { Server } from "@fibernet/socket";
 * const accepted = Metric.value(Server.metrics.accepted);
 * ```
 */
export const metrics: {
  readonly accepted: Metric.Metric.Counter<number>;
  readonly active: Metric.Metric.Gauge<number>;
  readonly failed: Metric.Metric.Counter<number>;
  readonly bytesIn: Metric.Metric.Counter<number>;
  readonly bytesOut: Metric.Metric.Counter<number>;
} = {
  accepted: Metric.counter("socket_server_connections_accepted", {
    description: "connections accepted",
  }),
  active: Metric.gauge("socket_server_connections_active", {
    description: "connections being served",
  }),
  failed: Metric.counter("socket_server_connections_failed", {
    description: "connections whose handler failed or died",
  }),
  bytesIn: Metric.counter("socket_server_bytes_in", { description: "bytes read from clients" }),
  bytesOut: Metric.counter("socket_server_bytes_out", {
    description: "bytes written to clients",
  }),
};

const DEFAULT_MAX_CONNECTIONS = 10_000;

/** Turns Nagle off on TCP connections; other transports have no such option. */
const setNoDelay = (raw: Deno.Conn): void => {
  try {
    (raw as Partial<Deno.TcpConn>).setNoDelay?.(true);
  } catch {
    // Closed already: the handler will find out.
  }
};
const DEFAULT_IDLE_TIMEOUT = Duration.minutes(5);

/**
 * Effect's default scheduler, but with one task queue for all fibers. Given
 * the fiber, it keeps a queue per fiber (in a WeakMap), which costs every
 * connection's fiber memory and its creation and collection time; connection
 * fibers gain nothing from separate queues.
 */
const sharedScheduler: Scheduler.Scheduler = {
  shouldYield: (fiber) => Scheduler.defaultScheduler.shouldYield(fiber),
  scheduleTask: (task, priority) => Scheduler.defaultScheduler.scheduleTask(task, priority),
};

/**
 * The Scope a handler gets: the real one is made the first time the handler
 * adds a finalizer or forks a scope, so handlers that never use it pay nothing.
 */
class LazyScope implements Scope.Scope {
  readonly [Scope.ScopeTypeId]: Scope.ScopeTypeId = Scope.ScopeTypeId;
  readonly strategy: ExecutionStrategy.ExecutionStrategy = ExecutionStrategy.sequential;
  made: Scope.CloseableScope | undefined = undefined;

  private get scope(): Scope.CloseableScope {
    return this.made ??= Effect.runSync(Scope.make());
  }
  fork(strategy: ExecutionStrategy.ExecutionStrategy): Effect.Effect<Scope.CloseableScope> {
    return Effect.suspend(() => Scope.fork(this.scope, strategy));
  }
  addFinalizer(finalizer: Scope.Scope.Finalizer): Effect.Effect<void> {
    return Effect.suspend(() => Scope.addFinalizerExit(this.scope, finalizer));
  }
  pipe(): unknown {
    return pipeArguments(this, arguments);
  }
}
const DEFAULT_SHUTDOWN_TIMEOUT = Duration.seconds(10);

/** What a server does when a connection's handler ends. */
interface Ending {
  readonly finish: (entry: Active) => void;
  readonly logFailure: (connection: Connection.Connection, cause: Cause.Cause<unknown>) => void;
}

/** A connection being served. */
class Active implements Detached.Observer {
  /** The fiber serving the connection, or closing the Scope its handler used. */
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined;
  /** A handler running without a fiber (see internal/detached.ts). */
  running: Detached.Running | undefined = undefined;

  constructor(readonly connection: Connection.Connection, private readonly ending: Ending) {}

  /** A handler without a fiber ended. */
  onExit(exit: Exit.Exit<unknown, unknown>): void {
    if (exit._tag === "Failure") this.ending.logFailure(this.connection, exit.cause);
    this.ending.finish(this);
  }
}

/** One line for a typed failure: its tag or name and message, escaped and capped. */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause);
  if (failure._tag === "None") return escapeText(Cause.pretty(cause).split("\n")[0]);
  const error = failure.value as { _tag?: unknown; name?: unknown; message?: unknown } | null;
  if (error !== null && typeof error === "object" && typeof error.message === "string") {
    const tag = typeof error._tag === "string" ? error._tag : String(error.name ?? "Error");
    return escapeText(`${tag}: ${error.message}`, { maxLength: 300 });
  }
  return escapeText(String(failure.value), { maxLength: 300 });
};

/**
 * Starts serving in the background of the current scope and returns the
 * running {@link Server}. Closing the scope shuts the server down gracefully.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Server, Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const server = yield* Server.make((conn) => conn.write("hi\n"));
 *   yield* Effect.log(server.address);
 * }).pipe(Effect.provide(Tcp.layer("127.0.0.1:0")), Effect.scoped);
 * ```
 */
export const make = <E, R>(
  handler: Handler<E, R>,
  options?: Options,
): Effect.Effect<Server, never, Listener.Listener | Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    const listener = yield* Listener.Listener;
    const maxConnections = options?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const idleTimeout = Duration.decode(options?.idleTimeout ?? DEFAULT_IDLE_TIMEOUT);
    const shutdownTimeout = Duration.decode(options?.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT);
    const noDelay = options?.noDelay ?? true;
    const active = new Set<Active>();

    // Free connection slots. Only the accept loop takes them; handlers' exits give them back.
    let slots = maxConnections;
    /** The accept loop, paused until a slot frees. */
    let acceptPaused = false;
    const releaseSlot = () => {
      slots++;
      if (acceptPaused) {
        acceptPaused = false;
        acceptNext();
      }
    };

    // Connection fibers, and work that outlives one (its failure log, closing
    // the Scope it used), run in the server's own runtime: its services, its
    // logger, and one scheduler queue for all connections. Interruptible even
    // if the server is made in an uninterruptible region (as a Layer may be):
    // the idle sweep and the shutdown interrupt handlers.
    const runtime = yield* Effect.runtime<Exclude<R, Scope.Scope>>().pipe(
      Effect.withScheduler(sharedScheduler),
      Effect.interruptible,
    );
    const runFork = Runtime.runFork(runtime);
    const baseAnnotations = FiberRefs.getOrDefault(
      runtime.fiberRefs,
      FiberRef.currentLogAnnotations,
    );

    // Shutdown waits for the last connection to finish.
    let wakeDrained: (() => void) | undefined;
    const drained = Effect.async<void>((resume) => {
      if (active.size === 0) return resume(Effect.void);
      wakeDrained = () => resume(Effect.void);
      return Effect.sync(() => {
        wakeDrained = undefined;
      });
    });

    const finish = (entry: Active): void => {
      if (!active.delete(entry)) return;
      entry.running = undefined;
      const connection = entry.connection;
      connection.unsafeClose();
      metrics.active.unsafeModify(-1, []);
      metrics.bytesIn.unsafeUpdate(connection.bytesRead, []);
      metrics.bytesOut.unsafeUpdate(connection.bytesWritten, []);
      releaseSlot();
      if (active.size === 0 && wakeDrained !== undefined) {
        const wake = wakeDrained;
        wakeDrained = undefined;
        wake();
      }
    };

    const failureLevel = LogLevel.fromLiteral(options?.failureLogLevel ?? "Info");
    const logFailure = (connection: Connection.Connection, cause: Cause.Cause<unknown>): void => {
      metrics.failed.unsafeUpdate(1, []);
      const peer = Address.format(connection.remoteAddress);
      // A bug deserves its stack; an expected failure one line.
      const log = Cause.isDie(cause)
        ? Effect.logError("connection handler died", cause)
        : failureLevel._tag === "None"
        ? Effect.void
        : Effect.logWithLevel(failureLevel, `connection failed: ${describeFailure(cause)}`);
      runFork(Effect.annotateLogs(log, "peer", peer));
    };

    const ending: Ending = { finish, logFailure };

    // Per connection: the handler's Effect, run by callbacks if it is one of
    // this library's callback loops (an echo or copy: no fiber at all), else
    // by one fiber with the peer in its log annotations and a Scope that is
    // only made if the handler uses it. Clean-up is a synchronous fiber
    // observer: no Effects on the fiber's stack, so a connection costs less
    // time and memory.
    const serveOne = (connection: Connection.Connection): void => {
      const entry = new Active(connection, ending);
      active.add(entry);
      slots--;
      metrics.accepted.unsafeUpdate(1, []);
      metrics.active.unsafeModify(1, []);
      if (noDelay) setNoDelay(connection.raw);
      let effect: Effect.Effect<unknown, unknown>;
      try {
        effect = handler(connection) as Effect.Effect<unknown, unknown>;
      } catch (defect) {
        // A handler that throws instead of returning an Effect fails this connection only.
        effect = Effect.die(defect);
      }
      const start = Detached.startOf(effect);
      if (start !== undefined) {
        try {
          const running = start(entry);
          if (active.has(entry)) entry.running = running;
        } catch (defect) {
          entry.onExit(Exit.die(defect));
        }
        return;
      }
      // The fiber is the connection's own, so its log annotation and its Scope
      // are part of the FiberRefs it starts with: no Effects to set them (or,
      // as annotateLogs and Effect.scoped would, to restore them afterwards).
      const peer = Address.format(connection.remoteAddress);
      const scope = new LazyScope();
      const fiber = runFork(effect, {
        updateRefs: (refs, fiberId) =>
          FiberRefs.updateManyAs(refs, {
            entries: [
              [FiberRef.currentLogAnnotations, [[
                fiberId,
                HashMap.set(baseAnnotations, "peer", peer as unknown),
              ]]],
              [FiberRef.currentContext, [[
                fiberId,
                Context.add(runtime.context, Scope.Scope, scope as Scope.Scope),
              ]]],
            ],
          }),
      });
      entry.fiber = fiber;
      fiber.addObserver((exit) => {
        if (exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)) {
          logFailure(connection, exit.cause);
        }
        const made = scope.made;
        if (made === undefined) return finish(entry);
        // The handler's finalizers may take time: the shutdown waits for them as for a handler.
        const closing = runFork(Effect.uninterruptible(Scope.close(made, exit)));
        entry.fiber = closing;
        closing.addObserver(() => finish(entry));
      });
    };

    // The accept loop runs by callbacks, without a fiber: per connection it
    // costs one accept and no Effect. A Listener whose accept cannot run
    // that way (one written elsewhere) is driven by a fiber per accept.
    const startAccept: Detached.Start = Detached.startOf(listener.accept) ??
      ((observer) => {
        const fiber = runFork(listener.accept);
        fiber.addObserver((exit) => observer.onExit(exit));
        return { stop: () => fiber.unsafeInterruptAsFork(fiber.id()) };
      });
    let stopped = false;
    let accepting: Detached.Running | undefined;
    let backoffDelay = 0;
    let backoffTimer: ReturnType<typeof setTimeout> | undefined;
    const acceptNext = (): void => {
      if (stopped) return;
      if (slots <= 0) {
        acceptPaused = true;
        return;
      }
      accepting = startAccept(acceptObserver);
    };
    const acceptObserver: Detached.Observer = {
      onExit(exit) {
        accepting = undefined;
        if (stopped) {
          if (exit._tag === "Success") (exit.value as Connection.Connection).unsafeClose();
          return;
        }
        if (exit._tag === "Success") {
          backoffDelay = 0;
          try {
            serveOne(exit.value as Connection.Connection);
          } catch (defect) {
            // A bug of ours must not end the loop (it runs in a promise callback).
            runFork(Effect.logError("serving a connection failed", Cause.die(defect)));
          }
          return acceptNext();
        }
        const error = Cause.failureOption(exit.cause as Cause.Cause<SocketError<AcceptReason>>);
        if (error._tag === "Some" && error.value.reason === "Closed") {
          // Closed under a running server: its Layer's scope ended first.
          stopped = true;
          runFork(Effect.logError(
            `the listener on ${
              Address.format(listener.address)
            } was closed while the server was running; it accepts no more connections. ` +
              "Keep the listener's Layer open as long as the server: provide it to the whole " +
              "program (or use Server.serveForever as a Layer), not with Effect.provide around Server.make",
          ));
          return;
        }
        // A client that reset before it was accepted: its problem, not the server's.
        if (error._tag === "Some" && error.value.reason === "ConnectionReset") return acceptNext();
        // EMFILE and the like: the listener survives, so wait and try again.
        backoffDelay = Math.min(1000, backoffDelay === 0 ? 10 : backoffDelay * 2);
        runFork(Effect.logWarning(
          `accept failed, retrying in ${backoffDelay} ms: ${
            error._tag === "Some" ? error.value.message : Cause.pretty(exit.cause)
          }`,
        ));
        backoffTimer = setTimeout(() => {
          backoffTimer = undefined;
          acceptNext();
        }, backoffDelay);
      },
    };

    /** Stops a handler running without a fiber, as interrupting its fiber would. */
    const stopDetached = (entry: Active): void => {
      const running = entry.running;
      if (running === undefined) return;
      running.stop();
      finish(entry);
    };

    // Runs in the sweeper fiber, so the log goes through the program's own logger.
    const sweepIdle = Effect.suspend(() => {
      const deadline = Date.now() - Duration.toMillis(idleTimeout);
      const idle: Active[] = [];
      for (const entry of active) {
        const since = entry.connection.readWaitingSince;
        if (since !== undefined && since < deadline) idle.push(entry);
      }
      return Effect.forEach(idle, (entry) => {
        const { fiber, running } = entry;
        if (fiber === undefined && running === undefined) return Effect.void;
        entry.fiber = undefined;
        return Effect.zipRight(
          Effect.logInfo("closing idle connection").pipe(
            Effect.annotateLogs("peer", Address.format(entry.connection.remoteAddress)),
          ),
          fiber !== undefined ? Fiber.interruptFork(fiber) : Effect.sync(() => stopDetached(entry)),
        );
      }, { discard: true });
    });
    const idleMillis = Duration.toMillis(idleTimeout);
    acceptNext();
    const sweeperFiber = yield* Effect.forkDaemon(
      Effect.interruptible(
        Number.isFinite(idleMillis)
          ? Effect.forever(
            Effect.zipRight(Effect.sleep(Math.max(10, Math.min(1000, idleMillis / 4))), sweepIdle),
          )
          : Effect.never,
      ),
    );

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Stop accepting at once: new clients are refused, not queued.
        stopped = true;
        accepting?.stop();
        clearTimeout(backoffTimer);
        yield* listener.close;
        const running = () =>
          [...active].map((entry) => entry.fiber).filter((
            f,
          ): f is Fiber.RuntimeFiber<unknown, unknown> => f !== undefined);
        // The wait runs in its own fiber: this finalizer is uninterruptible (so a
        // timeout inside it could not cut the wait short), and it may run while
        // the owning fiber is being interrupted (which would cut it short at once).
        // (A fiber forked here inherits uninterruptibility: undo that inside it.)
        if (active.size > 0) {
          yield* Effect.logInfo(
            `shutdown: draining ${active.size} connection(s), up to ${
              Duration.format(shutdownTimeout)
            }`,
          );
        }
        const drain = yield* Effect.forkDaemon(
          Effect.interruptible(Effect.timeout(drained, shutdownTimeout)).pipe(
            Effect.as(true),
            Effect.catchAll(() => Effect.succeed(false)),
          ),
        );
        if (!(yield* Fiber.join(drain))) {
          yield* Effect.logInfo(
            `shutdown: interrupting ${active.size} connection(s) after ${
              Duration.format(shutdownTimeout)
            }`,
          );
          for (const entry of [...active]) stopDetached(entry);
          yield* Fiber.interruptAll(running());
        }
        yield* Fiber.interrupt(sweeperFiber);
      })
    );

    return {
      address: listener.address,
      activeConnections: Effect.sync(() => active.size),
    } satisfies Server;
  });

/**
 * Serves forever as a Layer: the server runs for as long as the Layer lives
 * and shuts down gracefully when its scope closes. Provide a listener Layer
 * (`Tcp.layer`, `Unix.layer`, `Tls.layer`) to choose the transport.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect";
 * import { Runtime, Server, Tcp } from "@fibernet/socket";
 *
 * const Welcome = Server.serveForever((conn) => conn.write("欢迎\n")).pipe(
 *   Layer.provide(Tcp.layer("127.0.0.1:9999")),
 * );
 * Runtime.runMain(Layer.launch(Welcome));
 * ```
 */
export const serveForever = <E, R>(
  handler: Handler<E, R>,
  options?: Options,
): Layer.Layer<Server, never, Listener.Listener | Exclude<R, Scope.Scope>> =>
  Layer.scoped(Server, make(handler, options));

/**
 * Serves forever as a plain Effect that never returns; interrupt it to shut
 * the server down gracefully.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Server, Tcp } from "@fibernet/socket";
 *
 * const program = Server.serve((conn) => conn.write("bye\n")).pipe(
 *   Effect.provide(Tcp.layer("127.0.0.1:9999")),
 * );
 * ```
 */
export const serve = <E, R>(
  handler: Handler<E, R>,
  options?: Options,
): Effect.Effect<never, never, Listener.Listener | Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.zipRight(make(handler, options), Effect.never));

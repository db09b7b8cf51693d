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
 * import { DenoRuntime, Server, Tcp } from "@fibernet/socket";
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
 * DenoRuntime.runMain(Layer.launch(echo.pipe(Layer.provide(Tcp.layer("127.0.0.1:9999")))));
 * ```
 *
 * Behaviour worth knowing:
 * - Each handler runs in a fiber of its own. A {@link Loop} (such as
 *   {@link echo}) is the other kind of handler: it runs by callbacks, without
 *   a fiber, which makes an idle connection cheap. Which one runs is visible
 *   in the type of what you pass. The accept loop runs by callbacks too.
 * - At `maxConnections` the server stops accepting; new clients wait in the
 *   kernel's backlog (`Tcp.listen`'s `backlog`) until a slot frees. Nobody is
 *   refused by the server itself.
 * - A connection whose read has waited longer than `idleTimeout`, or whose
 *   write has made no progress for `writeTimeout` (a peer that stopped
 *   reading), is closed and its handler interrupted.
 * - When the scope closes (Ctrl-C under `DenoRuntime.runMain`) the listener closes
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
import type * as Fiber from "effect/Fiber";
import * as Layer from "effect/Layer";
import * as LogLevel from "effect/LogLevel";
import * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import type { ReadReason, SocketError, WriteReason } from "./SocketError.ts";
import { format } from "./core/address.ts";
import { CopyFailure, CopyLoop } from "./core/copy_loop.ts";
import { escapeText } from "./core/printable.ts";
import { type Acceptor, type Served, ServeLoop, type Session } from "./core/serve_loop.ts";
import type { AcceptWaiter } from "./core/stream_listener.ts";
import { IoFailure, PENDING, type StreamSocket } from "./core/stream_socket.ts";
import { connectionForker, LazyScope } from "./internal/effect3_fibers.ts";
import { acceptFailure, readFailure, writeFailure } from "./internal/failures.ts";
import * as ServerMetrics from "./internal/server_metrics.ts";
import { peerAttributes } from "./internal/tracing.ts";

/**
 * What a handler is: given a connection, an Effect that serves it, run in a
 * fiber of its own. The connection is closed when the Effect ends, however
 * it ends. A `Scope` in the requirements is provided per connection.
 *
 * @example
 * ```ts
 * import type { Server, SocketError } from "@fibernet/socket";
 * const hello: Server.Handler<SocketError.SocketError, never> = (conn) => conn.write("hello\n");
 * ```
 */
export type Handler<E, R> = (connection: Connection.Connection) => Effect.Effect<unknown, E, R>;

/**
 * A handler that runs by callbacks instead of in a fiber: no fiber to make,
 * schedule and collect per connection, and an idle connection costs only
 * its socket. {@link echo} is one. Its `effect` is the same work as an
 * ordinary handler, run when the connection is not one of this library's
 * sockets (a listener implemented elsewhere).
 *
 * @example
 * ```ts
 * import { Server } from "@fibernet/socket";
 * const loop: Server.Loop = Server.echo;
 * ```
 */
export interface Loop {
  /** Discriminator. */
  readonly _tag: "Loop";
  /**
   * Serves `socket` by callbacks; calls `done` once when finished (with the
   * failure, if any). The returned `stop` ends it early, and `done` is then
   * not called.
   */
  readonly start: (
    socket: StreamSocket,
    done: (failure?: SocketError) => void,
  ) => { stop(): void };
  /** The same work as an Effect, for connections without a socket of this library. */
  readonly effect: Handler<SocketError, never>;
}

/**
 * An echo: every byte a client sends comes straight back, until it closes
 * its side. Runs as a copy loop without a fiber (see {@link Loop}).
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { Server, Tcp } from "@fibernet/socket";
 * const Echo = Server.serveForever(Server.echo).pipe(Layer.provide(Tcp.layer("127.0.0.1:7000")));
 * ```
 */
export const echo: Loop = {
  _tag: "Loop",
  start: (socket, done) =>
    new CopyLoop(socket, socket, {
      onCopyEnd: (result) =>
        done(
          result instanceof CopyFailure
            ? result.side === "read"
              ? readFailure(result.failure, socket.label) as SocketError<ReadReason>
              : writeFailure(result.failure, "write", socket.label) as SocketError<WriteReason>
            : undefined,
        ),
    }).start(),
  effect: (conn) => Connection.copy(conn, conn),
};

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
  /**
   * Close a connection whose write has made no progress for this long: a
   * peer that stopped reading. Default: the same as `idleTimeout`.
   */
  readonly writeTimeout?: Duration.DurationInput;
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
  /**
   * The `server.name` label of this server's metrics, so that two servers in
   * one process are told apart. Default: the listening address.
   */
  readonly name?: string;
  /**
   * Run each connection's handler in a span (`socket.server.connection`,
   * kind server) with the peer, transport and server as attributes and the
   * bytes read and written added at the end; its outcome is the span's
   * status. Default false: no span, no cost. (A {@link Loop} handler is then
   * run as its `effect`, in a fiber.)
   */
  readonly tracing?: boolean;
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
  /** This server's metrics: {@link metrics} tagged with its labels. */
  readonly metrics: ServerMetrics.ServerMetrics;
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
 * The metrics every server updates. Each server tags them with its labels
 * (`server.name`, `network.transport`, `server.address`, `server.port`, and a `unit` that
 * OpenTelemetry exporters use): read one server's own with
 * `server.metrics` (see {@link Server}). Counters are monotonic; the byte
 * counters move while connections are open (reported once a second and at
 * close); `duration` is a histogram of connection lifetimes in seconds.
 *
 * | metric | kind | unit |
 * |---|---|---|
 * | `socket.server.connections` | counter | {connection} |
 * | `socket.server.active_connections` | gauge | {connection} |
 * | `socket.server.connection_failures` | counter | {connection} |
 * | `socket.server.bytes_received` | counter | By |
 * | `socket.server.bytes_sent` | counter | By |
 * | `socket.server.connection.duration` | histogram | s |
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect";
 * import { Server } from "@fibernet/socket";
 * const accepted = Effect.flatMap(Server.Server, (server) => Metric.value(server.metrics.accepted));
 * ```
 */
export const metrics: ServerMetrics.ServerMetrics = ServerMetrics.definitions;

/** A server's metric labels: its name (default: its address), transport, host and port. */
const labelsOf = (
  address: Address.Address,
  name: string | undefined,
): ServerMetrics.ServerLabels =>
  address._tag === "UnixAddress"
    ? { name: name ?? Address.format(address), transport: "unix", address: address.path }
    : {
      name: name ?? Address.format(address),
      transport: "tcp",
      address: address.hostname,
      port: address.port,
    };

/**
 * The metrics of the server listening on `address` with this `name` option
 * (default: the address), for a server whose {@link Server} value is out of
 * reach (one run by `DenoSocketServer`, say).
 *
 * @example
 * ```ts
 * import { Metric } from "effect";
 * import { Address, Server } from "@fibernet/socket";
 * const failures = Metric.value(Server.metricsFor(Address.inet("127.0.0.1", 8080), "api").failed);
 * ```
 */
export const metricsFor = (
  address: Address.Address,
  name?: string,
): ServerMetrics.ServerMetrics => ServerMetrics.forServer(labelsOf(address, name));

const DEFAULT_MAX_CONNECTIONS = 10_000;
const DEFAULT_IDLE_TIMEOUT = Duration.minutes(5);
const DEFAULT_SHUTDOWN_TIMEOUT = Duration.seconds(10);

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
 * A listener implemented elsewhere (no callback-level core): each accept
 * runs its `accept` Effect in a fiber, and each connection is served as the
 * loop's `Served` through the Connection interface.
 */
class ForeignConnection implements Served {
  onRawClose: (() => void) | undefined = undefined;
  get bytesRead(): number {
    return this.connection.bytesRead;
  }
  get bytesWritten(): number {
    return this.connection.bytesWritten;
  }
  readonly label: string;
  constructor(readonly connection: Connection.Connection) {
    this.label = format(connection.remoteAddress);
  }
  get readWaitingSince(): number | undefined {
    return this.connection.readWaitingSince;
  }
  get writeWaitingSince(): number | undefined {
    return this.connection.writeWaitingSince;
  }
  close(): void {
    this.connection.unsafeClose();
    this.onRawClose?.();
    this.onRawClose = undefined;
  }
  abort(): void {
    this.close();
  }
}

class FiberAcceptor implements Acceptor<ForeignConnection> {
  private fiber: Fiber.RuntimeFiber<Connection.Connection, unknown> | undefined = undefined;
  private ready: ForeignConnection | IoFailure | undefined = undefined;
  private waiter: AcceptWaiter | undefined = undefined;

  constructor(
    private readonly listener: Listener.Listener,
    private readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>,
  ) {}

  pollAccept(waiter: AcceptWaiter): ForeignConnection | IoFailure | typeof PENDING {
    const ready = this.ready;
    if (ready !== undefined) {
      this.ready = undefined;
      return ready;
    }
    this.waiter = waiter;
    if (this.fiber === undefined) {
      const fiber = this.run(this.listener.accept);
      this.fiber = fiber;
      fiber.addObserver((exit) => {
        this.fiber = undefined;
        if (exit._tag === "Success") this.ready = new ForeignConnection(exit.value);
        else {
          const error = Cause.failureOption(exit.cause);
          const closed = error._tag === "Some" && error.value.reason === "Closed";
          this.ready = new IoFailure(error._tag === "Some" ? error.value : exit.cause, closed);
        }
        const wake = this.waiter;
        this.waiter = undefined;
        wake?.onAcceptable();
      });
    }
    return PENDING;
  }

  cancelAccept(waiter: AcceptWaiter): void {
    if (this.waiter !== waiter) return;
    this.waiter = undefined;
    this.fiber?.unsafeInterruptAsFork(this.fiber.id());
  }
}

/**
 * A connection's handler in a span: the peer, transport and server as
 * attributes, the bytes read and written added when it ends.
 */
const traced = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  connection: Connection.Connection,
  listening: Address.Address,
): Effect.Effect<A, E | SocketError, R> => {
  const attributes: Record<string, unknown> = {
    ...peerAttributes("server", listening),
    ...peerAttributes("network.peer", connection.remoteAddress),
  };
  // A TLS handshake shows as a child span before the handler's own work.
  const handshake = connection.handshake;
  const body: Effect.Effect<A, E | SocketError, R> = handshake === undefined
    ? effect
    : Effect.zipRight(handshake, effect);
  return Effect.withSpan(
    Effect.ensuring(
      body,
      Effect.suspend(() =>
        Effect.annotateCurrentSpan({
          "socket.bytes_received": connection.bytesRead,
          "socket.bytes_sent": connection.bytesWritten,
        })
      ),
    ),
    "socket.server.connection",
    // The call site would be this file, not the user's code: not worth a stack capture each.
    { kind: "server", attributes, captureStackTrace: false },
  );
};

const millis = (duration: Duration.DurationInput): number => {
  const ms = Duration.toMillis(Duration.decode(duration));
  return Number.isFinite(ms) ? ms : Infinity;
};

/**
 * Starts serving in the background of the current scope and returns the
 * running {@link Server}. Closing the scope shuts the server down
 * gracefully. The listener must stay open as long as the server: provide its
 * Layer to the whole program (or use {@link serveForever}), not with
 * `Effect.provide` around `make` alone, which closes it when `make` returns.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address, Server, Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const server = yield* Server.make((conn) => conn.write("hi\n"));
 *   yield* Effect.log(`serving on ${Address.format(server.address)}`);
 *   yield* Effect.never;
 * }).pipe(Effect.scoped, Effect.provide(Tcp.layer("127.0.0.1:0")));
 * ```
 */
export const make = <E = never, R = never>(
  handler: Handler<E, R> | Loop,
  options?: Options,
): Effect.Effect<Server, never, Listener.Listener | Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    const listener = yield* Listener.Listener;
    const idleTimeoutMs = millis(options?.idleTimeout ?? DEFAULT_IDLE_TIMEOUT);
    const settings = {
      maxConnections: options?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      idleTimeoutMs,
      writeTimeoutMs: options?.writeTimeout === undefined
        ? idleTimeoutMs
        : millis(options.writeTimeout),
    };
    const shutdownTimeout = Duration.decode(options?.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT);
    const noDelay = options?.noDelay ?? true;
    const failureLevel = LogLevel.fromLiteral(options?.failureLogLevel ?? "Info");
    const forker = yield* connectionForker<Exclude<R, Scope.Scope>>();
    const listenerLabel = format(listener.address);
    const counters = ServerMetrics.forServer(labelsOf(listener.address, options?.name));
    const tracing = options?.tracing ?? false;

    /** Counts what a connection read and wrote since the last report. */
    const reportBytes = (session: Session<Served>): void => {
      const served = session.socket;
      const reported = session.bytesReported;
      const read = served.bytesRead - reported.read;
      const written = served.bytesWritten - reported.written;
      if (read > 0) counters.bytesIn.unsafeUpdate(read, []);
      if (written > 0) counters.bytesOut.unsafeUpdate(written, []);
      reported.read = served.bytesRead;
      reported.written = served.bytesWritten;
    };

    const log = (effect: Effect.Effect<void>, peer?: string): void => {
      forker.run(peer === undefined ? effect : Effect.annotateLogs(effect, "peer", peer));
    };

    const logFailure = (peer: string, cause: Cause.Cause<unknown>): void => {
      counters.failed.unsafeUpdate(1, []);
      // A bug deserves its stack; an expected failure one line.
      if (Cause.isDie(cause)) return log(Effect.logError("connection handler died", cause), peer);
      if (failureLevel._tag === "None") return;
      log(Effect.logWithLevel(failureLevel, `connection failed: ${describeFailure(cause)}`), peer);
    };

    /** Serves one accepted connection: by a Loop's callbacks or in a fiber. */
    const serve = <C extends Served>(
      loop: ServeLoop<C>,
      session: Session<C>,
      connection: Connection.Connection,
    ): void => {
      counters.accepted.unsafeUpdate(1, []);
      counters.active.unsafeModify(1, []);
      const peer = format(connection.remoteAddress);
      const finish = (): void => {
        if (session.ended) return;
        counters.active.unsafeModify(-1, []);
        reportBytes(session as Session<Served>);
        counters.duration.unsafeUpdate((Date.now() - session.acceptedAt) / 1000, []);
        loop.end(session);
      };
      const socket = connection.socket;
      if (noDelay && socket?.isTcp) {
        try {
          (socket.raw as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Closed already: the handler will find out.
        }
      }
      if (typeof handler !== "function" && socket !== undefined && !tracing) {
        const running = handler.start(socket, (failure) => {
          if (failure !== undefined) logFailure(peer, Cause.fail(failure));
          finish();
        });
        if (!session.ended) {
          session.stop = () => {
            running.stop();
            finish();
          };
        }
        return;
      }
      let effect: Effect.Effect<unknown, unknown, Exclude<R, Scope.Scope>>;
      try {
        effect = (typeof handler === "function" ? handler : handler.effect)(
          connection,
        ) as Effect.Effect<
          unknown,
          unknown,
          Exclude<R, Scope.Scope>
        >;
      } catch (defect) {
        // A handler that throws instead of returning an Effect fails this connection only.
        effect = Effect.die(defect);
      }
      if (tracing) effect = traced(effect, connection, listener.address);
      const scope = new LazyScope();
      const fiber = forker.fork(effect, peer, scope);
      session.stop = () => fiber.unsafeInterruptAsFork(fiber.id());
      fiber.addObserver((exit) => {
        if (exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)) {
          logFailure(peer, exit.cause);
        }
        const made = scope.made;
        if (made === undefined) return finish();
        // The handler's finalizers may take time: the shutdown waits for them as for a handler.
        const closing = forker.run(Effect.uninterruptible(Scope.close(made, exit)));
        closing.addObserver(finish);
      });
    };

    const hooks = <C extends Served>(toConnection: (c: C) => Connection.Connection) => {
      const served: { loop?: ServeLoop<C> } = {};
      return {
        served,
        hooks: {
          serve: (session: Session<C>) =>
            serve(served.loop!, session, toConnection(session.socket)),
          acceptFailed: (failure: IoFailure, retryInMs: number) =>
            log(Effect.logWarning(
              `accept failed, retrying in ${retryInMs} ms: ${
                acceptFailure(failure, listenerLabel).message
              }`,
            )),
          listenerClosed: () =>
            log(Effect.logError(
              `the listener on ${listenerLabel} was closed while the server was running; ` +
                "it accepts no more connections. Keep the listener's Layer open as long as the " +
                "server: provide it to the whole program (or use Server.serveForever as a " +
                "Layer), not with Effect.provide around Server.make",
            )),
          idle: (session: Session<C>, direction: "read" | "write") =>
            log(
              Effect.logInfo(
                direction === "read"
                  ? "closing idle connection"
                  : "closing connection: the peer stopped reading",
              ),
              session.socket.label,
            ),
          defect: (error: unknown) =>
            log(Effect.logError("serving a connection failed", Cause.die(error))),
        },
      };
    };

    const start = <C extends Served>(
      acceptor: Acceptor<C>,
      toConnection: (c: C) => Connection.Connection,
    ): ServeLoop<C> => {
      const { served, hooks: h } = hooks(toConnection);
      const loop = new ServeLoop(acceptor, settings, h);
      served.loop = loop;
      loop.start();
      return loop;
    };

    const core = listener.core;
    const loop: ServeLoop<Served> = core !== undefined
      ? start(core.listener, core.toConnection) as unknown as ServeLoop<Served>
      : start(
        new FiberAcceptor(listener, forker.run as never),
        (c: ForeignConnection) => c.connection,
      ) as unknown as ServeLoop<Served>;

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Stop accepting at once: new clients are refused, not queued.
        loop.stopAccepting();
        yield* listener.close;
        const count = loop.sessions.size;
        const drains = Duration.greaterThan(shutdownTimeout, Duration.zero);
        if (count > 0 && drains) {
          yield* Effect.logInfo(
            `shutdown: draining ${count} connection(s), up to ${Duration.format(shutdownTimeout)}`,
          );
        }
        const stopped = yield* Effect.promise(() =>
          loop.shutdown(Duration.toMillis(shutdownTimeout))
        );
        if (stopped > 0) {
          yield* Effect.logInfo(
            drains
              ? `shutdown: interrupted ${stopped} connection(s) after ${
                Duration.format(shutdownTimeout)
              }`
              : `shutdown: interrupted ${stopped} connection(s)`,
          );
        }
      })
    );

    // Byte counters move while connections are open: once a second, not per read.
    const reporter = setInterval(() => {
      for (const session of loop.sessions) reportBytes(session);
    }, 1000);
    Deno.unrefTimer(reporter);
    yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(reporter)));

    return {
      address: listener.address,
      activeConnections: Effect.sync(() => loop.sessions.size),
      metrics: counters,
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
 * import { DenoRuntime, Server, Tcp } from "@fibernet/socket";
 *
 * const Welcome = Server.serveForever((conn) => conn.write("欢迎\n")).pipe(
 *   Layer.provide(Tcp.layer("127.0.0.1:9999")),
 * );
 * DenoRuntime.runMain(Layer.launch(Welcome));
 * ```
 */
export const serveForever = <E = never, R = never>(
  handler: Handler<E, R> | Loop,
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
export const serve = <E = never, R = never>(
  handler: Handler<E, R> | Loop,
  options?: Options,
): Effect.Effect<never, never, Listener.Listener | Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.zipRight(make(handler, options), Effect.never));

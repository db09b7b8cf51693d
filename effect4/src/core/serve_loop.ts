// The machinery of a server, without the handlers: an accept loop with a
// limit on connections, back-off when accepting fails, a sweep that closes
// connections idle for too long (a read waiting for the peer, or a write the
// peer does not take), and a drain at shutdown. The Effect face decides how a
// connection is served (a fiber, or a callback loop) through `ServeHooks`.
import { IoFailure, PENDING } from "./stream_socket.ts";
import type { AcceptWaiter } from "./stream_listener.ts";

/**
 * What the loop needs of a connection it serves (a StreamSocket is one).
 *
 * @example
 * ```ts
 * import type { Served, StreamSocket } from "@fibernet/socket/core";
 * declare const socket: StreamSocket;
 * const served: Served = socket; // a StreamSocket is one
 * ```
 */
export interface Served {
  /** The peer, formatted, for messages. */
  readonly label: string;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  /** When the waiting read started (ms since the epoch), or undefined. */
  readonly readWaitingSince: number | undefined;
  /** When the write in progress last made progress (ms since the epoch), or undefined. */
  readonly writeWaitingSince: number | undefined;
  /** Called once the connection is really closed: its slot frees then. */
  onRawClose: (() => void) | undefined;
  /** Closes, letting bytes already handed over go out first. */
  close(): void;
  /** Closes at once. */
  abort(): void;
}

/**
 * Where the loop gets connections from (a StreamListener is one).
 *
 * @example
 * ```ts
 * import type { Acceptor, StreamListener, StreamSocket } from "@fibernet/socket/core";
 * declare const listener: StreamListener;
 * const acceptor: Acceptor<StreamSocket> = listener; // a StreamListener is one
 * ```
 */
export interface Acceptor<C extends Served> {
  /** The next connection, a failure, or PENDING: `waiter` will hear. */
  pollAccept(waiter: AcceptWaiter): C | IoFailure | typeof PENDING;
  /** `waiter` no longer wants to hear. */
  cancelAccept(waiter: AcceptWaiter): void;
}

/**
 * One connection being served.
 *
 * @example
 * ```ts
 * import type { Session, StreamSocket } from "@fibernet/socket/core";
 * const describe = (session: Session<StreamSocket>) => `${session.socket.label} ended: ${session.ended}`;
 * ```
 */
export class Session<C extends Served = Served> {
  /** Set by whoever serves it: stops its handler, which must then call `ServeLoop.end`. */
  stop: (() => void) | undefined = undefined;
  /** The handler has ended (its slot frees once the socket is really closed). */
  ended = false;
  /** Close without letting handed-over bytes go out (the peer stopped taking them). */
  abortOnEnd = false;
  /** When the connection was accepted (ms since the epoch). */
  readonly acceptedAt: number = Date.now();
  /** Bytes read and written that the face has already counted in its metrics. */
  bytesReported: { read: number; written: number } = { read: 0, written: 0 };

  /** A session for `socket`. */
  constructor(readonly socket: C) {}
}

/**
 * What the face does at each event of the loop.
 *
 * @example
 * ```ts
 * import { CopyLoop, type ServeHooks, ServeLoop, type StreamSocket } from "@fibernet/socket/core";
 * declare const loop: ServeLoop<StreamSocket>;
 * const hooks: ServeHooks<StreamSocket> = {
 *   serve: (session) => {
 *     const copy = new CopyLoop(session.socket, session.socket, { onCopyEnd: () => loop.end(session) });
 *     session.stop = () => {
 *       copy.stop();
 *       loop.end(session);
 *     };
 *     copy.start();
 *   },
 *   acceptFailed: (_failure, retryInMs) => console.warn(`accept failed; retrying in ${retryInMs} ms`),
 *   listenerClosed: () => console.error("listener closed"),
 *   idle: (session) => console.info(`closing idle ${session.socket.label}`),
 *   defect: (error) => console.error(error),
 * };
 * ```
 */
export interface ServeHooks<C extends Served> {
  /** A new connection: start serving it; call `ServeLoop.end(session)` once its handler ends. */
  serve(session: Session<C>): void;
  /** Accepting failed (EMFILE and the like); the loop retries after `retryInMs`. */
  acceptFailed(failure: IoFailure, retryInMs: number): void;
  /** The listener was closed while the loop was running: it accepts no more. */
  listenerClosed(): void;
  /** A connection is being closed for idleness: its read waited, or its write stalled, too long. */
  idle(session: Session<C>, direction: "read" | "write"): void;
  /** A bug in `serve` (it threw); the loop goes on. */
  defect(error: unknown): void;
}

/**
 * Limits; every one is set (the face applies the defaults).
 *
 * @example
 * ```ts
 * import type { ServeSettings } from "@fibernet/socket/core";
 * const settings: ServeSettings = {
 *   maxConnections: 1000,
 *   idleTimeoutMs: 60_000,
 *   writeTimeoutMs: 60_000,
 * };
 * ```
 */
export interface ServeSettings {
  /** Most connections served at once; more wait in the kernel backlog. */
  readonly maxConnections: number;
  /** Close a connection whose read has waited this long (ms; Infinity: never). */
  readonly idleTimeoutMs: number;
  /** Close a connection whose write has made no progress for this long (ms; Infinity: never). */
  readonly writeTimeoutMs: number;
}

const MAX_BACKOFF_MS = 1000;

/**
 * Serves what `acceptor` accepts until `shutdown`.
 *
 * @example
 * ```ts
 * import { CopyLoop, ServeLoop, StreamListener, type StreamSocket } from "@fibernet/socket/core";
 *
 * // An echo server in callbacks, with limits, idle sweep and drain.
 * const listener = new StreamListener(Deno.listen({ hostname: "127.0.0.1", port: 7000 }));
 * const loop: ServeLoop<StreamSocket> = new ServeLoop(listener, {
 *   maxConnections: 1000,
 *   idleTimeoutMs: 60_000,
 *   writeTimeoutMs: 60_000,
 * }, {
 *   serve: (session) => {
 *     const copy = new CopyLoop(session.socket, session.socket, { onCopyEnd: () => loop.end(session) });
 *     session.stop = () => {
 *       copy.stop();
 *       loop.end(session);
 *     };
 *     copy.start();
 *   },
 *   acceptFailed: () => {},
 *   listenerClosed: () => {},
 *   idle: () => {},
 *   defect: (error) => console.error(error),
 * });
 * loop.start();
 * // Later: stop accepting, give connections 5 s, then stop the rest.
 * await loop.shutdown(5_000);
 * listener.close();
 * ```
 */
export class ServeLoop<C extends Served> implements AcceptWaiter {
  /** Connections whose handler has not ended yet. */
  readonly sessions: Set<Session<C>> = new Set();
  /** Free slots: a slot is taken at accept and given back when the socket is closed. */
  private slots: number;
  private paused = false;
  private stopped = false;
  private backoffMs = 0;
  private backoffTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined = undefined;
  private drainWaiter: (() => void) | undefined = undefined;

  /** A loop over `acceptor`, not started yet. */
  constructor(
    private readonly acceptor: Acceptor<C>,
    private readonly settings: ServeSettings,
    private readonly hooks: ServeHooks<C>,
  ) {
    this.slots = settings.maxConnections;
  }

  /** Starts accepting and sweeping. */
  start(): void {
    const shortest = Math.min(this.settings.idleTimeoutMs, this.settings.writeTimeoutMs);
    if (Number.isFinite(shortest)) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, shortest / 4)));
      Deno.unrefTimer(this.sweepTimer);
    }
    this.acceptNext();
  }

  /** Accepts while slots are free and connections are ready. */
  private acceptNext(): void {
    while (!this.stopped) {
      if (this.slots <= 0) {
        this.paused = true;
        return;
      }
      const accepted = this.acceptor.pollAccept(this);
      if (accepted === PENDING) return;
      if (accepted instanceof IoFailure) return this.acceptFailed(accepted);
      this.backoffMs = 0;
      this.admit(accepted);
    }
  }

  /** An accept can complete: accept on. */
  onAcceptable(): void {
    this.acceptNext();
  }

  /** Takes a slot and hands the connection to the hooks. */
  private admit(socket: C): void {
    this.slots--;
    socket.onRawClose = () => this.releaseSlot();
    const session = new Session(socket);
    this.sessions.add(session);
    try {
      this.hooks.serve(session);
    } catch (error) {
      // A bug of ours must not end the loop (it runs in a promise callback).
      this.hooks.defect(error);
      this.end(session);
    }
  }

  /** Decides after a failed accept: stop, retry at once, or back off. */
  private acceptFailed(failure: IoFailure): void {
    if (failure.closed || failure.error instanceof Deno.errors.BadResource) {
      // Closed under a running loop (its owner's scope ended first).
      this.stopped = true;
      this.stopSweep();
      return this.hooks.listenerClosed();
    }
    const error = failure.error;
    if (
      error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.ConnectionAborted
    ) {
      // A client that reset before it was accepted: its problem, not the server's.
      return this.acceptNext();
    }
    // EMFILE and the like: the listener survives, so wait and try again.
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs === 0 ? 10 : this.backoffMs * 2);
    this.hooks.acceptFailed(failure, this.backoffMs);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.acceptNext();
    }, this.backoffMs);
  }

  /** A socket is really closed: its slot is free, and a paused loop accepts again. */
  private releaseSlot(): void {
    this.slots++;
    if (this.paused) {
      this.paused = false;
      this.acceptNext();
    }
  }

  /** A session's handler has ended: close its socket; idempotent. */
  end(session: Session<C>): void {
    if (session.ended) return;
    session.ended = true;
    session.stop = undefined;
    this.sessions.delete(session);
    if (session.abortOnEnd) session.socket.abort();
    else session.socket.close();
    if (this.sessions.size === 0 && this.drainWaiter !== undefined) {
      const wake = this.drainWaiter;
      this.drainWaiter = undefined;
      wake();
    }
  }

  /** Closes connections idle for too long (the hooks hear each first). */
  sweep(now: number = Date.now()): void {
    const readDeadline = now - this.settings.idleTimeoutMs;
    const writeDeadline = now - this.settings.writeTimeoutMs;
    for (const session of [...this.sessions]) {
      const socket = session.socket;
      const stalled = socket.writeWaitingSince !== undefined &&
        socket.writeWaitingSince < writeDeadline;
      const idle = !stalled && socket.readWaitingSince !== undefined &&
        socket.readWaitingSince < readDeadline;
      if (!stalled && !idle) continue;
      this.hooks.idle(session, stalled ? "write" : "read");
      // A peer that does not take our bytes will not take the rest either.
      session.abortOnEnd = stalled;
      this.stopSession(session);
    }
  }

  /** Stops a session's handler (or ends the session if nothing runs it). */
  private stopSession(session: Session<C>): void {
    const stop = session.stop;
    if (stop === undefined) return this.end(session);
    session.stop = undefined;
    stop();
  }

  /** Stops the idle sweep. */
  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Stops accepting (the listener's owner closes it). */
  stopAccepting(): void {
    this.stopped = true;
    this.acceptor.cancelAccept(this);
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
  }

  /**
   * Stops accepting, waits up to `timeoutMs` for the sessions to end, then
   * stops those still running. Resolves with how many had to be stopped,
   * once every session has ended.
   */
  async shutdown(timeoutMs: number): Promise<number> {
    this.stopAccepting();
    this.stopSweep();
    if (this.sessions.size > 0 && timeoutMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.drainWaiter = resolve;
        if (Number.isFinite(timeoutMs)) timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.drainWaiter = undefined;
    }
    const remaining = [...this.sessions];
    if (remaining.length === 0) return 0;
    const allEnded = new Promise<void>((resolve) => (this.drainWaiter = resolve));
    for (const session of remaining) this.stopSession(session);
    if (this.sessions.size > 0) await allEnded;
    this.drainWaiter = undefined;
    return remaining.length;
  }
}

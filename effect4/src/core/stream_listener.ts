// A listening socket driven by callbacks: `pollAccept` returns a connection
// that is ready or registers a waiter and starts one raw accept. A waiter that
// goes away loses nothing: the accepted connection waits for the next poll,
// and one accepted for nobody is closed with the listener.
import { type Address, fromDeno } from "./address.ts";
import { IoFailure, PENDING, StreamSocket } from "./stream_socket.ts";

/**
 * Hears that a poll can now complete (poll again).
 *
 * @example
 * ```ts
 * import type { AcceptWaiter } from "@fibernet/socket/core";
 * const waiter: AcceptWaiter = { onAcceptable: () => console.log("poll again") };
 * ```
 */
export interface AcceptWaiter {
  /** A poll can complete now. */
  onAcceptable(): void;
}

/**
 * A bound, listening Deno socket. The owner must `close` it.
 *
 * @example
 * ```ts
 * import { IoFailure, PENDING, StreamListener } from "@fibernet/socket/core";
 *
 * const listener = new StreamListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * const waiter = {
 *   onAcceptable() {
 *     const socket = listener.pollAccept(waiter);
 *     if (socket === PENDING || socket instanceof IoFailure) return;
 *     socket.tryWrite(new TextEncoder().encode("hello\n"), true);
 *     socket.close();
 *     waiter.onAcceptable();
 *   },
 * };
 * waiter.onAcceptable();
 * ```
 */
export class StreamListener {
  /** The bound address (a requested port 0 shows the real port). */
  readonly address: Address;
  private closed = false;
  private accepting = false;
  private waiter: AcceptWaiter | undefined = undefined;
  private ready: Deno.Conn | IoFailure | undefined = undefined;
  /** Called after `close`, e.g. to remove a unix socket file. */
  onClose: (() => void) | undefined = undefined;

  /** `wrap` turns each accepted Deno connection into a socket (TLS wraps its own). */
  constructor(
    readonly raw: Deno.Listener,
    readonly wrap: (conn: Deno.Conn) => StreamSocket = (conn) => new StreamSocket(conn),
  ) {
    this.address = fromDeno(raw.addr);
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The next connection (the caller owns it), a failure, or PENDING: `waiter` will hear. */
  pollAccept(waiter: AcceptWaiter): StreamSocket | IoFailure | typeof PENDING {
    if (this.closed) return new IoFailure(undefined, true);
    const ready = this.ready;
    if (ready !== undefined) {
      this.ready = undefined;
      return ready instanceof IoFailure ? ready : this.wrap(ready);
    }
    this.waiter = waiter;
    this.startRawAccept();
    return PENDING;
  }

  /** `waiter` no longer wants to hear; an accept in flight keeps its result for the next poll. */
  cancelAccept(waiter: AcceptWaiter): void {
    if (this.waiter === waiter) this.waiter = undefined;
  }

  /** Starts one raw accept, unless one is in flight. */
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

  private readonly onAccepted = (conn: Deno.Conn): void => {
    this.accepting = false;
    if (this.closed) return conn.close(); // accepted for nobody
    this.ready = conn;
    this.wake();
  };

  private readonly onAcceptFailed = (error: unknown): void => {
    this.accepting = false;
    this.ready = new IoFailure(error, this.closed);
    this.wake();
  };

  /** Tells the waiting poller, once. */
  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    waiter.onAcceptable();
  }

  /** Stops listening; idempotent. A waiting poller hears (and then gets a closed failure). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.raw.close();
    } catch {
      // already closed
    }
    const ready = this.ready;
    this.ready = undefined;
    if (ready !== undefined && !(ready instanceof IoFailure)) ready.close();
    this.wake();
    this.onClose?.();
  }
}

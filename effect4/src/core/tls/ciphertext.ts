// The encrypted side of a server-side TLS connection: a node Duplex over the
// accepted TCP connection, which node:tls reads and writes. It reads from TCP
// only while `wanted()` says so (during the handshake, or while a read of the
// plaintext waits): node:tls on Deno 2.9 reads a JS stream as fast as it
// produces, so a peer that sends while nobody reads would otherwise fill
// memory instead of being pushed back by TCP.
import { Duplex } from "node:stream";
import { Slabs } from "../bytes.ts";
import { ReadBuffer } from "../read_buffer.ts";

/** Buffers that join a few TLS records into one TCP write, lent for the write. */
const JOIN_SLAB = 64 * 1024;
const joinSlabs = new Slabs(JOIN_SLAB, 16);

/** Ciphertext to and from a TCP connection, read on demand. */
export class Ciphertext extends Duplex {
  /** node:tls asked for data and has not had it yet. */
  private asked = false;
  private reading = false;
  private readonly buffer = new ReadBuffer();
  /** Writes handed to TCP and not finished yet. */
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  /**
   * Over `tcp`; `wanted` says whether reading is wanted now, and
   * `onEnd` hears the peer's end of stream (or a read failure) first.
   */
  constructor(
    private readonly tcp: Deno.Conn,
    private readonly wanted: () => boolean,
    private readonly onEnd: (error: unknown) => void,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    this.asked = true;
    this.pump();
  }

  /** Starts a TCP read if node:tls asked for data, reading is wanted and none is in flight. */
  pump(): void {
    if (!this.asked || this.reading || this.destroyed || !this.wanted()) return;
    this.asked = false;
    this.reading = true;
    let pending: Promise<number | null>;
    try {
      pending = this.tcp.read(this.buffer.forRead());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.onRead, this.onReadFailed);
  }

  private readonly onRead = (n: number | null): void => {
    this.reading = false;
    if (this.destroyed) return;
    if (n === null) {
      this.onEnd(null);
      this.push(null);
      return;
    }
    this.push(this.buffer.chunk(n, true));
    // node:tls copied the chunk into rustls as it was pushed (the stream
    // flows): read into the same buffer again. Else node keeps it queued.
    if (this.readableLength > 0) this.buffer.abandon();
  };

  private readonly onReadFailed = (error: unknown): void => {
    this.reading = false;
    if (this.destroyed) return;
    this.onEnd(error);
    this.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.writeAll(chunk).then(
      () => this.written(callback),
      (error) => this.written(callback, error),
    );
  }

  override _writev(
    chunks: Array<{ chunk: Uint8Array }>,
    callback: (error?: Error | null) => void,
  ): void {
    // Several TLS records at once: one TCP write.
    let total = 0;
    for (const { chunk } of chunks) total += chunk.length;
    const slab = total <= JOIN_SLAB ? joinSlabs.take() : undefined;
    const joined = slab === undefined ? new Uint8Array(total) : slab.subarray(0, total);
    let offset = 0;
    for (const { chunk } of chunks) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    const done = (error?: Error) => {
      if (slab !== undefined) joinSlabs.give(slab);
      this.written(callback, error);
    };
    this.writeAll(joined).then(() => done(), done);
  }

  /** A TCP write ended: tell node (which may start the next), then whoever waits for idle. */
  private written(callback: (error?: Error | null) => void, error?: Error): void {
    callback(error);
    this.wakeIdle();
  }

  /** Writes every byte to TCP. */
  private async writeAll(bytes: Uint8Array): Promise<void> {
    this.inFlight++;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += await this.tcp.write(offset === 0 ? bytes : bytes.subarray(offset));
      }
    } finally {
      this.inFlight--;
    }
  }

  /** True when nothing written is still on its way to TCP. */
  get idle(): boolean {
    return this.inFlight === 0 && this.writableLength === 0;
  }

  /** Resolves once nothing written is on its way to TCP. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (!this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The TCP connection is closed by its owner, after close_notify.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The owner closes TCP; a write in flight fails with it.
    callback(error);
  }
}

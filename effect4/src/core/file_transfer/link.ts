// The connection as both protocols see it: raw reads (bytes read ahead are
// served first), exact reads, and the control frames of this library's
// protocol (a 4-byte big-endian length, then a JSON object of at most
// 64 KiB; a longer length is refused before anything is allocated).
import { TransferFailure } from "./failure.ts";
import type { TransferIo } from "./io.ts";
import type { Limit } from "./pace.ts";
import { CONTROL_FRAME_MAX, type Json, notAnObject, parseObject } from "./wire.ts";

const encoder = new TextEncoder();
const LENGTH_BYTES = 4;

/** A control frame on the wire: its length, then `payload` as UTF-8. */
export const frame = (payload: string): Uint8Array => {
  const body = encoder.encode(payload);
  if (body.length > CONTROL_FRAME_MAX) throw new RangeError("control frame too long");
  const out = new Uint8Array(LENGTH_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, LENGTH_BYTES);
  return out;
};

const disconnected = (doing: string) =>
  new TransferFailure("Disconnected", `the peer disconnected while ${doing}`);

/** A transfer's connection, with bytes read ahead put back in front. */
export class Link {
  private pending: Uint8Array | undefined = undefined;

  constructor(readonly io: TransferIo) {}

  /** The next reads return `bytes` first. */
  prepend(bytes: Uint8Array): void {
    this.pending = bytes;
  }

  /** As {@link TransferIo.read}, serving bytes read ahead first. */
  read(maxBytes: number, borrow: boolean, doing: string, limit: Limit): Promise<Uint8Array | null> {
    const pending = this.pending;
    if (pending === undefined) return this.io.read(maxBytes, borrow, doing, limit);
    const chunk = pending.subarray(0, maxBytes);
    this.pending = chunk.length < pending.length ? pending.subarray(chunk.length) : undefined;
    return Promise.resolve(chunk);
  }

  /** Exactly `n` bytes, in a buffer of their own. */
  async readExactly(n: number, doing: string, limit: Limit): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = await this.read(n - filled, true, doing, limit);
      if (chunk === null) throw disconnected(doing);
      out.set(chunk, filled);
      filled += chunk.length;
    }
    return out;
  }

  /** The next control frame's JSON object. */
  async readJson(doing: string, limit: Limit): Promise<Json> {
    const first = await this.read(LENGTH_BYTES, true, doing, limit);
    if (first === null) {
      throw new TransferFailure("Disconnected", `the peer closed the connection while ${doing}`);
    }
    const header = new Uint8Array(LENGTH_BYTES);
    header.set(first);
    if (first.length < LENGTH_BYTES) {
      header.set(await this.readExactly(LENGTH_BYTES - first.length, doing, limit), first.length);
    }
    const length = new DataView(header.buffer).getUint32(0);
    if (length > CONTROL_FRAME_MAX) {
      throw new TransferFailure(
        "ProtocolError",
        `frame length ${length} exceeds maxFrameLength ${CONTROL_FRAME_MAX} while ${doing}`,
      );
    }
    const value = parseObject(await this.readExactly(length, doing, limit));
    if (value === undefined) throw notAnObject(doing);
    return value;
  }

  /** As {@link TransferIo.write}. */
  write(bytes: Uint8Array, doing: string, limit: Limit): Promise<void> {
    return this.io.write(bytes, doing, limit);
  }
}

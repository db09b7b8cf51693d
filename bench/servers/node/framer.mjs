// Re-framing by hand, for the servers that have no codec (raw Node and the
// official Effect servers): a push function that takes each chunk as it
// arrives and returns the whole frames it completes, as views that stay valid
// (the bytes behind a returned frame are never written again).
//   line: bytes up to and including "\n" (at most 64 KiB)
//   lp:   a 4-byte big-endian length and that many bytes (at most 8 MiB)
// A longer frame throws, and the server drops the connection.
export const MAX_LINE = 64 * 1024;
export const MAX_FRAME = 8 * 1024 * 1024;

/** Bytes of the first whole frame in bytes[start..], 0 when it is not all there yet. */
function frameLength(proto, bytes, start) {
  if (proto === "line") {
    const nl = bytes.indexOf(10, start);
    if (nl >= 0) return nl - start + 1;
    if (bytes.length - start > MAX_LINE) throw new Error("line too long");
    return 0;
  }
  if (bytes.length - start < 4) return 0;
  const length = new DataView(bytes.buffer, bytes.byteOffset + start, 4).getUint32(0);
  if (length > MAX_FRAME) throw new Error("frame too long");
  return bytes.length - start >= 4 + length ? 4 + length : 0;
}

/** Bytes the unfinished frame in bytes[start..] needs at least. */
function frameNeeds(proto, bytes, start) {
  if (proto === "lp" && bytes.length - start >= 4) {
    return 4 + new DataView(bytes.buffer, bytes.byteOffset + start, 4).getUint32(0);
  }
  return bytes.length - start + 1;
}

/** A framer for "line" or "lp": (chunk: Uint8Array) => Uint8Array[]. */
export function makeFramer(proto) {
  let pending = null; // an unfinished frame's bytes, in pending[0, used)
  let used = 0;
  return (chunk) => {
    let bytes = chunk;
    if (used > 0) {
      if (used + chunk.length > pending.length) {
        const bigger = new Uint8Array(Math.max(used + chunk.length, pending.length * 2));
        bigger.set(pending.subarray(0, used));
        pending = bigger;
      }
      pending.set(chunk, used);
      used += chunk.length;
      bytes = pending.subarray(0, used);
    }
    const frames = [];
    let start = 0;
    while (true) {
      const length = frameLength(proto, bytes, start);
      if (length === 0) break;
      frames.push(bytes.subarray(start, start + length));
      start += length;
    }
    if (start === bytes.length) {
      pending = null;
      used = 0;
    } else if (start > 0 || bytes === chunk) {
      // The rest goes to a buffer of its own, sized for its whole frame when known.
      const rest = bytes.subarray(start);
      pending = new Uint8Array(Math.max(frameNeeds(proto, bytes, start), 2 * rest.length, 256));
      pending.set(rest);
      used = rest.length;
    }
    return frames;
  };
}

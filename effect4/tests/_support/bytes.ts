// Byte helpers: deterministic payloads, comparison, joining and UTF-8.

/** Bytes 0..n-1 of a deterministic pattern, so any loss or reordering shows. */
export const pattern = (n: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

/** True when the two byte arrays are equal. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** The bytes of all `parts`, one after the other. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** UTF-8 bytes as a string (invalid sequences become U+FFFD). */
export const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** A string as UTF-8 bytes. */
export const encode = (s: string): Uint8Array => encoder.encode(s);

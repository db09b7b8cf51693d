// Finding a byte sequence in a byte array, without allocating.

/** Index of `needle` (not empty) in `hay[from, to)`, or -1. */
export const indexOfBytes = (
  hay: Uint8Array,
  needle: Uint8Array,
  from: number,
  to: number,
): number => {
  const first = needle[0];
  const n = needle.length;
  const last = to - n;
  let i = from;
  while (i <= last) {
    // indexOf scans in native code; only the candidates are compared here.
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let k = 1;
    while (k < n && hay[i + k] === needle[k]) k++;
    if (k === n) return i;
    i++;
  }
  return -1;
};

/**
 * `chunk`, after what is left of `input` from `pos` (a decoder pushed a new
 * chunk before it used up the last one): the two joined, in order.
 */
export const appendRest = (input: Uint8Array, pos: number, chunk: Uint8Array): Uint8Array => {
  const rest = input.length - pos;
  if (rest <= 0) return chunk;
  const joined = new Uint8Array(rest + chunk.length);
  joined.set(input.subarray(pos));
  joined.set(chunk, rest);
  return joined;
};

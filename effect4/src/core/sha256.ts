// A streaming SHA-256 (FIPS 180-4) in plain TypeScript.
//
// Web Crypto's `crypto.subtle.digest` only hashes a whole buffer at once, so
// hashing a file in constant memory needs an incremental implementation. This
// one keeps 64 bytes of pending input plus the 256-bit state, reads 32-bit
// words straight from the caller's bytes, and never allocates per block.

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const HEX: ReadonlyArray<string> = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** Incremental SHA-256: `update` any number of times, then `digest` once. */
export class Sha256 {
  private readonly state = new Int32Array([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  private readonly w = new Int32Array(64);
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  /** Total bytes hashed; a double holds every length below 2^53 exactly. */
  private length = 0;
  private finished = false;

  /** Adds bytes to the hash. */
  update(data: Uint8Array): this {
    if (this.finished) throw new Error("Sha256: update after digest");
    let offset = 0;
    const n = data.length;
    this.length += n;
    if (this.pendingLength > 0) {
      const take = Math.min(64 - this.pendingLength, n);
      this.pending.set(data.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < 64) return this;
      this.blocks(this.pending, 0, 64);
      this.pendingLength = 0;
    }
    const whole = offset + ((n - offset) & ~63);
    if (whole > offset) this.blocks(data, offset, whole);
    if (whole < n) {
      this.pending.set(data.subarray(whole), 0);
      this.pendingLength = n - whole;
    }
    return this;
  }

  /** The 32-byte digest. The hash cannot be updated afterwards. */
  digest(): Uint8Array {
    if (this.finished) throw new Error("Sha256: digest called twice");
    const bits = this.length * 8;
    const tail = new Uint8Array(this.pendingLength < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.pendingLength));
    tail[this.pendingLength] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.blocks(tail, 0, tail.length);
    this.finished = true;
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setInt32(i * 4, this.state[i]);
    return out;
  }

  /** The digest as 64 lowercase hex digits. */
  hex(): string {
    return toHex(this.digest());
  }

  /** Hashes the 64-byte blocks of `data[start, end)`. */
  private blocks(data: Uint8Array, start: number, end: number): void {
    const w = this.w;
    const s = this.state;
    let h0 = s[0], h1 = s[1], h2 = s[2], h3 = s[3], h4 = s[4], h5 = s[5], h6 = s[6], h7 = s[7];
    for (let p = start; p < end; p += 64) {
      for (let i = 0, j = p; i < 16; i++, j += 4) {
        w[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
      }
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15];
        const y = w[i - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = (e & f) ^ (~e & g);
        const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (S0 + maj) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + h) | 0;
    }
    s[0] = h0;
    s[1] = h1;
    s[2] = h2;
    s[3] = h3;
    s[4] = h4;
    s[5] = h5;
    s[6] = h6;
    s[7] = h7;
  }
}

/** Lowercase hex of some bytes. */
export const toHex = (bytes: Uint8Array): string => {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
};

/** What the file transfer needs from a hash: bytes in, hex digest out. */
export interface Hasher {
  update(data: Uint8Array): void;
  hex(): string;
}

type CreateHash = (algorithm: "sha256") => {
  update(data: Uint8Array): unknown;
  digest(encoding: "hex"): string;
};

let nativeHash: Promise<CreateHash | undefined> | undefined;

/**
 * Makes SHA-256 hashers: the runtime's native incremental one (`node:crypto`,
 * about ten times faster) when it loads, else {@link Sha256}. Both are
 * checked against Web Crypto's `digest` by the tests. Only loading is
 * asynchronous: a transfer loads first, and makes its hasher once data comes.
 */
export const hasherFactory = async (
  engine: "auto" | "portable" = "auto",
): Promise<() => Hasher> => {
  if (engine === "auto") {
    nativeHash ??= import("node:crypto").then(
      (mod) => mod.createHash as unknown as CreateHash,
      () => undefined,
    );
    const createHash = await nativeHash;
    if (createHash !== undefined) {
      return () => {
        const hash = createHash("sha256");
        return { update: (data) => void hash.update(data), hex: () => hash.digest("hex") };
      };
    }
  }
  return () => {
    const hash = new Sha256();
    return { update: (data) => void hash.update(data), hex: () => hash.hex() };
  };
};

/** A SHA-256 hasher (see {@link hasherFactory}). */
export const createHasher = async (engine: "auto" | "portable" = "auto"): Promise<Hasher> =>
  (await hasherFactory(engine))();

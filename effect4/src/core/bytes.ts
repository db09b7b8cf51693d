// Small byte arrays without small allocations.
//
// Allocating an ArrayBuffer costs far more than copying a few hundred bytes
// (on Deno 2.9 `new Uint8Array(64)` takes ~0.7 µs and `slice()` ~1.2 µs,
// while `set` + `subarray` into an existing buffer takes ~0.1 µs), so the hot
// paths copy into buffers that already exist:
//
// - `copyOwned` carves chunks the caller keeps out of a shared arena, as
//   Node does for small Buffers: a chunk keeps its arena (16 KiB) alive.
// - `Slabs` is a free list of equally sized buffers: one lent to a write in
//   flight, or a closed connection's read buffer for the next connection.
//   Small ones can be carved from a shared block, so an idle connection's read
//   buffer costs its bytes and a view, not an ArrayBuffer of its own.

const ARENA_SIZE = 16 * 1024;
/** Chunks larger than this get their own buffer (an arena would waste too much). */
const ARENA_MAX_CHUNK = 4 * 1024;

let arena = new Uint8Array(ARENA_SIZE);
let arenaOffset = 0;

/** A copy of `bytes` that the caller owns and nothing else writes to. */
export const copyOwned = (bytes: Uint8Array): Uint8Array => {
  const n = bytes.length;
  if (n > ARENA_MAX_CHUNK) return bytes.slice();
  if (arenaOffset + n > ARENA_SIZE) {
    arena = new Uint8Array(ARENA_SIZE);
    arenaOffset = 0;
  }
  const start = arenaOffset;
  // Keep chunks 8-byte aligned so a DataView or wider typed array over one stays cheap.
  arenaOffset = (start + n + 7) & ~7;
  arena.set(bytes, start);
  return arena.subarray(start, start + n);
};

/**
 * A free list of equally sized buffers, given back when nothing can see
 * them any more. Only `keep` free buffers are retained, so a burst does not
 * pin memory.
 */
export class Slabs {
  private readonly free: Array<Uint8Array> = [];
  private block: ArrayBuffer | undefined = undefined;
  private blockOffset = 0;

  /**
   * `carveFrom`: carve new buffers from shared blocks of this many bytes. A
   * carved buffer keeps its block alive, so hand such buffers to nobody.
   */
  constructor(
    readonly size: number,
    private readonly keep: number,
    private readonly carveFrom = 0,
  ) {}

  take(): Uint8Array {
    const free = this.free.pop();
    if (free !== undefined) return free;
    if (this.carveFrom === 0) return new Uint8Array(this.size);
    if (this.block === undefined || this.blockOffset + this.size > this.carveFrom) {
      this.block = new ArrayBuffer(this.carveFrom);
      this.blockOffset = 0;
    }
    const slab = new Uint8Array(this.block, this.blockOffset, this.size);
    this.blockOffset += this.size;
    return slab;
  }

  give(slab: Uint8Array): void {
    if (this.free.length < this.keep) this.free.push(slab);
  }
}

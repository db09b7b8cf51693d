// The Effect-free parts of file transfer (src/core/file_transfer): the pace
// rules, told the time; and the write-behind and pending file, on real files.
import { describe, it } from "@effect/vitest";
import { Effect } from "effect";
import { expect } from "vitest";
import { Pace } from "../src/core/file_transfer/pace.ts";
import { PendingFile } from "../src/core/file_transfer/store.ts";
import { STAGE_SIZE, WriteBehind } from "../src/core/file_transfer/write_behind.ts";
import { TransferFailure } from "../src/core/file_transfer/failure.ts";
import { pattern, sameBytes } from "./_support/bytes.ts";
import { tempDir } from "./_support/paths.ts";
import { bounded, listDir, readFile, TIMEOUT } from "./_support/transfer.ts";
import * as fc from "./_support/arbitrary.ts";

describe("Pace", () => {
  it("fails after idleMs without progress, and says when to look again", () => {
    const pace = new Pace({ idleMs: 100, minBytes: 0, perMs: Infinity }, 1000, 0);
    expect(pace.check(50)).toBe(50);
    pace.progress(10, 60);
    expect(pace.check(150)).toBe(10);
    expect(pace.check(160)).toBe("no progress for 100ms");
  });

  it("fails a window that brings less than minBytes, whatever the progress within it", () => {
    const pace = new Pace({ idleMs: Infinity, minBytes: 100, perMs: 1000 }, 10_000, 0);
    for (let t = 0; t < 1000; t += 100) pace.progress(5, t); // always progressing
    expect(pace.check(999)).toBe(1);
    expect(pace.check(1000)).toBe(
      "only 50 bytes in 1s, under the minimum rate of 100 bytes per 1s",
    );
  });

  it("judges each window on its own: a fast start buys no slack later", () => {
    const pace = new Pace({ idleMs: Infinity, minBytes: 100, perMs: 1000 }, 10_000, 0);
    pace.progress(5000, 100);
    expect(pace.check(1000)).toBe(1000);
    pace.progress(99, 1500);
    expect(pace.check(2000)).toMatch(/^only 99 bytes in 1s/);
  });

  it("asks the last window only for what is left of the file", () => {
    const short = new Pace({ idleMs: Infinity, minBytes: 100, perMs: 1000 }, 120, 0);
    short.progress(100, 500);
    expect(typeof short.check(1000)).toBe("number");
    short.progress(19, 1500);
    expect(short.check(2000)).toMatch(/^only 19 bytes/);
    const done = new Pace({ idleMs: Infinity, minBytes: 100, perMs: 1000 }, 120, 0);
    done.progress(100, 500);
    done.check(1000);
    done.progress(20, 1500);
    expect(typeof done.check(2000)).toBe("number");
  });

  it("keeps its windows in step when a check comes late", () => {
    const pace = new Pace({ idleMs: Infinity, minBytes: 10, perMs: 1000 }, 10_000, 0);
    pace.progress(50, 100);
    // The check for the window ending at 1000 comes at 2500: the next one ends at 3000.
    expect(pace.check(2500)).toBe(500);
  });

  it("with no limits, never fails and never asks to be checked", () => {
    const pace = new Pace({ idleMs: Infinity, minBytes: 0, perMs: 1000 }, 10, 0);
    expect(pace.check(1e9)).toBe(Infinity);
  });
});

/** Writes `chunks` through a WriteBehind into a pending file and commits it. */
const writeThrough = (
  dir: string,
  chunks: ReadonlyArray<{ bytes: Uint8Array; more: boolean }>,
) =>
  Effect.promise(async () => {
    const file = new PendingFile(dir, "out.bin");
    const writer = new WriteBehind(file);
    const scratch = new Uint8Array(STAGE_SIZE * 2);
    try {
      for (const { bytes, more } of chunks) {
        // The caller reuses its buffer as soon as it may: a stand-in for the read buffer.
        const lent = scratch.subarray(0, bytes.length);
        lent.set(bytes);
        const wait = writer.write(lent, more);
        if (wait !== undefined) await wait;
        lent.fill(0xee);
      }
      await writer.finish();
      return await file.commit({ overwrite: false, sync: false });
    } finally {
      writer.discard();
      await file.discard();
    }
  });

describe("WriteBehind", () => {
  it.live.prop(
    "writes every byte in order, whatever the chunk sizes and the hints",
    {
      sizes: fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 12 }),
      hints: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    },
    ({ sizes, hints }) =>
      Effect.scoped(Effect.gen(function* () {
        const dir = yield* tempDir;
        const chunks = sizes.map((n, i) => ({ bytes: pattern(n, i + 1), more: hints[i] }));
        const path = yield* writeThrough(dir, chunks);
        const expected = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
        let offset = 0;
        for (const { bytes } of chunks) {
          expected.set(bytes, offset);
          offset += bytes.length;
        }
        expect(sameBytes(yield* readFile(path), expected)).toBe(true);
        expect(yield* listDir(dir)).toEqual(["out.bin"]);
      })),
    { timeout: TIMEOUT, arbitrary: { runs: 25 } },
  );

  it.live(
    "staged bytes do not wait for more: they reach the disk, and the file is made, on their own",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const file = new PendingFile(dir, "out.bin");
        const writer = new WriteBehind(file);
        // A full read (more is probably coming), then the peer goes quiet.
        expect(writer.write(pattern(64 * 1024), true)).toBeUndefined();
        expect(file.created).toBe(false);
        let size = 0;
        while (size < 64 * 1024) {
          yield* Effect.sleep("10 millis");
          const temp = (yield* listDir(dir)).find((name) => name.startsWith(".fnft-"));
          if (temp !== undefined) {
            size = (yield* Effect.promise(() => Deno.stat(`${dir}/${temp}`))).size;
          }
        }
        writer.discard();
        yield* Effect.promise(() => file.discard());
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );
});

describe("PendingFile", () => {
  it.live(
    "exists on disk only once written to, and never under its name before commit",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const idle = new PendingFile(dir, "never.bin");
        yield* Effect.promise(() => idle.discard());
        expect(yield* listDir(dir)).toEqual([]);

        const empty = new PendingFile(dir, "empty.bin");
        yield* Effect.promise(() => empty.commit({ overwrite: false, sync: true }));
        expect(yield* listDir(dir)).toEqual(["empty.bin"]);

        const taken = new PendingFile(dir, "empty.bin");
        yield* Effect.promise(() => taken.write(new Uint8Array([1, 2, 3])));
        expect((yield* listDir(dir)).length).toBe(2); // the name and a temporary file
        const refused = yield* Effect.promise(() =>
          taken.commit({ overwrite: false, sync: false }).then(() => undefined, (e) => e)
        );
        expect(refused).toBeInstanceOf(TransferFailure);
        expect((refused as TransferFailure).reason).toBe("AlreadyExists");
        yield* Effect.promise(() => taken.discard());
        expect(yield* listDir(dir)).toEqual(["empty.bin"]);
        expect((yield* readFile(`${dir}/empty.bin`)).length).toBe(0);
      })),
    TIMEOUT,
  );
});

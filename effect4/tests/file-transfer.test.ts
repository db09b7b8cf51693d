import { describe, it } from "@effect/vitest";
import { Effect, Fiber, Option, Result, Stream } from "effect";
import { expect } from "vitest";
import { type Address, type Connection, FileTransfer, Framing, Listener, Tcp } from "../mod.ts";
import { createHasher, Sha256 } from "../src/core/sha256.ts";
import { pattern, sameBytes } from "./_support/bytes.ts";
import { tempDir } from "./_support/paths.ts";
import { python } from "./_support/process.ts";
import { needs } from "./_support/needs.ts";
import * as fc from "./_support/arbitrary.ts";
import {
  bounded,
  concat,
  decoder,
  encoder,
  expectFailure,
  expectSuccess,
  frames,
  HELLO,
  jsonFrame,
  listDir,
  rawClient,
  readFile,
  readJsonFrame,
  receiveOnce,
  sendTo,
  setup,
  subtleHex,
  TIMEOUT,
  writeFile,
} from "./_support/transfer.ts";

// ---------------------------------------------------------------------------
// SHA-256
// ---------------------------------------------------------------------------

describe("SHA-256", () => {
  it("matches the FIPS 180-2 test vectors", () => {
    const hex = (s: string | Uint8Array) =>
      new Sha256().update(typeof s === "string" ? encoder.encode(s) : s).hex();
    expect(hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(hex(new Uint8Array(1_000_000).fill(0x61))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
    const done = new Sha256();
    done.digest();
    expect(() => done.update(new Uint8Array(1))).toThrow();
  });

  it.live.prop(
    "agrees with crypto.subtle.digest on random inputs fed in random pieces (both engines)",
    {
      data: fc.uint8Array({ maxLength: 3000 }),
      pieces: fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 10 }),
    },
    ({ data, pieces }) =>
      Effect.gen(function* () {
        const expected = yield* Effect.promise(() => subtleHex(data));
        for (const engine of ["portable", "auto"] as const) {
          const hasher = yield* Effect.promise(() => createHasher(engine));
          let offset = 0;
          let i = 0;
          while (offset < data.length) {
            // A 0 piece is an empty update, followed by one byte so the loop always advances.
            const n = pieces[i++ % pieces.length] || 1;
            if (pieces[(i - 1) % pieces.length] === 0) hasher.update(new Uint8Array(0));
            hasher.update(data.subarray(offset, offset + n));
            offset += n;
          }
          expect(hasher.hex(), engine).toBe(expected);
        }
      }),
    { timeout: TIMEOUT, arbitrary: { runs: 150 } },
  );

  it.live("agrees with crypto.subtle.digest at every length around the block size", () =>
    Effect.gen(function* () {
      const data = pattern(300, 7);
      for (let n = 0; n <= 300; n++) {
        const slice = data.subarray(0, n);
        const expected = yield* Effect.promise(() => subtleHex(slice));
        expect(new Sha256().update(slice).hex(), `length ${n}`).toBe(expected);
      }
    }));

  it.live("sha256File hashes a file in pieces", () =>
    Effect.gen(function* () {
      const data = pattern(3 * 1024 * 1024 + 17, 3);
      const { path } = yield* setup(data);
      expect(yield* FileTransfer.sha256File(path)).toBe(
        yield* Effect.promise(() => subtleHex(data)),
      );
      const missing = yield* Effect.result(FileTransfer.sha256File(`${path}.missing`));
      expectFailure(missing, "FileSystem", /No such file|not found/i);
    }));
});

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

describe("FileTransfer.validateName", () => {
  it("accepts plain names and refuses everything that could leave the directory", () => {
    for (const ok of ["a", "report.pdf", "..a", "a..", "名字.txt", ".hidden", "x".repeat(255)]) {
      expect(Result.isSuccess(FileTransfer.validateName(ok)), ok).toBe(true);
    }
    const bad: Array<[string, RegExp]> = [
      ["", /empty/],
      [".", /not a file name/],
      ["..", /not a file name/],
      ["../x", /path separator/],
      ["/etc/x", /path separator/],
      ["a/../../x", /path separator/],
      ["a\\b", /path separator/],
      ["C:\\x", /path separator/],
      ["x\u0000y", /NUL/],
      ["line\nbreak", /control/],
      ["x".repeat(256), /longer than 255 bytes/],
      ["é".repeat(128), /longer than 255 bytes/],
      [".fnft-1234.part", /reserved/],
    ];
    for (const [name, why] of bad) {
      const result = FileTransfer.validateName(name);
      const error = expectFailure(result, "InvalidName", why);
      expect(error.file).toBe(name);
    }
  });
});

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

describe("FileTransfer round trips", () => {
  it.live(
    "empty, 1 byte and block-boundary files arrive intact, under their name only",
    () =>
      bounded(Effect.gen(function* () {
        for (const size of [0, 1, 65_535, 65_536, 65_537, 256 * 1024 + 1]) {
          const data = pattern(size, size);
          const { path, dir } = yield* setup(data, `file-${size}.bin`);
          const server = yield* receiveOnce(dir);
          const sent = expectSuccess(yield* sendTo(server.address, path));
          const received = expectSuccess(yield* server.result);
          const sha = yield* Effect.promise(() => subtleHex(data));
          expect(sent).toEqual({
            name: `file-${size}.bin`,
            size,
            sha256: sha,
            storedAs: `file-${size}.bin`,
          });
          expect(received).toEqual({
            name: `file-${size}.bin`,
            path: `${dir}/file-${size}.bin`,
            size,
            sha256: sha,
            protocol: "fibernet",
          });
          expect(yield* listDir(dir)).toEqual([`file-${size}.bin`]);
          expect(sameBytes(yield* readFile(received.path), data)).toBe(true);
        }
      })),
    TIMEOUT,
  );

  it.live(
    "64 MiB arrives with every byte checked, with progress on both sides",
    () =>
      bounded(
        Effect.gen(function* () {
          const size = 64 * 1024 * 1024;
          const data = pattern(size, 64);
          const { path, dir } = yield* setup(data);
          const receiverProgress: FileTransfer.Progress[] = [];
          const senderProgress: FileTransfer.Progress[] = [];
          const server = yield* receiveOnce(dir, { onProgress: (p) => receiverProgress.push(p) });
          const sent = expectSuccess(
            yield* sendTo(server.address, path, { onProgress: (p) => senderProgress.push(p) }),
          );
          const received = expectSuccess(yield* server.result);
          expect(sent.sha256).toBe(yield* Effect.promise(() => subtleHex(data)));
          expect(received.sha256).toBe(sent.sha256);
          const stored = yield* readFile(received.path);
          expect(stored.length).toBe(size);
          expect(sameBytes(stored, data)).toBe(true);
          expect(yield* listDir(dir)).toEqual(["data.bin"]);
          for (
            const [progress, phases] of [
              [senderProgress, ["hash", "send"]],
              [receiverProgress, ["receive"]],
            ] as const
          ) {
            for (const phase of phases) {
              const steps = progress.filter((p) => p.phase === phase);
              expect(steps.length).toBeGreaterThan(2);
              expect(steps[0].done).toBe(0);
              expect(steps.at(-1)!.done).toBe(size);
              expect(
                steps.every((p, i) => p.total === size && (i === 0 || p.done >= steps[i - 1].done)),
              )
                .toBe(true);
            }
          }
        }),
        40,
      ),
    60_000,
  );

  it.live(
    "progressStream streams the progress and ends with the transfer",
    () =>
      bounded(Effect.gen(function* () {
        const data = pattern(2 * 1024 * 1024, 5);
        const { path, dir } = yield* setup(data);
        const server = yield* receiveOnce(dir);
        const conn = yield* Tcp.connect(server.address);
        const seen = yield* FileTransfer.progressStream((onProgress) =>
          FileTransfer.send(conn, path, { onProgress })
        ).pipe(Stream.runCollect, Effect.map((frames) => [...frames]));
        expectSuccess(yield* server.result);
        expect(seen.at(-1)).toEqual({ done: data.length, total: data.length, phase: "send" });
        // A failing transfer fails the stream with its error.
        const failing = yield* Effect.result(
          Stream.runDrain(
            FileTransfer.progressStream((onProgress) =>
              FileTransfer.send(conn, `${path}.missing`, { onProgress })
            ),
          ),
        );
        expectFailure(failing, "FileSystem");
      })),
    TIMEOUT,
  );

  it.live(
    "overwrite replaces an existing file; without it nothing is touched",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(encoder.encode("new content"));
        yield* writeFile(`${dir}/data.bin`, encoder.encode("old"));
        const refusing = yield* receiveOnce(dir);
        const sent = yield* sendTo(refusing.address, path);
        expect(expectFailure(sent, "AlreadyExists").remote).toBe(true);
        expectFailure(yield* refusing.result, "AlreadyExists");
        expect(decoder.decode(yield* readFile(`${dir}/data.bin`))).toBe("old");
        expect(yield* listDir(dir)).toEqual(["data.bin"]);

        const replacing = yield* receiveOnce(dir, { overwrite: true });
        expectSuccess(yield* sendTo(replacing.address, path));
        expectSuccess(yield* replacing.result);
        expect(decoder.decode(yield* readFile(`${dir}/data.bin`))).toBe("new content");
        expect(yield* listDir(dir)).toEqual(["data.bin"]);
      })),
    TIMEOUT,
  );

  it.live(
    "two concurrent uploads of one name: exactly one wins, atomically",
    () =>
      bounded(Effect.gen(function* () {
        const a = pattern(300_000, 1);
        const b = pattern(300_000, 2);
        const srcA = yield* setup(a, "same.bin");
        const srcB = yield* setup(b, "same.bin");
        const dir = srcA.dir;
        const serverA = yield* receiveOnce(dir);
        const serverB = yield* receiveOnce(dir);
        const [sentA, sentB] = yield* Effect.all(
          [sendTo(serverA.address, srcA.path), sendTo(serverB.address, srcB.path)],
          { concurrency: 2 },
        );
        yield* serverA.result;
        yield* serverB.result;
        expect([sentA, sentB].filter(Result.isSuccess).length).toBe(1);
        const loser = [sentA, sentB].find(Result.isFailure)!;
        expectFailure(loser, "AlreadyExists");
        expect(yield* listDir(dir)).toEqual(["same.bin"]);
        const stored = yield* readFile(`${dir}/same.bin`);
        expect(sameBytes(stored, Result.isSuccess(sentA) ? a : b)).toBe(true);
      })),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Refusals and failures: always typed on both sides, never a file left behind
// ---------------------------------------------------------------------------

describe("FileTransfer failures", () => {
  it.live(
    "a file over maxSize is refused from the header, before any byte is written",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(pattern(2000));
        const server = yield* receiveOnce(dir, { maxSize: 1999 });
        const sent = expectFailure(yield* sendTo(server.address, path), "TooLarge", /2000 bytes/);
        expect(sent.remote).toBe(true);
        expectFailure(yield* server.result, "TooLarge");
        expect(yield* listDir(dir)).toEqual([]);
        // Exactly the limit is fine.
        const atLimit = yield* receiveOnce(dir, { maxSize: 2000 });
        expectSuccess(yield* sendTo(atLimit.address, path));
        expectSuccess(yield* atLimit.result);
      })),
    TIMEOUT,
  );

  it.live(
    "a huge announced size is refused at once, the sender still connected",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const server = yield* receiveOnce(dir, { maxSize: 1024 });
        const conn = yield* rawClient(server.address);
        yield* conn.write(
          concat(HELLO, jsonFrame({ name: "big", size: 2 ** 52, sha256: "0".repeat(64) })),
        );
        const reply = Option.getOrThrow(yield* readJsonFrame(conn));
        expect(reply).toMatchObject({ ok: false, reason: "TooLarge" });
        yield* conn.close; // the receiver waits (briefly) for the sender to hang up
        expectFailure(yield* server.result, "TooLarge");
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "a missing target directory is reported to the sender",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(pattern(10));
        const server = yield* receiveOnce(`${dir}/missing`);
        const sent = yield* sendTo(server.address, path);
        expect(expectFailure(sent, "FileSystem", /temporary file/).remote).toBe(true);
        expectFailure(yield* server.result, "FileSystem");
      })),
    TIMEOUT,
  );

  it.live(
    "a wrong checksum fails both sides and leaves nothing",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(pattern(100_000));
        const server = yield* receiveOnce(dir);
        const sent = yield* sendTo(server.address, path, { sha256: "ab".repeat(32) });
        expect(expectFailure(sent, "ChecksumMismatch", /announced sha256 abab/).remote).toBe(true);
        expectFailure(yield* server.result, "ChecksumMismatch");
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "the sender refuses a bad name before sending anything",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(pattern(10));
        for (const name of ["../x", "/etc/x", "a/../../x", "x\u0000y", "a\\b", "", ".."]) {
          const server = yield* receiveOnce(dir);
          expectFailure(yield* sendTo(server.address, path, { name }), "InvalidName");
          // The receiver only saw a connection close without a byte.
          expectFailure(yield* server.result, "Disconnected", /before sending anything/);
        }
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "the receiver refuses traversal and malformed names from a hostile sender",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const names = [
          "../x",
          "/etc/x",
          "a/../../x",
          "..",
          ".",
          "",
          "x\u0000y",
          "a\\b",
          "..\\..\\x",
          ".fnft-evil.part",
          "x".repeat(300),
          42,
          null,
        ];
        for (const name of names) {
          const server = yield* receiveOnce(dir);
          const conn = yield* rawClient(server.address);
          yield* conn.write(
            concat(HELLO, jsonFrame({ name, size: 3, sha256: "0".repeat(64) })),
          );
          const reply = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(reply, String(name)).toMatchObject({ ok: false, reason: "InvalidName" });
          yield* conn.close;
          expectFailure(yield* server.result, "InvalidName");
        }
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "garbage, hostile length headers and malformed headers are protocol errors",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const sha = "0".repeat(64);
        const cases: Array<[Uint8Array, RegExp]> = [
          [encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /bad hello/],
          [concat(HELLO, new Uint8Array([0xff, 0xff, 0xff, 0xff])), /exceeds maxFrameLength/],
          [concat(HELLO, new Uint8Array([0, 1, 0, 1])), /exceeds maxFrameLength/],
          [concat(HELLO, Result.getOrThrow(frames.encode("not json"))), /not a JSON object/],
          [concat(HELLO, Result.getOrThrow(frames.encode("[1,2]"))), /not a JSON object/],
          [concat(HELLO, jsonFrame({ name: "a", size: -1, sha256: sha })), /not a byte count/],
          [concat(HELLO, jsonFrame({ name: "a", size: "12", sha256: sha })), /not a byte count/],
          [concat(HELLO, jsonFrame({ name: "a", size: 2 ** 53, sha256: sha })), /not a byte count/],
          [concat(HELLO, jsonFrame({ name: "a", size: 1.5, sha256: sha })), /not a byte count/],
          [concat(HELLO, jsonFrame({ name: "a", size: 1, sha256: "xyz" })), /64 hex digits/],
          [concat(HELLO, jsonFrame({ name: "a", size: 1 })), /64 hex digits/],
        ];
        for (const [bytes, detail] of cases) {
          const server = yield* receiveOnce(dir);
          const conn = yield* rawClient(server.address);
          // Stay connected and silent: the refusal must come without waiting for more.
          yield* conn.write(bytes);
          const reply = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(reply).toMatchObject({ ok: false, reason: "ProtocolError" });
          expect(String(reply.detail)).toMatch(detail);
          yield* conn.close;
          expectFailure(yield* server.result, "ProtocolError", detail);
        }
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "a sender disconnecting at any stage leaves no file behind",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const data = pattern(200_000, 9);
        const sha = yield* Effect.promise(() => subtleHex(data));
        const header = concat(
          HELLO,
          jsonFrame({ name: "part.bin", size: data.length, sha256: sha }),
        );
        type Stage = (conn: Connection.Connection) => Effect.Effect<unknown, unknown>;
        const afterReply = (more: Uint8Array): Stage => (conn) =>
          Effect.gen(function* () {
            yield* conn.write(header);
            expect(Option.getOrThrow(yield* readJsonFrame(conn))).toEqual({ ok: true });
            yield* conn.write(more);
          });
        const stages: Array<[string, Stage, RegExp]> = [
          ["before sending anything", () => Effect.void, /before sending anything/],
          ["inside the hello", (c) => c.write(HELLO.subarray(0, 2)), /reading the hello/],
          ["inside the header", (c) => c.write(header.subarray(0, header.length - 3)), /header/],
          ["after the header", (c) => c.write(header), /after 0 of 200000 bytes/],
          ["after some data", afterReply(data.subarray(0, 70_000)), /after \d+ of 200000 bytes/],
          ["after all data", afterReply(data), /end frame/],
          [
            "inside the end frame",
            afterReply(concat(data, jsonFrame({ done: true }).subarray(0, 5))),
            /end frame/,
          ],
        ];
        for (const [stage, run, detail] of stages) {
          const server = yield* receiveOnce(dir);
          yield* Effect.scoped(Effect.flatMap(rawClient(server.address), run));
          const error = expectFailure(yield* server.result, "Disconnected", detail);
          expect(error.message, stage).toMatch(detail);
          expect(yield* listDir(dir), stage).toEqual([]);
        }
        // Hanging up after the end frame, without waiting for the verdict: the
        // file is complete and verified, so it is kept.
        const server = yield* receiveOnce(dir);
        yield* Effect.scoped(
          Effect.flatMap(
            rawClient(server.address),
            afterReply(concat(data, jsonFrame({ done: true }))),
          ),
        );
        expectSuccess(yield* server.result);
        expect(yield* listDir(dir)).toEqual(["part.bin"]);
      })),
    TIMEOUT,
  );

  it.live(
    "a receiver disconnecting at any stage fails the sender with Disconnected",
    () =>
      bounded(Effect.gen(function* () {
        const { path } = yield* setup(pattern(3 * 1024 * 1024, 4));
        type Stage = (conn: Connection.Connection) => Effect.Effect<unknown, unknown>;
        const acceptThen = (n: number): Stage => (conn) =>
          Effect.gen(function* () {
            const source = conn;
            yield* Framing.readExactly(source, HELLO.length);
            yield* frames.readFrame(source);
            yield* conn.write(jsonFrame({ ok: true }));
            yield* Framing.readExactly(source, n);
          });
        const stages: Array<[string, Stage]> = [
          ["at once", () => Effect.void],
          ["after the header", (conn) => Framing.readExactly(conn, HELLO.length + 10)],
          ["mid-data", acceptThen(1024 * 1024)],
          ["after all data, without a verdict", acceptThen(3 * 1024 * 1024 + 4 + 13)],
        ];
        for (const [stage, run] of stages) {
          const listener = yield* Tcp.listen("127.0.0.1:0");
          const peer = yield* Effect.forkChild(
            Effect.scoped(Effect.flatMap(Listener.acceptScoped(listener), run)),
          );
          const sent = yield* sendTo(listener.address, path, { timeout: "10 seconds" });
          const error = expectFailure(sent, "Disconnected");
          expect(error.remote, stage).toBeFalsy();
          yield* Fiber.join(peer).pipe(Effect.ignore);
        }
      })),
    TIMEOUT,
  );

  it.live(
    "a lying size header is caught in both directions",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const data = pattern(100);
        const sha = yield* Effect.promise(() => subtleHex(data));
        const header = concat(HELLO, jsonFrame({ name: "lie.bin", size: 100, sha256: sha }));
        // More bytes than announced.
        {
          const server = yield* receiveOnce(dir);
          const conn = yield* rawClient(server.address);
          yield* conn.write(header);
          expect(Option.getOrThrow(yield* readJsonFrame(conn))).toEqual({ ok: true });
          yield* conn.write(concat(data, pattern(50, 1), jsonFrame({ done: true })));
          const verdict = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(verdict).toMatchObject({ ok: false, reason: "SizeMismatch" });
          yield* conn.close;
          expectFailure(yield* server.result, "SizeMismatch", /more than the 100 bytes/);
        }
        // Fewer bytes than announced, then waiting: the receiver's timeout ends it.
        {
          const server = yield* receiveOnce(dir, { timeout: "300 millis" });
          const conn = yield* rawClient(server.address);
          yield* conn.write(header);
          expect(Option.getOrThrow(yield* readJsonFrame(conn))).toEqual({ ok: true });
          yield* conn.write(concat(data.subarray(0, 60), jsonFrame({ done: true })));
          const verdict = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(verdict).toMatchObject({ ok: false, reason: "TimedOut" });
          yield* conn.close;
          expectFailure(yield* server.result, "TimedOut", /receiving data/);
        }
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "a file that shrinks while sending fails; one that grows sends its snapshot",
    () =>
      bounded(Effect.gen(function* () {
        const data = pattern(1024 * 1024, 8);
        const { path, dir } = yield* setup(data);
        const server = yield* receiveOnce(dir);
        let truncated = false;
        const sent = yield* sendTo(server.address, path, {
          onProgress: (p) => {
            if (p.phase === "send" && !truncated) {
              truncated = true;
              Deno.truncateSync(path, 1000);
            }
          },
        });
        expectFailure(sent, "SizeMismatch", /shrank from 1048576 to \d+ bytes/);
        expectFailure(yield* server.result, "Disconnected");
        expect(yield* listDir(dir)).toEqual([]);

        yield* writeFile(path, data);
        const again = yield* receiveOnce(dir);
        let grown = false;
        const ok = yield* sendTo(again.address, path, {
          onProgress: (p) => {
            if (p.phase === "send" && !grown) {
              grown = true;
              Deno.writeFileSync(path, new Uint8Array(5000), { append: true });
            }
          },
        });
        expect(expectSuccess(ok).size).toBe(data.length);
        expectSuccess(yield* again.result);
        expect(sameBytes(yield* readFile(`${dir}/data.bin`), data)).toBe(true);
      })),
    TIMEOUT,
  );

  it.live(
    "timeouts: a silent sender, a silent receiver, a stalled transfer",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        // The sender connects and says nothing.
        {
          const server = yield* receiveOnce(dir, { timeout: "200 millis" });
          yield* rawClient(server.address);
          expectFailure(yield* server.result, "TimedOut", /waiting for the sender/);
        }
        // The receiver reads the header and never answers.
        {
          const { path } = yield* setup(pattern(10));
          const listener = yield* Tcp.listen("127.0.0.1:0");
          yield* Effect.forkChild(
            Effect.scoped(
              Effect.flatMap(
                Listener.acceptScoped(listener),
                (conn) => Effect.andThen(conn.read(), Effect.never),
              ),
            ),
          );
          const sent = yield* sendTo(listener.address, path, { timeout: "200 millis" });
          expectFailure(sent, "TimedOut", /waiting for the receiver to accept/);
        }
        // The transfer stalls mid-way: the receiver gives up, removes the
        // partial file and tells the sender.
        {
          const data = pattern(1000);
          const sha = yield* Effect.promise(() => subtleHex(data));
          const server = yield* receiveOnce(dir, { timeout: "300 millis" });
          const conn = yield* rawClient(server.address);
          yield* conn.write(concat(HELLO, jsonFrame({ name: "stall", size: 1000, sha256: sha })));
          yield* readJsonFrame(conn);
          yield* conn.write(data.subarray(0, 10));
          const verdict = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(verdict).toMatchObject({ ok: false, reason: "TimedOut" });
          yield* conn.close;
          expectFailure(yield* server.result, "TimedOut", /no progress for/);
        }
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "interrupting the receiver mid-transfer removes the partial file",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const data = pattern(1000);
        const sha = yield* Effect.promise(() => subtleHex(data));
        let received = 0;
        const server = yield* receiveOnce(dir, { onProgress: (p) => void (received = p.done) });
        const conn = yield* rawClient(server.address);
        yield* conn.write(concat(HELLO, jsonFrame({ name: "cut", size: 1000, sha256: sha })));
        yield* readJsonFrame(conn);
        yield* conn.write(data.subarray(0, 500));
        // Wait until the bytes are on disk (in the temporary file).
        while (received < 500) yield* Effect.sleep("5 millis");
        expect((yield* listDir(dir)).length).toBe(1);
        yield* Fiber.interrupt(server.fiber);
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// The tutorial's protocol
// ---------------------------------------------------------------------------

/** The tutorial client, with a raw Deno socket: size as text, wait for any answer, bytes, close. */
const tutorialClient = async (
  port: number,
  sizeText: string,
  data: Uint8Array,
  options?: { readAnswer?: boolean },
): Promise<string> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(sizeText));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    const ack = n === null ? "" : decoder.decode(buffer.subarray(0, n));
    if (n === null || ack.startsWith("ERROR")) return ack;
    for (let offset = 0; offset < data.length; offset += 7000) {
      let chunk = data.subarray(offset, offset + 7000);
      while (chunk.length > 0) chunk = chunk.subarray(await conn.write(chunk));
    }
    if (!options?.readAnswer) return ack;
    await conn.closeWrite();
    const m = await conn.read(buffer);
    return m === null ? "" : decoder.decode(buffer.subarray(0, m));
  } finally {
    conn.close();
  }
};

describe("FileTransfer: the tutorial's protocol", () => {
  it.live(
    "a raw socket client's upload is stored atomically under a generated name",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const data = pattern(150_001, 11);
        const server = yield* receiveOnce(dir);
        const answer = yield* Effect.promise(() =>
          tutorialClient((server.address as Address.InetAddress).port, String(data.length), data, {
            readAnswer: true,
          })
        );
        const received = expectSuccess(yield* server.result);
        const sha = yield* Effect.promise(() => subtleHex(data));
        expect(received.protocol).toBe("tutorial");
        expect(received.name).toMatch(/^upload-\d{8}-\d{6}-[0-9a-f]{8}\.bin$/);
        expect(received.sha256).toBe(sha);
        expect(answer).toBe(`DONE ${sha}\n`);
        expect(yield* listDir(dir)).toEqual([received.name]);
        expect(sameBytes(yield* readFile(received.path), data)).toBe(true);

        // Empty file, a custom name, and a size sent with a newline (as netcat would).
        const named = yield* receiveOnce(dir, { tutorialName: () => "from-tutorial.png" });
        yield* Effect.promise(() =>
          tutorialClient((named.address as Address.InetAddress).port, "0\n", new Uint8Array(0))
        );
        expect(expectSuccess(yield* named.result).name).toBe("from-tutorial.png");
        expect((yield* readFile(`${dir}/from-tutorial.png`)).length).toBe(0);
      })),
    TIMEOUT,
  );

  it.live(
    "a tutorial upload is kept only if the byte count matches",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const port = (s: { address: Address.Address }) => (s.address as Address.InetAddress).port;
        const data = pattern(50_000, 12);
        // Fewer bytes, then hanging up.
        const short = yield* receiveOnce(dir);
        yield* Effect.promise(() => tutorialClient(port(short), "60000", data));
        expectFailure(yield* short.result, "Disconnected", /after 50000 of 60000 bytes/);
        // More bytes than announced.
        const long = yield* receiveOnce(dir);
        yield* Effect.promise(() => tutorialClient(port(long), "40000", data));
        expectFailure(yield* long.result, "SizeMismatch", /more than the 40000 bytes/);
        // Exactly the announced bytes, then a few more a moment later.
        const late = yield* receiveOnce(dir);
        yield* Effect.promise(async () => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: port(late) });
          await conn.write(encoder.encode("1000"));
          await conn.read(new Uint8Array(100));
          await conn.write(data.subarray(0, 1000));
          await new Promise((resolve) => setTimeout(resolve, 100));
          await conn.write(data.subarray(0, 10)).catch(() => 0);
          conn.close();
        });
        expectFailure(yield* late.result, "SizeMismatch", /more than the 1000 bytes/);
        // Over the size limit: refused at once, with an answer the client can print.
        const big = yield* receiveOnce(dir, { maxSize: 1000 });
        const answer = yield* Effect.promise(() => tutorialClient(port(big), "1001", data));
        expect(answer).toMatch(/^ERROR TooLarge: 1001 bytes is over the limit of 1000 bytes/);
        expectFailure(yield* big.result, "TooLarge");
        // Not a number.
        const junk = yield* receiveOnce(dir);
        yield* Effect.promise(() => tutorialClient(port(junk), "12abc", data));
        expectFailure(yield* junk.result, "ProtocolError", /decimal digits/);
        // The tutorial protocol can be switched off.
        const off = yield* receiveOnce(dir, { tutorial: false });
        yield* Effect.promise(() => tutorialClient(port(off), "10", data));
        expectFailure(yield* off.result, "ProtocolError", /bad hello/);
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  needs("python3", it.live)(
    "the tutorial's own Python client works unchanged",
    () =>
      bounded(Effect.gen(function* () {
        const { path, dir } = yield* setup(pattern(200_000, 13), "f.png");
        const server = yield* receiveOnce(dir);
        const port = (server.address as Address.InetAddress).port;
        // The tutorial's client, with the LAN address replaced by loopback.
        const client = `
import socket
import os
os.chdir(${JSON.stringify(path.slice(0, path.lastIndexOf("/")))})
obj = socket.socket()
obj.connect(("127.0.0.1",${port}))
size = os.stat("f.png").st_size
obj.sendall(bytes(str(size),encoding="utf-8"))
print(str(obj.recv(1024),encoding="utf-8"))
with open("f.png","rb") as f:
    for i in f:
        obj.sendall(i)
obj.close()
`;
        const out = yield* Effect.promise(() => python(client));
        expect(out.trim()).toBe("OK");
        const received = expectSuccess(yield* server.result);
        expect(received.protocol).toBe("tutorial");
        expect(sameBytes(yield* readFile(received.path), yield* readFile(path))).toBe(true);
      })),
    TIMEOUT,
  );
});

// Hostile peers of a file transfer: uploads that stall after the go-ahead,
// drip a byte now and then or drag on, names that hide what they are, and
// peer text in error messages.
import { describe, it } from "@effect/vitest";
import { Effect, Fiber, Option, Result } from "effect";
import { expect } from "vitest";
import { type Connection, FileTransfer, Listener, Tcp } from "../mod.ts";
import { pattern, sameBytes } from "./_support/bytes.ts";
import { startServer } from "./_support/net.ts";
import { repoPath, tempDir } from "./_support/paths.ts";
import {
  bounded,
  concat,
  decoder,
  encoder,
  expectFailure,
  expectSuccess,
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
} from "./_support/transfer.ts";

/** Announces `size` bytes named `name` (this library's protocol) and waits for the go-ahead. */
const announce = (conn: Connection.Connection, name: string, size: number, sha256: string) =>
  Effect.gen(function* () {
    yield* conn.write(concat(HELLO, jsonFrame({ name, size, sha256 })));
    return Option.getOrThrow(yield* readJsonFrame(conn));
  });

/** Announces `size` bytes in the tutorial's protocol and waits for its "OK". */
const announceTutorial = (conn: Connection.Connection, size: number) =>
  Effect.gen(function* () {
    yield* conn.write(String(size));
    return decoder.decode(Option.getOrThrow(yield* conn.read()));
  });

/** Sends one byte of `data` every `everyMs` until interrupted (or the connection fails). */
const drip = (conn: Connection.Connection, data: Uint8Array, everyMs: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < data.length; i++) {
      yield* conn.write(data.subarray(i, i + 1));
      yield* Effect.sleep(`${everyMs} millis`);
    }
  }).pipe(Effect.ignore);

/** Reads until the peer closes (or resets); true once it has. */
const closedByPeer = (conn: Connection.Connection) => {
  const loop: Effect.Effect<boolean> = Effect.matchEffect(conn.read(), {
    onFailure: () => Effect.succeed(true),
    onSuccess: (chunk) => Option.isNone(chunk) ? Effect.succeed(true) : loop,
  });
  return loop;
};

// ---------------------------------------------------------------------------
// Stalled uploads
// ---------------------------------------------------------------------------

describe("FileTransfer: uploads that stall after the go-ahead", () => {
  it.live(
    "cost the receiver what an idle connection costs: no buffers, no temporary file, no extra descriptor",
    () =>
      bounded(
        Effect.gen(function* () {
          const dir = yield* Effect.promise(() => Deno.makeTempDir({ prefix: "fibernet-" }));
          const out = yield* Effect.promise(() =>
            new Deno.Command(Deno.execPath(), {
              args: [
                "run",
                "-A",
                "--v8-flags=--expose-gc",
                "--config",
                repoPath("../deno.json"),
                repoPath("fixtures/stalled_upload_memory.ts"),
                "200",
                dir,
              ],
              stdout: "piped",
              stderr: "piped",
              signal: AbortSignal.timeout(50_000),
            }).output()
          ).pipe(Effect.ensuring(Effect.promise(() => Deno.remove(dir, { recursive: true }))));
          const stdout = decoder.decode(out.stdout);
          expect(out.success, stdout + decoder.decode(out.stderr)).toBe(true);
          const result = JSON.parse(stdout.trim().split("\n").pop()!);
          const why = JSON.stringify(result);
          // Before: each stalled upload held two 256 KiB buffers, a temporary
          // file and its descriptor (555 KB measured this way).
          expect(result.stalledPerUpload.retained, why).toBeLessThan(32 * 1024);
          expect(result.stalledPerUpload.retained, why).toBeLessThan(
            result.idlePerConnection.retained + 8 * 1024,
          );
          // Two descriptors each: the client's and the server's socket.
          expect(result.stalledPerUpload.fds, why).toBeLessThan(result.idlePerConnection.fds + 0.5);
          expect(result.tempFilesWhileStalled, why).toBe(0);
          expect(result.tempFilesAfter, why).toBe(0);
        }),
        55,
      ),
    60_000,
  );

  it.live(
    "are closed by the server's idle sweep, which sees the receiver waiting (both protocols)",
    () =>
      bounded(
        Effect.gen(function* () {
          const dir = yield* tempDir;
          const server = yield* startServer(
            (conn) => FileTransfer.receive(conn, { dir, timeout: "1 minute" }),
            { idleTimeout: "300 millis", failureLogLevel: "None" },
          );
          const fibernet = yield* rawClient(server.address);
          expect(yield* announce(fibernet, "stalled.bin", 1000, "0".repeat(64))).toEqual({
            ok: true,
          });
          const tutorial = yield* rawClient(server.address);
          expect(yield* announceTutorial(tutorial, 1000)).toBe("OK\n");
          // Nothing more: the server closes both well before the transfer's own timeout.
          expect(yield* closedByPeer(fibernet)).toBe(true);
          expect(yield* closedByPeer(tutorial)).toBe(true);
          expect(yield* listDir(dir)).toEqual([]);
        }),
        10,
      ),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Slow uploads: a minimum rate and a deadline
// ---------------------------------------------------------------------------

describe("FileTransfer: slow uploads", () => {
  const minRate = { bytes: 200, per: "300 millis" } as const;

  it.live(
    "a byte now and then is cut off by the minimum rate, though it always makes progress",
    () =>
      bounded(
        Effect.gen(function* () {
          const dir = yield* tempDir;
          const data = pattern(1000);
          const sha = yield* Effect.promise(() => subtleHex(data));
          const server = yield* receiveOnce(dir, { timeout: "5 seconds", minRate });
          const conn = yield* rawClient(server.address);
          expect(yield* announce(conn, "drip.bin", data.length, sha)).toEqual({ ok: true });
          const dripping = yield* Effect.forkChild(drip(conn, data, 50));
          // The receiver says why, then waits (briefly) for the sender to hang up.
          const verdict = Option.getOrThrow(yield* readJsonFrame(conn));
          expect(verdict).toMatchObject({ ok: false, reason: "TimedOut" });
          yield* Fiber.interrupt(dripping);
          yield* conn.close;
          expectFailure(
            yield* server.result,
            "TimedOut",
            /only \d+ bytes in 300ms, under the minimum rate of 200 bytes per 300ms while receiving data/,
          );
          expect(yield* listDir(dir)).toEqual([]);
        }),
        8,
      ),
    TIMEOUT,
  );

  it.live(
    "the same in the tutorial's protocol",
    () =>
      bounded(
        Effect.gen(function* () {
          const dir = yield* tempDir;
          const server = yield* receiveOnce(dir, { timeout: "5 seconds", minRate });
          const conn = yield* rawClient(server.address);
          expect(yield* announceTutorial(conn, 1000)).toBe("OK\n");
          const dripping = yield* Effect.forkChild(drip(conn, pattern(1000), 50));
          const answer = decoder.decode(Option.getOrThrow(yield* conn.read()));
          expect(answer).toMatch(/^ERROR TimedOut: only \d+ bytes in 300ms/);
          yield* Fiber.interrupt(dripping);
          yield* conn.close;
          expectFailure(yield* server.result, "TimedOut", /under the minimum rate/);
          expect(yield* listDir(dir)).toEqual([]);
        }),
        8,
      ),
    TIMEOUT,
  );

  it.live(
    "an upload that keeps a fair pace is cut off by the deadline",
    () =>
      bounded(
        Effect.gen(function* () {
          const dir = yield* tempDir;
          const data = pattern(4000);
          const sha = yield* Effect.promise(() => subtleHex(data));
          const server = yield* receiveOnce(dir, { deadline: "600 millis" });
          const conn = yield* rawClient(server.address);
          expect(yield* announce(conn, "long.bin", data.length, sha)).toEqual({ ok: true });
          // 100 bytes every 50 ms: never idle, over any default rate, done in 2 s.
          const sending = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let offset = 0; offset < data.length; offset += 100) {
                yield* conn.write(data.subarray(offset, offset + 100));
                yield* Effect.sleep("50 millis");
              }
              yield* conn.write(jsonFrame({ done: true }));
            }).pipe(Effect.ignore),
          );
          expect(Option.getOrThrow(yield* readJsonFrame(conn))).toMatchObject({
            ok: false,
            reason: "TimedOut",
          });
          yield* Fiber.interrupt(sending);
          yield* conn.close;
          expectFailure(
            yield* server.result,
            "TimedOut",
            /took longer than its deadline of 600ms/,
          );
          expect(yield* listDir(dir)).toEqual([]);
        }),
        8,
      ),
    TIMEOUT,
  );

  it.live(
    "a sender whose receiver stops reading is cut off by its deadline",
    () =>
      bounded(
        Effect.gen(function* () {
          const { path } = yield* setup(pattern(16 * 1024 * 1024, 3));
          const listener = yield* Tcp.listen("127.0.0.1:0");
          // Accepts the header, then never reads again.
          yield* Effect.forkChild(
            Effect.scoped(
              Effect.flatMap(Listener.acceptScoped(listener), (conn) =>
                Effect.gen(function* () {
                  yield* conn.read(5 + 4 + 200);
                  yield* conn.write(jsonFrame({ ok: true }));
                  yield* Effect.never;
                })),
            ),
          );
          const sent = yield* sendTo(listener.address, path, {
            timeout: "20 seconds",
            minRate: { bytes: 0, per: "1 second" },
            deadline: "500 millis",
          });
          expectFailure(sent, "TimedOut", /took longer than its deadline of 500ms/);
        }),
        10,
      ),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/** Names that hide what they are, and why each is refused. */
const hiding: Array<[string, RegExp]> = [
  ["a\u0085b", /control character \(U\+0085\)/],
  ["a\u009bb", /control character \(U\+009B\)/],
  ["a\u0080", /control character/],
  ["a\u061cb", /bidirectional control \(U\+061C\)/],
  ["a\u200eb", /bidirectional control/],
  ["a\u200fb", /bidirectional control/],
  ["a\u202ab", /bidirectional control/],
  ["evil\u202etxt.exe", /bidirectional control \(U\+202E\)/],
  ["a\u2066b", /bidirectional control/],
  ["a\u2069b", /bidirectional control \(U\+2069\)/],
  ["a\u2028b", /line or paragraph separator \(U\+2028\)/],
  ["a\u2029b", /line or paragraph separator/],
  ["a\ud800b", /ill-formed UTF-16/],
  ["\udc00", /ill-formed UTF-16/],
  ["x\ud83d", /ill-formed UTF-16/],
];

describe("FileTransfer: names", () => {
  it("refuses C1 controls, bidi controls, line separators and lone surrogates", () => {
    for (const [name, why] of hiding) {
      const error = expectFailure(FileTransfer.validateName(name), "InvalidName", why);
      expect(error.file).toBe(name);
      // The message shows the name escaped: nothing in it acts on a terminal.
      expect(error.message.isWellFormed(), error.message).toBe(true);
      expect(/[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/.test(
        error.message,
      )).toBe(false);
    }
    // Still fine: emoji (a surrogate pair, with a joiner), other scripts.
    for (const ok of ["\u{1F600}.png", "\u{1F469}\u200d\u{1F4BB}.txt", "ملف.txt", "名字.txt"]) {
      expect(Result.getOrThrow(FileTransfer.validateName(ok)), ok).toBe(ok);
    }
  });

  it("names are stored in NFC: the limits apply to the NFC form", () => {
    expect(Result.getOrThrow(FileTransfer.validateName("cafe\u0301.txt"))).toBe("caf\u00e9.txt");
    // 100 × (e + combining acute) is 300 UTF-8 bytes; in NFC, 200.
    expect(Result.getOrThrow(FileTransfer.validateName("e\u0301".repeat(100)))).toBe(
      "\u00e9".repeat(100),
    );
    expectFailure(FileTransfer.validateName("e\u0301".repeat(128)), "InvalidName", /255 bytes/);
  });

  it.live(
    "the receiver refuses each hiding name from a hostile sender, and quotes it escaped",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        for (const [name, why] of hiding) {
          const server = yield* receiveOnce(dir);
          const conn = yield* rawClient(server.address);
          const reply = yield* announce(conn, name, 3, "0".repeat(64));
          expect(reply, JSON.stringify(name)).toMatchObject({ ok: false, reason: "InvalidName" });
          expect(String(reply.detail)).toMatch(why);
          yield* conn.close;
          const error = expectFailure(yield* server.result, "InvalidName", why);
          expect(error.file).toBe(name);
        }
        const server = yield* receiveOnce(dir);
        const conn = yield* rawClient(server.address);
        yield* announce(conn, "evil\u202etxt.exe", 3, "0".repeat(64));
        yield* conn.close;
        const error = expectFailure(yield* server.result, "InvalidName");
        expect(error.message).toContain('("evil\\u202etxt.exe")');
        expect(yield* listDir(dir)).toEqual([]);
      })),
    TIMEOUT,
  );

  it.live(
    "a name sent decomposed is stored, and confirmed, in NFC: one name, one file",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const data = encoder.encode("bonjour");
        const sha = yield* Effect.promise(() => subtleHex(data));
        const nfd = "cafe\u0301.txt";
        const nfc = "caf\u00e9.txt";
        const server = yield* receiveOnce(dir);
        const conn = yield* rawClient(server.address);
        expect(yield* announce(conn, nfd, data.length, sha)).toEqual({ ok: true });
        yield* conn.write(concat(data, jsonFrame({ done: true })));
        const verdict = Option.getOrThrow(yield* readJsonFrame(conn));
        expect(verdict).toEqual({ ok: true, name: nfc, size: data.length, sha256: sha });
        const received = expectSuccess(yield* server.result);
        expect(received.name).toBe(nfc);
        expect(yield* listDir(dir)).toEqual([nfc]);
        // The same name composed is the same file.
        const { path } = yield* setup(encoder.encode("other"), nfc);
        const again = yield* receiveOnce(dir);
        expectFailure(yield* sendTo(again.address, path), "AlreadyExists");
        expectFailure(yield* again.result, "AlreadyExists");
        // And a sender announces its own decomposed name in NFC.
        const decomposed = yield* setup(data, nfd);
        const fresh = yield* tempDir;
        const third = yield* receiveOnce(fresh);
        const sent = expectSuccess(yield* sendTo(third.address, decomposed.path));
        expect(sent).toMatchObject({ name: nfc, storedAs: nfc });
        expectSuccess(yield* third.result);
        expect(decoder.decode(yield* readFile(`${fresh}/${nfc}`))).toBe("bonjour");
      })),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Peer text in messages
// ---------------------------------------------------------------------------

// deno-lint-ignore no-control-regex
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe("FileTransfer: peer text in messages", () => {
  it.live(
    "a header value is quoted escaped and cut short",
    () =>
      bounded(Effect.gen(function* () {
        const dir = yield* tempDir;
        const size = `\u001b]0;owned\u0007\u202e${"9".repeat(20_000)}`;
        const server = yield* receiveOnce(dir);
        const conn = yield* rawClient(server.address);
        yield* conn.write(
          concat(HELLO, jsonFrame({ name: "a.bin", size, sha256: "0".repeat(64) })),
        );
        const reply = Option.getOrThrow(yield* readJsonFrame(conn));
        expect(reply).toMatchObject({ ok: false, reason: "ProtocolError" });
        yield* conn.close;
        const error = expectFailure(yield* server.result, "ProtocolError", /not a byte count/);
        for (const text of [error.message, error.detail, String(reply.detail)]) {
          expect(TERMINAL_CONTROLS.test(text), text).toBe(false);
          expect(text.length).toBeLessThan(300);
        }
        expect(error.detail).toContain("\\u001b]0;owned\\u0007\\u202e99");
      })),
    TIMEOUT,
  );

  it.live(
    "a hostile receiver's refusal and verdict are shown escaped and cut short",
    () =>
      bounded(Effect.gen(function* () {
        const { path } = yield* setup(pattern(100));
        const detail = `\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u202e${
          "x".repeat(5000)
        }\n[forged log line]`;
        const answers: Array<[Record<string, unknown>, FileTransfer.Reason, RegExp]> = [
          [{ ok: false, reason: "TooLarge", detail }, "TooLarge", /\\x1b\[2J/],
          [{ ok: false, reason: "\u001bNoSuchReason", detail }, "ProtocolError", /\\x1b\[2J/],
          [{ ok: false, evil: "\u001b[2J" }, "ProtocolError", /without a reason/],
        ];
        for (const [answer, reason, shown] of answers) {
          const listener = yield* Tcp.listen("127.0.0.1:0");
          yield* Effect.forkChild(
            Effect.scoped(
              Effect.flatMap(
                Listener.acceptScoped(listener),
                (conn) =>
                  Effect.andThen(
                    conn.read(),
                    Effect.andThen(conn.write(jsonFrame(answer)), conn.read()),
                  ),
              ),
            ),
          );
          const error = expectFailure(yield* sendTo(listener.address, path), reason, shown);
          expect(error.remote).toBe(true);
          expect(TERMINAL_CONTROLS.test(error.message), error.message).toBe(false);
          expect(error.message).not.toContain("\n");
          expect(error.message.length).toBeLessThanOrEqual(1024);
        }
        // A verdict confirming a name this side would refuse.
        const data = pattern(100);
        const sha = yield* Effect.promise(() => subtleHex(data));
        const listener = yield* Tcp.listen("127.0.0.1:0");
        yield* Effect.forkChild(
          Effect.scoped(
            Effect.flatMap(Listener.acceptScoped(listener), (conn) =>
              Effect.gen(function* () {
                yield* conn.read();
                yield* conn.write(jsonFrame({ ok: true }));
                let seen = 0;
                while (seen < data.length + 4 + 13) {
                  seen += Option.getOrThrow(yield* conn.read()).length;
                }
                yield* conn.write(
                  jsonFrame({ ok: true, name: "\u001b[2Jx", size: data.length, sha256: sha }),
                );
                yield* conn.read();
              })),
          ),
        );
        const error = expectFailure(
          yield* sendTo(listener.address, path),
          "ProtocolError",
          /confirmed an invalid name \("\\u001b\[2Jx"\)/,
        );
        expect(TERMINAL_CONTROLS.test(error.message)).toBe(false);
      })),
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// Connections without a core socket (TLS wraps its own)
// ---------------------------------------------------------------------------

/** `conn` seen only through the Connection interface, as a connection from elsewhere would be. */
const foreign = (conn: Connection.Connection): Connection.Connection => ({
  get localAddress() {
    return conn.localAddress;
  },
  get remoteAddress() {
    return conn.remoteAddress;
  },
  read: (maxBytes) => conn.read(maxBytes),
  readBorrowed: (maxBytes) => conn.readBorrowed(maxBytes),
  readExactly: (n) => conn.readExactly(n),
  readText: (maxBytes) => conn.readText(maxBytes),
  write: (data) => conn.write(data),
  get closeWrite() {
    return conn.closeWrite;
  },
  get close() {
    return conn.close;
  },
  unsafeClose: () => conn.unsafeClose(),
  get stream() {
    return conn.stream;
  },
  get textStream() {
    return conn.textStream;
  },
  get sink() {
    return conn.sink;
  },
  setNoDelay: (on) => conn.setNoDelay(on),
  setKeepAlive: (on) => conn.setKeepAlive(on),
  get unsentBytes() {
    return conn.unsentBytes;
  },
  get writeWaitingSince() {
    return conn.writeWaitingSince;
  },
  get bytesRead() {
    return conn.bytesRead;
  },
  get bufferedBytes() {
    return conn.bufferedBytes;
  },
  get bytesWritten() {
    return conn.bytesWritten;
  },
  get readWaitingSince() {
    return conn.readWaitingSince;
  },
  get raw() {
    return conn.raw;
  },
});

describe("FileTransfer over a connection without a core socket", () => {
  it.live(
    "a round trip, and a dripping sender cut off by the minimum rate",
    () =>
      bounded(Effect.gen(function* () {
        const data = pattern(3 * 1024 * 1024 + 5, 31);
        const { path, dir } = yield* setup(data);
        const listener = yield* Tcp.listen("127.0.0.1:0");
        const receiving = yield* Effect.forkChild(
          Effect.scoped(
            Effect.flatMap(
              Listener.acceptScoped(listener),
              (conn) => FileTransfer.receive(foreign(conn), { dir }),
            ),
          ),
        );
        const sent = yield* Effect.result(
          Effect.scoped(
            Effect.flatMap(
              Tcp.connect(listener.address),
              (conn) => FileTransfer.send(foreign(conn), path),
            ),
          ),
        );
        expect(expectSuccess(sent).size).toBe(data.length);
        const received = expectSuccess(yield* Effect.result(Fiber.join(receiving)));
        expect(sameBytes(yield* readFile(received.path), data)).toBe(true);

        const slow = yield* Tcp.listen("127.0.0.1:0");
        const slowReceiving = yield* Effect.forkChild(
          Effect.scoped(
            Effect.flatMap(
              Listener.acceptScoped(slow),
              (conn) =>
                FileTransfer.receive(foreign(conn), {
                  dir,
                  timeout: "5 seconds",
                  minRate: { bytes: 200, per: "300 millis" },
                }),
            ),
          ),
        );
        const conn = yield* rawClient(slow.address);
        const small = pattern(1000);
        const sha = yield* Effect.promise(() => subtleHex(small));
        expect(yield* announce(conn, "drip.bin", small.length, sha)).toEqual({ ok: true });
        const dripping = yield* Effect.forkChild(drip(conn, small, 50));
        expect(Option.getOrThrow(yield* readJsonFrame(conn))).toMatchObject({ reason: "TimedOut" });
        yield* Fiber.interrupt(dripping);
        yield* conn.close;
        expectFailure(
          yield* Effect.result(Fiber.join(slowReceiving)),
          "TimedOut",
          /minimum rate/,
        );
        expect(yield* listDir(dir)).toEqual(["data.bin"]);
      })),
    TIMEOUT,
  );
});

// Reliability under faults: resets, descriptor exhaustion, failing handlers.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Either, Fiber, Option, Schedule } from "effect";
import { Address, Framing, Tcp } from "../mod.ts";
import { pattern, sameBytes } from "./_support/bytes.ts";
import { echo, startServer } from "./_support/net.ts";
import { repoPath } from "./_support/paths.ts";
import { pythonResettingClient } from "./_support/peers.ts";
import { needs } from "./_support/needs.ts";

describe("faults", () => {
  needs("python3", it.scopedLive)(
    "a peer that resets mid-read or mid-write fails only its own connection",
    () =>
      Effect.gen(function* () {
        const outcomes: Array<string> = [];
        const big = pattern(64 * 1024 * 1024, 9);
        const server = yield* startServer((conn) =>
          Effect.gen(function* () {
            const first = yield* conn.read();
            // A reset that lands before the data can read as a plain end of stream.
            if (Option.isNone(first)) return void outcomes.push("ended early");
            // Answer with far more than the peer will read: the reset lands mid-write.
            yield* conn.write(big);
            yield* conn.read();
          }).pipe(
            Effect.tapError((error) => Effect.sync(() => outcomes.push(error.reason))),
          )
        );
        // A healthy client talks to the server the whole time.
        const healthy = yield* Tcp.connect(server.address);
        yield* Effect.promise(() =>
          pythonResettingClient((server.address as { port: number }).port, 0)
        );
        yield* Effect.promise(() =>
          pythonResettingClient((server.address as { port: number }).port, 100_000)
        );
        yield* Effect.repeat(Effect.void, {
          // The first peer may reset before it is even accepted; the second one is
          // accepted, reads 100 000 bytes, then resets in the middle of the write.
          until: () => outcomes.some((r) => r === "ConnectionReset" || r === "BrokenPipe"),
          schedule: Schedule.spaced("10 millis"),
        }).pipe(
          Effect.timeout("10 seconds"),
        );
        for (const reason of outcomes) {
          expect(["ConnectionReset", "BrokenPipe", "ended early"]).toContain(reason);
        }
        yield* healthy.write("ok?");
        const reply = yield* healthy.readExactly(64 * 1024 * 1024);
        expect(sameBytes(reply, big)).toBe(true);
      }),
    30_000,
  );

  it.scopedLive(
    "handler failures of every kind on many connections leave the rest untouched",
    () =>
      Effect.gen(function* () {
        let n = 0;
        const server = yield* startServer((conn) =>
          Effect.suspend(() => {
            const kind = n++ % 5;
            return Effect.flatMap(conn.read(), (first): Effect.Effect<unknown, unknown> => {
              if (Option.isNone(first)) return Effect.void;
              const text = new TextDecoder().decode(first.value);
              if (!text.startsWith("victim")) {
                return Effect.zipRight(conn.write(first.value), echo(conn));
              }
              switch (kind) {
                case 0:
                  return Effect.fail("typed failure");
                case 1:
                  return Effect.die("defect");
                case 2:
                  throw new Error("thrown");
                case 3:
                  return Effect.interrupt;
                default:
                  return Effect.sync(() => JSON.parse("{not json"));
              }
            });
          })
        );
        const victims = Effect.forEach(
          Array.from({ length: 100 }),
          () =>
            Effect.scoped(
              Effect.flatMap(
                Tcp.connect(server.address),
                (c) => Effect.zipRight(c.write("victim"), Effect.either(c.read())),
              ),
            ),
          { concurrency: 25 },
        );
        const survivors = Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) =>
            Effect.scoped(Effect.gen(function* () {
              const c = yield* Tcp.connect(server.address);
              let ok = true;
              for (let round = 0; round < 20; round++) {
                const message = pattern(1000 + round, i * 100 + round);
                yield* c.write(message);
                ok = ok && sameBytes(yield* c.readExactly(message.length), message);
              }
              return ok;
            })),
          { concurrency: "unbounded" },
        );
        const [, ok] = yield* Effect.all([victims, survivors], { concurrency: 2 });
        expect(ok.every(Boolean)).toBe(true);
        // And the server still accepts.
        const last = yield* Tcp.connect(server.address);
        yield* last.write("fine");
        expect(new TextDecoder().decode(yield* last.readExactly(4))).toBe("fine");
      }),
    30_000,
  );

  it.scopedLive(
    "a slowloris peer (one byte at a time) is closed by a per-frame deadline",
    () =>
      Effect.gen(function* () {
        // The documented pattern: bound the time each frame may take with Effect.timeout.
        // idleTimeout alone would not catch this peer, since every read completes.
        const lines = Framing.lines({ maxLength: 1024 });
        const deadlines: string[] = [];
        const server = yield* startServer((conn) => {
          const reader = lines.reader(conn);
          const loop: Effect.Effect<void, unknown> = Effect.flatMap(
            reader.read.pipe(Effect.timeout("400 millis")),
            (line) => Option.isNone(line) ? Effect.void : Effect.zipRight(conn.write("ok\n"), loop),
          );
          return loop.pipe(Effect.tapError((error) =>
            Effect.sync(() => {
              if ((error as { _tag?: string })._tag === "TimeoutException") {
                deadlines.push(Address.format(conn.remoteAddress));
              }
            })
          ));
        }, { idleTimeout: "1 minute" });
        const honest = yield* Tcp.connect(server.address);
        const slow = yield* Tcp.connect(server.address);
        // The slow peer drips a line one byte every 100 ms; it never finishes in time.
        const drip = yield* Effect.fork(
          Effect.forEach(
            Array.from({ length: 30 }),
            () => Effect.zipRight(slow.write("x"), Effect.sleep(100)),
            { discard: true },
          ).pipe(Effect.ignore),
        );
        // The honest client sends whole lines promptly and is served meanwhile.
        for (const line of ["hello\n", "again\n"]) {
          yield* honest.write(line);
          expect(new TextDecoder().decode(yield* honest.readExactly(3))).toBe("ok\n");
        }
        const end = yield* Effect.either(slow.read()).pipe(Effect.timeout("10 seconds"));
        yield* Fiber.interrupt(drip);
        expect(Either.isLeft(end) || Option.isNone(end.right)).toBe(true);
        expect(deadlines).toContain(Address.format(slow.localAddress));
      }),
    30_000,
  );

  it(
    "out of file descriptors: the server keeps its listener, backs off, serves again",
    async () => {
      // echo.ts in a child process limited to 64 descriptors.
      // /bin/sh by its path: it is there on any POSIX system, whatever PATH holds.
      const child = new Deno.Command("/bin/sh", {
        args: [
          "-c",
          `ulimit -n 64; exec "${Deno.execPath()}" run -q --allow-net=127.0.0.1 "${
            repoPath("../examples/echo.ts")
          }" --port 0`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(40_000),
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value } = await reader.read();
      const port = Number(/:(\d+)/.exec(value ?? "")![1]);
      // Open far more connections than the child can accept; they sit in the backlog.
      const hogs: Deno.Conn[] = [];
      for (let i = 0; i < 120; i++) hogs.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      // Give the accept loop time to hit EMFILE and back off.
      await new Promise((r) => setTimeout(r, 500));
      for (const hog of hogs) hog.close();
      // Once descriptors are free again, a new client is served.
      let echoed = "";
      for (let attempt = 0; attempt < 50 && echoed !== "alive"; attempt++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode("alive"));
        const buffer = new Uint8Array(5);
        const n = await Promise.race([
          conn.read(buffer),
          new Promise<null>((r) => setTimeout(() => r(null), 1000)),
        ]).catch(() => null);
        echoed = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
        conn.close();
      }
      child.kill("SIGTERM");
      await reader.cancel();
      // Under runMain, log lines go to stderr.
      const logs = await new Response(child.stderr).text();
      await child.status;
      expect(echoed).toBe("alive");
      expect(logs).toMatch(/accept failed, retrying in \d+ ms/);
    },
    45_000,
  );
});

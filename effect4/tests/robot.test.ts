import { describe, expect, it } from "@effect/vitest";
import { Effect, Layer, Option } from "effect";
import { Server, Tcp } from "../mod.ts";
import { robot, WELCOME } from "../examples/robot.ts";
import { repoPath } from "./_support/paths.ts";
import { python, runExample } from "./_support/process.ts";
import { needs } from "./_support/needs.ts";

const startRobot = Effect.gen(function* () {
  const scope = yield* Effect.scope;
  const context = yield* Layer.buildWithScope(
    Server.serveForever(robot).pipe(Layer.provide(Tcp.layer("127.0.0.1:0"))),
    scope,
  );
  const server = yield* Effect.provide(Server.Server, context);
  return (server.address as { port: number }).port;
});

const encode = (s: string) => new TextEncoder().encode(s);

describe("robot example", () => {
  it.live("welcome, echo of any UTF-8, and q closes the connection", () =>
    Effect.gen(function* () {
      const port = yield* startRobot;
      const conn = yield* Tcp.connect(`127.0.0.1:${port}`);
      const welcome = yield* conn.readExactly(encode(WELCOME).length);
      expect(new TextDecoder().decode(welcome)).toContain("欢迎");
      for (const message of ["hello", "你好，世界", "emoji 🙂 ok", "line\n"]) {
        yield* conn.write(message);
        const back = yield* conn.readExactly(encode(message).length);
        expect(new TextDecoder().decode(back)).toBe(message);
      }
      yield* conn.write("q\n");
      expect(yield* conn.read()).toEqual(Option.none());
    }));

  it.live("q without a newline also ends the session; many clients at once", () =>
    Effect.gen(function* () {
      const port = yield* startRobot;
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          Effect.scoped(Effect.gen(function* () {
            const conn = yield* Tcp.connect(`127.0.0.1:${port}`);
            yield* conn.readExactly(encode(WELCOME).length);
            const message = `client ${i} 说你好`;
            yield* conn.write(message);
            const back = new TextDecoder().decode(yield* conn.readExactly(encode(message).length));
            yield* conn.write("q");
            const end = yield* conn.read();
            return back === message && Option.isNone(end);
          })),
        { concurrency: "unbounded" },
      );
      expect(results.every(Boolean)).toBe(true);
    }));

  needs("python3", it.live)(
    "the tutorial's own Python client works against it",
    () =>
      Effect.gen(function* () {
        const port = yield* startRobot;
        // The tutorial's client, with input() replaced by a fixed list of messages.
        const output = yield* Effect.promise(() =>
          python(
            [
              "import socket",
              "obj = socket.socket()",
              `obj.connect(("127.0.0.1", ${port}))`,
              "re = obj.recv(1024)",
              'print(str(re, encoding="utf-8"), end="|")',
              'for inp in ["你好", "robot", "q"]:',
              '    obj.sendall(bytes(inp, encoding="utf-8"))',
              '    if inp == "q":',
              "        break",
              '    print(str(obj.recv(1024), encoding="utf-8"), end="|")',
              "print(obj.recv(1024) == b'', end='')",
              "obj.close()",
            ].join("\n"),
          )
        );
        expect(output).toBe(`${WELCOME}|你好|robot|True`);
      }),
  );

  needs("nc", it.live)(
    "nc works against it: line in, same line back, q hangs up",
    () =>
      Effect.gen(function* () {
        const port = yield* startRobot;
        const out = yield* Effect.promise(async () => {
          const child = new Deno.Command("nc", {
            args: ["127.0.0.1", String(port)],
            stdin: "piped",
            stdout: "piped",
            signal: AbortSignal.timeout(20_000),
          }).spawn();
          const writer = child.stdin.getWriter();
          await writer.write(encode("hello 你好\n"));
          await new Promise((r) => setTimeout(r, 200));
          await writer.write(encode("q\n"));
          await writer.close();
          // nc exits once the robot hangs up.
          const output = await child.output();
          return new TextDecoder().decode(output.stdout);
        });
        expect(out).toBe(`${WELCOME}hello 你好\n`);
      }),
    30_000,
  );

  it("runs end to end as a program: server + interactive client, q exits cleanly", async () => {
    const out = await runExample(
      "robot.ts",
      ["-q", "--allow-net=127.0.0.1"],
      "你好\nsecond line\nq\n",
    );
    const stdout = new TextDecoder().decode(out.stdout);
    expect(out.code).toBe(0);
    expect(stdout).toContain("欢迎");
    expect(stdout).toContain("你好\n");
    expect(stdout).toContain("second line\n");
  }, 30_000);

  it("--help prints usage and a bad address is a one-line error", async () => {
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-q",
          "--allow-net=127.0.0.1",
          repoPath("../examples/robot.ts"),
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(new TextDecoder().decode(help.stdout)).toContain("usage");
    const bad = await run(["--serve", "--port", "99999"]);
    expect(bad.code).toBe(1);
    const stderr = new TextDecoder().decode(bad.stderr).trim();
    expect(stderr.split("\n").length).toBe(1);
    expect(stderr).toContain("outside 0–65535");
  }, 30_000);
});

/**
 * The tutorial's "smart robot", done right: the server greets each client
 * with 欢迎, echoes every message back unchanged, and hangs up on `q`.
 *
 *   deno run --allow-net=127.0.0.1 examples/robot.ts              # server + interactive client
 *   deno run --allow-net=127.0.0.1 examples/robot.ts --serve [--host H] [--port P]
 *   deno run --allow-net=127.0.0.1 examples/robot.ts --connect 127.0.0.1:9999
 *
 * The client exits after `q` (or Ctrl-D). It shows what the server sends
 * escaped (`Printable.escape`), so a hostile server cannot drive the
 * terminal.
 *
 * The server also talks to the tutorial's own Python client (blocking
 * socket, `recv(1024)`) and to `nc`.
 *
 * @module
 */
import { Effect, Layer, Option } from "effect";
import { Address, type Connection, Printable, Server, type SocketError, Tcp } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  runExample,
  stdinLines,
  type UsageError,
  write,
} from "./_terminal.ts";

/** The greeting every client gets first. */
export const WELCOME = "欢迎来到智能机器人！Welcome to the robot. Send q to quit.\n";

/** True for the quit command, with or without a trailing newline. */
const isQuit = (text: string): boolean => text.replace(/\r?\n$/, "") === "q";

/**
 * The robot's conversation with one client: welcome, then echo each message
 * until `q` or end of stream.
 */
export const robot = (
  conn: Connection.Connection,
): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    yield* conn.write(WELCOME);
    while (true) {
      const text = yield* conn.readText(1024);
      if (Option.isNone(text) || isQuit(text.value)) return;
      yield* conn.write(text.value);
    }
  });

/** Serves the robot on `address` until interrupted, logging where. */
export const serveRobot = (address: string): Effect.Effect<never, SocketError.SocketError> =>
  Effect.flatMap(Server.Server, (server) =>
    Effect.andThen(
      Effect.sync(() => console.log(`robot listening on ${Address.format(server.address)}`)),
      Effect.never,
    )).pipe(
      Effect.provide(
        Server.serveForever(robot, { idleTimeout: "10 minutes" }).pipe(
          Layer.provide(Tcp.layer(address)),
        ),
      ),
    );

/**
 * The interactive client: prints the welcome, prompts, prints each echo; `q`
 * or end of input ends it. What the server sends is shown escaped: a server
 * could send terminal escape sequences.
 */
export const client = (address: string): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    const conn = yield* Tcp.connect(address, { timeout: "5 seconds", noDelay: true });
    const welcome = yield* conn.readText(1024);
    yield* write(
      Option.match(welcome, {
        onNone: () => "(the server closed the connection)\n",
        onSome: (text) => `${Printable.escape(text.replace(/\r?\n$/, ""))}\n`,
      }),
    );
    const nextLine = yield* stdinLines;
    while (true) {
      yield* write("请输入要发送的内容 (q 退出) > ");
      const line = yield* nextLine;
      const input = Option.getOrElse(line, () => "q");
      if (input === "") continue;
      yield* conn.write(input);
      if (input === "q") {
        if (Option.isNone(line)) yield* write("\n");
        return;
      }
      // The robot echoes exactly what was sent: read that many bytes back.
      const echo = yield* conn.readExactly(new TextEncoder().encode(input).length);
      yield* write(`${Printable.escape(echo, { maxLength: Infinity })}\n`);
    }
  }).pipe(Effect.scoped);

const usage = `usage:
  robot.ts                                 server on 127.0.0.1 (free port) + interactive client
  robot.ts --serve [--host H] [--port P]   server only (default 127.0.0.1:9999)
  robot.ts --connect H:P                   client only
  robot.ts --help`;

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, SocketError.SocketError | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, {
      values: ["--connect", "--host", "--port"],
      switches: ["--serve"],
    });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const connect = flags.value("--connect");
    if (connect !== undefined) return yield* client(connect);
    if (flags.has("--serve")) {
      return yield* serveRobot(
        hostPort(flags.value("--host") ?? "127.0.0.1", flags.value("--port") ?? "9999"),
      );
    }
    // Server and client in one process: serve on a free port, then chat with it.
    yield* Effect.flatMap(Server.Server, (server) => client(Address.format(server.address))).pipe(
      Effect.provide(Server.serveForever(robot).pipe(Layer.provide(Tcp.layer("127.0.0.1:0")))),
    );
  });

if (import.meta.main) runExample("robot", usage, main(Deno.args));

/**
 * The tutorial's "smart robot", done right: the server greets each client
 * with 欢迎, echoes every message back unchanged, and hangs up on `q`.
 *
 *   deno run --allow-net=127.0.0.1 examples/robot.ts                  # server + interactive client
 *   deno run --allow-net=127.0.0.1 examples/robot.ts --serve --port 9999
 *   deno run --allow-net=127.0.0.1 examples/robot.ts --connect 127.0.0.1:9999
 *
 * The server also talks to the tutorial's own Python client (blocking
 * socket, `recv(1024)`) and to `nc`.
 *
 * @module
 */
import { Effect, Layer, Option } from "effect";
import { Address, type Connection, Runtime, Server, type SocketError, Tcp } from "../mod.ts";
import { flags, stdinLines, write } from "./_terminal.ts";

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
    Effect.zipRight(
      Effect.sync(() => console.log(`robot listening on ${Address.format(server.address)}`)),
      Effect.never,
    )).pipe(
      Effect.provide(
        Server.serveForever(robot, { idleTimeout: "10 minutes" }).pipe(
          Layer.provide(Tcp.layer(address)),
        ),
      ),
    );

/** The interactive client: prints the welcome, prompts, prints each echo; `q` ends. */
export const client = (address: string): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    const conn = yield* Tcp.connect(address, { timeout: "5 seconds", noDelay: true });
    const welcome = yield* conn.readText(1024);
    yield* write(Option.getOrElse(welcome, () => "(the server closed the connection)\n"));
    const nextLine = stdinLines();
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
      yield* write(`${new TextDecoder().decode(echo)}\n`);
    }
  }).pipe(Effect.scoped);

const usage = `usage:
  robot.ts                          server on 127.0.0.1 (free port) + interactive client
  robot.ts --serve [--host H] [--port P]   server only (default 127.0.0.1:9999)
  robot.ts --connect H:P            client only`;

const main = (args: ReadonlyArray<string>): Effect.Effect<void, SocketError.SocketError> => {
  const flag = flags(args);
  if (args.includes("--help") || args.includes("-h")) return Effect.sync(() => console.log(usage));
  const connect = flag("--connect");
  if (connect !== undefined) return client(connect);
  if (args.includes("--serve")) {
    const host = flag("--host") ?? "127.0.0.1";
    const port = flag("--port") ?? "9999";
    return serveRobot(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  }
  // Server and client in one process: serve on a free port, then chat with it.
  return Effect.gen(function* () {
    const server = yield* Server.Server;
    yield* client(Address.format(server.address));
  }).pipe(
    Effect.provide(Server.serveForever(robot).pipe(Layer.provide(Tcp.layer("127.0.0.1:0")))),
  );
};

if (import.meta.main) {
  Runtime.runMain(
    main(Deno.args).pipe(
      Effect.catchTag("SocketError", (error) =>
        Effect.sync(() => {
          console.error(`robot: ${error.message}`);
          Deno.exit(1);
        })),
    ),
  );
}

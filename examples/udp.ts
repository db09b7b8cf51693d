/**
 * The tutorial's UDP demo. The server prints every datagram with its sender;
 * the client sends each line typed as one datagram until `exit`.
 *
 *   deno run --allow-net=127.0.0.1 examples/udp.ts --serve [--host H] [--port P]   (default 127.0.0.1:9999)
 *   deno run --allow-net=127.0.0.1 examples/udp.ts --send 127.0.0.1:9999
 *   deno run examples/udp.ts --help
 *
 * Both talk to the tutorial's Python code: a `SOCK_DGRAM` socket doing
 * `recv(1024)` in a loop, and one doing `sendto` for each line until `exit`.
 * `--port 0` picks a free port; the server prints `listening on HOST:PORT`
 * first. It prints what senders send escaped (`Printable.escape`): a
 * datagram cannot clear the screen, set the window title or forge a line.
 * The sender exits after `exit` (or Ctrl-D).
 *
 * @module
 */
import { Effect, Option, Stream } from "effect";
import { Address, Printable, type SocketError, Udp } from "../mod.ts";
import { hostPort, parseFlags, runExample, stdinLines, UsageError, write } from "./_terminal.ts";

const usage = `usage:
  udp.ts --serve [--host H] [--port P]   print each datagram and its sender (default 127.0.0.1:9999)
  udp.ts --send H:P                      send each line of stdin as one datagram, until "exit"
  udp.ts --help`;

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A datagram as text safe for a terminal: escaped (a sender controls every
 * byte: escape sequences, a newline forging a whole line), or as hex when it
 * is not UTF-8.
 */
export const show = (data: Uint8Array): string => {
  try {
    return Printable.escape(decoder.decode(data));
  } catch {
    return `<${data.length} bytes: ${
      Array.from(data.subarray(0, 64), (b) => b.toString(16).padStart(2, "0")).join(" ")
    }${data.length > 64 ? " …" : ""}>`;
  }
};

/** The server: prints `SENDER: TEXT` for each datagram, forever. */
export const serve = (address: string): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    const endpoint = yield* Udp.bind(address);
    console.log(`listening on ${Address.format(endpoint.address)}`);
    yield* endpoint.stream.pipe(
      Stream.runForEach(({ data, from }) =>
        Effect.sync(() => console.log(`${Address.format(from)}: ${show(data)}`))
      ),
    );
  }).pipe(Effect.scoped);

/** The client: each line of stdin (trimmed) becomes one datagram; `exit` or end of input stops. */
export const send = (target: string): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    const peer = yield* Udp.connect(target);
    const interactive = Deno.stdin.isTerminal();
    const nextLine = yield* stdinLines;
    while (true) {
      if (interactive) yield* write("数据: ");
      const line = yield* nextLine;
      if (Option.isNone(line)) return;
      const text = line.value.trim();
      if (text === "exit") return;
      yield* peer.send(text);
    }
  }).pipe(Effect.scoped);

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, SocketError.SocketError | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, {
      values: ["--send", "--host", "--port"],
      switches: ["--serve"],
    });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const target = flags.value("--send");
    if (target !== undefined) return yield* send(target);
    if (flags.has("--serve")) {
      return yield* serve(
        hostPort(flags.value("--host") ?? "127.0.0.1", flags.value("--port") ?? "9999"),
      );
    }
    return yield* new UsageError({ message: "give --serve or --send H:P" });
  });

if (import.meta.main) runExample("udp", usage, main(Deno.args));

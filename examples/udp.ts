/**
 * The tutorial's UDP demo. The server prints every datagram with its sender;
 * the client sends each line typed as one datagram until `exit`.
 *
 *   deno run --allow-net=127.0.0.1 examples/udp.ts --serve [--host H] [--port P]   (default 127.0.0.1:9999)
 *   deno run --allow-net=127.0.0.1 examples/udp.ts --send 127.0.0.1:9999
 *
 * Both talk to the tutorial's Python code: a `SOCK_DGRAM` socket doing
 * `recv(1024)` in a loop, and one doing `sendto` for each line until `exit`.
 * `--port 0` picks a free port; the server prints `listening on HOST:PORT`
 * first.
 *
 * @module
 */
import { Effect, Option, Stream } from "effect";
import { Address, Runtime, type SocketError, Udp } from "../mod.ts";
import { flags, stdinLines } from "./_terminal.ts";

const usage = `usage:
  udp.ts --serve [--host H] [--port P]   print each datagram and its sender (default 127.0.0.1:9999)
  udp.ts --send H:P                      send each line of stdin as one datagram, until "exit"`;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A datagram as text, or as hex when it is not UTF-8. */
export const show = (data: Uint8Array): string => {
  try {
    return decoder.decode(data);
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
    const nextLine = stdinLines();
    while (true) {
      if (interactive) {
        yield* Effect.promise(() => Deno.stdout.write(new TextEncoder().encode("数据: ")));
      }
      const line = yield* nextLine;
      if (Option.isNone(line)) return;
      const text = line.value.trim();
      if (text === "exit") return;
      yield* peer.send(text);
    }
  }).pipe(Effect.scoped);

const main = (args: ReadonlyArray<string>): Effect.Effect<void, SocketError.SocketError> => {
  const flag = flags(args);
  if (args.includes("--help") || args.includes("-h")) return Effect.sync(() => console.log(usage));
  const target = flag("--send");
  if (target !== undefined) return send(target);
  if (args.includes("--serve")) {
    const host = flag("--host") ?? "127.0.0.1";
    const port = flag("--port") ?? "9999";
    return serve(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  }
  return Effect.sync(() => {
    console.error(usage);
    Deno.exit(2);
  });
};

if (import.meta.main) {
  Runtime.runMain(
    main(Deno.args).pipe(
      Effect.catchTag("SocketError", (error) =>
        Effect.sync(() => {
          console.error(`udp: ${error.message}`);
          Deno.exit(1);
        })),
    ),
  );
}

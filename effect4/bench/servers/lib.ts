/**
 * The Effect 4 line of this library with the handler written plainly, as the
 * root's bench/servers/lib.ts writes it for the Effect 3 line: an
 * `Effect.gen` loop that reads a frame (`Framing.lines().reader(conn)`,
 * `codec.readFrame(conn)`) and writes the reply with the codec
 * (`lines.write`, `codec.write`), until the peer closes. Each connection's
 * handler runs in a fiber. The benchmark runs it as `lib4`:
 *
 *   deno run --allow-net --config effect4/deno.json effect4/bench/servers/lib.ts --proto line --port 0
 *
 * @module
 */
import { Effect, Option } from "effect";
import { type Connection, Framing } from "../../mod.ts";
import { parseServerArgs } from "../../../bench/servers/args.ts";
import { runLibraryServer } from "./library.ts";

const lines = Framing.lines();
const codec = Framing.lengthPrefixed(); // 4-byte big-endian length, 8 MiB at most

/** Answers each line with itself. */
const lineHandler = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    const reader = lines.reader(conn);
    while (true) {
      const line = yield* reader.read;
      if (Option.isNone(line)) return;
      yield* lines.write(conn, line.value);
    }
  });

/** Answers each length-prefixed frame with itself. */
const frameHandler = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    while (true) {
      const frame = yield* codec.readFrame(conn);
      if (Option.isNone(frame)) return;
      yield* codec.write(conn, frame.value);
    }
  });

if (import.meta.main) {
  const args = parseServerArgs(Deno.args);
  if (args.proto === "echo") {
    console.error(`lib4: --proto echo is not served here (line or lp; lib4-echo echoes)`);
    Deno.exit(2);
  }
  runLibraryServer(args, args.proto === "line" ? lineHandler : frameHandler);
}

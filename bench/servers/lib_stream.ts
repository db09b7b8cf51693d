/**
 * This library with the Stream handler, as the Framing docs show it: the
 * connection's frames as a Stream (`codec.decode(conn)`), each answered with
 * itself through `Stream.runForEach` and the codec's `write`. Each
 * connection's handler runs in a fiber.
 *
 *   deno run --allow-net bench/servers/lib_stream.ts --proto lp --port 0
 *
 * @module
 */
import { Stream } from "effect";
import { type Connection, Framing } from "../../mod.ts";
import { parseServerArgs } from "./args.ts";
import { runLibraryServer, unsupported } from "./library.ts";

const lines = Framing.lines();
const codec = Framing.lengthPrefixed(); // 4-byte big-endian length, 8 MiB at most

const lineHandler = (conn: Connection.Connection) =>
  lines.decode(conn).pipe(Stream.runForEach((line) => lines.write(conn, line)));

const frameHandler = (conn: Connection.Connection) =>
  codec.decode(conn).pipe(Stream.runForEach((frame) => codec.write(conn, frame)));

if (import.meta.main) {
  const args = parseServerArgs(Deno.args);
  if (args.proto === "echo") unsupported("lib-stream", args.proto);
  runLibraryServer(args, args.proto === "line" ? lineHandler : frameHandler);
}

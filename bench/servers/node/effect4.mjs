// The official Effect 4 server (effect 4.1): NodeSocketServer, run by Node
// from @effect/platform-node, or by Deno from @effect/platform-node-shared
// (which is what @effect/platform-node re-exports, and what Effect 4's Deno
// platform uses). The handler is written as the docs show: the socket's
// reader, a loop over `pull` (batches of incoming chunks), and a scoped
// writer. Effect 4 has no framing codec for sockets, so lines and
// length-prefixed frames are cut by hand (framer.mjs).
//   node effect4.mjs --proto line --port 0
//   deno run -A effect4.mjs --proto line --port 0
//
// bench/lib/npm.ts installs the packages into a temporary directory and runs
// this file from there; they are imported through a variable so that
// `deno check bench/` does not try to resolve them.
import { exitOnSignals, formatNetAddress, parseServerArgs } from "./args.mjs";
import { makeFramer } from "./framer.mjs";

const load = (specifier) => import(specifier);
const onDeno = "Deno" in globalThis;
const [NodeSocketServer, { SocketServer }, Effect] = await Promise.all([
  load(
    onDeno
      ? "@effect/platform-node-shared/NodeSocketServer"
      : "@effect/platform-node/NodeSocketServer",
  ),
  load("effect/socket"),
  load("effect/Effect"),
]);

const args = parseServerArgs();

const handler = (socket) =>
  Effect.gen(function* () {
    const writer = yield* socket.writer;
    const reader = yield* socket.reader;
    const push = args.proto === "echo" ? (chunk) => [chunk] : makeFramer(args.proto);
    while (true) {
      const chunks = yield* reader.pull; // fails when the peer closes
      for (const chunk of chunks) {
        const frames = yield* Effect.try(() => push(chunk));
        for (const frame of frames) yield* writer.write(frame);
      }
    }
  }).pipe(Effect.scoped, Effect.ignore);

const program = Effect.gen(function* () {
  const server = yield* SocketServer.SocketServer;
  const address = server.address;
  console.log(
    address._tag === "UnixPathAddress"
      ? `listening on unix:${address.path}`
      : `listening on ${formatNetAddress({ address: args.host, port: address.port })}`,
  );
  return yield* server.run(handler);
}).pipe(Effect.scoped, Effect.provide(NodeSocketServer.layer(args.listen)));

Effect.runFork(program);
exitOnSignals();

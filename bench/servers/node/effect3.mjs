// The official Effect 3 server on Node: @effect/platform-node's
// NodeSocketServer (effect 3.22, @effect/platform 0.97), with the handler
// written as the docs show, `socket.run` over the incoming chunks and a
// scoped writer. Effect 3 has no framing codec for sockets, so lines and
// length-prefixed frames are cut by hand (framer.mjs).
//   node effect3.mjs --proto lp --port 0
//
// bench/lib/npm.ts installs the packages into a temporary directory and runs
// this file from there; nothing is installed into the repository. They are
// imported through a variable so that `deno check bench/` does not try to
// resolve them.
import { exitOnSignals, formatNetAddress, parseServerArgs } from "./args.mjs";
import { makeFramer } from "./framer.mjs";

const load = (specifier) => import(specifier);
const [NodeSocketServer, SocketServer, Effect] = await Promise.all([
  load("@effect/platform-node/NodeSocketServer"),
  load("@effect/platform/SocketServer"),
  load("effect/Effect"),
]);

const args = parseServerArgs();

const handler = (socket) =>
  Effect.gen(function* () {
    const write = yield* socket.writer;
    if (args.proto === "echo") return yield* socket.run((chunk) => write(chunk));
    const push = makeFramer(args.proto);
    yield* socket.run((chunk) =>
      Effect.flatMap(
        Effect.try(() => push(chunk)),
        (frames) => Effect.forEach(frames, (frame) => write(frame), { discard: true }),
      )
    );
  }).pipe(Effect.scoped, Effect.catchAll(() => Effect.void));

const program = Effect.gen(function* () {
  const server = yield* SocketServer.SocketServer;
  const address = server.address;
  console.log(
    address._tag === "UnixAddress"
      ? `listening on unix:${address.path}`
      : `listening on ${formatNetAddress({ address: address.hostname, port: address.port })}`,
  );
  return yield* server.run(handler);
}).pipe(Effect.scoped, Effect.provide(NodeSocketServer.layer(args.listen)));

Effect.runFork(program);
exitOnSignals();

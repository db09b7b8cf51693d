// The official Effect 3 reference for the benchmark: an echo server on Node
// built with @effect/platform-node's NodeSocketServer, written the way its
// documentation suggests (Socket.run over a scoped writer).
//
//   node node_echo.mjs --port 0      (prints `listening on 127.0.0.1:PORT`)
//
// bench/run.ts installs its dependencies (effect 3.22, @effect/platform 0.97,
// @effect/platform-node 0.108) into a temporary directory with npm and runs
// this file from there; nothing is installed into the repository.
//
// The packages are imported through a variable so that `deno check bench/`
// (which walks this directory) does not try to resolve them from deno.json.
const load = (specifier) => import(specifier);
const [NodeSocketServer, SocketServer, Effect] = await Promise.all([
  load("@effect/platform-node/NodeSocketServer"),
  load("@effect/platform/SocketServer"),
  load("effect/Effect"),
]);

const flag = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const unixPath = flag("--unix");
const options = unixPath !== undefined
  ? { path: unixPath }
  : { host: "127.0.0.1", port: Number(flag("--port") ?? "7000") };

const echo = (socket) =>
  Effect.flatMap(socket.writer, (write) => socket.run((chunk) => write(chunk))).pipe(
    Effect.scoped,
    Effect.catchAll(() => Effect.void),
  );

const program = Effect.gen(function* () {
  const server = yield* SocketServer.SocketServer;
  const address = server.address;
  console.log(
    address._tag === "UnixAddress"
      ? `listening on unix:${address.path}`
      : `listening on ${address.hostname}:${address.port}`,
  );
  return yield* server.run(echo);
}).pipe(Effect.scoped, Effect.provide(NodeSocketServer.layer(options)));

Effect.runFork(program);
process.on("SIGINT", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));

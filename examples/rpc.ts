/**
 * An `@effect/rpc` server and client on Deno, over this library's
 * `DenoSocketServer` and `DenoSocket` Layers — the same code that runs on
 * Node with `NodeSocketServer.layer` and `NodeSocket.layerNet`.
 *
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts               # both, one process
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts server 7001   # a server (Ctrl-C stops it)
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts client 7001   # a client of that server
 *
 * (`--allow-env`: @effect/rpc loads msgpackr, which reads
 * `MSGPACKR_NATIVE_ACCELERATION_DISABLED` when imported.)
 *
 * The client makes concurrent calls (they overlap on one connection), a call
 * that fails with a typed error, and a streaming call.
 *
 * @module
 */
import * as SocketServer from "@effect/platform/SocketServer";
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc";
import { Chunk, Effect, Layer, Schema, Stream } from "effect";
import { Address, Runtime } from "../mod.ts";
import { DenoSocket, DenoSocketServer } from "../src/platform/mod.ts";

// --- The API, shared by server and client ----------------------------------

/** A typed failure of `Divide`. */
export class DivisionByZero extends Schema.TaggedError<DivisionByZero>()("DivisionByZero", {
  dividend: Schema.Number,
}) {}

/** The RPCs this example serves. */
export class MathRpcs extends RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  Rpc.make("Divide", {
    payload: { a: Schema.Number, b: Schema.Number },
    success: Schema.Number,
    error: DivisionByZero,
  }),
  Rpc.make("SlowEcho", {
    payload: { text: Schema.String, millis: Schema.Number },
    success: Schema.String,
  }),
  Rpc.make("Countdown", {
    payload: { from: Schema.Number },
    success: Schema.Number,
    stream: true,
  }),
) {}

// --- Server ----------------------------------------------------------------

/** The handlers of {@link MathRpcs}. */
export const HandlersLive = MathRpcs.toLayer({
  Add: ({ a, b }) => Effect.succeed(a + b),
  Divide: ({ a, b }) =>
    b === 0 ? Effect.fail(new DivisionByZero({ dividend: a })) : Effect.succeed(a / b),
  SlowEcho: ({ text, millis }) => Effect.as(Effect.sleep(millis), text),
  Countdown: ({ from }) => Stream.iterate(from, (n) => n - 1).pipe(Stream.take(from + 1)),
});

/**
 * The RPC server on a `DenoSocketServer`. Swapping in
 * `NodeSocketServer.layer(listen)` is the only change this needs on Node.
 * The `SocketServer` stays visible so a caller can read its address.
 */
export const serverLayer = (
  listen: DenoSocketServer.Options,
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError> =>
  RpcServer.layer(MathRpcs).pipe(
    Layer.provide(HandlersLive),
    Layer.provide(RpcServer.layerProtocolSocketServer),
    Layer.provideMerge(DenoSocketServer.layer(listen)),
    Layer.provide(RpcSerialization.layerNdjson),
  );

// --- Client ----------------------------------------------------------------

/** The RPC client's protocol over a `DenoSocket` (on Node: `NodeSocket.layerNet`). */
export const clientLayer = (port: number): Layer.Layer<RpcClient.Protocol> =>
  RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
    Layer.provide(DenoSocket.layerNet({ host: "127.0.0.1", port, openTimeout: "5 seconds" })),
    Layer.provide(RpcSerialization.layerNdjson),
  );

/** What the client does: concurrent calls, a typed error, a stream. */
export const clientProgram: Effect.Effect<void, unknown, RpcClient.Protocol> = Effect.gen(
  function* () {
    const client = yield* RpcClient.make(MathRpcs);

    const started = Date.now();
    const echoes = yield* Effect.all(
      ["one", "two", "three", "four", "five"].map((text) => client.SlowEcho({ text, millis: 200 })),
      { concurrency: "unbounded" },
    );
    console.log(
      `5 calls of 200 ms each, concurrently: ${echoes.join(" ")} in ${Date.now() - started} ms`,
    );

    console.log(`Add(2, 40) = ${yield* client.Add({ a: 2, b: 40 })}`);
    const divided = yield* client.Divide({ a: 1, b: 0 }).pipe(
      Effect.catchTag("DivisionByZero", (e) => Effect.succeed(`DivisionByZero(${e.dividend})`)),
    );
    console.log(`Divide(1, 0) = ${divided}`);

    const countdown = yield* client.Countdown({ from: 10 }).pipe(Stream.runCollect);
    console.log(`Countdown(10) streamed: ${Chunk.toReadonlyArray(countdown).join(" ")}`);
  },
).pipe(Effect.scoped);

// --- Main ------------------------------------------------------------------

const main = (args: ReadonlyArray<string>): Effect.Effect<void, unknown> => {
  const [mode, portText] = args;
  const port = Number(portText ?? 7001);
  if (mode === "server") {
    return Effect.flatMap(
      SocketServer.SocketServer,
      (server) =>
        Effect.zipRight(
          Effect.sync(() => console.log(`listening on ${Address.format(server.address)}`)),
          Effect.never,
        ),
    ).pipe(
      Effect.provide(serverLayer({ host: "127.0.0.1", port })),
    );
  }
  if (mode === "client") return Effect.provide(clientProgram, clientLayer(port));
  // Both in one process: the server on a free port, then the client.
  return Effect.flatMap(
    SocketServer.SocketServer,
    (server) =>
      server.address._tag === "TcpAddress"
        ? Effect.provide(clientProgram, clientLayer(server.address.port))
        : Effect.void,
  ).pipe(
    Effect.provide(serverLayer({ host: "127.0.0.1", port: 0 })),
  );
};

if (import.meta.main) Runtime.runMain(main(Deno.args));

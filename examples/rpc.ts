/**
 * An `@effect/rpc` server and client on Deno, over this library's
 * `DenoSocketServer` and `DenoSocket` Layers — the same code that runs on
 * Node with `NodeSocketServer.layer` and `NodeSocket.layerNet`.
 *
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts               # both, one process
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts server 7001   # a server (Ctrl-C stops it)
 *   deno run --allow-net=127.0.0.1 --allow-env examples/rpc.ts client 7001   # a client of that server
 *   deno run --allow-env examples/rpc.ts --help
 *
 * (`--allow-env`: @effect/rpc loads msgpackr, which reads
 * `MSGPACKR_NATIVE_ACCELERATION_DISABLED` when imported; `_msgpackr_js_only.ts`
 * sets it first, so that msgpackr does not go looking for its native addon,
 * which would make Deno ask for read and sys permissions on a terminal.)
 *
 * The client makes concurrent calls (they overlap on one connection), a call
 * that fails with a typed error, and a streaming call. It waits a few
 * seconds for a server that is still starting, then gives up with one line.
 *
 * The server is set up to face anyone: a message is at most 64 KiB, input
 * that is not NDJSON closes the connection, a client may have at most 100
 * calls running, payloads are bounded by their schemas, and connections are
 * limited in number (200) and idle time (1 minute).
 *
 * @module
 */
import "./_msgpackr_js_only.ts";
import * as SocketServer from "@effect/platform/SocketServer";
import {
  Rpc,
  RpcClient,
  type RpcClientError,
  RpcGroup,
  RpcSerialization,
  RpcServer,
} from "@effect/rpc";
import { Chunk, Data, Effect, Layer, Schedule, Schema, Stream } from "effect";
import { Address } from "../mod.ts";
import { DenoSocket, DenoSocketServer } from "../src/platform/mod.ts";
import { parseFlags, runExample, UsageError, write } from "./_terminal.ts";

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
  // A peer chooses these values: the schemas bound what a call can cost.
  Rpc.make("SlowEcho", {
    payload: {
      text: Schema.String.pipe(Schema.maxLength(1000)),
      millis: Schema.Int.pipe(Schema.between(0, 1000)),
    },
    success: Schema.String,
  }),
  Rpc.make("Countdown", {
    payload: { from: Schema.Int.pipe(Schema.between(0, 100)) },
    success: Schema.Number,
    stream: true,
  }),
) {}

// --- Limits for a server open to anyone -------------------------------------

/** The longest message either side accepts, instead of @effect/rpc's 16 MiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Most calls one client may have running at once. */
export const MAX_CALLS_PER_CLIENT = 100;

/**
 * NDJSON with three bounds, each enforced by closing the connection (a
 * serialization error is what makes @effect/rpc's server close one):
 * - a message is at most {@link MAX_MESSAGE_BYTES};
 * - a line that is not JSON ends the connection: @effect/rpc's own parser
 *   keeps such a line in its buffer and from then on buffers everything the
 *   peer sends without checking the cap;
 * - at most {@link MAX_CALLS_PER_CLIENT} calls are running per client:
 *   @effect/rpc starts a fiber for every request as soon as it is read, so
 *   a client sending requests faster than they finish (or not reading the
 *   answers) would grow the server's memory without end.
 */
export const serialization: Layer.Layer<RpcSerialization.RpcSerialization> = Layer.sync(
  RpcSerialization.RpcSerialization,
  () => {
    const ndjson = RpcSerialization.makeNdjson({ maxBufferSize: MAX_MESSAGE_BYTES });
    const refuse = (bufferSize: number) =>
      new RpcSerialization.RpcSerializationError({
        reason: "BufferSizeExceeded",
        maxBufferSize: MAX_MESSAGE_BYTES,
        bufferSize,
      });
    return RpcSerialization.RpcSerialization.of({
      contentType: ndjson.contentType,
      includesFraming: ndjson.includesFraming,
      unsafeMake: () => {
        const parser = ndjson.unsafeMake();
        // Requests read and not yet answered (a server decodes requests and encodes exits).
        const running = new Set<string>();
        type Message = {
          readonly _tag?: string;
          readonly id?: string;
          readonly requestId?: string;
        };
        return {
          encode: (message) => {
            for (const m of [message].flat() as Array<Message>) {
              if (m._tag === "Exit") running.delete(String(m.requestId));
            }
            return parser.encode(message);
          },
          decode: (data) => {
            let messages: ReadonlyArray<unknown>;
            try {
              messages = parser.decode(data);
            } catch (cause) {
              throw cause instanceof RpcSerialization.RpcSerializationError
                ? cause
                : refuse(data.length);
            }
            for (const m of messages as Array<Message>) {
              if (m._tag === "Request") running.add(String(m.id));
            }
            if (running.size > MAX_CALLS_PER_CLIENT) throw refuse(data.length);
            return messages;
          },
        };
      },
    });
  },
);

/** Clients served at once, and how long one may stay silent (clients ping every 10 s). */
const serverLimits = { maxConnections: 200, idleTimeout: "1 minute" } as const;

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
    Layer.provide(serialization),
  );

// --- Client ----------------------------------------------------------------

/**
 * The RPC client's protocol over a `DenoSocket` (on Node: `NodeSocket.layerNet`).
 * A connection that fails is reported to the calls waiting on it; the
 * protocol keeps reconnecting in the background.
 */
export const clientLayer = (port: number): Layer.Layer<RpcClient.Protocol> =>
  RpcClient.layerProtocolSocket().pipe(
    Layer.provide(DenoSocket.layerNet({ host: "127.0.0.1", port, openTimeout: "5 seconds" })),
    Layer.provide(serialization),
  );

/** The client could not reach a server. */
export class Unreachable extends Data.TaggedError("Unreachable")<{ readonly message: string }> {}

/** How often the client tries to reach the server, 500 ms apart. */
const TRIES = 7;

/** The socket error under a failed call, when its connection could not be opened. */
const openFailure = (error: RpcClientError.RpcClientError): string | undefined => {
  const cause = (error as { cause?: { reason?: string; cause?: unknown } }).cause;
  if (cause?.reason !== "Open" && cause?.reason !== "OpenTimeout") return undefined;
  return cause.cause instanceof Error ? cause.cause.message : String(cause.cause);
};

/** What the client does: concurrent calls, a typed error, a stream. */
export const clientProgram: Effect.Effect<
  void,
  RpcClientError.RpcClientError | Unreachable,
  RpcClient.Protocol
> = Effect.gen(
  function* () {
    const client = yield* RpcClient.make(MathRpcs);

    // A server that is still starting gets a few seconds, then we give up.
    yield* client.Add({ a: 0, b: 0 }).pipe(
      Effect.retry({
        while: (error) => openFailure(error) !== undefined,
        schedule: Schedule.spaced("500 millis"),
        times: TRIES - 1,
      }),
      Effect.mapError((error) => {
        const why = openFailure(error);
        return why === undefined
          ? error
          : new Unreachable({ message: `no server after ${TRIES} tries: ${why}` });
      }),
    );

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

const usage = `usage:
  rpc.ts                  a server on a free port and a client of it, in one process
  rpc.ts server [PORT]    a server on 127.0.0.1:PORT (default 7001); Ctrl-C stops it
  rpc.ts client [PORT]    a client of the server on 127.0.0.1:PORT (default 7001)
  rpc.ts --help`;

/** A server failed to start (e.g. its port is busy). */
class ServerFailed extends Data.TaggedError("ServerFailed")<{ readonly message: string }> {}

const serverFailed = (error: SocketServer.SocketServerError) =>
  new ServerFailed({
    message: error.cause instanceof Error ? error.cause.message : String(error.cause),
  });

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, RpcClientError.RpcClientError | Unreachable | ServerFailed | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, { positionals: 2 });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const [mode, portText = "7001"] = flags.positionals;
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      return yield* new UsageError({
        message: `PORT must be a number from 0 to 65535, got ${portText}`,
      });
    }
    const port = Number(portText);
    if (mode === "server") {
      return yield* Effect.flatMap(
        SocketServer.SocketServer,
        (server) =>
          Effect.zipRight(
            Effect.sync(() => console.log(`listening on ${Address.format(server.address)}`)),
            Effect.never,
          ),
      ).pipe(
        Effect.provide(serverLayer({ host: "127.0.0.1", port, ...serverLimits })),
        Effect.catchTag("SocketServerError", (error) => Effect.fail(serverFailed(error))),
      );
    }
    if (mode === "client") return yield* Effect.provide(clientProgram, clientLayer(port));
    if (mode !== undefined) return yield* new UsageError({ message: `unknown mode ${mode}` });
    // Both in one process: the server on a free port, then the client.
    yield* Effect.flatMap(
      SocketServer.SocketServer,
      (server) =>
        server.address._tag === "TcpAddress"
          ? Effect.provide(clientProgram, clientLayer(server.address.port))
          : Effect.void,
    ).pipe(
      Effect.provide(serverLayer({ host: "127.0.0.1", port: 0, ...serverLimits })),
      Effect.catchTag("SocketServerError", (error) => Effect.fail(serverFailed(error))),
    );
  });

if (import.meta.main) runExample("rpc", usage, main(Deno.args));

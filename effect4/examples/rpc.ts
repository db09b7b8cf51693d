/**
 * An `effect/rpc` server and client on Deno, over this library's
 * `DenoSocketServer` and `DenoSocket` Layers: the same code that runs on
 * Node with `NodeSocketServer.layer` and `NodeSocket.layerNet`.
 *
 *   deno run --allow-net=127.0.0.1 examples/rpc.ts               # both, one process
 *   deno run --allow-net=127.0.0.1 examples/rpc.ts server 7001   # a server (Ctrl-C stops it)
 *   deno run --allow-net=127.0.0.1 examples/rpc.ts client 7001   # a client of that server
 *   deno run examples/rpc.ts --help
 *
 * The client makes concurrent calls (they overlap on one connection), a call
 * that fails with a typed error, and a streaming call. It waits a few
 * seconds for a server that is still starting, then gives up with one line.
 *
 * The server is set up to face anyone: a message is at most 64 KiB, a client
 * may have at most 100 calls running, payloads are bounded by their schemas,
 * and connections are limited in number (200) and idle time (1 minute).
 * (A line that is not JSON is answered with an error and forgotten:
 * Effect 4's NDJSON parser keeps nothing of it.)
 *
 * @module
 */
import { Data, Effect, Layer, Schedule, Schema, Stream } from "effect";
import {
  Rpc,
  RpcClient,
  type RpcClientError,
  RpcGroup,
  RpcSerialization,
  RpcServer,
} from "effect/rpc";
import * as NetAddress from "effect/net/NetAddress";
import { SocketServer, type SocketServerError } from "effect/socket/SocketServer";
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
      text: Schema.String.check(Schema.isMaxLength(1000)),
      millis: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 })),
    },
    success: Schema.String,
  }),
  Rpc.make("Countdown", {
    payload: { from: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 })) },
    success: Schema.Number,
    stream: true,
  }),
) {}

// --- Limits for a server open to anyone -------------------------------------

/** The longest message either side accepts, instead of effect/rpc's 16 MiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Most calls one client may have running at once. */
export const MAX_CALLS_PER_CLIENT = 100;

/**
 * NDJSON with two bounds, each enforced by closing the connection (the
 * server closes one whose parser reports `MaxBufferSizeExceeded`):
 * - a message is at most {@link MAX_MESSAGE_BYTES};
 * - at most {@link MAX_CALLS_PER_CLIENT} calls are running per client:
 *   effect/rpc starts a fiber for every request as soon as it is read, so a
 *   client sending requests faster than they finish (or not reading the
 *   answers) would otherwise grow the server's memory without end.
 */
export const serialization: Layer.Layer<RpcSerialization.RpcSerialization> = Layer.sync(
  RpcSerialization.RpcSerialization,
  () => {
    const ndjson = RpcSerialization.makeNdjson({ maxBufferSize: MAX_MESSAGE_BYTES });
    return RpcSerialization.RpcSerialization.of({
      ...ndjson,
      makeUnsafe: () => {
        const parser = ndjson.makeUnsafe();
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
            const messages = parser.decode(data) as Array<Message>;
            for (const m of messages) {
              if (m._tag === "Request") running.add(String(m.id));
              else if (m._tag === "Interrupt") running.delete(String(m.requestId));
            }
            if (running.size > MAX_CALLS_PER_CLIENT) {
              throw new RpcSerialization.MaxBufferSizeExceeded({
                maxBufferSize: MAX_CALLS_PER_CLIENT,
              });
            }
            return messages;
          },
        };
      },
    });
  },
);

/** Clients served at once, and how long one may stay silent (clients ping every 5 s). */
const serverLimits = { maxConnections: 200, idleTimeout: "1 minute" } as const;

// --- Server ----------------------------------------------------------------

/** The handlers of {@link MathRpcs}. */
export const HandlersLive: Layer.Layer<Rpc.ToHandler<RpcGroup.Rpcs<typeof MathRpcs>>> = MathRpcs
  .toLayer({
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
): Layer.Layer<SocketServer, SocketServerError> =>
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

/** Why a failed call's connection could not be opened, if that is why it failed. */
const openFailure = (error: RpcClientError.RpcClientError): string | undefined => {
  const reason = error.reason;
  if (reason._tag !== "SocketOpenError") return undefined;
  return reason.cause instanceof Error ? reason.cause.message : reason.message;
};

/** What the client does: concurrent calls, a typed error, a stream. */
export const clientProgram: Effect.Effect<
  void,
  RpcClientError.RpcClientError | Unreachable,
  RpcClient.Protocol
> = Effect.gen(function* () {
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
  console.log(`Countdown(10) streamed: ${countdown.join(" ")}`);
}).pipe(Effect.scoped);

// --- Main ------------------------------------------------------------------

const usage = `usage:
  rpc.ts                  a server on a free port and a client of it, in one process
  rpc.ts server [PORT]    a server on 127.0.0.1:PORT (default 7001); Ctrl-C stops it
  rpc.ts client [PORT]    a client of the server on 127.0.0.1:PORT (default 7001)
  rpc.ts --help`;

/** A server failed to start (e.g. its port is busy). */
class ServerFailed extends Data.TaggedError("ServerFailed")<{ readonly message: string }> {}

const serverFailed = (error: SocketServerError) =>
  new ServerFailed({
    message: error.reason.cause instanceof Error
      ? error.reason.cause.message
      : String(error.reason.cause),
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
      return yield* Effect.flatMap(SocketServer, (server) =>
        Effect.andThen(
          Effect.sync(() =>
            console.log(`listening on ${NetAddress.formatSocketAddress(server.address)}`)
          ),
          Effect.never,
        )).pipe(
          Effect.provide(serverLayer({ host: "127.0.0.1", port, ...serverLimits })),
          Effect.catchTag("SocketServerError", (error) => Effect.fail(serverFailed(error))),
        );
    }
    if (mode === "client") return yield* Effect.provide(clientProgram, clientLayer(port));
    if (mode !== undefined) return yield* new UsageError({ message: `unknown mode ${mode}` });
    // Both in one process: the server on a free port, then the client.
    yield* Effect.flatMap(
      SocketServer,
      (server) =>
        server.address._tag === "UnixPathAddress"
          ? Effect.void
          : Effect.provide(clientProgram, clientLayer(server.address.port)),
    ).pipe(
      Effect.provide(serverLayer({ host: "127.0.0.1", port: 0, ...serverLimits })),
      Effect.catchTag("SocketServerError", (error) => Effect.fail(serverFailed(error))),
    );
  });

if (import.meta.main) runExample("rpc", usage, main(Deno.args));

// @effect/rpc end to end on Deno: RpcServer.layerProtocolSocketServer over
// DenoSocketServer, RpcClient.layerProtocolSocket over DenoSocket.
import * as SocketServer from "@effect/platform/SocketServer";
import { describe, expect, it } from "@effect/vitest";
import {
  Rpc,
  RpcClient,
  type RpcClientError,
  RpcGroup,
  RpcSerialization,
  RpcServer,
} from "@effect/rpc";
import { Chunk, Context, Deferred, Effect, Layer, Ref, Schema, type Scope, Stream } from "effect";
import { DenoSocket, DenoSocketServer } from "../src/platform/mod.ts";

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { why: Schema.String }) {}

class TestRpcs extends RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  // Completes only once `of` calls are in flight at the same time.
  Rpc.make("Rendezvous", {
    payload: { id: Schema.Number, of: Schema.Number },
    success: Schema.Number,
  }),
  Rpc.make("Check", { payload: { value: Schema.String }, success: Schema.String, error: Rejected }),
  Rpc.make("Count", {
    payload: { to: Schema.Number },
    success: Schema.Number,
    stream: true,
  }),
  Rpc.make("Blob", {
    payload: { size: Schema.Number },
    success: Schema.Uint8ArrayFromSelf,
  }),
) {}

const handlers = Effect.gen(function* () {
  const arrived = yield* Ref.make(0);
  const everyone = yield* Deferred.make<void>();
  return TestRpcs.of({
    Add: ({ a, b }) => Effect.succeed(a + b),
    Rendezvous: ({ id, of }) =>
      Effect.gen(function* () {
        const n = yield* Ref.updateAndGet(arrived, (k) => k + 1);
        if (n === of) yield* Deferred.succeed(everyone, undefined);
        yield* Deferred.await(everyone);
        return id;
      }),
    Check: ({ value }) =>
      value === ""
        ? Effect.fail(new Rejected({ why: "empty" }))
        : Effect.succeed(value.toUpperCase()),
    Count: ({ to }) => Stream.range(1, to),
    Blob: ({ size }) => Effect.sync(() => new Uint8Array(size).map((_, i) => i & 0xff)),
  });
});

const serialization = {
  ndjson: RpcSerialization.layerNdjson,
  msgpack: RpcSerialization.layerMsgPack,
} as const;

/** Builds the RPC server into the test's scope and returns its address. */
const startServer = (
  listen: DenoSocketServer.Options,
  format: keyof typeof serialization,
): Effect.Effect<SocketServer.Address, SocketServer.SocketServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      RpcServer.layer(TestRpcs).pipe(
        Layer.provide(TestRpcs.toLayer(handlers)),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provideMerge(DenoSocketServer.layer(listen)),
        Layer.provide(serialization[format]),
      ),
    );
    return Context.get(context, SocketServer.SocketServer).address;
  });

type Client = RpcClient.RpcClient<RpcGroup.Rpcs<typeof TestRpcs>, RpcClientError.RpcClientError>;

/** Runs `use` with a client connected to `address`. */
const withClient = <A, E>(
  address: SocketServer.Address,
  format: keyof typeof serialization,
  use: (client: Client) => Effect.Effect<A, E>,
): Effect.Effect<A, E> =>
  Effect.scoped(Effect.flatMap(RpcClient.make(TestRpcs), use)).pipe(
    Effect.provide(
      RpcClient.layerProtocolSocket().pipe(
        Layer.provide(
          DenoSocket.layerNet(
            address._tag === "TcpAddress"
              ? { host: address.hostname, port: address.port, openTimeout: "5 seconds" }
              : { path: address.path, openTimeout: "5 seconds" },
          ),
        ),
        Layer.provide(serialization[format]),
      ),
    ),
  );

describe("@effect/rpc over DenoSocket / DenoSocketServer", () => {
  it.scopedLive("concurrent calls overlap on one connection (msgpack over TCP)", () =>
    Effect.gen(function* () {
      const address = yield* startServer({ host: "127.0.0.1", port: 0 }, "msgpack");
      const result = yield* withClient(address, "msgpack", (client) =>
        Effect.gen(function* () {
          // 20 calls that can only finish if all 20 are in flight together.
          const ids = yield* Effect.all(
            Array.from({ length: 20 }, (_, id) => client.Rendezvous({ id, of: 20 })),
            { concurrency: "unbounded" },
          ).pipe(Effect.timeout("10 seconds"));
          const sums = yield* Effect.all(
            Array.from({ length: 100 }, (_, i) => client.Add({ a: i, b: 1000 })),
            { concurrency: 16 },
          );
          return { ids, sums };
        }));
      expect(result.ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(result.sums).toEqual(Array.from({ length: 100 }, (_, i) => i + 1000));
    }));

  it.scopedLive("a streaming RPC, two streams at once, typed errors (ndjson over TCP)", () =>
    Effect.gen(function* () {
      const address = yield* startServer({ host: "127.0.0.1", port: 0 }, "ndjson");
      yield* withClient(address, "ndjson", (client) =>
        Effect.gen(function* () {
          const counted = yield* client.Count({ to: 5000 }).pipe(Stream.runCollect);
          expect(Chunk.toReadonlyArray(counted)).toEqual(
            Array.from({ length: 5000 }, (_, i) => i + 1),
          );
          // Two streams at once, interleaved on the same connection.
          const [a, b] = yield* Effect.all([
            client.Count({ to: 300 }).pipe(Stream.runFold(0, (s, n) => s + n)),
            client.Count({ to: 400 }).pipe(Stream.runFold(0, (s, n) => s + n)),
          ], { concurrency: 2 });
          expect([a, b]).toEqual([300 * 301 / 2, 400 * 401 / 2]);

          expect(yield* client.Check({ value: "ok" })).toBe("OK");
          const rejected = yield* client.Check({ value: "" }).pipe(Effect.flip);
          expect(rejected).toBeInstanceOf(Rejected);
          expect((rejected as Rejected).why).toBe("empty");
        }));
    }));

  it.scopedLive("msgpack over a unix socket: several clients, large binary results", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => Deno.makeTempDir({ prefix: "fibernet-rpc-" })),
        (dir) => Effect.promise(() => Deno.remove(dir, { recursive: true }).catch(() => {})),
      );
      const address = yield* startServer({ path: `${dir}/rpc.sock` }, "msgpack");
      const results = yield* Effect.all(
        Array.from(
          { length: 4 },
          (_, k) =>
            withClient(address, "msgpack", (client) =>
              Effect.gen(function* () {
                const blob = yield* client.Blob({ size: 256 * 1024 + k });
                const sum = yield* client.Count({ to: 100 * (k + 1) }).pipe(
                  Stream.runFold(0, (s, n) => s + n),
                );
                return { length: blob.length, ok: blob.every((v, i) => v === (i & 0xff)), sum };
              })),
        ),
        { concurrency: "unbounded" },
      );
      expect(results).toEqual(
        Array.from({ length: 4 }, (_, k) => ({
          length: 256 * 1024 + k,
          ok: true,
          sum: (100 * (k + 1)) * (100 * (k + 1) + 1) / 2,
        })),
      );
    }));
});

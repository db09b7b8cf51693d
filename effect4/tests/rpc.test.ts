// effect/rpc end to end on Deno: RpcServer.layerProtocolSocketServer over
// DenoSocketServer, RpcClient.layerProtocolSocket over DenoSocket, in both of
// Effect 4's stream formats (NDJSON, and its binary SchemaBinary, which took
// msgpack's place).
import { describe, expect, it } from "@effect/vitest";
import { Context, Deferred, Effect, Layer, Ref, Schema, type Scope, Stream } from "effect";
import type * as NetAddress from "effect/net/NetAddress";
import {
  Rpc,
  RpcClient,
  type RpcClientError,
  RpcGroup,
  RpcSerialization,
  RpcServer,
} from "effect/rpc";
import { SocketServer, type SocketServerError } from "effect/socket/SocketServer";
import { DenoSocket, DenoSocketServer } from "../src/platform/mod.ts";
import { tempDir } from "./_support/paths.ts";

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { why: Schema.String }) {}

class TestRpcs extends RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  // Completes only once `of` calls are in flight at the same time.
  Rpc.make("Rendezvous", {
    payload: { id: Schema.Number, of: Schema.Number },
    success: Schema.Number,
  }),
  Rpc.make("Check", { payload: { value: Schema.String }, success: Schema.String, error: Rejected }),
  Rpc.make("Count", { payload: { to: Schema.Number }, success: Schema.Number, stream: true }),
  Rpc.make("Blob", { payload: { size: Schema.Number }, success: Schema.Uint8Array }),
) {}

const handlers = TestRpcs.toLayer(Effect.gen(function* () {
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
}));

const serialization = {
  ndjson: RpcSerialization.layerNdjson,
  binary: RpcSerialization.layerSchemaBinary(),
} as const;
type Format = keyof typeof serialization;

/** Builds the RPC server into the test's scope and returns its address. */
const startServer = (
  listen: DenoSocketServer.Options,
  format: Format,
): Effect.Effect<NetAddress.SocketAddress, SocketServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      RpcServer.layer(TestRpcs).pipe(
        Layer.provide(handlers),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provideMerge(DenoSocketServer.layer(listen)),
        Layer.provide(serialization[format]),
      ),
    );
    return Context.get(context, SocketServer).address;
  });

type Client = RpcClient.RpcClient<RpcGroup.Rpcs<typeof TestRpcs>, RpcClientError.RpcClientError>;

/** Runs `use` with a client connected to `address`. */
const withClient = <A, E>(
  address: NetAddress.SocketAddress,
  format: Format,
  use: (client: Client) => Effect.Effect<A, E>,
): Effect.Effect<A, E> =>
  Effect.scoped(Effect.flatMap(RpcClient.make(TestRpcs), use)).pipe(
    Effect.provide(
      RpcClient.layerProtocolSocket().pipe(
        Layer.provide(
          DenoSocket.layerNet(
            address._tag === "UnixPathAddress"
              ? { path: address.path, openTimeout: "5 seconds" }
              : { host: "127.0.0.1", port: address.port, openTimeout: "5 seconds" },
          ),
        ),
        Layer.provide(serialization[format]),
      ),
    ),
  );

describe("effect/rpc over DenoSocket / DenoSocketServer", () => {
  it.live("concurrent calls overlap on one connection (binary over TCP)", () =>
    Effect.gen(function* () {
      const address = yield* startServer({ host: "127.0.0.1", port: 0 }, "binary");
      const result = yield* withClient(address, "binary", (client) =>
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

  it.live("a streaming RPC, two streams at once, typed errors (ndjson over TCP)", () =>
    Effect.gen(function* () {
      const address = yield* startServer({ host: "127.0.0.1", port: 0 }, "ndjson");
      yield* withClient(address, "ndjson", (client) =>
        Effect.gen(function* () {
          const counted = yield* client.Count({ to: 5000 }).pipe(Stream.runCollect);
          expect(counted).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
          // Two streams at once, interleaved on the same connection.
          const [a, b] = yield* Effect.all([
            client.Count({ to: 300 }).pipe(Stream.runFold(() => 0, (s, n) => s + n)),
            client.Count({ to: 400 }).pipe(Stream.runFold(() => 0, (s, n) => s + n)),
          ], { concurrency: 2 });
          expect([a, b]).toEqual([300 * 301 / 2, 400 * 401 / 2]);

          expect(yield* client.Check({ value: "ok" })).toBe("OK");
          const rejected = yield* client.Check({ value: "" }).pipe(Effect.flip);
          expect(rejected).toBeInstanceOf(Rejected);
          expect((rejected as Rejected).why).toBe("empty");
        }));
    }));

  for (const format of ["binary", "ndjson"] as const) {
    it.live(`${format} over a unix socket: several clients, large binary results`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir;
        const address = yield* startServer({ path: `${dir}/rpc.sock` }, format);
        const results = yield* Effect.all(
          Array.from(
            { length: 4 },
            (_, k) =>
              withClient(address, format, (client) =>
                Effect.gen(function* () {
                  const blob = yield* client.Blob({ size: 256 * 1024 + k });
                  const sum = yield* client.Count({ to: 100 * (k + 1) }).pipe(
                    Stream.runFold(() => 0, (s, n) => s + n),
                  );
                  return { length: blob.length, ok: blob.every((v, i) => v === (i & 0xff)), sum };
                })),
          ),
          { concurrency: "unbounded" },
        ).pipe(Effect.timeout("20 seconds"));
        expect(results).toEqual(
          Array.from({ length: 4 }, (_, k) => ({
            length: 256 * 1024 + k,
            ok: true,
            sum: (100 * (k + 1)) * (100 * (k + 1) + 1) / 2,
          })),
        );
      }));
  }
});

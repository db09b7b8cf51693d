// The parts of DenoClusterSocket that need no database: the client protocol
// (which closes what it opened when it is released) and the retried start-up
// of the storage Layers.
import { RunnerAddress, Runners } from "@effect/cluster";
import { RpcSerialization } from "@effect/rpc";
import { describe, expect, it } from "@effect/vitest";
import { Context, Effect, Exit, Layer, Option, Schedule, Scope } from "effect";
import { Listener, Tcp } from "../mod.ts";
import { DenoClusterSocket } from "../src/cluster/mod.ts";
import { retryLayer } from "../src/internal/retry_layer.ts";

describe("DenoClusterSocket client protocol", () => {
  it.scopedLive(
    "a connection whose scope was never closed (as RcMap leaks them) is closed with the Layer",
    () =>
      Effect.gen(function* () {
        const listener = yield* Tcp.listen("127.0.0.1:0");
        const port = listener.address._tag === "TcpAddress" ? listener.address.port : 0;
        const layerScope = yield* Scope.make();
        const context = yield* Layer.buildWithScope(
          DenoClusterSocket.layerClientProtocol.pipe(Layer.provide(RpcSerialization.layerNdjson)),
          layerScope,
        );
        const open = Context.get(context, Runners.RpcClientProtocol);
        // The scope of an RcMap entry that lost the race: nobody ever closes it.
        const leaked = yield* Scope.make();
        yield* open(RunnerAddress.make("127.0.0.1", port)).pipe(Scope.extend(leaked));
        const served = yield* Listener.acceptScoped(listener).pipe(Effect.timeout("10 seconds"));
        yield* Scope.close(layerScope, Exit.void);
        // The server reads the end of the connection: the client closed it.
        const end = yield* served.read().pipe(Effect.timeout("10 seconds"));
        expect(Option.isNone(end)).toBe(true);
        // Asking the released protocol for another connection is refused.
        const late = yield* open(RunnerAddress.make("127.0.0.1", port)).pipe(
          Effect.scoped,
          Effect.exit,
        );
        expect(Exit.isInterrupted(late)).toBe(true);
      }),
  );
});

describe("retryLayer (the storage Layers' start-up)", () => {
  it.scopedLive("an attempt that dies is released, and the next one is built", () =>
    Effect.gen(function* () {
      const events: Array<string> = [];
      let attempt = 0;
      const flaky = Layer.scoped(
        Tag,
        Effect.gen(function* () {
          const n = ++attempt;
          yield* Effect.acquireRelease(
            Effect.sync(() => events.push(`acquire ${n}`)),
            () => Effect.sync(() => events.push(`release ${n}`)),
          );
          if (n < 3) return yield* Effect.die(`type "cluster_migrations" already exists`);
          return n;
        }),
      );
      const context = yield* Layer.build(retryLayer(flaky, 5, Schedule.spaced("10 millis")));
      expect(Context.get(context, Tag)).toBe(3);
      expect(events).toEqual(["acquire 1", "release 1", "acquire 2", "release 2", "acquire 3"]);
    }));

  it.scopedLive("it gives up after the last retry with the last failure", () =>
    Effect.gen(function* () {
      let attempts = 0;
      const failing = Layer.effect(Tag, Effect.suspend(() => Effect.fail(`no ${++attempts}`)));
      const exit = yield* Layer.build(retryLayer(failing, 2, Schedule.spaced("10 millis"))).pipe(
        Effect.exit,
      );
      expect(exit).toEqual(Exit.fail("no 3"));
      expect(attempts).toBe(3);
    }));
});

class Tag extends Context.Tag("test/Tag")<Tag, number>() {}

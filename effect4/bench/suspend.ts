/**
 * The Effect 4 half of the suspend-cost harness (the Effect 3 half is
 * `bench/suspend_effect3.ts` at the repository root; `deno task
 * bench:suspend` there runs both and compares). Prints one JSON object: the
 * cost of a fiber suspend and resume, and of a 64-byte round trip through
 * `Connection` (one suspension each: the read waits for the peer), next to
 * a raw Deno round trip.
 *
 *   deno run -A bench/suspend.ts [--async-hooks=default|off|count]
 *
 * effect 4.1 makes a `node:async_hooks` AsyncResource at every fiber
 * suspension when `process.getBuiltinModule` exists, as it does in Deno.
 * `off` hides `getBuiltinModule` from effect, to measure without them;
 * `count` counts the AsyncResources made per operation instead of timing.
 *
 * @module
 */
import {
  type Figure,
  measure,
  MESSAGE_BYTES,
  rawRoundTrips,
  startEchoPeer,
} from "../../bench/lib/suspend.ts";

type AsyncHooks = "default" | "off" | "count";
const hooks = (Deno.args.find((a) => a.startsWith("--async-hooks="))?.split("=")[1] ??
  "default") as AsyncHooks;

// Decided before effect is loaded: it looks for AsyncResource once, at load.
type AsyncResourceClass = new (type: string) => object;
const nodeProcess = (globalThis as unknown as {
  process: { getBuiltinModule?: (name: string) => unknown };
}).process;
let made = 0;
if (hooks === "off") nodeProcess.getBuiltinModule = undefined;
if (hooks === "count") {
  const original = nodeProcess.getBuiltinModule!.bind(nodeProcess);
  nodeProcess.getBuiltinModule = (name: string) => {
    const module = original(name) as { AsyncResource: AsyncResourceClass };
    if (name !== "node:async_hooks") return module;
    class Counted extends module.AsyncResource {
      constructor(type: string) {
        super(type);
        made++;
      }
    }
    return { ...module, AsyncResource: Counted };
  };
}
const { Effect } = await import("effect");
const { Tcp } = await import("../mod.ts");

const ROUNDS = hooks === "count" ? 1 : 7;
const SUSPENSIONS = 200_000;
const ROUND_TRIPS = 20_000;

/** A fiber suspends and is resumed from a microtask. */
const suspendOnce = Effect.callback<void>((resume) => queueMicrotask(() => resume(Effect.void)));
/** The same loop without suspending, to see the loop's own cost. */
const noSuspend = Effect.void;

const loop = (step: typeof noSuspend, n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* step;
  });

const roundTrips = (port: number, n: number) =>
  Effect.gen(function* () {
    const conn = yield* Tcp.connect(`127.0.0.1:${port}`, { noDelay: true });
    const message = new Uint8Array(MESSAGE_BYTES).fill(0x61);
    for (let i = 0; i < n; i++) {
      yield* conn.write(message);
      yield* conn.readExactly(MESSAGE_BYTES);
    }
  }).pipe(Effect.scoped);

const count = hooks === "count" ? { name: "asyncResources", read: () => made } : undefined;
const peer = await startEchoPeer();
try {
  const figures: Figure[] = [
    await measure("loop step, no suspension", {
      rounds: ROUNDS,
      ops: SUSPENSIONS,
      round: (n) => Effect.runPromise(loop(noSuspend, n)),
      count,
    }),
    await measure("suspend + resume (callback resumed from a microtask)", {
      rounds: ROUNDS,
      ops: SUSPENSIONS,
      round: (n) => Effect.runPromise(loop(suspendOnce, n)),
      count,
    }),
    await measure("64 B round trip, raw Deno", {
      rounds: ROUNDS,
      ops: ROUND_TRIPS,
      round: (n) => rawRoundTrips(peer.port, n),
      count,
    }),
    await measure("64 B round trip, Connection write + readExactly", {
      rounds: ROUNDS,
      ops: ROUND_TRIPS,
      round: (n) => Effect.runPromise(roundTrips(peer.port, n)),
      count,
    }),
  ];
  console.log(JSON.stringify({ line: `Effect 4, async hooks ${hooks}`, figures }));
} finally {
  await peer.stop();
}

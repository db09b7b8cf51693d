/**
 * The Effect 3 half of the suspend-cost harness (the Effect 4 half is
 * `effect4/bench/suspend.ts`; `deno task bench:suspend` runs both and
 * compares). Prints one JSON object: the cost of a fiber suspend and resume,
 * and of a 64-byte round trip through `Connection` (one suspension each: the
 * read waits for the peer), next to a raw Deno round trip.
 *
 *   deno run -A bench/suspend_effect3.ts
 *
 * @module
 */
import { Effect } from "effect";
import { Tcp } from "../mod.ts";
import {
  type Figure,
  measure,
  MESSAGE_BYTES,
  rawRoundTrips,
  startEchoPeer,
} from "./lib/suspend.ts";

const ROUNDS = 7;
const SUSPENSIONS = 200_000;
const ROUND_TRIPS = 20_000;

/** A fiber suspends and is resumed from a microtask. */
const suspendOnce = Effect.async<void>((resume) => queueMicrotask(() => resume(Effect.void)));
/** The same loop without suspending, to see the loop's own cost. */
const noSuspend = Effect.void;

const loop = (step: Effect.Effect<void>, n: number) =>
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

const peer = await startEchoPeer();
try {
  const figures: Figure[] = [
    await measure("loop step, no suspension", {
      rounds: ROUNDS,
      ops: SUSPENSIONS,
      round: (n) => Effect.runPromise(loop(noSuspend, n)),
    }),
    await measure("suspend + resume (callback resumed from a microtask)", {
      rounds: ROUNDS,
      ops: SUSPENSIONS,
      round: (n) => Effect.runPromise(loop(suspendOnce, n)),
    }),
    await measure("64 B round trip, raw Deno", {
      rounds: ROUNDS,
      ops: ROUND_TRIPS,
      round: (n) => rawRoundTrips(peer.port, n),
    }),
    await measure("64 B round trip, Connection write + readExactly", {
      rounds: ROUNDS,
      ops: ROUND_TRIPS,
      round: (n) => Effect.runPromise(roundTrips(peer.port, n)),
    }),
  ];
  console.log(JSON.stringify({ line: "Effect 3", figures }));
} finally {
  await peer.stop();
}

// UDP helpers for tests.
import { Effect } from "effect";
import type { Udp } from "../../mod.ts";

/** Waits until the endpoint has stopped reading datagrams (its counter is still). */
export const settle = (endpoint: Udp.DatagramSocket): Effect.Effect<void> =>
  Effect.gen(function* () {
    let last = -1;
    let still = 0;
    for (let i = 0; i < 400 && still < 3; i++) {
      yield* Effect.sleep("25 millis");
      const now = endpoint.stats.received;
      still = now === last ? still + 1 : 0;
      last = now;
    }
  });

// Several fibers receiving from one endpoint at once: each datagram goes to
// exactly one of them, and an interrupted receiver neither takes nor strands one.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber } from "effect";
import { Udp } from "../mod.ts";
import { text } from "./_support/bytes.ts";

const within = <A, E>(effect: Effect.Effect<A, E>, what: string) =>
  Effect.timeoutOrElse(effect, {
    duration: "5 seconds",
    orElse: () => Effect.fail(new Error(`timed out waiting for ${what}`)),
  });

/** Lets forked receivers reach their wait. */
const letThemWait = Effect.sleep("30 millis");

describe.each(Udp.availableBackends())("Udp receivers over %s", (backend) => {
  const options = { backend } as const;

  it.live("three waiting receivers get three datagrams, one each", () =>
    Effect.gen(function* () {
      const a = yield* Udp.bind("127.0.0.1:0", options);
      const b = yield* Udp.bind("127.0.0.1:0", options);
      const receivers = yield* Effect.all(
        [1, 2, 3].map(() => Effect.forkChild(Effect.map(a.receive, (d) => text(d.data)))),
      );
      yield* letThemWait;
      for (const word of ["one", "two", "three"]) yield* b.send(word, a.address);
      const got = yield* within(Effect.all(receivers.map(Fiber.join)), "three datagrams");
      expect([...got].sort()).toEqual(["one", "three", "two"]);
      expect(a.stats).toMatchObject({ received: 3, delivered: 3, queued: 0 });
    }));

  it.live("an interrupted receiver takes nothing: the one still waiting gets the datagram", () =>
    Effect.gen(function* () {
      const a = yield* Udp.bind("127.0.0.1:0", options);
      const b = yield* Udp.bind("127.0.0.1:0", options);
      const first = yield* Effect.forkChild(a.receive);
      yield* letThemWait;
      const second = yield* Effect.forkChild(a.receive);
      yield* letThemWait;
      yield* Fiber.interrupt(first);
      yield* b.send("for whoever waits", a.address);
      const got = yield* within(Fiber.join(second), "the datagram");
      expect(text(got.data)).toBe("for whoever waits");
      expect(a.stats).toMatchObject({ delivered: 1, queued: 0 });
    }));

  it.live("receivers interrupted around a datagram's arrival lose none of them (30 timings)", () =>
    Effect.gen(function* () {
      const a = yield* Udp.bind("127.0.0.1:0", options);
      const b = yield* Udp.bind("127.0.0.1:0", options);
      // Each round interrupts the first receiver a little before or after its
      // datagram arrives: whether it took the datagram or not, none is lost.
      // (A receiver told of a datagram but interrupted before it polls passes
      // the wake-up on: tests/core-udp-endpoint.test.ts checks that exactly.)
      let takenByFirst = 0;
      for (let round = 0; round < 30; round++) {
        const first = yield* Effect.forkChild(a.receive);
        const second = yield* Effect.forkChild(a.receive);
        yield* letThemWait;
        yield* b.send(`round ${round}`, a.address);
        yield* Effect.sleep(`${round % 3} millis`);
        yield* Fiber.interrupt(first);
        const exit = yield* Fiber.await(first);
        if (exit._tag === "Success") {
          takenByFirst++;
          yield* b.send(`round ${round} again`, a.address);
        }
        const got = yield* within(Fiber.join(second), `round ${round}`);
        expect(text(got.data)).toMatch(new RegExp(`^round ${round}( again)?$`));
        expect(a.stats.queued).toBe(0);
      }
      expect(a.stats.delivered).toBe(30 + takenByFirst);
      expect(a.stats.dropped).toBe(0);
    }));
});

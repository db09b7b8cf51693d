// effect/cluster on Deno through DenoClusterSocket: three runner processes
// (RPC server: DenoSocketServer; connections between runners: DenoSocket)
// over a throwaway PostgreSQL reached with @effect/sql-pg 4, and a
// client-only member in this process. Counters live in the database, so a
// counter whose shard moved goes on from its value: an answer proves both
// where the message went and that it ran exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect, ManagedRuntime } from "effect";
import { clientLayer, type Count, Counter } from "./fixtures/cluster_counter.ts";
import { type Postgres, type Runner, startPostgres, startRunners } from "./_support/cluster.ts";
import { needsForEach } from "./_support/needs.ts";
import { missing } from "./_support/tools.ts";

const ids = Array.from({ length: 30 }, (_, i) => `counter-${i + 1}`);

/** The counters' values by id. */
const valuesOf = (counts: ReadonlyArray<Count>): Record<string, number> =>
  Object.fromEntries(counts.map((count, i) => [ids[i], count.value]));

const plusOne = (values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).map(([id, value]) => [id, value + 1]));

/** The set of runners that answered. */
const answeredBy = (counts: ReadonlyArray<Count>): Set<string> =>
  new Set(counts.map((count) => count.runner));

describe("a cluster of 3 Deno runner processes over PostgreSQL (Effect 4)", () => {
  needsForEach("postgres");

  let postgres: Postgres | undefined;
  let runners: Array<Runner> = [];
  let client: ManagedRuntime.ManagedRuntime<unknown, unknown> | undefined;
  // The counters' values after the last round, carried from test to test.
  let values: Record<string, number> = {};

  /** Adds 1 to each counter, all at once; the answers in the order of `ids`. */
  const incrementAll = (): Promise<Array<Count>> =>
    client!.runPromise(
      Effect.flatMap(Counter.client, (make) =>
        Effect.forEach(ids, (id) =>
          make(id).Increment({ by: 1 }), {
          concurrency: "unbounded",
        })).pipe(
          // A shard whose runner died is retried until it has a new one; bound the wait.
          Effect.timeout("40 seconds"),
        ) as Effect.Effect<Array<Count>, unknown, never>,
    );

  beforeAll(async () => {
    if (missing("postgres")) return;
    postgres = await startPostgres();
    runners = await startRunners(postgres.url, 3);
    client = ManagedRuntime.make(clientLayer(postgres.url)) as ManagedRuntime.ManagedRuntime<
      unknown,
      unknown
    >;
  }, 120_000);

  afterAll(async () => {
    await client?.dispose();
    await Promise.all(runners.map((runner) => runner.close()));
    await postgres?.stop();
  }, 30_000);

  it("messages reach counters on every runner", async () => {
    // Runners that start together hand shards over for a moment: go round
    // until a round was answered by all three (and the cluster is settled).
    let counts: Array<Count> = [];
    for (let round = 1; round <= 20; round++) {
      counts = await incrementAll();
      if (answeredBy(counts).size === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(answeredBy(counts)).toEqual(new Set(runners.map((runner) => runner.address)));
    values = valuesOf(counts);
    // Settled: one more round adds exactly one to every counter, on the same runners.
    const again = await incrementAll();
    expect(valuesOf(again)).toEqual(plusOne(values));
    expect(again.map((count) => count.runner)).toEqual(counts.map((count) => count.runner));
    values = valuesOf(again);
  }, 60_000);

  it(
    "SIGTERM: the runner exits at once, cleanly, and its counters go on on the others",
    async () => {
      const [, stopped] = runners;
      Deno.kill(stopped.pid, "SIGTERM");
      // Its server interrupts the runners' connections (open for minutes) instead of draining them.
      expect(await stopped.exitWithin(5_000)).toBe(0);
      const counts = await incrementAll();
      expect(valuesOf(counts)).toEqual(plusOne(values));
      expect(answeredBy(counts)).toEqual(new Set([runners[0].address, runners[2].address]));
      values = valuesOf(counts);
    },
    60_000,
  );

  it("SIGKILL: the killed runner's counters move to the last runner", async () => {
    const [last, , killed] = runners;
    Deno.kill(killed.pid, "SIGKILL");
    expect(await killed.exitWithin(5_000)).not.toBeNull();
    const counts = await incrementAll();
    expect(valuesOf(counts)).toEqual(plusOne(values));
    expect(answeredBy(counts)).toEqual(new Set([last.address]));
  }, 60_000);
});

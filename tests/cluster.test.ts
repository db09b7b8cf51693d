// @effect/cluster on Deno through DenoClusterSocket: three runner processes
// of examples/cluster (RPC server: DenoSocketServer; connections between
// runners: DenoSocket) over a throwaway PostgreSQL, and a client-only member
// in this process. Counters live in the database, so a counter whose shard
// moved goes on from its value: an answer proves both where the message went
// and that it ran exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Count } from "../examples/cluster/counter.ts";
import { type Postgres, startPostgres } from "../examples/cluster/postgres.ts";
import {
  answeredBy,
  type Client,
  clientArgs,
  counterIds,
  createDatabase,
  makeClient,
  plainPing,
  type Runner,
  runnerFlags,
  startRunners,
} from "./_support/cluster.ts";
import { runToEnd } from "./_support/examples.ts";
import { needsForEach } from "./_support/needs.ts";
import { selfSignedCert } from "./_support/tls.ts";
import { missing } from "./_support/tools.ts";

const ids = counterIds(30);

/** The counters' values by id. */
const valuesOf = (counts: ReadonlyArray<Count>): Record<string, number> =>
  Object.fromEntries(counts.map((count, i) => [ids[i], count.value]));

const plusOne = (values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).map(([id, value]) => [id, value + 1]));

// One throwaway PostgreSQL for the file; each cluster gets a database of its own.
let postgres: Postgres | undefined;

beforeAll(async () => {
  if (!missing("postgres")) postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
}, 30_000);

describe("a cluster of 3 Deno runner processes over PostgreSQL", () => {
  needsForEach("postgres");

  let runners: Array<Runner> = [];
  let client: Client | undefined;
  // The counters' values after the last round, carried from test to test.
  let values: Record<string, number> = {};

  beforeAll(async () => {
    if (postgres === undefined) return;
    runners = await startRunners({ database: postgres.url }, 3);
    client = makeClient({ database: postgres.url });
  }, 90_000);

  afterAll(async () => {
    await client?.dispose();
    await Promise.all(runners.map((runner) => runner.process.close()));
  }, 30_000);

  it("messages reach counters on every runner", async () => {
    // Runners that start together hand shards over for a moment: go round
    // until a round was answered by all three (and the cluster is settled).
    let counts: Array<Count> = [];
    for (let round = 1; round <= 20; round++) {
      counts = await client!.incrementAll(ids);
      if (answeredBy(counts).size === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(answeredBy(counts)).toEqual(new Set(runners.map((runner) => runner.address)));
    values = valuesOf(counts);
    // Settled: one more round adds exactly one to every counter, on the same runners.
    const again = await client!.incrementAll(ids);
    expect(valuesOf(again)).toEqual(plusOne(values));
    expect(again.map((count) => count.runner)).toEqual(counts.map((count) => count.runner));
    values = valuesOf(again);
  }, 60_000);

  it(
    "SIGTERM: the runner exits at once, cleanly, and its counters go on on the others",
    async () => {
      const [, stopped] = runners;
      Deno.kill(stopped.process.pid, "SIGTERM");
      // A drain of the runners' RPC connections (which stay open for minutes) used to hold it 10 s.
      expect(await stopped.process.exitWithin(5_000)).toBe(0);
      const counts = await client!.incrementAll(ids);
      expect(valuesOf(counts)).toEqual(plusOne(values));
      expect(answeredBy(counts)).toEqual(new Set([runners[0].address, runners[2].address]));
      values = valuesOf(counts);
    },
    60_000,
  );

  it("SIGKILL: the killed runner's counters move to the last runner", async () => {
    const [last, , killed] = runners;
    Deno.kill(killed.process.pid, "SIGKILL");
    expect(await killed.process.exitWithin(5_000)).not.toBeNull();
    const counts = await client!.incrementAll(ids);
    expect(valuesOf(counts)).toEqual(plusOne(values));
    expect(answeredBy(counts)).toEqual(new Set([last.address]));
    values = valuesOf(counts);
  }, 60_000);

  it("the example's client process sends a burst and exits by itself", async () => {
    const { code, stdout, stderr } = await runToEnd(
      "cluster/client.ts",
      runnerFlags,
      clientArgs({ database: postgres!.url }, "burst", String(ids.length)),
      45_000,
    );
    expect({ code, stderr: stderr.split("\n").filter((l) => !l.includes("level=")) })
      .toEqual({ code: 0, stderr: [""] });
    const lines = stdout.trim().split("\n");
    expect(lines.slice(0, -1)).toEqual(
      ids.map((id) => `${id} = ${values[id] + 1} on ${runners[0].address}`),
    );
    expect(lines.at(-1)).toBe(`${ids.length} counters on 1 runner(s): ${runners[0].address} ×30`);
  }, 60_000);
});

describe("a cluster over TLS", () => {
  needsForEach("postgres");
  needsForEach("openssl");

  let runners: Array<Runner> = [];
  let client: Client | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    await client?.dispose();
    await Promise.all(runners.map((runner) => runner.process.close()));
    if (dir !== undefined) await Deno.remove(dir, { recursive: true });
  }, 30_000);

  it("runners serve TLS and reach each other over it; a TLS client reaches both", async () => {
    dir = await Deno.makeTempDir({ prefix: "fibernet-cluster-tls-" });
    await selfSignedCert(dir);
    const setup = {
      database: await createDatabase(postgres!.url, "tls"),
      tls: { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/cert.pem` },
    };
    runners = await startRunners(setup, 2);
    // The runners' port speaks TLS only: a ping in plain text gets no pong.
    expect(await plainPing(runners[0].address)).not.toContain("Pong");
    client = makeClient(setup);
    let counts: Array<Count> = [];
    for (let round = 1; round <= 20 && answeredBy(counts).size < 2; round++) {
      counts = await client.incrementAll(ids);
    }
    expect(answeredBy(counts)).toEqual(new Set(runners.map((runner) => runner.address)));
    // The runners ping each other every second, over TLS; one that could not
    // reach the other would mark it dead within 4 s and take its counters.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const later = await client.incrementAll(ids);
    expect(later.map((count) => count.runner)).toEqual(counts.map((count) => count.runner));
    expect(valuesOf(later)).toEqual(plusOne(valuesOf(counts)));
  }, 90_000);
});

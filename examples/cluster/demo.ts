/**
 * The cluster example from start to end, in one command: a throwaway
 * PostgreSQL, three runner processes on loopback, and this process as a
 * client that adds 1 to twelve counters per round. Between rounds it stops
 * one runner with SIGTERM (timing how long it takes to exit) and kills
 * another with SIGKILL; every counter still answers, from the runners left,
 * and goes on from its value. Everything it started is stopped at the end
 * (and on Ctrl-C).
 *
 *   deno run -A examples/cluster/demo.ts
 *
 * Needs PostgreSQL's server programs: `apt-get install postgresql`.
 *
 * @module
 */
import "../_msgpackr_js_only.ts";
import { Effect, ManagedRuntime } from "effect";
import { clientLayer, type Count, Counter } from "./counter.ts";
import { type Postgres, startPostgres } from "./postgres.ts";

const COUNTERS = 12;
const ids = Array.from({ length: COUNTERS }, (_, i) => `counter-${i + 1}`);

/** A runner process, once it said it is ready. */
interface Runner {
  readonly address: string;
  readonly child: Deno.ChildProcess;
}

const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
};

/** Starts a runner; its logs go to this process's stderr only if it fails to start. */
const startRunner = async (database: string): Promise<Runner> => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-net=127.0.0.1", "--allow-env"],
      new URL("runner.ts", import.meta.url).pathname,
      ...["--port", String(port), "--database", database],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await lines.read();
  lines.releaseLock();
  const address = `127.0.0.1:${port}`;
  if (value?.trim() !== `runner ${address} ready`) {
    const errors = await new Response(child.stderr).text();
    throw new Error(`runner ${address} did not start: ${errors.trim().split("\n").at(-1)}`);
  }
  // Keep reading its output so that it never blocks on a full pipe.
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  return { address, child };
};

/** Who answered, busiest runner first: `127.0.0.1:41001 ×5, 127.0.0.1:41002 ×4`. */
const spread = (counts: ReadonlyArray<Count>): string => {
  const per = new Map<string, number>();
  for (const count of counts) per.set(count.runner, (per.get(count.runner) ?? 0) + 1);
  return [...per].sort((a, b) => b[1] - a[1]).map(([runner, n]) => `${runner} ×${n}`).join(", ");
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const main = async () => {
  let postgres: Postgres | undefined;
  const runners: Array<Runner> = [];
  let client: { readonly dispose: () => Promise<void> } | undefined;
  const stopAll = async () => {
    await client?.dispose().catch(() => {});
    for (const runner of runners) {
      try {
        runner.child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
      await runner.child.status;
    }
    await postgres?.stop();
  };
  const onSignal = () => stopAll().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    postgres = await startPostgres();
    console.log(`PostgreSQL on 127.0.0.1:${postgres.port} (throwaway, in ${postgres.dir})`);
    runners.push(...await Promise.all([1, 2, 3].map(() => startRunner(postgres!.url))));
    console.log(`runners: ${runners.map((runner) => runner.address).join(", ")}`);
    const runtime = ManagedRuntime.make(clientLayer({ database: postgres.url }));
    client = runtime;
    const round = () =>
      runtime.runPromise(
        Effect.flatMap(Counter.client, (counter) =>
          Effect.forEach(ids, (id) =>
            counter(id).Increment({ by: 1 }), {
            concurrency: "unbounded",
          })),
      );
    // Every round adds 1 to every counter: each must be one more than before.
    let last: ReadonlyArray<Count> | undefined;
    let wentOn = true;
    const show = (label: string, counts: ReadonlyArray<Count>, started: number) => {
      if (last !== undefined) wentOn &&= counts.every((c, i) => c.value === last![i].value + 1);
      last = counts;
      const values = [...new Set(counts.map((count) => count.value))].join(", ");
      console.log(
        `${label}: ${COUNTERS} counters at ${values}, answered by ${spread(counts)} ` +
          `(${seconds(performance.now() - started)})`,
      );
    };

    // Runners that start together hand shards to each other for a moment.
    let started = performance.now();
    let counts = await round();
    for (let i = 0; i < 20 && new Set(counts.map((c) => c.runner)).size < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      counts = await round();
    }
    show("all three up", counts, started);

    const [, stopped, killed] = runners;
    started = performance.now();
    stopped.child.kill("SIGTERM");
    const { code } = await stopped.child.status;
    console.log(
      `SIGTERM ${stopped.address}: exited with ${code} in ${seconds(performance.now() - started)}`,
    );
    started = performance.now();
    show("two left", await round(), started);

    killed.child.kill("SIGKILL");
    await killed.child.status;
    console.log(`SIGKILL ${killed.address}`);
    started = performance.now();
    show("one left", await round(), started);
    console.log(
      wentOn
        ? "every counter answered each round and went on from its value; stopping"
        : "some counter did not go on from its value (see above); stopping",
    );
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await stopAll();
  }
};

await main().catch((error) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  Deno.exitCode = 1;
});

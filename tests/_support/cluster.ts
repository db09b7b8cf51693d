// The cluster example's runners as real processes, and a client-only cluster
// member in the test process, over a throwaway PostgreSQL.
import { PgClient } from "@effect/sql-pg";
import { Effect, ManagedRuntime, Redacted } from "effect";
import { clientLayer, type Count, Counter, type Setup } from "../../examples/cluster/counter.ts";
import { type Running, start } from "./examples.ts";
import { freePort } from "./net.ts";

/** A runner process of the example, once it printed that it is ready. */
export interface Runner {
  /** `127.0.0.1:PORT`, as the counters report it. */
  readonly address: string;
  readonly process: Running;
}

/** The flags of the example's processes: loopback, env (sharding config, pg), TLS files. */
export const runnerFlags = ["--allow-net=127.0.0.1", "--allow-env", "--allow-read"];

const tlsArgs = (setup: Setup): Array<string> =>
  setup.tls ? ["--cert", setup.tls.cert, "--key", setup.tls.key, "--ca", setup.tls.ca] : [];

/** Starts `count` runners at once on free ports; resolves when all are ready. */
export const startRunners = async (setup: Setup, count: number): Promise<Array<Runner>> => {
  const runners = Array.from({ length: count }, () => {
    const port = freePort();
    const process = start("cluster/runner.ts", runnerFlags, [
      ...["--port", String(port), "--database", setup.database],
      ...tlsArgs(setup),
    ]);
    return { address: `127.0.0.1:${port}`, process };
  });
  try {
    await Promise.all(runners.map(async ({ address, process }) => {
      const line = await process.nextLine(60_000);
      if (line !== `runner ${address} ready`) throw new Error(`runner said: ${line}`);
    }));
  } catch (error) {
    await Promise.all(runners.map((runner) => runner.process.close()));
    throw error;
  }
  return runners;
};

/** The example's client run as a process: its exit code and output. */
export const clientArgs = (setup: Setup, ...command: Array<string>): Array<string> => [
  ...["--database", setup.database],
  ...tlsArgs(setup),
  ...command,
];

/** A client-only member of the cluster in this process. */
export interface Client {
  /** Adds 1 to each counter, all at once; the answers in the order of `ids`. */
  readonly incrementAll: (ids: ReadonlyArray<string>) => Promise<Array<Count>>;
  readonly dispose: () => Promise<void>;
}

export const makeClient = (setup: Setup): Client => {
  const runtime = ManagedRuntime.make(clientLayer(setup));
  return {
    incrementAll: (ids) =>
      runtime.runPromise(
        Effect.flatMap(Counter.client, (client) =>
          Effect.forEach(ids, (id) =>
            client(id).Increment({ by: 1 }), {
            concurrency: "unbounded",
          })).pipe(
            // A shard whose runner died is retried until it has a new one; bound the wait.
            Effect.timeoutFail({
              duration: "40 seconds",
              onTimeout: () =>
                new Error("counters did not all answer within 40 s"),
            }),
          ),
      ),
    dispose: () => runtime.dispose(),
  };
};

/** `counter-1` … `counter-N`. */
export const counterIds = (n: number): Array<string> =>
  Array.from({ length: n }, (_, i) => `counter-${i + 1}`);

/** The set of runners that answered. */
export const answeredBy = (counts: ReadonlyArray<Count>): Set<string> =>
  new Set(counts.map((count) => count.runner));

/** Makes a new database on the server of `url`; resolves with its URL. */
export const createDatabase = async (url: string, name: string): Promise<string> => {
  await Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (sql) => sql`CREATE DATABASE ${sql(name)}`).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
    ),
  );
  return url.replace(/\/[^/]*$/, `/${name}`);
};

/** Sends an RPC ping in plain text (NDJSON) to `address`; what came back before the end. */
export const plainPing = async (address: string): Promise<string> => {
  const port = Number(address.split(":")[1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const deadline = setTimeout(() => conn.close(), 10_000);
  let heard = "";
  try {
    await conn.write(new TextEncoder().encode('{"_tag":"Ping"}\n'));
    const buffer = new Uint8Array(1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      heard += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    // Reset, or closed by the deadline: nothing more to hear.
  } finally {
    clearTimeout(deadline);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  return heard;
};

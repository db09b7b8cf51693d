// Runner processes of the cluster tests (tests/fixtures/cluster_runner.ts)
// over a throwaway PostgreSQL (the root's examples/cluster/postgres.ts,
// plain Deno code shared by both lines).
import { freePort } from "./net.ts";
import { repoPath } from "./paths.ts";

export { type Postgres, startPostgres } from "../../../examples/cluster/postgres.ts";

/** A runner process, once it printed that it is ready. */
export interface Runner {
  /** `127.0.0.1:PORT`, as the counters report it. */
  readonly address: string;
  readonly pid: number;
  /** The exit code, or null when it has not exited within `ms` (it is then killed). */
  readonly exitWithin: (ms: number) => Promise<number | null>;
  /** Kills it if still running and waits for it. */
  readonly close: () => Promise<void>;
}

/** Reads `stream` to its end in the background (a child must never block writing it). */
const drain = (stream: ReadableStream<Uint8Array>): Promise<void> =>
  stream.pipeTo(new WritableStream()).catch(() => {});

const startRunner = async (url: string): Promise<Runner> => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-q", "--allow-net=127.0.0.1", "--allow-env"],
      ...[repoPath("fixtures/cluster_runner.ts"), String(port), url],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const drained = drain(child.stderr);
  let exited: number | null = null;
  const status = child.status.then((s) => (exited = s.code));
  const close = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await status;
    await drained;
  };
  const address = `127.0.0.1:${port}`;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const timer = setTimeout(() => reader.cancel(), 60_000);
  while (!seen.includes(`runner ${address} ready\n`)) {
    const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
    if (done) {
      clearTimeout(timer);
      await close();
      throw new Error(`runner ${address} did not start: ${JSON.stringify(seen)}`);
    }
    seen += value;
  }
  clearTimeout(timer);
  reader.releaseLock();
  const rest = drain(child.stdout);
  return {
    address,
    pid: child.pid,
    exitWithin: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), ms)));
      const outcome = await Promise.race([status, late]);
      clearTimeout(timer);
      if (outcome === "late") await close();
      await rest;
      return outcome === "late" ? null : exited;
    },
    close: async () => {
      await close();
      await rest;
    },
  };
};

/** Starts `count` runners at once on free ports; resolves when all are ready. */
export const startRunners = async (url: string, count: number): Promise<Array<Runner>> => {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startRunner(url)),
  );
  const runners = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(runners.map((runner) => runner.close()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return runners;
};

/**
 * The measuring loop: rounds × workloads × servers. Each run starts a fresh
 * server process (so memory and JIT state never carry over), measures, and
 * stops it. Within a round the servers of a workload run one after another,
 * and the order rotates from round to round (A B C, B C A, C A B, …), so
 * every server is measured close in time to the baseline it is divided by
 * and no server always goes first.
 *
 * @module
 */
import type { Protocol } from "../servers/args.ts";
import { log } from "./log.ts";
import type { Loadgen } from "./loadgen.ts";
import { measure, type MeasureOptions } from "./measure.ts";
import { loadAvg } from "./procfs.ts";
import {
  listenFlags,
  type Runnable,
  type Started,
  startServer,
  type Transport,
} from "./servers.ts";
import type { RunRecord } from "./stats.ts";
import type { Workload } from "./workloads.ts";

/** How the rounds run. */
export interface RoundOptions extends MeasureOptions {
  readonly rounds: number;
  readonly transport: Transport;
  /** A directory for unix sockets (transport unix). */
  readonly socketDir: string;
  /** A directory for CPU profiles: each run's is renamed round-workload-server.cpuprofile. */
  readonly profile?: string;
}

/** Runs every round and returns every run, failed ones included. */
export async function runRounds(
  loadgen: Loadgen,
  workloads: ReadonlyArray<Workload>,
  servers: ReadonlyArray<Runnable>,
  options: RoundOptions,
): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let started = 0;
  for (let round = 1; round <= options.rounds; round++) {
    for (const workload of workloads) {
      const speaking = servers.filter((s) => s.info.protocols.includes(workload.proto));
      const order = speaking.map((_, i) => speaking[(i + round - 1) % speaking.length]);
      for (const server of order) {
        const socket = `${options.socketDir}/${server.info.name}-${++started}.sock`;
        const listen = listenFlags(options.transport, socket);
        const record = await runOne(loadgen, workload, server, listen, round, options);
        runs.push(record);
        log(describe(record));
      }
    }
  }
  return runs;
}

async function runOne(
  loadgen: Loadgen,
  workload: Workload,
  server: Runnable,
  listen: ReadonlyArray<string>,
  round: number,
  options: RoundOptions,
): Promise<RunRecord> {
  const base = {
    round,
    workload: workload.name,
    server: server.info.name,
    startedAt: new Date().toISOString(),
    loadAvg: await loadAvg(),
  };
  let running: Started | undefined;
  try {
    running = await startServer(server, workload.proto as Protocol, listen);
    const m = await measure(loadgen, workload, running, options);
    if (!running.process.alive) {
      return {
        ...base,
        ok: false,
        error: `the server exited during the run: ${running.process.output()}`,
        metrics: m.metrics,
        loadgen: m.loadgen,
      };
    }
    return { ...base, ok: m.ok, error: m.error, metrics: m.metrics, loadgen: m.loadgen };
  } catch (error) {
    return { ...base, ok: false, error: (error as Error).message, metrics: {} };
  } finally {
    await running?.process.stop();
    if (options.profile !== undefined) {
      await nameProfile(options.profile, `${round}-${workload.name}-${server.info.name}`);
    }
  }
}

/** Renames the profile a server just wrote (CPU.<...>.cpuprofile) after its run. */
async function nameProfile(dir: string, stem: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (/^CPU\..*\.cpuprofile$/.test(entry.name)) {
        await Deno.rename(`${dir}/${entry.name}`, `${dir}/${stem}.cpuprofile`);
      }
    }
  } catch {
    // no profile written
  }
}

function describe(r: RunRecord): string {
  const shown = ["req_per_s", "mb_per_s", "conns_per_s", "p99_us", "cpu_us_per_req"]
    .concat(["cpu_us_per_conn", "kib_per_conn"])
    .filter((k) => r.metrics[k] !== undefined)
    .map((k) => `${k}=${Number(r.metrics[k].toFixed(2))}`)
    .join(" ");
  const failure = r.ok ? "" : ` FAILED: ${r.error?.split("\n")[0]}`;
  return `round ${r.round} ${r.workload.padEnd(10)} ${r.server.padEnd(12)} ${shown}${failure}`;
}

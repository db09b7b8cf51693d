/**
 * One measurement: a workload's load on one started server, turned into the
 * figures of bench/README.md.
 *
 * - Request/response and churn: loadgen runs the warm-up and the measured
 *   window on the same connections and reads the server's CPU time
 *   (utime + stime) at the window's edges; CPU per request is that time over
 *   the requests (churn: connections) completed in the window.
 * - Idle: the server's RSS before, then after every connection was served
 *   once and the RSS stopped moving, over the number of connections.
 *
 * @module
 */
import {
  type Loadgen,
  type LoadProtocol,
  type LoadResult,
  parseReport,
  runLoadgen,
  startIdleLoad,
} from "./loadgen.ts";
import { rssKiB } from "./procfs.ts";
import type { Started } from "./servers.ts";
import type { Workload } from "./workloads.ts";

/** How long and how hard to measure. */
export interface MeasureOptions {
  readonly seconds: number;
  readonly warmup: number;
  readonly idleHold: number;
}

/** The figures of one measurement, and loadgen's report(s). */
export interface Measurement {
  readonly ok: boolean;
  readonly error?: string;
  readonly metrics: Record<string, number>;
  readonly loadgen: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const loadProtocol = (w: Workload): LoadProtocol => w.proto === "echo" ? "raw" : w.proto;

/** Measures `workload` on `server`. */
export function measure(
  loadgen: Loadgen,
  workload: Workload,
  server: Started,
  options: MeasureOptions,
): Promise<Measurement> {
  return workload.mode === "idle"
    ? measureIdle(loadgen, workload, server, options)
    : measureLoad(loadgen, workload, server, options);
}

async function measureLoad(
  loadgen: Loadgen,
  workload: Workload,
  server: Started,
  options: MeasureOptions,
): Promise<Measurement> {
  const r = await runLoadgen(loadgen, {
    address: server.address,
    mode: workload.mode,
    proto: loadProtocol(workload),
    conns: workload.conns,
    size: workload.size,
    seconds: options.seconds,
    warmup: options.warmup,
    serverPid: server.process.pid,
  });
  const cpu = r.server_cpu_us;
  const perRequest = r.reqs > 0 && cpu >= 0 ? cpu / r.reqs : NaN;
  const metrics: Record<string, number> = workload.mode === "churn"
    ? { conns_per_s: r.req_per_s, cpu_us_per_conn: perRequest }
    : { req_per_s: r.req_per_s, mb_per_s: r.mb_per_s, cpu_us_per_req: perRequest };
  Object.assign(metrics, {
    p50_us: r.p50_us,
    p99_us: r.p99_us,
    max_us: r.max_us,
    reqs: r.reqs,
    errors: r.errors,
    server_cpu_pct: cpu >= 0 ? cpu / (r.secs * 1e4) : NaN,
    loadgen_cpu_pct: r.loadgen_cpu_us / (r.secs * 1e4),
  });
  return verdict(metrics, r.line, [
    [r.errors === 0, `${r.errors} error(s): ${errorKinds(r)}`],
    [r.reqs > 0, "no request completed"],
    [cpu >= 0, "the server's CPU time could not be read"],
  ]);
}

async function measureIdle(
  loadgen: Loadgen,
  workload: Workload,
  server: Started,
  options: MeasureOptions,
): Promise<Measurement> {
  const pid = server.process.pid;
  await sleep(300); // let the fresh server settle
  const before = await rssKiB(pid);
  const load = startIdleLoad(loadgen, {
    address: server.address,
    mode: "idle",
    proto: loadProtocol(workload),
    conns: workload.conns,
    size: workload.size,
    seconds: options.idleHold,
  });
  try {
    const ready = await load.waitForLine(/^ready /, 120_000);
    // Sample until the RSS stops moving (the served connections settle into
    // their pending reads), within the hold.
    const holdEnds = Date.now() + options.idleHold * 1000 - 300;
    let after = await rssKiB(pid);
    while (Date.now() < holdEnds) {
      await sleep(250);
      const now = await rssKiB(pid);
      const settled = Math.abs(now - after) <= Math.max(64, now * 0.002);
      after = now;
      if (settled) break;
    }
    const report = await load.waitForLine(/^mode=/, (options.idleHold + 30) * 1000);
    const r = parseReport(report.input ?? "");
    const metrics = {
      kib_per_conn: (after - before) / workload.conns,
      rss_before_kib: before,
      rss_after_kib: after,
      conns: workload.conns,
      served: r.served,
      errors: r.errors,
      open_ms: parseReport(ready.input ?? "").open_ms,
    };
    return verdict(metrics, `${ready.input}\n${r.line}`, [
      [r.errors === 0, `${r.errors} error(s): ${errorKinds(r)}`],
      [r.served === workload.conns, `served ${r.served} of ${workload.conns}`],
    ]);
  } finally {
    await load.stop();
  }
}

function verdict(
  metrics: Record<string, number>,
  loadgen: string,
  checks: ReadonlyArray<[boolean, string]>,
): Measurement {
  const failed = checks.filter(([ok]) => !ok).map(([, why]) => why);
  return failed.length === 0
    ? { ok: true, metrics, loadgen }
    : { ok: false, error: failed.join("; "), metrics, loadgen };
}

function errorKinds(r: LoadResult): string {
  return Object.entries(r)
    .filter(([k, v]) => k.startsWith("err_") && v !== 0)
    .map(([k, v]) => `${v} ${k.slice(4)}`)
    .join(", ");
}

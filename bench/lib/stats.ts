/**
 * From runs to the summary: per workload and server, the median of each
 * figure over the rounds, and for the compared figures the median (and the
 * range) over the rounds of the ratio to the baseline server measured in the
 * same round. Servers alternate within every round, so slow drifts of the
 * machine (other load, thermal state) hit both sides of a ratio alike and
 * cancel; a per-round ratio is only formed when both runs succeeded.
 *
 * @module
 */
import { type MetricInfo, metricsOf, type Workload } from "./workloads.ts";

/** One server measured on one workload in one round. */
export interface RunRecord {
  readonly round: number;
  readonly workload: string;
  readonly server: string;
  readonly startedAt: string;
  readonly loadAvg?: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly metrics: Record<string, number>;
  readonly loadgen?: string;
}

/** A figure of one server on one workload. */
export interface Cell {
  /** Median over the successful rounds. */
  readonly median?: number;
  /** Median over the rounds of value / baseline's value in the same round. */
  readonly ratio?: number;
  /** Smallest and largest per-round ratio, when there are at least two. */
  readonly range?: readonly [number, number];
  /** Successful rounds. */
  readonly rounds: number;
}

/** One workload's figures for every server that ran it. */
export interface WorkloadSummary {
  readonly workload: string;
  readonly title: string;
  readonly baseline: string;
  readonly metrics: ReadonlyArray<MetricInfo>;
  readonly servers: ReadonlyArray<string>;
  readonly cells: Record<string, Record<string, Cell>>;
}

/** The median, or undefined for no values. */
export function median(xs: ReadonlyArray<number>): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The ratio server / baseline of `metric` in each round where both ran successfully. */
export function pairedRatios(
  runs: ReadonlyArray<RunRecord>,
  workload: string,
  metric: string,
  server: string,
  baseline: string,
): number[] {
  const value = (round: number, name: string) =>
    runs.find((r) => r.round === round && r.workload === workload && r.server === name && r.ok)
      ?.metrics[metric];
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const ratios: number[] = [];
  for (const round of rounds) {
    const x = value(round, server);
    const y = value(round, baseline);
    if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y > 0) {
      ratios.push(x / y);
    }
  }
  return ratios;
}

/** The summary of `runs`, workload by workload in the given order. */
export function summarize(
  runs: ReadonlyArray<RunRecord>,
  workloads: ReadonlyArray<Workload>,
  servers: ReadonlyArray<string>,
  baseline: string,
): WorkloadSummary[] {
  const summaries: WorkloadSummary[] = [];
  for (const workload of workloads) {
    const ran = servers.filter((s) =>
      runs.some((r) => r.workload === workload.name && r.server === s)
    );
    if (ran.length === 0) continue;
    const metrics = metricsOf(workload);
    const cells: Record<string, Record<string, Cell>> = {};
    for (const server of ran) {
      const ok = runs.filter((r) => r.workload === workload.name && r.server === server && r.ok);
      cells[server] = {};
      for (const metric of metrics) {
        const values = ok.map((r) => r.metrics[metric.key]).filter((v) => Number.isFinite(v));
        const ratios = pairedRatios(runs, workload.name, metric.key, server, baseline);
        cells[server][metric.key] = {
          median: median(values),
          ratio: median(ratios),
          range: ratios.length > 1 ? [Math.min(...ratios), Math.max(...ratios)] : undefined,
          rounds: ok.length,
        };
      }
    }
    summaries.push({
      workload: workload.name,
      title: workload.title,
      baseline,
      metrics,
      servers: ran,
      cells,
    });
  }
  return summaries;
}

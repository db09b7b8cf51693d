/**
 * A run's results: the JSON written beside its SVG chart (every run, with
 * its figures and loadgen's own report, so any table can be recomputed with
 * `--from`), and the text report printed at the end.
 *
 * @module
 */
import { renderChart } from "./chart.ts";
import type { Machine } from "./machine.ts";
import { type RunRecord, summarize, type WorkloadSummary } from "./stats.ts";
import { renderTables } from "./table.ts";
import { type Workload, WORKLOADS } from "./workloads.ts";

/** The JSON file. */
export interface Results {
  readonly benchmark: string;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly code: { readonly commit?: string; readonly uncommittedChanges?: boolean };
  readonly loadgen: { readonly source: string; readonly cc: string };
  readonly options: {
    readonly quick: boolean;
    readonly rounds: number;
    readonly seconds: number;
    readonly warmup: number;
    readonly idleConns: number;
    readonly idleHold: number;
    readonly transport: string;
    readonly workloads: ReadonlyArray<string>;
  };
  readonly baseline: string;
  readonly servers: ReadonlyArray<{ name: string; description: string; command: string }>;
  readonly packages: Record<string, Record<string, string>>;
  readonly notes: ReadonlyArray<string>;
  summary: WorkloadSummary[];
  readonly failedRuns: number;
  readonly runs: ReadonlyArray<RunRecord>;
}

/** The workloads of a run as it measured them (the idle count is an option). */
export function workloadsOf(names: ReadonlyArray<string>, idleConns: number): Workload[] {
  return WORKLOADS.filter((w) => names.includes(w.name)).map((w) =>
    w.mode === "idle"
      ? { ...w, conns: idleConns, title: `${idleConns.toLocaleString("en-US")} ${w.title}` }
      : w
  );
}

/** Recomputes the summary from the runs (as `--from` does after a change to the statistics). */
export function resummarize(results: Results): void {
  const workloads = workloadsOf(results.options.workloads, results.options.idleConns);
  const servers = results.servers.map((s) => s.name);
  results.summary = summarize(results.runs, workloads, servers, results.baseline);
}

/** The text report: a header, the tables, notes and failed runs. */
export function renderReport(results: Results): string {
  const m = results.machine;
  const o = results.options;
  const lines = [
    `@fibernet/socket benchmark — ${m.nproc} × ${m.cpu}, Deno ${m.deno}` +
    (m.node ? `, Node ${m.node}` : ""),
    `${o.rounds} round(s) × ${o.seconds} s (after ${o.warmup} s of warm-up), servers ` +
    `alternated in every round; ×${results.baseline} = median of the per-round ratios ` +
    `to ${results.baseline} (min–max)`,
    "",
    renderTables(results.summary),
  ];
  for (const note of results.notes) lines.push(`note: ${note}`);
  const failed = results.runs.filter((r) => !r.ok);
  if (failed.length > 0) {
    lines.push("", `${failed.length} run(s) failed (left out of the medians):`);
    for (const r of failed) lines.push(`  round ${r.round} ${r.workload} ${r.server}: ${r.error}`);
  }
  return lines.join("\n");
}

/** Writes `<dir>/<name>.json` and `<dir>/<name>.svg`; returns their paths. */
export async function writeResults(
  results: Results,
  dir: string,
  name: string,
): Promise<[string, string]> {
  await Deno.mkdir(dir, { recursive: true });
  const json = `${dir}/${name}.json`;
  const svg = `${dir}/${name}.svg`;
  await Deno.writeTextFile(json, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(svg, chartOf(results));
  return [json, svg];
}

/** Redraws the chart of a saved run beside it, and rewrites its summary. */
export async function rewriteFrom(path: string): Promise<Results> {
  const results = JSON.parse(await Deno.readTextFile(path)) as Results;
  resummarize(results);
  await Deno.writeTextFile(path, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(path.replace(/\.json$/, "") + ".svg", chartOf(results));
  return results;
}

function chartOf(results: Results): string {
  return renderChart(results.summary, {
    machine: results.machine,
    command: results.command,
    date: results.startedAt.slice(0, 10),
    rounds: results.options.rounds,
    seconds: results.options.seconds,
    warmup: results.options.warmup,
  });
}

/**
 * The text report: one table per workload, a row per server, a column per
 * figure, and for each compared figure its ratio to the baseline (median of
 * the per-round ratios, with their range).
 *
 * @module
 */
import { formatNumber, formatRatioRange } from "./format.ts";
import type { WorkloadSummary } from "./stats.ts";

/** The tables of every workload. */
export function renderTables(summaries: ReadonlyArray<WorkloadSummary>): string {
  return summaries.map(renderTable).join("\n\n");
}

function renderTable(summary: WorkloadSummary): string {
  const header = ["server"];
  for (const m of summary.metrics) {
    header.push(m.label);
    if (m.compared) header.push(`×${summary.baseline}`);
  }
  const rows = summary.servers.map((server) => {
    const row = [server];
    for (const m of summary.metrics) {
      const cell = summary.cells[server][m.key];
      row.push(formatNumber(cell.median));
      if (m.compared) row.push(formatRatioRange(cell.ratio, cell.range));
    }
    return row;
  });
  const lines = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const render = (l: string[]) =>
    l.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [
    `${summary.workload}: ${summary.title}`,
    render(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(render),
  ].join("\n");
}

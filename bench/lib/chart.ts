/**
 * The SVG chart of a run (no dependencies): for every workload a block with a
 * row per server and two panels, the headline figure (throughput, or memory
 * for idle) and the server CPU per request, each as the ratio to the baseline
 * on a log scale, so 2× better and 2× worse are the same length. Bars start
 * at 1× (the baseline); labels give the ratio and the median value.
 *
 * @module
 */
import { formatNumber, formatRatio } from "./format.ts";
import type { Machine } from "./machine.ts";
import type { WorkloadSummary } from "./stats.ts";

/** What the chart says about how the run was made. */
export interface ChartContext {
  readonly machine: Machine;
  readonly command: string;
  readonly date: string;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmup: number;
}

const COLORS: Record<string, string> = {
  "raw": "#8a8f98",
  "raw4k": "#b5b9c0",
  "node": "#6b8e23",
  "lib": "#2f6fdf",
  "lib-stream": "#6f9cf0",
  "lib-echo": "#1b4aa0",
  "lib4": "#16a085",
  "lib4-echo": "#0e6655",
  "effect3-node": "#c0392b",
  "effect4-node": "#e67e22",
  "effect4-deno": "#8e44ad",
};

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const W = 1120;
const NAME_RIGHT = 150; // right edge of the server names
// Each panel: the plot, then a column for the labels, so labels never cover bars.
const PANELS = [{ left: 160, width: 300 }, { left: 650, width: 300 }];
const LABEL_GAP = 8;
const SPAN = 4; // the axis runs from 2^-SPAN× to 2^SPAN×
const ROW = 16;

/** The chart of a summary. */
export function renderChart(summaries: ReadonlyArray<WorkloadSummary>, ctx: ChartContext): string {
  const parts: string[] = [];
  const top = 116;
  let y = top;
  for (const summary of summaries) {
    const [headline, ...rest] = summary.metrics.filter((m) => m.compared);
    const cpu = rest[0];
    parts.push(
      `<text x="16" y="${y + 13}" class="w">${esc(`${summary.workload}: ${summary.title}`)}</text>`,
    );
    const panelMetrics = [headline, cpu];
    panelMetrics.forEach((metric, i) => {
      if (metric === undefined) return;
      const p = PANELS[i];
      const note = `${metric.label}: ${metric.better} is better`;
      parts.push(
        `<text x="${p.left + p.width + LABEL_GAP}" y="${y + 13}" class="s">${esc(note)}</text>`,
      );
    });
    y += 20;
    for (const server of summary.servers) {
      parts.push(
        `<text x="${NAME_RIGHT}" y="${y + ROW - 4}" text-anchor="end" class="n">${
          esc(server)
        }</text>`,
      );
      panelMetrics.forEach((metric, i) => {
        if (metric === undefined) return;
        const cell = summary.cells[server][metric.key];
        parts.push(bar(PANELS[i], y, server, cell.ratio, cell.median, metric.label));
      });
      y += ROW;
    }
    y += 12;
  }
  const bottom = y - 8;
  const grid: string[] = [];
  for (const p of PANELS) {
    for (let e = -SPAN; e <= SPAN; e++) {
      const x = p.left + ((e + SPAN) / (2 * SPAN)) * p.width;
      const label = e >= 0 ? `${2 ** e}×` : `1/${2 ** -e}×`;
      grid.push(
        `<line x1="${x}" x2="${x}" y1="${top - 6}" y2="${bottom}" class="${
          e === 0 ? "one" : "g"
        }"/>`,
        `<text x="${x}" y="${top - 10}" text-anchor="middle" class="s">${label}</text>`,
      );
    }
  }
  const m = ctx.machine;
  const machine = `${m.nproc} × ${m.cpu}, Linux ${m.kernel}, Deno ${m.deno}` +
    (m.node ? `, Node ${m.node}` : "") + `; measured ${ctx.date}`;
  const method = `Each bar: the median over ${ctx.rounds} round(s) of the ratio to raw ` +
    `measured in the same round (servers alternated in every round); labels: that ratio and ` +
    `the median value. ${ctx.seconds} s per run after ${ctx.warmup} s of warm-up.`;
  const H = bottom + 56;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
<style>
.h{font-size:17px;font-weight:600;fill:#111}.w{font-size:13px;font-weight:600;fill:#111}
.s{font-size:11px;fill:#666}.n{font-size:11px;fill:#333;font-weight:600}
.v{font-size:10.5px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}
.f{font-size:11px;fill:#444}.g{stroke:#ececec;stroke-width:1}.one{stroke:#888;stroke-width:1.2}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="26" class="h">@fibernet/socket benchmark: each server as a ratio to raw Deno (log scale)</text>
<text x="16" y="46" class="s">${esc(method)}</text>
<text x="16" y="62" class="s">Left: requests/s, MB/s or connections/s (idle: RSS per connection). Right: server CPU time (utime+stime) per request or connection.</text>
<text x="16" y="78" class="s">Load: bench/loadgen.c (C, epoll, checks every reply byte) on the same machine; every server in its own process, started fresh for each run.</text>
${grid.join("\n")}
${parts.join("\n")}
<text x="16" y="${bottom + 24}" class="f">machine: ${esc(machine)}</text>
<text x="16" y="${bottom + 42}" class="f">reproduce: ${esc(ctx.command)}</text>
</svg>
`;
}

function bar(
  panel: { left: number; width: number },
  y: number,
  server: string,
  ratio: number | undefined,
  value: number | undefined,
  unit: string,
): string {
  const one = panel.left + panel.width / 2;
  const label = `<text x="${panel.left + panel.width + LABEL_GAP}" y="${y + ROW - 4}" class="v">${
    esc(`${formatRatio(ratio)}  (${formatNumber(value)} ${unit})`)
  }</text>`;
  if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return label;
  const e = Math.max(-SPAN, Math.min(SPAN, Math.log2(ratio)));
  const x = panel.left + ((e + SPAN) / (2 * SPAN)) * panel.width;
  const from = Math.min(x, one);
  const width = Math.max(1, Math.abs(x - one));
  const color = COLORS[server] ?? "#555";
  return `<rect x="${from.toFixed(1)}" y="${y + 2}" width="${width.toFixed(1)}" height="${
    ROW - 4
  }" fill="${color}"/>${label}`;
}

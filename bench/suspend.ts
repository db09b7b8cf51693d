/**
 * The cost of a fiber suspension, Effect 3 against Effect 4, on the same
 * core: runs `bench/suspend_effect3.ts` (the Effect 3 line, this project)
 * and `effect4/bench/suspend.ts` (the Effect 4 line) one after the other,
 * and prints one table. Effect 4 runs three times: as it is, with effect's
 * AsyncResources hidden (`off`), and counting them.
 *
 *   deno task bench:suspend
 *
 * @module
 */
import type { Figure } from "./lib/suspend.ts";

const root = new URL("../", import.meta.url);

const run = async (cwd: string, script: string, args: string[] = []) => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: new URL(cwd, root).pathname,
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(600_000),
  }).output();
  if (!out.success) throw new Error(`${cwd}${script} failed`);
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(text) as { line: string; figures: Figure[] };
};

const effect3 = await run("./", "bench/suspend_effect3.ts");
const effect4 = await run("effect4/", "bench/suspend.ts");
const effect4Off = await run("effect4/", "bench/suspend.ts", ["--async-hooks=off"]);
const counted = await run("effect4/", "bench/suspend.ts", ["--async-hooks=count"]);

const us = (figure: Figure | undefined) =>
  figure === undefined
    ? "–"
    : `${figure.medianUs.toFixed(2)} (${figure.rangeUs[0].toFixed(2)}–${
      figure.rangeUs[1].toFixed(2)
    }); CPU ${figure.cpuUs.toFixed(2)}`;
const find = (set: { figures: Figure[] }, name: string) => set.figures.find((f) => f.name === name);

const header = [
  "µs per operation: wall median (range) of 7 rounds; CPU median",
  effect3.line,
  effect4.line,
  effect4Off.line,
  "AsyncResources per op (Effect 4)",
];
const rows = effect3.figures.map((figure) => [
  figure.name,
  us(figure),
  us(find(effect4, figure.name)),
  us(find(effect4Off, figure.name)),
  (find(counted, figure.name)?.perOp?.asyncResources ?? 0).toFixed(3),
]);
const table = [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`);
console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, load ${
    Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
  }\n`,
);
console.log(table.join("\n"));

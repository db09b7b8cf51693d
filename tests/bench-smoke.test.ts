// A tiny run of the benchmark (`bench/run.ts --quick`) so that it cannot rot:
// every workload must run against the library's echo server and the raw Deno
// baseline, with every echoed byte checked by loadgen and no error. No timing
// or memory figure is asserted (they depend on the machine and its load), only
// that each one was measured.
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cc = Deno.env.get("CC") || "cc";

const hasCompiler: boolean = await (async () => {
  try {
    const out = await new Deno.Command(cc, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // not installed
  }
})();

interface Run {
  round: number;
  workload: string;
  server: string;
  ok: boolean;
  error?: string;
  metrics: Record<string, number>;
}

describe("benchmark", () => {
  it.skipIf(!hasCompiler)(
    `bench/run.ts --quick measures every workload${
      hasCompiler ? "" : ` (skipped: no C compiler "${cc}" to build loadgen)`
    }`,
    async () => {
      const out = await Deno.makeTempDir({ prefix: "fibernet-bench-" });
      try {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "bench/run.ts", "--quick", "--servers", "lib,raw", "--out", out],
          cwd: root,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // A bound on the whole run, so a hung server cannot hang the suite.
        const timer = setTimeout(() => child.kill("SIGKILL"), 200_000);
        const result = await child.output().finally(() => clearTimeout(timer));
        const dec = new TextDecoder();
        const log = `${dec.decode(result.stdout)}\n${dec.decode(result.stderr)}`;
        expect(result.code, log).toBe(0);

        const json = JSON.parse(await Deno.readTextFile(`${out}/quick.json`));
        const runs: Run[] = json.runs;
        const workloads: string[] = json.options.workloads;
        expect(workloads).toEqual(expect.arrayContaining(["echo64", "echo1m", "churn", "idle"]));
        for (const run of runs) {
          expect(run.ok, `${run.workload} ${run.server}: ${run.error}`).toBe(true);
          expect(run.metrics.errors, `${run.workload} ${run.server}`).toBe(0);
        }
        const metric = (workload: string, server: string, name: string): number => {
          const run = runs.find((r) => r.workload === workload && r.server === server);
          expect(run, `no ${workload} run of ${server}`).toBeDefined();
          return run!.metrics[name];
        };
        for (const server of ["lib", "raw"]) {
          expect(metric("echo64", server, "req_per_s")).toBeGreaterThan(0);
          expect(metric("echo64", server, "p50_us")).toBeGreaterThan(0);
          expect(metric("echo64", server, "p99_us")).toBeGreaterThan(0);
          expect(metric("echo1m", server, "mb_per_s")).toBeGreaterThan(0);
          expect(metric("churn", server, "conns_per_s")).toBeGreaterThan(0);
          const conns = metric("idle", server, "conns");
          expect(conns).toBeGreaterThan(0);
          expect(metric("idle", server, "served")).toBe(conns);
          expect(metric("idle", server, "rss_before_kib")).toBeGreaterThan(0);
          expect(metric("idle", server, "rss_after_kib")).toBeGreaterThan(0);
          expect(Number.isFinite(metric("idle", server, "kib_per_conn"))).toBe(true);
        }
        if (workloads.includes("reuseport")) {
          const procs: number = json.options.procs;
          expect(metric("reuseport", "lib", "req_per_s")).toBeGreaterThan(0);
          expect(metric("reuseport", `lib×${procs}`, "req_per_s")).toBeGreaterThan(0);
        }
        // The table and the chart are written too.
        expect(dec.decode(result.stdout)).toContain("lib/raw");
        const svg = await Deno.readTextFile(`${out}/quick.svg`);
        expect(svg.startsWith("<svg")).toBe(true);
        expect(svg).toContain("reproduce:");
      } finally {
        await Deno.remove(out, { recursive: true }).catch(() => {});
      }
    },
    240_000,
  );
});

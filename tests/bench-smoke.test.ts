// The benchmark cannot rot: `bench/run.ts --quick` must run every workload on
// every server that needs nothing outside the repository, with every reply
// byte checked by loadgen and no error, and report every figure. No timing or
// memory figure is asserted (they depend on the machine and its load), only
// that each was measured. The load generator itself is checked against
// servers that lie (stale, short or missing replies) and over ::1 and unix
// sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKLOADS } from "../bench/lib/workloads.ts";

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
const noCompiler = hasCompiler ? "" : ` (skipped: no C compiler "${cc}" to build bench/loadgen.c)`;

const hasIpv6: boolean = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false; // IPv6 is off
  }
})();

const decoder = new TextDecoder();
let tmp = "";
let loadgen = "";

beforeAll(async () => {
  tmp = await Deno.makeTempDir({ prefix: "fibernet-bench-test-" });
  if (!hasCompiler) return;
  loadgen = `${tmp}/loadgen`;
  const out = await new Deno.Command(cc, {
    args: ["-O2", "-Wall", "-o", loadgen, `${root}bench/loadgen.c`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`cc failed: ${decoder.decode(out.stderr)}`);
});

afterAll(async () => {
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
});

/** Runs a command, killed after `timeoutMs`; returns its exit code and output. */
async function run(cmd: string[], timeoutMs: number, cwd = root) {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Past the deadline: SIGTERM first, so bench/run.ts stops the servers it started.
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const term = setTimeout(() => kill("SIGTERM"), timeoutMs);
  const hard = setTimeout(() => kill("SIGKILL"), timeoutMs + 5000);
  const out = await child.output().finally(() => {
    clearTimeout(term);
    clearTimeout(hard);
  });
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs loadgen and parses its report line into numbers. */
async function load(args: string[]): Promise<Record<string, number>> {
  const out = await run([loadgen, ...args], 30_000);
  const line = out.stdout.split("\n").find((l) => l.startsWith("mode="));
  expect(line, `loadgen printed no report: ${out.stderr}`).toBeDefined();
  const report: Record<string, number> = {};
  for (const pair of line!.split(" ")) {
    const [key, value] = pair.split("=");
    if (Number.isFinite(Number(value))) report[key] = Number(value);
  }
  return report;
}

/** A TCP server on 127.0.0.1 whose connections `serve` handles; closed by the returned function. */
function lyingServer(serve: (conn: Deno.Conn) => Promise<void>): [string, () => void] {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      serve(conn).catch(() => {}).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // already closed
        }
      });
    }
  })().catch(() => {});
  const close = () => {
    listener.close();
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  return [`127.0.0.1:${listener.addr.port}`, close];
}

/** Reads until a whole line is in; the line with its "\n", or undefined at end of stream. */
async function readLine(conn: Deno.Conn): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(4096);
  let have = 0;
  while (true) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) return undefined;
    have += n;
    const nl = buf.subarray(0, have).indexOf(10);
    if (nl >= 0) return buf.slice(0, nl + 1);
  }
}

interface Run {
  round: number;
  workload: string;
  server: string;
  ok: boolean;
  error?: string;
  metrics: Record<string, number>;
}

const REPO_SERVERS = [
  "raw",
  "raw4k",
  "lib",
  "lib-traced",
  "lib-stream",
  "lib-echo",
  "lib4",
  "lib4-echo",
];
const SPEAKS: Record<string, string[]> = {
  raw: ["echo", "line", "lp"],
  raw4k: ["echo", "line", "lp"],
  lib: ["line", "lp"],
  "lib-traced": ["line", "lp"],
  "lib-stream": ["line", "lp"],
  "lib-echo": ["echo"],
  lib4: ["line", "lp"],
  "lib4-echo": ["echo"],
};

describe("benchmark", () => {
  it.skipIf(!hasCompiler)(
    `bench/run.ts --quick measures every workload on every server in the repository${noCompiler}`,
    async () => {
      const out = `${tmp}/quick`;
      const result = await run([
        Deno.execPath(),
        ...["run", "-A", "bench/run.ts", "--quick"],
        ...["--servers", REPO_SERVERS.join(","), "--out", out],
      ], 180_000); // about 30 s on a quiet two-core machine; a busy one can take twice as long
      const printed = `${result.stdout}\n${result.stderr}`;
      expect(result.code, printed).toBe(0);

      const json = JSON.parse(await Deno.readTextFile(`${out}/quick.json`));
      const workloads = WORKLOADS;
      expect(json.options.workloads).toEqual(workloads.map((w) => w.name));
      const runs: Run[] = json.runs;
      for (const r of runs) {
        expect(r.ok, `${r.workload} ${r.server}: ${r.error}`).toBe(true);
        expect(r.metrics.errors, `${r.workload} ${r.server}`).toBe(0);
      }
      for (const w of workloads) {
        for (const server of REPO_SERVERS.filter((s) => SPEAKS[s].includes(w.proto))) {
          const r = runs.find((x) => x.workload === w.name && x.server === server);
          expect(r, `no ${w.name} run of ${server}`).toBeDefined();
          const m = r!.metrics;
          const where = `${w.name} ${server}`;
          if (w.mode === "idle") {
            expect(m.served, where).toBe(m.conns);
            expect(m.rss_before_kib, where).toBeGreaterThan(0);
            expect(m.rss_after_kib, where).toBeGreaterThan(0);
            expect(Number.isFinite(m.kib_per_conn), where).toBe(true);
            continue;
          }
          const rate = w.mode === "churn" ? m.conns_per_s : m.req_per_s;
          const cpu = w.mode === "churn" ? m.cpu_us_per_conn : m.cpu_us_per_req;
          expect(rate, where).toBeGreaterThan(0);
          expect(m.p50_us, where).toBeGreaterThan(0);
          expect(m.p99_us, where).toBeGreaterThanOrEqual(m.p50_us);
          expect(cpu, where).toBeGreaterThan(0);
          if (w.mode === "rr") expect(m.mb_per_s, where).toBeGreaterThan(0);
        }
      }
      // The baseline's own ratio is 1 wherever there is one, and the report is written.
      for (const summary of json.summary) {
        for (const metric of summary.metrics.filter((m: { compared: boolean }) => m.compared)) {
          expect(summary.cells.raw[metric.key].ratio, summary.workload).toBe(1);
        }
      }
      expect(result.stdout).toContain("×raw");
      const svg = await Deno.readTextFile(`${out}/quick.svg`);
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain("reproduce:");
    },
    200_000,
  );

  it.skipIf(!hasCompiler)(
    `loadgen counts a server that replays a stale reply as an error${noCompiler}`,
    async () => {
      // Answers every line with the connection's first line.
      const [address, close] = lyingServer(async (conn) => {
        const first = await readLine(conn);
        if (first === undefined) return;
        await conn.write(first);
        while (await readLine(conn) !== undefined) await conn.write(first);
      });
      try {
        const r = await load(["-a", address, "-P", "line", "-c", "2", "-t", "0.3", "-T", "2000"]);
        expect(r.err_mismatch).toBeGreaterThan(0);
        expect(r.errors).toBe(r.err_mismatch);
      } finally {
        close();
      }
    },
    30_000,
  );

  it.skipIf(!hasCompiler)(
    `loadgen counts short and missing replies and refused connects as errors${noCompiler}`,
    async () => {
      // Half of each frame, then the end of the stream.
      const [short, closeShort] = lyingServer(async (conn) => {
        const buf = new Uint8Array(68);
        let have = 0;
        while (have < 68) {
          const n = await conn.read(buf.subarray(have));
          if (n === null) return;
          have += n;
        }
        await conn.write(buf.subarray(0, 34));
      });
      // Reads and never answers.
      const [silent, closeSilent] = lyingServer(async (conn) => {
        const buf = new Uint8Array(4096);
        while (await conn.read(buf) !== null) { /* swallow */ }
      });
      try {
        const cut = await load(["-a", short, "-P", "lp", "-c", "2", "-t", "0.3", "-T", "300"]);
        expect(cut.err_short).toBeGreaterThan(0);
        const none = await load(["-a", silent, "-P", "raw", "-c", "2", "-t", "0.3", "-T", "100"]);
        expect(none.err_timeout).toBeGreaterThan(0);
        expect(none.reqs).toBe(0);
      } finally {
        closeShort();
        closeSilent();
      }
      // Nobody listens: every connect fails.
      const spare = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = spare.addr.port;
      spare.close();
      const refused = await load(["-a", `127.0.0.1:${port}`, "-c", "2", "-t", "0.2", "-T", "300"]);
      expect(refused.err_connect).toBeGreaterThan(0);
    },
    30_000,
  );

  for (const transport of ["unix", "tcp6"] as const) {
    const skip = !hasCompiler || (transport === "tcp6" && !hasIpv6);
    const why = !hasCompiler ? noCompiler : skip ? " (skipped: IPv6 is off on this machine)" : "";
    it.skipIf(skip)(
      `loadgen drives the raw server over ${transport === "unix" ? "a unix socket" : "::1"}${why}`,
      async () => {
        const listen = transport === "unix"
          ? ["--unix", `${tmp}/raw.sock`]
          : ["--host", "::1", "--port", "0"];
        const server = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "bench/servers/raw.ts", "--proto", "lp", ...listen],
          cwd: root,
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).spawn();
        try {
          const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let printed = "";
          while (!printed.includes("\n")) {
            const next = await reader.read();
            if (next.done) break;
            printed += next.value;
          }
          reader.releaseLock();
          server.stdout.cancel().catch(() => {});
          const address = printed.match(/listening on (\S+)/)?.[1];
          expect(address, printed).toMatch(transport === "unix" ? /^unix:\// : /^\[::1\]:\d+$/);
          const r = await load(["-a", address!, "-P", "lp", "-c", "4", "-t", "0.3"]);
          expect(r.errors).toBe(0);
          expect(r.reqs).toBeGreaterThan(0);
          const idle = await load([
            "-a",
            address!,
            "-m",
            "idle",
            "-P",
            "lp",
            "-c",
            "50",
            "-t",
            "0.2",
          ]);
          expect(idle.served).toBe(50);
          expect(idle.errors).toBe(0);
        } finally {
          server.kill("SIGKILL");
          await server.status;
        }
      },
      30_000,
    );
  }
});

/**
 * The benchmark of @fibernet/socket (`deno task bench`).
 *
 * Starts each echo server in its own process, drives it with `loadgen` (an
 * independent epoll load generator in C, compiled here from
 * `../shared/bench/loadgen.c`, which checks every echoed byte), and alternates
 * the servers in every round so that machine noise cancels in the ratios.
 *
 * Servers: `lib` (this library's examples/echo.ts), `raw` (bench/raw_echo.ts,
 * plain Deno) and `node` (@effect/platform-node's NodeSocketServer, the official
 * Effect 3 reference; installed with npm into a temporary directory, skipped if
 * `node` or the install is missing).
 *
 * Workloads: `echo64` (64 B echo over 16 connections: requests/s, p50, p99),
 * `echo1m` (1 MiB echo over 4 connections: MB/s), `churn` (connect, echo 64 B,
 * close: connections/s), `idle` (10 000 idle connections: server RSS per
 * connection) and `reuseport` (the library's echo in one process vs N
 * processes sharing the port with `reusePort`).
 *
 *   deno task bench                       # 5 rounds of 5 s, all workloads
 *   deno task bench --quick               # smoke: 1 round of 1 s, 200 idle conns
 *   deno task bench --rounds 3 --seconds 5 --only echo64,churn --servers lib,raw
 *
 * Writes bench/results/latest.json (every run) and bench/results/latest.svg (a
 * chart for the README); `--quick` writes quick.json / quick.svg instead.
 *
 * Environment: `CC` (C compiler, default `cc`), `FIBERNET_LOADGEN_SRC` (path to
 * loadgen.c when `../shared/bench/loadgen.c` is not beside the repository),
 * `FIBERNET_BENCH_NODE_DIR` (where npm installs the Node reference server).
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Options

const WORKLOADS = ["echo64", "echo1m", "churn", "idle", "reuseport"] as const;
type Workload = typeof WORKLOADS[number];
const SERVERS = ["lib", "raw", "node"] as const;
type ServerName = typeof SERVERS[number];

interface Options {
  quick: boolean;
  rounds: number;
  seconds: number;
  warmup: number;
  idleConns: number;
  idleHold: number;
  procs: number;
  only: Workload[];
  servers: ServerName[];
  libScript: string;
  outDir: string;
  name: string;
  from?: string;
  profile?: string;
  args: string[];
}

const USAGE = `usage: deno task bench [options]
  --quick              smoke run: 1 round, 1-second workloads, 200 idle connections
  --rounds N           rounds (each runs every server once per workload; default 5)
  --seconds S          seconds per measured run (integer, default 5)
  --warmup S           seconds of unmeasured load before each run (default 1; 0 with --quick)
  --only a,b           workloads: ${WORKLOADS.join(", ")} (default all)
  --servers a,b        servers: ${SERVERS.join(", ")} (default all; node skipped if unavailable)
  --idle-conns N       connections held open by the idle workload (default 10000)
  --idle-hold S        seconds the idle connections are held (default 20; 4 with --quick)
  --procs N            processes for the reuseport workload (default: number of CPUs)
  --lib-script PATH    the library's echo server (default examples/echo.ts)
  --out DIR            where the JSON and SVG go (default bench/results)
  --name NAME          file name stem (default latest; quick with --quick)
  --from FILE.json     measure nothing: print the table of a saved run and redraw its SVG
  --profile DIR        run the Deno servers with --cpu-prof, writing a .cpuprofile per run to DIR`;

function parseOptions(argv: string[]): Options {
  const get = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) fail(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const int = (s: string, flag: string, min: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) fail(`${flag} must be an integer ≥ ${min}, got ${s}`);
    return n;
  };
  const list = <T extends string>(s: string, all: readonly T[], flag: string): T[] => {
    const items = s.split(",").map((x) => x.trim()).filter((x) => x !== "");
    for (const x of items) {
      if (!all.includes(x as T)) fail(`${flag}: unknown "${x}" (one of ${all.join(", ")})`);
    }
    return items as T[];
  };
  const quick = argv.includes("--quick");
  const o: Options = {
    quick,
    rounds: quick ? 1 : 5,
    seconds: quick ? 1 : 5,
    warmup: quick ? 0 : 1,
    idleConns: quick ? 200 : 10_000,
    idleHold: quick ? 4 : 20,
    procs: Math.max(2, navigator.hardwareConcurrency || 2),
    only: [...WORKLOADS],
    servers: [...SERVERS],
    libScript: "examples/echo.ts",
    outDir: "bench/results",
    name: quick ? "quick" : "latest",
    args: argv,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--quick":
        break;
      case "--rounds":
        o.rounds = int(get(i++, a), a, 1);
        break;
      case "--seconds":
        o.seconds = int(get(i++, a), a, 1);
        break;
      case "--warmup":
        o.warmup = int(get(i++, a), a, 0);
        break;
      case "--only":
        o.only = list(get(i++, a), WORKLOADS, a);
        break;
      case "--servers":
        o.servers = list(get(i++, a), SERVERS, a);
        break;
      case "--idle-conns":
        o.idleConns = int(get(i++, a), a, 1);
        break;
      case "--idle-hold":
        o.idleHold = int(get(i++, a), a, 2);
        break;
      case "--procs":
        o.procs = int(get(i++, a), a, 2);
        break;
      case "--lib-script":
        o.libScript = get(i++, a);
        break;
      case "--out":
        o.outDir = get(i++, a);
        break;
      case "--name":
        o.name = get(i++, a);
        break;
      case "--from":
        o.from = get(i++, a);
        break;
      case "--profile":
        o.profile = get(i++, a);
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        fail(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  Deno.exit(2);
}

// ---------------------------------------------------------------------------
// Small helpers

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (msg: string) => console.error(`[bench] ${msg}`);

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const abs = (path: string) => path.startsWith("/") ? path : `${ROOT}/${path}`;
/** A path as seen from the repository root, for the JSON. */
const rel = (path: string) => {
  const parent = ROOT.slice(0, ROOT.lastIndexOf("/"));
  if (path.startsWith(`${ROOT}/`)) return path.slice(ROOT.length + 1);
  if (path.startsWith(`${parent}/`)) return `../${path.slice(parent.length + 1)}`;
  return path;
};

/** Runs a command to completion, with a time bound. */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, opts.timeoutMs ?? 120_000);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

/** Every child still running, killed if the benchmark is interrupted. */
const live = new Set<Deno.ChildProcess>();
const killAll = () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
};
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    killAll();
    Deno.exit(130);
  });
}

/** Wraps a command so it runs with the open-files limit raised to the hard limit. */
const withUlimit = (cmd: string[]): [string, string[]] => [
  "sh",
  ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...cmd],
];

// ---------------------------------------------------------------------------
// /proc readings

async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

async function fdCount(pid: number): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
  return n;
}

async function loadAvg(): Promise<number | undefined> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return undefined;
  }
}

interface Machine {
  nproc: number;
  cpu: string;
  memTotalMiB?: number;
  os: string;
  kernel: string;
  deno: string;
  v8: string;
  node?: string;
  cc?: string;
}

async function machine(): Promise<Machine> {
  let cpu = "unknown";
  let memTotalMiB: number | undefined;
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  try {
    const mem = await Deno.readTextFile("/proc/meminfo");
    const kb = mem.match(/^MemTotal:\s+(\d+)/m)?.[1];
    if (kb) memTotalMiB = Math.round(Number(kb) / 1024);
  } catch {
    // not Linux
  }
  return {
    nproc: navigator.hardwareConcurrency,
    cpu,
    memTotalMiB,
    os: Deno.build.os,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

// ---------------------------------------------------------------------------
// loadgen

async function buildLoadgen(): Promise<{ bin: string; src: string; cc: string }> {
  const candidates: string[] = [];
  const fromEnv = Deno.env.get("FIBERNET_LOADGEN_SRC");
  if (fromEnv) candidates.push(fromEnv);
  candidates.push(`${ROOT}/../shared/bench/loadgen.c`);
  let src: string | undefined;
  for (const c of candidates) {
    if (await exists(c)) {
      src = await Deno.realPath(c);
      break;
    }
  }
  if (src === undefined) {
    fail(
      `loadgen.c not found (looked at ${candidates.join(", ")}). The benchmark's load ` +
        `generator lives in shared/bench/loadgen.c beside the repository; set ` +
        `FIBERNET_LOADGEN_SRC=/path/to/loadgen.c to use another copy.`,
    );
  }
  const cc = Deno.env.get("CC") || "cc";
  const bin = `${ROOT}/bench/loadgen`;
  const tmp = `${bin}.${Deno.pid}.tmp`;
  let out;
  try {
    out = await run(cc, ["-O2", "-o", tmp, src], { timeoutMs: 60_000 });
  } catch (error) {
    fail(`cannot run the C compiler "${cc}" (${error}); install one (e.g. gcc) or set CC`);
  }
  if (out.code !== 0) fail(`compiling ${src} failed:\n${out.stderr}`);
  await Deno.rename(tmp, bin); // atomic: concurrent benchmark runs never see half a binary
  const version = await run(cc, ["--version"]).catch(() => undefined);
  return { bin, src, cc: version?.stdout.split("\n")[0] ?? cc };
}

type LoadgenResult = Record<string, number | string>;

function parseLoadgen(stdout: string): LoadgenResult | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith("mode="));
  if (line === undefined) return undefined;
  const r: LoadgenResult = { line };
  for (const kv of line.split(" ")) {
    const [k, v] = kv.split("=");
    if (k === undefined || v === undefined) continue;
    r[k] = k === "mode" ? v : Number(v);
  }
  return r;
}

interface LoadgenArgs {
  port: number;
  conns: number;
  size: number;
  seconds: number;
  mode: "echo" | "churn" | "idle";
}

function loadgenCommand(bin: string, a: LoadgenArgs): [string, string[]] {
  return withUlimit([
    bin,
    "-h",
    "127.0.0.1",
    "-p",
    String(a.port),
    "-c",
    String(a.conns),
    "-s",
    String(a.size),
    "-t",
    String(a.seconds),
    "-m",
    a.mode,
  ]);
}

async function loadgen(bin: string, a: LoadgenArgs): Promise<LoadgenResult> {
  const [cmd, args] = loadgenCommand(bin, a);
  const out = await run(cmd, args, { timeoutMs: (a.seconds + 60) * 1000 });
  const r = parseLoadgen(out.stdout);
  if (r === undefined) {
    throw new Error(`loadgen printed no result (exit ${out.code}): ${out.stderr.trim()}`);
  }
  return r;
}

// ---------------------------------------------------------------------------
// Server processes

interface ServerSpec {
  name: string;
  cmd: string[];
  cwd?: string;
}

class ServerProc {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  port = 0;
  private tail = "";
  private exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(readonly spec: ServerSpec) {
    const [cmd, args] = withUlimit(spec.cmd);
    this.child = new Deno.Command(cmd, {
      args,
      cwd: spec.cwd ?? ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(this.child);
    this.pid = this.child.pid;
    this.status = this.child.status.then((s) => {
      this.exited = true;
      live.delete(this.child);
      return s;
    });
    this.drain(this.child.stderr);
  }

  private remember(text: string) {
    this.tail = (this.tail + text).slice(-4000);
  }

  private async drain(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    try {
      for await (const chunk of stream) this.remember(dec.decode(chunk, { stream: true }));
    } catch {
      // process gone
    }
  }

  /** Waits for `listening on HOST:PORT` on stdout, then keeps draining it. */
  async ready(timeoutMs = 90_000): Promise<void> {
    const reader = this.child.stdout.getReader();
    const dec = new TextDecoder();
    let text = "";
    const deadline = Date.now() + timeoutMs;
    const re = /listening on (?:\[([^\]]+)\]|([^\s:]+)):(\d+)/;
    while (true) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.spec.name}: no ready line in ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        reader.read(),
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (next === "timeout") continue;
      if (next.done) {
        await this.status;
        throw new Error(
          `${this.spec.name} exited before it was ready: ${this.spec.cmd.join(" ")}\n${
            (text + this.tail).trim()
          }`,
        );
      }
      text += dec.decode(next.value, { stream: true });
      const m = text.match(re);
      if (m) {
        this.port = Number(m[3]);
        this.remember(text);
        (async () => {
          try {
            while (!(await reader.read()).done) { /* drain */ }
          } catch {
            // process gone
          }
        })();
        return;
      }
    }
  }

  get alive(): boolean {
    return !this.exited;
  }

  output(): string {
    return this.tail.trim();
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      // SIGINT: every server exits cleanly on it (and Deno writes --cpu-prof profiles).
      this.child.kill("SIGINT");
    } catch {
      // gone
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 3000);
    await this.status;
    clearTimeout(timer);
  }
}

async function startServer(spec: ServerSpec): Promise<ServerProc> {
  const p = new ServerProc(spec);
  try {
    await p.ready();
  } catch (error) {
    await p.stop();
    throw error;
  }
  return p;
}

/** A free TCP port on 127.0.0.1 (for the reusePort servers, which must share one). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// ---------------------------------------------------------------------------
// The Node reference server

const NODE_DEPS = {
  "effect": "~3.22.4",
  "@effect/platform": "~0.97.2",
  "@effect/platform-node": "~0.108.2",
};

async function prepareNode(notes: string[]): Promise<{ dir: string; version: string } | undefined> {
  const version = await run("node", ["--version"]).catch(() => undefined);
  if (version === undefined || version.code !== 0) {
    notes.push("node: not installed, NodeSocketServer reference skipped");
    return undefined;
  }
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const dir = Deno.env.get("FIBERNET_BENCH_NODE_DIR") || `${tmp}/fibernet-bench-node`;
  await Deno.mkdir(dir, { recursive: true });
  const pkg = JSON.stringify(
    { private: true, type: "module", dependencies: NODE_DEPS },
    null,
    2,
  ) + "\n";
  const pkgPath = `${dir}/package.json`;
  const current = await Deno.readTextFile(pkgPath).catch(() => "");
  const installed = await exists(`${dir}/node_modules/@effect/platform-node/package.json`);
  if (current !== pkg || !installed) {
    await Deno.writeTextFile(pkgPath, pkg);
    log(`npm install of the NodeSocketServer reference into ${dir}`);
    const out = await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--legacy-peer-deps", "--loglevel=error"],
      { cwd: dir, timeoutMs: 300_000 },
    ).catch((error) => ({ code: -1, stdout: "", stderr: String(error) }));
    if (out.code !== 0) {
      notes.push(
        `node: npm install of ${Object.keys(NODE_DEPS).join(", ")} failed, reference skipped ` +
          `(${out.stderr.trim().split("\n").slice(-2).join(" ")})`,
      );
      return undefined;
    }
  }
  await Deno.copyFile(`${ROOT}/bench/node/node_echo.mjs`, `${dir}/node_echo.mjs`);
  return { dir, version: version.stdout.trim() };
}

// ---------------------------------------------------------------------------
// Runs

type Metrics = Record<string, number>;

interface RunRecord {
  round: number;
  workload: Workload;
  server: string;
  processes: number;
  startedAt: string;
  loadAvg?: number;
  ok: boolean;
  error?: string;
  metrics: Metrics;
  loadgen?: LoadgenResult;
  warmupErrors?: number;
}

const WORKLOAD_INFO: Record<
  Workload,
  { title: string; conns?: number; size?: number; mode?: "echo" | "churn" }
> = {
  echo64: { title: "64 B echo, 16 conns", conns: 16, size: 64, mode: "echo" },
  echo1m: { title: "1 MiB echo, 4 conns", conns: 4, size: 1 << 20, mode: "echo" },
  churn: { title: "connect-echo-close churn, 16 slots", conns: 16, size: 64, mode: "churn" },
  idle: { title: "idle connections" },
  reuseport: { title: "reusePort scaling, 64 B echo, 32 conns", conns: 32, size: 64, mode: "echo" },
};

function metricsOf(workload: Workload, r: LoadgenResult): Metrics {
  const n = (k: string) => Number(r[k] ?? 0);
  switch (workload) {
    case "echo1m":
      return { mb_per_s: n("mb_per_s"), req_per_s: n("req_per_s"), p99_us: n("p99_us") };
    case "churn":
      return { conns_per_s: n("req_per_s"), p50_us: n("p50_us"), p99_us: n("p99_us") };
    default:
      return { req_per_s: n("req_per_s"), p50_us: n("p50_us"), p99_us: n("p99_us") };
  }
}

async function loadRun(
  o: Options,
  bin: string,
  workload: Workload,
  port: number,
  rec: RunRecord,
): Promise<void> {
  const info = WORKLOAD_INFO[workload];
  const base = { port, conns: info.conns!, size: info.size!, mode: info.mode! };
  if (o.warmup > 0) {
    const w = await loadgen(bin, { ...base, seconds: o.warmup });
    rec.warmupErrors = Number(w.errors ?? 0);
  }
  const r = await loadgen(bin, { ...base, seconds: o.seconds });
  rec.loadgen = r;
  rec.metrics = metricsOf(workload, r);
  rec.metrics.errors = Number(r.errors ?? 0);
  rec.ok = rec.metrics.errors === 0 && (rec.warmupErrors ?? 0) === 0 &&
    Number(r.reqs ?? 0) > 0;
  if (!rec.ok) rec.error = `loadgen: ${r.line}`;
}

/** Idle connections are opened in batches no larger than the listen backlog (511). */
const IDLE_BATCH = 500;

async function idleRun(o: Options, bin: string, server: ServerProc, rec: RunRecord) {
  const n = o.idleConns;
  await sleep(300);
  const fdsBefore = await fdCount(server.pid);
  const before = await rssKiB(server.pid);
  // Opening 10 000 connections at once overflows the accept queue and the
  // dropped handshakes take seconds of SYN retries; batches of at most one
  // backlog, each started once the previous one is accepted, take about a second.
  // Every batch holds its connections for `idleHold` seconds from its start.
  const t0 = Date.now();
  const deadline = t0 + o.idleHold * 1000 - 700;
  const batches: Promise<{ code: number; stdout: string; stderr: string }>[] = [];
  let accepted = 0;
  for (let opened = 0; opened < n;) {
    const size = Math.min(IDLE_BATCH, n - opened);
    const [cmd, args] = loadgenCommand(bin, {
      port: server.port,
      conns: size,
      size: 64,
      seconds: o.idleHold,
      mode: "idle",
    });
    batches.push(run(cmd, args, { timeoutMs: (o.idleHold + 60) * 1000 }));
    opened += size;
    const batchDeadline = Math.min(deadline, Date.now() + 5000);
    while (Date.now() < batchDeadline) {
      accepted = (await fdCount(server.pid)) - fdsBefore;
      if (accepted >= opened) break;
      await sleep(20);
    }
  }
  while (accepted < n && Date.now() < deadline) {
    await sleep(100);
    accepted = (await fdCount(server.pid)) - fdsBefore;
  }
  const acceptMs = Date.now() - t0;
  // Let the served connections settle into their pending reads.
  let after = await rssKiB(server.pid);
  let stable = false;
  while (Date.now() < deadline) {
    await sleep(300);
    const now = await rssKiB(server.pid);
    const settled = Math.abs(now - after) <= Math.max(128, now * 0.002);
    after = now;
    if (settled && accepted >= n) {
      stable = true;
      break;
    }
  }
  const results = (await Promise.all(batches)).map((out) => {
    const r = parseLoadgen(out.stdout);
    if (r === undefined) throw new Error(`idle loadgen printed no result: ${out.stderr.trim()}`);
    return r;
  });
  const sum = (k: string) => results.reduce((acc, r) => acc + Number(r[k] ?? 0), 0);
  const served = sum("reqs");
  const errors = sum("errors");
  rec.loadgen = {
    mode: "idle",
    batches: results.length,
    conns: sum("conns"),
    reqs: served,
    errors,
    line: results.map((r) => r.line).join("\n"),
  };
  rec.metrics = {
    kib_per_conn: (after - before) / n,
    rss_before_kib: before,
    rss_after_kib: after,
    conns: n,
    accepted,
    served,
    accept_ms: acceptMs,
    errors,
  };
  rec.metrics.rss_stable = stable ? 1 : 0;
  rec.ok = errors === 0 && accepted >= n && served >= n;
  if (!rec.ok) {
    rec.error = `idle: accepted ${accepted}/${n}, served ${served}/${n} before the hold ` +
      `ended, ${errors} loadgen errors`;
  }
}

// ---------------------------------------------------------------------------
// Summary

interface Row {
  workload: Workload;
  metric: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  medians: Record<string, number | undefined>;
  /** median over rounds of the paired ratio server / baseline */
  ratios: Record<string, number | undefined>;
  /** smallest and largest paired ratio over the rounds */
  ranges: Record<string, [number, number] | undefined>;
  baseline: string;
  target?: { server: string; vs: string; op: ">=" | "<="; value: number; text: string };
  targetMet?: boolean;
  targetValue?: number;
}

function pairedRatio(
  runs: RunRecord[],
  workload: Workload,
  metric: string,
  a: string,
  b: string,
): number | undefined {
  return median(pairedRatios(runs, workload, metric, a, b));
}

/** The ratio a / b of each round in which both ran. */
function pairedRatios(
  runs: RunRecord[],
  workload: Workload,
  metric: string,
  a: string,
  b: string,
): number[] {
  const rounds = new Set(runs.map((r) => r.round));
  const ratios: number[] = [];
  for (const round of rounds) {
    const ra = runs.find((r) =>
      r.round === round && r.workload === workload && r.server === a && r.ok
    );
    const rb = runs.find((r) =>
      r.round === round && r.workload === workload && r.server === b && r.ok
    );
    const x = ra?.metrics[metric];
    const y = rb?.metrics[metric];
    if (x !== undefined && y !== undefined && y !== 0) ratios.push(x / y);
  }
  return ratios;
}

function summarize(runs: RunRecord[], servers: string[], procs: number): Row[] {
  const rows: Row[] = [];
  const add = (
    workload: Workload,
    metric: string,
    label: string,
    unit: string,
    better: "higher" | "lower",
    rowServers: string[],
    baseline: string,
    target?: Row["target"],
  ) => {
    if (!runs.some((r) => r.workload === workload)) return;
    const medians: Row["medians"] = {};
    const ratios: Row["ratios"] = {};
    const ranges: Row["ranges"] = {};
    for (const s of rowServers) {
      medians[s] = median(
        runs.filter((r) => r.workload === workload && r.server === s && r.ok).map((r) =>
          r.metrics[metric]
        ).filter((x) => x !== undefined),
      );
      const all = pairedRatios(runs, workload, metric, s, baseline);
      ratios[s] = median(all);
      ranges[s] = all.length > 1 ? [Math.min(...all), Math.max(...all)] : undefined;
    }
    const row: Row = {
      workload,
      metric,
      label,
      unit,
      better,
      medians,
      ratios,
      ranges,
      baseline,
      target,
    };
    if (target) {
      const v = target.vs === "abs"
        ? medians[target.server]
        : pairedRatio(runs, workload, metric, target.server, target.vs);
      row.targetValue = v;
      if (v !== undefined) {
        row.targetMet = target.op === ">=" ? v >= target.value : v <= target.value;
      }
    }
    rows.push(row);
  };
  const cols = ["lib", "raw", "node"].filter((s) => servers.includes(s));
  add("echo64", "req_per_s", "64 B echo ×16", "req/s", "higher", cols, "raw", {
    server: "lib",
    vs: "raw",
    op: ">=",
    value: 0.9,
    text: "≥ 0.90× raw",
  });
  add("echo64", "p50_us", "64 B echo ×16", "p50 µs", "lower", cols, "raw");
  add("echo64", "p99_us", "64 B echo ×16", "p99 µs", "lower", cols, "raw", {
    server: "lib",
    vs: "raw",
    op: "<=",
    value: 1.2,
    text: "≤ 1.2× raw",
  });
  add("echo1m", "mb_per_s", "1 MiB echo ×4", "MB/s", "higher", cols, "raw", {
    server: "lib",
    vs: "raw",
    op: ">=",
    value: 0.95,
    text: "≥ 0.95× raw",
  });
  add("churn", "conns_per_s", "churn ×16", "conns/s", "higher", cols, "raw", {
    server: "lib",
    vs: "raw",
    op: ">=",
    value: 0.85,
    text: "≥ 0.85× raw",
  });
  add("idle", "kib_per_conn", "idle conns", "KiB/conn", "lower", cols, "raw", {
    server: "lib",
    vs: "abs",
    op: "<=",
    value: 8,
    text: "≤ 8 KiB",
  });
  if (servers.includes("node")) {
    add(
      "echo64",
      "req_per_s",
      "64 B echo ×16 vs Node",
      "req/s",
      "higher",
      ["lib", "node"],
      "node",
      {
        server: "lib",
        vs: "node",
        op: ">=",
        value: 2,
        text: "≥ 2× node",
      },
    );
  }
  add(
    "reuseport",
    "req_per_s",
    `reusePort ×${procs} vs ×1`,
    "req/s",
    "higher",
    ["lib", `lib×${procs}`],
    "lib",
  );
  return rows;
}

const fmtNum = (x: number | undefined, unit = ""): string => {
  if (x === undefined || !Number.isFinite(x)) return "—";
  const digits = Number.isInteger(x) || Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  const s = x.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
  return unit ? `${s} ${unit}` : s;
};
const fmtRatio = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "—" : `${x.toFixed(2)}×`;
const fmtRange = (x: number | undefined, range: [number, number] | undefined) =>
  range === undefined
    ? fmtRatio(x)
    : `${fmtRatio(x)} (${range[0].toFixed(2)}–${range[1].toFixed(2)})`;

function table(rows: Row[], servers: string[], procs: number): string {
  const cols = ["lib", "raw", "node"].filter((s) => servers.includes(s));
  const header = [
    "workload",
    "metric",
    ...cols.map((c) => `${c} (median)`),
    ...cols.filter((c) => c !== "raw").map((c) => `${c}/raw (min–max)`),
    "target",
    "",
  ];
  const lines: string[][] = [header];
  for (const row of rows) {
    if (row.workload === "reuseport" || row.baseline === "node") continue;
    lines.push([
      row.label,
      row.unit,
      ...cols.map((c) => fmtNum(row.medians[c])),
      ...cols.filter((c) => c !== "raw").map((c) => fmtRange(row.ratios[c], row.ranges[c])),
      row.target ? row.target.text : "",
      row.target ? (row.targetMet === undefined ? "?" : row.targetMet ? "ok" : "MISSED") : "",
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  const render = (l: string[]) =>
    l.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd();
  const out = [
    render(lines[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.slice(1).map(render),
  ];
  for (const row of rows) {
    if (row.baseline === "node") {
      out.push(
        `lib vs NodeSocketServer, 64 B echo req/s: ${fmtRange(row.targetValue, row.ranges.lib)} ` +
          `(target ≥ 2×: ${row.targetMet === undefined ? "?" : row.targetMet ? "ok" : "MISSED"})`,
      );
    }
    if (row.workload === "reuseport") {
      out.push(
        `reusePort, 64 B echo ×32 req/s: 1 process ${fmtNum(row.medians.lib)}, ` +
          `${procs} processes ${fmtNum(row.medians[`lib×${procs}`])} ` +
          `(${fmtRange(row.ratios[`lib×${procs}`], row.ranges[`lib×${procs}`])})`,
      );
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// SVG chart (no dependencies)

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const COLORS: Record<string, string> = {
  lib: "#2f6fdf",
  raw: "#8a8f98",
  node: "#3c9a4a",
};

/** A long label for each summary row of the chart. */
const CHART_LABEL: Record<string, string> = {
  "echo64/req_per_s": "64 B echo, 16 conns: requests/s",
  "echo64/p99_us": "64 B echo, 16 conns: p99 latency",
  "echo1m/mb_per_s": "1 MiB echo, 4 conns: MB/s",
  "churn/conns_per_s": "connect–echo–close: conns/s",
  "idle/kib_per_conn": "idle connections: KiB each",
};

function svgChart(
  rows: Row[],
  servers: string[],
  procs: number,
  m: Machine,
  o: Options,
  command: string,
  date: string,
): string {
  const chartRows = rows.filter((r) => r.metric !== "p50_us" && r.baseline !== "node");
  const W = 980;
  const nameX = 318; // right edge of the server names
  const left = 326; // the plot's 0×
  const right = 200; // room for the value labels
  const barH = 16;
  const gap = 4;
  const rowGap = 20;
  const top = 100;
  const plotW = W - left - right;
  let maxRatio = 1.25;
  for (const r of chartRows) {
    for (const v of Object.values(r.ratios)) {
      if (v !== undefined && v <= 3) maxRatio = Math.max(maxRatio, v);
    }
    if (r.target && r.target.vs !== "abs") maxRatio = Math.max(maxRatio, r.target.value);
  }
  maxRatio = Math.min(3, Math.ceil(maxRatio * 4) / 4);
  const x = (ratio: number) => left + Math.min(ratio, maxRatio) / maxRatio * plotW;
  const parts: string[] = [];
  let y = top;
  for (const r of chartRows) {
    const bars = r.workload === "reuseport"
      ? ["lib", `lib×${procs}`]
      : ["lib", "node", "raw"].filter((s) => servers.includes(s));
    const h = bars.length * (barH + gap) - gap;
    const better = r.better === "higher" ? "higher is better" : "lower is better";
    const label = r.workload === "reuseport"
      ? `reusePort, ${procs} processes vs 1: req/s`
      : CHART_LABEL[`${r.workload}/${r.metric}`] ?? `${r.label}, ${r.unit}`;
    parts.push(
      `<text x="16" y="${y + h / 2 - 2}" class="l">${esc(label)}</text>`,
      `<text x="16" y="${y + h / 2 + 13}" class="s">${better}${
        r.target ? `; target ${esc(r.target.text)}` : ""
      }</text>`,
    );
    bars.forEach((s, i) => {
      const by = y + i * (barH + gap);
      const ratio = r.ratios[s];
      const value = r.medians[s];
      const color = COLORS[s] ?? "#1b4aa0";
      const has = ratio !== undefined && Number.isFinite(ratio);
      if (has) {
        parts.push(
          `<rect x="${left}" y="${by}" width="${
            (x(ratio) - left).toFixed(1)
          }" height="${barH}" fill="${color}"/>`,
        );
        if (ratio > maxRatio) {
          // Clipped: mark the break.
          parts.push(
            `<path d="M${x(maxRatio) - 9} ${by - 1}l6 ${barH + 2}M${x(maxRatio) - 4} ${by - 1}l6 ${
              barH + 2
            }" class="brk"/>`,
          );
        }
      }
      const name = s === "lib" && r.workload === "reuseport" ? "lib ×1" : s.replace("×", " ×");
      parts.push(
        `<text x="${nameX}" y="${by + barH - 4}" text-anchor="end" class="n">${esc(name)}</text>`,
        `<text x="${(has ? x(ratio) : left) + 6}" y="${by + barH - 4}" class="v">${
          esc(fmtRatio(ratio))
        }  (${esc(fmtNum(value, r.unit))})</text>`,
      );
    });
    // The target, drawn as a ratio to the baseline.
    let targetRatio: number | undefined;
    if (r.target?.vs === "raw") targetRatio = r.target.value;
    if (r.target?.vs === "abs" && r.medians.raw) targetRatio = r.target.value / r.medians.raw;
    if (targetRatio !== undefined && Number.isFinite(targetRatio) && targetRatio <= maxRatio) {
      parts.push(
        `<line x1="${x(targetRatio).toFixed(1)}" x2="${x(targetRatio).toFixed(1)}" y1="${
          y - 4
        }" y2="${y + h + 4}" class="t"/>`,
      );
    }
    y += h + rowGap;
  }
  const axisY = y - rowGap + 8;
  const ticks: string[] = [];
  const step = maxRatio > 2 ? 0.5 : 0.25;
  for (let t = 0; t <= maxRatio + 1e-9; t += step) {
    ticks.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top - 8}" y2="${axisY}" class="${
        Math.abs(t - 1) < 1e-9 ? "one" : "g"
      }"/>`,
      `<text x="${x(t).toFixed(1)}" y="${axisY + 14}" text-anchor="middle" class="s">${
        t.toFixed(2)
      }×</text>`,
    );
  }
  const H = axisY + 84;
  const machineLine = `${m.nproc} × ${m.cpu}, Linux ${m.kernel}, Deno ${m.deno}` +
    (m.node ? `, Node ${m.node}` : "") + `; measured ${date}`;
  const method1 = `Bars: median over ${o.rounds} round${o.rounds === 1 ? "" : "s"} of the ` +
    `ratio to raw Deno measured in the same round (reusePort: to 1 process); labels: ratio ` +
    `(median value).`;
  const method2 = `Each run: ${o.seconds} s after ${o.warmup} s of warm-up, each server in its ` +
    `own process, servers alternated in every round. Load: loadgen (C, epoll, checks every ` +
    `byte)`;
  const method3 = `on the same machine. Dashed red line: the target.`;
  const title = `@fibernet/socket echo server vs raw Deno` +
    (servers.includes("node") ? " and @effect/platform-node's NodeSocketServer" : "");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
<style>
.h{font-size:17px;font-weight:600;fill:#111}.l{font-size:13px;fill:#111}.s{font-size:11px;fill:#666}
.n{font-size:11px;fill:#333;font-weight:600}.v{font-size:11px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}
.f{font-size:11px;fill:#444}.g{stroke:#e6e6e6;stroke-width:1}.one{stroke:#888;stroke-width:1.2}
.t{stroke:#d33;stroke-width:2;stroke-dasharray:4 3}.brk{stroke:#fff;stroke-width:2.5}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="26" class="h">${esc(title)}</text>
<text x="16" y="46" class="s">${esc(method1)}</text>
<text x="16" y="61" class="s">${esc(method2)}</text>
<text x="16" y="76" class="s">${esc(method3)}</text>
${ticks.join("\n")}
${parts.join("\n")}
<text x="16" y="${axisY + 42}" class="f">machine: ${esc(machineLine)}</text>
<text x="16" y="${axisY + 60}" class="f">reproduce: ${esc(command)}</text>
</svg>
`;
}

// ---------------------------------------------------------------------------
// Main

/** Renames the profiles Deno just wrote (CPU.<time>.<pid>.cpuprofile) after the run. */
async function nameProfiles(dir: string, stem: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (/^CPU\.\d+\.\d+\.cpuprofile$/.test(e.name)) {
        await Deno.rename(`${dir}/${e.name}`, `${dir}/${stem}.cpuprofile`);
      }
    }
  } catch {
    // no profile written
  }
}

/** Prints the table of a saved run and redraws its chart beside it. */
async function report(path: string) {
  const saved = JSON.parse(await Deno.readTextFile(path));
  const o = parseOptions([]);
  Object.assign(o, saved.options);
  const servers: string[] = saved.servers.map((s: { name: string }) => s.name);
  const rows = summarize(saved.runs, servers, o.procs);
  saved.summary = rows;
  await Deno.writeTextFile(path, JSON.stringify(saved, null, 2) + "\n");
  console.log(table(rows, servers, o.procs));
  for (const n of saved.notes ?? []) console.log(`note: ${n}`);
  const svgPath = path.replace(/\.json$/, "") + ".svg";
  await Deno.writeTextFile(
    svgPath,
    svgChart(rows, servers, o.procs, saved.machine, o, saved.command, saved.startedAt.slice(0, 10)),
  );
  console.log(`wrote ${svgPath}`);
}

async function main() {
  const o = parseOptions(Deno.args);
  if (o.from !== undefined) return await report(o.from);
  const notes: string[] = [];
  const m = await machine();
  const lg = await buildLoadgen();
  m.cc = lg.cc;
  log(`loadgen built from ${lg.src}`);

  const deno = Deno.execPath();
  const libScript = o.libScript;
  const specs: ServerSpec[] = [];
  let libSource = "";
  if (o.servers.includes("lib") || o.only.includes("reuseport")) {
    if (!(await exists(abs(libScript)))) {
      fail(
        `the library's echo server ${libScript} does not exist (pass --lib-script PATH, ` +
          `or --servers raw,node to measure without it)`,
      );
    }
    libSource = await Deno.readTextFile(abs(libScript));
  }
  const prof = o.profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${abs(o.profile)}`];
  if (o.servers.includes("lib")) {
    specs.push({
      name: "lib",
      cmd: [deno, "run", "--allow-net", ...prof, libScript, "--port", "0"],
    });
  }
  if (o.servers.includes("raw")) {
    specs.push({
      name: "raw",
      cmd: [deno, "run", "--allow-net", ...prof, "bench/raw_echo.ts", "--port", "0"],
    });
  }
  if (o.servers.includes("node")) {
    const node = await prepareNode(notes);
    if (node) {
      m.node = node.version;
      specs.push({ name: "node", cmd: ["node", "node_echo.mjs", "--port", "0"], cwd: node.dir });
    }
  }
  if (specs.length === 0) fail("no server to measure");

  const workloads = o.only.filter((w) => w !== "reuseport");
  let reuse = o.only.includes("reuseport");
  if (reuse && !/reuse-?port/i.test(libSource)) {
    notes.push(`reuseport: ${libScript} has no --reuse-port flag, workload skipped`);
    reuse = false;
  }
  if (workloads.includes("idle")) {
    const hard = await run("sh", ["-c", "ulimit -Hn"]).then((r) => Number(r.stdout.trim()));
    if (Number.isFinite(hard) && hard < o.idleConns + 64) {
      notes.push(
        `idle: the open-files hard limit is ${hard}, so ${hard - 64} connections were held ` +
          `instead of ${o.idleConns}`,
      );
      o.idleConns = hard - 64;
    }
  }

  const command = ["deno task bench", ...o.args].join(" ");
  const commit = await run("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT })
    .then((r) => r.code === 0 ? r.stdout.trim() : undefined, () => undefined);
  const dirty = await run("git", ["status", "--porcelain", "--", "src", "examples", "mod.ts"], {
    cwd: ROOT,
  }).then((r) => r.code === 0 ? r.stdout.trim() !== "" : undefined, () => undefined);
  const startedAt = new Date().toISOString();
  const runs: RunRecord[] = [];
  const order = (round: number, names: ServerSpec[]) =>
    names.map((_, i) => names[(i + round - 1) % names.length]);
  log(
    `${o.rounds} round(s) × [${[...workloads, ...(reuse ? ["reuseport"] : [])].join(", ")}] × ` +
      `[${specs.map((s) => s.name).join(", ")}], ${o.seconds} s per run`,
  );

  for (let round = 1; round <= o.rounds; round++) {
    for (const workload of workloads) {
      for (const spec of order(round, specs)) {
        const rec: RunRecord = {
          round,
          workload,
          server: spec.name,
          processes: 1,
          startedAt: new Date().toISOString(),
          loadAvg: await loadAvg(),
          ok: false,
          metrics: {},
        };
        let server: ServerProc | undefined;
        try {
          server = await startServer(spec);
          if (workload === "idle") await idleRun(o, lg.bin, server, rec);
          else await loadRun(o, lg.bin, workload, server.port, rec);
          if (!server.alive) {
            rec.ok = false;
            rec.error = `server exited during the run: ${server.output()}`;
          }
        } catch (error) {
          rec.ok = false;
          rec.error = error instanceof Error ? error.message : String(error);
        } finally {
          await server?.stop();
          if (o.profile !== undefined) {
            await nameProfiles(abs(o.profile), `${round}-${workload}-${spec.name}`);
          }
        }
        runs.push(rec);
        log(
          `round ${round} ${workload.padEnd(6)} ${spec.name.padEnd(5)} ${rec.ok ? "" : "FAILED "}${
            Object.entries(rec.metrics).filter(([k]) => !k.startsWith("rss_")).map(([k, v]) =>
              `${k}=${fmtNum(v)}`
            ).join(" ")
          }${rec.error ? ` (${rec.error.split("\n")[0]})` : ""}`,
        );
      }
    }
    if (reuse) {
      const variants = [1, o.procs];
      if (round % 2 === 0) variants.reverse();
      for (const procs of variants) {
        const name = procs === 1 ? "lib" : `lib×${procs}`;
        const rec: RunRecord = {
          round,
          workload: "reuseport",
          server: name,
          processes: procs,
          startedAt: new Date().toISOString(),
          loadAvg: await loadAvg(),
          ok: false,
          metrics: {},
        };
        const servers: ServerProc[] = [];
        try {
          const port = freePort();
          for (let i = 0; i < procs; i++) {
            servers.push(
              await startServer({
                name,
                cmd: [
                  deno,
                  "run",
                  "--allow-net",
                  "--unstable-net",
                  libScript,
                  "--port",
                  String(port),
                  "--reuse-port",
                ],
              }),
            );
          }
          await loadRun(o, lg.bin, "reuseport", port, rec);
          const dead = servers.find((s) => !s.alive);
          if (dead) {
            rec.ok = false;
            rec.error = `a server exited during the run: ${dead.output()}`;
          }
        } catch (error) {
          rec.ok = false;
          rec.error = error instanceof Error ? error.message : String(error);
        } finally {
          await Promise.all(servers.map((s) => s.stop()));
        }
        runs.push(rec);
        log(
          `round ${round} reuseport ${name.padEnd(6)} ${rec.ok ? "" : "FAILED "}req_per_s=${
            fmtNum(rec.metrics.req_per_s)
          }${rec.error ? ` (${rec.error.split("\n")[0]})` : ""}`,
        );
      }
    }
  }

  const serverNames = specs.map((s) => s.name);
  const rows = summarize(runs, serverNames, o.procs);
  const failed = runs.filter((r) => !r.ok);
  const result = {
    benchmark: "@fibernet/socket echo",
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: m,
    code: { commit, uncommittedChanges: dirty },
    loadgen: { source: rel(lg.src), binary: rel(lg.bin) },
    options: {
      quick: o.quick,
      rounds: o.rounds,
      seconds: o.seconds,
      warmup: o.warmup,
      idleConns: o.idleConns,
      idleHold: o.idleHold,
      procs: o.procs,
      workloads: [...workloads, ...(reuse ? ["reuseport"] : [])],
      libScript,
    },
    servers: specs.map((s) => ({ name: s.name, command: s.cmd.join(" ") })),
    workloads: Object.fromEntries(
      [...workloads, ...(reuse ? ["reuseport" as const] : [])].map((w) => {
        const info = WORKLOAD_INFO[w];
        return [w, w === "idle" ? { ...info, conns: o.idleConns, size: 64 } : info];
      }),
    ),
    notes,
    summary: rows,
    failedRuns: failed.length,
    runs,
  };
  await Deno.mkdir(abs(o.outDir), { recursive: true });
  const jsonPath = `${abs(o.outDir)}/${o.name}.json`;
  const svgPath = `${abs(o.outDir)}/${o.name}.svg`;
  await Deno.writeTextFile(jsonPath, JSON.stringify(result, null, 2) + "\n");
  await Deno.writeTextFile(
    svgPath,
    svgChart(rows, serverNames, o.procs, m, o, command, startedAt.slice(0, 10)),
  );

  console.log(
    `\n@fibernet/socket benchmark — ${m.nproc} × ${m.cpu}, Deno ${m.deno}${
      m.node ? `, Node ${m.node}` : ""
    }`,
  );
  console.log(
    `${o.rounds} round(s) × ${o.seconds} s, servers alternated; ratios are medians of the ` +
      `per-round ratios\n`,
  );
  console.log(table(rows, serverNames, o.procs));
  for (const n of notes) console.log(`note: ${n}`);
  if (failed.length > 0) {
    console.log(`\n${failed.length} run(s) failed (not in the medians):`);
    for (const r of failed) {
      console.log(`  round ${r.round} ${r.workload} ${r.server}: ${r.error?.split("\n")[0]}`);
    }
  }
  console.log(`\nwrote ${jsonPath} and ${svgPath}`);
  console.log(`reproduce: ${command}`);
  if (failed.length > 0) Deno.exitCode = 1;
}

if (import.meta.main) await main();

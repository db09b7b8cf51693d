/**
 * The benchmark of @fibernet/socket (`deno task bench`); bench/README.md says
 * what it measures and how to read it.
 *
 *   deno task bench                               # 5 rounds of 5 s, every workload and server
 *   deno task bench --quick                       # the smoke run the tests use
 *   deno task bench --rounds 3 --seconds 3 --only line64,churn --servers raw,lib,lib-stream
 *   deno task bench --from bench/results/latest.json
 *
 * @module
 */
import { buildLoadgen } from "./lib/loadgen.ts";
import { BenchError, log } from "./lib/log.ts";
import { describeMachine } from "./lib/machine.ts";
import { parseOptions, USAGE } from "./lib/options.ts";
import { killAll, runCommand } from "./lib/processes.ts";
import {
  renderReport,
  type Results,
  resummarize,
  rewriteFrom,
  workloadsOf,
  writeResults,
} from "./lib/results.ts";
import { runRounds } from "./lib/rounds.ts";
import { listenFlags, prepareServers } from "./lib/servers.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BASELINE = "raw";
const abs = (path: string) => path.startsWith("/") ? path : `${ROOT}/${path}`;

async function main(argv: ReadonlyArray<string>): Promise<number> {
  const o = parseOptions(argv);
  if (o === "help") {
    console.log(USAGE);
    return 0;
  }
  if (o.from !== undefined) {
    const results = await rewriteFrom(o.from);
    console.log(renderReport(results));
    return 0;
  }

  const machine = await describeMachine();
  const loadgen = await buildLoadgen();
  machine.cc = loadgen.cc;
  const profile = o.profile === undefined ? undefined : abs(o.profile);
  if (profile !== undefined) await Deno.mkdir(profile, { recursive: true });
  const prepared = await prepareServers(o.servers, o.transport, profile);
  machine.node = prepared.node;
  const notes = [...prepared.notes];
  if (prepared.servers.length === 0) throw new BenchError("no server to measure");
  if (!prepared.servers.some((s) => s.info.name === BASELINE)) {
    notes.push(`the baseline ${BASELINE} was not measured, so there are no ratios`);
  }

  let idleConns = o.idleConns;
  if (o.workloads.some((w) => w.mode === "idle")) {
    // The server and loadgen each hold one descriptor per connection.
    const hard = Number((await runCommand(["sh", "-c", "ulimit -Hn"])).stdout.trim());
    if (Number.isFinite(hard) && hard < idleConns + 64) {
      notes.push(
        `idle: the open-files hard limit is ${hard}, so ${hard - 64} connections ` +
          `were held instead of ${idleConns}`,
      );
      idleConns = hard - 64;
    }
  }
  const workloads = workloadsOf(o.workloads.map((w) => w.name), idleConns);
  const socketDir = await Deno.makeTempDir({ prefix: "fibernet-bench-" });
  const command = ["deno task bench", ...o.args].join(" ");
  const git = (args: string[]) =>
    runCommand(["git", ...args], { cwd: ROOT }).then(
      (r) => r.code === 0 ? r.stdout.trim() : undefined,
      () => undefined,
    );
  const commit = await git(["rev-parse", "--short", "HEAD"]);
  const status = await git(["status", "--porcelain", "--", "src", "examples", "mod.ts", "bench"]);
  const startedAt = new Date().toISOString();
  log(
    `${o.rounds} round(s) × [${workloads.map((w) => w.name).join(", ")}] × ` +
      `[${prepared.servers.map((s) => s.info.name).join(", ")}], ${o.seconds} s per run`,
  );

  let runs;
  try {
    runs = await runRounds(loadgen, workloads, prepared.servers, {
      rounds: o.rounds,
      seconds: o.seconds,
      warmup: o.warmup,
      idleHold: o.idleHold,
      transport: o.transport,
      socketDir,
      profile,
    });
  } finally {
    await Deno.remove(socketDir, { recursive: true }).catch(() => {});
  }

  const results: Results = {
    benchmark: "@fibernet/socket",
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    code: { commit, uncommittedChanges: status === undefined ? undefined : status !== "" },
    loadgen: { source: "bench/loadgen.c", cc: loadgen.cc },
    options: {
      quick: o.quick,
      rounds: o.rounds,
      seconds: o.seconds,
      warmup: o.warmup,
      idleConns,
      idleHold: o.idleHold,
      transport: o.transport,
      workloads: workloads.map((w) => w.name),
    },
    baseline: BASELINE,
    servers: prepared.servers.map((s) => ({
      name: s.info.name,
      description: s.info.description,
      command: s.command(s.info.protocols.at(-1)!, listenFlags(o.transport, "PATH")).join(" "),
    })),
    packages: prepared.packages,
    notes,
    summary: [],
    failedRuns: runs.filter((r) => !r.ok).length,
    runs,
  };
  resummarize(results);
  const [json, svg] = await writeResults(results, abs(o.outDir), o.name);
  console.log(renderReport(results));
  console.log(`\nwrote ${json} and ${svg}\nreproduce: ${command}`);
  return results.failedRuns > 0 ? 1 : 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (!(error instanceof BenchError)) throw error;
    console.error(`bench: ${error.message}`);
    code = 2;
  } finally {
    killAll();
  }
  Deno.exit(code);
}

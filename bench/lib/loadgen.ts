/**
 * The load generator: bench/loadgen.c, compiled here with the C compiler
 * (`CC`, default `cc`) into bench/loadgen (git-ignored), and run once per
 * measurement. Its one-line `key=value` report is parsed into numbers.
 *
 * @module
 */
import { BenchError } from "./log.ts";
import { Child, runCommand } from "./processes.ts";

const BENCH = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The compiled load generator. */
export interface Loadgen {
  readonly bin: string;
  /** The compiler's first `--version` line. */
  readonly cc: string;
}

/** Compiles bench/loadgen.c; the binary appears atomically, so concurrent runs never see half of one. */
export async function buildLoadgen(): Promise<Loadgen> {
  const cc = Deno.env.get("CC") || "cc";
  const bin = `${BENCH}/loadgen`;
  const tmp = `${bin}.${Deno.pid}.tmp`;
  let out;
  try {
    out = await runCommand([cc, "-O2", "-o", tmp, `${BENCH}/loadgen.c`], { timeoutMs: 60_000 });
  } catch (error) {
    throw new BenchError(
      `cannot run the C compiler "${cc}" (${error}): install one (gcc, clang) or set CC`,
    );
  }
  if (out.code !== 0) throw new BenchError(`compiling bench/loadgen.c failed:\n${out.stderr}`);
  await Deno.rename(tmp, bin);
  const version = await runCommand([cc, "--version"]).catch(() => undefined);
  return { bin, cc: version?.stdout.split("\n")[0] ?? cc };
}

/** The protocol names loadgen knows. */
export type LoadProtocol = "raw" | "line" | "lp";

/** One invocation of loadgen. */
export interface LoadArgs {
  readonly address: string;
  readonly mode: "rr" | "churn" | "idle";
  readonly proto: LoadProtocol;
  readonly conns: number;
  readonly size: number;
  /** Measured seconds (idle: seconds held after every connection was served). */
  readonly seconds: number;
  readonly warmup?: number;
  /** The server whose CPU time loadgen reads over the measured window. */
  readonly serverPid?: number;
}

/** loadgen's report: numbers, and the line itself. */
export type LoadResult = Record<string, number> & { readonly line: string };

/** loadgen's command line for `args`. */
export function loadgenCommand(loadgen: Loadgen, args: LoadArgs): string[] {
  const cmd = [
    loadgen.bin,
    ...["-a", args.address, "-m", args.mode, "-P", args.proto],
    ...["-c", String(args.conns), "-s", String(args.size), "-t", String(args.seconds)],
  ];
  if (args.warmup) cmd.push("-w", String(args.warmup));
  if (args.serverPid !== undefined) cmd.push("-S", String(args.serverPid));
  return cmd;
}

/** Parses a `key=value ...` line; words (mode, proto) are left out. */
export function parseReport(line: string): LoadResult {
  const result: Record<string, number> = {};
  for (const pair of line.trim().split(/\s+/)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const value = Number(pair.slice(eq + 1));
    if (Number.isFinite(value)) result[pair.slice(0, eq)] = value;
  }
  return Object.assign(result, { line: line.trim() });
}

/** Runs loadgen to completion and returns its report. */
export async function runLoadgen(loadgen: Loadgen, args: LoadArgs): Promise<LoadResult> {
  const timeoutMs = ((args.warmup ?? 0) + args.seconds + 60) * 1000;
  const out = await runCommand(loadgenCommand(loadgen, args), { timeoutMs });
  const line = out.stdout.split("\n").find((l) => l.startsWith("mode="));
  if (line === undefined) {
    throw new Error(`loadgen printed no report (exit ${out.code}): ${out.stderr.trim()}`);
  }
  return parseReport(line);
}

/** Starts loadgen in the idle mode; the caller waits for its `ready` line, then its report. */
export function startIdleLoad(loadgen: Loadgen, args: LoadArgs): Child {
  return new Child(loadgenCommand(loadgen, { ...args, mode: "idle" }));
}

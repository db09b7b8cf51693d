/**
 * The workloads: what load is put on a server, and which figures each one
 * reports. Issue 16 lists them; bench/README.md explains each.
 *
 * @module
 */
import type { Protocol } from "../servers/args.ts";

/** How loadgen drives the connections (see bench/loadgen.c). */
export type Mode = "rr" | "churn" | "idle";

/** A workload. */
export interface Workload {
  readonly name: string;
  readonly title: string;
  readonly mode: Mode;
  /** What the servers must speak; servers that do not are not run on it. */
  readonly proto: Protocol;
  /** Connections (churn: connections open at once); the idle count comes from the options. */
  readonly conns: number;
  /** Request size: line bytes including "\n", payload bytes after the 4-byte length, echo bytes. */
  readonly size: number;
}

const MiB = 1024 * 1024;

/** Every workload, in report order. */
export const WORKLOADS: ReadonlyArray<Workload> = [
  {
    name: "line64x16",
    title: "64 B lines, 16 conns",
    mode: "rr",
    proto: "line",
    conns: 16,
    size: 64,
  },
  {
    name: "line64x256",
    title: "64 B lines, 256 conns",
    mode: "rr",
    proto: "line",
    conns: 256,
    size: 64,
  },
  {
    name: "lp64x16",
    title: "64 B length-prefixed frames, 16 conns",
    mode: "rr",
    proto: "lp",
    conns: 16,
    size: 64,
  },
  {
    name: "lp64x256",
    title: "64 B length-prefixed frames, 256 conns",
    mode: "rr",
    proto: "lp",
    conns: 256,
    size: 64,
  },
  {
    name: "churn",
    title: "connect, one 64 B line, close; 16 at a time",
    mode: "churn",
    proto: "line",
    conns: 16,
    size: 64,
  },
  {
    name: "lp1m",
    title: "1 MiB length-prefixed frames, 4 conns",
    mode: "rr",
    proto: "lp",
    conns: 4,
    size: MiB,
  },
  {
    name: "idle",
    title: "idle connections, each served one 64 B line",
    mode: "idle",
    proto: "line",
    conns: 10_000,
    size: 64,
  },
  { name: "echo64", title: "64 B echo, 16 conns", mode: "rr", proto: "echo", conns: 16, size: 64 },
  { name: "echo1m", title: "1 MiB echo, 4 conns", mode: "rr", proto: "echo", conns: 4, size: MiB },
];

/** Workload names, for the command line. */
export const WORKLOAD_NAMES: ReadonlyArray<string> = WORKLOADS.map((w) => w.name);

/** A figure a workload reports. */
export interface MetricInfo {
  readonly key: string;
  readonly label: string;
  readonly better: "higher" | "lower";
  /** Shown with its ratio to the baseline in the table and the chart. */
  readonly compared: boolean;
}

/** The figures of a workload, the headline (throughput or memory) first. */
export function metricsOf(workload: Workload): ReadonlyArray<MetricInfo> {
  const latency: MetricInfo[] = [
    { key: "p50_us", label: "p50 µs", better: "lower", compared: false },
    { key: "p99_us", label: "p99 µs", better: "lower", compared: false },
  ];
  switch (workload.mode) {
    case "idle":
      return [{ key: "kib_per_conn", label: "KiB/conn", better: "lower", compared: true }];
    case "churn":
      return [
        { key: "conns_per_s", label: "conns/s", better: "higher", compared: true },
        ...latency,
        { key: "cpu_us_per_conn", label: "CPU µs/conn", better: "lower", compared: true },
      ];
    case "rr":
      return [
        workload.size >= MiB
          ? { key: "mb_per_s", label: "MB/s", better: "higher", compared: true }
          : { key: "req_per_s", label: "req/s", better: "higher", compared: true },
        ...latency,
        { key: "cpu_us_per_req", label: "CPU µs/req", better: "lower", compared: true },
      ];
  }
}

/** Workloads selected by names; a prefix such as `line64` or `lp64` selects its variants. */
export function selectWorkloads(names: ReadonlyArray<string>): Workload[] | string {
  const chosen = new Set<string>();
  for (const name of names) {
    const matches = WORKLOADS.filter((w) =>
      w.name === name ||
      (w.name.startsWith(`${name}x`) && /^\d+$/.test(w.name.slice(name.length + 1)))
    );
    if (matches.length === 0) {
      return `unknown workload "${name}" (one of ${WORKLOAD_NAMES.join(", ")})`;
    }
    for (const w of matches) chosen.add(w.name);
  }
  return WORKLOADS.filter((w) => chosen.has(w.name));
}

/**
 * The benchmark's command line.
 *
 * @module
 */
import { BenchError } from "./log.ts";
import { DEFAULT_SERVERS, SERVER_NAMES, type Transport } from "./servers.ts";
import { selectWorkloads, type Workload, WORKLOAD_NAMES } from "./workloads.ts";

/** What to measure, and how. */
export interface Options {
  readonly quick: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly idleConns: number;
  readonly idleHold: number;
  readonly workloads: ReadonlyArray<Workload>;
  readonly servers: ReadonlyArray<string>;
  readonly transport: Transport;
  readonly outDir: string;
  readonly name: string;
  readonly from?: string;
  readonly profile?: string;
  /** The arguments as given, for the "reproduce" line. */
  readonly args: ReadonlyArray<string>;
}

/** The help text. */
export const USAGE = `usage: deno task bench [options]
  --quick              smoke run: 1 round, 0.3 s per run, no warm-up, 200 idle connections
  --rounds N           rounds; each runs every server once on every workload (default 5)
  --seconds S          measured seconds per run (default 5)
  --warmup S           seconds of unmeasured load on the same connections first (default 1)
  --only a,b           workloads (default all): ${WORKLOAD_NAMES.join(", ")};
                       line64 or lp64 selects both connection counts
  --servers a,b        servers (default all but lib-traced; those whose needs are missing are
                       skipped): ${SERVER_NAMES.join(", ")}
  --transport T        tcp (127.0.0.1, default), tcp6 (::1) or unix (a socket in a temp dir)
  --idle-conns N       connections the idle workload holds (default 10000)
  --idle-hold S        seconds they are held once all are served (default 5)
  --out DIR            where the JSON and SVG go (default bench/results)
  --name NAME          their file name (default latest; quick with --quick)
  --from FILE.json     measure nothing: print the tables of a saved run and redraw its SVG
  --profile DIR        run the servers with --cpu-prof, one .cpuprofile per run in DIR`;

/** Parses the command line; a mistake throws a BenchError that names it. */
export function parseOptions(argv: ReadonlyArray<string>): Options | "help" {
  const value = (i: number): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new BenchError(`${argv[i]} needs a value\n${USAGE}`);
    return v;
  };
  const number = (i: number, min: number, integer: boolean): number => {
    const n = Number(value(i));
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new BenchError(
        `${argv[i]} must be ${integer ? "an integer" : "a number"} ≥ ${min}, not ${argv[i + 1]}`,
      );
    }
    return n;
  };
  const list = (i: number) => value(i).split(",").map((x) => x.trim()).filter((x) => x !== "");
  const quick = argv.includes("--quick");
  const o = {
    quick,
    rounds: quick ? 1 : 5,
    seconds: quick ? 0.3 : 5,
    warmup: quick ? 0 : 1,
    idleConns: quick ? 200 : 10_000,
    idleHold: quick ? 0.5 : 5,
    workloads: selectWorkloads(WORKLOAD_NAMES) as Workload[],
    servers: [...DEFAULT_SERVERS],
    transport: "tcp" as Transport,
    outDir: "bench/results",
    name: quick ? "quick" : "latest",
    from: undefined as string | undefined,
    profile: undefined as string | undefined,
    args: argv,
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case "--quick":
        continue;
      case "--rounds":
        o.rounds = number(i, 1, true);
        break;
      case "--seconds":
        o.seconds = number(i, 0.1, false);
        break;
      case "--warmup":
        o.warmup = number(i, 0, false);
        break;
      case "--idle-conns":
        o.idleConns = number(i, 1, true);
        break;
      case "--idle-hold":
        o.idleHold = number(i, 0.5, false);
        break;
      case "--only": {
        const chosen = selectWorkloads(list(i));
        if (typeof chosen === "string") throw new BenchError(`--only: ${chosen}`);
        o.workloads = chosen;
        break;
      }
      case "--servers": {
        const names = list(i);
        const unknown = names.find((n) => !SERVER_NAMES.includes(n));
        if (unknown !== undefined) {
          throw new BenchError(
            `--servers: unknown "${unknown}" (one of ${SERVER_NAMES.join(", ")})`,
          );
        }
        o.servers = SERVER_NAMES.filter((n) => names.includes(n));
        break;
      }
      case "--transport": {
        const t = value(i);
        if (t !== "tcp" && t !== "tcp6" && t !== "unix") {
          throw new BenchError(`--transport must be tcp, tcp6 or unix, not ${t}`);
        }
        o.transport = t;
        break;
      }
      case "--out":
        o.outDir = value(i);
        break;
      case "--name":
        o.name = value(i);
        break;
      case "--from":
        o.from = value(i);
        break;
      case "--profile":
        o.profile = value(i);
        break;
      case "-h":
      case "--help":
        return "help";
      default:
        throw new BenchError(`unknown option ${argv[i]}\n${USAGE}`);
    }
    i++; // the option's value
  }
  return o;
}

/**
 * A client of the cluster example: a process that sends to counters and
 * hosts none. It finds the runner of each counter's shard through the shared
 * database, and sends to it directly.
 *
 *   deno run --allow-net=127.0.0.1 --allow-env examples/cluster/client.ts \
 *     --database postgres://postgres@127.0.0.1:5432/postgres increment counter-7 [BY]
 *   … get counter-7
 *   … burst 12
 *
 * `burst N` adds 1 to `counter-1` … `counter-N`, all at once, prints each
 * answer (`counter-K = VALUE on HOST:PORT`) and then how many counters each
 * runner answered for. The database URL may come from `DATABASE_URL`. With
 * `--cert FILE --key FILE --ca FILE` it talks TLS to runners that do (it
 * checks their certificates against the CA; the other two are accepted so
 * that one set of flags serves runners and clients alike).
 *
 * @module
 */
import "../_msgpackr_js_only.ts";
import { Effect } from "effect";
import { parseFlags, runExample, UsageError, write } from "../_terminal.ts";
import { clientLayer, type Count, Counter, explainFailures } from "./counter.ts";
import { setupFrom } from "./setup.ts";

const usage = "usage: client.ts [--database URL] [--cert FILE --key FILE --ca FILE] " +
  "(increment ID [BY] | get ID | burst N)";

/** One answer as a line. */
const line = (id: string, count: Count): string => `${id} = ${count.value} on ${count.runner}\n`;

/** How many counters each runner answered for, busiest first. */
const spread = (counts: ReadonlyArray<Count>): string => {
  const per = new Map<string, number>();
  for (const count of counts) per.set(count.runner, (per.get(count.runner) ?? 0) + 1);
  const parts = [...per].sort((a, b) => b[1] - a[1]).map(([runner, n]) => `${runner} ×${n}`);
  return `${counts.length} counters on ${per.size} runner(s): ${parts.join(", ")}\n`;
};

const main = Effect.gen(function* () {
  const flags = yield* parseFlags(Deno.args, {
    values: ["--database", "--cert", "--key", "--ca"],
    positionals: 3,
  });
  if (flags.has("--help") || flags.has("-h")) return yield* write(`${usage}\n`);
  const setup = yield* setupFrom(flags);
  const [command, arg, by] = flags.positionals;
  // The cluster lives as long as the work: provided around it, not around Counter.client.
  const withCounters = <A, E>(
    work: (client: Effect.Effect.Success<typeof Counter.client>) => Effect.Effect<A, E>,
  ) =>
    Effect.flatMap(Counter.client, work).pipe(Effect.provide(clientLayer(setup)), explainFailures);
  if ((command === "increment" || command === "get") && arg !== undefined) {
    const amount = Number(by ?? "1");
    if (!Number.isInteger(amount) || amount < 1 || amount > 1000) {
      return yield* new UsageError({ message: "BY must be a whole number from 1 to 1000" });
    }
    if (command === "get" && by !== undefined) {
      return yield* new UsageError({ message: "get takes one ID" });
    }
    const count = yield* withCounters((client) =>
      command === "get" ? client(arg).Get() : client(arg).Increment({ by: amount })
    );
    return yield* write(line(arg, count));
  }
  if (command === "burst" && arg !== undefined && by === undefined) {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      return yield* new UsageError({ message: "burst N needs N from 1 to 10000" });
    }
    const ids = Array.from({ length: n }, (_, i) => `counter-${i + 1}`);
    const counts = yield* withCounters((client) =>
      Effect.forEach(ids, (id) => client(id).Increment({ by: 1 }), {
        concurrency: "unbounded",
      })
    );
    yield* write(ids.map((id, i) => line(id, counts[i])).join(""));
    return yield* write(spread(counts));
  }
  return yield* new UsageError({ message: "say what to do" });
});

runExample("client", usage, main);

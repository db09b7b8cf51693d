/**
 * One runner of the cluster example: hosts the counters of the shards it
 * holds, serves the other runners and clients on `--host`:`--port`, and
 * stops at once on Ctrl-C or SIGTERM (its shards then move to the other
 * runners).
 *
 *   deno run --allow-net=127.0.0.1 --allow-env examples/cluster/runner.ts \
 *     --port 34431 --database postgres://postgres@127.0.0.1:5432/postgres
 *
 * The database URL may come from `DATABASE_URL` instead. With `--cert FILE
 * --key FILE --ca FILE` (and `--allow-read`) the runner serves over TLS and
 * checks the other runners' certificates against the CA. It prints
 * `runner HOST:PORT ready` once it serves; Effect's logs go to stderr.
 *
 * @module
 */
import "../_msgpackr_js_only.ts";
import { Effect } from "effect";
import { parseFlags, runExample, UsageError, write } from "../_terminal.ts";
import { explainFailures, runnerLayer } from "./counter.ts";
import { setupFrom } from "./setup.ts";

const usage = "usage: runner.ts --port PORT [--host 127.0.0.1] [--database URL] " +
  "[--cert FILE --key FILE --ca FILE]";

const main = Effect.gen(function* () {
  const flags = yield* parseFlags(Deno.args, {
    values: ["--port", "--host", "--database", "--cert", "--key", "--ca"],
  });
  if (flags.has("--help") || flags.has("-h")) return yield* write(`${usage}\n`);
  const host = flags.value("--host") ?? "127.0.0.1";
  const port = Number(flags.value("--port"));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return yield* new UsageError({ message: "--port needs a port number (1-65535)" });
  }
  const setup = yield* setupFrom(flags);
  yield* Effect.zipRight(write(`runner ${host}:${port} ready\n`), Effect.never).pipe(
    Effect.provide(runnerLayer(setup, host, port)),
    explainFailures,
  );
});

runExample("runner", usage, main);

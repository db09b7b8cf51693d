/**
 * Runs N processes of `server.ts` on one port (one per core by default),
 * starts again any that exits, and stops them all gracefully on Ctrl-C or
 * SIGTERM.
 *
 *   deno run --allow-run --allow-read examples/workers/supervisor.ts --port 8000 [--workers N]
 *
 * The workers' output is the supervisor's stdout; the supervisor's own log
 * (workers started, exited, restarted, stopped) goes to stderr.
 *
 * @module
 */
import { Effect } from "effect";
import { Workers } from "../../mod.ts";
import { parseFlags, runExample, UsageError, write } from "../_terminal.ts";

const usage = "usage: supervisor.ts --port PORT [--workers N] [--host 127.0.0.1]";

const main = Effect.gen(function* () {
  const flags = yield* parseFlags(Deno.args, { values: ["--port", "--workers", "--host"] });
  if (flags.has("--help") || flags.has("-h")) return yield* write(`${usage}\n`);
  const port = flags.value("--port");
  if (port === undefined || !/^\d+$/.test(port)) {
    return yield* new UsageError({ message: "--port needs a port number" });
  }
  const count = Number(flags.value("--workers") ?? navigator.hardwareConcurrency);
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    return yield* new UsageError({ message: "--workers needs a number from 1 to 256" });
  }
  const host = flags.value("--host") ?? "127.0.0.1";
  yield* Workers.run({
    count,
    args: [
      ...["run", "--unstable-net", `--allow-net=${host.includes(":") ? `[${host}]` : host}`],
      "--allow-env=FIBERNET_WORKER_INDEX,FIBERNET_WORKER_COUNT",
      new URL("server.ts", import.meta.url).pathname,
      ...["--port", port, "--host", host],
    ],
  });
});

runExample("supervisor", usage, main);

/**
 * Several processes of one server, to use every core of a machine: a small
 * supervisor that starts N worker processes, restarts one that exits (with a
 * growing delay while it keeps failing), and stops them all gracefully when
 * it is stopped. The workers share one port with `reusePort` (the kernel
 * spreads new connections over them):
 *
 * ```ts ignore
 * // server.ts, the worker: run with --unstable-net, which reusePort needs.
 * const Echo = Server.serveForever(Server.echo).pipe(
 *   Layer.provide(Tcp.layer("0.0.0.0:8000", { reusePort: true })),
 * );
 * DenoRuntime.runMain(Layer.launch(Echo));
 * ```
 *
 * ```ts
 * // supervisor.ts
 * import { DenoRuntime, Workers } from "@fibernet/socket";
 *
 * DenoRuntime.runMain(Workers.run({
 *   count: navigator.hardwareConcurrency,
 *   args: ["run", "--unstable-net", "--allow-net", "server.ts"],
 * }));
 * ```
 *
 * How it behaves:
 * - Each worker runs `deno ARGS` (or `command ARGS`) with `FIBERNET_WORKER_INDEX`
 *   (0 … count−1) and `FIBERNET_WORKER_COUNT` in its environment
 *   ({@link current} reads them), its stdout and stderr those of the
 *   supervisor.
 * - A worker that exits, whatever its code, is started again after
 *   `restartDelay` (100 ms), doubled after each exit up to `maxRestartDelay`
 *   (10 s), and back to the start once a worker ran `stableAfter` (10 s).
 * - Stopping (the scope closes; under `DenoRuntime.runMain`, SIGINT or
 *   SIGTERM to the supervisor) sends every worker `stopSignal` (SIGTERM) at
 *   once, waits up to `stopTimeout` (15 s: more than `Server`'s 10 s drain)
 *   for them to exit, and kills the rest. Workers get no signal of their
 *   own from a terminal's Ctrl-C: each runs in its own process group, so the
 *   supervisor stops them, once each. Should the supervisor end without
 *   stopping them (`Deno.exit`, a second Ctrl-C), it kills them as it exits.
 * - A supervisor killed with SIGKILL cannot do anything: its workers read
 *   the end of their stdin then, and a worker can stop on
 *   {@link supervisorGone}.
 *
 * @module
 */
import type * as Cause from "effect/Cause";
import * as Data from "effect/Data";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";

/** The environment variable holding a worker's index, 0 … count−1. */
const INDEX_VARIABLE = "FIBERNET_WORKER_INDEX";
/** The environment variable holding the number of workers. */
const COUNT_VARIABLE = "FIBERNET_WORKER_COUNT";

/**
 * What to run, how many times, and how to restart and stop the workers.
 *
 * @example
 * ```ts
 * import type { Workers } from "@fibernet/socket";
 * const options: Workers.Options = {
 *   count: 4,
 *   args: ["run", "--unstable-net", "--allow-net", "server.ts"],
 *   stopTimeout: "20 seconds",
 * };
 * ```
 */
export interface Options {
  /** Arguments of `command`: for Deno, `run`, its flags, the program and its arguments. */
  readonly args: ReadonlyArray<string>;
  /** How many workers. Default `navigator.hardwareConcurrency`. */
  readonly count?: number | undefined;
  /** The program. Default this Deno (`Deno.execPath()`). */
  readonly command?: string | undefined;
  /** Added to the workers' environment. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The workers' working directory. Default the supervisor's. */
  readonly cwd?: string | undefined;
  /** The signal that asks a worker to stop. Default `"SIGTERM"`. */
  readonly stopSignal?: Deno.Signal | undefined;
  /** How long stopping workers may take before they are killed. Default 15 seconds. */
  readonly stopTimeout?: Duration.DurationInput | undefined;
  /** The first delay before a worker that exited is started again. Default 100 ms. */
  readonly restartDelay?: Duration.DurationInput | undefined;
  /** The longest delay between restarts of a failing worker. Default 10 seconds. */
  readonly maxRestartDelay?: Duration.DurationInput | undefined;
  /** A worker that ran this long is restarted after `restartDelay` again. Default 10 seconds. */
  readonly stableAfter?: Duration.DurationInput | undefined;
  /** Where the workers' output goes. Default `"inherit"`. */
  readonly stdout?: "inherit" | "null" | undefined;
  /** Where the workers' errors go. Default `"inherit"`. */
  readonly stderr?: "inherit" | "null" | undefined;
}

/** The fields of a {@link WorkerSpawnError}. */
interface SpawnFailure {
  /** What failed, in one line. */
  readonly message: string;
  /** What Deno threw. */
  readonly cause: unknown;
}

// JSR rejects a call in an `extends` clause: the base gets its type first.
const WorkerSpawnErrorBase: new (
  args: SpawnFailure,
) => Cause.YieldableError & { readonly _tag: "WorkerSpawnError" } & SpawnFailure = Data
  .TaggedError("WorkerSpawnError") as never;

/**
 * The first workers could not be started: the program is missing, or
 * running programs is not allowed (`--allow-run`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Workers } from "@fibernet/socket";
 * const program = Workers.run({ args: ["run", "server.ts"] }).pipe(
 *   Effect.catchTag("WorkerSpawnError", (error) => Effect.logError(error.message)),
 * );
 * ```
 */
export class WorkerSpawnError extends WorkerSpawnErrorBase {}

/**
 * A running supervisor.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Workers } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const workers = yield* Workers.start({ count: 2, args: ["run", "server.ts"] });
 *   yield* Effect.log(`workers: ${(yield* workers.pids).join(", ")}`);
 * }).pipe(Effect.scoped);
 * ```
 */
export interface Supervisor {
  /** The process id of each worker slot; `undefined` while one waits to be restarted. */
  readonly pids: Effect.Effect<ReadonlyArray<number | undefined>>;
  /** How many times workers were started again since the start. */
  readonly restarts: Effect.Effect<number>;
}

const millis = (duration: Duration.DurationInput): number =>
  Duration.toMillis(Duration.decode(duration));

const describeStatus = (status: Deno.CommandStatus): string =>
  status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;

/**
 * Starts the workers and supervises them until the scope closes, which
 * stops them gracefully (see the module notes). Fails with
 * {@link WorkerSpawnError} when the first workers cannot be started; a
 * restart that cannot spawn is logged and tried again later.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Workers } from "@fibernet/socket";
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   yield* Workers.start({ count: 2, args: ["run", "--unstable-net", "--allow-net", "server.ts"] });
 *   yield* Effect.never;
 * }));
 * ```
 */
export const start = (
  options: Options,
): Effect.Effect<Supervisor, WorkerSpawnError, Scope.Scope> =>
  Effect.gen(function* () {
    const count = options.count ?? navigator.hardwareConcurrency;
    if (!Number.isInteger(count) || count < 1) {
      return yield* Effect.dieMessage(`Workers: count must be a whole number ≥ 1, not ${count}`);
    }
    const command = options.command ?? Deno.execPath();
    const firstDelay = millis(options.restartDelay ?? Duration.millis(100));
    const maxDelay = millis(options.maxRestartDelay ?? Duration.seconds(10));
    const stableAfter = millis(options.stableAfter ?? Duration.seconds(10));
    const stopTimeout = millis(options.stopTimeout ?? Duration.seconds(15));
    const stopSignal = options.stopSignal ?? "SIGTERM";
    const slots: Array<Deno.ChildProcess | undefined> = Array.from({ length: count });
    let restarts = 0;

    const spawn = (index: number): Deno.ChildProcess => {
      const child = new Deno.Command(command, {
        args: [...options.args],
        env: {
          ...options.env,
          [INDEX_VARIABLE]: String(index),
          [COUNT_VARIABLE]: String(count),
        },
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        // Held open and never written: its end tells a worker the supervisor is gone.
        stdin: "piped",
        stdout: options.stdout ?? "inherit",
        stderr: options.stderr ?? "inherit",
        // Its own process group: a terminal's Ctrl-C reaches the supervisor only.
        detached: true,
      }).spawn();
      slots[index] = child;
      return child;
    };

    const kill = (child: Deno.ChildProcess, signal: Deno.Signal): void => {
      try {
        child.kill(signal);
      } catch {
        // Exited already.
      }
    };

    // Whatever ends this process without stopping the workers first kills them.
    const onUnload = () => {
      for (const child of slots) if (child !== undefined) kill(child, "SIGKILL");
    };

    const spawnError = (cause: unknown) =>
      new WorkerSpawnError({
        message: `cannot start ${command}: ${cause instanceof Error ? cause.message : cause}`,
        cause,
      });

    // The first generation, all or nothing.
    yield* Effect.try({
      try: () => {
        for (let index = 0; index < count; index++) spawn(index);
      },
      catch: (cause) => {
        onUnload();
        return spawnError(cause);
      },
    });
    globalThis.addEventListener("unload", onUnload);
    yield* Effect.logInfo(`started ${count} worker(s): ${command} ${options.args.join(" ")}`);

    /** Waits for the worker in `index` to exit, starts it again, forever. */
    const supervise = (index: number) =>
      Effect.gen(function* () {
        let delay = firstDelay;
        while (true) {
          const child = slots[index]!;
          const startedAt = Date.now();
          const status = yield* Effect.promise(() => child.status);
          slots[index] = undefined;
          if (Date.now() - startedAt >= stableAfter) delay = firstDelay;
          yield* Effect.logWarning(
            `worker ${index} (pid ${child.pid}) ${describeStatus(status)}; ` +
              `starting it again in ${delay} ms`,
          );
          while (true) {
            yield* Effect.sleep(Duration.millis(delay));
            delay = Math.min(delay * 2, maxDelay);
            const started = yield* Effect.try({
              try: () => spawn(index),
              catch: spawnError,
            }).pipe(
              Effect.tapError((error) =>
                Effect.logError(`worker ${index}: ${error.message}; trying again in ${delay} ms`)
              ),
              Effect.option,
            );
            if (Option.isSome(started)) break;
          }
          restarts++;
        }
      });

    const fibers = yield* Effect.forEach(
      slots,
      (_, index) => Effect.forkDaemon(supervise(index)),
    );

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // No more restarts; then every worker is asked at once.
        yield* Fiber.interruptAll(fibers);
        const running = slots.filter((child) => child !== undefined);
        if (running.length > 0) {
          yield* Effect.logInfo(`stopping ${running.length} worker(s) with ${stopSignal}`);
        }
        for (const child of running) kill(child, stopSignal);
        const late = yield* Effect.promise(async () => {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const deadline = new Promise<"late">((resolve) => {
            timer = setTimeout(() => resolve("late"), stopTimeout);
          });
          const exited = running.map((child) => child.status.then(() => child));
          const done = new Set<Deno.ChildProcess>();
          for (const waiting of exited) waiting.then((child) => done.add(child));
          await Promise.race([Promise.all(exited), deadline]);
          clearTimeout(timer);
          return running.filter((child) => !done.has(child));
        });
        if (late.length > 0) {
          yield* Effect.logWarning(
            `${late.length} worker(s) still running after ${stopTimeout} ms: killing them`,
          );
          for (const child of late) kill(child, "SIGKILL");
          yield* Effect.promise(() => Promise.all(late.map((child) => child.status)));
        }
        slots.fill(undefined);
        globalThis.removeEventListener("unload", onUnload);
      })
    );

    return {
      pids: Effect.sync(() => slots.map((child) => child?.pid)),
      restarts: Effect.sync(() => restarts),
    };
  });

/**
 * Supervises the workers until interrupted: the whole program of a
 * supervisor, for `DenoRuntime.runMain`, whose SIGINT and SIGTERM stop the
 * workers gracefully.
 *
 * @example
 * ```ts
 * import { DenoRuntime, Workers } from "@fibernet/socket";
 *
 * DenoRuntime.runMain(Workers.run({
 *   count: 4,
 *   args: ["run", "--unstable-net", "--allow-net", "server.ts"],
 * }));
 * ```
 */
export const run = (options: Options): Effect.Effect<never, WorkerSpawnError> =>
  Effect.scoped(Effect.zipRight(start(options), Effect.never));

/**
 * This process's place among the workers, from the environment the
 * supervisor gave it: `{ index, count }`, or `None` when it was not started
 * by a supervisor (or may not read those two variables).
 *
 * @example
 * ```ts
 * import { Option } from "effect";
 * import { Workers } from "@fibernet/socket";
 *
 * const label = Option.match(Workers.current(), {
 *   onNone: () => "alone",
 *   onSome: ({ index, count }) => `worker ${index + 1} of ${count}`,
 * });
 * ```
 */
export const current = (): Option.Option<{ readonly index: number; readonly count: number }> => {
  const read = (variable: string): number | undefined => {
    const allowed = Deno.permissions.querySync({ name: "env", variable }).state === "granted";
    const text = allowed ? Deno.env.get(variable) : undefined;
    return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const index = read(INDEX_VARIABLE);
  const count = read(COUNT_VARIABLE);
  return index !== undefined && count !== undefined && index < count
    ? Option.some({ index, count })
    : Option.none();
};

/**
 * Completes when this worker's supervisor is gone without stopping it (it
 * was killed with SIGKILL): the end of stdin, which the supervisor holds
 * open. Never completes in a process that no supervisor started. Race a
 * worker's program with it to stop with its supervisor.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect";
 * import { DenoRuntime, Server, Tcp, Workers } from "@fibernet/socket";
 *
 * const Echo = Server.serveForever(Server.echo).pipe(
 *   Layer.provide(Tcp.layer("0.0.0.0:8000", { reusePort: true })),
 * );
 * DenoRuntime.runMain(Effect.race(Layer.launch(Echo), Workers.supervisorGone));
 * ```
 */
export const supervisorGone: Effect.Effect<void> = Effect.suspend(() => {
  if (Option.isNone(current())) return Effect.never;
  return Effect.acquireUseRelease(
    Effect.sync(() => Deno.stdin.readable.getReader()),
    (reader) =>
      Effect.promise(async () => {
        while (!(await reader.read()).done) {
          // Nothing is sent on it; only its end matters.
        }
      }),
    // A read left pending would keep the worker alive after its program ended.
    (reader) => Effect.promise(() => reader.cancel().catch(() => {})),
  );
});

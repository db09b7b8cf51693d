/**
 * `runMain` for Deno, the counterpart of `@effect/platform-node`'s
 * `NodeRuntime.runMain` (Effect 4's Deno platform is on JSR only), built on
 * Effect's own `Runtime.makeRunMain`.
 *
 * - Runs the main Effect.
 * - SIGINT (Ctrl-C) or SIGTERM interrupts it, so every Layer and scope shuts
 *   down gracefully (servers drain, sockets close).
 * - A second SIGINT/SIGTERM while shutting down exits at once with 130.
 * - Log lines go to stderr (Effect's default logger writes to stdout), so a
 *   program's own output stays clean; a Logger the program provides wins.
 * - Exit codes: 0 on success or after a signal-initiated shutdown; 1 when the
 *   Effect fails or dies (the cause is printed readably to stderr), or the
 *   code an error carries in `Runtime.errorExitCode`. After a clean finish
 *   without a signal the process ends when nothing else is pending;
 *   otherwise it exits at once.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { DenoRuntime } from "@fibernet/socket";
 *
 * DenoRuntime.runMain(Effect.log("hello"));
 * ```
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Logger from "effect/Logger";
import * as Runtime from "effect/Runtime";

/**
 * Options for {@link runMain}.
 *
 * @example
 * ```ts
 * import type { DenoRuntime } from "@fibernet/socket";
 * const options: DenoRuntime.RunMainOptions = { disableErrorReporting: true };
 * ```
 */
export interface RunMainOptions {
  /** Do not print the failure cause (the exit code is still 1). */
  readonly disableErrorReporting?: boolean;
  /** Decide the process exit code and exit; default: {@link defaultTeardown}. */
  readonly teardown?: (exit: Exit.Exit<unknown, unknown>, onExit: (code: number) => void) => void;
}

const SIGNALS: ReadonlyArray<Deno.Signal> = ["SIGINT", "SIGTERM"];

/**
 * The default teardown: exit code 0 for success or an interruption (a signal
 * asked the program to stop and it did), otherwise the code the error
 * carries in `Runtime.errorExitCode`, else 1.
 *
 * @example
 * ```ts
 * import { Exit } from "effect";
 * import { DenoRuntime } from "@fibernet/socket";
 * DenoRuntime.defaultTeardown(Exit.void, (code) => console.log(code)); // 0
 * ```
 */
export const defaultTeardown = (
  exit: Exit.Exit<unknown, unknown>,
  onExit: (code: number) => void,
): void => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return onExit(0);
  onExit(Runtime.getErrorExitCode(Cause.squash(exit.cause)));
};

/** Whether the failure is to be printed: not an interruption, not marked as reported. */
const worthReporting = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause) &&
  Runtime.getErrorReported(Cause.squash(exit.cause));

/**
 * Runs `effect` as the program's main fiber with signal handling and exit
 * codes (see the module documentation). Returns at once; the process exits
 * when the Effect ends.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect";
 * import { DenoRuntime, Server, Tcp } from "@fibernet/socket";
 *
 * const App = Server.serveForever((conn) => conn.write("hi\n")).pipe(
 *   Layer.provide(Tcp.layer("127.0.0.1:9999")),
 * );
 * DenoRuntime.runMain(Layer.launch(App));
 * ```
 */
export const runMain = <E, A>(
  effect: Effect.Effect<A, E>,
  options?: RunMainOptions,
): void => {
  const run = Runtime.makeRunMain(({ fiber }) => {
    let interrupting = false;
    const installed: Array<[Deno.Signal, () => void]> = [];
    for (const signal of SIGNALS) {
      const onSignal = () => {
        if (interrupting) {
          // Second Ctrl-C: the user does not want to wait for a graceful shutdown.
          Deno.exit(130);
        }
        interrupting = true;
        Effect.runFork(
          Effect.provideService(
            Effect.logInfo(`${signal}: shutting down; send it again to exit at once`),
            Logger.LogToStderr,
            true,
          ),
        );
        fiber.interruptUnsafe();
      };
      try {
        Deno.addSignalListener(signal, onSignal);
        installed.push([signal, onSignal]);
      } catch {
        // Signals unsupported here (e.g. SIGTERM on Windows): run without.
      }
    }
    fiber.addObserver((exit) => {
      for (const [signal, onSignal] of installed) Deno.removeSignalListener(signal, onSignal);
      if (!options?.disableErrorReporting && worthReporting(exit)) {
        console.error(Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause));
      }
      const teardown = options?.teardown ?? defaultTeardown;
      // Like NodeRuntime: a clean finish lets pending work end naturally.
      teardown(exit, (code) => {
        if (interrupting || code !== 0) Deno.exit(code);
      });
    });
  });
  // Reported here rather than by makeRunMain, whose report would go to stdout.
  run(Effect.provideService(effect, Logger.LogToStderr, true), { disableErrorReporting: true });
};

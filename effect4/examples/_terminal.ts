/**
 * Terminal helpers shared by the examples: the command line, stdin line by
 * line, stdout, and running a program with one-line errors and exit codes.
 *
 * @module
 */
import { Cause, Data, Effect, Exit, Option, type Scope } from "effect";
import { DenoRuntime, Printable } from "../mod.ts";

/** Bad command-line input: the problem and the usage go to stderr, exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** What a program accepts besides `--help` / `-h`. */
export interface FlagSpec {
  /** Flags followed by a value: `--port 9999` or `--port=9999`. */
  readonly values?: ReadonlyArray<string>;
  /** Flags without a value: `--serve`. */
  readonly switches?: ReadonlyArray<string>;
  /** How many bare arguments (not flags) are allowed. Default 0. */
  readonly positionals?: number;
}

/** A parsed command line. */
export interface Flags {
  /** The value of a flag, or `undefined` when it was not given. */
  readonly value: (name: string) => string | undefined;
  /** True when the switch (or the flag) was given. */
  readonly has: (name: string) => boolean;
  /** The bare arguments, in order. */
  readonly positionals: ReadonlyArray<string>;
}

/**
 * Parses `args` against `spec`: an unknown flag, a flag without its value,
 * a flag given twice or too many bare arguments fail with a {@link UsageError}.
 */
export const parseFlags = (
  args: ReadonlyArray<string>,
  spec: FlagSpec,
): Effect.Effect<Flags, UsageError> =>
  Effect.suspend(() => {
    const takesValue = new Set(spec.values ?? []);
    const isSwitch = new Set([...(spec.switches ?? []), "--help", "-h"]);
    const given = new Map<string, string | true>();
    const positionals: Array<string> = [];
    const problem = (message: string) => Effect.fail(new UsageError({ message }));
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (!arg.startsWith("-") || arg === "-") {
        positionals.push(arg);
        continue;
      }
      const eq = arg.indexOf("=");
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      let value: string | true;
      if (takesValue.has(name)) {
        const next = eq > 0 ? arg.slice(eq + 1) : args[++i];
        if (next === undefined || next === "" || (eq < 0 && next.startsWith("--"))) {
          return problem(`${name} needs a value`);
        }
        value = next;
      } else if (isSwitch.has(name) && eq < 0) {
        value = true;
      } else {
        return problem(`unknown option ${Printable.escape(arg, { maxLength: 64 })}`);
      }
      if (given.has(name)) return problem(`${name} given twice`);
      given.set(name, value);
    }
    if (positionals.length > (spec.positionals ?? 0)) {
      return problem(
        `unexpected argument ${
          Printable.escape(positionals[spec.positionals ?? 0], { maxLength: 64 })
        }`,
      );
    }
    return Effect.succeed({
      value: (name) => {
        const v = given.get(name);
        return typeof v === "string" ? v : undefined;
      },
      has: (name) => given.has(name),
      positionals,
    });
  });

/** `host:port` as an address, bracketing an IPv6 host. */
export const hostPort = (host: string, port: string): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;

/**
 * Returns a scoped Effect giving a reader of stdin lines: each run of the
 * reader gives the next line (without its `\n` or `\r\n`), or `None` at end
 * of input. Closing the scope cancels the stdin stream, which ends its
 * pending read on a terminal and on a pipe alike; a read left pending would
 * keep the process alive after the program is done.
 */
export const stdinLines: Effect.Effect<Effect.Effect<Option.Option<string>>, never, Scope.Scope> =
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader()),
      (reader) => Effect.promise(() => reader.cancel().catch(() => {})),
    ),
    (reader) => {
      let buffered = "";
      let done = false;
      return Effect.promise(async (): Promise<Option.Option<string>> => {
        while (true) {
          const newline = buffered.indexOf("\n");
          if (newline >= 0) {
            const line = buffered.slice(0, newline).replace(/\r$/, "");
            buffered = buffered.slice(newline + 1);
            return Option.some(line);
          }
          if (done) {
            if (buffered === "") return Option.none();
            const rest = buffered;
            buffered = "";
            return Option.some(rest);
          }
          const { value, done: end } = await reader.read();
          if (end) done = true;
          else buffered += value;
        }
      });
    },
  );

const encoder = new TextEncoder();

/** Writes text to stdout, all of it. */
export const write = (text: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(await Deno.stdout.write(bytes));
  });

/**
 * Runs an example's main Effect as the program. `--help` is the caller's to
 * handle. A {@link UsageError} prints `NAME: problem` and the usage to stderr
 * and exits with 2; any other failure prints `NAME: message` (escaped: it may
 * quote a peer) and exits with 1. Everything is closed before the exit; a
 * clean finish ends the process once nothing is pending.
 */
export const runExample = <E extends { readonly message: string }>(
  name: string,
  usage: string,
  main: Effect.Effect<void, E | UsageError>,
): void =>
  DenoRuntime.runMain(main, {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return onExit(0);
      const failure = Cause.findErrorOption(exit.cause);
      if (Option.isNone(failure)) {
        console.error(Cause.pretty(exit.cause));
        return onExit(1);
      }
      const error = failure.value as E | UsageError;
      console.error(`${name}: ${Printable.escape(error.message)}`);
      if (error instanceof UsageError) {
        console.error(usage);
        return onExit(2);
      }
      onExit(1);
    },
  });

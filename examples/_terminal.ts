/**
 * Terminal helpers shared by the examples: command-line flags, reading stdin
 * line by line and writing text to stdout, as Effects.
 *
 * @module
 */
import { Effect, Option } from "effect";

/**
 * A reader of `--name VALUE` flags: the value after `name`, `""` when the
 * flag is last (so a missing value is reported as bad input), or `undefined`
 * when the flag is absent.
 */
export const flags = (args: ReadonlyArray<string>) => (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] ?? "" : undefined;
};

/**
 * Returns an Effect that reads the next line of stdin (without its `\n` or
 * `\r\n`), or `None` at end of input. Every run of it reads the next line.
 */
export const stdinLines = (): Effect.Effect<Option.Option<string>> => {
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
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
};

const encoder = new TextEncoder();

/** Writes text to stdout. */
export const write = (text: string): Effect.Effect<void> =>
  Effect.promise(() => Deno.stdout.write(encoder.encode(text))).pipe(Effect.asVoid);

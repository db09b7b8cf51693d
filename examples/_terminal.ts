/**
 * Terminal helpers shared by the examples: reading stdin line by line and
 * writing text to stdout, as Effects.
 *
 * @module
 */
import { Effect, Option } from "effect";

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

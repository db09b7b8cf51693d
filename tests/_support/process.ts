// Child processes: python3 snippets, the examples run as a user would, and
// this process's own descriptors.
import { repoPath } from "./paths.ts";

const decoder = new TextDecoder();

/**
 * Runs python3 code with a timeout; returns its stdout. Rejects when python3
 * fails or is missing (guard the test with `it.skipIf(missing("python3"))`).
 */
export const python = async (code: string, timeoutMs = 20_000): Promise<string> => {
  const out = await new Deno.Command("python3", {
    args: ["-c", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  if (!out.success) throw new Error(`python failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
};

/**
 * Runs an example as a user would (`deno run FLAGS examples/FILE`), types
 * `input` on its stdin, and returns its exit status and output.
 */
export const runExample = async (
  file: string,
  flags: ReadonlyArray<string>,
  input: string,
): Promise<Deno.CommandOutput> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, repoPath(`../examples/${file}`)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  return await child.output();
};

/** Number of open file descriptors of this process. */
export const openFds = (): number => [...Deno.readDirSync("/proc/self/fd")].length;

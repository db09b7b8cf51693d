// Running the examples as programs, as a user would: `deno run FLAGS
// examples/FILE ARGS`, with stdin closed, or held open and typed into.

const decoder = new TextDecoder();

/** Absolute path of an example. */
export const examplePath = (file: string): string =>
  decodeURIComponent(new URL(`../../examples/${file}`, import.meta.url).pathname);

/** The command line that runs an example. */
export const exampleArgv = (
  file: string,
  flags: ReadonlyArray<string>,
  args: ReadonlyArray<string> = [],
): Array<string> => [Deno.execPath(), "run", "-q", ...flags, examplePath(file), ...args];

/** An example's exit code and output, run with stdin closed. */
export const runToEnd = async (
  file: string,
  flags: ReadonlyArray<string>,
  args: ReadonlyArray<string>,
  timeoutMs = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> => {
  const [cmd, ...rest] = exampleArgv(file, flags, args);
  const out = await new Deno.Command(cmd, {
    args: rest,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
};

/** A running example: its stdin stays open until `close`. */
export interface Running {
  /** Types text on its stdin. */
  readonly type: (text: string) => Promise<void>;
  /** The next line of its stdout (without `\n`); fails if stdout ends or `ms` (20 s) pass first. */
  readonly nextLine: (ms?: number) => Promise<string>;
  /** Its stdout read so far plus up to its end. */
  readonly rest: () => Promise<string>;
  /** The exit code, or null when it has not exited within `ms` (it is then killed). */
  readonly exitWithin: (ms: number) => Promise<number | null>;
  /** Kills it if still running and releases everything. */
  readonly close: () => Promise<void>;
  /** Its process id. */
  readonly pid: number;
}

/** Starts an example with stdin and stdout piped; stdin is held open. */
export const start = (
  file: string,
  flags: ReadonlyArray<string>,
  args: ReadonlyArray<string> = [],
): Running => {
  const [cmd, ...rest] = exampleArgv(file, flags, args);
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  // Drain stderr so the child never blocks on it.
  let errors = "";
  const drained = (async () => {
    while (true) {
      const { value, done } = await stderr.read();
      if (done) return;
      errors += value;
    }
  })();
  let buffered = "";
  let ended = false;
  // A read still running after a timed-out nextLine; the next call reuses it.
  let pending: Promise<void> | undefined;
  const fill = async () => {
    const { value, done } = await reader.read();
    if (done) ended = true;
    else buffered += value;
  };
  let exited: number | null = null;
  const status = child.status.then((s) => (exited = s.code));
  return {
    pid: child.pid,
    type: (text) => writer.write(new TextEncoder().encode(text)),
    nextLine: async (ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!buffered.includes("\n")) {
        if (ended) throw new Error(`output ended: ${JSON.stringify(buffered)} ${errors}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((
          r,
        ) => (timer = setTimeout(() => r("late"), deadline - Date.now())));
        const filled = await Promise.race([pending ??= fill(), late]);
        clearTimeout(timer);
        if (filled === "late") {
          throw new Error(`no line within ${ms} ms: ${JSON.stringify(buffered)}`);
        }
        pending = undefined;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    rest: async () => {
      while (!ended) {
        await (pending ??= fill());
        pending = undefined;
      }
      const all = buffered;
      buffered = "";
      return all;
    },
    exitWithin: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
      const code = await Promise.race([status, timeout]);
      clearTimeout(timer);
      return code;
    },
    close: async () => {
      if (exited === null) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await status;
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await drained.catch(() => {});
    },
  };
};

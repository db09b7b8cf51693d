/**
 * Child processes of the benchmark: every one is registered so that an
 * interrupted benchmark (Ctrl-C, SIGTERM, an exit) kills them all, runs to
 * completion are bounded in time, and long-running ones (servers, the idle
 * load) are read line by line.
 *
 * @module
 */

/** Every child still running. */
const live = new Set<Deno.ChildProcess>();

/** Kills every child still running (used on interruption and exit). */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    killAll();
    Deno.exit(130);
  });
}
globalThis.addEventListener("unload", killAll);

/** A command that raises its open-files limit to the hard limit, then runs `cmd`. */
export const withUlimit = (cmd: ReadonlyArray<string>): string[] => [
  "/bin/sh", // by its path: whatever PATH holds
  "-c",
  'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
  "sh",
  ...cmd,
];

/** What a finished command printed. */
export interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; it is killed after `timeoutMs`. */
export async function runCommand(
  cmd: ReadonlyArray<string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<Output> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const timer = setTimeout(() => kill(child), options.timeoutMs ?? 120_000);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL"): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/**
 * A long-running child whose stdout is read line by line and whose last few
 * KiB of output are kept for error messages.
 */
export class Child {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  private readonly child: Deno.ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private stdoutDone = false;
  private exited = false;
  private tail = "";

  constructor(readonly cmd: ReadonlyArray<string>, cwd?: string) {
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(this.child);
    this.pid = this.child.pid;
    this.status = this.child.status.then((status) => {
      this.exited = true;
      live.delete(this.child);
      return status;
    });
    this.readLines(this.child.stdout);
    this.keepTail(this.child.stderr);
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return !this.exited;
  }

  /** The end of what it printed, for error messages. */
  output(): string {
    return this.tail.trim();
  }

  /** The next stdout line matching `pattern`, or an error when it exits or `timeoutMs` passes first. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      while (this.lines.length > 0) {
        const match = this.lines.shift()!.match(pattern);
        if (match) return match;
      }
      if (this.stdoutDone) {
        await this.status;
        throw new Error(`exited before printing ${pattern}: ${this.output()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`printed no ${pattern} within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Asks it to stop with SIGINT (servers exit cleanly and write profiles), then kills it after 3 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    kill(this.child, "SIGINT");
    const timer = setTimeout(() => kill(this.child), 3000);
    await this.status;
    clearTimeout(timer);
  }

  private remember(text: string): void {
    this.tail = (this.tail + text).slice(-4000);
  }

  private async readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        this.remember(text);
        const parts = (partial + text).split("\n");
        partial = parts.pop()!;
        this.lines.push(...parts);
        if (this.lines.length > 1000) this.lines.splice(0, this.lines.length - 1000);
        this.wake?.();
      }
    } catch {
      // the process is gone
    }
    if (partial !== "") this.lines.push(partial);
    this.stdoutDone = true;
    this.wake?.();
  }

  private async keepTail(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.remember(text);
    } catch {
      // the process is gone
    }
  }
}

/**
 * What the suspend-cost harness shares between the Effect 3 driver
 * (`bench/suspend_effect3.ts`) and the Effect 4 one (`effect4/bench/suspend.ts`),
 * so both measure the same thing the same way: an echo peer in a process of
 * its own (the raw Deno echo server of the benchmark), rounds timed with
 * `performance.now()` and their median, and the report line. Effect-free.
 *
 * @module
 */

/** One measured figure: the median and range over the rounds, per operation. */
export interface Figure {
  /** What was measured. */
  readonly name: string;
  /** Median over the rounds, microseconds of wall time per operation. */
  readonly medianUs: number;
  /** Fastest and slowest round, microseconds of wall time per operation. */
  readonly rangeUs: readonly [number, number];
  /**
   * Median over the rounds, microseconds of this process's CPU time (user +
   * system) per operation: less disturbed than wall time by other load.
   */
  readonly cpuUs: number;
  /** Anything else counted per operation (e.g. AsyncResources made). */
  readonly perOp?: Readonly<Record<string, number>>;
}

/** The raw Deno echo server of the benchmark, in a child process; stop() kills it. */
export const startEchoPeer = async (): Promise<{ port: number; stop: () => Promise<void> }> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--allow-net=127.0.0.1",
      new URL("../servers/raw.ts", import.meta.url).pathname,
      "--proto",
      "echo",
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on .*:\d+/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the echo peer ended before listening: ${seen}`);
    seen += value;
  }
  reader.releaseLock();
  const port = Number(/:(\d+)/.exec(seen)![1]);
  return {
    port,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
};

/** This process's CPU time so far (user + system), in microseconds. */
const cpuMicros = (): number => {
  const usage = (globalThis as unknown as {
    process: { cpuUsage(): { user: number; system: number } };
  }).process.cpuUsage();
  return usage.user + usage.system;
};

/**
 * Runs `round(ops)` `rounds` times after one warm-up round and gives the
 * median time per operation. `count()`, when given, is read around each
 * round: its growth per operation is reported as `perOp[countName]`.
 */
export const measure = async (
  name: string,
  options: {
    readonly rounds: number;
    readonly ops: number;
    readonly round: (ops: number) => Promise<void>;
    readonly count?: { readonly name: string; readonly read: () => number };
  },
): Promise<Figure> => {
  await options.round(options.ops);
  const times: number[] = [];
  const cpu: number[] = [];
  const counted: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const before = options.count?.read() ?? 0;
    const cpuBefore = cpuMicros();
    const start = performance.now();
    await options.round(options.ops);
    times.push(((performance.now() - start) * 1000) / options.ops);
    cpu.push((cpuMicros() - cpuBefore) / options.ops);
    if (options.count) counted.push((options.count.read() - before) / options.ops);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const middle = Math.floor(times.length / 2);
  return {
    name,
    medianUs: times[middle],
    rangeUs: [times[0], times[times.length - 1]],
    cpuUs: cpu[middle],
    ...(options.count ? { perOp: { [options.count.name]: Math.max(...counted) } } : {}),
  };
};

/** A raw Deno round trip (write 64 bytes, read them back), the floor both faces sit on. */
export const rawRoundTrips = async (port: number, ops: number): Promise<void> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const message = new Uint8Array(64).fill(0x61);
  const buffer = new Uint8Array(64 * 1024);
  for (let i = 0; i < ops; i++) {
    await conn.write(message);
    let got = 0;
    while (got < message.length) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("the echo peer closed");
      got += n;
    }
  }
  conn.close();
};

/** The size of the message each round trip sends and reads back. */
export const MESSAGE_BYTES = 64;

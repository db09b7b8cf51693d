// Workers: a supervisor of real processes. examples/workers runs N echo
// servers on one port (reusePort); the supervisor restarts one that dies and
// stops them all gracefully on SIGTERM, on Ctrl-C at a terminal, and when it
// is itself killed. Workers.start is also driven in-process with small
// programs that crash, or ignore SIGTERM, to see the back-off and the kill.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Exit, Logger } from "effect";
import { Workers } from "../mod.ts";
import { exampleArgv, type Running, start } from "./_support/examples.ts";
import { freePort } from "./_support/net.ts";
import { needs } from "./_support/needs.ts";
import { runOnPty } from "./_support/pty.ts";

const SUPERVISOR = ["--allow-run", "--allow-read"];

/** The greeting of one new connection: which worker took it. */
const greeting = async (port: number): Promise<string> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buffer = new Uint8Array(64);
    let text = "";
    const deadline = setTimeout(() => conn.close(), 10_000);
    while (!text.includes("\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    clearTimeout(deadline);
    return text.trim();
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the deadline.
    }
  }
};

/** True while a process with this id exists (and is not a zombie). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
};

/** Reads `count` lines that match `pattern` (others are skipped); their matches. */
const linesMatching = async (
  supervisor: Running,
  pattern: RegExp,
  count: number,
): Promise<Array<RegExpMatchArray>> => {
  const found: Array<RegExpMatchArray> = [];
  while (found.length < count) {
    const match = (await supervisor.nextLine(30_000)).match(pattern);
    if (match !== null) found.push(match);
  }
  return found;
};

const READY = /^worker (\d+) ready on 127\.0\.0\.1:\d+ \(pid (\d+)\)$/;

/** Starts the example supervisor with `count` workers; resolves once all are ready. */
const startSupervisor = async (count: number) => {
  const port = freePort();
  const supervisor = start("workers/supervisor.ts", SUPERVISOR, [
    ...["--port", String(port), "--workers", String(count)],
  ]);
  const ready = await linesMatching(supervisor, READY, count);
  const pids = new Map(ready.map((match) => [Number(match[1]), Number(match[2])]));
  return { supervisor, port, pids };
};

describe("examples/workers: N servers on one port under a supervisor", () => {
  it("connections spread over the workers; one that is killed is started again", async () => {
    const { supervisor, port, pids } = await startSupervisor(2);
    try {
      expect([...pids.keys()].sort()).toEqual([0, 1]);
      // The kernel spreads connections over the workers (all 20 to one: chance 2⁻¹⁹).
      const greetings = new Set<string>();
      for (let i = 0; i < 20; i++) greetings.add(await greeting(port));
      expect(greetings).toEqual(new Set(["worker 0", "worker 1"]));

      Deno.kill(pids.get(0)!, "SIGKILL");
      const [[, index, pid]] = await linesMatching(supervisor, READY, 1);
      expect(index).toBe("0");
      expect(Number(pid)).not.toBe(pids.get(0));
      expect(alive(Number(pid))).toBe(true);
    } finally {
      await supervisor.close();
    }
  }, 60_000);

  it("SIGTERM to the supervisor stops every worker gracefully, then it exits 0", async () => {
    const { supervisor, pids } = await startSupervisor(2);
    try {
      Deno.kill(supervisor.pid, "SIGTERM");
      const stopped = await linesMatching(supervisor, /^worker (\d+) stopped$/, 2);
      expect(stopped.map((match) => match[1]).sort()).toEqual(["0", "1"]);
      expect(await supervisor.exitWithin(20_000)).toBe(0);
      expect([...pids.values()].filter(alive)).toEqual([]);
    } finally {
      await supervisor.close();
    }
  }, 60_000);

  it("a supervisor killed with SIGKILL leaves no workers: they stop by themselves", async () => {
    const { supervisor, pids } = await startSupervisor(2);
    try {
      Deno.kill(supervisor.pid, "SIGKILL");
      // The workers write to the same output the supervisor had.
      const stopped = await linesMatching(supervisor, /^worker (\d+) stopped$/, 2);
      expect(stopped.map((match) => match[1]).sort()).toEqual(["0", "1"]);
      for (let i = 0; i < 100 && [...pids.values()].some(alive); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect([...pids.values()].filter(alive)).toEqual([]);
    } finally {
      for (const pid of pids.values()) if (alive(pid)) Deno.kill(pid, "SIGKILL");
      await supervisor.close();
    }
  }, 60_000);

  needs("python3", it)(
    "Ctrl-C at a terminal: the supervisor alone gets it and stops each worker once, gracefully",
    async () => {
      const port = freePort();
      const argv = exampleArgv("workers/supervisor.ts", SUPERVISOR, [
        ...["--port", String(port), "--workers", "2"],
      ]);
      const result = await runOnPty(argv, [
        { waitFor: " ready on " },
        { waitFor: " ready on " },
        { type: "\x03" },
      ], { exitWithinMs: 20_000 });
      expect(result.error).toBeUndefined();
      expect(result.code).toBe(0);
      // Had the workers had the Ctrl-C too, the supervisor's SIGTERM would be their second
      // signal, which exits at once, without the graceful stop that prints these.
      expect(result.output).toContain("worker 0 stopped");
      expect(result.output).toContain("worker 1 stopped");
    },
    60_000,
  );
});

/** Runs `effect` with every log message collected in `logs`. */
const withLogs = <A, E>(logs: Array<string>, effect: Effect.Effect<A, E>) =>
  Effect.provide(
    effect,
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ message }) => {
        logs.push(Array.isArray(message) ? message.join(" ") : String(message));
      }),
    ),
  );

const deno = (code: string): Workers.Options => ({
  args: ["eval", code],
  stdout: "null",
  stderr: "null",
});

describe("Workers.start", () => {
  it.live(
    "a worker that keeps failing is started again after doubling delays, up to the most",
    () => {
      const logs: Array<string> = [];
      return withLogs(
        logs,
        Effect.scoped(Effect.gen(function* () {
          const supervisor = yield* Workers.start({
            ...deno("Deno.exit(3)"),
            count: 1,
            restartDelay: "50 millis",
            maxRestartDelay: "200 millis",
          });
          while ((yield* supervisor.restarts) < 4) yield* Effect.sleep("50 millis");
        })).pipe(Effect.timeout("30 seconds")),
      ).pipe(Effect.map(() => {
        const delays = logs.filter((line) => line.includes("exited with code 3"))
          .map((line) => Number(/again in (\d+) ms/.exec(line)?.[1]));
        expect(delays.slice(0, 4)).toEqual([50, 100, 200, 200]);
      }));
    },
    60_000,
  );

  it.live(
    "a worker that ignores the stop signal is killed after stopTimeout",
    () =>
      Effect.gen(function* () {
        const dir = yield* Effect.promise(() => Deno.makeTempDir({ prefix: "fibernet-workers-" }));
        const logs: Array<string> = [];
        let pid = 0;
        yield* withLogs(
          logs,
          Effect.scoped(Effect.gen(function* () {
            const supervisor = yield* Workers.start({
              ...deno(
                `Deno.addSignalListener("SIGTERM", () => {});` +
                  `Deno.writeTextFileSync(${JSON.stringify(`${dir}/up`)}, "");` +
                  `setInterval(() => {}, 1000);`,
              ),
              count: 1,
              stopTimeout: "300 millis",
            });
            pid = (yield* supervisor.pids)[0]!;
            // Stop only once it listens for SIGTERM (before, SIGTERM would end it).
            while (
              !(yield* Effect.promise(() => Deno.stat(`${dir}/up`).then(() => true, () => false)))
            ) {
              yield* Effect.sleep("50 millis");
            }
          })),
        );
        yield* Effect.promise(() => Deno.remove(dir, { recursive: true }));
        expect(logs).toContain("stopping 1 worker(s) with SIGTERM");
        expect(logs).toContain("1 worker(s) still running after 300 ms: killing them");
        expect(alive(pid)).toBe(false);
      }).pipe(Effect.timeout("30 seconds")),
    60_000,
  );

  it.live("a program that cannot be started is a WorkerSpawnError", () =>
    Effect.gen(function* () {
      const exit = yield* Workers.start({ command: "/nonexistent/worker", args: [] }).pipe(
        Effect.scoped,
        Effect.exit,
      );
      expect(Exit.isFailure(exit)).toBe(true);
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error._tag).toBe("WorkerSpawnError");
        expect(exit.cause.error.message).toMatch(/^cannot start \/nonexistent\/worker: /);
      } else {
        expect.fail(`not a typed failure: ${exit}`);
      }
    }));
});

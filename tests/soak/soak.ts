/**
 * The soak run: one server (tests/soak/server.ts, a child process) under
 * echo, churn, bulk and upload traffic at once, for a fixed time, over
 * 127.0.0.1 only. Echo clients use the server's echo listener (a handler in a
 * fiber, which counts what it echoes); churn and bulk use its copy listener
 * (`Server.echo`, a copy loop the server runs without a fiber). Every byte echoed is compared with what was sent; every
 * upload's SHA-256 is checked three ways (the sender's verdict, the hash of
 * the data computed here, the hash of the file the server stored). The
 * server's RSS and open descriptors are read from /proc/PID at baseline
 * (after a warm-up), at their peak, and after the clients have left.
 *
 *   deno task soak [--seconds 60] [--out FILE]
 *   deno run -A tests/soak/soak.ts [--seconds 60] [--out tests/soak/last-run.json]
 *
 * Exits 0 only if: no client error; no mismatched byte or checksum; no
 * server-side handler failure or logged warning; the echo handler's own count
 * of bytes echoed and the uploads stored equal the clients' verified counts; every
 * tutorial-protocol upload is on disk with its checksum and no partial or
 * stray file is left; the server's open descriptors are back within +5 of
 * baseline and its RSS under baseline + 64 MiB within 30 s of the clients
 * leaving (a generous bound on purpose: V8 keeps heap it has grown and gives
 * it back only after some idle time); its V8 heap in use after a full GC is
 * within 16 MiB of baseline (the sharper leak check); the soak's own
 * descriptors are back within +5; and the server exits 0 on SIGTERM.
 *
 * Every loop is bounded in count and time; a watchdog ends the whole run
 * (and the server) if it overruns by four minutes.
 *
 * @module
 */
import { Cause, Duration, Effect, Option } from "effect";
import { type Connection, FileTransfer, Tcp } from "../../mod.ts";

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

const usage = "usage: soak.ts [--seconds N] [--out FILE]";

const argValue = (name: string): string | undefined => {
  const i = Deno.args.indexOf(name);
  if (i < 0) return undefined;
  const value = Deno.args[i + 1];
  if (value === undefined || value.startsWith("--")) {
    console.error(`soak: ${name} needs a value\n${usage}`);
    Deno.exit(2);
  }
  return value;
};
for (const arg of Deno.args) {
  if (arg.startsWith("--") && arg !== "--seconds" && arg !== "--out") {
    console.error(`soak: unknown argument ${arg}\n${usage}`);
    Deno.exit(2);
  }
}

const SECONDS = Number(argValue("--seconds") ?? "60");
if (!Number.isFinite(SECONDS) || SECONDS < 1 || SECONDS > 3600) {
  console.error(`soak: --seconds must be a number from 1 to 3600\n${usage}`);
  Deno.exit(2);
}
const here = (file: string) => decodeURIComponent(new URL(file, import.meta.url).pathname);
const OUT = argValue("--out") ?? here("./last-run.json");
const REPO = here("../../");

const MiB = 1024 * 1024;
/** Allowed growth of the server's descriptor count over its baseline. */
const FD_MARGIN = 5;
/** Allowed growth of the server's RSS over its baseline (generous: V8 keeps heap it grew). */
const RSS_MARGIN = 64 * MiB;
/** Longest wait, after the clients have left, for the server's RSS and fds to come back. */
const SETTLE_SECONDS = 30;
/** Allowed growth of the server's V8 heap (used, after a full GC) over its baseline. */
const HEAP_MARGIN = 16 * MiB;
const WARMUP_SECONDS = Math.min(5, Math.max(1, SECONDS / 10));
/** The watchdog: the whole run, warm-up, settling and shutdown included, or the run fails. */
const LIMIT_SECONDS = SECONDS + WARMUP_SECONDS + 240;

const ECHO_CLIENTS = 100;
const CHURN_WORKERS = 4;
const BULK_WORKERS = 3;
const UPLOAD_WORKERS = 2;
/** Hard caps on rounds, so every loop is bounded in count as well as in time. */
const MAX_ECHO_ROUNDS = 1_000_000;
const MAX_CHURN_ROUNDS = 200_000;
const MAX_BULK_ROUNDS = 10_000;
const MAX_UPLOAD_ROUNDS = 10_000;
const BULK_ROUND_BYTES = 64 * MiB;
/** A worker that fails this often stops (the run has failed anyway). */
const MAX_ERRORS_PER_WORKER = 5;

const CONNECT_TIMEOUT = Duration.seconds(10);
/** An echo session: up to 500 round trips on one connection. */
const SESSION_TIMEOUT = Duration.seconds(120);
/** A batch of CHURN_BATCH connect–echo–close rounds. */
const BATCH_TIMEOUT = Duration.seconds(120);
const CHURN_BATCH = 50;
const BULK_ROUND_TIMEOUT = Duration.seconds(120);
const UPLOAD_TIMEOUT = Duration.seconds(120);

// ---------------------------------------------------------------------------
// Data: every payload is a slice of a random pool, so checking is a compare
// ---------------------------------------------------------------------------

/** Random bytes, twice over, so any slice of up to POOL bytes at any offset is contiguous. */
const POOL = 1 * MiB + 13; // not a power of two: a lost or repeated chunk misaligns the pattern
const pool = new Uint8Array(2 * POOL);
for (let i = 0; i < POOL; i += 65536) {
  crypto.getRandomValues(pool.subarray(i, Math.min(POOL, i + 65536)));
}
pool.copyWithin(POOL, 0, POOL);

/** The bytes of the endless stream `pool[0..POOL)` repeated, from `position`, `n` long (n ≤ POOL). */
const slice = (position: number, n: number): Uint8Array => {
  const start = position % POOL;
  return pool.subarray(start, start + n);
};

/** True when `chunk` equals the stream at `position`. */
const matches = (chunk: Uint8Array, position: number): boolean => {
  let start = position % POOL;
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== pool[start]) return false;
    if (++start === POOL) start = 0;
  }
  return true;
};

const randomInt = (min: number, max: number): number =>
  min + Math.floor(Math.random() * (max - min + 1));

/** Echo message sizes: mostly small, some medium, a few large. */
const echoSize = (): number => {
  const r = Math.random();
  return r < 0.7 ? randomInt(1, 512) : r < 0.95 ? randomInt(513, 16 * 1024) : randomInt(
    16 * 1024 + 1,
    256 * 1024,
  );
};

const hex = (digest: ArrayBuffer): string =>
  [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");

const sha256 = (bytes: Uint8Array): Promise<string> =>
  crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>).then(hex);

// ---------------------------------------------------------------------------
// Counters and errors
// ---------------------------------------------------------------------------

type Kind = "echo" | "churn" | "bulk" | "upload" | "tutorial";

const newCounters = () => ({
  connections: { echo: 0, churn: 0, bulk: 0, upload: 0, tutorial: 0 } as Record<Kind, number>,
  bytes: { echo: 0, churn: 0, bulk: 0, upload: 0, tutorial: 0 } as Record<Kind, number>,
  rounds: { echo: 0, churn: 0, bulk: 0, upload: 0, tutorial: 0 } as Record<Kind, number>,
  errors: 0,
  mismatches: 0,
  errorSamples: [] as Array<string>,
});
let counters = newCounters();

/** Shas of tutorial-protocol uploads not yet found on disk (their names are the server's). */
const tutorialShas: Array<string> = [];

class Mismatch {
  readonly _tag = "Mismatch";
  constructor(readonly message: string) {}
}

const recordError = (kind: Kind, cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    counters.errors++;
    const failure = Cause.failureOption(cause);
    if (Option.isSome(failure) && failure.value instanceof Mismatch) counters.mismatches++;
    if (counters.errorSamples.length < 20) {
      const text = Option.isSome(failure) && failure.value instanceof Mismatch
        ? failure.value.message
        : Cause.pretty(cause).split("\n").slice(0, 3).join(" | ");
      counters.errorSamples.push(`${kind}: ${text}`);
    }
  });

/** Fails with a timeout error if `effect` takes longer than `timeout`. */
const within = <A, E>(effect: Effect.Effect<A, E>, timeout: Duration.Duration, what: string) =>
  Effect.timeoutFail(effect, {
    duration: timeout,
    onTimeout: () => new Error(`${what} timed out after ${Duration.format(timeout)}`),
  });

/**
 * Runs `round` until the deadline or `maxRounds`, in batches of `batch`
 * rounds, each batch under `timeout`. (One timeout per batch, not per round:
 * an `Effect.timeout` costs about as much as a small echo round trip.) An
 * error is recorded and ends its batch; the loop goes on with the next, up
 * to MAX_ERRORS_PER_WORKER.
 */
const loop = (
  kind: Kind,
  deadline: number,
  maxRounds: number,
  timeout: Duration.Duration,
  batch: number,
  round: (n: number) => Effect.Effect<void, unknown>,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    let errors = 0;
    let n = 0;
    const rounds = Effect.gen(function* () {
      const end = Math.min(maxRounds, n + batch);
      while (n < end && Date.now() < deadline) yield* round(n++);
    });
    while (n < maxRounds && Date.now() < deadline) {
      const exit = yield* Effect.exit(within(rounds, timeout, `a batch of ${kind} rounds`));
      if (exit._tag === "Failure") {
        yield* recordError(kind, exit.cause);
        if (++errors >= MAX_ERRORS_PER_WORKER) return;
      }
    }
  });

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

interface Ports {
  readonly echo: number;
  /** The fiberless echo (`Server.echo`): churn and bulk go there. */
  readonly copy: number;
  readonly upload: number;
  readonly control: number;
}

const connect = (port: number, kind: Kind) =>
  Effect.tap(
    Tcp.connect(`127.0.0.1:${port}`, { timeout: CONNECT_TIMEOUT, noDelay: true }),
    () => Effect.sync(() => counters.connections[kind]++),
  );

/**
 * Sends one message and reads the echo; checks every byte. Messages over 64
 * KiB are written and read at once (so neither side can stall on full socket
 * buffers); smaller ones in turn, which is much cheaper than two fibers.
 */
const echoOnce = (conn: Connection.Connection, kind: Kind) =>
  Effect.gen(function* () {
    const size = kind === "churn" ? randomInt(1, 4096) : echoSize();
    const position = randomInt(0, POOL - 1);
    const data = slice(position, size);
    let back: Uint8Array;
    if (size <= 64 * 1024) {
      yield* conn.write(data);
      back = yield* conn.readExactly(size);
    } else {
      [, back] = yield* Effect.all([conn.write(data), conn.readExactly(size)], {
        concurrency: 2,
      });
    }
    if (!matches(back, position)) {
      return yield* Effect.fail(new Mismatch(`echo of ${size} bytes differs`));
    }
    counters.bytes[kind] += size;
  });

/**
 * A long-lived echo client: sessions of 50–500 rounds on one connection, then
 * a new connection, until the deadline.
 */
const echoClient = (ports: Ports, deadline: number): Effect.Effect<void> =>
  loop(
    "echo",
    deadline,
    MAX_ECHO_ROUNDS,
    SESSION_TIMEOUT,
    1,
    () =>
      Effect.scoped(Effect.gen(function* () {
        const conn = yield* connect(ports.echo, "echo");
        const rounds = randomInt(50, 500);
        for (let i = 0; i < rounds && Date.now() < deadline; i++) {
          yield* echoOnce(conn, "echo");
          counters.rounds.echo++;
        }
        // Half the sessions end politely (end of stream first), half just close.
        if (Math.random() < 0.5) {
          yield* endOfStream(conn);
        }
      })),
  );

/** Half-closes, then expects the server's end of stream and nothing before it. */
const endOfStream = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    yield* conn.closeWrite;
    const rest = yield* conn.read();
    if (Option.isSome(rest)) {
      return yield* Effect.fail(new Mismatch("bytes after the last echo"));
    }
  });

/** Churn: connect, one echo, close (or half-close and wait for the server's end). */
const churnWorker = (ports: Ports, deadline: number): Effect.Effect<void> =>
  loop(
    "churn",
    deadline,
    MAX_CHURN_ROUNDS,
    BATCH_TIMEOUT,
    CHURN_BATCH,
    () =>
      Effect.scoped(Effect.gen(function* () {
        const conn = yield* connect(ports.copy, "churn");
        yield* echoOnce(conn, "churn");
        if (Math.random() < 0.5) yield* endOfStream(conn);
        counters.rounds.churn++;
      })),
  );

/**
 * Bulk: one connection per round pushes BULK_ROUND_BYTES in random-sized
 * writes while a second fiber reads the echo back and checks every byte in
 * order; the round ends with a half-close and the server's end of stream.
 */
const bulkWorker = (ports: Ports, deadline: number): Effect.Effect<void> =>
  loop(
    "bulk",
    deadline,
    MAX_BULK_ROUNDS,
    BULK_ROUND_TIMEOUT,
    1,
    () =>
      Effect.scoped(Effect.gen(function* () {
        const conn = yield* connect(ports.copy, "bulk");
        const start = randomInt(0, POOL - 1);
        const total = BULK_ROUND_BYTES;
        const writer = Effect.gen(function* () {
          let sent = 0;
          while (sent < total) {
            const n = Math.min(total - sent, randomInt(1024, POOL));
            yield* conn.write(slice(start + sent, n));
            sent += n;
          }
          yield* conn.closeWrite;
        });
        const reader = Effect.gen(function* () {
          let received = 0;
          while (true) {
            const chunk = yield* conn.readBorrowed();
            if (Option.isNone(chunk)) break;
            if (received + chunk.value.length > total) {
              return yield* Effect.fail(new Mismatch(`more than the ${total} bytes sent`));
            }
            if (!matches(chunk.value, start + received)) {
              return yield* Effect.fail(
                new Mismatch(`bytes ${received}..${received + chunk.value.length} differ`),
              );
            }
            received += chunk.value.length;
            counters.bytes.bulk += chunk.value.length;
          }
          if (received !== total) {
            return yield* Effect.fail(
              new Mismatch(`${received} of ${total} bytes came back`),
            );
          }
        });
        yield* Effect.all([writer, reader], { concurrency: 2, discard: true });
        counters.rounds.bulk++;
      })),
  );

/** Upload file sizes: mostly small, some MiBs, a few large. */
const uploadSize = (): number => {
  const r = Math.random();
  return r < 0.05
    ? 0
    : r < 0.45
    ? randomInt(1, 64 * 1024)
    : r < 0.9
    ? randomInt(64 * 1024 + 1, 2 * MiB)
    : randomInt(2 * MiB + 1, 16 * MiB);
};

const randomBytes = (n: number): Uint8Array => {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
};

const promise = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => e });

/**
 * Uploads: three rounds in four are `FileTransfer.send` of a random file,
 * checked three ways (the sender's verdict, the SHA-256 computed here, and
 * the SHA-256 of the file the server stored); the fourth speaks the
 * tutorial's protocol by hand (size as text, wait for OK, raw bytes).
 */
const uploadWorker = (
  ports: Ports,
  deadline: number,
  worker: number,
  dirs: { readonly upload: string; readonly source: string },
): Effect.Effect<void> =>
  loop(
    "upload",
    deadline,
    MAX_UPLOAD_ROUNDS,
    UPLOAD_TIMEOUT,
    1,
    (n) =>
      n % 4 === 3 ? tutorialUpload(ports) : Effect.scoped(Effect.gen(function* () {
        const size = uploadSize();
        const data = randomBytes(size);
        const expected = yield* promise(() => sha256(data));
        const name = `soak-${worker}-${n}-${crypto.randomUUID().slice(0, 8)}.bin`;
        const source = `${dirs.source}/${name}`;
        yield* Effect.acquireRelease(
          promise(() => Deno.writeFile(source, data)),
          () => Effect.promise(() => Deno.remove(source).catch(() => {})),
        );
        const conn = yield* connect(ports.upload, "upload");
        const result = yield* FileTransfer.send(conn, source);
        if (result.sha256 !== expected || result.size !== size || result.storedAs !== name) {
          return yield* Effect.fail(
            new Mismatch(`${name}: the receiver confirmed ${JSON.stringify(result)}`),
          );
        }
        const storedPath = `${dirs.upload}/${result.storedAs}`;
        const stored = yield* promise(() => Deno.readFile(storedPath));
        const storedSha = yield* promise(() => sha256(stored));
        if (storedSha !== expected) {
          return yield* Effect.fail(
            new Mismatch(`${name}: stored file hashes to ${storedSha}, sent ${expected}`),
          );
        }
        yield* promise(() => Deno.remove(storedPath));
        counters.bytes.upload += size;
        counters.rounds.upload++;
      })),
  );

const readLine = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    let text = "";
    while (!text.includes("\n")) {
      const piece = yield* conn.readText(1024);
      if (Option.isNone(piece)) break;
      text += piece.value;
    }
    return text;
  });

const readAll = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    let text = "";
    while (true) {
      const piece = yield* conn.readText();
      if (Option.isNone(piece)) return text;
      text += piece.value;
    }
  });

/** The tutorial's client: size as decimal text, wait for the answer, the bytes, end of stream. */
const tutorialUpload = (ports: Ports) =>
  Effect.scoped(Effect.gen(function* () {
    const size = randomInt(0, 1 * MiB);
    const data = randomBytes(size);
    const expected = yield* promise(() => sha256(data));
    const conn = yield* connect(ports.upload, "tutorial");
    yield* conn.write(String(size));
    const ack = yield* readLine(conn);
    if (ack !== "OK\n") {
      return yield* Effect.fail(
        new Mismatch(`the server answered ${JSON.stringify(ack)}`),
      );
    }
    yield* conn.write(data);
    yield* conn.closeWrite;
    const verdict = yield* readAll(conn);
    if (verdict !== `DONE ${expected}\n`) {
      return yield* Effect.fail(
        new Mismatch(`expected DONE ${expected}, got ${JSON.stringify(verdict)}`),
      );
    }
    tutorialShas.push(expected);
    counters.bytes.tutorial += size;
    counters.rounds.tutorial++;
  }));

/** Every workload at once until `deadline`; resolves when every loop has stopped. */
const traffic = (
  ports: Ports,
  deadline: number,
  dirs: { readonly upload: string; readonly source: string },
): Effect.Effect<void> =>
  Effect.all(
    [
      ...Array.from({ length: ECHO_CLIENTS }, () => echoClient(ports, deadline)),
      ...Array.from({ length: CHURN_WORKERS }, () => churnWorker(ports, deadline)),
      ...Array.from({ length: BULK_WORKERS }, () => bulkWorker(ports, deadline)),
      ...Array.from({ length: UPLOAD_WORKERS }, (_, i) => uploadWorker(ports, deadline, i, dirs)),
    ],
    { concurrency: "unbounded", discard: true },
  );

// ---------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------

interface ServerStats {
  readonly echoConnections: number;
  readonly echoBytes: number;
  readonly echoErrors: number;
  readonly uploadConnections: number;
  readonly uploadsStored: number;
  readonly uploadBytes: number;
  readonly uploadErrors: number;
  readonly errorSamples: ReadonlyArray<string>;
  readonly echoActive: number;
  readonly copyActive: number;
  readonly uploadActive: number;
  readonly metrics: {
    readonly accepted: number;
    readonly failed: number;
    readonly bytesIn: number;
    readonly bytesOut: number;
  };
}

interface ServerMemory {
  readonly collected: boolean;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
}

const ask = <A>(ports: Ports, command: string): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const conn = yield* Tcp.connect(`127.0.0.1:${ports.control}`, { timeout: CONNECT_TIMEOUT });
      yield* conn.write(`${command}\n`);
      return JSON.parse(yield* readAll(conn)) as A;
    })).pipe(Effect.timeout("10 seconds")),
  );

const serverStats = (ports: Ports): Promise<ServerStats> => ask(ports, "stats");
/** A full garbage collection in the server, then its V8 heap figures. */
const serverGc = (ports: Ports): Promise<ServerMemory> => ask(ports, "gc");

interface Sample {
  readonly rss: number;
  readonly fds: number;
}

const sample = (pid: number | "self"): Sample => {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  let fds = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) fds++;
  return { rss: kb * 1024, fds };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Checks the files in the upload directory: every `upload-*.bin` (a tutorial
 * upload, named by the server) must hash to one of `shas`, each used once;
 * those are removed. Anything else is a leftover (a partial `.fnft-*` file,
 * an upload the client did not verify and remove).
 */
const verifyStoredTutorialUploads = async (dir: string, shas: ReadonlyArray<string>) => {
  const expected = [...shas];
  let verified = 0;
  let unmatched = 0;
  const leftovers: Array<string> = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (!entry.name.startsWith("upload-")) {
      leftovers.push(entry.name);
      continue;
    }
    const i = expected.indexOf(await sha256(await Deno.readFile(path)));
    if (i < 0) {
      unmatched++;
      continue;
    }
    expected.splice(i, 1);
    verified++;
    await Deno.remove(path);
  }
  return { verified, missing: expected.length, unmatched, leftovers };
};

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/** The server child, killed if this process has to give up. */
let serverProcess: Deno.ChildProcess | undefined;
const killServer = () => {
  try {
    serverProcess?.kill("SIGKILL");
  } catch {
    // Already gone.
  }
};

const main = async (): Promise<number> => {
  const uploadDir = await Deno.makeTempDir({ prefix: "fibernet-soak-uploads-" });
  const sourceDir = await Deno.makeTempDir({ prefix: "fibernet-soak-sources-" });
  const dirs = { upload: uploadDir, source: sourceDir };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      `--config=${REPO}deno.json`,
      "--allow-net=127.0.0.1",
      // For the control port's `gc`: a heap figure after a full collection shows a leak plainly.
      "--v8-flags=--expose-gc",
      `--allow-read=${uploadDir}`,
      `--allow-write=${uploadDir}`,
      here("./server.ts"),
      "--dir",
      uploadDir,
    ],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  serverProcess = child;
  const pid = child.pid;
  let childExited = false;
  const childStatus = child.status.then((status) => {
    childExited = true;
    return status;
  });

  // The server's output: the ready line, then logs (any warning is a failure).
  const serverLog: Array<string> = [];
  let serverWarnings = 0;
  let resolvePorts: (ports: Ports) => void = () => {};
  const ready = new Promise<Ports>((resolve) => (resolvePorts = resolve));
  const drain = async (stream: ReadableStream<Uint8Array>, isStdout: boolean) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (isStdout && line.startsWith("SOAK-READY ")) {
          resolvePorts(JSON.parse(line.slice("SOAK-READY ".length)));
          continue;
        }
        // Log lines go to stderr (runMain); anything else there is a warning too.
        const logLine = /^timestamp=\S+ level=/.test(line);
        if (/level=(WARN|ERROR|FATAL)/.test(line) || (!isStdout && !logLine)) serverWarnings++;
        serverLog.push(line);
        if (serverLog.length > 40) serverLog.shift();
      }
    }
  };
  const drained = Promise.all([drain(child.stdout, true), drain(child.stderr, false)]);

  const ports = await Promise.race([
    ready,
    sleep(30_000).then(() => undefined),
    childStatus.then(() => undefined),
  ]);
  if (ports === undefined) {
    console.error(`soak: the server did not start\n${serverLog.join("\n")}`);
    if (!childExited) child.kill("SIGKILL");
    return 1;
  }
  console.log(
    `soak: server pid ${pid}, echo :${ports.echo}, copy :${ports.copy}, upload :${ports.upload}, ` +
      `control :${ports.control}; ${SECONDS} s run after ${WARMUP_SECONDS} s warm-up`,
  );

  // Warm-up: the same traffic briefly, so JIT, buffers and pools reach their working size.
  await Effect.runPromise(traffic(ports, Date.now() + WARMUP_SECONDS * 1000, dirs));
  const warmup = counters;
  const warmupFiles = await verifyStoredTutorialUploads(uploadDir, tutorialShas);
  await sleep(2000);
  const baseline = sample(pid);
  const clientBaseline = sample("self");
  const statsBefore = await serverStats(ports);
  const heapBaseline = await serverGc(ports);
  counters = newCounters();
  tutorialShas.length = 0;
  console.log(`soak: baseline after warm-up: RSS ${mib(baseline.rss)}, ${baseline.fds} fds`);

  // The run, with the server sampled every 250 ms.
  const peak = { ...baseline };
  const series: Array<{ t: number } & Sample> = [];
  const started = Date.now();
  const sampler = setInterval(() => {
    if (childExited) return;
    try {
      const s = sample(pid);
      peak.rss = Math.max(peak.rss, s.rss);
      peak.fds = Math.max(peak.fds, s.fds);
      const t = Math.round((Date.now() - started) / 1000);
      if (series.length === 0 || t - series[series.length - 1].t >= 5) series.push({ t, ...s });
    } catch {
      // The process is gone: noticed below.
    }
  }, 250);
  const reporter = setInterval(() => {
    const c = counters;
    const total = c.bytes.echo + c.bytes.churn + c.bytes.bulk;
    console.log(
      `soak: ${Math.round((Date.now() - started) / 1000)} s: ` +
        `${Object.values(c.connections).reduce((a, b) => a + b, 0)} connections, ` +
        `${mib(total)} echoed, ${c.rounds.upload + c.rounds.tutorial} uploads, ` +
        `${c.errors} errors; server RSS ${mib(peak.rss)} peak, ${peak.fds} fds peak`,
    );
  }, 10_000);
  await Effect.runPromise(traffic(ports, started + SECONDS * 1000, dirs));
  const elapsed = (Date.now() - started) / 1000;
  clearInterval(reporter);

  // After: wait for the server to see every client gone, then let it settle.
  let statsAfter = await serverStats(ports);
  for (
    let i = 0;
    i < 50 && statsAfter.echoActive + statsAfter.copyActive + statsAfter.uploadActive > 0;
    i++
  ) {
    await sleep(200);
    statsAfter = await serverStats(ports);
  }
  const settleStarted = Date.now();
  await sleep(3000);
  let after = sample(pid);
  // Give it up to SETTLE_SECONDS if it is not back yet (V8 returns memory once it sees idle).
  while (
    (after.fds > baseline.fds + FD_MARGIN || after.rss >= baseline.rss + RSS_MARGIN) &&
    Date.now() - settleStarted < SETTLE_SECONDS * 1000
  ) {
    await sleep(500);
    after = sample(pid);
  }
  const settleSeconds = (Date.now() - settleStarted) / 1000;
  clearInterval(sampler);
  // Then a full collection: what is still on the heap is what the run left behind.
  const heapAfter = await serverGc(ports);
  const afterGc = sample(pid);
  const clientAfter = sample("self");
  statsAfter = await serverStats(ports);

  // Tutorial uploads: each stored file (generated name) must match one upload's checksum.
  const files = await verifyStoredTutorialUploads(uploadDir, tutorialShas);

  // Shut the server down the way a user would: SIGTERM, graceful drain, exit 0.
  const stopping = Date.now();
  if (!childExited) child.kill("SIGTERM");
  const status = await Promise.race([childStatus, sleep(20_000).then(() => undefined)]);
  if (status === undefined) child.kill("SIGKILL");
  const shutdownSeconds = (Date.now() - stopping) / 1000;
  await Promise.race([drained, sleep(2000)]);
  await Deno.remove(uploadDir, { recursive: true }).catch(() => {});
  await Deno.remove(sourceDir, { recursive: true }).catch(() => {});

  // Verdicts.
  const c = counters;
  const echoedByClients = c.bytes.echo + c.bytes.churn + c.bytes.bulk;
  // Churn and bulk go to the fiberless copy listener, which counts nothing of its own.
  const echoedByEchoClients = c.bytes.echo;
  const echoedByServer = statsAfter.echoBytes - statsBefore.echoBytes;
  const uploadsByClients = c.rounds.upload + c.rounds.tutorial;
  const uploadsByServer = statsAfter.uploadsStored - statsBefore.uploadsStored;
  const serverErrors = statsAfter.echoErrors + statsAfter.uploadErrors + statsAfter.metrics.failed;
  const checks: Array<[string, boolean, string]> = [
    [
      "no client errors",
      c.errors === 0 && warmup.errors === 0,
      `${c.errors} (+${warmup.errors} in warm-up)`,
    ],
    [
      "no byte or checksum mismatch",
      c.mismatches === 0 && warmup.mismatches === 0,
      `${c.mismatches}`,
    ],
    ["no server handler failure", serverErrors === 0, `${serverErrors}`],
    ["no server warnings or errors logged", serverWarnings === 0, `${serverWarnings}`],
    [
      "echo server echoed exactly the bytes its clients verified",
      echoedByServer === echoedByEchoClients,
      `server ${echoedByServer}, clients ${echoedByEchoClients}`,
    ],
    [
      "server stored exactly the uploads the clients verified",
      uploadsByServer === uploadsByClients,
      `server ${uploadsByServer}, clients ${uploadsByClients}`,
    ],
    [
      "every tutorial upload found on disk with its checksum",
      files.missing === 0 && files.unmatched === 0 && files.verified === c.rounds.tutorial &&
      warmupFiles.missing === 0 && warmupFiles.unmatched === 0,
      `${files.verified} verified, ${files.missing} missing, ${files.unmatched} unmatched` +
      ` (warm-up: ${warmupFiles.verified}, ${warmupFiles.missing}, ${warmupFiles.unmatched})`,
    ],
    [
      "no partial or stray file left",
      files.leftovers.length === 0 && warmupFiles.leftovers.length === 0,
      [...warmupFiles.leftovers, ...files.leftovers].join(", ") || "none",
    ],
    [
      `server fds back within +${FD_MARGIN} of baseline`,
      after.fds <= baseline.fds + FD_MARGIN,
      `${baseline.fds} → ${after.fds}`,
    ],
    [
      `server RSS back under baseline + ${RSS_MARGIN / MiB} MiB`,
      after.rss < baseline.rss + RSS_MARGIN,
      `${mib(baseline.rss)} → ${mib(after.rss)}`,
    ],
    [
      `server heap in use after a full GC within ${HEAP_MARGIN / MiB} MiB of baseline`,
      heapAfter.collected && heapAfter.heapUsed < heapBaseline.heapUsed + HEAP_MARGIN,
      `${mib(heapBaseline.heapUsed)} → ${mib(heapAfter.heapUsed)}` +
      (heapAfter.collected ? "" : " (gc unavailable)"),
    ],
    [
      `client fds back within +${FD_MARGIN} of baseline`,
      clientAfter.fds <= clientBaseline.fds + FD_MARGIN,
      `${clientBaseline.fds} → ${clientAfter.fds}`,
    ],
    [
      "server shut down with exit code 0 on SIGTERM",
      status !== undefined && status.code === 0,
      status === undefined ? "killed after 20 s" : `code ${status.code} in ${shutdownSeconds} s`,
    ],
  ];
  const ok = checks.every(([, passed]) => passed);

  const report = {
    date: new Date().toISOString(),
    ok,
    seconds: SECONDS,
    elapsed,
    warmupSeconds: WARMUP_SECONDS,
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    workload: {
      echoClients: ECHO_CLIENTS,
      churnWorkers: CHURN_WORKERS,
      bulkWorkers: BULK_WORKERS,
      bulkRoundBytes: BULK_ROUND_BYTES,
      uploadWorkers: UPLOAD_WORKERS,
    },
    connections: {
      total: Object.values(c.connections).reduce((a, b) => a + b, 0),
      ...c.connections,
    },
    bytesEchoed: {
      total: echoedByClients,
      echo: c.bytes.echo,
      churn: c.bytes.churn,
      bulk: c.bytes.bulk,
    },
    roundTrips: { echo: c.rounds.echo, churn: c.rounds.churn, bulk: c.rounds.bulk },
    uploads: {
      completed: uploadsByClients,
      fibernet: c.rounds.upload,
      tutorial: c.rounds.tutorial,
      bytes: c.bytes.upload + c.bytes.tutorial,
    },
    errors: c.errors,
    mismatches: c.mismatches,
    errorSamples: c.errorSamples,
    warmupErrors: warmup.errors,
    server: {
      pid,
      baseline,
      peak,
      after,
      settleSeconds,
      afterGc,
      heap: { baseline: heapBaseline, after: heapAfter, marginBytes: HEAP_MARGIN },
      rssMarginBytes: RSS_MARGIN,
      fdMargin: FD_MARGIN,
      series,
      stats: statsAfter,
      shutdownSeconds,
      exitCode: status?.code ?? null,
      log: serverLog,
    },
    client: { baseline: clientBaseline, after: clientAfter },
    checks: checks.map(([name, passed, detail]) => ({ name, passed, detail })),
  };
  await Deno.writeTextFile(OUT, JSON.stringify(report, null, 2) + "\n");

  const gib = (bytes: number) => `${(bytes / (1024 * MiB)).toFixed(2)} GiB`;
  console.log(
    [
      "",
      `soak: ${elapsed.toFixed(1)} s of echo, churn, bulk and uploads against one server`,
      `  connections  ${report.connections.total} (echo ${c.connections.echo}, churn ${c.connections.churn}, bulk ${c.connections.bulk}, upload ${
        c.connections.upload + c.connections.tutorial
      })`,
      `  echoed       ${gib(echoedByClients)} every byte checked (echo ${
        mib(c.bytes.echo)
      } in ${c.rounds.echo} round trips, churn ${mib(c.bytes.churn)}, bulk ${gib(c.bytes.bulk)})`,
      `  uploads      ${uploadsByClients} completed, SHA-256 verified (${c.rounds.upload} FileTransfer, ${c.rounds.tutorial} tutorial protocol, ${
        mib(report.uploads.bytes)
      })`,
      `  errors       ${c.errors} (mismatches ${c.mismatches})`,
      `  server RSS   ${mib(baseline.rss)} baseline, ${mib(peak.rss)} peak, ${
        mib(after.rss)
      } after ${settleSeconds.toFixed(1)} s`,
      `  server heap  ${mib(heapBaseline.heapUsed)} baseline, ${
        mib(heapAfter.heapUsed)
      } after (used, after a full GC; RSS then ${mib(afterGc.rss)})`,
      `  server fds   ${baseline.fds} baseline, ${peak.fds} peak, ${after.fds} after`,
      `  shutdown     ${status === undefined ? "killed" : `exit ${status.code}`} in ${
        shutdownSeconds.toFixed(2)
      } s`,
      "",
      ...checks.map(([name, passed, detail]) => `  ${passed ? "ok  " : "FAIL"} ${name}: ${detail}`),
      ...(c.errorSamples.length > 0 ? ["", "client errors:", ...c.errorSamples] : []),
      ...(ok ? [] : ["", "server log (last lines):", ...serverLog]),
      "",
      `soak: ${ok ? "passed" : "FAILED"}; written to ${OUT}`,
    ].join("\n"),
  );
  return ok ? 0 : 1;
};

if (import.meta.main) {
  const watchdog = setTimeout(() => {
    console.error(`soak: overran its time limit (${LIMIT_SECONDS} s); giving up`);
    killServer();
    Deno.exit(3);
  }, LIMIT_SECONDS * 1000);
  const code = await main().catch((error) => {
    console.error("soak: crashed:", error);
    killServer();
    return 1;
  });
  clearTimeout(watchdog);
  Deno.exit(code);
}

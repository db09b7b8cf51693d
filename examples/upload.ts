/**
 * The tutorial's file upload, made safe: a server that stores uploads in a
 * directory and a client that sends one file with a progress bar.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read --allow-write examples/upload.ts --serve --dir ./uploads --port 9999
 *   deno run --allow-net=127.0.0.1 --allow-read examples/upload.ts --send photo.png --to 127.0.0.1:9999
 *   deno run examples/upload.ts --help
 *
 * Every upload is checked (size and SHA-256) before it appears under its
 * name; a failed one leaves nothing behind. The server also accepts the
 * tutorial's own Python client (size as text, wait for the answer, raw
 * bytes) and stores its uploads as `upload-<date>-<time>-<id>.bin`.
 *
 * The server creates `--dir` if needed and is set up to face anyone: files
 * up to 64 MiB (`--max-size`), 16 uploads at once, 30 seconds of silence or
 * 10 minutes in all end an upload; it prints these limits at start. Names
 * and messages from peers are shown escaped (`Printable.escape`) on both
 * sides. The client checks its file before it connects; its progress line
 * fits the terminal and redraws in place (plain lines when not a terminal).
 *
 * @module
 */
import { Data, Duration, Effect, Layer } from "effect";
import {
  Address,
  type Connection,
  FileTransfer,
  Printable,
  Server,
  type SocketError,
  Tcp,
} from "../mod.ts";
import { hostPort, parseFlags, runExample, UsageError, write } from "./_terminal.ts";

const usage = `usage:
  upload.ts --serve --dir DIR [--port P] [--host H] [--max-size BYTES] [--overwrite]
  upload.ts --send FILE --to HOST:PORT [--name NAME]
  upload.ts --help

  --serve           receive files into DIR, created if missing (default 127.0.0.1:9999)
  --max-size BYTES  the largest file accepted (default 64 MiB)
  --overwrite       replace a file that already exists
  --send FILE       upload FILE to the server at HOST:PORT and print its verified SHA-256
  --name NAME       the name to store it under (default: FILE's own name)`;

/** Anything else that stops the program (a refused connection, a busy port): exit code 1. */
class RunError extends Data.TaggedError("RunError")<{ readonly message: string }> {}

const MiB = 1024 * 1024;

/** What a server open to anyone accepts. */
const LIMITS = {
  maxSize: 64 * MiB,
  maxConnections: 16,
  silence: Duration.seconds(30),
  // 64 MiB in 10 minutes needs about 110 KiB/s; a slower peer is cut off.
  perUpload: Duration.minutes(10),
  minRate: { bytes: MiB, per: Duration.seconds(20) },
};

const units = (bytes: number): string =>
  bytes >= 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB`
    : bytes >= MiB
    ? `${(bytes / MiB).toFixed(1)} MiB`
    : bytes >= 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${bytes} B`;

interface ServeCommand {
  readonly _tag: "serve";
  readonly dir: string;
  readonly address: string;
  readonly maxSize: number;
  readonly overwrite: boolean;
}
interface SendCommand {
  readonly _tag: "send";
  readonly file: string;
  readonly to: string;
  readonly name: string | undefined;
}
type Command = ServeCommand | SendCommand | { readonly _tag: "help" };

const SERVE_FLAGS = ["--dir", "--port", "--host", "--max-size", "--overwrite"];
const SEND_FLAGS = ["--to", "--name"];

/** Parses the command line, or says in one line what is wrong with it. */
export const parseArgs = (args: ReadonlyArray<string>): Effect.Effect<Command, UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, {
      values: ["--dir", "--port", "--host", "--max-size", "--send", "--to", "--name"],
      switches: ["--serve", "--overwrite"],
    });
    const problem = (message: string) => Effect.fail(new UsageError({ message }));
    if (flags.has("--help")) return { _tag: "help" } as const;
    const file = flags.value("--send");
    if (flags.has("--serve") === (file !== undefined)) {
      return yield* problem("give either --serve or --send FILE");
    }
    const mode = file === undefined ? "--serve" : "--send";
    const wrong = (file === undefined ? SEND_FLAGS : SERVE_FLAGS).find(flags.has);
    if (wrong !== undefined) return yield* problem(`${wrong} does not go with ${mode}`);
    if (file !== undefined) {
      const to = flags.value("--to");
      if (to === undefined) return yield* problem("--send needs --to HOST:PORT");
      return { _tag: "send", file, to, name: flags.value("--name") } as const;
    }
    const dir = flags.value("--dir");
    if (dir === undefined) return yield* problem("--serve needs --dir DIR");
    const port = flags.value("--port") ?? "9999";
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
      return yield* problem(`--port must be a number from 0 to 65535, got ${port}`);
    }
    const maxSize = flags.value("--max-size") ?? String(LIMITS.maxSize);
    if (!/^\d{1,16}$/.test(maxSize)) {
      return yield* problem(`--max-size must be a number of bytes, got ${maxSize}`);
    }
    return {
      _tag: "serve",
      dir,
      address: hostPort(flags.value("--host") ?? "127.0.0.1", port),
      maxSize: Number(maxSize),
      overwrite: flags.has("--overwrite"),
    } as const;
  });

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const say = (line: string) => Effect.sync(() => console.log(line));

/** Creates `dir` (and its parents) unless it exists; fails if it is not a directory. */
const makeDir = (dir: string): Effect.Effect<void, RunError> =>
  Effect.tryPromise({
    try: async () => {
      await Deno.mkdir(dir, { recursive: true });
      if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
    },
    catch: (cause) =>
      new RunError({
        message: `--dir ${dir}: ${cause instanceof Error ? cause.message : String(cause)}`,
      }),
  });

const serve = (command: ServeCommand): Effect.Effect<void, RunError> =>
  Effect.gen(function* () {
    yield* makeDir(command.dir);
    const handler = (conn: Connection.Connection) => {
      const peer = Address.format(conn.remoteAddress);
      return FileTransfer.receive(conn, {
        dir: command.dir,
        maxSize: command.maxSize,
        overwrite: command.overwrite,
        timeout: LIMITS.silence,
        deadline: LIMITS.perUpload,
        minRate: LIMITS.minRate,
      }).pipe(
        // The name and the error (which may quote the peer) come from the peer.
        Effect.flatMap((r) =>
          say(
            `stored ${Printable.escape(r.name)} (${r.size} bytes, sha256 ${r.sha256}) ` +
              `from ${peer} [${r.protocol}]`,
          )
        ),
        Effect.catchAll((error) =>
          say(`refused upload from ${peer}: ${Printable.escape(error.message)}`)
        ),
      );
    };
    const server = Server.serveForever(handler, {
      maxConnections: LIMITS.maxConnections,
      idleTimeout: LIMITS.silence,
    }).pipe(Layer.provide(Tcp.layer(command.address)));
    yield* Effect.flatMap(Server.Server, (s) =>
      Effect.zipRight(
        say(
          `receiving files into ${command.dir} on ${Address.format(s.address)}\n` +
            `limits: files up to ${units(command.maxSize)}, ${LIMITS.maxConnections} uploads ` +
            `at once, ${Duration.format(LIMITS.silence)} of silence, less than ` +
            `${units(LIMITS.minRate.bytes)} per ${Duration.format(LIMITS.minRate.per)} or ` +
            `${Duration.format(LIMITS.perUpload)} in all end an upload`,
        ),
        Effect.never,
      )).pipe(
        Effect.provide(server),
        Effect.catchTag("SocketError", (error) =>
          Effect.fail(new RunError({ message: error.message }))),
      );
  });

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
};

/** The terminal's width now (it may change while we draw), or 80. */
const columns = (): number => {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
};

/**
 * `label [####----] stats…` in at most `width` characters: the bar (at most
 * 30 wide) goes first when room is short, then the last stats, one by one.
 */
export const progressLine = (
  label: string,
  fraction: number,
  stats: ReadonlyArray<string>,
  width: number,
): string => {
  for (let n = stats.length; n > 0; n--) {
    const text = `${label} ${stats.slice(0, n).join(" ")}`;
    const barWidth = Math.min(30, width - text.length - 3);
    if (barWidth >= 10 && n === stats.length) {
      const filled = Math.round(fraction * barWidth);
      const bar = "#".repeat(filled) + "-".repeat(barWidth - filled);
      return `${label} [${bar}] ${stats.join(" ")}`;
    }
    if (text.length <= width) return text;
  }
  return `${label} ${stats[0] ?? ""}`.slice(0, width);
};

/**
 * Turns progress events into output: on a terminal one line redrawn in place
 * (carriage return, clear to the end of the line; at most ten times a
 * second) that fits the terminal's width; otherwise a plain line per 10 %.
 */
const progressPrinter = (tty: boolean) => {
  const encoder = new TextEncoder();
  let phase = "";
  let lastDraw = 0;
  let lastTenth = -1;
  // Rate over the last second: samples at least 50 ms apart.
  let samples: Array<{ at: number; done: number }> = [];
  const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
  const onProgress = (p: FileTransfer.Progress) => {
    const now = performance.now();
    if (p.phase !== phase) {
      if (tty && phase !== "") write("\n");
      phase = p.phase;
      lastDraw = 0;
      lastTenth = -1;
      samples = [{ at: now, done: p.done }];
    }
    if (now - samples[samples.length - 1].at >= 50) samples.push({ at: now, done: p.done });
    while (samples.length > 2 && now - samples[1].at >= 1000) samples.shift();
    const oldest = samples[0];
    const rate = now > oldest.at ? ((p.done - oldest.done) * 1000) / (now - oldest.at) : 0;
    const fraction = p.total === 0 ? 1 : p.done / p.total;
    const finished = p.done === p.total;
    const label = p.phase === "hash" ? "hashing" : "sending";
    const eta = finished ? "done" : `ETA ${clock(rate > 0 ? (p.total - p.done) / rate : Infinity)}`;
    const speed = `${units(rate)}/s`;
    if (tty) {
      if (!finished && now - lastDraw < 100) return;
      lastDraw = now;
      const percent = `${(fraction * 100).toFixed(1).padStart(5)}%`;
      const stats = [percent, `${units(p.done)}/${units(p.total)}`, speed, eta];
      // One column spare: writing the last one makes some terminals wrap.
      write(`\r${progressLine(label, fraction, stats, columns() - 1)}\x1b[K`);
    } else {
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth && !finished) return;
      lastTenth = tenth;
      console.log(
        `${label} ${(fraction * 100).toFixed(0)}% ${units(p.done)}/${
          units(p.total)
        } ${speed} ${eta}`,
      );
    }
  };
  return { onProgress, finish: () => tty && phase !== "" && write("\n") };
};

/** Opens `path` and checks that it is a readable regular file, before any connection. */
const checkFile = (path: string): Effect.Effect<void, RunError> =>
  Effect.tryPromise({
    try: async () => {
      using file = await Deno.open(path, { read: true });
      if (!(await file.stat()).isFile) throw new Error("not a regular file");
    },
    catch: (cause) =>
      new RunError({
        message: `${path}: ${
          cause instanceof Deno.errors.NotFound
            ? "no such file"
            : cause instanceof Deno.errors.PermissionDenied
            ? "permission denied"
            : cause instanceof Error
            ? cause.message
            : String(cause)
        }`,
      }),
  });

const send = (
  command: SendCommand,
): Effect.Effect<void, UsageError | RunError | FileTransfer.FileTransferError> =>
  Effect.gen(function* () {
    const address = yield* Address.parse(command.to).pipe(
      Effect.mapError((error) =>
        new UsageError({ message: `--to: ${error.detail ?? error.message}` })
      ),
    );
    yield* checkFile(command.file);
    const printer = progressPrinter(Deno.stdout.isTerminal());
    const conn = yield* Tcp.connect(address, { timeout: "10 seconds" }).pipe(
      Effect.mapError((error: SocketError.SocketError) => new RunError({ message: error.message })),
    );
    const result = yield* FileTransfer.send(conn, command.file, {
      name: command.name,
      onProgress: printer.onProgress,
    }).pipe(Effect.ensuring(Effect.sync(printer.finish)));
    // The stored name comes from the server.
    const storedAs = Printable.escape(result.storedAs);
    yield* write(
      `verified sha256 ${result.sha256}  ${Printable.escape(result.name)} (${result.size} bytes)` +
        (result.storedAs === result.name ? "" : ` stored as ${storedAs}`) + "\n",
    );
  }).pipe(Effect.scoped);

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const main = (args: ReadonlyArray<string>) =>
  Effect.flatMap(
    parseArgs(args),
    (command) =>
      command._tag === "help"
        ? write(`${usage}\n`)
        : command._tag === "serve"
        ? serve(command)
        : send(command),
  );

if (import.meta.main) runExample("upload", usage, main(Deno.args));

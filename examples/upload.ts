/**
 * The tutorial's file upload, made safe: a server that stores uploads in a
 * directory and a client that sends one file with a progress bar.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read --allow-write examples/upload.ts --serve --dir ./uploads --port 9999
 *   deno run --allow-net=127.0.0.1 --allow-read examples/upload.ts --send photo.png --to 127.0.0.1:9999
 *
 * Every upload is checked (size and SHA-256) before it appears under its
 * name; a failed one leaves nothing behind. The server also accepts the
 * tutorial's own Python client (size as text, wait for the answer, raw
 * bytes) and stores its uploads as `upload-<date>-<time>-<id>.bin`.
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { Address, type Connection, FileTransfer, Runtime, Server, Tcp } from "../mod.ts";

const usage = `usage:
  upload.ts --serve --dir DIR [--port P] [--host H] [--max-size BYTES] [--overwrite]
  upload.ts --send FILE --to HOST:PORT [--name NAME]
  upload.ts --help

  --serve      receive files into DIR (default port 9999, host 127.0.0.1)
  --send FILE  upload FILE to the server at HOST:PORT and print its verified SHA-256`;

/** Bad command-line input: reported as one line, exit code 2. */
class UsageError {
  readonly _tag = "UsageError";
  constructor(readonly message: string) {}
}

/** Anything else that stops the program (a refused connection, a busy port): exit code 1. */
class RunError {
  readonly _tag = "RunError";
  constructor(readonly message: string) {}
}

interface ServeCommand {
  readonly _tag: "serve";
  readonly dir: string;
  readonly address: string;
  readonly maxSize: number | undefined;
  readonly overwrite: boolean;
}
interface SendCommand {
  readonly _tag: "send";
  readonly file: string;
  readonly to: string;
  readonly name: string | undefined;
}
type Command = ServeCommand | SendCommand | { readonly _tag: "help" };

const FLAGS_WITH_VALUE = new Set([
  "--dir",
  "--port",
  "--host",
  "--max-size",
  "--send",
  "--to",
  "--name",
]);
const SWITCHES = new Set(["--serve", "--overwrite", "--help", "-h"]);

/** Parses the command line, or says in one line what is wrong with it. */
export const parseArgs = (args: ReadonlyArray<string>): Command | UsageError => {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0
      ? [arg.slice(0, eq), arg.slice(eq + 1)]
      : [arg, undefined];
    if (SWITCHES.has(flag) && inline === undefined) {
      switches.add(flag);
    } else if (FLAGS_WITH_VALUE.has(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || (inline === undefined && value.startsWith("--"))) {
        return new UsageError(`${flag} needs a value`);
      }
      if (values.has(flag)) return new UsageError(`${flag} given twice`);
      values.set(flag, value);
    } else {
      return new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (switches.has("--help") || switches.has("-h")) return { _tag: "help" };
  const serving = switches.has("--serve");
  const sending = values.has("--send");
  if (serving === sending) return new UsageError("give either --serve or --send FILE");
  const only = (allowed: ReadonlyArray<string>) => {
    for (const flag of [...values.keys(), ...switches]) {
      if (!allowed.includes(flag)) {
        return new UsageError(`${flag} does not go with ${serving ? "--serve" : "--send"}`);
      }
    }
    return undefined;
  };
  if (serving) {
    const wrong = only(["--serve", "--dir", "--port", "--host", "--max-size", "--overwrite"]);
    if (wrong) return wrong;
    const dir = values.get("--dir");
    if (dir === undefined) return new UsageError("--serve needs --dir DIR");
    const portText = values.get("--port") ?? "9999";
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      return new UsageError(`--port must be a number from 0 to 65535, got ${portText}`);
    }
    const host = values.get("--host") ?? "127.0.0.1";
    const maxText = values.get("--max-size");
    if (maxText !== undefined && !/^\d{1,16}$/.test(maxText)) {
      return new UsageError(`--max-size must be a number of bytes, got ${maxText}`);
    }
    return {
      _tag: "serve",
      dir,
      address: host.includes(":") ? `[${host}]:${portText}` : `${host}:${portText}`,
      maxSize: maxText === undefined ? undefined : Number(maxText),
      overwrite: switches.has("--overwrite"),
    };
  }
  const wrong = only(["--send", "--to", "--name"]);
  if (wrong) return wrong;
  const to = values.get("--to");
  if (to === undefined) return new UsageError("--send needs --to HOST:PORT");
  return { _tag: "send", file: values.get("--send")!, to, name: values.get("--name") };
};

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const say = (line: string) => Effect.sync(() => console.log(line));

const serve = (command: ServeCommand): Effect.Effect<void, UsageError | RunError> =>
  Effect.gen(function* () {
    const info = yield* Effect.tryPromise({
      try: () => Deno.stat(command.dir),
      catch: () => new UsageError(`--dir ${command.dir}: no such directory`),
    });
    if (!info.isDirectory) {
      return yield* Effect.fail(new UsageError(`--dir ${command.dir} is not a directory`));
    }
    const handler = (conn: Connection.Connection) => {
      const peer = Address.format(conn.remoteAddress);
      return FileTransfer.receive(conn, {
        dir: command.dir,
        maxSize: command.maxSize,
        overwrite: command.overwrite,
      }).pipe(
        Effect.flatMap((r) =>
          say(`stored ${r.name} (${r.size} bytes, sha256 ${r.sha256}) from ${peer} [${r.protocol}]`)
        ),
        Effect.catchAll((error) => say(`refused upload from ${peer}: ${error.message}`)),
      );
    };
    const server = Server.serveForever(handler, { idleTimeout: "1 minute" }).pipe(
      Layer.provide(Tcp.layer(command.address)),
    );
    yield* Effect.flatMap(Server.Server, (s) =>
      Effect.zipRight(
        say(`receiving files into ${command.dir} on ${Address.format(s.address)}`),
        Effect.never,
      )).pipe(
        Effect.provide(server),
        Effect.catchTag("SocketError", (error) => Effect.fail(new RunError(error.message))),
      );
  });

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

const MiB = 1024 * 1024;
const units = (bytes: number): string =>
  bytes >= 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB`
    : bytes >= MiB
    ? `${(bytes / MiB).toFixed(1)} MiB`
    : bytes >= 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${bytes} B`;
const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
};

/**
 * Turns progress events into output: a bar redrawn in place (at most ten
 * times a second) on a terminal, or a plain line per 10 % otherwise.
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
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `${label} [${bar}] ${(fraction * 100).toFixed(1).padStart(5)}% ` +
        `${units(p.done)}/${units(p.total)} ${speed} ${eta}`;
      write(`\r${line}\x1b[K`);
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

const send = (
  command: SendCommand,
): Effect.Effect<void, UsageError | RunError | FileTransfer.FileTransferError> =>
  Effect.gen(function* () {
    const address = yield* Address.parse(command.to).pipe(
      Effect.mapError((error) => new UsageError(`--to: ${error.detail ?? error.message}`)),
    );
    const printer = progressPrinter(Deno.stdout.isTerminal());
    const conn = yield* Tcp.connect(address, { timeout: "10 seconds" }).pipe(
      Effect.mapError((error) => new RunError(error.message)),
    );
    const result = yield* FileTransfer.send(conn, command.file, {
      name: command.name,
      onProgress: printer.onProgress,
    }).pipe(Effect.ensuring(Effect.sync(printer.finish)));
    console.log(
      `verified sha256 ${result.sha256}  ${result.name} (${result.size} bytes)` +
        (result.storedAs === result.name ? "" : ` stored as ${result.storedAs}`),
    );
  }).pipe(Effect.scoped);

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const main = (args: ReadonlyArray<string>): Effect.Effect<void> => {
  const command = parseArgs(args);
  const run: Effect.Effect<void, UsageError | RunError | FileTransfer.FileTransferError> =
    command instanceof UsageError
      ? Effect.fail(command)
      : command._tag === "help"
      ? say(usage)
      : command._tag === "serve"
      ? serve(command)
      : send(command);
  return run.pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        if (error instanceof UsageError) {
          console.error(`upload: ${error.message} (try --help)`);
          Deno.exit(2);
        }
        console.error(`upload: ${error.message}`);
        Deno.exit(1);
      })
    ),
  );
};

if (import.meta.main) Runtime.runMain(main(Deno.args));

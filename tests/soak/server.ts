/**
 * The server side of the soak run (tests/soak/soak.ts starts it as a child
 * process, so its RSS and open descriptors can be read from /proc).
 *
 * One process, four listeners on 127.0.0.1, each a `Server.serveForever`
 * Layer:
 * - echo: every byte straight back (`Connection.forEachChunk`, borrowed chunks),
 *   counted by the handler, in a fiber per connection;
 * - copy: every byte straight back by `Server.echo`, a copy loop the server
 *   runs by callbacks, without a fiber;
 * - upload: `FileTransfer.receive` into `--dir` (this library's protocol and
 *   the tutorial's, told apart by `receive` itself);
 * - control: answers one line `stats` with the counters below as JSON, so the
 *   soak can check the server's view against its own; `gc` runs a full
 *   garbage collection (under `--v8-flags=--expose-gc`) and answers with
 *   `Deno.memoryUsage()`.
 *
 * Prints `SOAK-READY {"echo":PORT,"copy":PORT,"upload":PORT,"control":PORT}`
 * once all four listen. SIGTERM shuts it down gracefully (`Runtime.runMain`).
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=DIR --allow-write=DIR tests/soak/server.ts --dir DIR
 *
 * @module
 */
import { Context, Effect, Layer, Metric, Option } from "effect";
import {
  Address,
  Connection,
  DenoRuntime,
  FileTransfer,
  Server,
  type SocketError,
  Tcp,
} from "../../mod.ts";

const flag = (name: string): string | undefined => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};

const dir = flag("--dir");
if (dir === undefined) {
  console.error("usage: server.ts --dir DIR");
  Deno.exit(2);
}

/** What the handlers saw; read over the control port. */
const counters = {
  echoConnections: 0,
  echoBytes: 0,
  echoErrors: 0,
  uploadConnections: 0,
  uploadsStored: 0,
  uploadBytes: 0,
  uploadErrors: 0,
  errorSamples: [] as Array<string>,
};

const remember = (kind: string, conn: Connection.Connection, message: string) =>
  Effect.sync(() => {
    if (counters.errorSamples.length < 20) {
      counters.errorSamples.push(`${kind} ${Address.format(conn.remoteAddress)}: ${message}`);
    }
  });

const echo = (conn: Connection.Connection): Effect.Effect<void> => {
  counters.echoConnections++;
  return Connection.forEachChunk(
    conn,
    (chunk) => {
      counters.echoBytes += chunk.length;
      return conn.write(chunk);
    },
    { borrow: true },
  ).pipe(
    Effect.catchAll((error: SocketError.SocketError) => {
      counters.echoErrors++;
      return remember("echo", conn, error.message);
    }),
  );
};

const upload = (conn: Connection.Connection): Effect.Effect<void> => {
  counters.uploadConnections++;
  return FileTransfer.receive(conn, {
    dir,
    maxSize: 256 * 1024 * 1024,
    timeout: "30 seconds",
  }).pipe(
    Effect.tap((stored) =>
      Effect.sync(() => {
        counters.uploadsStored++;
        counters.uploadBytes += stored.size;
      })
    ),
    Effect.catchAll((error) => {
      counters.uploadErrors++;
      return remember("upload", conn, error.message);
    }),
    Effect.asVoid,
  );
};

/** The running echo, copy and upload servers, for their `activeConnections`. */
const running: { echo?: Server.Server; copy?: Server.Server; upload?: Server.Server } = {};

const stats = Effect.gen(function* () {
  const metric = (m: Metric.Metric.Counter<number>) =>
    Effect.map(Metric.value(m), (state) => state.count);
  return {
    ...counters,
    echoActive: running.echo === undefined ? -1 : yield* running.echo.activeConnections,
    copyActive: running.copy === undefined ? -1 : yield* running.copy.activeConnections,
    uploadActive: running.upload === undefined ? -1 : yield* running.upload.activeConnections,
    metrics: {
      accepted: yield* metric(Server.metrics.accepted),
      failed: yield* metric(Server.metrics.failed),
      bytesIn: yield* metric(Server.metrics.bytesIn),
      bytesOut: yield* metric(Server.metrics.bytesOut),
    },
  };
});

/** `gc()` when the process runs with `--v8-flags=--expose-gc`. */
const collectGarbage = (): boolean => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
};

const control = (conn: Connection.Connection) =>
  Effect.gen(function* () {
    const request = yield* conn.readText(64);
    const command = Option.getOrElse(request, () => "").trim();
    if (command === "stats") return yield* conn.write(JSON.stringify(yield* stats) + "\n");
    if (command === "gc") {
      const collected = collectGarbage();
      return yield* conn.write(JSON.stringify({ collected, ...Deno.memoryUsage() }) + "\n");
    }
    yield* conn.write("unknown request\n");
  });

const port = (server: Server.Server): number =>
  server.address._tag === "TcpAddress" ? server.address.port : -1;

const listen = <E>(
  handler: Server.Handler<E, never> | Server.Loop,
  onStart: (server: Server.Server) => void,
) =>
  Server.serveForever(handler, { idleTimeout: "30 seconds", shutdownTimeout: "5 seconds" }).pipe(
    Layer.tap((context) => Effect.sync(() => onStart(Context.get(context, Server.Server)))),
    Layer.provide(Tcp.layer("127.0.0.1:0")),
  );

const ports = { echo: 0, copy: 0, upload: 0, control: 0 };
const all = Layer.mergeAll(
  listen(echo, (s) => {
    running.echo = s;
    ports.echo = port(s);
  }),
  listen(Server.echo, (s) => {
    running.copy = s;
    ports.copy = port(s);
  }),
  listen(upload, (s) => {
    running.upload = s;
    ports.upload = port(s);
  }),
  listen(control, (s) => {
    ports.control = port(s);
  }),
);

DenoRuntime.runMain(
  Effect.gen(function* () {
    yield* Effect.sync(() => console.log(`SOAK-READY ${JSON.stringify(ports)}`));
    return yield* Effect.never;
  }).pipe(Effect.provide(all)),
);
